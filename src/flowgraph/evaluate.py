"""Detection quality against ground truth (SPEC §6, 004 ch.4: accuracy on simulated data).

A planted pattern is *found* when its subject account is the subject of a hit of the
matching typology whose window overlaps the pattern's days (attempt level). Hit windows
are business days, while a pattern's days are the calendar dates of its transactions
(weekends and holidays too in a seven-day bank), so the pattern's dates are first mapped
onto the business days they count toward, with the graph's rule (a weekend or holiday
counts toward the next business day). Precision of a hit typology is the share of its
hits whose subject belongs to a laundering pattern.

Hits may carry real ids (a scan with ``--reveal-ids``, or detectors run in Python) or keyed
pseudonyms (``ACC-…``: what a default scan writes to ``hits.parquet``). Pseudonymised hits
are compared with the ground truth pseudonymised with the same key (SPEC §7), so both give
the same answer; a key under which no pseudonym of the ground truth is among the hits' is
an error, not a score of 0. Given the run the hits are of (``run``: its run store or
``manifest.json``), the key must also be the one whose id the run recorded
(:func:`flowgraph.deid.key_id`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .calendar import BusinessCalendar, prc_calendar
from .deid import PREFIX, PSEUDONYM_HEX_DIGITS, Pseudonymizer, default_key_file, key_id, load_key
from .errors import ConfigError, DataError


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


_ACCOUNT_PSEUDONYM = rf"{re.escape(PREFIX['account'])}[0-9a-f]{{{PSEUDONYM_HEX_DIGITS}}}"

_SCORE_REAL_IDS = "or score the hits of a scan run with --reveal-ids"


def _ids(column: pd.Series) -> pd.Series:
    """The distinct non-empty ids of a column of ids or of lists of ids."""
    values = column.explode().dropna().astype(str)
    return pd.Series(values[values != ""].unique(), dtype=object)


def run_key_id(run: str | Path | dict) -> str | None:
    """The pseudonym key id a run recorded: ``run`` is its manifest (a dict, or the path of
    ``manifest.json`` or of the scan's output folder holding it) or its run store (read,
    never changed); None when it recorded none (a run of an earlier version, or with
    real ids).

    Raises
    ------
    ConfigError
        ``run`` is no manifest or store.
    DataError
        The manifest is not JSON.
    """
    from .store import recorded_pseudonym_key

    if isinstance(run, dict):
        return run.get("pseudonym_key_id")
    path = Path(run)
    if path.is_dir():
        path = path / "manifest.json"
    if path.suffix != ".json":
        record = recorded_pseudonym_key(path, must_exist=True)
        return None if record is None else record["key_id"]
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"run={run}: {path} not found. Fix: give the scan's store.sqlite, its manifest.json or "
                          "its output folder.") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a run manifest ({exc}). Fix: give the manifest.json a scan wrote.") from None
    return manifest.get("pseudonym_key_id") if isinstance(manifest, dict) else None


def _in_hit_id_space(patterns: pd.DataFrame, hits: pd.DataFrame, key_file, run=None) -> pd.DataFrame:
    """``patterns`` with the ids evaluation compares (``subject``, ``accounts``) as the hits
    write them: as they are for hits with real ids, pseudonymised with the key for hits with
    pseudonyms.

    Raises
    ------
    ConfigError
        The hits mix pseudonyms and real ids; they carry pseudonyms and the key file does
        not exist or cannot be read; or no pseudonym of the ground truth under the key is
        among the hits' ids (the scan used another key), or the key's id is not the one
        ``run`` recorded.
    """
    if hits.empty or patterns.empty:
        return patterns
    subjects = _ids(hits["subject"])
    is_pseudonym = subjects.str.fullmatch(_ACCOUNT_PSEUDONYM)
    if not is_pseudonym.any():
        return patterns
    if not is_pseudonym.all():
        raise ConfigError(f"the hits mix pseudonymised subjects ({int(is_pseudonym.sum())} like "
                          f"{PREFIX['account']}…) and real account ids ({int((~is_pseudonym).sum())}), so they "
                          f"cannot all be compared with the ground truth. Fix: evaluate the hits of one scan, "
                          f"either a default (pseudonymised) one or one run with --reveal-ids.")
    path = Path(key_file) if key_file is not None else default_key_file()
    if not path.exists():
        raise ConfigError(f"the hits carry pseudonyms ({PREFIX['account']}…) but the pseudonym key {path} does "
                          "not exist, so the ground truth's account ids cannot be pseudonymised to match them. "
                          "Fix: pass key_file= the key the scan used (its --key-file, or $FLOWGRAPH_KEY_FILE "
                          f"when it ran), {_SCORE_REAL_IDS}.")
    key = load_key(path)
    recorded = None if run is None else run_key_id(run)
    if recorded is not None and key_id(key) != recorded:
        raise ConfigError(f"the hits of the run {run} are pseudonymised with the key whose id is {recorded}, but "
                          f"the key file {path} holds another key (id {key_id(key)}), so the ground truth's ids "
                          "cannot be pseudonymised to match them. Fix: pass key_file= the key the scan used (its "
                          f"--key-file, or $FLOWGRAPH_KEY_FILE when it ran), {_SCORE_REAL_IDS}.")
    pseudo = Pseudonymizer(key)
    truth = patterns.assign(subject=pseudo.column(patterns["subject"], "account"),
                            accounts=pseudo.column(patterns["accounts"], "account"))
    truth_ids = pd.concat([_ids(truth["subject"]), _ids(truth["accounts"])])
    named = subjects.isin(truth_ids).any() or (
        "accounts" in hits.columns and _ids(hits["accounts"]).isin(truth_ids).any())
    if not named:
        raise ConfigError(f"the hits carry pseudonyms ({PREFIX['account']}…) but none of them is the pseudonym of "
                          f"an account of the ground truth under the key {path}: the scan used another key (or "
                          "the hits are of another bank), and every score would be 0. Fix: pass key_file= the "
                          f"key the scan used (its --key-file, or $FLOWGRAPH_KEY_FILE when it ran), {_SCORE_REAL_IDS}.")
    return truth


def found(patterns: pd.DataFrame, hits: pd.DataFrame, calendar: BusinessCalendar | None = None,
          key_file: str | Path | None = None, run: str | Path | dict | None = None) -> pd.Series:
    """For each pattern, whether a hit of a matching typology names its subject within its days.

    Parameters
    ----------
    patterns : DataFrame
        ``patterns.parquet`` of the simulator (``typology, subject, accounts, first_day,
        last_day``, calendar dates; real ids).
    hits : DataFrame
        Hits (``typology, subject, window_start, window_end``, business days; ``accounts``
        when present) with real ids, or with the pseudonyms of a default scan.
    calendar : BusinessCalendar, optional
        The calendar the scan used, to map the patterns' dates onto business days;
        default the PRC calendar.
    key_file : path, optional
        For pseudonymised hits: the pseudonym key the scan used. Default
        ``$FLOWGRAPH_KEY_FILE``, else ``~/.config/flowgraph/pseudonym.key`` (the scan's
        default); never created here.
    run : path or dict, optional
        The run the hits are of: its run store, its ``manifest.json`` (or the scan's output
        folder holding it) or the manifest as a dict. Pseudonymised hits are then scored
        only with the key whose id it recorded (:func:`run_key_id`).

    Raises
    ------
    ConfigError
        Pseudonymised hits without the scan's key (see the module docstring; with
        ``run``, a key of another id than it recorded), or hits mixing pseudonyms and
        real ids.
    """
    if hits.empty or patterns.empty:
        return pd.Series(False, index=patterns.index)
    patterns = _in_hit_id_space(patterns, hits, key_file, run)
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


def recall_table(patterns: pd.DataFrame, hits: pd.DataFrame, calendar: BusinessCalendar | None = None,
                 key_file: str | Path | None = None, run: str | Path | dict | None = None) -> pd.DataFrame:
    """Share of patterns found per typology and behaviour (for look-alikes: the
    false-positive rate); the arguments as for :func:`found`."""
    frame = patterns.assign(found=found(patterns, hits, calendar, key_file, run))
    return (frame.groupby(["typology", "behaviour"])["found"].agg(["sum", "count", "mean"])
            .rename(columns={"sum": "found", "count": "patterns", "mean": "rate"}).reset_index())


def precision_table(patterns: pd.DataFrame, hits: pd.DataFrame, key_file: str | Path | None = None,
                    run: str | Path | dict | None = None) -> pd.DataFrame:
    """Per hit typology: hits, and the share naming an account of a laundering pattern;
    ``hits``, ``key_file`` and ``run`` as for :func:`found` (real ids or a default scan's
    pseudonyms)."""
    patterns = _in_hit_id_space(patterns, hits, key_file, run)
    laundering = {a for accts, b in zip(patterns["accounts"], patterns["behaviour"]) if b != "lookalike" for a in accts}
    if hits.empty:
        return pd.DataFrame(columns=["typology", "hits", "precision"])
    return (hits.assign(tp=hits["subject"].isin(laundering)).groupby("typology")["tp"]
            .agg(["count", "mean"]).rename(columns={"count": "hits", "mean": "precision"}).reset_index())
