"""Detector quality and speed: recall, precision and look-alike false positives on the
synthetic bank and on IBM AMLSim samples; the four detectors over 10 M transactions
(first vs warm call, numba threads 1 vs 2) and a plain pandas baseline.

    .venv/bin/python benchmarks/bench_detectors.py                 # everything, ~5-6 min on 2 cores
    .venv/bin/python benchmarks/bench_detectors.py --skip-speed    # quality, AMLSim, baseline: ~1.5 min
    .venv/bin/python benchmarks/bench_detectors.py --only speed    # 10 M timing only

Quality (SPEC §6): ``--seeds`` simulated banks of ``--quality-customers`` customers
(~1 M transactions each, 60 business days) with ``--patterns`` planted patterns per
typology (half adaptive, half naive) and ``--lookalikes`` benign look-alikes per kind.
All four detectors run with their defaults (PBOC-2016). A planted pattern is *found*
when its ``subject`` is the subject of a hit of the matching hit typology whose window
[window_start, window_end] overlaps the pattern's [first_day, last_day]. The 10 M bank of
the speed run (simulator defaults for pattern counts) is scored the same way.

Speed: the 10 M bank (``--speed-customers`` customers, cached as Parquet in
``benchmarks/.data/``) is read, validated and built in a fresh process per
``NUMBA_NUM_THREADS`` setting (2 and 1); then each detector is timed on its first call
(numba cache load or compile) and on ``--warm-repeats`` warm calls, split into numba
kernels and the rest (thresholds, evidence, Hit objects). File reading is excluded.

Baseline: fan-in (distinct senders >= 5 in the trailing 10 business days) and the 3-day
pass-through test written in plain pandas, checked to give the same (account, day) set
as flowgraph, and timed against it at 100 k and 1 M transactions.

Writes ``results/detectors.json`` (machine, versions, commit, seeds, every figure) and
``results/detectors.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA_DIR, RESULTS_DIR, REPO, git_info, machine_info, reset_peak, rss, spread  # noqa: E402

from flowgraph.evaluate import MATCHING  # noqa: E402
from flowgraph.simulate.typologies import TYPOLOGIES  # noqa: E402

N_DAYS = 60
TXNS_PER_CUSTOMER = 61.8
SEEDS = (1, 2, 3)
QUALITY_CUSTOMERS = 16_200          # ~1.0 M transactions
PATTERNS_PER_TYPOLOGY = 40          # 20 adaptive + 20 naive per typology and seed
LOOKALIKES_PER_KIND = 30
SPEED_SEED = 20241124               # the seed of bench_simulate.py
SPEED_CUSTOMERS = 162_000           # ~10 M transactions
BASELINE_SIZES = (100_000, 1_000_000)
WINDOW = 10
K_MANY = 5
DETECTOR_NAMES = ("fan", "pass_through", "structuring", "large_value")
CORE_DETECTORS = ("fan", "pass_through", "structuring")

#: planted laundering typology -> hit typologies that find it (flowgraph.evaluate's table)
MATCH = {t: hits for t, hits in MATCHING.items() if t in TYPOLOGIES}
NOT_COVERED = ("cycle", "scatter_gather")
#: look-alike kind -> the hit typologies of the family it mimics
LOOKALIKE_FAMILY = {
    "payroll_fan_out": ("concentrated_in_dispersed_out", "fan_out"),
    "merchant_fan_in": ("dispersed_in_concentrated_out", "fan_in"),
    "treasury_sweep": ("pass_through", "pass_through_chain"),
    "rent_under_round": ("structuring", "structuring_daily"),
}
#: the regulatory typologies of the targets (SPEC §3.1-3.3): fan combinations, pass-through, structuring
CORE_TARGET = ("dispersed_in_concentrated_out", "concentrated_in_dispersed_out", "pass_through",
               "structuring", "structuring_daily")
TARGETS = {"adaptive_recall": 0.95, "precision": 0.90, "lookalike_fpr": 0.02, "detector_pass_10m_s": 10.0}

#: numba kernels called by each detector module (timed by wrapping the module attribute)
KERNELS = {"fan": ("fan_runs",), "pass_through": ("pass_through_runs",),
           "structuring": ("structuring_runs", "daily_structuring_runs"),
           "large_value": ("daily_cumulative", "frequent_runs")}

AMLSIM_DIR = REPO.parent / "shared" / "data" / "amlsim-samples"
AMLSIM_FOLDERS = ("20K_fanin200", "20K_fanin200cycle200", "20K_cycle200")
AMLSIM_SCALE = 0.001            # Φ person transfer 500,000 -> 500 units (module docstring / README)
AMLSIM_DE_MINIMIS = 0.004       # 0.4 % of Φ = 2 units (AMLSim fan-in payments are 2.5-5 units)
AMLSIM_HUB_K = 3


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return None if np.isnan(o) else float(o)
    if isinstance(o, (np.bool_,)):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (pd.Timestamp, np.datetime64, dt.date)):
        return str(o)[:10]
    if isinstance(o, (set, frozenset, tuple)):
        return sorted(o) if isinstance(o, (set, frozenset)) else list(o)
    raise TypeError(f"not JSON serialisable: {type(o)}")


def _rate(num, den):
    return None if not den else num / den


def _fmt_rate(x, digits=3):
    return "—" if x is None else f"{x:.{digits}f}"


# ---------------------------------------------------------------------------------------
# kernel timers
# ---------------------------------------------------------------------------------------

class KernelTimers:
    """Wraps the numba kernels the detector modules call, to split each detector's time
    into kernels and the rest. The original dispatchers are kept (their cache stats)."""

    def __init__(self):
        import flowgraph.detectors as det

        self.seconds = defaultdict(float)
        self.dispatchers = {}
        for name, kernels in KERNELS.items():
            module = getattr(det, name)
            for k in kernels:
                original = getattr(module, k)
                self.dispatchers[f"{name}.{k}"] = original
                setattr(module, k, self._wrap(name, original))

    def _wrap(self, detector, fn):
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[detector] += time.perf_counter() - t0
        return timed

    def reset(self):
        self.seconds.clear()

    def cache_stats(self) -> dict:
        out = {}
        for key, d in self.dispatchers.items():
            stats = getattr(d, "stats", None)
            out[key] = {"cache_hits": int(sum(stats.cache_hits.values())) if stats else None,
                        "cache_misses": int(sum(stats.cache_misses.values())) if stats else None}
        return out


# ---------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------

def simulate_bank(seed: int, n_customers: int, patterns: int | None, lookalikes: int | None):
    """The synthetic bank; the recruiting pool grows if the launderers run out."""
    from flowgraph.errors import ConfigError
    from flowgraph.simulate import simulate

    kwargs = dict(seed=seed, n_customers=n_customers, n_days=N_DAYS)
    if patterns is not None:
        kwargs["patterns_per_typology"] = patterns
    if lookalikes is not None:
        kwargs["lookalikes_per_kind"] = lookalikes
    for share in (0.15, 0.25, 0.35):
        try:
            return simulate(recruit_pool_share=share, **kwargs), share
        except ConfigError as exc:
            if "ran out of recruitable" not in str(exc):
                raise
    raise RuntimeError("the simulator ran out of recruitable accounts even at recruit_pool_share=0.35")


def load_graph(transactions: pd.DataFrame, accounts: pd.DataFrame):
    from flowgraph import build_graph, validate_accounts, validate_transactions

    t0 = time.perf_counter()
    vt = validate_transactions(transactions, "transactions")
    va = validate_accounts(accounts, "accounts")
    t1 = time.perf_counter()
    graph = build_graph(vt.table, va.table)
    t2 = time.perf_counter()
    return graph, {"validate_s": t1 - t0, "build_s": t2 - t1, "rejected": int(vt.report.n_rejected)}


def speed_bank_dir(seed: int, n_customers: int) -> Path:
    return DATA_DIR / f"detectors_bank_s{seed}_c{n_customers}_d{N_DAYS}"


def ensure_speed_bank(seed: int, n_customers: int) -> dict:
    """Simulate the 10 M bank once (in a subprocess) and keep it as Parquet."""
    folder = speed_bank_dir(seed, n_customers)
    sidecar = folder / "params.json"
    want = {"seed": seed, "n_customers": n_customers, "n_days": N_DAYS}
    if sidecar.exists() and all((folder / f"{n}.parquet").exists() for n in ("transactions", "accounts", "patterns")):
        have = json.loads(sidecar.read_text())
        if {k: have.get(k) for k in want} == want:
            return {**have, "cached": True}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--worker", "simulate", str(folder), str(seed), str(n_customers)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"simulating the speed bank failed:\n{proc.stderr[-3000:]}")
    info = json.loads(sidecar.read_text())
    return {**info, "cached": False, "wall_s": time.perf_counter() - t0}


def _worker_simulate(folder: str, seed: str, n_customers: str) -> None:
    from flowgraph.simulate import write_simulation

    folder = Path(folder)
    t0 = time.perf_counter()
    bank, share = simulate_bank(int(seed), int(n_customers), None, None)
    sim_s = time.perf_counter() - t0
    write_simulation(bank, folder)
    info = {"seed": int(seed), "n_customers": int(n_customers), "n_days": N_DAYS, "recruit_pool_share": share,
            "n_txns": len(bank.transactions), "n_patterns": len(bank.patterns),
            "patterns_per_typology": bank.params.counts(), "simulate_s": sim_s}
    (folder / "params.json").write_text(json.dumps(info, indent=2, default=_json_default))


# ---------------------------------------------------------------------------------------
# quality: matching planted patterns to hits
# ---------------------------------------------------------------------------------------

HIT_KEEP = ("detector", "typology", "subject", "window_start", "window_end", "txn_ids", "n_accounts", "utilisation",
            "m_members", "m_chain_length", "m_pass_on_ratio", "m_senders", "m_receivers", "m_amount_in",
            "m_amount_out", "m_gap", "m_run_first_day", "m_run_last_day", "m_band_share", "m_sigma_phi")


def compact_hits(frame: pd.DataFrame) -> pd.DataFrame:
    keep = [c for c in HIT_KEEP if c in frame.columns]
    out = frame[keep].copy()
    for c in HIT_KEEP:
        if c not in out.columns:
            out[c] = None
    return out


def evaluate(patterns: pd.DataFrame, accounts: pd.DataFrame, hits: pd.DataFrame, pattern_of_txn: dict) -> dict:
    """Every quality figure of one bank: per-pattern outcomes, recall, precision,
    look-alike false positives, account-level figures, false-positive segments."""
    P = patterns.reset_index(drop=True).copy()
    P["first_day"] = pd.to_datetime(P["first_day"])
    P["last_day"] = pd.to_datetime(P["last_day"])
    H = hits.reset_index(drop=True).copy()
    H["hit"] = np.arange(len(H))
    segment = accounts.set_index("account_id")["segment"]
    party = accounts.set_index("account_id")["party_type"]
    laundering = P[P.behaviour != "lookalike"]
    launder_accts = {a for accs in laundering["accounts"] for a in accs}
    lookalike_accts = {a for accs in P.loc[P.behaviour == "lookalike", "accounts"] for a in accs}

    # hits naming each pattern's subject with an overlapping window
    m = P[["pattern_id", "typology", "behaviour", "subject", "first_day", "last_day"]].merge(
        H[["hit", "subject", "typology", "detector", "window_start", "window_end"]].rename(columns={"typology": "htyp"}),
        on="subject")
    m = m[(m.window_start <= m.last_day) & (m.window_end >= m.first_day)]
    want = P.set_index("pattern_id")["typology"].map(lambda t: MATCH.get(t, LOOKALIKE_FAMILY.get(t, ())))
    m = m.assign(match=[h in want[p] for p, h in zip(m.pattern_id, m.htyp)])
    named_by = m.groupby("pattern_id")["htyp"].agg(lambda s: sorted(set(s)))
    P["found"] = P.pattern_id.isin(m.loc[m.match, "pattern_id"])
    P["found_core"] = P.pattern_id.isin(m.loc[m.detector.isin(CORE_DETECTORS), "pattern_id"])
    P["found_any_subject"] = P.pattern_id.isin(m.pattern_id)
    P["named_by"] = P.pattern_id.map(named_by).apply(lambda v: v if isinstance(v, list) else [])

    # any member of the pattern named by any hit (large-value rules name the paying side)
    mem = P[["pattern_id", "accounts", "first_day", "last_day"]].explode("accounts").rename(columns={"accounts": "subject"})
    mm = mem.merge(H[["subject", "detector", "typology", "window_start", "window_end"]], on="subject")
    mm = mm[(mm.window_start <= mm.last_day) & (mm.window_end >= mm.first_day)]
    P["found_any_member"] = P.pattern_id.isin(mm.pattern_id)
    P["found_core_member"] = P.pattern_id.isin(mm.loc[mm.detector.isin(CORE_DETECTORS), "pattern_id"])

    # pass-through: the subject listed among a chain's members (not its subject)
    chains = H[H.typology == "pass_through_chain"]
    if len(chains):
        cm = chains[["hit", "m_members", "window_start", "window_end"]].explode("m_members").rename(
            columns={"m_members": "subject"})
        cm = P.loc[P.typology == "pass_through", ["pattern_id", "subject", "first_day", "last_day"]].merge(cm, on="subject")
        cm = cm[(cm.window_start <= cm.last_day) & (cm.window_end >= cm.first_day)]
        P["in_chain_members"] = P.pattern_id.isin(cm.pattern_id)
    else:
        P["in_chain_members"] = False

    # look-alikes: was it the look-alike's own activity? (hit evidence holds its transactions)
    own_evidence = {}
    lookalike_ids = set(P.loc[P.behaviour == "lookalike", "pattern_id"])
    for pid, hit in m[["pattern_id", "hit"]].itertuples(index=False):
        if pid not in lookalike_ids:
            continue
        ids = H.at[hit, "txn_ids"]
        own_evidence[pid] = own_evidence.get(pid, False) or any(pattern_of_txn.get(t) == pid for t in ids)
    P["lookalike_own_evidence"] = P.pattern_id.map(own_evidence).fillna(False).astype(bool)

    # recall per typology x behaviour
    recall = []
    for (typ, beh), g in P[P.behaviour != "lookalike"].groupby(["typology", "behaviour"]):
        recall.append({"typology": typ, "behaviour": beh, "patterns": len(g), "found": int(g.found.sum()),
                       "found_core": int(g.found_core.sum()), "found_any_subject": int(g.found_any_subject.sum()),
                       "found_any_member": int(g.found_any_member.sum()),
                       "in_chain_members": int((g.found | g.in_chain_members).sum()) if typ == "pass_through" else None,
                       "covered": typ in MATCH})

    # precision per hit typology
    H["tp"] = H.subject.isin(launder_accts)
    H["on_lookalike"] = H.subject.isin(lookalike_accts) & ~H.tp
    H["segment"] = H.subject.map(segment).fillna("unknown")
    precision = []
    for typ, g in H.groupby("typology"):
        fp = g[~g.tp]
        precision.append({"typology": typ, "detector": g.detector.iloc[0], "hits": len(g), "tp": int(g.tp.sum()),
                          "fp_on_lookalike_accounts": int(g.on_lookalike.sum()),
                          "fp_by_segment": {k: int(v) for k, v in fp.segment.value_counts().items()}})

    # look-alike false-positive rates
    lookalikes = []
    for kind, g in P[P.behaviour == "lookalike"].groupby("typology"):
        fam = LOOKALIKE_FAMILY[kind]
        row = {"kind": kind, "mimics": list(fam), "patterns": len(g), "flagged_family": int(g.found.sum()),
               "flagged_core": int(g.found_core.sum()), "flagged_any": int(g.found_any_subject.sum()),
               "flagged_family_own_evidence": int((g.found & g.lookalike_own_evidence).sum())}
        for t in fam:
            row[f"by_{t}"] = int(g.named_by.apply(lambda v: t in v).sum())
        row["core_typologies"] = dict(Counter(t for v in g.named_by for t in v))
        row["subject_segment"] = dict(Counter(segment.reindex(g.subject).fillna("unknown")))
        lookalikes.append(row)

    # account level
    cov = laundering[laundering.typology.isin(list(MATCH))]
    cov_subjects = set(cov.subject)
    accounts_level = []
    groups = {"fan (all four)": H.detector == "fan",
              "fan combinations": H.typology.isin(["dispersed_in_concentrated_out", "concentrated_in_dispersed_out"]),
              "pass_through": H.detector == "pass_through", "structuring": H.detector == "structuring",
              "core (fan + pass_through + structuring)": H.detector.isin(CORE_DETECTORS),
              "all four detectors": H.detector.notna()}
    for name, sel in groups.items():
        flagged = set(H.loc[sel, "subject"])
        accounts_level.append({"hits": name, "flagged_accounts": len(flagged),
                               "flagged_laundering": len(flagged & launder_accts),
                               "laundering_accounts": len(launder_accts),
                               "covered_subjects": len(cov_subjects),
                               "covered_subjects_flagged": len(flagged & cov_subjects)})

    # false positives of the core typologies: who, and how they differ from true positives
    fp_profile = []
    for typ in ("dispersed_in_concentrated_out", "concentrated_in_dispersed_out", "pass_through",
                "pass_through_chain", "structuring", "structuring_daily", "fan_in", "fan_out"):
        g = H[H.typology == typ]
        if not len(g):
            continue
        row = {"typology": typ}
        for lab, sel in (("tp", g.tp), ("fp", ~g.tp)):
            x = g[sel]
            row[lab] = {"hits": len(x),
                        "person_subject_share": _rate(int((x.subject.map(party) == "person").sum()), len(x)),
                        "utilisation_median": float(x.utilisation.median()) if len(x) else None,
                        "utilisation_p10": float(x.utilisation.quantile(0.1)) if len(x) else None,
                        "utilisation_p90": float(x.utilisation.quantile(0.9)) if len(x) else None}
            if typ in ("dispersed_in_concentrated_out", "concentrated_in_dispersed_out"):
                r = pd.to_numeric(x.m_pass_on_ratio, errors="coerce")
                row[lab].update(pass_on_median=float(r.median()) if len(x) else None,
                                pass_on_in_0_9_1_0=_rate(int(((r >= 0.9) & (r <= 1.0)).sum()), len(x)))
        fp_profile.append(row)

    # what-if filters (data, not a proposal): how far simple post-filters move precision
    whatif = []
    combos = H.typology.isin(["dispersed_in_concentrated_out", "concentrated_in_dispersed_out"])
    r = pd.to_numeric(H.m_pass_on_ratio, errors="coerce")
    for name, sel in (("combinations, as run", combos),
                      ("combinations, subject a natural person", combos & (H.subject.map(party) == "person")),
                      ("combinations, pass-on ratio in [0.9, 1.0]", combos & (r >= 0.9) & (r <= 1.0)),
                      ("combinations, utilisation u >= 0.05", combos & (H.utilisation >= 0.05))):
        x = H[sel]
        found = P[P.typology.isin(["dispersed_in_concentrated_out", "concentrated_in_dispersed_out"])
                  & (P.behaviour == "adaptive")]
        kept = set(x.hit)
        ok = m[m.match & m.hit.isin(kept)].pattern_id
        whatif.append({"filter": name, "hits": len(x), "tp": int(x.tp.sum()),
                       "adaptive_patterns": len(found), "adaptive_found": int(found.pattern_id.isin(ok).sum())})

    cols = ["pattern_id", "typology", "behaviour", "subject", "n_accounts", "first_day", "last_day", "found",
            "found_core", "found_any_subject", "found_any_member", "found_core_member", "in_chain_members",
            "lookalike_own_evidence", "named_by"]
    return {"patterns": P[cols], "recall": recall, "precision": precision, "lookalikes": lookalikes,
            "accounts": accounts_level, "fp_profile": fp_profile, "whatif": whatif,
            "n_hits": int(len(H)), "hits_by_typology": {k: int(v) for k, v in H.typology.value_counts().items()}}


# ---------------------------------------------------------------------------------------
# quality: why a planted pattern was missed
# ---------------------------------------------------------------------------------------

def diagnose_misses(graph, patterns: pd.DataFrame, hits: pd.DataFrame, unlinked_pt: pd.DataFrame,
                    max_per_group: int = 6) -> list[dict]:
    """For missed patterns of covered typologies: which condition failed. Also flags
    pass-through subjects that qualified alone but were absorbed into someone else's chain."""
    from flowgraph.config import get_rule_set
    from flowgraph.detectors import FanParams, PassThroughParams, StructuringParams
    from flowgraph.detectors._common import counterparty_edges, edge_phi_ratio, transfer_threshold

    fp, pp, sp = FanParams(), PassThroughParams(), StructuringParams()
    rules = get_rule_set(fp.rule_set)
    thr = transfer_threshold(graph, rules)
    ratio = None
    out = []
    misses = patterns[(~patterns.found) & patterns.typology.isin(list(MATCH))]
    chains = hits[hits.typology == "pass_through_chain"]
    for _, p in misses.iterrows():
        a = graph.account_index(p.subject)
        d0 = int(np.searchsorted(graph.business_days, np.datetime64(p.first_day.date())))
        d1 = int(np.searchsorted(graph.business_days, np.datetime64(p.last_day.date())))
        info = {"pattern_id": p.pattern_id, "typology": p.typology, "behaviour": p.behaviour, "subject": p.subject,
                "days": f"{p.first_day.date()}..{p.last_day.date()}", "named_by": p.named_by}
        typ = p.typology
        if typ in ("dispersed_in_concentrated_out", "concentrated_in_dispersed_out", "fan_in", "fan_out"):
            best = None
            small = fp.min_amount_fraction * thr[a]
            for d in range(d0, min(d1 + fp.window_days - 1, graph.n_days - 1) + 1):
                w = (max(0, d - fp.window_days + 1), d)
                ins = counterparty_edges(graph, a, w, "in", small)
                outs = counterparty_edges(graph, a, w, "out", small)
                v = (len(np.unique(graph.src[ins])), len(np.unique(graph.dst[outs])),
                     float(graph.amount_cny[ins].sum()), float(graph.amount_cny[outs].sum()), d)
                many = v[0] if typ in ("dispersed_in_concentrated_out", "fan_in") else v[1]
                if best is None or many > best[0]:
                    best = (many, v)
            n_in, n_out, a_in, a_out, d = best[1]
            floor = fp.material_fraction * thr[a]
            why = []
            if typ in ("dispersed_in_concentrated_out", "fan_in") and n_in < fp.min_counterparties:
                why.append(f"senders {n_in} < {fp.min_counterparties}")
            if typ in ("concentrated_in_dispersed_out", "fan_out") and n_out < fp.min_counterparties:
                why.append(f"receivers {n_out} < {fp.min_counterparties}")
            if typ == "dispersed_in_concentrated_out" and not 1 <= n_out <= fp.max_concentrated:
                why.append(f"receivers {n_out} outside 1..{fp.max_concentrated}")
            if typ == "concentrated_in_dispersed_out" and not 1 <= n_in <= fp.max_concentrated:
                why.append(f"senders {n_in} outside 1..{fp.max_concentrated}")
            if typ in ("dispersed_in_concentrated_out", "concentrated_in_dispersed_out") and min(a_in, a_out) < floor:
                why.append(f"min(in, out) {min(a_in, a_out):,.0f} < floor {floor:,.0f}")
            info.update(best_window_end=str(graph.business_days[d]), senders=n_in, receivers=n_out,
                        amount_in=round(a_in, 2), amount_out=round(a_out, 2),
                        reason="; ".join(why) or "conditions met on some day but no hit overlaps: check run/window reporting")
        elif typ == "pass_through":
            alone = unlinked_pt[(unlinked_pt.subject == p.subject) & (unlinked_pt.window_start <= p.last_day)
                                & (unlinked_pt.window_end >= p.first_day)]
            absorbed = chains[chains.m_members.apply(lambda ms: p.subject in list(ms) if ms is not None else False)
                              & (chains.window_start <= p.last_day) & (chains.window_end >= p.first_day)]
            if len(alone) and len(absorbed):
                c = absorbed.iloc[0]
                span = np.busday_count(c.window_start.date(), c.window_end.date()) + 1
                info["reason"] = (f"qualifies alone (gap {float(alone.iloc[0].m_gap):.4f}) but was linked into a chain "
                                  f"of {int(c.m_chain_length)} members spanning {c.window_start.date()}..{c.window_end.date()} "
                                  f"(~{span} weekdays) whose subject is another account")
                info["chain_length"] = int(c.m_chain_length)
            elif len(alone):
                info["reason"] = "qualifies alone (link_chains=False) but no hit names it with link_chains=True"
            else:
                floor = pp.material_fraction * thr[a]
                best = None
                for d in range(d0, min(d1 + pp.run_days - 1, graph.n_days - 1) + 1):
                    w = (max(0, d - pp.run_days + 1), d)
                    ins, outs = graph.in_edges_of(a, w), graph.out_edges_of(a, w)
                    own = graph.account_customer[a]
                    ins = ins[(graph.src[ins] != a) & ((graph.src[ins] < 0) | (graph.account_customer[np.maximum(graph.src[ins], 0)] != own))]
                    outs = outs[(graph.dst[outs] != a) & ((graph.dst[outs] < 0) | (graph.account_customer[np.maximum(graph.dst[outs], 0)] != own))]
                    i, o = float(graph.amount_cny[ins].sum()), float(graph.amount_cny[outs].sum())
                    gap = abs(i - o) / max(i, o) if max(i, o) > 0 else 1.0
                    if best is None or gap < best[0]:
                        best = (gap, i, o, d)
                gap, i, o, d = best
                why = []
                if gap > pp.tolerance:
                    why.append(f"best 3-day gap {gap:.3f} > {pp.tolerance}")
                if min(i, o) < floor:
                    why.append(f"min(in, out) {min(i, o):,.0f} < floor {floor:,.0f}")
                info.update(best_run_end=str(graph.business_days[d]), amount_in=round(i, 2), amount_out=round(o, 2),
                            gap=round(gap, 5), reason="; ".join(why) or "unexplained")
        elif typ in ("structuring", "structuring_daily"):
            if ratio is None:
                ratio = edge_phi_ratio(graph, rules)
            cash = 0
            best = None
            for d in range(d0, min(d1 + sp.window_days - 1, graph.n_days - 1) + 1):
                w = (max(0, d - sp.window_days + 1), d)
                ins = graph.in_edges_of(a, w)
                ins = ins[(graph.src[ins] != a) & (graph.channel[ins] == cash)]
                outs = graph.out_edges_of(a, w)
                outs = outs[graph.channel[outs] == cash]
                r_all = ratio[np.concatenate([ins, outs])]
                band = r_all[(r_all >= sp.band_low) & (r_all < 1.0)]
                dsum = pd.Series(ratio[ins]).groupby(graph.day[ins]).agg(["sum", "size"])
                band_days = dsum[(dsum["size"] >= 2) & (dsum["sum"] >= sp.band_low) & (dsum["sum"] < 1.0)]
                over_days = int((dsum["sum"] >= 1.0).sum())
                v = {"window_end": str(graph.business_days[d]), "band": len(band), "cash_txns": len(r_all),
                     "band_share": round(len(band) / len(r_all), 3) if len(r_all) else 0.0,
                     "sigma_phi": round(float(band.std()), 4) if len(band) else None,
                     "band_days": len(band_days), "active_cash_days": len(dsum), "days_at_or_over_phi": over_days}
                key = v["band"] if typ == "structuring" else v["band_days"]
                if best is None or key > best[0]:
                    best = (key, v)
            v = best[1]
            info.update(v)
            why = []
            if typ == "structuring":
                if v["band"] < sp.min_band:
                    why.append(f"band {v['band']} < {sp.min_band}")
                if v["band_share"] <= sp.min_share:
                    why.append(f"band share {v['band_share']} <= {sp.min_share}")
                if v["sigma_phi"] is not None and v["sigma_phi"] >= sp.sigma_max:
                    why.append(f"sigma {v['sigma_phi']} >= {sp.sigma_max} Φ")
            else:
                if v["band_days"] < sp.min_band:
                    why.append(f"band days {v['band_days']} < {sp.min_band}")
                if v["days_at_or_over_phi"]:
                    why.append(f"{v['days_at_or_over_phi']} day(s) with the daily sum >= Φ "
                               "(a large-value daily report, not evasion)")
            info["reason"] = "; ".join(why) or "unexplained"
        out.append(info)
    # keep every reason count, but only a few examples per group
    kept, seen = [], Counter()
    for r in out:
        key = (r["typology"], r["behaviour"])
        seen[key] += 1
        r["example"] = seen[key] <= max_per_group
        kept.append(r)
    return kept


