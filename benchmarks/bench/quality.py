"""Detection quality from what users get: the hits ``flowgraph scan`` writes (with
``--reveal-ids``, so ids match the ground truth), scored with ``flowgraph.evaluate``.

- Simulated banks on held-out seeds (never used in development, nor to fit the alert
  model's weights: ``bench.fit_model`` uses other seeds): attempt-level recall per
  planted typology × behaviour (for look-alikes: the false-positive rate) and precision
  per hit typology, pooled over the seeds with each seed's rate. Only the detectors' own
  hits count (``in_band`` hits, found with the model's tolerance band, are left out).
  Alerts: per pattern, whether its subject's customer has a raised alert; the precision
  of raised alerts (share whose customer is in a laundering pattern) and of the 100
  highest-scoring alerts (score, then alert id: the order an investigator works down).
- The IBM AMLSim samples (third-party labels): account-level precision and recall of the
  accounts named by ``fan_in`` hits, against every labelled account and against the hubs
  (labelled accounts receiving from ≥ 3 distinct labelled accounts over the whole run);
  and per sample the typology it plants, scored on every account of its hits
  (:mod:`bench.amlsim`).
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pandas as pd

from . import amlsim as amlsim_typologies
from .amlsim import AMLSIM_DIR
from .cli import Tree, Workspace, config_file, scan
from .common import fmt, log, md_table, ratio
from .data import BankSpec, ensure_bank

HIT_COLUMNS = ["hit_id", "typology", "subject", "window_start", "window_end", "in_band"]
#: AMLSim amounts are a few units: a transfer counts towards a fan from 2 units on
#: (2 / 500,000 of the person-transfer threshold), the rest of the scan keeps its defaults.
AMLSIM_CONFIG = "[detectors.fan]\nmin_amount_fraction = 4e-06\n"
HUB_MIN_LABELLED_SENDERS = 3


def scan_outputs(tree: Tree, input_path: Path, ws: Workspace, config: Path | None = None) -> tuple:
    """The detectors' own hits (real ids) of one scan, the customers of its raised alerts,
    and the scan's measurements."""
    with tempfile.TemporaryDirectory(dir=ws.tmp) as out:
        run = scan(tree, input_path, Path(out), ws, config, reveal_ids=True)
        hits = pd.read_parquet(Path(out) / "hits.parquet", columns=HIT_COLUMNS)
        alerts = pd.read_parquet(Path(out) / "alerts.parquet", columns=["alert_id", "customer", "raised", "score"])
    return hits[~hits["in_band"]], alerts, run


TOP_N = 100


