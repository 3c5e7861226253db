"""The case file: one alert as one self-contained HTML page.

``flowgraph show ALERT_ID --store S --out case.html`` writes a page an investigator opens
in any browser, offline: no script, no stylesheet or image from elsewhere (pictures are
inline PNG). It holds

- the alert: customer (pseudonym), score against its threshold, window, status;
- the explanation as stored with the alert, rendered generically (every field, every
  indicator's contribution), so a new explanation field shows up without a change here;
- the hits with N, D, A, Φ, the W(N, D) ceiling and utilisation u, and their measures;
- the evidence transactions (dates, amounts, currency, direction seen from the subject,
  channel, which hits cite them), from the case transactions the scan kept
  (:mod:`flowgraph.desk.evidence`);
- pictures drawn for this alert: the lead hit's money-flow subgraph and utilisation, the
  path of the money of each multi-hop hit, the subject's daily flows with the thresholds
  of the lead hit's methods, and the near-threshold band of each structuring hit's own
  account and method;
- the disposition history, its notes de-identified (:mod:`flowgraph.desk.notes`).

Account and customer ids are keyed pseudonyms (SPEC §7) unless ``reveal_ids``, which the
store's audit table records; such a page is written owner-only.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from .._files import write_atomically
from ..alerts import FAMILIES, REPORTABLE_FAMILIES
from ..config import CHANNELS
from ..deid import deidentify, store_pseudonymizer
from ..errors import ConfigError
from ..store import parse_json_lists
from .evidence import (CONTEXT_DAYS, case_accounts, case_folder, case_graph, case_transactions, has_case_transactions,
                       run_rule_set)
from .notes import DEIDENTIFIED, deidentify_notes
from .queue import grown_since

#: Multi-hop hits whose path of the money is drawn, and structuring hits whose band is
#: drawn, at most (the strongest first): the page stays readable and quick to open.
MAX_PATH_PICTURES = 3
MAX_BAND_PICTURES = 2

#: Shortest prefix of an alert id accepted instead of the whole id.
MIN_ID_PREFIX = 6


def find_alert(store, alert_id: str) -> pd.Series:
    """The stored alert ``alert_id`` (or the one alert whose id starts with it).

    Raises
    ------
    ConfigError
        No such alert, or a prefix that fits several.
    """
    how_to_list = (f"list the ids with `flowgraph alerts --store {store.path} --status all` (or the alert list of "
                   "`flowgraph report`)")
    alerts = store.query("SELECT * FROM alerts WHERE alert_id = ?", [alert_id])
    if alerts.empty and len(alert_id) >= MIN_ID_PREFIX:
        alerts = store.query("SELECT * FROM alerts WHERE substr(alert_id, 1, ?) = ?", [len(alert_id), alert_id])
    if alerts.empty:
        short = f" (a prefix needs at least {MIN_ID_PREFIX} characters)" if len(alert_id) < MIN_ID_PREFIX else ""
        raise ConfigError(f"no alert {alert_id!r} in the run store {store.path}{short}. Fix: {how_to_list}.")
    if len(alerts) > 1:
        raise ConfigError(f"{len(alerts)} alerts in {store.path} start with {alert_id!r}. Fix: give more of the id; "
                          f"{how_to_list}.")
    alert = alerts.iloc[0].copy()
    alert["hit_ids"] = json.loads(alert["hit_ids"])
    return alert


def case_file(store, alert_id: str, reveal_ids: bool = False, key_file=None) -> str:
    """The case file of one alert as HTML text (module docstring).

    Parameters
    ----------
    store : Store
    alert_id : str
        The alert's id, or a unique prefix of at least :data:`MIN_ID_PREFIX` characters.
    reveal_ids : bool
        Real account and customer ids (recorded in the store's audit table).
    key_file : path, optional
        Pseudonym key (:mod:`flowgraph.deid`).

    Raises
    ------
    ConfigError
        Unknown alert id (the message says how to list the ids).
    """
    alert = find_alert(store, alert_id)
    run = store.query("SELECT run_id, config FROM runs WHERE run_id = ?", [alert["last_run"]])
    config = json.loads(run["config"].iloc[0]) if len(run) else {}
    currency = run_rule_set(config).home_currency  # what amounts were converted into
    hits = _alert_hits(store, alert)
    weights = config.get("model", {}).get("weights", {})
    hits = hits.assign(weight_=hits["typology"].map(weights).fillna(0.0)).sort_values(
        ["weight_", "amount", "hit_id"], ascending=[False, False, True], kind="stable").drop(columns="weight_")
    evidence_ids = list(dict.fromkeys(t for ids in hits["txn_ids"] for t in ids))
    transactions = _alert_transactions(store, hits, evidence_ids)
    if reveal_ids:
        store.audit("show_real_ids", json.dumps({"command": "show", "alert_id": alert["alert_id"]}))
        name = lambda value, kind="account": value  # noqa: E731
    else:
        name = store_pseudonymizer(store, key_file)
    real_ids = _real_ids(alert, hits, transactions)
    shown = hits if reveal_ids else deidentify(hits, name)
    gone = store.conn.execute("SELECT run_id FROM gone_alerts WHERE alert_id = ?", (alert["alert_id"],)).fetchone()
    sections = [
        *([f'<p class="note">Run {html.escape(gone[0])} no longer finds this alert: its data was corrected or its '
           "hits regrouped, and it is no longer raised. The stored hits and decisions below are what was found and "
           "decided before.</p>"] if gone else []),
        _summary(alert, hits, store, name, reveal_ids),
        _section("Explanation", "<p>The score as stored with the alert: every indicator, its weight and its "
                 "contribution.</p>" + _render(_json_or_text(alert["explanation"]), name, real_ids)),
        _section("Hits and the W(N, D) ceiling", _hits_table(shown, currency)),
        _section("Evidence transactions", _evidence_table(transactions, evidence_ids, hits, _unit_accounts(store, alert),
                                                          name, currency, case_folder(store))),
        _section("Pictures", _pictures(store, alert, hits, transactions, evidence_ids, config, reveal_ids, key_file)),
        _section("Disposition history", _dispositions(store, alert["alert_id"], None if reveal_ids else name,
                                                      {**dict.fromkeys(evidence_ids, "transaction"), **real_ids})),
    ]
    title = f"flowgraph case file: alert {alert['alert_id']}"
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{''.join(sections)}"
            f"<footer>Written {dt.datetime.now().isoformat(timespec='seconds')} from {html.escape(store.path.name)}"
            f"; {'REAL ids shown (logged)' if reveal_ids else 'accounts and customers as keyed pseudonyms'}."
            "</footer></body></html>\n")


def _alert_hits(store, alert) -> pd.DataFrame:
    """The alert's stored hits, evidence lists decoded (only these are read: a store holds
    every hit of every scan)."""
    hits = store.query("SELECT * FROM hits WHERE config_hash = ? AND hit_id IN (SELECT value FROM json_each(?))",
                       [alert["config_hash"], json.dumps(alert["hit_ids"])])
    for col in ("accounts", "txn_ids"):
        hits[col] = parse_json_lists(hits[col].tolist())
    hits["in_band"] = hits["in_band"].astype(bool)
    return hits.drop(columns=["content"], errors="ignore")


def write_case_file(store, alert_id: str, out: str | Path, reveal_ids: bool = False, key_file=None) -> Path:
    """Write :func:`case_file` to ``out`` whole or not at all; owner-only when it shows
    real ids."""
    out = Path(out)
    if out.is_dir():
        raise ConfigError(f"--out {out}: is a folder. Fix: name the HTML file, e.g. {out / 'case.html'}.")
    text = case_file(store, alert_id, reveal_ids, key_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_atomically(out, lambda p: p.write_text(text, encoding="utf-8"), private=reveal_ids)


STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 78em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; border-bottom: 1px solid #ccc; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.8em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.wrap { overflow-wrap: anywhere; }
.note { color: #8a4b00; } figure { margin: 1em 0; } img { max-width: 100%; border: 1px solid #eee; }
footer { margin-top: 2em; font-size: 0.8em; color: #666; }
"""


