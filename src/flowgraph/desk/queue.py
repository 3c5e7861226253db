"""The alert queue: a run store's alerts as an investigator works them.

One row per alert: its id, the customer (keyed pseudonym unless real ids are asked for,
which the store's audit table records), score, the typologies of its hits, window,
status and latest disposition, and its age. Filters and orders are the parameters of
:class:`QueueQuery`.

- **Status**: ``raised`` — the score reached the alert threshold; ``open`` — raised and no
  analyst decided on it yet, or reopened (the work list, the default); ``disposed`` — an
  analyst decided (excluded, reported or case; the latest decision is shown); ``all``. A
  decided alert that a later scan no longer produced (its data corrected, its hits
  regrouped) shows the status "no longer found" and is not raised.
- **Reopened**: a decided alert that a later scan grew — a hit joined it (``new_hits``
  counts those not in it when decided) or its window went on (a run of days that
  continued) — shows the status "reopened" and is back in the open queue with its earlier
  decision shown: an exclusion covers what the analyst saw, not what the customer did
  next. A new decision closes it again.
- **Age**: business days from the alert's last evidence day (``window_end``) to ``today``
  on the calendar of the scan that last updated it: for a nightly T+1 scan this is how
  long the alert has waited, and it is what the reporting deadlines count (003).
- **Configuration**: a store may hold alerts of several configurations (a re-scan under
  changed rules); the queue shows those of the latest complete run's configuration
  unless another configuration hash is given.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from ..deid import store_pseudonymizer
from ..detectors import TYPOLOGIES
from ..detectors._params import Constraint, Interval, Options, validate_params
from ..errors import ConfigError
from .evidence import run_calendar

STATUSES = ("open", "raised", "disposed", "all")
SORTS = ("score", "age", "window")
#: Columns of the queue, in order.
COLUMNS = ("alert_id", "customer", "score", "typologies", "window_start", "window_end", "status", "disposition",
           "age_days", "n_hits", "new_hits")


class _OrNone(Constraint):
    """None, or what ``inner`` accepts."""

    def __init__(self, inner: Constraint):
        self.inner = inner
        self.description = f"{inner.description} or None"

    def accepts(self, value) -> bool:
        return value is None or self.inner.accepts(value)

    def normalise(self, value):
        return None if value is None else self.inner.normalise(value)


class _IsoDate(Constraint):
    description = "an ISO date (YYYY-MM-DD)"

    def accepts(self, value) -> bool:
        try:
            dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            return False
        return True


class _Text(Constraint):
    description = "a str"

    def accepts(self, value) -> bool:
        return isinstance(value, str)


@dataclass(frozen=True)
class QueueQuery:
    """Which alerts the queue lists, in which order.

    Parameters
    ----------
    status : {"open", "raised", "disposed", "all"}
        See the module docstring.
    typology : str, optional
        Only alerts with a hit of this typology.
    min_score : float, optional
        Only alerts scoring at least this.
    sort : {"score", "age", "window"}
        Highest score first; oldest first; earliest window first.
    limit : int, optional
        At most this many rows (after sorting).
    today : str, optional
        ISO date the age counts to; default the local date.
    config_hash : str, optional
        Configuration whose alerts are listed; default the latest complete run's.
    """

    status: str = "open"
    typology: str | None = None
    min_score: float | None = None
    sort: str = "score"
    limit: int | None = None
    today: str | None = None
    config_hash: str | None = None

    _parameter_constraints: ClassVar[dict] = {
        "status": Options(*STATUSES),
        "typology": _OrNone(Options(*sorted(TYPOLOGIES))),
        "min_score": _OrNone(Interval(float, -np.inf)),
        "sort": Options(*SORTS),
        "limit": _OrNone(Interval(int, 1)),
        "today": _OrNone(_IsoDate()),
        "config_hash": _OrNone(_Text()),
    }

    def __post_init__(self) -> None:
        validate_params(self)


def latest_config_hash(store) -> str | None:
    """The configuration hash of the store's latest complete run (None: no complete run)."""
    row = store.conn.execute("SELECT config_hash FROM runs WHERE status = 'complete' "
                             "ORDER BY finished_at DESC, rowid DESC LIMIT 1").fetchone()  # runs of one second: the later
    return row[0] if row else None


