"""Slow, obvious references for the detector kernels: plain Python over the graph's edge
arrays, every window recomputed from scratch. Each returns what its kernel returns, as
sorted lists of tuples, so a property test can compare them.

Money is exact here by construction, not by the kernels' means: every amount becomes a
Python int of cents through ``Decimal`` of its shortest decimal form, thresholds and
fractions of them are ``Decimal``, and sums are int sums. A float slip in a kernel shows."""

import math
from decimal import Decimal

from flowgraph.config import CHANNELS, PARTY_TYPES
from reference.large_value import _applies


def _runs(flags_by_day, score_by_day, g):
    """Group consecutive qualifying days of one calendar month (the graph's business days'
    months: runs are cut where a month ends); best day = highest score, earliest on ties."""
    month = lambda d: str(g.business_days[d])[:7]
    runs = []
    current = None
    for d in sorted(flags_by_day):
        if flags_by_day[d]:
            if current is None or d != current["last"] + 1 or month(d) != month(current["last"]):
                if current:
                    runs.append(current)
                current = {"first": d, "last": d, "best": d, "score": score_by_day[d]}
            else:
                current["last"] = d
                if score_by_day[d] > current["score"]:
                    current["best"], current["score"] = d, score_by_day[d]
    if current:
        runs.append(current)
    return runs


def cents(x):
    """A major-unit amount (a float rounded to the cent) as int cents."""
    return int((Decimal(repr(float(x))) * 100).to_integral_value())


def threshold_cents(threshold):
    """Least int cents at or above a major-unit threshold."""
    return math.ceil(Decimal(repr(float(threshold))) * 100)


def fraction_of(fraction, phi_cents):
    """Least int cents at or above ``fraction`` (as written) of ``phi_cents``."""
    return math.ceil(Decimal(repr(float(fraction))) * phi_cents)


def edge_money(g, rules):
    """Per edge: (amount cents, Φ cents, currency class) in the currency its rules compare;
    Φ is the lowest threshold of the rules that apply, 0 if none."""
    party = lambda idx: PARTY_TYPES[g.account_party[idx]] if idx >= 0 and g.account_party[idx] >= 0 else None
    out = []
    for e in range(g.n_edges):
        foreign = not g.is_home_currency[e]
        amount = cents(g.amount_foreign[e] if foreign else g.amount_home[e])
        phis = [threshold_cents(r.threshold_foreign if foreign else r.threshold_home) for r in rules.rules
                if _applies(r, CHANNELS[g.channel[e]], party(g.src[e]), party(g.dst[e]))]
        out.append((amount, min(phis, default=0), int(foreign)))
    return out


def fan_reference(g, first, last, window_days, k_many, k_few, floor, small):
    """Kernel twin of :func:`flowgraph._kernels.fan.fan_runs` (sorted tuples)."""
    out = []
    for a in range(g.n_accounts):
        own = g.account_customer[a]
        flags = {c: {} for c in range(4)}
        scores = {c: {} for c in range(4)}
        values = {}
        for d in range(first, last + 1):
            senders, receivers, amt_in, amt_out = set(), set(), 0, 0
            for e in range(g.n_edges):
                if not (d - window_days + 1 <= g.day[e] <= d) or g.amount_home[e] < small[a]:
                    continue
                if g.dst[e] == a and g.src[e] >= 0 and g.src[e] != a and \
                        (own < 0 or g.account_customer[g.src[e]] != own):
                    senders.add(g.src[e])
                    amt_in += cents(g.amount_home[e])
                if g.src[e] == a and g.dst[e] >= 0 and g.dst[e] != a and \
                        (own < 0 or g.account_customer[g.dst[e]] != own):
                    receivers.add(g.dst[e])
                    amt_out += cents(g.amount_home[e])
            ns, nr = len(senders), len(receivers)
            material = amt_in >= cents(floor[a]) and amt_out >= cents(floor[a])
            met = [ns >= k_many, nr >= k_many,
                   ns >= k_many and 1 <= nr <= k_few and material,
                   1 <= ns <= k_few and nr >= k_many and material]
            for c in range(4):
                flags[c][d] = met[c]
                many = ns if c in (0, 2) else nr
                amt = amt_in if c in (0, 3) else amt_out
                scores[c][d] = (many, amt, -d)
            values[d] = (ns, nr, amt_in / 100, amt_out / 100)
        for c in range(4):
            for r in _runs(flags[c], scores[c], g):
                ns, nr, ai, ao = values[r["best"]]
                out.append((a, c, r["first"], r["last"], r["best"], ns, nr, ai, ao))
    return sorted(out)