def _section(title: str, body: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>{body}</section>"


def _json_or_text(value):
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _cell(value, name, real_ids: dict) -> str:
    """One value as escaped HTML; a real account or customer id becomes its pseudonym."""
    if isinstance(value, float):
        return f'<td class="num">{value:,.6g}</td>' if abs(value) < 1e5 else f'<td class="num">{value:,.2f}</td>'
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f'<td class="num">{value:,}</td>'
    return f"<td>{_render(value, name, real_ids)}</td>"


def _render(value, name, real_ids: dict) -> str:
    """Any JSON value as HTML: a dict as a two-column table, a list of dicts as a table with
    a column per key, other lists comma-separated, text escaped (real ids pseudonymised)."""
    if isinstance(value, dict):
        rows = "".join(f"<tr><th>{html.escape(str(k))}</th>{_cell(v, name, real_ids)}</tr>" for k, v in value.items())
        return f"<table>{rows}</table>"
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        keys = list(dict.fromkeys(k for v in value for k in v))
        head = "".join(f"<th>{html.escape(str(k))}</th>" for k in keys)
        body = "".join("<tr>" + "".join(_cell(v.get(k, ""), name, real_ids) for k in keys) + "</tr>" for v in value)
        return f"<table><tr>{head}</tr>{body}</table>"
    if isinstance(value, list):
        return ", ".join(_render(v, name, real_ids) for v in value)
    if value is None:
        return ""
    text = str(value)
    if text in real_ids:
        text = name(text, real_ids[text])
    return html.escape(text)


def _real_ids(alert, hits: pd.DataFrame, transactions: pd.DataFrame) -> dict[str, str]:
    """Every real id the page could meet, with its kind (account or customer)."""
    ids = {a: "account" for a in hits["accounts"].explode().dropna()}
    ids.update({a: "account" for a in hits["subject"]})
    for col in ("src_account", "dst_account"):
        ids.update({a: "account" for a in transactions[col].dropna() if a})
    ids.update({c: "customer" for c in [alert["customer"], *hits["customer"].dropna()] if c})
    return ids


def _utilisation_shown(alert, hits: pd.DataFrame) -> str:
    """The alert's highest utilisation u, which leaves large-value hits out (reportable
    facts, not evidence of a typology: :data:`flowgraph.alerts.REPORTABLE_FAMILIES`), so
    with none other it is no 0 to read but a sentence."""
    reportable = hits["typology"].map(lambda t: FAMILIES.get(t, t) in REPORTABLE_FAMILIES).to_numpy(dtype=bool)
    if len(hits) and reportable.all():
        return "no hit counted toward utilisation (large-value reports only; each hit's u is in the hits table)"
    return f"{alert['utilisation']:.3f}" + (" (large-value hits not counted)" if reportable.any() else "")


def _summary(alert, hits: pd.DataFrame, store, name, reveal_ids: bool) -> str:
    unit = (name(alert["customer"], "customer") if alert["customer"] else name(alert["subject"], "account"))
    explanation = _json_or_text(alert["explanation"])
    threshold = explanation.get("threshold") if isinstance(explanation, dict) else None
    decided = store.latest_decision(alert["alert_id"])
    status = ("raised" if alert["raised"] else "not raised") + (f", {decided['disposition']}" if decided else ", open")
    new_hits, grown = grown_since(decided["decided_hit_ids"], decided["decided_window_end"], alert["hit_ids"],
                                  alert["window_end"]) if decided else (0, False)
    if grown and alert["raised"]:
        status += (f", reopened: {new_hits} hit(s) joined it" if new_hits else ", reopened: its window went on") + \
            " since that decision"
    rows = {"alert": alert["alert_id"], "customer (monitoring unit)": unit, "subject account": name(alert["subject"]),
            "score": f"{alert['score']:.4g}" + ("" if threshold is None else f" (threshold {threshold:g})"),
            "status": status,
            "window (business days)": f"{alert['window_start']} .. {alert['window_end']}",
            "hits": str(alert["n_hits"]), "highest utilisation u of W(N, D)": _utilisation_shown(alert, hits),
            "ids": "REAL account and customer ids (logged in the store's audit table)" if reveal_ids
            else "keyed pseudonyms (ACC-…, CUS-…)"}
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows.items())
    return _section("Alert", f"<table>{body}</table>")


