"""Report drafts: the large-value reports due (:mod:`flowgraph.desk.large_value`), and
suspicious-transaction report drafts (:mod:`flowgraph.desk.str_draft`), written together.

``flowgraph report-draft --store S --out DIR`` turns what a scan found into the reports
the rules require (003: 大额交易和可疑交易识别与报告), for an analyst to check and file:

- **Large-value reports** (003 二㈢): one record per large-value hit of the scanned range
  (one hit per transaction and rule, or per customer, direction and day for a daily
  cumulative sum: a transaction meeting two rules is two reports), with the rule, amount,
  currency, channel, customer, account and counterparties, and its deadline:
  :data:`~flowgraph.config.REPORT_DEADLINE_BUSINESS_DAYS` business days after the
  transaction's calendar date, on the scan's own calendar. For a daily cumulative sum the
  earliest transaction's date counts (a deadline never later than the rule allows). A
  scan of a file keeps every large-value transaction beside the store, a scan of a
  transaction store reads them from its days (:mod:`flowgraph.desk.evidence`); where
  neither has them, the hit's business day stands in and ``deadline_basis`` says so. Status: ``due`` or ``overdue`` against
  ``today``; ``business_days_left`` counts the business days after ``today`` up to the
  deadline (0: due today; negative: business days late). ``deadline_calendar`` and
  ``days_left_calendar`` mark counts that rest on estimated holidays, or that the calendar
  refused (``calendar.beyond_coverage = "error"``: those stay empty, the other reports are
  written). Each day's reports are those of the configuration whose scan had the latest
  word on it (a day rescanned under a new configuration, the new one's; a day only an
  earlier configuration scanned, that one's), each naming its ``config_hash`` and
  ``rule_set``, its deadline counted by that rule set on that configuration's calendar
  (:func:`~flowgraph.desk.day_owners.day_owners`).
- **Suspicious-transaction report (STR) drafts** (003 二㈥): for each alert whose latest
  decision is ``case`` (or each alert asked for), a JSON draft valid against
  ``schemas/str-draft.schema.json`` plus a Markdown rendering, carrying the elements
  flowgraph can fill: 20 trigger point (触发点: the indicators and their contributions), 21
  transactions and customer behaviour (资金交易及客户行为情况: the evidence transactions,
  totals, counterparties, channels, window), 22 analysis of suspicion (疑点分析: generated
  text, marked editable); 23 the suspected offence type is left to the analyst, and every
  other element it cannot fill (institution code, identity documents, …) is listed as a
  blank. The deadline is counted from the date of the case decision (003 二㈦: the same
  procedure as the large-value report).

Customers and accounts appear as keyed pseudonyms unless ``reveal_ids`` (recorded in the
store's audit table); then every file is written owner-only. The seed document numbers
the report elements, not the articles of PBOC Order 2016 No.3, so elements are cited by
their number in 003 二㈥.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

from .._files import write_atomically
from .._spreadsheet import spreadsheet_safe
from ..errors import ConfigError
from .large_value import (
    ESTIMATED,
    LARGE_VALUE_COLUMNS,
    NOT_COUNTED,
    configurations_summary,
    large_value_reports,
    parse_day,
    render_large_value_markdown,
)
from .str_draft import (
    draft_alert_ids,
    draft_decision_day,
    render_str_markdown,
    str_draft,
    str_schema,
    validate_str_draft,
)

__all__ = ["LARGE_VALUE_COLUMNS", "large_value_reports", "str_draft", "str_schema", "validate_str_draft",
           "write_report_drafts"]


def write_report_drafts(store, out, first=None, last=None, alert_ids=(), today=None, reveal_ids: bool = False,
                        key_file=None, txstores=()) -> dict:
    """Write the large-value reports and the STR drafts into the folder ``out``.

    Files: ``large-value-reports.csv`` and ``.md``; per draft ``str-ALERT_ID.json`` (valid
    against the schema) and ``str-ALERT_ID.md``; ``skipped.csv`` when alerts were skipped.
    Owner-only when they show real ids. ``txstores``: where the transaction stores the
    scans read are now (``--txstore``, :func:`large_value_reports`). The CSV files go through
    :func:`flowgraph._spreadsheet.spreadsheet_safe` (a ``'`` before a text cell a
    spreadsheet would run as a formula).

    Returns
    -------
    dict
        ``large_value`` (DataFrame), ``drafts`` (list of paths), ``skipped`` (list of
        dicts), ``paths`` (every file written), ``estimated`` (one line saying which
        deadlines rest on estimated holidays, or None) and ``not_counted`` (the message
        naming the deadlines the calendar refused to count, why and the fix, or None),
        ``configurations`` (for the summary line: "" when one configuration speaks for every
        day of the list, else which and how many reports each gave) and ``rule_set_note``
        (the configurations' rule sets have different thresholds: which, and the fix; or
        ""), ``txstore_note`` (reports whose transaction store is not found: which, and the
        fix; or "").
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is a file. Fix: name a folder for the report drafts.")
    today_day = parse_day(today, "--today") or np.datetime64(dt.date.today(), "D")
    reports = large_value_reports(store, first, last, today, reveal_ids, key_file, txstores)
    chosen, skipped = draft_alert_ids(store, alert_ids)
    drafts = [str_draft(store, a, reveal_ids, key_file) for a in chosen]
    for draft in drafts:
        validate_str_draft(draft)
    out.mkdir(parents=True, exist_ok=True)
    paths = []

    def write(path: Path, text: str) -> None:
        paths.append(write_atomically(path, lambda p: p.write_text(text, encoding="utf-8"), private=reveal_ids))

    write(out / "large-value-reports.csv", spreadsheet_safe(reports).to_csv(index=False))
    write(out / "large-value-reports.md", render_large_value_markdown(reports, str(today_day)))
    for draft in drafts:
        write(out / f"str-{draft['alert_id']}.json", json.dumps(draft, ensure_ascii=False, indent=1) + "\n")
        write(out / f"str-{draft['alert_id']}.md", render_str_markdown(draft))
    if skipped:
        write(out / "skipped.csv", spreadsheet_safe(pd.DataFrame(skipped)).to_csv(index=False))
    return {"large_value": reports, "drafts": [out / f"str-{d['alert_id']}.json" for d in drafts],
            "skipped": skipped, "paths": paths, "estimated": _estimated_line(reports, drafts),
            "not_counted": _not_counted_message(store, reports, drafts, out),
            "configurations": configurations_summary(reports), "rule_set_note": reports.attrs.get("rule_set_note", ""),
            "txstore_note": reports.attrs.get("txstore_note", "")}