def reason_class(reason: str) -> str:
    """A short class of a miss reason, for counting."""
    if reason.startswith("qualifies alone") and "chain" in reason:
        return "absorbed into another account's pass-through chain"
    if "day(s) with the daily sum >= Φ" in reason:
        return "daily sums at/above Φ (large-value territory)"
    if "gap" in reason:
        return "3-day in/out gap above tolerance"
    if "floor" in reason:
        return "below materiality floor"
    if "outside 1.." in reason:
        return "'few' side has too many/too few counterparties"
    if "< 5" in reason:
        return "too few counterparties on the 'many' side"
    if "band" in reason or "sigma" in reason:
        return "structuring band/share/σ test failed"
    return reason[:60]


def quality_seed(seed: int, args) -> tuple[dict, object]:
    from flowgraph import hits_frame, run_detectors
    from flowgraph.detectors import PassThroughParams, pass_through

    t0 = time.perf_counter()
    bank, share = simulate_bank(seed, args.quality_customers, args.patterns, args.lookalikes)
    sim_s = time.perf_counter() - t0
    graph, load = load_graph(bank.transactions, bank.accounts)
    t0 = time.perf_counter()
    hitset = run_detectors(graph)
    det_s = time.perf_counter() - t0
    hits = compact_hits(hitset.frame)
    unlinked = compact_hits(hits_frame(pass_through.detect(graph, PassThroughParams(link_chains=False))))
    pattern_of_txn = dict(bank.transactions.loc[bank.transactions.pattern_id.notna(), ["txn_id", "pattern_id"]]
                          .astype(str).itertuples(index=False, name=None))
    ev = evaluate(bank.patterns, bank.accounts, hits, pattern_of_txn)
    # what pass-through recall would be without chain linking (diagnostic)
    P = ev["patterns"]
    pt = P[P.typology == "pass_through"]
    u = unlinked
    alone = pt.merge(u[["subject", "window_start", "window_end"]], on="subject")
    alone = alone[(alone.window_start <= alone.last_day) & (alone.window_end >= alone.first_day)]
    unlinked_recall = {beh: {"patterns": int((pt.behaviour == beh).sum()),
                             "found": int(pt[pt.behaviour == beh].pattern_id.isin(alone.pattern_id).sum())}
                       for beh in ("adaptive", "naive")}
    unlinked_precision = {"hits": len(u), "tp": int(u.subject.isin(
        {a for accs, b in zip(bank.patterns.accounts, bank.patterns.behaviour) if b != "lookalike" for a in accs}).sum())}
    chains = hits[hits.typology == "pass_through_chain"]
    chain_stats = {"chains": len(chains),
                   "largest_chain_members": int(pd.to_numeric(chains.m_chain_length).max()) if len(chains) else 0,
                   "members_in_chains": int(pd.to_numeric(chains.m_chain_length).sum()) if len(chains) else 0,
                   "longest_chain_weekdays": int(max((np.busday_count(s.date(), e.date()) + 1
                                                      for s, e in zip(chains.window_start, chains.window_end)),
                                                     default=0))}
    misses = diagnose_misses(graph, P, hits, unlinked)
    summary = {
        "seed": seed, "n_customers": args.quality_customers, "recruit_pool_share": share,
        "n_txns": len(bank.transactions), "n_accounts": len(bank.accounts), "n_patterns": len(bank.patterns),
        "patterns_per_typology": args.patterns, "lookalikes_per_kind": args.lookalikes,
        "simulate_s": sim_s, **load, "detectors_s": det_s,
        "n_hits": ev["n_hits"], "hits_by_typology": ev["hits_by_typology"],
        "recall": ev["recall"], "precision": ev["precision"], "lookalikes": ev["lookalikes"],
        "accounts": ev["accounts"], "fp_profile": ev["fp_profile"], "whatif": ev["whatif"],
        "pass_through_unlinked_recall": unlinked_recall, "pass_through_unlinked_precision": unlinked_precision,
        "pass_through_chains": chain_stats, "misses": misses,
    }
    print(f"  seed {seed}: {len(bank.transactions):,} txns, {ev['n_hits']:,} hits, detectors {det_s:.1f} s", flush=True)
    return summary, graph


