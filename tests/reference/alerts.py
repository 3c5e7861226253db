"""Alerts scored one group at a time in plain Python (the model of flowgraph.alerts,
written as the prose says it), for the array-built :func:`flowgraph.alerts.build_alerts`."""

import hashlib
import json

import numpy as np
import pandas as pd

from flowgraph.alerts import FAMILIES, _groups


def build_alerts(hits: pd.DataFrame, model, config_hash: str) -> pd.DataFrame:
    columns = ["alert_id", "customer", "subject", "score", "raised", "window_start", "window_end",
               "n_hits", "hit_ids", "utilisation", "explanation"]
    if hits.empty:
        return pd.DataFrame(columns=columns)
    hits = hits.reset_index(drop=True)
    customer = hits["customer"].fillna("").astype(str).to_numpy(dtype=object)
    subject = hits["subject"].astype(str).to_numpy(dtype=object)
    unit = np.where(customer != "", "customer:" + customer, "account:" + subject)
    start = hits["window_start"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    end = hits["window_end"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    hit_id = hits["hit_id"].to_numpy(dtype=object)
    typology = hits["typology"].to_numpy(dtype=object)
    strict = ~hits["in_band"].to_numpy(dtype=bool)
    utilisation = hits["utilisation"].to_numpy(dtype=float)
    rows = []
    label = _groups(pd.factorize(unit)[0], start, end, [list(t) for t in hits["txn_ids"]])
    for g in np.unique(label):
        members = np.flatnonzero(label == g).tolist()
        members.sort(key=lambda i: (start[i], hit_id[i]))
        by_typology: dict[str, list] = {}
        for i in members:
            entry = by_typology.setdefault(typology[i], [0, False])
            entry[0] += 1
            entry[1] |= bool(strict[i])
        contributions, family_best = [], {}
        for name in sorted(by_typology):
            count, any_strict = by_typology[name]
            weight = float(model.weights.get(name, 0.0))
            strength = 1.0 if any_strict else model.band_weight
            family = FAMILIES.get(name, name)
            family_best[family] = max(family_best.get(family, 0.0), weight * strength)
            contributions.append({"indicator": name, "family": family, "weight": weight, "hits": count,
                                  "in_band_only": bool(strength < 1.0), "value": weight * strength})
        taken = set()
        for c in contributions:  # only the strongest indicator of a family contributes
            value = c.pop("value")
            take = value == family_best[c["family"]] and c["family"] not in taken
            c["contribution"] = round(value, 6) if take else 0.0
            if take:
                taken.add(c["family"])
        weighted_u = [utilisation[i] for i in members
                      if model.weights.get(typology[i], 0.0) > 0 and np.isfinite(utilisation[i])]
        u = float(max(weighted_u)) if weighted_u else 0.0
        u_part = model.utilisation_weight * min(u, 1.0)
        score = float(sum(c["contribution"] for c in contributions)) + u_part
        first = members[0]
        rows.append({
            "alert_id": hashlib.sha1(json.dumps([config_hash, unit[first], hit_id[first]]).encode()).hexdigest()[:16],
            "customer": customer[first], "subject": subject[first],
            "score": round(score, 6), "raised": bool(score >= model.alert_threshold),
            "window_start": min(start[i] for i in members), "window_end": max(end[i] for i in members),
            "n_hits": len(members), "hit_ids": [hit_id[i] for i in members], "utilisation": round(u, 6),
            "explanation": json.dumps({"indicators": contributions, "utilisation": round(u, 6),
                                       "utilisation_contribution": round(u_part, 6),
                                       "threshold": model.alert_threshold}, sort_keys=True),
        })
    out = pd.DataFrame(rows, columns=columns)
    out["window_start"] = pd.to_datetime(out["window_start"].astype(np.int64))
    out["window_end"] = pd.to_datetime(out["window_end"].astype(np.int64))
    return out.sort_values(["score", "alert_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
