"""Suspicious-transaction report (STR) drafts (003 二㈥), for ``flowgraph report-draft``
(:mod:`flowgraph.desk.reports`).

For each alert whose latest decision is ``case`` (or each alert asked for), a JSON draft
valid against ``schemas/str-draft.schema.json`` plus a Markdown rendering, carrying the
elements flowgraph can fill: 20 trigger point (触发点: the indicators and their
contributions), 21 transactions and customer behaviour (资金交易及客户行为情况: the evidence
transactions, totals, counterparties, channels, window), 22 analysis of suspicion (疑点分析:
generated text, marked editable); 23 the suspected offence type is left to the analyst,
and every other element it cannot fill (institution code, identity documents, …) is
listed as a blank. The deadline is counted from the date of the case decision (003 二㈦:
the same procedure as the large-value report); ``deadline.calendar`` and a note say when
it rests on estimated holidays or could not be counted (as ``deadline_calendar`` of a
large-value report). The seed document numbers the report
elements, not the articles of PBOC Order 2016 No.3, so elements are cited by their number
in 003 二㈥.
"""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigError
from .casefile import (
    _alert_hits,
    _alert_transactions,
    _real_ids,
    _unit_accounts,
    find_alert,
)
from .evidence import case_accounts, has_case_transactions, run_calendar, run_rule_set
from .evidence import run_config
from .large_value import count_deadline, id_namer
from .markdown import md_paragraphs, md_table, md_text
from .notes import DEIDENTIFIED, deidentify_notes
from .queue import grown_since

SCHEMA_ID = "flowgraph/str-draft/1"

#: The elements of a suspicious-transaction report (003 二㈥), as (number, part, Chinese
#: label, English label, where this draft fills it or None for a blank). Parts: 1 reporting
#: institution, 2 suspicious subject, 3 report, 4 transactions.
STR_ELEMENTS = (
    (1, 1, "报告机构编码", "reporting institution code", None),
    (2, 1, "网点代码", "branch code", None),
    (3, 1, "金融机构与客户的关系", "relationship between the institution and the customer", None),
    (4, 2, "可疑主体姓名/名称", "name of the suspicious subject", None),
    (5, 2, "可疑主体身份证件/证明文件类型", "subject's identity document type", None),
    (6, 2, "可疑主体身份证件/证明文件号码", "subject's identity document number", None),
    (7, 2, "客户号", "customer number", "subject.customer"),
    (8, 2, "可疑主体职业(对私)或行业(对公)", "subject's occupation (person) or industry (entity)", None),
    (9, 2, "可疑主体联系方式", "subject's contact details", None),
    (10, 2, "可疑主体法定代表人姓名", "name of the subject's legal representative", None),
    (11, 2, "可疑主体法定代表人身份证件类型", "legal representative's identity document type", None),
    (12, 2, "可疑主体法定代表人身份证件号码", "legal representative's identity document number", None),
    (13, 2, "可疑主体控股股东或实际控制人名称", "controlling shareholder or actual controller", None),
    (14, 2, "可疑主体控股股东或实际控制人身份证件/证明文件类型", "controller's identity document type", None),
    (15, 2, "可疑主体控股股东或实际控制人身份证件/证明文件号码", "controller's identity document number", None),
    (16, 2, "可疑主体国籍", "subject's nationality", None),
    (17, 3, "报告紧急程度", "urgency of the report", None),
    (18, 3, "报送次数标志", "first or repeated report", None),
    (19, 3, "报送方向", "addressee of the report", None),
    (20, 3, "可疑交易报告触发点", "trigger point", "trigger_point"),
    (21, 3, "资金交易及客户行为情况", "transactions and customer behaviour", "transactions_and_behaviour"),
    (22, 3, "疑点分析", "analysis of suspicion", "analysis_of_suspicion"),
    (23, 3, "疑似涉罪类型", "suspected offence type", None),
    (24, 3, "可疑交易特征代码", "suspicious-transaction characteristic code", None),
    (25, 4, "客户姓名/名称", "customer name", None),
    (26, 4, "客户身份证件/证明文件类型", "customer's identity document type", None),
    (27, 4, "客户身份证件/证明文件号码", "customer's identity document number", None),
    (28, 4, "账户类型", "account type", None),
    (29, 4, "客户开户时间", "account opening time", None),
    (30, 4, "客户销户时间", "account closing time", None),
    (31, 4, "账号", "account number", "transactions_and_behaviour.transactions[].from/to"),
    (32, 4, "银行卡类型", "bank card type", None),
    (33, 4, "银行卡号码", "bank card number", None),
    (34, 4, "代办人姓名", "name of the agent acting for the customer", None),
    (35, 4, "代办人身份证件/证明文件类型", "agent's identity document type", None),
    (36, 4, "代办人身份证件/证明文件号码", "agent's identity document number", None),
    (37, 4, "代办人国籍", "agent's nationality", None),
    (38, 4, "交易时间", "transaction time", "transactions_and_behaviour.transactions[].time"),
    (39, 4, "交易发生地", "place of the transaction", None),
    (40, 4, "业务标识号", "business reference number", "transactions_and_behaviour.transactions[].txn_id"),
    (41, 4, "收付款方匹配号类型", "payer/payee matching number type", None),
    (42, 4, "收付款方匹配号", "payer/payee matching number", None),
    (43, 4, "交易方式", "transaction method", "transactions_and_behaviour.transactions[].channel"),
    (44, 4, "涉外收支交易分类与代码", "cross-border receipt/payment classification and code", None),
    (45, 4, "资金收付标志", "direction of funds (in/out)", "transactions_and_behaviour.transactions[].direction"),
    (46, 4, "资金来源和用途", "source and use of funds", None),
    (47, 4, "币种", "currency", "transactions_and_behaviour.transactions[].currency"),
    (48, 4, "交易金额", "transaction amount", "transactions_and_behaviour.transactions[].amount"),
    (49, 4, "对方金融机构网点名称", "counterparty institution's branch name", None),
    (50, 4, "对方金融机构网点代码类型", "counterparty branch code type", None),
    (51, 4, "对方金融机构网点代码", "counterparty branch code", None),
)
#: Elements that hold a customer or account id: pseudonyms in a de-identified draft.
ID_ELEMENTS = (7, 31)

