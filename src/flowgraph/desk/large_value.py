"""Large-value reports due (003 二㈢; under another rule set, the reports its rules
require), for ``flowgraph report-draft`` (:mod:`flowgraph.desk.reports`).

One record per large-value hit of the scanned range (one hit per transaction and rule, or
per customer, direction and day for a daily cumulative sum: a transaction meeting two
rules is two reports), with the rule, amount, currency, channel, customer, account and
counterparties (003 二㈡ elements 9 and 40, per transaction: ``account`` lists the
customer's accounts its transactions used on the customer's side, the hit's subject first;
``counterparties`` the accounts on the other side, none of the customer's just listed, and
``(cash)`` for a transaction without one), and its deadline: the scan's rule set's
:attr:`~flowgraph.config.RuleSet.report_deadline_days` after the transaction's calendar
date, in its :attr:`~flowgraph.config.RuleSet.report_deadline_unit`: business days on the
scan's own calendar (PBOC: 5, :data:`~flowgraph.config.REPORT_DEADLINE_BUSINESS_DAYS`), or
calendar days, weekends and holidays included (US-BSA: the CTR's 15, 31 CFR 1010.306(a)(1)).
For a daily cumulative sum the earliest transaction's date counts (a deadline never later
than the rule allows). Hits of a rule the rule set marks
:attr:`~flowgraph.config.LargeValueRule.record_only` (US-BSA's funds-transfer records, 31
CFR 1020.410(a)) are left out: the rule obliges a record, which the bank keeps as the
transfer is made, not a report, so they are no filing and have no deadline; listed among
the reports they would be counted, and shown due and overdue, as filings (and a US bank's
wires of USD 3,000 or more would bury its CTRs). The hits stay in the store, and the
Markdown says how many were left out and under which rules.

A scan of a file keeps every large-value transaction beside the store, a scan of a
transaction store leaves them in its days, read from there (:mod:`flowgraph.desk.evidence`:
the store is looked for where the scan recorded it, then at the same path relative to the
run store, then given with ``--txstore``); for a store written before scans kept them, or
whose transaction store is not found, the hit's business day stands in (later than the
transaction's date when it fell on a weekend or holiday) and ``deadline_basis`` says so and
why, and ``attrs["txstore_note"]`` names the missing transaction store and the fix.
Status: ``due`` or ``overdue`` against ``today``; ``business_days_left`` counts the
business days after ``today`` up to the deadline on the scan's calendar, whatever unit the
deadline is in (0: due today; negative: business days late). ``deadline_calendar`` and
``days_left_calendar`` say what these two counts rest on: ``official`` holidays,
``estimated`` ones (a year without an official schedule, ``calendar.beyond_coverage =
"estimate"``), or ``not counted`` (the count reaches a year the calendar refuses under
``"error"``: it stays empty, and status is ``unknown`` when the deadline does); a deadline
in calendar days asks the calendar nothing, so it is ``official``. ``deadline_note`` says
which years and the fix.

Which configuration's reports: the store may hold the hits of several configurations (a
new holidays file, another rule set, new parameters each give a new configuration hash);
each day's reports are those of the configuration whose run had the latest word on it
(:mod:`flowgraph.desk.day_owners`), so none is lost when the configuration changes and a
transaction two configurations found is reported once. Each report names its configuration
(``config_hash``) and ``rule_set``, and its deadline is counted by that configuration's rule
set on its calendar. ``reports.attrs["configurations"]`` says which configuration speaks for
which days of the range, and ``rule_set_note`` when their rule sets' thresholds differ.

Also the helpers both kinds of draft use: business days after a date, and the ids shown
(real, logged, or pseudonyms).
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd

from ..calendar import MAX_NON_BUSINESS_RUN_DAYS, CalendarCoverageError, parse_iso_day
from ..config import DEFAULT_RULE_SET, REPORT_DEADLINE_BUSINESS_DAYS
from ..deid import store_pseudonymizer
from ..errors import ConfigError
from ..store import LARGE_VALUE_TYPOLOGIES, parse_json_lists
from .day_owners import Configuration, DayOwners, day_owners
from .evidence import InPlaceStores, case_transactions, locate_in_place_stores, transactions_in_place
from .markdown import md_table, md_text

#: Business days of large-value hits whose reports are made at a time (their evidence read
#: together): bounds the memory of a draft of a long range.
REPORT_DAYS_AT_ONCE = 20
#: Columns of the large-value report list, in order.
LARGE_VALUE_COLUMNS = ("hit_id", "rule", "kind", "business_day", "transaction_date", "deadline", "status",
                       "business_days_left", "customer", "account", "direction", "counterparties", "txn_ids",
                       "n_transactions", "amount_home", "home_currency", "amount", "currency", "channel",
                       "deadline_basis", "deadline_calendar", "days_left_calendar", "deadline_note", "config_hash",
                       "rule_set")
#: The customer element of a report whose account has no customer: the scan's accounts
#: table did not list it (with no table every account is its own customer), so the report
#: cannot name one (003 二㈡ elements 4, 7) until the account is added to it and scanned again.
NO_CUSTOMER = "(not in the accounts table)"
#: Stretches of days per configuration the Markdown names before it says "and N more".
STRETCHES_SHOWN = 3
#: Values of ``deadline_calendar`` and ``days_left_calendar``: what a count rests on.
OFFICIAL, ESTIMATED, NOT_COUNTED = "official", "estimated", "not counted"


def parse_day(value: str | None, option: str) -> np.datetime64 | None:
    """An ISO date given as ``option`` (None stays None).

    Raises
    ------
    ConfigError
        Not a date; the message names the option and the format.
    """
    return None if value is None else parse_iso_day(value, option)


def business_day_after(calendar, day: np.datetime64, n_days: int) -> np.datetime64:
    """The ``n_days``-th business day strictly after the calendar date ``day``.

    Looks a week at a time and never across a year end before it has to, so it asks the
    calendar only about the days it counts over (a deadline that falls in December needs
    no holidays of the next year).

    Raises
    ------
    CalendarCoverageError
        The count reaches a year the calendar cannot or will not tell business days for.
    """
    found: list[np.datetime64] = []
    probe = day + 1
    while len(found) < n_days:
        if probe > day + MAX_NON_BUSINESS_RUN_DAYS * n_days:
            raise CalendarCoverageError(f"calendar {calendar.name!r} has fewer than {n_days} business days in the "
                                        f"{MAX_NON_BUSINESS_RUN_DAYS * n_days} days after {day}. Fix: check "
                                        "calendar.extra_holidays and calendar.holidays_file.")
        year_end = (probe.astype("datetime64[Y]") + 1).astype("datetime64[D]") - 1
        chunk_end = min(probe + 6, year_end)
        found.extend(calendar.business_days(probe, chunk_end))
        probe = chunk_end + 1
    return found[n_days - 1]


def count_deadline(calendar, day: np.datetime64, today: np.datetime64 | None = None,
                   today_label: str = "--today", n_days: int = REPORT_DEADLINE_BUSINESS_DAYS,
                   unit: str = "business") -> dict:
    """The deadline ``n_days`` business (or calendar) days after the calendar date ``day``,
    the business days after ``today`` up to it, and what each count rests on; a count the
    calendar refuses is left out, and said why, instead of failing.

    Parameters
    ----------
    calendar : BusinessCalendar
        The scan's calendar.
    day : datetime64[D]
        The date the deadline runs from (not itself counted).
    today : datetime64[D], optional
        The date the business days left are counted from; None: not counted.
    today_label : str
        How a note names ``today``.
    n_days : int
        Days to the deadline (default: 003 二㈢'s 5,
        :data:`~flowgraph.config.REPORT_DEADLINE_BUSINESS_DAYS`).
    unit : {"business", "calendar"}
        ``"business"``: the ``n_days``-th business day of ``calendar`` after ``day``;
        ``"calendar"``: ``day + n_days``, weekends and holidays included, asking the calendar
        nothing (so ``deadline_calendar`` is :data:`OFFICIAL`).

    Returns
    -------
    dict
        ``deadline`` (datetime64[D], or None: not counted), ``business_days_left`` (int, or
        None when not counted or ``today`` is None), ``deadline_calendar`` and
        ``days_left_calendar`` (:data:`OFFICIAL`, :data:`ESTIMATED` or :data:`NOT_COUNTED`;
        the latter None without ``today``) and ``deadline_note`` (which years are estimated
        or refused, and the fix; "" when both counts are official).
    """
    out = {"deadline": None, "business_days_left": None, "deadline_calendar": NOT_COUNTED,
           "days_left_calendar": None if today is None else NOT_COUNTED, "deadline_note": ""}
    spans = []  # the days the counts go over on the calendar
    if unit == "calendar":
        out["deadline"] = deadline = day + n_days
        out["deadline_calendar"] = OFFICIAL
    else:
        try:
            out["deadline"] = deadline = business_day_after(calendar, day, n_days)
        except CalendarCoverageError as exc:
            out["deadline_note"] = f"the deadline, {n_days} business days after {day}, cannot be counted: {exc}"
            return out
        out["deadline_calendar"] = ESTIMATED if len(calendar.estimated_days(day + 1, deadline)) else OFFICIAL
        spans.append((day + 1, deadline))
    if today is not None:
        try:
            out["business_days_left"] = _days_left(calendar, today, deadline)
        except CalendarCoverageError as exc:
            out["deadline_note"] = (f"the business days from {today_label} {today} to the deadline {deadline} "
                                    f"cannot be counted: {exc}")
            return out
        # business days after today up to the deadline, or after the deadline up to today
        since, until = min(today, deadline) + 1, max(today, deadline)
        out["days_left_calendar"] = ESTIMATED if len(calendar.estimated_days(since, until)) else OFFICIAL
        spans.append((since, until))
    if ESTIMATED in (out["deadline_calendar"], out["days_left_calendar"]):
        out["deadline_note"] = calendar.coverage_note(min(a for a, _ in spans), max(b for _, b in spans))
    return out


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
    return store_pseudonymizer(store, key_file)


def large_value_reports(store, first=None, last=None, today=None, reveal_ids: bool = False,
                        key_file=None, txstores=()) -> pd.DataFrame:
    """The large-value reports of the stored large-value hits whose business day lies in
    ``[first, last]`` (module docstring), each day's of the configuration with the latest
    word on it (:func:`day_owners`), earliest deadline first.

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
    txstores : paths, optional
        Where the transaction stores the scans read are now (``--txstore``), when they
        were moved away from the run store (:func:`~flowgraph.desk.evidence.locate_in_place_stores`).

    Returns
    -------
    DataFrame
        :data:`LARGE_VALUE_COLUMNS`, one row per report; hits of record-only rules are no
        report and not listed. Its ``attrs`` (what :func:`render_large_value_markdown`
        says of the list; none when the store has no run): ``configurations``, one dict per
        configuration with the latest word on days of the range or with reports listed,
        latest first: ``config_hash``, ``rule_set``, its deadline
        (``report_deadline_days``, ``_unit``, ``_source``), its record-only rules
        (``record_only_rules``: code to source) and how many of their hits on its days
        were left out (``record_only_hits``), ``reports`` (listed) and ``days`` (its
        stretches of dates in the range, ``[first, last]``); ``rule_set_note`` (their rule
        sets' thresholds differ: which, and the fix; "" when they do not); and, as before
        there were several, the same keys of the first configuration at the top level
        (``record_only_hits`` summed, ``record_only_rules`` merged over them).

    Raises
    ------
    ConfigError
        ``--from`` after ``--to``; or a configuration with reports listed whose calendar
        cannot be rebuilt (its holidays file moved): which, why and the fix.
    """
    first_day, last_day = parse_day(first, "--from"), parse_day(last, "--to")
    today_day = parse_day(today, "--today") or np.datetime64(dt.date.today(), "D")
    if first_day is not None and last_day is not None and first_day > last_day:
        raise ConfigError(f"--from {first_day} is after --to {last_day}. Fix: give the earlier date as --from.")
    owners = day_owners(store)
    if not owners.configurations:
        return pd.DataFrame(columns=list(LARGE_VALUE_COLUMNS))
    # the index (config_hash, detector, typology, ...) finds a configuration's large-value hits
    typologies = f"detector = 'large_value' AND typology IN ({', '.join('?' * len(LARGE_VALUE_TYPOLOGIES))})"
    low, high = str(first_day or "0001-01-01"), str(last_day or "9999-12-31")
    left_out: dict[int, int] = {}
    plans = []  # (configuration's index, chunks of its business days whose hits may be its word)
    n_hits = 0
    for config_hash in store.query("SELECT DISTINCT config_hash FROM runs ORDER BY config_hash")["config_hash"]:
        rows = store.query(
            f"SELECT substr(window_start, 1, 10) AS day, json_extract(measures, '$.rule') AS rule, COUNT(*) AS n "
            f"FROM hits WHERE config_hash = ? AND {typologies} AND window_start >= ? AND window_start <= ? "
            "GROUP BY day, rule ORDER BY day", [config_hash, *LARGE_VALUE_TYPOLOGIES, low, high])
        if rows.empty:
            continue
        n_hits += int(rows["n"].sum())
        k = owners.index(store, config_hash)
        c = owners.configurations[k]
        record_only = rows["rule"].isin(list(c.record_only))
        # a record-only hit is no report, only counted: on the days its configuration speaks for
        own = np.isin(owners.of(rows["day"].to_numpy(dtype="datetime64[D]")), [k, -1])
        left_out[k] = int(rows.loc[record_only.to_numpy() & own, "n"].sum())
        days = rows.loc[~record_only, "day"].drop_duplicates().tolist()
        # a hit is its configuration's word when a date whose transactions count toward its
        # business day is (checked exactly on its transaction's date once read)
        maybe = [bool(np.isin(owners.of(np.arange(c.rolled_first(b), b + 1)), [k, -1]).any())
                 for b in (np.datetime64(d, "D") for d in days)]
        plans.append((k, _day_chunks(days, maybe)))
    name = id_namer(store, reveal_ids, key_file, {"large_value_reports": n_hits}) if n_hits else None
    today_label = "--today" if today is not None else "today"
    located = locate_in_place_stores(store, txstores)
    counted: dict[tuple[int, np.datetime64], dict] = {}  # many reports share a date: its deadline counted once
    frames = []
    for k, chunks in plans:
        c = owners.configurations[k]
        reported, args = typologies, list(LARGE_VALUE_TYPOLOGIES)
        if c.record_only:
            rule_in = f"json_extract(measures, '$.rule') IN ({', '.join('?' * len(c.record_only))})"
            reported, args = f"{typologies} AND NOT COALESCE({rule_in}, 0)", [*args, *c.record_only]
        # a few weeks of hits at a time: a range's 10^5 reports and their evidence (a daily
        # cumulative hit lists the day's transactions) held at once took 13.5 GB
        for start, end in chunks:
            hits = store.query(
                f"SELECT hit_id, typology, subject, customer, txn_ids, window_start, amount, measures FROM hits "
                f"WHERE config_hash = ? AND {reported} AND window_start >= ? AND window_start < ? "
                "ORDER BY window_start, hit_id",
                [c.config_hash, *args, start, str(np.datetime64(end, "D") + 1)])
            frames.append(_reports(store, hits, owners, k, name, today_day, today_label, counted, located))
    if frames:
        frame = pd.concat(frames, ignore_index=True).astype({"business_days_left": "Int64"})
        frame = frame.sort_values(["deadline", "business_day", "hit_id", "config_hash"],
                                  kind="stable").reset_index(drop=True)
    else:
        frame = pd.DataFrame(columns=list(LARGE_VALUE_COLUMNS))
    frame = _configuration_attrs(frame, owners, first_day, last_day, left_out)
    unread = int((frame["deadline_basis"] == _unread_basis(located)).sum()) if located.missing else 0
    frame.attrs["txstore_note"] = _txstore_note(located, unread)
    return frame


def _unread_basis(located: InPlaceStores) -> str:
    """``deadline_basis`` of a report whose transactions were not found: why."""
    if located.missing:
        more = f" (and {len(located.missing) - 1} more)" if len(located.missing) > 1 else ""
        return (f"business day of the hit (its transactions are in the transaction store {located.missing[0]}{more}, "
                "which is not there: draft again with --txstore naming where it is now)")
    if located.found:
        return ("business day of the hit (its transactions are neither kept in this store nor in the transaction "
                f"store(s) read: {', '.join(map(str, located.found))})")
    return "business day of the hit (its transactions are not kept in this store: re-scan to keep them)"


def _txstore_note(located: InPlaceStores, n_unread: int) -> str:
    """For stderr: the reports whose transactions are in a transaction store not found, which
    store, and the fix; "" when there are none."""
    if not n_unread:
        return ""
    stores = ", ".join(map(str, located.missing))
    return (f"{n_unread:,} large-value report(s) could not read their transactions: the scans read them from the "
            f"transaction store {stores}, which is not there (nor at the same path relative to the run store). "
            "Their transaction_date, direction, channel and counterparties are empty and their deadlines count from "
            "the hit's business day, later than the transaction's date for one made on a weekend or holiday. Fix: "
            "draft again with --txstore NEW_PATH naming where the transaction store is now.")


def _day_chunks(days: list[str], maybe: list[bool]) -> list[tuple[str, str]]:
    """``(first, last)`` of runs of consecutive ``days`` (ISO, sorted) whose ``maybe`` is
    true, at most :data:`REPORT_DAYS_AT_ONCE` days each (a day whose hits cannot be the word
    of their configuration cuts a run: its hits are not read)."""
    chunks: list[tuple[str, str]] = []
    size = 0
    for day, wanted, after_gap in zip(days, maybe, [True] + [not m for m in maybe[:-1]]):
        if not wanted:
            continue
        if after_gap or size == REPORT_DAYS_AT_ONCE:
            chunks.append((day, day))
            size = 0
        chunks[-1] = (chunks[-1][0], day)
        size += 1
    return chunks


def _configuration_attrs(frame: pd.DataFrame, owners: DayOwners, first_day, last_day,
                         left_out: dict[int, int]) -> pd.DataFrame:
    """``frame`` with the ``attrs`` :func:`large_value_reports` documents."""
    days: dict[int, list[list[str]]] = {}
    for a, b, k in owners.stretches(first_day, last_day):
        days.setdefault(k, []).append([a, b])
    listed = frame["config_hash"].value_counts().to_dict()
    shown = [k for k, c in enumerate(owners.configurations) if k in days or c.config_hash in listed]
    about = []
    for k in shown or [0]:  # no day in the range: the latest configuration's rule set
        c = owners.configurations[k]
        about.append({"config_hash": c.config_hash, "rule_set": c.rule_set.name,
                      "report_deadline_days": c.rule_set.report_deadline_days,
                      "report_deadline_unit": c.rule_set.report_deadline_unit,
                      "report_deadline_source": c.rule_set.report_deadline_source,
                      "record_only_rules": c.record_only, "record_only_hits": left_out.get(k, 0),
                      "reports": int(listed.get(c.config_hash, 0)), "days": days.get(k, [])})
    frame.attrs.update({key: about[0][key] for key in ("rule_set", "report_deadline_days", "report_deadline_unit",
                                                       "report_deadline_source")})
    frame.attrs.update({"record_only_rules": {r: s for a in about for r, s in a["record_only_rules"].items()},
                        "record_only_hits": sum(a["record_only_hits"] for a in about), "configurations": about,
                        "rule_set_note": _rule_set_note([owners.configurations[k] for k in shown], about)})
    return frame


def _rule_set_note(configurations: list[Configuration], about: list[dict]) -> str:
    """What to say when the configurations with days in the range judge them by rule sets
    of different thresholds: a transaction reportable under one need not be under the
    other, so the list is not one rule set's; "" when their thresholds are the same."""
    thresholds = {c.thresholds for c in configurations}
    if len(thresholds) < 2:
        return ""
    parts = [f"{a['rule_set']} (configuration {a['config_hash']}, {_days_text(a['days'])})" for a in about]
    latest = about[0]
    return (f"the days of this range were judged by rule sets with different large-value thresholds: "
            f"{'; '.join(parts)}. Each day's reports are those of the rule set its latest scan used, so whether a "
            f"transaction is listed depends on the day it fell on. Fix: to report every day by {latest['rule_set']}, "
            f"re-scan the other days with configuration {latest['config_hash']}'s file (flowgraph scan INPUT "
            f"--config FILE --from DAY --to DAY --store STORE) and draft again.")


def _days_text(stretches: list[list[str]]) -> str:
    """A configuration's stretches of days, the first :data:`STRETCHES_SHOWN` named."""
    if not stretches:
        return "no day of the range"
    named = [a if a == b else f"{a}..{b}" for a, b in stretches[:STRETCHES_SHOWN]]
    more = len(stretches) - STRETCHES_SHOWN
    one_day = len(stretches) == 1 and stretches[0][0] == stretches[0][1]
    return f"{'day' if one_day else 'days'} {', '.join(named)}" + (f" and {more} more stretch(es)" if more > 0 else "")


def configurations_summary(reports: pd.DataFrame) -> str:
    """For the command's summary line: "" when one configuration speaks for every day of
    the list, else which and how many reports each gave, e.g. ``"; of 2 configurations:
    fdf9cd57bd66 0, f38f484efa35 1"``."""
    about = reports.attrs.get("configurations", [])
    if len(about) < 2:
        return ""
    return f"; of {len(about)} configurations: " + ", ".join(f"{a['config_hash']} {a['reports']:,}" for a in about)


def _reports(store, hits: pd.DataFrame, owners: DayOwners, k: int, name, today_day: np.datetime64,
             today_label: str, counted: dict, located: InPlaceStores) -> pd.DataFrame:
    """The large-value reports (:data:`LARGE_VALUE_COLUMNS`) of stored large-value ``hits``
    (their ``txn_ids`` JSON text) of configuration ``owners.configurations[k]`` that are
    its word (the configuration with the latest word on its transaction's date, else on its
    business day, is it; or no run spoke for either), their transactions looked up among
    those kept, else in the transaction stores the scans read in place, with deadlines as
    its rule set counts them on its calendar; ``counted``: deadlines by configuration and
    date, filled; ``located``: the transaction stores to read (:func:`locate_in_place_stores`)."""
    c = owners.configurations[k]
    rule_set, calendar = c.rule_set, c.calendar
    home = rule_set.home_currency
    hits["txn_ids"] = parse_json_lists(hits["txn_ids"].tolist())
    wanted = {t for ids in hits["txn_ids"] for t in ids}
    kept = case_transactions(store, txn_ids=wanted)
    missing = wanted.difference(kept["txn_id"])
    if missing:  # a scan of a transaction store left them in its days
        days = hits.loc[[not missing.isdisjoint(ids) for ids in hits["txn_ids"]], "window_start"].str[:10]
        in_place = transactions_in_place(store, missing, days.min(), days.max(), located.found)
        kept = pd.concat([kept, in_place], ignore_index=True) if len(kept) else in_place
    evidence = _hit_evidence(hits["txn_ids"], kept)
    business_days = hits["window_start"].str[:10].to_numpy(dtype="datetime64[D]")
    complete = np.array([0 < mine["n"] == len(ids) for mine, ids in zip(evidence, hits["txn_ids"])], dtype=bool)
    dates = np.array([mine["date"] if whole else b for mine, whole, b in zip(evidence, complete, business_days)],
                     dtype="datetime64[D]")
    on_date, on_day = owners.of(dates), owners.of(business_days)
    spoken = (on_date == k) | ((on_date == -1) & np.isin(on_day, [k, -1]))
    if spoken.any() and calendar is None:
        why = c.calendar_error.split(" Fix: ")[0]
        raise ConfigError(f"configuration {c.config_hash} has the latest word on {int(spoken.sum()):,} large-value "
                          f"report(s) of the range (from {business_days[spoken].min()}), whose deadlines are counted "
                          f"on its calendar, and its calendar cannot be rebuilt: {why} A holidays file is read from "
                          "the path its scan recorded, a relative one from the folder the scan ran in. Fix: run "
                          "report-draft from that folder, or put the file back at that path.")
    rows = []
    theirs = [e for e, m in zip(evidence, spoken) if m]
    for hit, mine, business_day, date, whole in zip(hits[spoken].itertuples(), theirs, business_days[spoken],
                                                   dates[spoken], complete[spoken]):
        measures = json.loads(hit.measures)
        if whole:
            basis = "transaction date" if hit.typology == "large_value_single" else "earliest transaction's date"
        else:
            basis = _unread_basis(located)
        if (k, date) not in counted:  # many reports share a date
            counted[k, date] = count_deadline(calendar, date, today_day, today_label, rule_set.report_deadline_days,
                                              rule_set.report_deadline_unit)
        deadline, left = counted[k, date]["deadline"], counted[k, date]["business_days_left"]
        if measures.get("direction"):
            direction = measures["direction"]
        elif whole:
            direction = "out" if mine["first_src"] == hit.subject else "in"
        else:
            direction = ""
        own, parties, cash = _report_accounts(mine, direction, hit.subject)
        currencies = set(mine["currencies"]) if whole else set()
        one_currency = len(currencies) == 1
        foreign = measures.get("currency_class") == "foreign"
        rows.append({
            "hit_id": hit.hit_id, "rule": measures.get("rule", ""),
            "kind": "single" if hit.typology == "large_value_single" else "daily cumulative",
            "business_day": str(business_day), "transaction_date": str(date) if whole else "",
            "deadline": "" if deadline is None else str(deadline),
            "status": "unknown" if deadline is None else "overdue" if today_day > deadline else "due",
            "business_days_left": left,
            "customer": name(hit.customer, "customer") if hit.customer else NO_CUSTOMER,
            "account": ", ".join(name(a) for a in own), "direction": direction,
            "counterparties": ", ".join([name(a) for a in parties] + (["(cash)"] if whole and cash else [])),
            "txn_ids": ", ".join(hit.txn_ids), "n_transactions": len(hit.txn_ids), "amount_home": hit.amount,
            "home_currency": home,
            "amount": mine["amount"] if one_currency else measures.get("daily_sum", measures.get("value")),
            "currency": currencies.pop() if one_currency else ("foreign (rule set's foreign currency equivalent)"
                                                                 if foreign else home),
            "channel": ", ".join(sorted(set(mine["channels"]))) if whole else "",
            "deadline_basis": basis,
            **{key: counted[k, date][key] for key in ("deadline_calendar", "days_left_calendar", "deadline_note")},
            "config_hash": c.config_hash, "rule_set": rule_set.name,
        })
    return pd.DataFrame(rows, columns=list(LARGE_VALUE_COLUMNS))


def _report_accounts(mine: dict, direction: str, subject: str) -> tuple[list[str], list[str], bool]:
    """A report's accounts from its hit's kept transactions (``mine``, :func:`_hit_evidence`):
    the customer's accounts they used (003 二㈡ element 9, 账号: per transaction the
    receiving account of an "in" report, the paying one of an "out"), the subject first;
    the counterparty accounts (element 40, 交易对手账号: the other side of each), leaving out
    the customer's accounts just listed; and whether a transaction has no account on the
    other side (cash). A customer holding two accounts is one reporting subject: a daily sum
    over both names both as its accounts, neither as a counterparty. Without a direction
    (none stated, the transactions not kept), the subject is the account and every other
    account a counterparty."""
    src, dst = mine["src"], mine["dst"]
    if direction not in ("in", "out"):
        others = {a for a in [*src, *dst] if _is_account(a) and a != subject}
        return [subject], sorted(others), bool(mine["cash"])
    own_side, other_side = (dst, src) if direction == "in" else (src, dst)
    own = [subject] + sorted({a for a in own_side if _is_account(a)} - {subject})
    parties = sorted({a for a in other_side if _is_account(a)} - set(own))
    return own, parties, any(not _is_account(a) for a in other_side)


def _is_account(value) -> bool:
    """Whether a transaction's side names an account (a cash side has none: None or "")."""
    return isinstance(value, str) and value != ""


def _hit_evidence(txn_ids: pd.Series, kept: pd.DataFrame) -> list[dict]:
    """Per hit (its ``txn_ids``, lists), what its report reads of its kept transactions
    (``kept``: one row per kept transaction, any order): how many are kept (``n``), the
    earliest one's date, the payer of the first in the hit's order, each one's payer and
    payee account (``src``, ``dst``), currencies, channels, the amounts' sum and whether a
    side is cash (no account).
    One join of every hit's ids with the kept rows, then a slice per hit: a lookup into the
    kept table per hit took minutes for a range's 10^5 reports."""
    lengths = np.fromiter((len(ids) for ids in txn_ids), np.int64, len(txn_ids))
    pairs = pd.DataFrame({"hit": np.repeat(np.arange(len(txn_ids)), lengths),
                          "txn_id": [t for ids in txn_ids for t in ids]})
    pairs["order"] = np.arange(len(pairs))
    joined = pairs.merge(kept, on="txn_id", how="inner").sort_values("order", kind="stable")
    hit = joined["hit"].to_numpy()
    bounds = np.searchsorted(hit, np.arange(len(txn_ids) + 1))
    days = joined["timestamp"].to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    src, dst = (joined[c].to_numpy(dtype=object) for c in ("src_account", "dst_account"))
    cash = pd.isna(src) | pd.isna(dst)
    currency, channel = (joined[c].to_numpy(dtype=object) for c in ("currency", "channel"))
    cents = np.rint(joined["amount"].to_numpy(dtype=np.float64) * 100).astype(np.int64)  # summed in cents: no float noise
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        out.append({"n": int(hi - lo), "date": days[lo:hi].min() if hi > lo else None,
                    "first_src": src[lo] if hi > lo else None,
                    "src": src[lo:hi], "dst": dst[lo:hi], "currencies": currency[lo:hi],
                    "channels": channel[lo:hi], "amount": int(cents[lo:hi].sum()) / 100, "cash": bool(cash[lo:hi].any())})
    return out


def _deadline_rule(n_days: int, unit: str) -> str:
    """A rule set's deadline in words, for the Markdown."""
    if unit == "calendar":
        return (f"{n_days} calendar days after its transaction date, weekends and holidays included (a deadline on "
                "one is not moved).")
    return f"{n_days} business days after its transaction date, on the scan's calendar."


def render_large_value_markdown(reports: pd.DataFrame, today: str) -> str:
    """The large-value reports as a Markdown work list, earliest deadline first, under the
    deadline rule, the configurations whose reports they are, and the record-only hits
    left out, that :func:`large_value_reports` put in ``reports.attrs`` (without them: the
    default rule set's deadline)."""
    overdue = int((reports["status"] == "overdue").sum())
    about = reports.attrs
    n_days = about.get("report_deadline_days", DEFAULT_RULE_SET.report_deadline_days)
    source = about.get("report_deadline_source", DEFAULT_RULE_SET.report_deadline_source)
    configurations = about.get("configurations", [])
    rules = {_deadline_rule(a["report_deadline_days"], a["report_deadline_unit"]) for a in configurations}
    if len(rules) > 1:
        rule = "as its configuration's rule set says (below)."
    else:
        rule = _deadline_rule(n_days, about.get("report_deadline_unit", DEFAULT_RULE_SET.report_deadline_unit))
    head = (f"# Large-value reports ({md_text(source)})\n\nAs of {md_text(today)}: {len(reports)} report(s), "
            f"{overdue} overdue. Each is due {rule}\n\n")
    if len(configurations) > 1:
        head += (f"Reports of {len(configurations)} configurations: each day's are those of the configuration whose "
                 "scan had the latest word on it (column config_hash), their deadlines counted by its rule set on "
                 "its calendar.\n\n")
        for a in configurations:
            own_rule = f"; each due {_deadline_rule(a['report_deadline_days'], a['report_deadline_unit'])}" \
                if len(rules) > 1 else "."
            head += (f"- {md_text(a['config_hash'])} (rule set {md_text(a['rule_set'])}): {a['reports']} report(s); "
                     f"the latest word on {md_text(_days_text(a['days']))}{md_text(own_rule)}\n")
        head += "\n"
    if about.get("rule_set_note"):
        head += f"> Note: {md_text(about['rule_set_note'])}\n\n"
    if about.get("record_only_hits"):
        record_only = about["record_only_rules"]
        sources = "; ".join(dict.fromkeys(record_only.values()))
        head += (f"> {about['record_only_hits']} hit(s) of record-only rule(s) {md_text(', '.join(record_only))} are "
                 f"not listed: those rules oblige a record, not a report ({md_text(sources)}).\n\n")
    for kind in (NOT_COUNTED, ESTIMATED):
        for column in ("deadline_calendar", "days_left_calendar"):
            notes = reports.loc[reports[column] == kind, "deadline_note"]
            if len(notes):
                head += f"> {len(notes)} report(s) with {column} '{kind}': {md_text(notes.iloc[0])}\n\n"
    columns = ["deadline", "deadline_calendar", "status", "business_days_left", "days_left_calendar", "rule", "kind",
               "transaction_date", "customer", "account", "direction", "amount", "currency", "amount_home", "channel",
               "counterparties", "txn_ids"] + (["config_hash", "rule_set"] if len(configurations) > 1 else [])
    blank_missing = reports.astype(object).where(reports.notna(), None)  # a count not made: an empty cell
    return head + md_table(blank_missing.to_dict("records"), columns)
