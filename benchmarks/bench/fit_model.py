"""The alert model's default weights: fitted on the simulator's training seeds (never the
quality benchmark's held-out seeds), with the alerts of each training bank labelled by its
ground truth: an alert is positive when its customer holds an account of a laundering
pattern (not a look-alike). Each planted typology × behaviour weighs the same in the loss
(its positive alerts share one equal weight; negatives weigh 1 each), so the model is
asked to raise every kind of pattern, not only the common ones. The weights of
``flowgraph.alerts.SIGNED_FEATURES`` may be negative.

Two stages. First every weight but those of :data:`ADD_ON_FEATURES` (``recurrence``: how
many other weeks the customer's hits fall in), whose columns are held at 0; then a
regression of the label on that first score and the add-on features, whose weights,
divided by the score's coefficient, are the add-ons' weights in score units. Fitted
jointly, recurrence takes over from the other features (on the training banks it is the
strongest separator of a business's routine from a burst) and the rest of the model no
longer stands on its own: on hits of a customer's first two weeks, where no one has other
weeks yet, the joint fit raised three times as many alerts at a third of the precision.
In two stages the model without history is the first stage's, and recurrence only lowers.
Indicator weights of :data:`NOT_FITTED_FAMILIES` (the trafficking pack) are not copied.

The threshold is then chosen on the same training banks (the fitted intercept is skewed by
the weighting): for each candidate it prints the share of adaptive patterns whose customer
has a raised alert (the lowest typology), of look-alikes whose customer has one (the
highest kind), and the precision of raised alerts; the default is the middle of the range
where every adaptive pattern is raised and every look-alike kind stays at or under 2 %.

Run as ``PYTHONPATH=src:benchmarks python -m bench.fit_model BANK:SCAN_OUT ...`` after
``flowgraph scan BANK --out SCAN_OUT --reveal-ids`` of each training bank; prints the
fitted weights, the threshold table and the training figures. The defaults in
``flowgraph.alerts`` / the detector registry were copied from its output.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from flowgraph.alerts import FAMILIES, FEATURES, SIGNED_FEATURES, ModelConfig, alert_inputs, score_alerts
from flowgraph.learn import fit_weights

#: Features fitted in a second stage, on top of the score of all the others (module docstring).
ADD_ON_FEATURES = ("recurrence",)
#: Indicator families whose weights are not fitted here: no training seed plants them.
NOT_FITTED_FAMILIES = ("trafficking",)
#: Look-alike kinds raised at most this often, the goal of issue 13 (item 2).
LOOKALIKE_GOAL = 0.02
THRESHOLDS = np.round(np.arange(0.5, 3.01, 0.1), 2)


def labelled_inputs(bank: Path, scan_out: Path, model: ModelConfig):
    """Alert inputs of one scanned training bank, each alert's ground-truth label (the
    typology/behaviour of a pattern its customer is in, or "": negative), and the bank's
    patterns with their subject's customer."""
    hits = pd.read_parquet(scan_out / "hits.parquet")
    inputs = alert_inputs(hits, model, "fit")
    patterns = pd.read_parquet(bank / "patterns.parquet")
    accounts = pd.read_parquet(bank / "accounts.parquet", columns=["account_id", "customer_id"])
    customer = dict(zip(accounts["account_id"], accounts["customer_id"]))
    group: dict = {}
    for typology, behaviour, accts in zip(patterns["typology"], patterns["behaviour"], patterns["accounts"]):
        if behaviour != "lookalike":
            for a in accts:
                group.setdefault(customer.get(a), f"{typology}/{behaviour}")
    patterns = patterns.assign(customer=patterns["subject"].map(customer))
    return inputs, inputs.frame["customer"].map(group).fillna("").to_numpy(), patterns


def _scores(inputs, model: ModelConfig) -> np.ndarray:
    """The alerts' scores under ``model``, in the order of ``inputs``."""
    return score_alerts(inputs, model).set_index("alert_id").loc[inputs.frame["alert_id"], "score"].to_numpy()


def goals(banks: list, model: ModelConfig, threshold: float) -> dict:
    """Per training bank pooled: lowest adaptive and highest look-alike share of patterns
    whose subject's customer has a raised alert, and raised-alert precision."""
    alerted, raised, positive = [], 0, 0
    for inputs, label, patterns in banks:
        up = _scores(inputs, model) >= threshold
        customers = set(inputs.frame["customer"].to_numpy()[up])
        alerted.append(patterns.assign(alerted=patterns["customer"].isin(customers)))
        raised, positive = raised + int(up.sum()), positive + int((label[up] != "").sum())
    rate = pd.concat(alerted).groupby(["behaviour", "typology"])["alerted"].mean()
    return {"adaptive_min": float(rate["adaptive"].min()), "adaptive_lowest": rate["adaptive"].idxmin(),
            "lookalikes": rate["lookalike"].round(3).to_dict(),
            "lookalike_max": float(rate["lookalike"].max()), "lookalike_highest": rate["lookalike"].idxmax(),
            "precision": positive / raised if raised else float("nan"), "raised": raised}