def alert_queue(store, query: QueueQuery | None = None, reveal_ids: bool = False, key_file=None) -> pd.DataFrame:
    """The alerts of a run store as a queue (module docstring).

    Parameters
    ----------
    store : Store
    query : QueueQuery, optional
        Default: open alerts, highest score first.
    reveal_ids : bool
        Real customer ids instead of pseudonyms; recorded in the store's audit table.
    key_file : path, optional
        Pseudonym key (:mod:`flowgraph.deid`).

    Returns
    -------
    DataFrame
        :data:`COLUMNS`, one row per alert.
    """
    query = query or QueueQuery()
    config_hash = query.config_hash or latest_config_hash(store)
    if config_hash is None:
        return pd.DataFrame(columns=list(COLUMNS))
    alerts = store.query(
        "SELECT a.alert_id, a.customer, a.subject, a.score, a.raised, a.window_start, a.window_end, a.n_hits, "
        "a.last_run, (SELECT group_concat(typology, ', ') FROM (SELECT DISTINCT h.typology FROM json_each(a.hit_ids) j "
        "JOIN hits h ON h.config_hash = a.config_hash AND h.hit_id = j.value ORDER BY h.typology)) AS typologies, "
        f"{_DECISION_COLUMNS} FROM alerts a WHERE a.config_hash = ?"
        # the work list is of raised alerts: the typologies of the many groups below the
        # threshold are not looked up (5.4 s of a queue of 104,207 groups, 3,476 raised)
        + (" AND a.raised = 1" if query.status in ("open", "raised") else ""), [config_hash])
    alerts["raised"] = alerts["raised"].astype(bool)
    alerts["disposition"], alerts["new_hits"], alerts["reopened"] = _since_decision(alerts)
    alerts["typologies"] = alerts["typologies"].fillna("")
    keep = {"open": alerts["raised"] & ((alerts["disposition"] == "") | alerts["reopened"]),
            "raised": alerts["raised"], "disposed": alerts["disposition"] != "",
            "all": pd.Series(True, index=alerts.index)}[query.status]
    if query.typology is not None:
        keep &= alerts["typologies"].str.split(", ").map(lambda names: query.typology in names)
    if query.min_score is not None:
        keep &= alerts["score"] >= query.min_score
    alerts = alerts[keep].copy()
    alerts["age_days"] = _age_days(store, alerts, query.today)
    # a decided alert a later scan no longer produced (corrected data, regrouped hits)
    alerts["status"] = np.where(alerts["gone_in_run"].notna(), "no longer found",
                                np.where(alerts["reopened"], "reopened",
                                         np.where(alerts["raised"], "raised", "not raised")))
    order = {"score": (["score", "alert_id"], [False, True]), "age": (["age_days", "alert_id"], [False, True]),
             "window": (["window_start", "alert_id"], [True, True])}[query.sort]
    alerts = alerts.sort_values(order[0], ascending=order[1], kind="stable")
    if query.limit is not None:
        alerts = alerts.head(query.limit)
    # the monitoring unit: the customer, or the subject account of hits without a customer
    unit_kind = np.where(alerts["customer"].fillna("") != "", "customer", "account")
    unit = alerts["customer"].fillna("").where(unit_kind == "customer", alerts["subject"])
    if reveal_ids:
        store.audit("show_real_ids", json.dumps({"command": "alerts", "alerts": len(alerts)}))
        alerts["customer"] = unit
    else:
        name = store_pseudonymizer(store, key_file)
        alerts["customer"] = [name(u, k) for u, k in zip(unit, unit_kind)]
    return alerts[list(COLUMNS)].reset_index(drop=True)