#: What each alert family means, in the words of the analysis of suspicion (SPEC §3);
#: a family not listed is named as it is.
FAMILY_MEANING = {
    "pass_through": "money passed through the account, in and out within a few per cent over consecutive "
                    "business days (过渡账户)",
    "fan": "funds dispersed in and concentrated out, or concentrated in and dispersed out, within a short "
           "term (分散转入集中转出 / 集中转入分散转出)",
    "structuring": "amounts kept in a narrow band just under the large-value threshold (near-threshold, "
                   "low variance: evading the reporting standard)",
    "large_value": "transactions at or above a large-value reporting threshold",
    "frequent": "frequent large transactions (on one business day, or on consecutive business days)",
    "cycle": "money returned to where it started through a chain of accounts (round-tripping)",
    "scatter_gather": "money scattered across intermediaries and gathered again",
    "layering": "money moved through successive layers of accounts",
    "trafficking": "red flags of human trafficking (000): small cash under the identification level, remittances "
                   "to risk countries, cash paid in at many branches, cash at night, many accounts opened together "
                   "or under shared contact details, cash turnover without a visible livelihood",
}


def draft_alert_ids(store, alert_ids=()) -> tuple[list[str], list[dict]]:
    """Which alerts get a draft: the given ones (each must exist), else every alert whose
    latest decision is ``case`` and that the latest scan still finds (not in
    ``gone_alerts``); with the others decided as ``skipped`` (alert_id, reason).

    Raises
    ------
    ConfigError
        An unknown alert id (named, with how to list the ids).
    """
    if alert_ids:
        return list(dict.fromkeys(find_alert(store, a)["alert_id"] for a in alert_ids)), []
    latest = store.latest_dispositions()
    gone = dict(store.conn.execute("SELECT alert_id, run_id FROM gone_alerts").fetchall())
    cases = [a for a in latest.loc[latest["disposition"] == "case", "alert_id"] if a not in gone]
    # one row per alert: a decision other than case is the reason, gone or not
    skipped = [{"alert_id": r.alert_id, "reason": (
        f"latest decision {r.disposition!r} by {r.analyst} at {r.decided_at}, not 'case' (give --alert "
        f"{r.alert_id} to draft it)" if r.disposition != "case" else
        f"decided a case, but run {gone[r.alert_id]} no longer finds this alert (its data corrected or its hits "
        f"regrouped): look at it again (give --alert {r.alert_id} to draft it anyway)")}
        for r in latest.itertuples() if r.disposition != "case" or r.alert_id in gone]
    return cases, skipped


