"""Alerts scored one group at a time in plain Python (the model of flowgraph.alerts,
written as the prose says it), for the array-built :func:`flowgraph.alerts.build_alerts`."""

import hashlib
import itertools
import json
import math

import numpy as np
import pandas as pd

from flowgraph.alerts import COLUMNS, FAMILIES, FEATURES, MONTH_TURN_DAYS, REPORTABLE_FAMILIES
from flowgraph.detectors import TYPOLOGIES


def build_alerts(hits: pd.DataFrame, model, config_hash: str) -> pd.DataFrame:
    if hits.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    hits = hits.reset_index(drop=True)
    customer = hits["customer"].fillna("").astype(str).to_numpy(dtype=object)
    subject = hits["subject"].astype(str).to_numpy(dtype=object)
    unit = np.where(customer != "", "customer:" + customer, "account:" + subject)
    start, end = spans(hits)
    window_end = hits["window_end"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    hit_id = hits["hit_id"].to_numpy(dtype=object)
    typology = hits["typology"].to_numpy(dtype=object)
    strict = ~hits["in_band"].to_numpy(dtype=bool)
    utilisation = hits["utilisation"].to_numpy(dtype=float)
    amount = hits["amount"].to_numpy(dtype=float)
    accounts = [list(a) for a in hits["accounts"]]
    txn_ids = [list(t) for t in hits["txn_ids"]]
    phi_sum = [c / w if w else math.nan for c, w in zip(hits["ceiling"], hits["w"])]
    measures = list(hits["measures"]) if "measures" in hits else [None] * len(hits)
    # each hit's run as (first, last) dates; None without run columns
    runs = [(pd.Timestamp(f).date(), pd.Timestamp(t).date()) for f, t in zip(hits["run_first"], hits["run_last"])] \
        if {"run_first", "run_last"} <= set(hits.columns) else None
    rows = []
    for members in groups(unit, start, end, hit_id, model.alert_days * 86_400 * 10**9):
        continued = _continued(members, runs, typology, subject)
        by_typology: dict[str, list] = {}
        for i in members:
            entry = by_typology.setdefault(typology[i], [0, False])
            entry[0] += 1
            entry[1] |= bool(strict[i])
        indicators, contributions = [], {}
        for name in sorted(by_typology):
            count, any_strict = by_typology[name]
            weight = float(model.weights.get(name, 0.0))
            strength = 1.0 if any_strict else model.band_weight
            contribution = round(weight * strength, 6)
            contributions[name] = contribution
            indicators.append({"indicator": name, "family": FAMILIES.get(name, name), "weight": weight,
                               "hits": count, "in_band_only": bool(strength < 1.0), "contribution": contribution})
        counted = [i for i in members if FAMILIES.get(typology[i], typology[i]) not in REPORTABLE_FAMILIES]
        finite_u = [utilisation[i] for i in counted if math.isfinite(utilisation[i])]
        finite_a = [amount[i] for i in counted if math.isfinite(amount[i])]
        shares = [_transaction_size(amount[i], txn_ids[i], measures[i]) / phi_sum[i] for i in counted
                  if txn_ids[i] and phi_sum[i]]
        below_phi = [c for c in shares if math.isfinite(c) and c < 1.0]
        best = max(max(below_phi), 0.0) if below_phi else 0.0
        capped = [min(c, 1.0) for c in shares if math.isfinite(c) and c > 0]
        size = max(0.0, 2.0 + math.log10(max(capped))) if capped else 0.0
        u = max(max(finite_u), 0.0) if finite_u else 0.0
        biggest = max(max(finite_a), 0.0) if finite_a else 0.0
        values = {
            "utilisation": math.log2(1.0 + u),
            "closeness": min(max((best - 0.8) / 0.2, 0.0), 1.0),
            "amount": math.log10(1.0 + biggest),
            "families": float(max(len({FAMILIES.get(typology[i], typology[i]) for i in counted}) - 1, 0)),
            "repetition": math.log2(max(len({window_end[i] for i in counted if i not in continued}), 1)),
            "reach": math.log2(max(len({a for i in counted if _counterparts(typology[i]) for a in accounts[i]}), 1)),
            "size": size,
            "recurrence": math.log2(1 + len(_past_weeks(members, unit, start, end, typology,
                                                        model.recurrence_weeks))),
        }
        features = []
        for name in FEATURES:
            weight = getattr(model, f"{name}_weight")
            contribution = round(values[name] * weight, 6)
            contributions[name] = contribution
            features.append({"feature": name, "value": round(values[name], 6), "weight": weight,
                              "contribution": contribution})
        total = sum(contributions.values())
        first = members[0]
        rows.append({
            "alert_id": hashlib.sha1(json.dumps([config_hash, unit[first], hit_id[first]]).encode()).hexdigest()[:16],
            "customer": customer[first], "subject": subject[first],
            "score": round(total, 6), "raised": bool(total >= model.alert_threshold),
            "window_start": min(start[i] for i in members), "window_end": max(end[i] for i in members),
            "n_hits": len(members), "hit_ids": [hit_id[i] for i in members], "utilisation": round(u, 6),
            "explanation": json.dumps({"features": features, "indicators": indicators, "utilisation": round(u, 6),
                                       "utilisation_contribution": contributions["utilisation"],
                                       "threshold": model.alert_threshold}, sort_keys=True),
            "contributions": json.dumps(contributions),
        })
    out = pd.DataFrame(rows, columns=list(COLUMNS))
    out["window_start"] = pd.to_datetime(out["window_start"].astype(np.int64))
    out["window_end"] = pd.to_datetime(out["window_end"].astype(np.int64))
    return out.sort_values(["score", "alert_id"], ascending=[False, True], kind="stable").reset_index(drop=True)


def _week(ns: int) -> pd.Period:
    """The Monday-to-Sunday calendar week of a time in nanoseconds since 1970."""
    return pd.Timestamp(int(ns)).to_period("W-SUN")


def _past_weeks(members: list, unit, start, end, typology, horizon: int) -> set:
    """Weeks, among the ``horizon`` weeks before the group's first week, in which counted
    hits of the group's unit (of any group) end."""
    first = _week(min(start[i] for i in members))
    same_unit = [i for i in range(len(unit)) if unit[i] == unit[members[0]]
                 and FAMILIES.get(typology[i], typology[i]) not in REPORTABLE_FAMILIES]
    return {_week(end[i]) for i in same_unit if first - horizon <= _week(end[i]) < first}


def spans(hits: pd.DataFrame) -> tuple[list, list]:
    """Each hit's first and last day in ns: its window, widened to its run where it has one."""
    starts, ends = [], []
    for _, row in hits.iterrows():
        days = [row["window_start"], row["window_end"]]
        days += [row.get(c) for c in ("run_first", "run_last") if not pd.isna(row.get(c, None))]
        starts.append(min(pd.Timestamp(d) for d in days).value)
        ends.append(max(pd.Timestamp(d) for d in days).value)
    return starts, ends


def groups(unit, start, end, hit_id, longest: int) -> list[list]:
    """The alerts' members, one unit at a time: in order of (start, id), a hit joins the open
    alert when it starts by the latest end of its members and ends within ``longest`` of
    the alert's start, else it opens the next alert."""
    out = []
    for u in sorted(set(unit)):
        mine = sorted((i for i in range(len(unit)) if unit[i] == u), key=lambda i: (start[i], hit_id[i]))
        for i in mine:
            alert = out[-1] if out and unit[out[-1][0]] == u else None
            if alert is not None and start[i] <= max(end[j] for j in alert) and end[i] - start[alert[0]] <= longest:
                alert.append(i)
            else:
                out.append([i])
    return out


def _continued(members: list, runs: list | None, typology, subject) -> set:
    """The members of one alert whose run (``runs``: each hit's first and last day; None:
    no runs) the next run of the same typology and subject (in order of first day, then
    position) goes on from across a month's end: it starts in the next calendar month,
    after this one's last day and at most ``MONTH_TURN_DAYS`` calendar days later."""
    if runs is None:
        return set()
    first, last = [r[0] for r in runs], [r[1] for r in runs]
    out = set()
    for key in {(typology[i], subject[i]) for i in members}:
        same = sorted((i for i in members if (typology[i], subject[i]) == key), key=lambda i: (first[i], i))
        for i, j in itertools.pairwise(same):
            next_month = (last[i].year + last[i].month // 12, last[i].month % 12 + 1)
            if first[j] > last[i] and (first[j].year, first[j].month) == next_month \
                    and (first[j] - last[i]).days <= MONTH_TURN_DAYS:
                out.add(i)
    return out


def _counterparts(typology: str) -> bool:
    """Whether a typology's hits list counterparties (not the customer's own accounts)."""
    return TYPOLOGIES[typology].counterparts if typology in TYPOLOGIES else True


def _transaction_size(amount: float, txn_ids: list, measures) -> float:
    """The largest hop or leg amount the hit's measures list, else A per evidence transaction."""
    listed = json.loads(measures) if isinstance(measures, str) else {}
    values = list(listed.get("hop_amounts") or []) + [x for leg in listed.get("leg_amounts") or [] for x in leg]
    return max(values) if values else amount / len(txn_ids)
