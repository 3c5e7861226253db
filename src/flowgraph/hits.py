"""Hits: what a detector found, as typed records with the user's ids (SPEC §5).

A hit names its detector and typology, the parameters it ran with (a fingerprint), the
subject account and customer, every account and transaction in its evidence (the
user's ids, never internal indices), its window of business days, the detector's own
measures, and its W(N, D) score (SPEC §4): N accounts in the evidence, D business days
from the first to the last evidence transaction, A the amount the pattern moved, Φ the
threshold of each method used, ceiling Σ_m W(N, D) · Φ_m and utilisation u = A / ceiling.

A hit's id is a hash of detector, typology, parameter fingerprint, subject and evidence:
the same data and parameters give the same id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .ceiling import w_scalar

HIT_COLUMNS = ("hit_id", "detector", "typology", "params_id", "subject", "customer", "accounts", "txn_ids",
               "window_start", "window_end", "n_accounts", "n_days", "amount", "phi", "ceiling",
               "utilisation", "measures")


def params_fingerprint(params) -> str:
    """A short, stable hash of a parameters dataclass (its class name and values)."""
    payload = {"class": type(params).__name__, **dataclasses.asdict(params)}
    return hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Hit:
    """One detector hit (SPEC §5), in the user's ids.

    Attributes
    ----------
    hit_id : str
        Deterministic: same data and parameters, same id.
    detector, typology : str
        E.g. ``"fan"`` / ``"dispersed_in_concentrated_out"``.
    params_id : str
        Fingerprint of the detector's parameters (and rule set).
    subject : str
        The account the hit is about; ``customer`` its customer ("" if unknown).
    accounts, txn_ids : tuple of str
        Evidence accounts (subject first) and transactions.
    window_start, window_end : numpy.datetime64
        First and last business day of the evidence window.
    n_accounts, n_days : int
        N and D of SPEC §4.
    amount : float
        A, the amount the pattern moved (CNY).
    phi : dict
        Φ per method (channel) used in the evidence, CNY.
    ceiling, utilisation : float
        Σ_m W(N, D) · Φ_m and A / ceiling.
    measures : dict
        The detector's own measures (counts, concentration, gap, σ ...).
    """

    hit_id: str
    detector: str
    typology: str
    params_id: str
    subject: str
    customer: str
    accounts: tuple
    txn_ids: tuple
    window_start: np.datetime64
    window_end: np.datetime64
    n_accounts: int
    n_days: int
    amount: float
    phi: dict = field(default_factory=dict)
    ceiling: float = float("nan")
    utilisation: float = float("nan")
    measures: dict = field(default_factory=dict)


def make_hit(graph, detector: str, typology: str, params_id: str, subject: int, edges: np.ndarray,
             amount: float, phi_by_channel: dict, measures: dict, window: tuple[int, int] | None = None,
             accounts: list[int] | None = None) -> Hit:
    """Build a scored hit from internal indices (graph edges and accounts).

    Parameters
    ----------
    graph : TransactionGraph
    detector, typology, params_id : str
    subject : int
        Dense index of the subject account.
    edges : ndarray of int
        Evidence edge ids.
    amount : float
        A (CNY).
    phi_by_channel : dict
        Channel name -> Φ (CNY) of the subject's applicable rule; the methods used in the
        evidence are looked up here.
    measures : dict
    window : (int, int), optional
        Business-day indices; default the evidence's first and last day.
    accounts : list of int, optional
        Evidence accounts; default the subject and every account on an evidence edge.
    """
    from .config import CHANNELS

    # hits are built one by one, often from one or a few edges: plain Python on short lists
    # is several times faster here than numpy calls
    edges = np.asarray(edges, dtype=np.int64)
    if len(edges) > 1:
        edges = np.unique(edges)
    days = graph.day[edges].tolist()
    first, last = (min(days), max(days)) if days else window
    if window is None:
        window = (first, last)
    if accounts is None:
        touched = set(graph.src[edges].tolist()) | set(graph.dst[edges].tolist())
        touched.discard(-1)
        touched.discard(subject)
        accounts = [subject] + sorted(a for a in touched if a >= 0)
    n_days = last - first + 1
    channels = sorted({CHANNELS[c] for c in graph.channel[edges].tolist()})
    phi = {c: float(phi_by_channel[c]) for c in channels}
    ceiling = w_scalar(max(len(accounts), 1), max(n_days, 1)) * sum(phi.values()) if phi else float("nan")
    txn_ids = tuple(graph.txn_ids(edges).tolist())
    subject_id = str(graph.account_ids[subject])
    cust = graph.account_customer[subject]
    key = json.dumps([detector, typology, params_id, subject_id, sorted(txn_ids)])
    return Hit(
        hit_id=hashlib.sha1(key.encode()).hexdigest()[:16],
        detector=detector, typology=typology, params_id=params_id, subject=subject_id,
        customer=str(graph.customer_ids[cust]) if cust >= 0 else "",
        accounts=tuple(str(graph.account_ids[a]) for a in accounts), txn_ids=txn_ids,
        window_start=graph.business_days[window[0]], window_end=graph.business_days[window[1]],
        n_accounts=len(accounts), n_days=int(n_days), amount=float(amount), phi=phi,
        ceiling=ceiling, utilisation=float(amount) / ceiling if ceiling and ceiling == ceiling else float("nan"),
        measures=measures,
    )


def hits_frame(hits: list[Hit]) -> pd.DataFrame:
    """Hits as a table (SPEC §10 hits.parquet columns): one row per hit, ``accounts``
    and ``txn_ids`` as lists, measures flattened into ``m_<name>`` columns beside the
    ``measures`` dict (as JSON text)."""
    rows = []
    for h in hits:
        row = {c: getattr(h, c) for c in HIT_COLUMNS}
        row["accounts"] = list(h.accounts)
        row["txn_ids"] = list(h.txn_ids)
        row["phi"] = json.dumps(h.phi, sort_keys=True)
        row["measures"] = json.dumps(h.measures, sort_keys=True, default=float)
        for k, v in h.measures.items():
            row[f"m_{k}"] = v
        rows.append(row)
    frame = pd.DataFrame(rows, columns=None if rows else list(HIT_COLUMNS))
    if rows:
        frame["window_start"] = pd.to_datetime(frame["window_start"])
        frame["window_end"] = pd.to_datetime(frame["window_end"])
        frame = frame.sort_values(["detector", "typology", "window_start", "subject", "hit_id"],
                                  kind="stable").reset_index(drop=True)
    return frame