def pool(seed_results: list[dict]) -> dict:
    """Sum the per-seed counts into pooled tables (rates from the pooled counts), and
    keep each seed's rate for the spread."""
    def sum_rows(key, by, fields):
        acc = {}
        for s in seed_results:
            for row in s[key]:
                k = tuple(row[b] for b in by)
                cur = acc.setdefault(k, {**{b: row[b] for b in by}, **{f: 0 for f in fields}, "per_seed": []})
                for f in fields:
                    if row.get(f) is not None:
                        cur[f] += row[f]
                cur["per_seed"].append({f: row.get(f) for f in fields})
        return list(acc.values())

    recall = sum_rows("recall", ("typology", "behaviour"),
                      ("patterns", "found", "found_core", "found_any_subject", "found_any_member", "in_chain_members"))
    for r in recall:
        r["covered"] = r["typology"] in MATCH
        r["recall"] = _rate(r["found"], r["patterns"])
        r["recall_per_seed"] = [_rate(x["found"], x["patterns"]) for x in r["per_seed"]]
    precision = sum_rows("precision", ("typology", "detector"), ("hits", "tp", "fp_on_lookalike_accounts"))
    for r in precision:
        r["precision"] = _rate(r["tp"], r["hits"])
        r["precision_per_seed"] = [_rate(x["tp"], x["hits"]) for x in r["per_seed"]]
        seg = Counter()
        for s in seed_results:
            for row in s["precision"]:
                if row["typology"] == r["typology"]:
                    seg.update(row["fp_by_segment"])
        r["fp_by_segment"] = dict(seg)
    look_fields = ("patterns", "flagged_family", "flagged_core", "flagged_any", "flagged_family_own_evidence")
    lookalikes = sum_rows("lookalikes", ("kind",), look_fields)
    for r in lookalikes:
        r["mimics"] = list(LOOKALIKE_FAMILY[r["kind"]])
        r["fpr_family"] = _rate(r["flagged_family"], r["patterns"])
        r["fpr_core"] = _rate(r["flagged_core"], r["patterns"])
        r["fpr_any"] = _rate(r["flagged_any"], r["patterns"])
        ct, segs, by = Counter(), Counter(), Counter()
        for s in seed_results:
            for row in s["lookalikes"]:
                if row["kind"] == r["kind"]:
                    ct.update(row["core_typologies"])
                    segs.update(row["subject_segment"])
                    by.update({k: v for k, v in row.items() if k.startswith("by_")})
        r["named_by_typology"] = dict(ct)
        r["subject_segment"] = dict(segs)
        r.update(dict(by))
        r["fpr_family_per_seed"] = [_rate(x["flagged_family"], x["patterns"]) for x in r["per_seed"]]
    accounts = sum_rows("accounts", ("hits",), ("flagged_accounts", "flagged_laundering", "laundering_accounts",
                                                 "covered_subjects", "covered_subjects_flagged"))
    for r in accounts:
        r["precision"] = _rate(r["flagged_laundering"], r["flagged_accounts"])
        r["recall_accounts"] = _rate(r["flagged_laundering"], r["laundering_accounts"])
        r["recall_subjects"] = _rate(r["covered_subjects_flagged"], r["covered_subjects"])
    whatif = sum_rows("whatif", ("filter",), ("hits", "tp", "adaptive_patterns", "adaptive_found"))
    for r in whatif:
        r["precision"] = _rate(r["tp"], r["hits"])
        r["adaptive_recall"] = _rate(r["adaptive_found"], r["adaptive_patterns"])
    unl = {beh: {"patterns": sum(s["pass_through_unlinked_recall"][beh]["patterns"] for s in seed_results),
                 "found": sum(s["pass_through_unlinked_recall"][beh]["found"] for s in seed_results)}
           for beh in ("adaptive", "naive")}
    for v in unl.values():
        v["recall"] = _rate(v["found"], v["patterns"])
    unl_p = {"hits": sum(s["pass_through_unlinked_precision"]["hits"] for s in seed_results),
             "tp": sum(s["pass_through_unlinked_precision"]["tp"] for s in seed_results)}
    unl_p["precision"] = _rate(unl_p["tp"], unl_p["hits"])
    misses = [m for s in seed_results for m in s["misses"]]
    reasons = Counter((m["typology"], m["behaviour"], reason_class(m["reason"])) for m in misses)
    return {"recall": recall, "precision": precision, "lookalikes": lookalikes, "accounts": accounts,
            "whatif": whatif, "pass_through_unlinked_recall": unl, "pass_through_unlinked_precision": unl_p,
            "miss_reasons": [{"typology": t, "behaviour": b, "reason": r, "count": c}
                             for (t, b, r), c in sorted(reasons.items())],
            "targets": targets(recall, precision, lookalikes)}