def str_draft(store, alert_id: str, reveal_ids: bool = False, key_file=None, created_at: str | None = None) -> dict:
    """The suspicious-transaction report draft of one alert (module docstring), valid
    against the STR draft schema.

    Parameters
    ----------
    store : Store
    alert_id : str
        The alert's id, or a unique prefix of it.
    reveal_ids : bool
        Real customer and account ids (recorded in the store's audit table).
    key_file : path, optional
        Pseudonym key (:mod:`flowgraph.deid`).
    created_at : str, optional
        ISO time stamped on the draft; default now.

    Returns
    -------
    dict
    """
    alert = find_alert(store, alert_id)
    config = run_config(store, alert["config_hash"])
    rule_set = run_rule_set(config)
    calendar, home = run_calendar(config), rule_set.home_currency
    bank_timezone = run_bank_timezone(config)
    hits = _alert_hits(store, alert)
    evidence_ids = list(dict.fromkeys(t for ids in hits["txn_ids"] for t in ids))
    transactions = _alert_transactions(store, hits, evidence_ids)
    evidence = transactions[transactions["txn_id"].isin(evidence_ids)]
    unit = _unit_accounts(store, alert)
    name = id_namer(store, reveal_ids, key_file, {"alert_id": alert["alert_id"]})
    decision = store.latest_decision(alert["alert_id"])
    disposition, note_changed = None, False
    if decision is not None:
        note = decision["note"] or ""
        if not reveal_ids:
            own_ids = {**dict.fromkeys(evidence_ids, "transaction"), **_real_ids(alert, hits, transactions)}
            shown = deidentify_notes(store, [note], name, own_ids)[0]
            note, note_changed = shown, shown != note
        disposition = {**{k: decision[k] for k in ("disposition", "analyst", "decided_at")}, "note": note}
    explanation = json.loads(alert["explanation"]) if alert["explanation"] else {}
    customer = name(alert["customer"], "customer") if alert["customer"] else name(alert["subject"])
    behaviour = _behaviour(evidence, evidence_ids, hits, unit, name, home, calendar, bank_timezone)
    trigger = _trigger(alert, explanation)
    notes = []
    if disposition is None or disposition["disposition"] != "case":
        notes.append("No analyst decided this alert a case " + ("yet" if disposition is None else
                     f"(latest decision: {disposition['disposition']})") + ": the draft was asked for by id; "
                     "record the decision with `flowgraph dispose ALERT_ID --as case` before filing.")
    new_hits, grown = grown_since(decision["decided_hit_ids"], decision["decided_window_end"], alert["hit_ids"],
                                  alert["window_end"]) if decision is not None else (0, False)
    if grown:
        notes.append(f"The alert grew after the decision of {decision['decided_at']} "
                     + (f"({new_hits} hit(s) joined it)" if new_hits else
                        f"(its window went on past {decision['decided_window_end']})")
                     + ": this draft shows it as it is now; review it and decide again before filing.")
    if behaviour["evidence_not_kept"]:
        notes.append(f"{len(behaviour['evidence_not_kept'])} of {len(evidence_ids)} evidence transactions are not "
                     "kept in this store, so they are missing from the list and the totals: re-scan the data into "
                     "the store to keep them.")
    if not reveal_ids:
        notes += [DEIDENTIFIED] if note_changed else []
        notes.append("Customer and account ids are keyed pseudonyms (ACC-…, CUS-…): write the filing copy with "
                     "--reveal-ids (logged), or replace them by the real ids.")
    deadline = {"date": None, "basis": "no case decision: no deadline runs yet", "calendar": None, "note": None}
    if disposition is not None and disposition["disposition"] == "case":
        decided = decision_day(disposition["decided_at"], bank_timezone)
        days, day_unit = rule_set.str_deadline_days, rule_set.str_deadline_unit
        counted = count_deadline(calendar, decided, n_days=days, unit=day_unit)
        deadline = {"date": None if counted["deadline"] is None else str(counted["deadline"]),
                    "basis": f"{days} {day_unit} days after the case decision ({decided})"
                             + (", on the scan's calendar" if day_unit == "business" else "")
                             + f" ({rule_set.str_deadline_source})",
                    "calendar": counted["deadline_calendar"], "note": counted["deadline_note"] or None}
        if deadline["note"]:
            notes.append(f"Deadline ({deadline['calendar']}): {deadline['note']}")
    party = _party_type(store, alert)
    elements = [{"number": n, "part": part, "label_zh": zh, "label_en": en,
                 "status": "blank" if where is None else ("pseudonymised" if n in ID_ELEMENTS and not reveal_ids
                                                          else "filled"),
                 "filled_in": where, "value": None} for n, part, zh, en, where in STR_ELEMENTS]
    return {
        "schema": SCHEMA_ID, "draft_id": f"STR-{alert['alert_id']}", "alert_id": alert["alert_id"],
        "created_at": created_at or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "ids": "real" if reveal_ids else "pseudonymised", "disposition": disposition,
        "deadline": deadline,
        "subject": {"customer": customer, "accounts": sorted(name(a) for a in unit), "party_type": party},
        "trigger_point": trigger,
        "transactions_and_behaviour": behaviour,
        "analysis_of_suspicion": {"element": 22, "label_zh": "疑点分析", "generated": True, "editable": True,
                                  "text": _analysis(alert, hits, trigger, behaviour, customer, name, home,
                                                    reported=_large_value_reported(store, alert, hits))},
        "suspected_offence_type": {"element": 23, "label_zh": "疑似涉罪类型", "value": None,
                                   "to_complete_by": "analyst"},
        "elements": elements, "notes": notes,
    }