#: Hit columns the hits table shows, in order; Φ and the detector's measures follow on a
#: line of their own under each hit.
HIT_SHOWN = ("typology", "detector", "subject", "window_start", "window_end", "n_accounts", "n_days", "amount", "w",
             "ceiling", "utilisation", "in_band")


def _inline(value) -> str:
    """A JSON object on one line: ``key: value; …`` (lists comma-separated), escaped."""
    value = _json_or_text(value)
    if not isinstance(value, dict):
        return html.escape(str(value))
    def text(v):
        if isinstance(v, list):
            return "[" + ", ".join(text(x) for x in v) + "]"
        return f"{v:,.6g}" if isinstance(v, float) else str(v)
    return "; ".join(f"<b>{html.escape(str(k))}</b>: {html.escape(text(v))}" for k, v in value.items())


def _hits_table(hits: pd.DataFrame, currency: str) -> str:
    """The hits (de-identified already unless real ids are asked for), strongest first;
    amounts in ``currency``, the scan's home currency."""
    intro = (f"<p>N accounts over D business days moved A ({currency}); the ceiling is Σ W(N, D) · Φ over the methods used "
             "(001). u = A / ceiling: above 1 the flow must have triggered large-value reports; just below 1 the group "
             "uses its evasion capacity to the full.</p>")
    head = "".join(f"<th>{c}</th>" for c in HIT_SHOWN)
    rows = []
    for r in hits.itertuples():
        cells = []
        for c in HIT_SHOWN:
            v = getattr(r, c)
            if c in ("window_start", "window_end"):
                cells.append(f"<td>{pd.Timestamp(v).date()}</td>")
            elif isinstance(v, (bool, np.bool_)):
                cells.append(f"<td>{bool(v)}</td>")
            else:
                cells.append(_cell(v.item() if isinstance(v, np.generic) else v, None, {}))
        rows.append("<tr>" + "".join(cells) + "</tr>")
        rows.append(f'<tr><td class="wrap" colspan="{len(HIT_SHOWN)}"><b>Φ</b>: {_inline(r.phi)}<br>{_inline(r.measures)}</td></tr>')
    return f"{intro}<table><tr>{head}</tr>{''.join(rows)}</table>"