def targets(recall, precision, lookalikes) -> dict:
    core = [r for r in recall if r["typology"] in CORE_TARGET and r["behaviour"] == "adaptive"]
    n, f = sum(r["patterns"] for r in core), sum(r["found"] for r in core)
    hit_typs = {t for typ in CORE_TARGET for t in MATCH[typ]}
    prec = [r for r in precision if r["typology"] in hit_typs]
    h, tp = sum(r["hits"] for r in prec), sum(r["tp"] for r in prec)
    out = {"adaptive_core_recall": {"found": f, "patterns": n, "value": _rate(f, n), "target": TARGETS["adaptive_recall"]},
           "core_precision": {"tp": tp, "hits": h, "value": _rate(tp, h), "target": TARGETS["precision"],
                              "hit_typologies": sorted(hit_typs)},
           "per_typology": {}}
    for r in core:
        pr = [p for p in precision if p["typology"] in MATCH[r["typology"]]]
        hh, tt = sum(p["hits"] for p in pr), sum(p["tp"] for p in pr)
        out["per_typology"][r["typology"]] = {"adaptive_recall": r["recall"], "precision": _rate(tt, hh)}
    out["lookalike_fpr"] = {r["kind"]: {"value": r["fpr_family"], "target": TARGETS["lookalike_fpr"]} for r in lookalikes}
    return out


# ---------------------------------------------------------------------------------------
# AMLSim
# ---------------------------------------------------------------------------------------

def amlsim_quality() -> dict:
    from flowgraph import build_graph, read_amlsim
    from flowgraph.config import PBOC_2016, RULE_SETS
    from flowgraph.detectors import FanParams, fan

    rs = PBOC_2016.scaled(AMLSIM_SCALE)
    RULE_SETS[rs.name] = rs
    phi = rs.rule("LV-PERSON").threshold_cny
    out = {"scale": AMLSIM_SCALE, "rule_set": rs.name, "phi_person_transfer": phi, "folders": {}}
    for folder in AMLSIM_FOLDERS:
        path = AMLSIM_DIR / folder
        if not path.exists():
            out["folders"][folder] = {"error": f"missing {path}"}
            continue
        ds = read_amlsim(path)
        tx, ac = ds.transactions.table, ds.accounts.table
        graph = build_graph(tx, ac)
        labelled = set(ac.loc[ac.is_laundering == 1, "account_id"].astype(str))
        amounts = tx["amount_cny"]
        # hubs: labelled accounts receiving from >= k distinct labelled accounts (whole run)
        lab_edges = tx[tx.src_account.astype(str).isin(labelled) & tx.dst_account.astype(str).isin(labelled)]
        in_lab = lab_edges.groupby(lab_edges.dst_account.astype(str)).src_account.nunique()
        hubs = set(in_lab[in_lab >= AMLSIM_HUB_K].index)
        lab_amt = lab_edges.amount_cny
        res = {"transactions": len(tx), "accounts": len(ac), "labelled": len(labelled), "hubs": len(hubs),
               "base_rate": len(labelled) / len(ac), "hub_base_rate": len(hubs) / len(ac),
               "hub_rule": f"labelled account receiving from >= {AMLSIM_HUB_K} distinct labelled accounts over all steps",
               "amount_median": float(amounts.median()), "amount_p90": float(amounts.quantile(0.9)),
               "labelled_to_labelled_amount_median": float(lab_amt.median()) if len(lab_amt) else None,
               "labelled_to_labelled_amount_p25": float(lab_amt.quantile(0.25)) if len(lab_amt) else None,
               "business_days": int(graph.n_days), "runs": []}
        configs = [("default (window 10, k 5, de minimis 1 % Φ)", dict(window_days=10))]
        grid = [(10, 5), (10, 3), (10, 2), (graph.n_days, 5), (graph.n_days, 3)] if folder != "20K_cycle200" else [(10, 5)]
        for w, k in grid:
            configs.append((f"window {w}{' (all steps)' if w == graph.n_days else ''}, k {k}, de minimis 0.4 % Φ",
                            dict(window_days=w, min_counterparties=k, max_concentrated=min(2, k - 1),
                                 min_amount_fraction=AMLSIM_DE_MINIMIS)))
        seen = set()
        for label, kw in configs:
            params = FanParams(rule_set=rs.name, **kw)
            if params in seen:
                continue
            seen.add(params)
            t0 = time.perf_counter()
            hits = fan.detect(graph, params)
            secs = time.perf_counter() - t0
            subj = {h.subject for h in hits if h.typology == "fan_in"}
            tp = subj & labelled
            res["runs"].append({"config": label, **kw, "seconds": secs, "fan_in_hits": sum(h.typology == "fan_in" for h in hits),
                                "flagged_accounts": len(subj), "flagged_labelled": len(tp),
                                "precision": _rate(len(tp), len(subj)), "recall": _rate(len(tp), len(labelled)),
                                "hub_recall": _rate(len(subj & hubs), len(hubs)),
                                "hub_precision": _rate(len(subj & hubs), len(subj))})
        out["folders"][folder] = res
        print(f"  AMLSim {folder}: {len(tx):,} txns, {len(labelled)} labelled, {len(hubs)} hubs", flush=True)
    return out


# ---------------------------------------------------------------------------------------
# baseline: plain pandas fan-in and pass-through
# ---------------------------------------------------------------------------------------

def baseline_edges(graph) -> tuple[pd.DataFrame, dict]:
    """The graph's edges as a plain DataFrame (not timed, like graph building for
    flowgraph), plus per-account customer and threshold arrays."""
    from flowgraph.config import get_rule_set
    from flowgraph.detectors._common import transfer_threshold

    thr = transfer_threshold(graph, get_rule_set("PBOC-2016"))
    e = pd.DataFrame({"src": graph.src.astype(np.int64), "dst": graph.dst.astype(np.int64),
                      "day": graph.day.astype(np.int64), "amount": graph.amount_cny})
    return e, {"cust": graph.account_customer.astype(np.int64), "thr": thr, "n_days": graph.n_days}