def run_bank_timezone(config: dict) -> str:
    """The time zone a scan dated transactions in, from its recorded configuration: its
    ``[calendar] bank_timezone``, else its rule set's (:attr:`~flowgraph.config.RuleSet.bank_timezone`)."""
    return config.get("calendar", {}).get("bank_timezone") or run_rule_set(config).bank_timezone


def decision_day(decided_at: str, bank_timezone: str) -> np.datetime64:
    """The bank's date, in ``bank_timezone`` (the scan's: :func:`run_bank_timezone`), of a
    decision stored as a UTC instant: a case decided on Monday 07:30 in Beijing (Sunday 23:30
    UTC) was decided on Monday under the PBOC rules, and its deadline runs from Monday; one
    decided at 22:04 UTC on Saturday 5 December (17:04 in New York) was decided on the 5th
    under US-BSA. A time without an offset is the bank's already."""
    moment = pd.Timestamp(decided_at)
    if moment.tzinfo is not None:
        moment = moment.tz_convert(bank_timezone)
    return np.datetime64(moment.date(), "D")


def draft_decision_day(store, draft: dict) -> np.datetime64:
    """The bank's date of a draft's decision (:func:`decision_day` in its alert's scan's zone)."""
    config = run_config(store, find_alert(store, draft["alert_id"])["config_hash"])
    return decision_day(draft["disposition"]["decided_at"], run_bank_timezone(config))


def _party_type(store, alert) -> str | None:
    if not has_case_transactions(store):
        return None
    accounts = case_accounts(store)
    row = accounts.loc[accounts["account_id"] == alert["subject"], "party_type"]
    return None if row.empty or pd.isna(row.iloc[0]) else str(row.iloc[0])