#: Columns of a query of ``alerts a`` that :func:`_since_decision` reads.
_DECISION_COLUMNS = (
    "(SELECT json_array(d.disposition, d.decided_hit_ids, d.decided_window_end) FROM dispositions d "
    "WHERE d.alert_id = a.alert_id ORDER BY d.decided_at DESC, d.rowid DESC LIMIT 1) AS decision, a.hit_ids, "
    "(SELECT g.run_id FROM gone_alerts g WHERE g.alert_id = a.alert_id) AS gone_in_run")


def reopened_alert_ids(store, config_hash: str) -> set[str]:
    """The alerts of ``config_hash`` that are reopened (:func:`_since_decision`): their
    latest decision was on fewer hits or days than they hold now."""
    alerts = store.query(f"SELECT a.alert_id, a.raised, a.window_end, {_DECISION_COLUMNS} FROM alerts a "
                         "WHERE a.config_hash = ?", [config_hash])
    alerts["raised"] = alerts["raised"].astype(bool)
    return set(alerts.loc[_since_decision(alerts)[2].to_numpy(dtype=bool), "alert_id"])


def _since_decision(alerts: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Per alert (``decision``: its latest decision as a JSON array of disposition, hit ids
    and window end then; ``hit_ids``, ``window_end``, ``raised``, ``gone_in_run`` now): the
    latest disposition ("" when undecided), how many of its hits were not in it when it was
    decided (:func:`grown_since`), and whether it is reopened: raised, still found, decided,
    and grown since."""
    n = len(alerts)
    disposition, new_hits, grown = [""] * n, np.zeros(n, np.int64), np.zeros(n, bool)
    for i, (decision, hit_ids, window_end) in enumerate(zip(alerts["decision"], alerts["hit_ids"],
                                                             alerts["window_end"])):
        if isinstance(decision, str):  # else undecided (NULL)
            disposition[i], then_ids, then_end = json.loads(decision)
            new_hits[i], grown[i] = grown_since(then_ids, then_end, json.loads(hit_ids), window_end)
    reopened = alerts["raised"].to_numpy(dtype=bool) & alerts["gone_in_run"].isna().to_numpy() & grown
    index = alerts.index
    return pd.Series(disposition, index, dtype=object), pd.Series(new_hits, index), pd.Series(reopened, index)


def grown_since(decided_hit_ids: str | None, decided_window_end: str | None, hit_ids: list[str],
                window_end: str) -> tuple[int, bool]:
    """How an alert (now ``hit_ids``, ending ``window_end``, an ISO day) changed since a
    decision that saw it as ``decided_hit_ids`` (JSON list) ending ``decided_window_end``:
    the number of its hits that are new, and whether it grew (a new hit, or a window that
    went on: a run of days that continued keeps its hit). A decision recorded before
    flowgraph kept what the alert held (None) sees no change: its hits then are unknown."""
    if decided_hit_ids is None:
        return 0, False
    new = len(set(hit_ids) - set(json.loads(decided_hit_ids)))
    return new, new > 0 or (decided_window_end is not None and str(window_end)[:10] > decided_window_end)


def _age_days(store, alerts: pd.DataFrame, today: str | None) -> np.ndarray:
    """Business days from each alert's window end to ``today`` (0 when today is not later)."""
    if alerts.empty:
        return np.zeros(0, np.int64)
    today_day = np.datetime64(today or dt.date.today().isoformat(), "D")
    configs = dict(store.conn.execute("SELECT run_id, config FROM runs"))
    ends = alerts["window_end"].to_numpy(dtype="datetime64[D]")
    age = np.zeros(len(alerts), np.int64)
    runs = alerts["last_run"].to_numpy(dtype=object)
    for run_id in pd.unique(runs):
        mine = runs == run_id
        calendar = run_calendar(json.loads(configs.get(run_id) or "{}"))
        first = ends[mine].min()
        try:
            days = calendar.business_days(first, today_day)
        except ConfigError as exc:
            raise ConfigError(f"--today {today_day}: the scan's calendar cannot count business days from "
                              f"{first} to it ({exc}). Fix: give a --today the calendar covers.") from None
        # business days after the window's end up to today
        age[mine] = len(days) - np.searchsorted(days, ends[mine], side="right")
    return age
