"""IBM AMLSim samples as a third-party check of one typology per sample: account-level
recall and precision of the accounts named by the hits of that typology (every account
of a hit's evidence, the hit's ``accounts``) against the samples' ``isFraud`` labels.

| sample | typology scored | why |
|---|---|---|
| ``20K_cycle200`` | ``cycle`` | its 200 planted patterns are cycles |
| ``20K_fanin200`` | ``fan_in`` | its 200 planted patterns are fan-ins |

The configuration (:data:`CONFIG`) is chosen from the data's scale, never from the
labels: amounts are 2.5-600 units (median about 255), so a transfer takes part in a fan
or a cycle from 2 units on (``min_amount_fraction`` = 2 / 500,000 of the person-transfer
threshold); everything else keeps its default (one step is one business day, windows
of 10). Labels are per account and cover every account of a planted pattern, so
precision counts a flagged account that is in no pattern as a false one.

**How AMLSim times and sizes its cycles** (read from ``20K_cycle200``'s transactions, not
from the label counts). Every transaction of 10-20 units is between two ``isFraud``
accounts and no other transaction is below 100: those 1,899 are the planted patterns'.
They cover 619 of the 945 labelled accounts and form 23 complete cycles (21 of 5 accounts)
plus fragments (AMLSim leaves hops out). Within a cycle every transaction has the same
amount (no fee: the per-transaction ratio from hop to hop is exactly 1); a hop is 1-5
equal transactions on one step. The hops fall on steps spread over the whole run (18 to
149): first to last hop of a complete cycle spans 34-116 steps (median 85), and of the
314 pairs of consecutive hops through one account (same amount in, then out) 51 % pay
out *before* the money came in (step gap out - in: median -1.5, quartiles -31 and +29);
only 1 of the 23 cycles is time-respecting in any rotation and none fits in 30 steps.
So AMLSim's ``cycle`` is a ring of accounts with transactions at unrelated times, not
money going round: no window or share makes it a time-respecting cycle (a wider window
and share 0 only admit more coincidences among ordinary payments, as the 84 cycles found
with 30 days and share 0 are). A user scanning AMLSim output keeps the cycle detector's
definition and its defaults, with a step as one business day (the adapter's default):
``window_days`` = 10 (the short term) and ``min_forward_share`` = 0.9 (AMLSim passes
the whole amount on, so the share is no obstacle; the held-money rule lets a hop of five
equal payments through on its last payment). The cycle figures on this sample are
therefore a check that the detector does not invent cycles, not a recall to raise.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from .cli import Tree, Workspace, config_file, scan
from .common import REPO, fmt, log, md_table, ratio

AMLSIM_DIR = REPO.parent / "shared" / "data" / "amlsim-samples"
CONFIG = ("[detectors.fan]\nmin_amount_fraction = 4e-06\n"
          "[detectors.cycles]\nmin_amount_fraction = 4e-06\nwindow_days = 10\nmin_forward_share = 0.9\n")
#: sample folder -> the hit typology scored on it
SCORED = {"20K_cycle200": "cycle", "20K_fanin200": "fan_in"}


def labelled_accounts(folder: Path) -> set[str]:
    """Account ids with ``isFraud`` = 1 in the sample's ``nodes.csv``."""
    nodes = pd.read_csv(folder / "nodes.csv", usecols=["nodeid", "isFraud"])
    return set(nodes.loc[nodes["isFraud"] == 1, "nodeid"].astype(str))


def score(hits: pd.DataFrame, typology: str, labelled: set[str]) -> dict:
    """Account-level precision and recall of the accounts named by ``typology`` hits."""
    chosen = hits[(hits["typology"] == typology) & ~hits["in_band"]]
    flagged = {str(a) for accounts in chosen["accounts"] for a in accounts}
    return {"hits": len(chosen), "labelled": len(labelled), "flagged": len(flagged),
            "true": len(flagged & labelled), "precision": ratio(len(flagged & labelled), len(flagged)),
            "recall": ratio(len(flagged & labelled), len(labelled))}


def measure(tree: Tree, ws: Workspace, folders: list[str]) -> dict:
    """Scan each sample with :data:`CONFIG` and score its typology."""
    config = config_file(ws.tmp, "amlsim-typology", CONFIG)
    result = {"config": CONFIG, "samples": {}}
    for name in folders:
        if name not in SCORED:
            continue
        folder = AMLSIM_DIR / name
        if not folder.exists():
            result["samples"][name] = {"error": f"missing {folder}"}
            continue
        log(f"amlsim: {name}, {SCORED[name]} hits")
        with tempfile.TemporaryDirectory(dir=ws.tmp) as out:
            run = scan(tree, folder, Path(out), ws, config, reveal_ids=True)
            hits = pd.read_parquet(Path(out) / "hits.parquet", columns=["typology", "accounts", "in_band"])
        result["samples"][name] = {"typology": SCORED[name], **score(hits, SCORED[name], labelled_accounts(folder)),
                                   "scan_wall_s": run["wall_s"]}
    return result


def markdown(a: dict) -> list[str]:
    lines = ["## AMLSim samples: accounts named by the hits of the sample's typology", ""]
    lines += md_table(["sample", "typology", "hits", "labelled", "flagged", "flagged and labelled", "precision",
                       "recall"],
                      [[n, r["error"], "", "", "", "", "", ""] if "error" in r else
                       [n, r["typology"], fmt(r["hits"]), fmt(r["labelled"]), fmt(r["flagged"]), fmt(r["true"]),
                        fmt(r["precision"]), fmt(r["recall"])] for n, r in a["samples"].items()])
    return lines + ["", f"Config (from the amounts' scale, not the labels): "
                        f"`{a['config'].strip().replace(chr(10), ' ')}`."]
