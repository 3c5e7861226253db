"""Large-value reports due (003 二㈢), for ``flowgraph report-draft``
(:mod:`flowgraph.desk.reports`).

One record per large-value hit of the scanned range (one hit per transaction and rule, or
per customer, direction and day for a daily cumulative sum: a transaction meeting two
rules is two reports), with the rule, amount, currency, channel, customer, account and
counterparties, and its deadline: :data:`~flowgraph.config.REPORT_DEADLINE_BUSINESS_DAYS`
business days after the transaction's calendar date, on the scan's own calendar. For a
daily cumulative sum the earliest transaction's date counts (a deadline never later than
the rule allows). A scan of a file keeps every large-value transaction beside the store,
a scan of a transaction store leaves them in its days, read from there
(:mod:`flowgraph.desk.evidence`); for a store written before scans kept them (or whose
transaction store is gone), the hit's business day stands in and ``deadline_basis`` says
so. Status: ``due`` or ``overdue`` against ``today``; ``business_days_left`` counts the
business days after ``today`` up to the deadline (0: due today; negative: business days
late).

Also the helpers both kinds of draft use: the run's configuration, business days after a
date, and the ids shown (real, logged, or pseudonyms).
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd

from ..config import REPORT_DEADLINE_BUSINESS_DAYS
from ..deid import Pseudonymizer, load_key
from ..errors import ConfigError
from ..store import LARGE_VALUE_TYPOLOGIES, parse_json_lists
from .evidence import case_transactions, run_calendar, run_rule_set, transactions_in_place
from .markdown import md_table
from .queue import latest_config_hash

#: Columns of the large-value report list, in order.
LARGE_VALUE_COLUMNS = ("hit_id", "rule", "kind", "business_day", "transaction_date", "deadline", "status",
                       "business_days_left", "customer", "account", "direction", "counterparties", "txn_ids",
                       "n_transactions", "amount_home", "home_currency", "amount", "currency", "channel",
                       "deadline_basis")


def parse_day(value: str | None, option: str) -> np.datetime64 | None:
    """An ISO date given as ``option`` (None stays None).

    Raises
    ------
    ConfigError
        Not a date; the message names the option and the format.
    """
    if value is None:
        return None
    try:
        return np.datetime64(dt.date.fromisoformat(str(value)), "D")
    except ValueError:
        raise ConfigError(f"{option} {value!r}: not a date. Fix: write it as YYYY-MM-DD, e.g. 2024-09-30.") from None


def run_config(store, config_hash: str) -> dict:
    """The configuration of the latest run made with ``config_hash``."""
    row = store.conn.execute("SELECT config FROM runs WHERE config_hash = ? ORDER BY started_at DESC LIMIT 1",
                             (config_hash,)).fetchone()
    return json.loads(row[0]) if row and row[0] else {}


def business_day_after(calendar, day: np.datetime64, n_days: int) -> np.datetime64:
    """The ``n_days``-th business day strictly after the calendar date ``day``."""
    days = calendar.business_days(day + 1, day + 7 * n_days + 60)  # weeks of holidays fit in 60 days
    return days[n_days - 1]


def _days_left(calendar, today: np.datetime64, deadline: np.datetime64) -> int:
    """Business days after ``today`` up to ``deadline`` (negative: business days late)."""
    if today <= deadline:
        return len(calendar.business_days(today + 1, deadline)) if today < deadline else 0
    return -len(calendar.business_days(deadline + 1, today))


def id_namer(store, reveal_ids: bool, key_file, detail: dict):
    """The id shown for a real one: itself (recorded in the audit table) or its pseudonym."""
    if reveal_ids:
        store.audit("show_real_ids", json.dumps({"command": "report-draft", **detail}))
        return lambda value, kind="account": value
    return Pseudonymizer(load_key(key_file))


def large_value_reports(store, first=None, last=None, today=None, reveal_ids: bool = False,
                        key_file=None) -> pd.DataFrame:
    """The large-value reports of the stored large-value hits whose business day lies in
    ``[first, last]`` (module docstring), earliest deadline first.

    Parameters
    ----------
    store : Store
    first, last : str, optional
        ISO dates bounding the hits' business days; default all.
    today : str, optional
        ISO date the status is judged on; default the local date.
    reveal_ids : bool
        Real customer and account ids (recorded in the store's audit table).
    key_file : path, optional
        Pseudonym key (:mod:`flowgraph.deid`).

    Returns
    -------
    DataFrame
        :data:`LARGE_VALUE_COLUMNS`, one row per report.
    """
    first_day, last_day = parse_day(first, "--from"), parse_day(last, "--to")
    today_day = parse_day(today, "--today") or np.datetime64(dt.date.today(), "D")
    if first_day is not None and last_day is not None and first_day > last_day:
        raise ConfigError(f"--from {first_day} is after --to {last_day}. Fix: give the earlier date as --from.")
    config_hash = latest_config_hash(store)
    if config_hash is None:
        return pd.DataFrame(columns=list(LARGE_VALUE_COLUMNS))
    hits = store.query(
        f"SELECT hit_id, typology, subject, customer, txn_ids, window_start, amount, measures FROM hits "
        f"WHERE config_hash = ? AND typology IN ({', '.join('?' * len(LARGE_VALUE_TYPOLOGIES))}) "
        "AND window_start >= ? AND window_start <= ? ORDER BY window_start, hit_id",
        [config_hash, *LARGE_VALUE_TYPOLOGIES, str(first_day or "0001-01-01"), str(last_day or "9999-12-31")])
    if hits.empty:
        return pd.DataFrame(columns=list(LARGE_VALUE_COLUMNS))
    config = run_config(store, config_hash)
    calendar, home = run_calendar(config), run_rule_set(config).home_currency
    hits["txn_ids"] = parse_json_lists(hits["txn_ids"].tolist())
    wanted = {t for ids in hits["txn_ids"] for t in ids}
    kept = case_transactions(store, txn_ids=wanted)
    missing = wanted.difference(kept["txn_id"])
    if missing:  # a scan of a transaction store left them in its days
        days = hits.loc[[not missing.isdisjoint(ids) for ids in hits["txn_ids"]], "window_start"].str[:10]
        in_place = transactions_in_place(store, missing, days.min(), days.max())
        kept = pd.concat([kept, in_place], ignore_index=True) if len(kept) else in_place
    kept = kept.set_index("txn_id")
    name = id_namer(store, reveal_ids, key_file, {"large_value_reports": len(hits)})
    rows = []
    for hit in hits.itertuples():
        measures = json.loads(hit.measures)
        business_day = np.datetime64(hit.window_start[:10], "D")
        mine = kept.loc[[t for t in hit.txn_ids if t in kept.index]]
        complete = len(mine) == len(hit.txn_ids)
        if complete:
            date = mine["timestamp"].min().to_datetime64().astype("datetime64[D]")
            basis = "transaction date" if hit.typology == "large_value_single" else "earliest transaction's date"
        else:
            date = business_day
            basis = "business day of the hit (its transactions are not kept in this store: re-scan to keep them)"
        try:
            deadline = business_day_after(calendar, date, REPORT_DEADLINE_BUSINESS_DAYS)
            left = _days_left(calendar, today_day, deadline)
        except ConfigError as exc:
            raise ConfigError(f"--today {today_day}: the scan's calendar cannot count business days to it from "
                              f"{date} ({exc}). Fix: give a --today the calendar covers.") from None
        if measures.get("direction"):
            direction = measures["direction"]
        elif complete:
            direction = "out" if mine["src_account"].iloc[0] == hit.subject else "in"
        else:
            direction = ""
        parties = sorted({a for a in [*mine["src_account"], *mine["dst_account"]] if a and a != hit.subject})
        currencies = set(mine["currency"]) if complete else set()
        one_currency = len(currencies) == 1
        foreign = measures.get("currency_class") == "foreign"
        rows.append({
            "hit_id": hit.hit_id, "rule": measures.get("rule", ""),
            "kind": "single" if hit.typology == "large_value_single" else "daily cumulative",
            "business_day": str(business_day), "transaction_date": str(date) if complete else "",
            "deadline": str(deadline), "status": "overdue" if left < 0 else "due", "business_days_left": left,
            "customer": name(hit.customer, "customer") if hit.customer else "", "account": name(hit.subject),
            "direction": direction,
            "counterparties": ", ".join([name(a) for a in parties] + (["(cash)"] if complete and mine[
                ["src_account", "dst_account"]].isna().any(axis=None) else [])),
            "txn_ids": ", ".join(hit.txn_ids), "n_transactions": len(hit.txn_ids), "amount_home": hit.amount,
            "home_currency": home,
            "amount": float(mine["amount"].sum()) if one_currency else measures.get("daily_sum",
                                                                                     measures.get("value")),
            "currency": currencies.pop() if one_currency else ("foreign (rule set's foreign currency equivalent)"
                                                                 if foreign else home),
            "channel": ", ".join(sorted(set(mine["channel"]))) if complete else "",
            "deadline_basis": basis,
        })
    frame = pd.DataFrame(rows, columns=list(LARGE_VALUE_COLUMNS))
    return frame.sort_values(["deadline", "business_day", "hit_id"], kind="stable").reset_index(drop=True)


def render_large_value_markdown(reports: pd.DataFrame, today: str) -> str:
    """The large-value reports as a Markdown work list, earliest deadline first."""
    overdue = int((reports["status"] == "overdue").sum())
    head = (f"# Large-value reports (003 二㈢)\n\nAs of {today}: {len(reports)} report(s), {overdue} overdue. "
            f"Each is due {REPORT_DEADLINE_BUSINESS_DAYS} business days after its transaction date, on the "
            "scan's calendar.\n\n")
    columns = ["deadline", "status", "business_days_left", "rule", "kind", "transaction_date", "customer", "account",
               "direction", "amount", "currency", "amount_home", "channel", "counterparties", "txn_ids"]
    return head + md_table(reports.to_dict("records"), columns)