def pass_through_reference(g, first, last, run_days, floor, tolerance, qualifies):
    """Kernel twin of :func:`flowgraph._kernels.pass_through.pass_through_runs`;
    ``qualifies`` is the shared boundary test (amounts in cents)."""
    out = []
    for a in range(g.n_accounts):
        own = g.account_customer[a]
        flags, scores, values = {}, {}, {}
        for d in range(first, last + 1):
            s_in = s_out = 0
            for e in range(g.n_edges):
                if not (d - run_days + 1 <= g.day[e] <= d):
                    continue
                if g.dst[e] == a and g.src[e] != a and (own < 0 or g.src[e] < 0 or g.account_customer[g.src[e]] != own):
                    s_in += cents(g.amount_home[e])
                if g.src[e] == a and g.dst[e] != a and (own < 0 or g.dst[e] < 0 or g.account_customer[g.dst[e]] != own):
                    s_out += cents(g.amount_home[e])
            flags[d] = bool(qualifies(s_in, s_out, cents(floor[a]), tolerance))
            hi = max(s_in, s_out)
            gap = (hi - min(s_in, s_out)) / hi if hi else 1.0
            scores[d] = (-gap, min(s_in, s_out), -d)
            values[d] = (s_in / 100, s_out / 100)
        for r in _runs(flags, scores, g):
            out.append((a, r["first"], r["last"], r["best"], *values[r["best"]]))
    return sorted(out)


def _population_std(values):
    """Two passes, as the kernel: the mean, then the mean squared deviation."""
    if not values:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def structuring_reference(g, rules, first, last, window_days, band_low, min_band, min_share, sigma_max):
    """Kernel twin of :func:`flowgraph._kernels.structuring.structuring_runs`: the band
    test in int cents, σ over amount / Φ."""
    money = edge_money(g, rules)
    out = []
    for a in range(g.n_accounts):
        for c in range(3):
            flags, scores, values = {}, {}, {}
            for d in range(first, last + 1):
                mine = [e for e in range(g.n_edges) if d - window_days + 1 <= g.day[e] <= d and g.channel[e] == c
                        and (g.src[e] == a or g.dst[e] == a)]
                band = [amount / phi for amount, phi, _ in (money[e] for e in mine)
                        if phi and fraction_of(band_low, phi) <= amount < phi]
                sigma = _population_std(band)
                met = len(band) >= min_band and len(band) > min_share * len(mine) and sigma < sigma_max
                flags[d] = met
                scores[d] = (len(band), -round(sigma, 12), -d)
                values[d] = (len(band), len(mine), sigma)
            for r in _runs(flags, scores, g):
                nb, na, sig = values[r["best"]]
                out.append((a, c, r["first"], r["last"], r["best"], nb, na, sig))
    return sorted(out)


def daily_series_reference(channel, is_home, phi_cents):
    """Twin of :func:`flowgraph.detectors.structuring._series_of`: each edge's (channel,
    foreign currency, Φ) numbered in sorted order of those present; per series its kind
    (channel * 2 + foreign currency) and Φ."""
    keys = [(int(c), 0 if h else 1, int(p)) for c, h, p in zip(channel, is_home, phi_cents)]
    present = sorted(set(keys))
    number = {key: i for i, key in enumerate(present)}
    return [number[key] for key in keys], [key[0] * 2 + key[1] for key in present], [key[2] for key in present]


