"""Detection quality against ground truth (SPEC §6, 004 ch.4: accuracy on simulated data).

A planted pattern is *found* when its subject account is the subject of a hit of the
matching typology whose window overlaps the pattern's days (attempt level). Precision of
a hit typology is the share of its hits whose subject belongs to a laundering pattern.
"""

from __future__ import annotations

import pandas as pd

def _matching() -> dict[str, tuple[str, ...]]:
    """Planted typology (and look-alike kind) -> the hit typologies that find it (for
    look-alikes: that it imitates), from the detector registry."""
    from .detectors import TYPOLOGIES

    out: dict[str, tuple[str, ...]] = {}
    for name, t in TYPOLOGIES.items():
        for planted in t.finds + t.imitated_by:
            out[planted] = out.get(planted, ()) + (name,)
    return out


#: Planted typology -> the hit typologies that find it.
MATCHING = _matching()


def found(patterns: pd.DataFrame, hits: pd.DataFrame) -> pd.Series:
    """For each pattern, whether a hit of a matching typology names its subject within its days.

    Parameters
    ----------
    patterns : DataFrame
        ``patterns.parquet`` of the simulator.
    hits : DataFrame
        Hits with real ids (``typology, subject, window_start, window_end``).
    """
    out = pd.Series(False, index=patterns.index)
    if hits.empty:
        return out
    h = hits[["typology", "subject", "window_start", "window_end"]]
    for i, p in patterns.iterrows():
        cand = h[h["typology"].isin(MATCHING.get(p["typology"], ())) & (h["subject"] == p["subject"])]
        out[i] = bool(((cand["window_start"] <= p["last_day"]) & (cand["window_end"] >= p["first_day"])).any())
    return out


def recall_table(patterns: pd.DataFrame, hits: pd.DataFrame) -> pd.DataFrame:
    """Share of patterns found per typology and behaviour (for look-alikes: the
    false-positive rate)."""
    frame = patterns.assign(found=found(patterns, hits))
    return (frame.groupby(["typology", "behaviour"])["found"].agg(["sum", "count", "mean"])
            .rename(columns={"sum": "found", "count": "patterns", "mean": "rate"}).reset_index())


def precision_table(patterns: pd.DataFrame, hits: pd.DataFrame) -> pd.DataFrame:
    """Per hit typology: hits, and the share naming an account of a laundering pattern."""
    laundering = {a for accts, b in zip(patterns["accounts"], patterns["behaviour"]) if b != "lookalike" for a in accts}
    if hits.empty:
        return pd.DataFrame(columns=["typology", "hits", "precision"])
    return (hits.assign(tp=hits["subject"].isin(laundering)).groupby("typology")["tp"]
            .agg(["count", "mean"]).rename(columns={"count": "hits", "mean": "precision"}).reset_index())