def pandas_fan_in(e: pd.DataFrame, acc: dict, window: int = WINDOW, k: int = K_MANY,
                  min_fraction: float = 0.01) -> set:
    """(account, day): >= k distinct senders over the trailing ``window`` business days,
    counting transfers with a sender, not self, not the same customer, amount >= de minimis."""
    cust, thr = acc["cust"], acc["thr"]
    x = e[(e.src >= 0) & (e.dst >= 0) & (e.src != e.dst)]
    own = cust[x.dst.to_numpy()]
    x = x[((own < 0) | (cust[x.src.to_numpy()] != own)) & (x.amount.to_numpy() >= min_fraction * thr[x.dst.to_numpy()])]
    pairs = x[["dst", "src", "day"]].drop_duplicates()
    # every (receiver, sender, day) counts for the windows ending on day .. day + window - 1
    rep = pairs.loc[pairs.index.repeat(window)].reset_index(drop=True)
    rep["end"] = rep["day"].to_numpy() + np.tile(np.arange(window), len(pairs))
    rep = rep[rep.end < acc["n_days"]]
    senders = rep.drop_duplicates(["dst", "src", "end"]).groupby(["dst", "end"]).size()
    q = senders[senders >= k]
    return set(zip(q.index.get_level_values(0).tolist(), q.index.get_level_values(1).tolist()))


def pandas_fan_in_loop(e: pd.DataFrame, acc: dict, window: int = WINDOW, k: int = K_MANY,
                       min_fraction: float = 0.01) -> set:
    """The same, written the obvious way: per account, per day, nunique of the window's senders."""
    cust, thr = acc["cust"], acc["thr"]
    x = e[(e.src >= 0) & (e.dst >= 0) & (e.src != e.dst)]
    own = cust[x.dst.to_numpy()]
    x = x[((own < 0) | (cust[x.src.to_numpy()] != own)) & (x.amount.to_numpy() >= min_fraction * thr[x.dst.to_numpy()])]
    out = set()
    for a, g in x.groupby("dst", sort=False):
        if g.src.nunique() < k:
            continue
        for d in range(int(g.day.min()), min(int(g.day.max()) + window - 1, acc["n_days"] - 1) + 1):
            if g.src[(g.day > d - window) & (g.day <= d)].nunique() >= k:
                out.add((a, d))
    return out


def pandas_pass_through(e: pd.DataFrame, acc: dict, run_days: int = 3, tolerance: float = 0.05,
                        material_fraction: float = 0.8) -> set:
    """(account, day): the ``run_days`` business days ending that day have in and out
    within ``tolerance`` and min(in, out) >= the floor (cash counts; self-transfers and
    moves between one customer's accounts do not)."""
    cust, thr = acc["cust"], acc["thr"]
    cents = np.round(e.amount.to_numpy() * 100).astype(np.int64)
    src, dst = e.src.to_numpy(), e.dst.to_numpy()
    cs, cd = np.where(src >= 0, cust[np.maximum(src, 0)], -2), np.where(dst >= 0, cust[np.maximum(dst, 0)], -3)
    inflow = (dst >= 0) & (src != dst) & ((cd < 0) | (src < 0) | (cs != cd))
    outflow = (src >= 0) & (dst != src) & ((cs < 0) | (dst < 0) | (cs != cd))
    ins = pd.DataFrame({"account": dst[inflow], "day": e.day.to_numpy()[inflow], "in": cents[inflow]})
    outs = pd.DataFrame({"account": src[outflow], "day": e.day.to_numpy()[outflow], "out": cents[outflow]})
    daily = pd.concat([ins.groupby(["account", "day"])["in"].sum(), outs.groupby(["account", "day"])["out"].sum()],
                      axis=1).fillna(0).astype(np.int64)
    accounts = daily.index.get_level_values("account").unique()
    full = pd.MultiIndex.from_product([accounts, np.arange(acc["n_days"])], names=["account", "day"])
    dense = daily.reindex(full, fill_value=0)
    roll = dense.groupby(level="account").rolling(run_days, min_periods=1).sum()
    roll.index = roll.index.droplevel(0)
    hi = np.maximum(roll["in"].to_numpy(), roll["out"].to_numpy())
    lo = np.minimum(roll["in"].to_numpy(), roll["out"].to_numpy())
    acct = roll.index.get_level_values("account").to_numpy()
    floor = np.round(material_fraction * thr[acct] * 100)
    ok = (lo >= floor) & (lo > 0) & ((hi - lo) <= tolerance * hi * (1 + 1e-9))
    return set(zip(acct[ok].tolist(), roll.index.get_level_values("day").to_numpy()[ok].tolist()))


def flowgraph_days(graph, hits, typology: str) -> set:
    """(account, day) of every day of every run of a typology, from flowgraph's hits."""
    pos = {str(d): i for i, d in enumerate(graph.business_days)}
    out = set()
    for h in hits:
        if h.typology != typology:
            continue
        a = graph.account_index(h.subject)
        for d in range(pos[h.measures["run_first_day"]], pos[h.measures["run_last_day"]] + 1):
            out.add((a, d))
    return out


def _best_of(fn, repeats):
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), times, result


def baseline_run(graph, label: str, loop_budget_s: float, loop_estimate: float | None) -> dict:
    from flowgraph.detectors import FanParams, PassThroughParams, fan, pass_through
    from flowgraph._kernels.fan import fan_runs
    from flowgraph.detectors._common import n_chunks, transfer_threshold
    from flowgraph.config import get_rule_set

    e, acc = baseline_edges(graph)
    n = len(e)
    res = {"data": label, "n_edges": n, "n_accounts": int(graph.n_accounts), "n_days": int(graph.n_days)}
    repeats = 3 if n <= 2_000_000 else 1
    # flowgraph (warm: one call first)
    fan.detect(graph, FanParams())
    times = {}
    fg_fan_s, times["flowgraph_fan_detect"], fan_hits = _best_of(lambda: fan.detect(graph, FanParams()), repeats)
    thr = transfer_threshold(graph, get_rule_set("PBOC-2016"))
    kargs = (graph.in_indptr, graph.in_edges, graph.out_indptr, graph.out_edges, graph.src, graph.dst, graph.day,
             graph.amount_cny, 0, graph.n_days - 1, WINDOW, K_MANY, 2, 0.8 * thr, 0.01 * thr,
             graph.account_customer, n_chunks())
    fan_runs(*kargs)
    fg_fan_kernel_s, times["flowgraph_fan_kernel"], _ = _best_of(lambda: fan_runs(*kargs), repeats)
    pt_params = PassThroughParams(link_chains=False)
    pass_through.detect(graph, pt_params)
    fg_pt_s, times["flowgraph_pass_through_detect"], pt_hits = _best_of(lambda: pass_through.detect(graph, pt_params), repeats)
    fg_pt_chain_s, times["flowgraph_pass_through_with_chains"], _ = _best_of(
        lambda: pass_through.detect(graph, PassThroughParams()), repeats)
    # pandas
    pd_fan_s, times["pandas_fan_in"], pd_fan = _best_of(lambda: pandas_fan_in(e, acc), repeats)
    pd_pt_s, times["pandas_pass_through"], pd_pt = _best_of(lambda: pandas_pass_through(e, acc), repeats)
    res["repeat_times_s"] = times
    cust, thr_a = acc["cust"], acc["thr"]
    x = e[(e.src >= 0) & (e.dst >= 0) & (e.src != e.dst)]
    own = cust[x.dst.to_numpy()]
    res["fan_in_counted_edges"] = int((((own < 0) | (cust[x.src.to_numpy()] != own))
                                       & (x.amount.to_numpy() >= 0.01 * thr_a[x.dst.to_numpy()])).sum())
    fg_fan_set, fg_pt_set = flowgraph_days(graph, fan_hits, "fan_in"), flowgraph_days(graph, pt_hits, "pass_through")
    res.update(
        flowgraph_fan_detect_s=fg_fan_s, flowgraph_fan_kernel_s=fg_fan_kernel_s,
        flowgraph_pass_through_detect_s=fg_pt_s, flowgraph_pass_through_with_chains_s=fg_pt_chain_s,
        pandas_fan_in_s=pd_fan_s, pandas_pass_through_s=pd_pt_s,
        fan_in_days={"flowgraph": len(fg_fan_set), "pandas": len(pd_fan), "only_flowgraph": len(fg_fan_set - pd_fan),
                     "only_pandas": len(pd_fan - fg_fan_set), "same": fg_fan_set == pd_fan,
                     "examples_only_flowgraph": sorted(fg_fan_set - pd_fan)[:5], "examples_only_pandas": sorted(pd_fan - fg_fan_set)[:5]},
        pass_through_days={"flowgraph": len(fg_pt_set), "pandas": len(pd_pt), "only_flowgraph": len(fg_pt_set - pd_pt),
                           "only_pandas": len(pd_pt - fg_pt_set), "same": fg_pt_set == pd_pt,
                           "examples_only_flowgraph": sorted(fg_pt_set - pd_pt)[:5], "examples_only_pandas": sorted(pd_pt - fg_pt_set)[:5]},
    )
    if loop_estimate is None or loop_estimate <= loop_budget_s:
        t0 = time.perf_counter()
        loop = pandas_fan_in_loop(e, acc)
        res["pandas_fan_in_loop_s"] = time.perf_counter() - t0
        res["fan_in_days"]["loop_same"] = loop == fg_fan_set
    else:
        res["pandas_fan_in_loop_s"] = None
        res["pandas_fan_in_loop_skipped"] = f"estimated {loop_estimate:.0f} s > budget {loop_budget_s:.0f} s"
    for k in ("flowgraph_fan_detect_s", "flowgraph_fan_kernel_s", "flowgraph_pass_through_detect_s",
              "pandas_fan_in_s", "pandas_pass_through_s", "pandas_fan_in_loop_s"):
        if res.get(k):
            res[k.replace("_s", "_edges_per_s")] = n / res[k]
    res["ratio_pandas_fan_in_over_flowgraph_detect"] = pd_fan_s / fg_fan_s
    res["ratio_pandas_fan_in_over_flowgraph_kernel"] = pd_fan_s / fg_fan_kernel_s
    res["ratio_pandas_pass_through_over_flowgraph_detect"] = pd_pt_s / fg_pt_s
    if res.get("pandas_fan_in_loop_s"):
        res["ratio_pandas_loop_over_flowgraph_detect"] = res["pandas_fan_in_loop_s"] / fg_fan_s
    print(f"  baseline {label}: pandas fan-in {pd_fan_s:.2f} s vs flowgraph fan {fg_fan_s:.2f} s "
          f"(kernel {fg_fan_kernel_s:.3f} s); same sets: fan-in {res['fan_in_days']['same']}, "
          f"pass-through {res['pass_through_days']['same']}", flush=True)
    return res