def daily_structuring_reference(g, rules, first, last, window_days, band_low, min_band, min_share, sigma_max):
    """Kernel twin of :func:`flowgraph._kernels.structuring.daily_structuring_runs`: one
    series per (channel, currency class, Φ), numbered in sorted order; day sums in int
    cents against Φ in cents; σ over sum / Φ."""
    money = edge_money(g, rules)
    keys = [(int(g.channel[e]), money[e][2], money[e][1]) for e in range(g.n_edges)]
    all_series = sorted(set(keys))
    out = []
    for a in range(g.n_accounts):
        for direction in range(2):
            for s, key in enumerate(all_series):
                phi = key[2]
                def day_totals(day):
                    es = [e for e in range(g.n_edges) if g.day[e] == day and keys[e] == key and g.src[e] != g.dst[e]
                          and (g.dst[e] == a if direction == 0 else g.src[e] == a)]
                    return sum(money[e][0] for e in es), len(es)
                flags, scores, values = {}, {}, {}
                for d in range(first, last + 1):
                    totals = [day_totals(j) for j in range(max(d - window_days + 1, 0), d + 1)]
                    active = [t for t in totals if t[1] > 0]
                    band = [total / phi for total, n in active
                            if n >= 2 and phi and fraction_of(band_low, phi) <= total < phi]
                    sigma = _population_std(band)
                    flags[d] = len(band) >= min_band and len(band) > min_share * len(active) and sigma < sigma_max
                    scores[d] = (len(band), -round(sigma, 12), -d)
                    values[d] = (len(band), len(active), sigma)
                for r in _runs(flags, scores, g):
                    nb, na, sig = values[r["best"]]
                    out.append((a, direction * len(all_series) + s, r["first"], r["last"], r["best"], nb, na, sig))
    return sorted(out)


def daily_cumulative_reference(day, src_cust, dst_cust, applies, amount, is_foreign, threshold_home, threshold_foreign,
                               first, last):
    """Kernel twin of :func:`flowgraph._kernels.large_value.daily_cumulative`, from
    major-unit amounts and thresholds; sums are int cents."""
    sums, counts = {}, {}
    for e in range(len(day)):
        if not applies[e] or not first <= day[e] <= last:
            continue
        for direction, c in ((0, dst_cust[e]), (1, src_cust[e])):
            if c >= 0:
                key = (int(c), int(day[e]), direction, int(bool(is_foreign[e])))
                sums[key] = sums.get(key, 0) + cents(amount[e])
                counts[key] = counts.get(key, 0) + 1
    return sorted((*k, counts[k], sums[k]) for k in sums
                  if sums[k] >= threshold_cents(threshold_foreign if k[3] else threshold_home))


def frequent_reference(pairs, per_day, consecutive, period_of):
    """Kernel twin of :func:`flowgraph._kernels.large_value.frequent_runs` from a list of
    (account, day) pairs; ``period_of(day)`` names a day's period: a qualifying run is
    reported once per period it spans, with the day it was found: the later of the piece's
    last day and the day the run's ``consecutive``-th day falls on."""
    out = []
    for a in sorted({p[0] for p in pairs}):
        days = sorted(d for acc, d in pairs if acc == a)
        for d in sorted(set(days)):
            if days.count(d) >= per_day:
                out.append((a, 0, d, d, days.count(d), d))
        distinct = sorted(set(days))
        start = 0
        for i in range(1, len(distinct) + 1):
            if i == len(distinct) or distinct[i] != distinct[i - 1] + 1:
                run = distinct[start:i]
                if len(run) >= consecutive:
                    for period in sorted({period_of(d) for d in run}):
                        piece = [d for d in run if period_of(d) == period]
                        out.append((a, 1, piece[0], piece[-1], sum(days.count(d) for d in piece),
                                    max(piece[-1], run[consecutive - 1])))
                start = i
    return sorted(out)
