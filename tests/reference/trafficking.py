"""Reference for the trafficking detectors' trailing-window counts (000, SPEC §9), written
for clarity, not speed: every account, every business day, the window counted afresh.

A day qualifies when the window of ``window_days`` business days ending on it holds at
least ``min_events`` events on at least ``min_groups`` distinct groups, with at least
``min_flagged_share`` of them flagged; runs are maximal stretches of qualifying days. The
share is compared as an exact fraction (``Fraction``), not in floating point.
"""

from decimal import Decimal
from fractions import Fraction


def _by_account(events):
    """Account -> its (day, second field, third field) events."""
    by_account = {}
    for account, day, a, b in events:
        by_account.setdefault(account, []).append((day, int(a), int(b)))
    return by_account


def window_runs_reference(events, window_days, min_events, min_groups, min_flagged_share, last_day, period_of):
    """``events``: (account, day, group, flagged) tuples; ``period_of(day)`` names a day's
    period (a run ends where its period does). Returns sorted (account, first_day,
    last_day, peak_day, peak_events, peak_groups, peak_flagged) tuples."""
    by_account = _by_account(events)
    share = Fraction(repr(float(min_flagged_share)))
    runs = []
    for account in sorted(by_account):
        run = None
        for d in range(last_day + 1):
            inside = [e for e in by_account[account] if d - window_days + 1 <= e[0] <= d]
            n_flagged = sum(e[2] for e in inside)
            ok = (len(inside) >= min_events and len({e[1] for e in inside}) >= min_groups
                  and (len(inside) and Fraction(n_flagged, len(inside)) >= share))
            if run is not None and period_of(d) != period_of(run[1]):
                runs.append((account, run[0], run[1], *run[2]))
                run = None
            if ok:
                window = (d, len(inside), len({e[1] for e in inside}), n_flagged)
                if run is None:
                    run = [d, d, window]
                else:
                    run[1] = d
                    if window[1] > run[2][1]:
                        run[2] = window
            elif run is not None:
                runs.append((account, run[0], run[1], *run[2]))
                run = None
        if run is not None:
            runs.append((account, run[0], run[1], *run[2]))
    return sorted(runs)


def in_band(amount, level, band_low):
    """Whether ``amount`` lies in ``[band_low · level, level)``, exactly (Decimal of the
    shortest decimal forms: 0.5 is a half, amounts are cents)."""
    amount, level = Decimal(repr(float(amount))), Decimal(repr(float(level)))
    return Decimal(repr(float(band_low))) * level <= amount < level


def turnover_runs_reference(events, window_days, min_cents, min_events, last_day, period_of):
    """``events``: (account, day, cents, veto) tuples. A day qualifies when the window
    ending on it holds at least ``min_cents`` (summed as Python integers) besides its
    largest event, in at least ``min_events`` events, and no vetoing event. Returns sorted (account, first_day, last_day, peak_day, peak_cents,
    peak_events) tuples, the peak the earliest day with the most money; a run ends where
    its period (``period_of(day)``) does."""
    by_account = _by_account(events)
    runs = []
    for account in sorted(by_account):
        run = None
        for d in range(last_day + 1):
            inside = [e for e in by_account[account] if d - window_days + 1 <= e[0] <= d]
            money = sum(e[1] for e in inside)
            if run is not None and period_of(d) != period_of(run[1]):
                runs.append((account, run[0], run[1], *run[2]))
                run = None
            besides = money - max((e[1] for e in inside), default=0)
            if besides >= min_cents and len(inside) >= min_events and not any(e[2] for e in inside):
                if run is None:
                    run = [d, d, (d, money, len(inside))]
                else:
                    run[1] = d
                    if money > run[2][1]:
                        run[2] = (d, money, len(inside))
            elif run is not None:
                runs.append((account, run[0], run[1], *run[2]))
                run = None
        if run is not None:
            runs.append((account, run[0], run[1], *run[2]))
    return sorted(runs)
