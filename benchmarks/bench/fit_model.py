"""The alert model's default weights: fitted on the simulator's training seeds (never the
quality benchmark's held-out seeds), with the alerts of each training bank labelled by its
ground truth: an alert is positive when its customer holds an account of a laundering
pattern (not a look-alike). Each planted typology × behaviour weighs the same in the loss
(its positive alerts share one equal weight; negatives weigh 1 each), so the model is
asked to raise every kind of pattern, not only the common ones.

Run as ``PYTHONPATH=src:benchmarks python -m bench.fit_model BANK:SCAN_OUT ...`` after
``flowgraph scan BANK --out SCAN_OUT --reveal-ids`` of each training bank; prints the
fitted weights, the threshold and the training figures. The defaults in
``flowgraph.alerts`` / the detector registry were copied from its output.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from flowgraph.alerts import ModelConfig, alert_inputs, score_alerts
from flowgraph.learn import fit_weights


def labelled_inputs(bank: Path, scan_out: Path, model: ModelConfig):
    """Alert inputs of one scanned training bank and each alert's ground-truth label: the
    typology/behaviour of a pattern its customer is in, or "" (negative)."""
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
    return inputs, inputs.frame["customer"].map(group).fillna("").to_numpy()


def main(pairs: list[str]) -> None:
    model = ModelConfig()
    X, y, names = [], [], None
    for pair in pairs:
        bank, out = (Path(p) for p in pair.split(":"))
        inputs, label = labelled_inputs(bank, out, model)
        design, names = inputs.design()
        X.append(design)
        y.append(label)
    X, group = np.vstack(X), np.concatenate(y)
    y = group != ""
    count = pd.Series(group[y]).value_counts()
    weight = np.ones(len(y))
    weight[y] = y.sum() / len(count) / count[group[y]].to_numpy()
    fit = fit_weights(X, y, names, sample_weight=weight)
    print(f"alerts {len(y)}, positive {int(y.sum())}; l2 {fit.l2}, cv log loss {fit.cv_log_loss:.4f} "
          f"(base rate {fit.base_log_loss:.4f}); intercept {fit.intercept}")
    for n, w in fit.weights.items():
        print(f"  {n:<32} {w}")


if __name__ == "__main__":
    main(sys.argv[1:])
