"""Detection quality against ground truth (SPEC §6, 004 ch.4: accuracy on simulated data).

A planted pattern is *found* when its subject account is the subject of a hit of the
matching typology whose window overlaps the pattern's days (attempt level). Hit windows
are business days, while a pattern's days are the calendar dates of its transactions
(weekends and holidays too in a seven-day bank), so the pattern's dates are first mapped
onto the business days they count toward, with the graph's rule (a weekend or holiday
counts toward the next business day). Precision of a hit typology is the share of its
hits whose subject belongs to a laundering pattern.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .calendar import BusinessCalendar, prc_calendar


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


def counted_business_days(dates, calendar: BusinessCalendar | None = None) -> np.ndarray:
    """The business day each date counts toward: the date itself on a business day, else
    the next business day (the rule of :func:`flowgraph.graph.build_graph`).

    Parameters
    ----------
    dates : array-like of datetime64
        Any resolution; the time of day is ignored.
    calendar : BusinessCalendar, optional
        The scan's calendar; default the PRC calendar.

    Returns
    -------
    ndarray of datetime64[ns]
    """
    business_days, index = (calendar or prc_calendar()).business_day_index(np.asarray(dates, "datetime64[ns]"))
    return business_days[index].astype("datetime64[ns]")


def found(patterns: pd.DataFrame, hits: pd.DataFrame, calendar: BusinessCalendar | None = None) -> pd.Series:
    """For each pattern, whether a hit of a matching typology names its subject within its days.

    Parameters
    ----------
    patterns : DataFrame
        ``patterns.parquet`` of the simulator (``typology, subject, first_day, last_day``,
        calendar dates).
    hits : DataFrame
        Hits with real ids (``typology, subject, window_start, window_end``, business days).
    calendar : BusinessCalendar, optional
        The calendar the scan used, to map the patterns' dates onto business days;
        default the PRC calendar.
    """
    if hits.empty or patterns.empty:
        return pd.Series(False, index=patterns.index)
    planted = pd.DataFrame({
        "pattern": np.arange(len(patterns)), "planted_typology": patterns["typology"].to_numpy(),
        "subject": patterns["subject"].to_numpy(),
        "first_day": counted_business_days(patterns["first_day"], calendar),
        "last_day": counted_business_days(patterns["last_day"], calendar)})
    pairs = planted.merge(hits[["typology", "subject", "window_start", "window_end"]], on="subject")
    matching = {(p, h) for p, hit_types in MATCHING.items() for h in hit_types}
    is_match = np.array([pair in matching for pair in zip(pairs["planted_typology"], pairs["typology"])], bool)
    overlaps = ((pairs["window_start"] <= pairs["last_day"]) & (pairs["window_end"] >= pairs["first_day"])).to_numpy()
    hit_patterns = pairs.loc[is_match & overlaps, "pattern"].to_numpy()
    return pd.Series(np.isin(np.arange(len(patterns)), hit_patterns), index=patterns.index)


def recall_table(patterns: pd.DataFrame, hits: pd.DataFrame, calendar: BusinessCalendar | None = None) -> pd.DataFrame:
    """Share of patterns found per typology and behaviour (for look-alikes: the
    false-positive rate); ``calendar`` as for :func:`found`."""
    frame = patterns.assign(found=found(patterns, hits, calendar))
    return (frame.groupby(["typology", "behaviour"])["found"].agg(["sum", "count", "mean"])
            .rename(columns={"sum": "found", "count": "patterns", "mean": "rate"}).reset_index())


def precision_table(patterns: pd.DataFrame, hits: pd.DataFrame) -> pd.DataFrame:
    """Per hit typology: hits, and the share naming an account of a laundering pattern."""
    laundering = {a for accts, b in zip(patterns["accounts"], patterns["behaviour"]) if b != "lookalike" for a in accts}
    if hits.empty:
        return pd.DataFrame(columns=["typology", "hits", "precision"])
    return (hits.assign(tp=hits["subject"].isin(laundering)).groupby("typology")["tp"]
            .agg(["count", "mean"]).rename(columns={"count": "hits", "mean": "precision"}).reset_index())