def _trigger(alert, explanation: dict) -> dict:
    indicators = [{"indicator": i.get("indicator", ""), "family": i.get("family", ""), "hits": int(i.get("hits", 0)),
                   "weight": float(i.get("weight", 0.0)), "contribution": float(i.get("contribution", 0.0))}
                  for i in explanation.get("indicators", [])]
    indicators.sort(key=lambda i: (-i["contribution"], i["indicator"]))
    threshold = explanation.get("threshold")
    fired = [i for i in indicators if i["contribution"] > 0] or indicators
    text = (f"Alert score {alert['score']:.3g}" + ("" if threshold is None else f" against the alert threshold "
                                                   f"{threshold:g}") + "; indicators: "
            + "; ".join(f"{i['indicator']} ({i['family']}, {i['hits']} hit(s), contribution {i['contribution']:.3g})"
                        for i in fired) + ".")
    return {"element": 20, "label_zh": "可疑交易报告触发点", "score": float(alert["score"]),
            "threshold": None if threshold is None else float(threshold), "indicators": indicators,
            "features": explanation.get("features", []), "text": text}


def _behaviour(evidence: pd.DataFrame, evidence_ids: list[str], hits: pd.DataFrame, unit: set[str], name, home: str,
               calendar, bank_timezone: str) -> dict:
    cited: dict[str, list[str]] = {}
    for typology, ids in zip(hits["typology"], hits["txn_ids"]):
        for t in ids:
            cited.setdefault(t, []).append(typology)
    into = evidence["dst_account"].isin(unit).to_numpy()
    out_of = evidence["src_account"].isin(unit).to_numpy()
    direction = np.select([into & out_of, into, out_of], ["internal", "in", "out"], "other")
    amount = evidence["amount_home"].to_numpy(dtype=float)
    # money summed in integer cents (the rules compare such totals with thresholds)
    total = lambda mask: int(np.round(amount[mask] * 100).astype(np.int64).sum()) / 100  # noqa: E731
    transactions = [{"txn_id": str(r.txn_id), "time": pd.Timestamp(r.timestamp).isoformat(),
                     "from": name(r.src_account) if r.src_account else None,
                     "to": name(r.dst_account) if r.dst_account else None, "direction": str(d),
                     "amount": float(r.amount), "currency": str(r.currency), "amount_home": float(r.amount_home),
                     "channel": str(r.channel), "cited_by": sorted(set(cited.get(r.txn_id, [])))}
                    for r, d in zip(evidence.itertuples(), direction)]
    # counterparties are accounts: a transaction with no account on the other side is cash, said apart
    parties: dict[str, dict] = {}
    for t, d in zip(transactions, direction):
        other = {"in": t["from"], "out": t["to"]}.get(d)
        if other:
            entry = parties.setdefault(other, {"account": other, "n_transactions": 0, "inflow_home": 0,
                                               "outflow_home": 0})
            entry["n_transactions"] += 1
            entry[f"{'inflow' if d == 'in' else 'outflow'}_home"] += round(t["amount_home"] * 100)
    counterparties = sorted(({**p, "inflow_home": p["inflow_home"] / 100, "outflow_home": p["outflow_home"] / 100}
                             for p in parties.values()),
                            key=lambda p: (-(p["inflow_home"] + p["outflow_home"]), p["account"]))
    channels = {c: total(evidence["channel"].to_numpy() == c) for c in sorted(set(evidence["channel"]))}
    first, last, n_days = _evidence_span(evidence, hits, calendar, bank_timezone)
    no_src = evidence["src_account"].isna().to_numpy() | (evidence["src_account"].to_numpy(dtype=object) == "")
    no_dst = evidence["dst_account"].isna().to_numpy() | (evidence["dst_account"].to_numpy(dtype=object) == "")
    totals = {"n_transactions": len(evidence), "inflow_home": total(direction == "in"),
              "outflow_home": total(direction == "out"), "internal_home": total(direction == "internal"),
              "other_home": total(direction == "other"), "cash_inflow_home": total((direction == "in") & no_src),
              "cash_outflow_home": total((direction == "out") & no_dst)}
    hit_rows = [{"hit_id": h.hit_id, "typology": h.typology, "window_start": str(h.window_start)[:10],
                 "window_end": str(h.window_end)[:10], "n_accounts": int(h.n_accounts), "n_days": int(h.n_days),
                 "amount": float(h.amount), "ceiling": _finite_or_none(h.ceiling),
                 "utilisation": _finite_or_none(h.utilisation)}
                for h in hits.itertuples()]
    kept = set(evidence["txn_id"])
    span = f"{n_days if n_days is not None else '?'} business days"
    if evidence.empty:
        span += ", the hits' windows: no evidence transaction is kept"
    text = (f"From {first} to {last} ({span}) the evidence holds {len(evidence)} transaction(s): "
            + _side_text(totals["inflow_home"], totals["cash_inflow_home"],
                         sum(p["inflow_home"] > 0 for p in counterparties), "in", "from", home) + ", "
            + _side_text(totals["outflow_home"], totals["cash_outflow_home"],
                         sum(p["outflow_home"] > 0 for p in counterparties), "out", "to", home)
            + (f", {totals['internal_home']:,.2f} {home} between the customer's own accounts"
               if totals["internal_home"] else "")
            + ("; by channel: " + ", ".join(f"{c} {v:,.2f} {home}" for c, v in channels.items()) if channels else "")
            + ".")
    return {"element": 21, "label_zh": "资金交易及客户行为情况", "window": {"first_day": first, "last_day": last,
                                                                       "business_days": n_days},
            "home_currency": home, "totals": totals, "counterparties": counterparties, "channels": channels,
            "hits": hit_rows, "transactions": transactions,
            "evidence_not_kept": [t for t in evidence_ids if t not in kept], "text": text}