def _estimated_line(reports: pd.DataFrame, drafts: list[dict]) -> str | None:
    """One line for stderr when deadlines (or business days left) rest on estimated holidays,
    as the scan says of its days."""
    counts, notes = [], []
    for column, what in (("deadline_calendar", "large-value report deadline(s)"),
                         ("days_left_calendar", "large-value business_days_left")):
        estimated = reports.loc[reports[column] == ESTIMATED, "deadline_note"]
        counts += [f"{len(estimated):,} {what}"] if len(estimated) else []
        notes += estimated.tolist()
    estimated = [d["deadline"]["note"] for d in drafts if d["deadline"]["calendar"] == ESTIMATED]
    counts += [f"{len(estimated):,} STR draft deadline(s)"] if estimated else []
    if not counts:
        return None
    return (f"calendar: {', '.join(counts)} counted over estimated days (marked 'estimated' in deadline_calendar, "
            f"days_left_calendar): {'; '.join(dict.fromkeys(notes + estimated))}")


def _not_counted_message(store, reports: pd.DataFrame, drafts: list[dict], out: Path) -> str | None:
    """The error naming the reports whose deadline (or business days left) the calendar
    refused to count, with why and the fix; None when every count was made."""
    lv = reports[(reports["deadline_calendar"] == NOT_COUNTED) | (reports["days_left_calendar"] == NOT_COUNTED)]
    strs = [d for d in drafts if d["deadline"]["calendar"] == NOT_COUNTED]
    which = ([f"large-value report {r.hit_id} ({r.transaction_date or r.business_day})" for r in lv.itertuples()]
             + [f"STR draft {d['alert_id']} (case decided {draft_decision_day(store, d)})" for d in strs])
    if not which:
        return None
    why = lv["deadline_note"].iloc[0] if len(lv) else strs[0]["deadline"]["note"]
    return (f"the scan's calendar could not count the deadline, or the business days left to it, of {len(which):,} "
            f"report(s): {', '.join(which[:3])}"
            + (f" and {len(which) - 3:,} more" if len(which) > 3 else "")
            + f". Every report is drafted in {out}, these marked 'not counted' (deadline_calendar, "
            f"days_left_calendar). Why: {why}")