# ---------------------------------------------------------------------------------------
# speed: 10 M transactions, a fresh process per thread count
# ---------------------------------------------------------------------------------------

def _worker_speed(folder: str, out: str, warm_repeats: str, hits_out: str) -> None:
    import numba

    from flowgraph import hits_frame, run_detectors

    folder = Path(folder)
    res = {"numba_threads": numba.get_num_threads(), "env_NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS")}
    t0 = time.perf_counter()
    tx = pd.read_parquet(folder / "transactions.parquet")
    ac = pd.read_parquet(folder / "accounts.parquet")
    res["read_s"] = time.perf_counter() - t0
    graph, load = load_graph(tx, ac)
    del tx, ac
    gc.collect()
    res.update(load)
    res["n_edges"], res["n_accounts"], res["n_days"] = int(graph.n_edges), int(graph.n_accounts), int(graph.n_days)
    res["rss_before_detectors"] = rss()
    res["peak_reset"] = reset_peak()
    timers = KernelTimers()
    passes, last_hits = [], []
    for i in range(1 + int(warm_repeats)):
        rec, hits_all = {}, []
        for name in DETECTOR_NAMES:
            timers.reset()
            t0 = time.perf_counter()
            hs = run_detectors(graph, [name])
            secs = time.perf_counter() - t0
            rec[name] = {"s": secs, "kernel_s": timers.seconds[name], "rest_s": secs - timers.seconds[name],
                         "hits": len(hs)}
            hits_all.extend(hs.hits)
        rec["total_s"] = sum(rec[n]["s"] for n in DETECTOR_NAMES)
        rec["kernel_s"] = sum(rec[n]["kernel_s"] for n in DETECTOR_NAMES)
        rec["hits"] = len(hits_all)
        passes.append(rec)
        last_hits = hits_all
        print(f"    pass {i} ({'first' if i == 0 else 'warm'}): {rec['total_s']:.2f} s, kernels {rec['kernel_s']:.2f} s",
              flush=True)
    res["passes"] = passes
    res["numba_threading_layer"] = numba.threading_layer()
    res["peak_during_detectors"] = rss()
    res["numba_cache"] = timers.cache_stats()
    t0 = time.perf_counter()
    frame = hits_frame(last_hits)
    res["hits_frame_s"] = time.perf_counter() - t0
    if hits_out != "-":
        compact_hits(frame).to_parquet(hits_out, index=False)
    res["peak_process"] = rss()
    Path(out).write_text(json.dumps(res, default=_json_default))


def other_benchmarks() -> list[str]:
    """Other benchmark processes running now (not this one, its ancestors or children)."""
    mine = {os.getpid()}
    pid = os.getpid()
    while pid > 1:  # ancestors
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        mine.add(pid)
    try:
        lines = subprocess.run(["pgrep", "-af", "bench_"], capture_output=True, text=True).stdout.splitlines()
    except OSError:
        return []
    return [l for l in lines if l.split()[0].isdigit() and int(l.split()[0]) not in mine and "pgrep" not in l]


def wait_for_quiet(max_wait_s: float) -> dict:
    t0 = time.perf_counter()
    seen = []
    while True:
        others = other_benchmarks()
        if not others:
            return {"waited_s": time.perf_counter() - t0, "others_seen": seen}
        seen = sorted(set(seen) | set(others))
        if time.perf_counter() - t0 > max_wait_s:
            return {"waited_s": time.perf_counter() - t0, "others_seen": seen, "gave_up": True}
        print(f"  waiting: other benchmark(s) running: {others}", flush=True)
        time.sleep(20)


def speed(args) -> dict:
    out = {"seed": args.speed_seed, "n_customers": args.speed_customers}
    t0 = time.perf_counter()
    out["bank"] = ensure_speed_bank(args.speed_seed, args.speed_customers)
    out["bank_s"] = time.perf_counter() - t0
    folder = speed_bank_dir(args.speed_seed, args.speed_customers)
    print(f"  10 M bank: {out['bank'].get('n_txns'):,} txns ({'cached' if out['bank']['cached'] else 'simulated'})",
          flush=True)
    out["quiet"] = wait_for_quiet(args.max_wait)
    out["runs"] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for threads in (2, 1):
            res_path = Path(tmp) / f"speed_{threads}.json"
            hits_path = Path(tmp) / "hits.parquet" if threads == 2 else None
            env = {**os.environ, "NUMBA_NUM_THREADS": str(threads)}
            print(f"  speed worker, NUMBA_NUM_THREADS={threads}", flush=True)
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, __file__, "--worker", "speed", str(folder), str(res_path),
                                   str(args.warm_repeats), str(hits_path) if hits_path else "-"],
                                  env=env, capture_output=True, text=True, timeout=args.timeout)
            sys.stdout.write(proc.stdout)
            if proc.returncode != 0 or not res_path.exists():
                out["runs"][threads] = {"error": proc.stderr[-3000:] or f"exit {proc.returncode}"}
                continue
            out["runs"][threads] = json.loads(res_path.read_text())
            out["runs"][threads]["wall_s"] = time.perf_counter() - t0
            if hits_path is not None and hits_path.exists():
                out["quality_10m"] = quality_10m(folder, pd.read_parquet(hits_path))
    summarise_speed(out)
    return out


def quality_10m(folder: Path, hits: pd.DataFrame) -> dict:
    patterns = pd.read_parquet(folder / "patterns.parquet")
    accounts = pd.read_parquet(folder / "accounts.parquet")
    tx = pd.read_parquet(folder / "transactions.parquet", columns=["txn_id", "pattern_id"])
    tx = tx[tx.pattern_id.notna()]
    pattern_of_txn = dict(zip(tx.txn_id.astype(str), tx.pattern_id.astype(str)))
    hits["window_start"] = pd.to_datetime(hits["window_start"])
    hits["window_end"] = pd.to_datetime(hits["window_end"])
    hits["txn_ids"] = hits["txn_ids"].apply(list)
    hits["m_members"] = hits["m_members"].apply(lambda v: list(v) if v is not None else None)
    ev = evaluate(patterns, accounts, hits, pattern_of_txn)
    seed_like = {"recall": ev["recall"], "precision": ev["precision"], "lookalikes": ev["lookalikes"],
                 "accounts": ev["accounts"], "whatif": ev["whatif"], "misses": [],
                 "pass_through_unlinked_recall": {b: {"patterns": 0, "found": 0} for b in ("adaptive", "naive")},
                 "pass_through_unlinked_precision": {"hits": 0, "tp": 0}}
    pooled = pool([seed_like])
    chains = hits[hits.typology == "pass_through_chain"]
    pooled["pass_through_chains"] = {
        "chains": len(chains), "largest_chain_members": int(pd.to_numeric(chains.m_chain_length).max()) if len(chains) else 0}
    pooled["n_patterns"] = len(patterns)
    pooled["hits_by_typology"] = ev["hits_by_typology"]
    for k in ("pass_through_unlinked_recall", "pass_through_unlinked_precision", "miss_reasons"):
        pooled.pop(k, None)
    return pooled


def summarise_speed(out: dict) -> None:
    s = {}
    for threads, r in out["runs"].items():
        if "error" in r:
            continue
        warm = r["passes"][1:] or r["passes"]
        s[threads] = {
            "first_total_s": r["passes"][0]["total_s"],
            "warm_total_s": spread([p["total_s"] for p in warm]),
            "warm_kernel_s": spread([p["kernel_s"] for p in warm]),
            "per_detector": {n: {"first_s": r["passes"][0][n]["s"], "first_kernel_s": r["passes"][0][n]["kernel_s"],
                                 "warm_s": spread([p[n]["s"] for p in warm]),
                                 "warm_kernel_s": spread([p[n]["kernel_s"] for p in warm]),
                                 "hits": r["passes"][0][n]["hits"]} for n in DETECTOR_NAMES},
            "python_us_per_hit": {n: 1e6 * (np.median([p[n]["rest_s"] for p in warm])) / max(r["passes"][0][n]["hits"], 1)
                                  for n in ("fan", "large_value")},
            "threading_layer": r.get("numba_threading_layer"),
            "peak_detectors_gb": (r["peak_during_detectors"]["hwm_bytes"] or 0) / 1e9,
            "peak_process_gb": (r["peak_process"]["ru_maxrss_bytes"] or 0) / 1e9,
            "rss_before_detectors_gb": (r["rss_before_detectors"]["rss_bytes"] or 0) / 1e9,
        }
    if 1 in s and 2 in s:
        s["ratio_1_over_2_total"] = s[1]["warm_total_s"]["median"] / s[2]["warm_total_s"]["median"]
        s["ratio_1_over_2_kernels"] = s[1]["warm_kernel_s"]["median"] / s[2]["warm_kernel_s"]["median"]
        s["ratio_1_over_2_per_detector"] = {
            n: {"total": s[1]["per_detector"][n]["warm_s"]["median"] / s[2]["per_detector"][n]["warm_s"]["median"],
                "kernel": s[1]["per_detector"][n]["warm_kernel_s"]["median"] / s[2]["per_detector"][n]["warm_kernel_s"]["median"]}
            for n in DETECTOR_NAMES}
    if 2 in s:
        s["goal_10s_met_warm"] = s[2]["warm_total_s"]["median"] <= TARGETS["detector_pass_10m_s"]
    out["summary"] = s


# ---------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------