def _alerted(folder: Path, patterns: pd.DataFrame, alerts: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Per typology x behaviour, patterns whose subject's customer has a raised alert; how
    many alerted customers are customers of a laundering pattern; the same for raised
    alerts and for the :data:`TOP_N` highest-scoring alerts."""
    alerted = set(alerts.loc[alerts["raised"], "customer"])
    accounts = pd.read_parquet(folder / "accounts.parquet", columns=["account_id", "customer_id"])
    customer = dict(zip(accounts["account_id"], accounts["customer_id"]))
    laundering = {customer.get(a) for accts, b in zip(patterns["accounts"], patterns["behaviour"])
                  if b != "lookalike" for a in accts}
    per_pattern = patterns.assign(alerted=[customer.get(s) in alerted for s in patterns["subject"]])
    table = per_pattern.groupby(["typology", "behaviour"], as_index=False)["alerted"].sum()
    on_laundering = alerts["customer"].isin(laundering)
    top = alerts.sort_values(["score", "alert_id"], ascending=[False, True]).head(TOP_N)
    return table, {"alerted_customers": len(alerted), "on_laundering_customers": len(alerted & laundering),
                   "raised_alerts": int(alerts["raised"].sum()),
                   "raised_on_laundering": int((alerts["raised"] & on_laundering).sum()),
                   "top": len(top), "top_on_laundering": int(on_laundering[top.index].sum()),
                   "top_distinct_scores": int(top["score"].nunique())}


def seed_quality(tree: Tree, spec: BankSpec, ws: Workspace) -> dict:
    """Recall and precision on one simulated bank, by hit and by raised alert."""
    from flowgraph.evaluate import precision_table, recall_table

    bank = ensure_bank(spec, ws.key_file, ws.timeout_s)
    folder = Path(bank["folder"])
    log(f"quality: scanning seed {spec.seed} ({bank['n_txns']:,} transactions)")
    hits, alert_table, run = scan_outputs(tree, folder, ws)
    patterns = pd.read_parquet(folder / "patterns.parquet")
    per_alert, alerts = _alerted(folder, patterns, alert_table)
    recall = recall_table(patterns, hits).merge(per_alert, on=["typology", "behaviour"])
    return {"seed": spec.seed, "bank": bank, "scan_wall_s": run["wall_s"], "n_hits": len(hits),
            "hit_ids_sha1": hashlib.sha1("\n".join(sorted(hits["hit_id"])).encode()).hexdigest(),
            "recall": recall.to_dict("records"), "precision": precision_table(patterns, hits).to_dict("records"),
            "alerts": alerts}


def pool(seeds: list[dict]) -> dict:
    """Recall per typology × behaviour and precision per hit typology over all seeds."""
    recall, precision = {}, {}
    for s in seeds:
        for r in s["recall"]:
            e = recall.setdefault((r["typology"], r["behaviour"]),
                                  {"found": 0, "alerted": 0, "patterns": 0, "per_seed": []})
            for count in ("found", "alerted", "patterns"):
                e[count] += int(r[count])
            e["per_seed"].append(r["rate"])
        for r in s["precision"]:
            e = precision.setdefault(r["typology"], {"hits": 0, "true": 0, "per_seed": []})
            e["hits"] += int(r["hits"])
            e["true"] += round(r["precision"] * r["hits"])
            e["per_seed"].append(r["precision"])
    alerted = sum(s["alerts"]["alerted_customers"] for s in seeds)
    counts = {k: sum(s["alerts"].get(k, 0) for s in seeds)
              for k in ("raised_alerts", "raised_on_laundering", "top", "top_on_laundering")}
    return {"recall": [{"typology": t, "behaviour": b, **e, "rate": ratio(e["found"], e["patterns"]),
                        "alerted_rate": ratio(e["alerted"], e["patterns"])} for (t, b), e in sorted(recall.items())],
            "alert_precision": ratio(sum(s["alerts"]["on_laundering_customers"] for s in seeds), alerted),
            "raised_alert_precision": ratio(counts["raised_on_laundering"], counts["raised_alerts"]),
            "raised_alerts": counts["raised_alerts"],
            "top_precision": ratio(counts["top_on_laundering"], counts["top"]),
            "top_per_seed": [ratio(s["alerts"].get("top_on_laundering", 0), s["alerts"].get("top", 0)) for s in seeds],
            "top_distinct_scores": [s["alerts"].get("top_distinct_scores") for s in seeds],
            "precision": [{"typology": t, **e, "precision": ratio(e["true"], e["hits"])}
                          for t, e in sorted(precision.items())]}


def _labels(folder: Path) -> tuple[set, set, int]:
    """Labelled accounts, hubs among them, and the number of transactions of one sample."""
    from flowgraph import load_dataset

    dataset = load_dataset(folder)
    accounts, tx = dataset.accounts.table, dataset.transactions.table
    labelled = set(accounts.loc[accounts["is_laundering"] == 1, "account_id"].astype(str))
    src, dst = tx["src_account"].astype(str), tx["dst_account"].astype(str)
    inner = tx[src.isin(labelled) & dst.isin(labelled)]
    senders = inner.groupby(inner["dst_account"].astype(str))["src_account"].nunique()
    return labelled, set(senders[senders >= HUB_MIN_LABELLED_SENDERS].index), len(tx)


def amlsim(tree: Tree, ws: Workspace, folders: list[str]) -> dict:
    """Account-level quality of ``fan_in`` hits on each AMLSim sample folder."""
    config = config_file(ws.tmp, "amlsim", AMLSIM_CONFIG)
    result = {"config": AMLSIM_CONFIG, "hub_rule": f"labelled, >= {HUB_MIN_LABELLED_SENDERS} distinct labelled "
              "senders over all steps", "folders": {}}
    for name in folders:
        folder = AMLSIM_DIR / name
        if not folder.exists():
            result["folders"][name] = {"error": f"missing {folder}"}
            continue
        log(f"quality: AMLSim {name}")
        labelled, hubs, n_txns = _labels(folder)
        hits, _, run = scan_outputs(tree, folder, ws, config)
        flagged = set(hits.loc[hits["typology"] == "fan_in", "subject"])
        result["folders"][name] = {
            "transactions": n_txns, "labelled": len(labelled), "hubs": len(hubs), "flagged": len(flagged),
            "precision": ratio(len(flagged & labelled), len(flagged)),
            "recall": ratio(len(flagged & labelled), len(labelled)),
            "hub_precision": ratio(len(flagged & hubs), len(flagged)),
            "hub_recall": ratio(len(flagged & hubs), len(hubs)), "scan_wall_s": run["wall_s"]}
    result["typologies"] = amlsim_typologies.measure(tree, ws, folders)
    return result


def _per_seed(rates: list) -> str:
    return "[" + ", ".join(fmt(x) for x in rates) + "]"


def markdown(section: dict) -> list[str]:
    seeds = [s["seed"] for s in section["seeds"]]
    lines = [f"## Quality: `flowgraph scan --reveal-ids` hits, seeds {seeds} (pooled; per seed in brackets)", ""]
    lines += md_table(["planted typology", "behaviour", "found / patterns", "recall", "per seed", "customer alerted"],
                      [[r["typology"], r["behaviour"], f"{r['found']} / {r['patterns']}", fmt(r["rate"]),
                        _per_seed(r["per_seed"]), fmt(r["alerted_rate"])] for r in section["pooled"]["recall"]])
    lines += ["", "Found: a hit of the matching typology names the subject within the pattern's days. Customer "
              "alerted: the subject's customer has a raised alert. Look-alike rows are false-positive rates.",
              f"Customers with a raised alert who are in a laundering pattern (alert precision): "
              f"{fmt(section['pooled']['alert_precision'])}. Raised alerts whose customer is in a laundering "
              f"pattern: {fmt(section['pooled'].get('raised_alert_precision'))} of "
              f"{fmt(section['pooled'].get('raised_alerts'))}. Top {TOP_N} alerts by score (ties by id) per seed: "
              f"precision {fmt(section['pooled'].get('top_precision'))} "
              f"{_per_seed(section['pooled'].get('top_per_seed', []))}, distinct scores among them "
              f"{section['pooled'].get('top_distinct_scores')}.",
              ""]
    lines += md_table(["hit typology", "hits", "precision", "per seed"],
                      [[r["typology"], fmt(r["hits"]), fmt(r["precision"]), _per_seed(r["per_seed"])]
                       for r in section["pooled"]["precision"]])
    return lines


def markdown_amlsim(a: dict) -> list[str]:
    lines = ["## AMLSim samples: accounts named by `fan_in` hits", ""]
    lines += md_table(["sample", "transactions", "labelled", "hubs", "flagged", "precision", "recall",
                       "hub precision", "hub recall"],
                      [[n, r["error"], "", "", "", "", "", "", ""] if "error" in r else
                       [n, fmt(r["transactions"]), fmt(r["labelled"]), fmt(r["hubs"]), fmt(r["flagged"]),
                        fmt(r["precision"]), fmt(r["recall"]), fmt(r["hub_precision"]), fmt(r["hub_recall"])]
                       for n, r in a["folders"].items()])
    lines += ["", f"Hubs: {a['hub_rule']}. Config for these small amounts: `{a['config'].strip().replace(chr(10), ' ')}`."]
    return lines + ([""] + amlsim_typologies.markdown(a["typologies"]) if "typologies" in a else [])