def _alert_transactions(store, hits: pd.DataFrame, evidence_ids: list[str]) -> pd.DataFrame:
    """Kept transactions of the alert: its evidence, and its subjects' around their windows."""
    if not has_case_transactions(store) or hits.empty:
        return case_transactions(store, txn_ids=[])
    evidence = case_transactions(store, txn_ids=evidence_ids)
    around = case_transactions(store, accounts=set(hits["subject"]))
    frame = pd.concat([evidence, around], ignore_index=True).drop_duplicates("txn_id")
    return frame.sort_values(["timestamp", "txn_id"], kind="stable").reset_index(drop=True)


def _unit_accounts(store, alert) -> set[str]:
    """Accounts of the alert's monitoring unit: the customer's kept accounts, or the subject."""
    accounts = {alert["subject"]}
    if alert["customer"] and has_case_transactions(store):
        kept = case_accounts(store)
        accounts |= set(kept.loc[kept["customer_id"] == alert["customer"], "account_id"])
    return accounts


def _evidence_table(transactions: pd.DataFrame, evidence_ids: list[str], hits: pd.DataFrame, unit: set[str],
                    name, currency: str, cases: Path) -> str:
    """The alert's evidence transactions with their amounts as booked and in ``currency``
    (the scan's home currency), the hits citing each (``cases``: the store's case folder)."""
    kept = transactions[transactions["txn_id"].isin(evidence_ids)]
    missing = [t for t in evidence_ids if t not in set(kept["txn_id"])]
    note = ""
    if missing:
        why = (f"its case folder {cases.name} is missing (the store was copied without it, or written before "
               "flowgraph kept case transactions); copy the folder beside the store, or re-scan the data into it"
               if not cases.is_dir() else "it keeps those of raised alerts, from scans made since flowgraph kept "
               "them; re-scan the data into this store to keep them")
        note = (f'<p class="note">{len(missing)} of {len(evidence_ids)} evidence transactions are not kept in this '
                f"store: {html.escape(why)}. Their ids: {html.escape(', '.join(missing[:50]))}"
                f"{' …' if len(missing) > 50 else ''}.</p>")
    if kept.empty:
        return note
    cited = {}
    for typology, ids in zip(hits["typology"], hits["txn_ids"]):
        for t in ids:
            cited.setdefault(t, []).append(typology)
    into, out_of = kept["dst_account"].isin(unit).to_numpy(), kept["src_account"].isin(unit).to_numpy()
    direction = np.select([into & out_of, into, out_of], ["internal", "in", "out"], "—")
    head = ("<tr><th>#</th><th>txn_id</th><th>time</th><th>from</th><th>to</th><th>direction</th>"
            f"<th>amount</th><th>currency</th><th>{html.escape(currency)}</th><th>channel</th><th>cited by</th></tr>")
    rows = []
    for k, (r, d) in enumerate(zip(kept.itertuples(), direction), 1):
        party = lambda a: "(cash)" if not a else name(a)  # noqa: E731
        rows.append(f"<tr><td class=\"num\">{k}</td><td>{html.escape(str(r.txn_id))}</td>"
                    f"<td class=\"num\">{pd.Timestamp(r.timestamp):%Y-%m-%d %H:%M}</td><td>{html.escape(party(r.src_account))}</td>"
                    f"<td>{html.escape(party(r.dst_account))}</td><td>{d}</td><td class=\"num\">{r.amount:,.2f}</td>"
                    f"<td>{html.escape(str(r.currency))}</td><td class=\"num\">{r.amount_home:,.2f}</td>"
                    f"<td>{html.escape(str(r.channel))}</td>"
                    f"<td>{html.escape(', '.join(sorted(set(cited.get(r.txn_id, [])))))}</td></tr>")
    shown = ", ".join(sorted(html.escape(name(a)) for a in unit))
    return f"{note}<p>Direction is seen from the monitoring unit's accounts ({shown}): in, out, internal " \
           f"(between them) or — (between others).</p><table>{head}{''.join(rows)}</table>"