def _evidence_span(evidence: pd.DataFrame, hits: pd.DataFrame, calendar,
                   bank_timezone: str) -> tuple[str, str, int | None]:
    """The first and last business day of the evidence transactions (a transaction on a
    weekend or holiday counts toward the next business day, as the scan books it) and the
    business days from one to the other; without a kept evidence transaction, the span of
    the hits' windows. The alert's window is not it: it is widened to the hits' runs of
    qualifying days (:func:`flowgraph.alerts.hit_spans`), which go on past the evidence.
    A calendar that cannot count the days gives the calendar dates and None. Time stamps
    with a UTC offset are dated in ``bank_timezone`` (the scan's, :func:`run_bank_timezone`)."""
    if evidence.empty:
        first, last = str(hits["window_start"].min())[:10], str(hits["window_end"].max())[:10]
        try:
            return first, last, len(calendar.business_days(first, last))
        except ConfigError:
            return first, last, None
    times = pd.to_datetime(evidence["timestamp"])
    if times.dt.tz is not None:  # bank-local dates
        times = times.dt.tz_convert(bank_timezone).dt.tz_localize(None)
    dates = times.to_numpy(dtype="datetime64[ns]")
    try:
        days, index = calendar.business_day_index(dates)
    except ConfigError:
        dates = dates.astype("datetime64[D]")
        return str(dates.min()), str(dates.max()), None
    # ``days`` holds every business day from the first transaction's to the last one's
    return str(days[index.min()]), str(days[index.max()]), int(index.max() - index.min() + 1)


def _side_text(amount_home: float, cash_home: float, n_counterparties: int, side: str, preposition: str,
               home: str) -> str:
    """One side of the money in element 21's sentence: its total and how many counterparty
    accounts it came from (went to); cash, which has no counterparty account, said apart."""
    if not cash_home:
        return f"{amount_home:,.2f} {home} {side} {preposition} {n_counterparties} counterparty(ies)"
    if cash_home == amount_home and not n_counterparties:
        return f"{amount_home:,.2f} {home} {side}, all of it cash (no counterparty account)"
    return (f"{amount_home:,.2f} {home} {side}, {cash_home:,.2f} {home} of it cash and the rest {preposition} "
            f"{n_counterparties} counterparty(ies)")


def _large_value_reported(store, alert, hits: pd.DataFrame):
    """``reported(hit)``: how many of a hit's evidence transactions are in large-value hits
    (single or daily cumulative, whoever their subject; stored by the alert's configuration
    over the hit's window), read once per hit asked about: only hits above their ceiling are."""
    def reported(hit) -> int:
        wanted = pa.array([str(t) for t in hit["txn_ids"]], pa.string())
        found = np.zeros(len(wanted), bool)
        # the hit's few ids looked up in the window's many reported ones, chunk by chunk
        for chunk in store.large_value_evidence(alert["config_hash"], str(hit["window_start"])[:10],
                                                str(hit["window_end"])[:10]).chunks:
            found |= np.asarray(pc.is_in(wanted, value_set=chunk), dtype=bool)
        return int(found.sum())
    return reported