def md_quality(q: dict, title: str, seeds_note: str) -> list[str]:
    L = [f"## {title}", "", seeds_note, ""]
    t = q["targets"]
    a, p = t["adaptive_core_recall"], t["core_precision"]
    L += ["### Against the targets", "",
          "| measure | target | got | met |", "|---|---:|---:|:---:|",
          f"| recall, adaptive, fan combinations + pass-through + structuring (+daily) | ≥ {a['target']} "
          f"| {_fmt_rate(a['value'])} ({a['found']}/{a['patterns']}) | {'yes' if (a['value'] or 0) >= a['target'] else 'no'} |",
          f"| precision of their hit typologies (subject in a laundering pattern) | ≥ {p['target']} "
          f"| {_fmt_rate(p['value'])} ({p['tp']}/{p['hits']}) | {'yes' if (p['value'] or 0) >= p['target'] else 'no'} |"]
    for typ, v in t["per_typology"].items():
        L.append(f"| — {typ}: adaptive recall / precision | ≥ 0.95 / ≥ 0.90 | {_fmt_rate(v['adaptive_recall'])} / "
                 f"{_fmt_rate(v['precision'])} | {'yes' if (v['adaptive_recall'] or 0) >= 0.95 and (v['precision'] or 0) >= 0.9 else 'no'} |")
    for kind, v in t["lookalike_fpr"].items():
        L.append(f"| look-alike FPR {kind} (mimicked family) | ≤ {v['target']:.2f} | {_fmt_rate(v['value'])} "
                 f"| {'yes' if v['value'] is not None and v['value'] <= v['target'] else 'no'} |")
    L += ["", "### Recall per typology and behaviour (attempt level)", "",
          "found = subject named by a hit of the matching typology whose window overlaps the pattern's days. "
          "Per-seed rates in brackets. *any det.*: any hit of any detector (large-value rules included) names the "
          "subject / any member of the pattern within its days.", "",
          "| typology | adaptive found | naive found | naive any det. (subject) | naive any det. (member) | adaptive any det. (member) |",
          "|---|---:|---:|---:|---:|---:|"]
    rec = {(r["typology"], r["behaviour"]): r for r in q["recall"]}
    for typ in list(MATCH) + list(NOT_COVERED):
        ad, na = rec.get((typ, "adaptive")), rec.get((typ, "naive"))
        def cell(r, key="found"):
            if r is None:
                return "—"
            per = ", ".join(_fmt_rate(_rate(x[key], x["patterns"]), 2) for x in r["per_seed"])
            return f"{_fmt_rate(_rate(r[key], r['patterns']))} ({r[key]}/{r['patterns']}) [{per}]" if len(r["per_seed"]) > 1 \
                else f"{_fmt_rate(_rate(r[key], r['patterns']))} ({r[key]}/{r['patterns']})"
        name = typ if typ in MATCH else f"{typ} (no detector: not covered)"
        L.append(f"| {name} | {cell(ad) if typ in MATCH else 'n/a'} | {cell(na) if typ in MATCH else 'n/a'} "
                 f"| {cell(na, 'found_any_subject')} | {cell(na, 'found_any_member')} | {cell(ad, 'found_any_member')} |")
    ptr = rec.get(("pass_through", "adaptive")), rec.get(("pass_through", "naive"))
    if all(ptr) and ptr[0].get("in_chain_members") is not None:
        L += ["", f"Pass-through, counting the subject as found when it is listed among a chain hit's members: "
              f"adaptive {_fmt_rate(_rate(ptr[0]['in_chain_members'], ptr[0]['patterns']))}, "
              f"naive {_fmt_rate(_rate(ptr[1]['in_chain_members'], ptr[1]['patterns']))}."]
    unl = q.get("pass_through_unlinked_recall")
    if unl and unl["adaptive"]["patterns"]:
        up = q["pass_through_unlinked_precision"]
        L.append(f"With `PassThroughParams(link_chains=False)` (diagnostic run): adaptive recall "
                 f"{_fmt_rate(unl['adaptive']['recall'])}, naive {_fmt_rate(unl['naive']['recall'])}, "
                 f"precision {_fmt_rate(up['precision'])} ({up['tp']}/{up['hits']}).")
    L += ["", "### Precision per hit typology", "",
          "precision = share of hits whose subject is an account of a laundering (naive/adaptive) pattern. "
          "False positives by the subject's segment (the recruiting pool reads as `person`).", "",
          "| hit typology | detector | hits | precision | per seed | FP on look-alike accounts | FP by segment |",
          "|---|---|---:|---:|---|---:|---|"]
    for r in sorted(q["precision"], key=lambda r: (r["detector"], r["typology"])):
        per = ", ".join(_fmt_rate(x, 2) for x in r["precision_per_seed"])
        seg = ", ".join(f"{k} {v}" for k, v in sorted(r["fp_by_segment"].items(), key=lambda kv: -kv[1]))
        L.append(f"| {r['typology']} | {r['detector']} | {r['hits']:,} | {_fmt_rate(r['precision'])} | {per} "
                 f"| {r['fp_on_lookalike_accounts']} | {seg} |")
    L += ["", "### Look-alike false-positive rate", "",
          "Share of benign look-alikes whose subject is named, within the look-alike's days, by a hit of the family it "
          "mimics; *own evidence*: of those, how many hits hold the look-alike's own transactions (the rest come "
          "from the customer's ordinary activity).", "",
          "| look-alike | mimics | n | FPR (family) | per seed | own evidence | by typology | FPR any core detector | FPR any detector |",
          "|---|---|---:|---:|---|---:|---|---:|---:|"]
    for r in q["lookalikes"]:
        per = ", ".join(_fmt_rate(x, 2) for x in r["fpr_family_per_seed"])
        by = ", ".join(f"{t} {r.get('by_' + t, 0)}" for t in r["mimics"])
        L.append(f"| {r['kind']} | {' / '.join(r['mimics'])} | {r['patterns']} | {_fmt_rate(r['fpr_family'])} | {per} "
                 f"| {r['flagged_family_own_evidence']} | {by} | {_fmt_rate(r['fpr_core'])} | {_fmt_rate(r['fpr_any'])} |")
    L += ["", "Core-detector typologies naming look-alike subjects: " + "; ".join(
        f"{r['kind']}: " + ", ".join(f"{k} {v}" for k, v in sorted(r["named_by_typology"].items(), key=lambda kv: -kv[1]))
        for r in q["lookalikes"])]
    L += ["", "### Account level", "",
          "flagged = distinct hit subjects; precision = flagged accounts that belong to a laundering pattern; "
          "recall (subjects) = subjects of covered laundering patterns flagged at any time; recall (accounts) = all "
          "laundering accounts (senders/receivers included) flagged.", "",
          "| hits from | flagged | precision | recall (subjects) | recall (all laundering accounts) |",
          "|---|---:|---:|---:|---:|"]
    for r in q["accounts"]:
        L.append(f"| {r['hits']} | {r['flagged_accounts']:,} | {_fmt_rate(r['precision'])} "
                 f"| {_fmt_rate(r['recall_subjects'])} | {_fmt_rate(r['recall_accounts'])} |")
    if q.get("whatif"):
        L += ["", "What-if filters on the fan combinations (post-filters on the hits, not detector changes):", "",
              "| filter | hits | precision | adaptive recall |", "|---|---:|---:|---:|"]
        for r in q["whatif"]:
            L.append(f"| {r['filter']} | {r['hits']:,} | {_fmt_rate(r['precision'])} | {_fmt_rate(r['adaptive_recall'])} |")
    return L