def _figure_html(fig, caption: str) -> str:
    """A figure as an inline PNG (closed after)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _pictures(store, alert, hits, transactions, evidence_ids, config, reveal_ids, key_file) -> str:
    from .. import plot

    if hits.empty:
        return '<p class="note">The alert lists no stored hit.</p>'
    lead = hits.iloc[0]
    name_of = (lambda x: x) if reveal_ids else store_pseudonymizer(store, key_file)
    parts = [_figure_html(plot.utilisation(lead, reveal_ids, key_file, run_rule_set(config).home_currency),
                          f"W(N, D) utilisation of the lead hit ({lead['typology']})")]
    kept = set(transactions["txn_id"])
    if transactions.empty:
        return "".join(parts) + ('<p class="note">No transaction of this alert is kept in the store, so only the '
                                 "utilisation is drawn.</p>")
    graph = case_graph(store, transactions, config)
    complete = hits["txn_ids"].map(lambda ids: set(ids) <= kept)
    if complete.iloc[0]:
        parts.append(_figure_html(plot.hit_subgraph(graph, lead, reveal_ids, key_file),
                                  f"money flows of the lead hit ({lead['typology']}): arrows numbered in time "
                                  f"order, labelled with amount ({graph.home_currency}) and date"))
    paths_drawn: set[frozenset] = set()  # a cycle and its forwarding chain share one path
    multi_hop = np.array([plot.is_multi_hop(hit) for _, hit in hits.iterrows()], dtype=bool)
    for _, hit in hits[complete.to_numpy() & multi_hop].iterrows():
        evidence = frozenset(hit["txn_ids"])
        if len(paths_drawn) == MAX_PATH_PICTURES or evidence in paths_drawn:
            continue
        fig = plot.money_path(graph, hit, reveal_ids, key_file)
        if fig is not None:
            parts.append(_figure_html(fig, f"path of the money ({hit['typology']})"))
            paths_drawn.add(evidence)
    subject = alert["subject"]
    if subject in set(transactions["src_account"]) | set(transactions["dst_account"]):
        first, last = _day_span(graph, alert["window_start"], alert["window_end"])
        days = (max(0, first - CONTEXT_DAYS), min(graph.n_days - 1, last + CONTEXT_DAYS))
        channels = _hit_channels(lead)
        parts.append(_figure_html(
            plot.daily_flows(graph, subject, days=days, run=(alert["window_start"], alert["window_end"]),
                             rule_set=run_rule_set(config), reveal_ids=reveal_ids, key_file=key_file,
                             run_label="alert window", channels=channels),
            f"daily flows of the subject account with its large-value threshold Φ and 0.8 Φ of "
            f"{' and '.join(channels)} (the lead hit's {'method' if len(channels) == 1 else 'methods'})"))
    for _, hit in hits[hits["typology"].str.startswith("structuring")].head(MAX_BAND_PICTURES).iterrows():
        measures = _json_or_text(hit["measures"])
        channel = measures.get("method", "cash") if isinstance(measures, dict) else "cash"
        window = _day_span(graph, hit["window_start"], hit["window_end"])
        parts.append(_figure_html(
            plot.structuring_band(graph, hit["subject"], channel=channel, rule_set=run_rule_set(config),
                                  days=window, reveal_ids=reveal_ids, key_file=key_file),
            f"near-threshold band of {name_of(hit['subject'])} ({channel}, the structuring hit's window)"))
    return "".join(parts)


def _hit_channels(hit) -> tuple[str, ...]:
    """The methods a hit is about: those its Φ names (a cash structuring hit's is cash), in
    :data:`~flowgraph.config.CHANNELS` order; transfers for a hit that names none."""
    phi = _json_or_text(hit["phi"])
    named = [c for c in CHANNELS if isinstance(phi, dict) and c in phi]
    return tuple(named) or ("transfer",)


def _day_span(graph, first, last) -> tuple[int, int]:
    """Business-day indices of a window in a graph of kept transactions, clipped to the
    days it holds (the kept rows may start after the window or end before it)."""
    days = graph.business_days
    lo = int(np.searchsorted(days, np.datetime64(pd.Timestamp(first).date(), "D")))
    hi = int(np.searchsorted(days, np.datetime64(pd.Timestamp(last).date(), "D"), side="right")) - 1
    return min(lo, graph.n_days - 1), max(min(hi, graph.n_days - 1), 0)


def _dispositions(store, alert_id: str, name, own_ids: dict[str, str]) -> str:
    """The decisions on the alert, oldest first; with ``name`` (a de-identified page) the
    notes are de-identified (:mod:`flowgraph.desk.notes`; ``own_ids``: the alert's ids and
    their kinds) and the page says so when that changed one."""
    history = store.query("SELECT disposition, analyst, decided_at, note, decided_window_end AS window_end_then "
                          "FROM dispositions WHERE alert_id = ? ORDER BY decided_at, rowid", [alert_id])
    if history.empty:
        return "<p>No decision yet. Record one with <code>flowgraph dispose ALERT_ID --as excluded|reported|case "\
               "--analyst NAME</code>.</p>"
    records = history.to_dict("records")
    written = [r["note"] or "" for r in records]
    if name is None:
        return _render(records, None, {})
    for record, note in zip(records, deidentify_notes(store, written, name, own_ids)):
        record["note"] = note
    changed = [r["note"] for r in records] != written
    return _render(records, None, {}) + (f'<p class="note">{html.escape(DEIDENTIFIED)}</p>' if changed else "")