def _one_way(hit, home: str) -> str:
    """", one way (received …, paid …)" when the hit's A is the larger of its subject's two
    sides (``amount_in``, ``amount_out``: structuring and "frequent" sum receipts and payments
    apart, as the large-value rules do), else nothing."""
    measures = json.loads(hit["measures"]) if isinstance(hit.get("measures"), str) else {}
    sides = [measures.get("amount_in"), measures.get("amount_out")]
    if any(not isinstance(x, (int, float)) for x in sides) or min(sides) <= 0 or \
            round(max(sides) * 100) != round(float(hit["amount"]) * 100):
        return ""
    return f" one way (received {sides[0]:,.2f}, paid {sides[1]:,.2f} {home}; the larger side counts)"


def _analysis(alert, hits: pd.DataFrame, trigger: dict, behaviour: dict, customer: str, name, home: str,
              reported=None) -> str:
    """The generated analysis of suspicion: what each family of the alert's hits shows, with
    the hit's own numbers (W(N, D) utilisation included), then the money's movement.

    Above the ceiling (u > 1) the flow must have met a large-value rule (SPEC §4): the text
    says how many of the hit's transactions the scan's large-value hits hold
    (``reported(hit)``), and when none does says so instead of claiming reports exist."""
    lines = [f"[Generated by flowgraph from the alert's explanation and evidence: check and edit before filing.] "
             f"Customer {customer} raised alert {alert['alert_id']} ({trigger['text']})"]
    for family, group in hits.groupby(hits["typology"].map(_family_of), sort=True):
        meaning = FAMILY_MEANING.get(family, family.replace("_", " "))
        strongest = group.sort_values(["amount", "hit_id"], ascending=[False, True]).iloc[0]
        u = _finite_or_none(strongest["utilisation"])
        moved = (f"{family}: {meaning}. {len(group)} hit(s); the largest, {strongest['typology']} on account "
                 f"{name(strongest['subject'])}, moved {strongest['amount']:,.2f} {home}"
                 f"{_one_way(strongest, home)} across "
                 f"{int(strongest['n_accounts'])} account(s) over {int(strongest['n_days'])} business day(s)")
        if u is None:  # no evidence transaction (accounts opened, not used yet): no ceiling
            lines.append(moved + "; it cites no transaction, so no W(N, D) ceiling applies.")
            continue
        lines.append(
            moved + f", {u:.2f} of the most "
            f"the W(N, D) ceiling allows without triggering the reporting standards "
            f"({strongest['ceiling']:,.2f} {home}; 001)"
            + (": the flow uses its evasion capacity almost to the full." if 0.8 <= u <= 1
               else _above_ceiling(strongest, reported) if u > 1
               else "."))
    lines.append(behaviour["text"])
    top = behaviour["counterparties"][:3]
    if top:
        lines.append("Main counterparties: " + "; ".join(
            f"{p['account']} ({p['n_transactions']} transaction(s), in {p['inflow_home']:,.2f}, out "
            f"{p['outflow_home']:,.2f} {home})" for p in top) + ".")
    lines.append("To add: how this differs from the customer's stated identity, business and financial situation, "
                 "and the source and use of the funds.")
    return "\n\n".join(lines)


def _above_ceiling(hit, reported) -> str:
    """The clause on a hit above its ceiling: the large-value hits its transactions are in,
    or that none is (the scan's ``check:`` line names such a hit: a bug or a missing rule)."""
    n = None if reported is None else reported(hit)
    if n is None:
        return ": above the ceiling, so it must have met a large-value reporting rule."
    if n:
        return (f": above the ceiling, and {n} of its {len(hit['txn_ids'])} transaction(s) are in the scan's "
                "large-value hits, as such a flow's must be.")
    return (": above the ceiling, yet none of its transactions is in a large-value hit of the scan (its "
            "cross-check lists it): review the rule set and the amounts before filing.")