def markdown(report: dict) -> str:
    m, g = report["machine"], report["git"]
    L = ["# Detectors: quality and speed", "",
         f"{report['date']} — {m['cpu_model']}, {m['nproc']} cores, {m['mem_total_bytes'] / 2**30:.1f} GiB, "
         f"Python {m['python']}, numba {m['versions'].get('numba')}, pandas {m['versions'].get('pandas')}; "
         f"commit {str(g['commit'])[:10]}{' (src/ had uncommitted changes)' if g.get('src_dirty') else ''}.",
         f"Command: `{report['command']}`. Full figures: `detectors.json`.", ""]
    q = report.get("quality")
    if q:
        seeds = report["quality_seeds"]
        sizes = ", ".join(f"{s['n_txns']:,}" for s in seeds)
        note = (f"Seeds {', '.join(str(s['seed']) for s in seeds)}: {sizes} "
                f"transactions, {seeds[0]['n_customers']:,} customers, {N_DAYS} business days, "
                f"{seeds[0]['patterns_per_typology']} patterns per typology (half adaptive) and "
                f"{seeds[0]['lookalikes_per_kind']} look-alikes per kind per seed; all detectors with defaults (PBOC-2016). "
                f"Counts pooled over the seeds.")
        L += md_quality(q, "Quality on the synthetic bank (≈ 1 M transactions per seed)", note)
        L += ["", "### Why planted patterns were missed", "",
              "| typology | behaviour | reason | count |", "|---|---|---|---:|"]
        for r in q["miss_reasons"]:
            L.append(f"| {r['typology']} | {r['behaviour']} | {r['reason']} | {r['count']} |")
        ex = [mm for s in seeds for mm in s["misses"] if mm.get("example")][:14]
        if ex:
            L += ["", "Examples:", ""]
            for mm in ex:
                L.append(f"- {mm['pattern_id']} ({mm['typology']}, {mm['behaviour']}, {mm['days']}): {mm['reason']}")
        chains = [s["pass_through_chains"] for s in seeds]
        L += ["", "Pass-through chains per seed (count / largest member count / longest span in weekdays): "
              + "; ".join(f"{c['chains']} / {c['largest_chain_members']} / {c['longest_chain_weekdays']}" for c in chains)]
        L += ["", "False positives vs true positives of the core typologies (medians):", "",
              "| hit typology | TP hits | FP hits | person subject TP / FP | u TP / FP | pass-on TP / FP | pass-on in [0.9,1] TP / FP |",
              "|---|---:|---:|---|---|---|---|"]
        prof = defaultdict(lambda: {"tp": [], "fp": []})
        for s in seeds:
            for r in s["fp_profile"]:
                for lab in ("tp", "fp"):
                    prof[r["typology"]][lab].append(r[lab])
        for typ, v in prof.items():
            def med(lab, key):
                vals = [x.get(key) for x in v[lab] if x.get(key) is not None]
                return f"{np.median(vals):.2f}" if vals else "—"
            tp_n, fp_n = sum(x["hits"] for x in v["tp"]), sum(x["hits"] for x in v["fp"])
            L.append(f"| {typ} | {tp_n} | {fp_n} | {med('tp', 'person_subject_share')} / {med('fp', 'person_subject_share')} "
                     f"| {med('tp', 'utilisation_median')} / {med('fp', 'utilisation_median')} "
                     f"| {med('tp', 'pass_on_median')} / {med('fp', 'pass_on_median')} "
                     f"| {med('tp', 'pass_on_in_0_9_1_0')} / {med('fp', 'pass_on_in_0_9_1_0')} |")
    sp = report.get("speed")
    if sp and sp.get("quality_10m"):
        b = sp["bank"]
        L += [""] + md_quality(sp["quality_10m"], "Quality on the 10 M bank of the speed run (one seed)",
                               f"Seed {sp['seed']}, {b.get('n_txns'):,} transactions, {sp['n_customers']:,} customers, "
                               f"simulator default pattern counts ({b.get('n_patterns'):,} patterns).")
    a = report.get("amlsim")
    if a:
        L += ["", "## AMLSim samples (account level, fan-in)", "",
              f"Thresholds scaled ×{a['scale']:g} (`{a['rule_set']}`): Φ person transfer = {a['phi_person_transfer']:g} units, "
              "about 2× the median amount (≈ 254) and just under the largest (600), so the large-value rule flags only "
              "the top few per cent as in real data. The default de-minimis (1 % Φ = 5 units) would drop every AMLSim "
              f"fan-in payment (2.5–5 units), so the runs below use {AMLSIM_DE_MINIMIS:.1%} Φ = "
              f"{AMLSIM_DE_MINIMIS * a['phi_person_transfer']:g} units unless marked default. One step = one business day. "
              "precision/recall = fan_in subjects vs accounts labelled isFraud; hub = labelled account receiving from "
              f"≥ {AMLSIM_HUB_K} distinct labelled accounts over the whole run.", ""]
        for folder, r in a["folders"].items():
            if "error" in r:
                L.append(f"- {folder}: {r['error']}")
                continue
            L += [f"**{folder}** — {r['transactions']:,} transactions, {r['labelled']} labelled accounts "
                  f"(base rate {r['base_rate']:.3f}: the precision of a random pick), {r['hubs']} hubs; "
                  f"median amount {r['amount_median']:.0f}, labelled→labelled median {r['labelled_to_labelled_amount_median']:.1f}.", "",
                  "| configuration | fan_in hits | flagged | precision | recall | hub recall | hub precision |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
            for run in r["runs"]:
                L.append(f"| {run['config']} | {run['fan_in_hits']} | {run['flagged_accounts']} | {_fmt_rate(run['precision'])} "
                         f"| {_fmt_rate(run['recall'])} | {_fmt_rate(run['hub_recall'])} | {_fmt_rate(run['hub_precision'])} |")
            L.append("")
    if sp and sp.get("summary"):
        s = sp["summary"]
        b = sp["bank"]
        r2 = sp["runs"].get(2) or sp["runs"].get("2") or {}
        L += ["## Speed: all four detectors over 10 M transactions", "",
              f"{r2.get('n_edges', 0):,} transactions, {r2.get('n_accounts', 0):,} accounts, {r2.get('n_days')} business days "
              f"(seed {sp['seed']}, bank {'cached' if b['cached'] else 'simulated this run'}). File reading, validation and "
              f"graph build are excluded (read {r2.get('read_s', 0):.1f} s, validate {r2.get('validate_s', 0):.1f} s, "
              f"build {r2.get('build_s', 0):.1f} s). Each thread count in a fresh process; warm = median of "
              f"{len(r2.get('passes', [])) - 1} warm passes. *kernel* = time inside the numba kernels; the rest is "
              "thresholds, evidence edges and Hit objects in Python.", "",
              "| detector | hits | first call s (kernel) | warm s, 2 threads (kernel) | warm s, 1 thread (kernel) | 1 / 2 threads: total, kernel |",
              "|---|---:|---:|---:|---:|---:|"]
        for n in DETECTOR_NAMES:
            d2 = s.get(2, {}).get("per_detector", {}).get(n)
            d1 = s.get(1, {}).get("per_detector", {}).get(n)
            if not d2:
                continue
            rr = s.get("ratio_1_over_2_per_detector", {}).get(n)
            one = f"{d1['warm_s']['median']:.2f} ({d1['warm_kernel_s']['median']:.2f})" if d1 else "—"
            ratio = f"{rr['total']:.2f}, {rr['kernel']:.2f}" if rr else "—"
            L.append(f"| {n} | {d2['hits']:,} | {d2['first_s']:.2f} ({d2['first_kernel_s']:.2f}) "
                     f"| {d2['warm_s']['median']:.2f} ({d2['warm_kernel_s']['median']:.2f}) | {one} | {ratio} |")
        if 2 in s:
            d2, d1 = s[2], s.get(1)
            L.append(f"| **total** | {sum(d2['per_detector'][n]['hits'] for n in DETECTOR_NAMES):,} "
                     f"| {d2['first_total_s']:.2f} | {d2['warm_total_s']['median']:.2f} ({d2['warm_kernel_s']['median']:.2f}) "
                     + (f"| {d1['warm_total_s']['median']:.2f} ({d1['warm_kernel_s']['median']:.2f}) "
                        f"| {s['ratio_1_over_2_total']:.2f}, {s['ratio_1_over_2_kernels']:.2f} |" if d1 else "| — | — |"))
            L += ["", f"Goal: whole detector pass over 10 M in ≤ 10 s (warm, 2 threads): "
                  f"{'met' if s.get('goal_10s_met_warm') else 'not met'} ({d2['warm_total_s']['median']:.1f} s; "
                  f"kernels alone {d2['warm_kernel_s']['median']:.1f} s). Peak RSS during the detector passes "
                  f"{d2['peak_detectors_gb']:.2f} GB (mark reset after graph build; RSS then "
                  f"{d2['rss_before_detectors_gb']:.2f} GB); process peak incl. read/validate/build "
                  f"{d2['peak_process_gb']:.2f} GB. Building the hits table (`HitSet.frame`) took "
                  f"{r2.get('hits_frame_s', 0):.1f} s more."]
            cache = r2.get("numba_cache", {})
            hits_ = sum(v["cache_hits"] or 0 for v in cache.values())
            miss_ = sum(v["cache_misses"] or 0 for v in cache.values())
            L.append(f"First call: numba cache hits {hits_}, misses (compiled) {miss_} over the detector kernels; "
                     f"threading layer `{d2.get('threading_layer')}`. Outside the kernels the cost is per hit: "
                     + ", ".join(f"{n} {v:.0f} µs/hit" for n, v in d2["python_us_per_hit"].items()) + ".")
    bl = report.get("baseline")
    if bl:
        L += ["", "## Baseline: plain pandas vs flowgraph (same data, warm, best of repeats)", "",
              "pandas fan-in: (receiver, sender, day) pairs expanded to the 10 window-end days, distinct per window, count "
              "≥ 5; *loop*: per account and day, `nunique` of the window's senders. pandas pass-through: daily in/out "
              "sums per account, dense over the days, `groupby().rolling(3).sum()`, the 5 % / floor test. flowgraph: "
              "`fan.detect` (all four fan conditions, hits built) and the fan kernel alone; "
              "`pass_through.detect(link_chains=False)`. *counted by fan-in*: transfers left after the exclusions "
              "(cash, self, same customer, below the de-minimis 1 % of the receiver's threshold).", "",
              "| data | edges (counted by fan-in) | same (account, day) sets: fan-in / pass-through | pandas fan-in s (edges/s) | pandas loop s | flowgraph fan s (kernel s) | pandas / flowgraph fan | pandas / fan kernel | pandas pass-through s | flowgraph pass-through s | pandas / flowgraph pass-through |",
              "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in bl:
            loop = f"{r['pandas_fan_in_loop_s']:.1f}" if r.get("pandas_fan_in_loop_s") else "skipped"
            L.append(f"| {r['data']} | {r['n_edges']:,} ({r['fan_in_counted_edges']:,}) | {r['fan_in_days']['same']} ({r['fan_in_days']['flowgraph']:,} days) / "
                     f"{r['pass_through_days']['same']} ({r['pass_through_days']['flowgraph']:,}) "
                     f"| {r['pandas_fan_in_s']:.2f} ({r['n_edges'] / r['pandas_fan_in_s'] / 1e3:,.0f} k) | {loop} "
                     f"| {r['flowgraph_fan_detect_s']:.3f} ({r['flowgraph_fan_kernel_s']:.4f}) "
                     f"| {r['ratio_pandas_fan_in_over_flowgraph_detect']:.2f}× | {r['ratio_pandas_fan_in_over_flowgraph_kernel']:.1f}× "
                     f"| {r['pandas_pass_through_s']:.2f} | {r['flowgraph_pass_through_detect_s']:.3f} "
                     f"| {r['ratio_pandas_pass_through_over_flowgraph_detect']:.1f}× |")
    return "\n".join(L) + "\n"


# ---------------------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--quality-customers", type=int, default=QUALITY_CUSTOMERS)
    parser.add_argument("--patterns", type=int, default=PATTERNS_PER_TYPOLOGY)
    parser.add_argument("--lookalikes", type=int, default=LOOKALIKES_PER_KIND)
    parser.add_argument("--speed-seed", type=int, default=SPEED_SEED)
    parser.add_argument("--speed-customers", type=int, default=SPEED_CUSTOMERS)
    parser.add_argument("--warm-repeats", type=int, default=2)
    parser.add_argument("--baseline-sizes", type=int, nargs="*", default=list(BASELINE_SIZES))
    parser.add_argument("--loop-budget", type=float, default=240.0,
                        help="seconds allowed for the per-account pandas loop at a size (estimated from the smaller one)")
    parser.add_argument("--only", nargs="+", choices=["quality", "amlsim", "baseline", "speed"])
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--max-wait", type=float, default=1800.0, help="seconds to wait for other benchmarks to end")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per speed worker")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        kind, *rest = args.worker
        {"simulate": _worker_simulate, "speed": _worker_speed}[kind](*rest)
        return 0
    parts = set(args.only or ["quality", "amlsim", "baseline", "speed"])
    if args.skip_speed:
        parts.discard("speed")
    report = {"benchmark": "detectors", "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "command": " ".join([".venv/bin/python", "benchmarks/bench_detectors.py", *(argv or sys.argv[1:])]),
              "machine": machine_info(), "git": git_info(), "targets": TARGETS,
              "settings": {"seeds": args.seeds, "quality_customers": args.quality_customers, "patterns": args.patterns,
                           "lookalikes": args.lookalikes, "speed_seed": args.speed_seed,
                           "speed_customers": args.speed_customers, "warm_repeats": args.warm_repeats,
                           "baseline_sizes": args.baseline_sizes, "n_days": N_DAYS, "match": MATCH,
                           "lookalike_family": LOOKALIKE_FAMILY}}
    t_start = time.perf_counter()
    # the 10 M timing first, while the machine is quiet and before this process grows
    if "speed" in parts:
        print("speed (10 M transactions)", flush=True)
        report["speed"] = speed(args)
    graph_1m = None
    if "quality" in parts:
        print("quality", flush=True)
        seeds = []
        for seed in args.seeds:
            res, graph = quality_seed(seed, args)
            seeds.append(res)
            if graph_1m is None and "baseline" in parts:
                graph_1m = (graph, f"seed {seed}, {graph.n_edges:,} txns")
            else:
                del graph
            gc.collect()
        report["quality_seeds"] = seeds
        report["quality"] = pool(seeds)
    if "amlsim" in parts:
        print("AMLSim", flush=True)
        report["amlsim"] = amlsim_quality()
    if "baseline" in parts:
        print("baseline", flush=True)
        bl, loop_per_edge = [], None
        for size in sorted(args.baseline_sizes):
            n_customers = int(round(size / TXNS_PER_CUSTOMER))
            if graph_1m is not None and abs(graph_1m[0].n_edges - size) / size < 0.05:
                graph, label = graph_1m
            else:
                bank, _ = simulate_bank(args.seeds[0], n_customers, None, None)
                graph, _ = load_graph(bank.transactions, bank.accounts)
                label = f"seed {args.seeds[0]}, {graph.n_edges:,} txns (simulator defaults)"
                del bank
            est = None if loop_per_edge is None else loop_per_edge * graph.n_edges
            r = baseline_run(graph, label, args.loop_budget, est)
            if r.get("pandas_fan_in_loop_s"):
                loop_per_edge = r["pandas_fan_in_loop_s"] / r["n_edges"]
            bl.append(r)
            del graph
            gc.collect()
        report["baseline"] = bl
    report["wall_s"] = time.perf_counter() - t_start
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "detectors.json").write_text(json.dumps(report, indent=2, default=_json_default))
    md = markdown(report)
    (RESULTS_DIR / "detectors.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