def main(pairs: list[str]) -> None:
    banks = [labelled_inputs(*(Path(p) for p in pair.split(":")), ModelConfig()) for pair in pairs]
    names = banks[0][0].design()[1]
    X = np.vstack([inputs.design()[0] for inputs, _, _ in banks])
    group = np.concatenate([label for _, label, _ in banks])
    y = group != ""
    count = pd.Series(group[y]).value_counts()
    weight = np.ones(len(y))
    weight[y] = y.sum() / len(count) / count[group[y]].to_numpy()
    # stage 1: every weight but the add-on features' (their columns held at 0)
    base_X = X.copy()
    base_X[:, [names.index(f) for f in ADD_ON_FEATURES]] = 0.0
    fit = fit_weights(base_X, y, names, sample_weight=weight, signed=SIGNED_FEATURES)
    print(f"alerts {len(y)}, positive {int(y.sum())}; stage 1 (without {', '.join(ADD_ON_FEATURES)}): l2 {fit.l2}, "
          f"cv log loss {fit.cv_log_loss:.4f} (base rate {fit.base_log_loss:.4f}); intercept {fit.intercept}")
    for n, w in fit.weights.items():
        if n not in ADD_ON_FEATURES:
            print(f"  {n:<32} {w}")
    default = ModelConfig()
    # indicators the training banks never show keep their registry weight instead of the 0 an
    # absent column fits to; so does the trafficking pack (no training seed plants it: its few
    # hits on ordinary customers would fit it to their negatives alone)
    seen = {n for n, column in zip(names, X.T) if np.any(column) and FAMILIES.get(n) not in NOT_FITTED_FAMILIES}
    rounded = {n: round(fit.weights[n], 2) for n in names}
    base = ModelConfig(weights={n: rounded[n] for n in default.weights if n in seen},
                       **{f"{f}_weight": (0.0 if f in ADD_ON_FEATURES else rounded[f]) for f in FEATURES})
    # stage 2: the add-on features' weights on top of the stage-1 score (its scale fitted too)
    score = np.concatenate([_scores(inputs, base) for inputs, _, _ in banks])
    add_on = X[:, [names.index(f) for f in ADD_ON_FEATURES]]
    second = fit_weights(np.column_stack([score, add_on]), y, ["score", *ADD_ON_FEATURES], sample_weight=weight,
                         signed=ADD_ON_FEATURES)
    scale = second.weights["score"]
    print(f"stage 2: l2 {second.l2}, cv log loss {second.cv_log_loss:.4f}; score x {scale}")
    add_on_weights = {f: round(second.weights[f] / scale, 2) if scale > 0 else 0.0 for f in ADD_ON_FEATURES}
    for f, w in add_on_weights.items():
        print(f"  {f:<32} {w} (score units: {second.weights[f]} / {scale})")
    model = dataclasses.replace(base, **{f"{f}_weight": w for f, w in add_on_weights.items()})
    print("model (ModelConfig arguments):", json.dumps({"weights": {n: model.weights[n] for n in sorted(seen & set(default.weights))},
                                                        **{f"{f}_weight": w for f, w in model.feature_weights().items()}}))
    print("threshold  adaptive raised (lowest)  look-alikes raised (highest)  precision  raised")
    feasible = []
    for t in THRESHOLDS:
        g = goals(banks, model, float(t))
        print(f"  {t:<8} {g['adaptive_min']:.2f} {g['adaptive_lowest']:<24} {g['lookalike_max']:.2f} "
              f"{g['lookalike_highest']:<22} {g['precision']:.3f}  {g['raised']}")
        if g["adaptive_min"] == 1.0 and g["lookalike_max"] <= LOOKALIKE_GOAL:
            feasible.append(float(t))
    if feasible:
        middle = round((feasible[0] + feasible[-1]) / 2, 2)
        print(f"every adaptive pattern raised and look-alikes <= {LOOKALIKE_GOAL}: thresholds {feasible[0]}-"
              f"{feasible[-1]}; middle {middle}")
        print(f"look-alikes raised at {middle}: {goals(banks, model, middle)['lookalikes']}")
    else:
        print("no threshold meets both goals on the training banks")


if __name__ == "__main__":
    main(sys.argv[1:])