def _family_of(typology: str) -> str:
    from ..detectors import TYPOLOGIES

    entry = TYPOLOGIES.get(typology)
    return entry.family if entry is not None else typology


def str_schema() -> dict:
    """The JSON Schema of a draft (package data ``schemas/str-draft.schema.json``)."""
    return json.loads(resources.files("flowgraph.desk").joinpath("schemas/str-draft.schema.json").read_text("utf-8"))


def validate_str_draft(draft: dict) -> None:
    """Check a draft against :func:`str_schema`.

    Raises
    ------
    ValueError
        Every place it breaks the schema, one per line.
    """
    import jsonschema

    validator = jsonschema.Draft202012Validator(str_schema(), format_checker=jsonschema.FormatChecker())
    problems = sorted(validator.iter_errors(draft), key=lambda e: list(e.absolute_path))
    if problems:
        raise ValueError("STR draft breaks its schema:\n" + "\n".join(
            f"  {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in problems))


def render_str_markdown(draft: dict) -> str:
    """A draft as Markdown: the filled elements, the generated analysis to edit, and the
    blanks to complete. Every value is escaped (:func:`~flowgraph.desk.markdown.md_text`)."""
    behaviour, trigger, subject = draft["transactions_and_behaviour"], draft["trigger_point"], draft["subject"]
    decided = draft["disposition"]
    deadline_shown = draft["deadline"]["date"] or "—"
    if draft["deadline"].get("calendar") not in (None, "official"):  # estimated, or not counted
        deadline_shown += f", {draft['deadline']['calendar']}"
    decision = "none"
    if decided:
        decision = f"{decided['disposition']} by {decided['analyst']} at {decided['decided_at']}" + (
            f" (note: {decided['note']})" if decided["note"] else "")
    parts = [
        f"# Suspicious-transaction report draft {md_text(draft['draft_id'])}\n",
        f"Alert {md_text(draft['alert_id'])}; customer {md_text(subject['customer'])} (accounts "
        f"{md_text(', '.join(subject['accounts']))}; party type {md_text(subject['party_type'] or 'unknown')}). "
        f"Decision: {md_text(decision)}. "
        f"Deadline: {md_text(deadline_shown)} ({md_text(draft['deadline']['basis'])}). "
        f"Ids: {md_text(draft['ids'])}. Written {md_text(draft['created_at'])}.\n",
        *(f"> {md_text(n)}\n" for n in draft["notes"]),
        f"## 20 可疑交易报告触发点 (trigger point)\n\n{md_text(trigger['text'])}\n",
        md_table(trigger["indicators"], ["indicator", "family", "hits", "weight", "contribution"]),
        f"## 21 资金交易及客户行为情况 (transactions and customer behaviour)\n\n{md_text(behaviour['text'])}\n",
        "### Hits\n", md_table(behaviour["hits"], ["typology", "window_start", "window_end", "n_accounts", "n_days",
                                                    "amount", "ceiling", "utilisation"]),
        "### Counterparties\n", md_table(behaviour["counterparties"], ["account", "n_transactions", "inflow_home",
                                                                         "outflow_home"]),
        "### Evidence transactions\n",
        md_table(behaviour["transactions"], ["txn_id", "time", "from", "to", "direction", "amount", "currency",
                                              "amount_home", "channel", "cited_by"]),
        "## 22 疑点分析 (analysis of suspicion) — GENERATED, EDIT BEFORE FILING\n",
        md_paragraphs(draft["analysis_of_suspicion"]["text"]) + "\n",
        "## 23 疑似涉罪类型 (suspected offence type)\n\n**To complete by the analyst:** ____\n",
        "## Elements to complete (003 二㈥)\n",
        md_table([{**e, "value": "____"} for e in draft["elements"] if e["status"] == "blank"],
                  ["number", "label_zh", "label_en", "value"]),
        "## Elements filled\n",
        md_table([e for e in draft["elements"] if e["status"] != "blank"],
                  ["number", "label_zh", "label_en", "status", "filled_in"]),
    ]
    return "\n".join(parts)


def _finite_or_none(value) -> float | None:
    """A number, or None for a missing or NaN one (a hit without evidence has no ceiling)."""
    return None if value is None or pd.isna(value) else float(value)
