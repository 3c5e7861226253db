"""The transactions a case file shows, kept in the run store.

The store holds hits with their evidence transaction ids, not the transactions (those
stay in the bank's data). An investigator opening an alert needs the transactions
themselves: dates, amounts, directions, channels, and enough around the subject to draw
its daily flows and its near-threshold band. So a scan keeps, beside its hits, in the
same owner-only SQLite file (SPEC §7: the store is the system of record and holds real
ids):

- ``case_transactions``: every evidence transaction of the hits of the run's raised
  alerts, plus every transaction of each such hit's subject account from :data:`CONTEXT_DAYS` business days
  before its window to as many after (one interval per subject: the span of its hits);
- ``case_accounts``: customer and party type of the accounts those transactions touch
  (Φ of a transfer depends on the party type, SPEC §2).

Rows are keyed by transaction id (account id), so re-scanning adds nothing twice.
:func:`case_graph` rebuilds a small :class:`~flowgraph.graph.TransactionGraph` from them
for the pictures, on the scan's own calendar.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..config import CHANNELS, PARTY_TYPES
from ..graph import TransactionGraph, build_graph
from ..store import parse_json_lists

#: Business days of the subject's own transactions kept before and after its hits'
#: windows: what the daily-flows picture shows around the window.
CONTEXT_DAYS = 5

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS case_transactions (txn_id TEXT PRIMARY KEY, timestamp TEXT, src_account TEXT, "
    "dst_account TEXT, amount REAL, currency TEXT, amount_home REAL, amount_foreign REAL, channel TEXT)",
    "CREATE TABLE IF NOT EXISTS case_accounts (account_id TEXT PRIMARY KEY, customer_id TEXT, party_type TEXT)",
)

COLUMNS = ("txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "amount_home", "amount_foreign",
           "channel")


def case_edges(graph: TransactionGraph, hits: pd.DataFrame, context_days: int = CONTEXT_DAYS) -> np.ndarray:
    """Edge ids a case file of these hits may show (see the module docstring).

    Parameters
    ----------
    graph : TransactionGraph
        The scanned graph.
    hits : DataFrame
        Hits with ``subject``, ``txn_ids``, ``window_start``, ``window_end``.
    context_days : int
        Business days kept around each subject's windows.

    Returns
    -------
    ndarray of int64
        Sorted edge ids.
    """
    if hits.empty or graph.n_edges == 0:
        return np.zeros(0, np.int64)
    evidence = pa.array(list(hits["txn_ids"]), pa.list_(pa.string())).flatten().unique()
    is_evidence = np.asarray(pc.is_in(graph.txn_id_arrow.take(pa.array(graph.txn_pos)), value_set=evidence),
                             dtype=bool)
    # one interval of business days per subject account: the span of its hits, widened
    # a T+1 scan's input may no longer hold an older hit's subject: it keeps no context
    # (Arrow's hash lookup: numpy's isin of object arrays compares them pairwise)
    index = pc.index_in(pa.array(hits["subject"].astype(str).tolist(), pa.string()), value_set=graph.account_id_arrow)
    known = np.asarray(index.is_valid(), dtype=bool)
    subject = np.asarray(index.drop_null(), np.int64)
    first = graph.day_index_of(hits["window_start"].to_numpy(dtype="datetime64[D]")[known]) - context_days
    last = graph.day_index_of(hits["window_end"].to_numpy(dtype="datetime64[D]")[known]) + context_days
    lo = np.full(graph.n_accounts + 1, np.iinfo(np.int64).max)  # the extra slot stands for "no account"
    hi = np.full(graph.n_accounts + 1, np.iinfo(np.int64).min)
    np.minimum.at(lo, subject, first)
    np.maximum.at(hi, subject, last)
    day = graph.day.astype(np.int64)
    src, dst = np.where(graph.src < 0, graph.n_accounts, graph.src), np.where(graph.dst < 0, graph.n_accounts, graph.dst)
    near = ((lo[src] <= day) & (day <= hi[src])) | ((lo[dst] <= day) & (day <= hi[dst]))
    return np.flatnonzero(is_evidence | near)


def keep_case_transactions(store, graph: TransactionGraph, config_hash: str, alert_ids) -> int:
    """Write the case transactions and accounts of the given alerts (the raised ones of a
    run: what an investigator opens) into ``store``, in one SQLite transaction; rows kept
    before are left as they are. The alerts and their hits must be stored already.

    Returns
    -------
    int
        Transactions considered (kept now or before).
    """
    store.conn.execute("CREATE TEMP TABLE IF NOT EXISTS wanted_alerts (alert_id TEXT PRIMARY KEY)")
    store.conn.execute("DELETE FROM wanted_alerts")
    store.conn.executemany("INSERT OR IGNORE INTO wanted_alerts VALUES (?)", [(a,) for a in alert_ids])
    # CROSS JOIN: SQLite then walks the few wanted alerts and looks their hits up by key
    hits = store.query("SELECT DISTINCT h.hit_id, h.subject, h.txn_ids, h.window_start, h.window_end "
                       "FROM wanted_alerts w CROSS JOIN alerts a CROSS JOIN json_each(a.hit_ids) j CROSS JOIN hits h "
                       "WHERE a.alert_id = w.alert_id AND h.config_hash = ? AND h.hit_id = j.value", [config_hash])
    hits["txn_ids"] = parse_json_lists(hits["txn_ids"].tolist())
    edges = case_edges(graph, hits)
    frame = graph.edge_frame(edges)
    rows = graph.transactions.iloc[graph.txn_pos[edges]]
    frame["amount"] = rows["amount"].to_numpy(dtype=float) if "amount" in rows else frame["amount_home"]
    frame["currency"] = rows["currency"].astype(str).to_numpy() if "currency" in rows else "CNY"
    frame["timestamp"] = frame["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    accounts = np.unique(np.concatenate([graph.src[edges], graph.dst[edges]]))
    accounts = accounts[accounts >= 0]
    customer = graph.account_customer[accounts]
    party = graph.account_party[accounts]
    account_rows = list(zip(graph.account_ids[accounts].tolist(),
                            [graph.customer_ids[c] if c >= 0 else None for c in customer.tolist()],
                            [PARTY_TYPES[p] if 0 <= p < len(PARTY_TYPES) else None for p in party.tolist()]))
    txn_rows = list(zip(*(frame[c].astype(object).where(frame[c].notna(), None).tolist() for c in COLUMNS)))
    with store.transaction() as c:
        for statement in SCHEMA:
            c.execute(statement)
        c.executemany(f"INSERT OR IGNORE INTO case_transactions VALUES ({', '.join('?' * len(COLUMNS))})", txn_rows)
        c.executemany("INSERT OR IGNORE INTO case_accounts VALUES (?, ?, ?)", account_rows)
    return len(txn_rows)


def has_case_transactions(store) -> bool:
    """Whether the store keeps case transactions (stores of scans made before it did not)."""
    return store.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'case_transactions'").fetchone() is not None


def case_transactions(store, txn_ids=None, accounts=None) -> pd.DataFrame:
    """Kept transactions with the given ids, or touching the given accounts (all when both
    are None), in time order (empty, with every column, when none is kept)."""
    if not has_case_transactions(store):
        return pd.DataFrame(columns=list(COLUMNS))
    store.conn.execute("CREATE TEMP TABLE IF NOT EXISTS wanted_case (value TEXT PRIMARY KEY)")
    store.conn.execute("DELETE FROM wanted_case")
    if txn_ids is None and accounts is None:
        sql = "SELECT * FROM case_transactions"
    elif accounts is None:
        store.conn.executemany("INSERT OR IGNORE INTO wanted_case VALUES (?)", [(str(t),) for t in txn_ids])
        sql = "SELECT t.* FROM case_transactions t JOIN wanted_case w ON t.txn_id = w.value"
    else:
        store.conn.executemany("INSERT OR IGNORE INTO wanted_case VALUES (?)", [(str(a),) for a in accounts])
        sql = ("SELECT * FROM case_transactions WHERE src_account IN (SELECT value FROM wanted_case) "
               "OR dst_account IN (SELECT value FROM wanted_case)")
    frame = store.query(sql)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    return frame.sort_values(["timestamp", "txn_id"], kind="stable").reset_index(drop=True)


def case_graph(store, transactions: pd.DataFrame, run_config: str | dict) -> TransactionGraph:
    """A graph of kept transactions, on the calendar of the scan whose configuration
    (the ``runs.config`` JSON) is given, with the kept accounts' customers and party types."""
    config = json.loads(run_config) if isinstance(run_config, str) else run_config
    accounts = store.query("SELECT * FROM case_accounts") if has_case_transactions(store) else None
    # the kept amounts are already in the scan's home and foreign currencies: the graph takes
    # them as they are (build_graph's CNY/USD defaults read the two columns without converting)
    table = transactions.assign(channel=pd.Categorical(transactions["channel"], categories=list(CHANNELS)),
                                amount_cny=transactions["amount_home"], amount_usd=transactions["amount_foreign"])
    return build_graph(table, accounts, run_calendar(config))


def run_rule_set(config: dict):
    """The rule set a scan used, from its recorded configuration (a built-in's name, or the
    whole rule set as :meth:`~flowgraph.config.RuleSet.to_dict` wrote it)."""
    from ..config import LargeValueRule, RuleSet, get_rule_set

    rule_set = config.get("rule_set", "PBOC-2016")
    if isinstance(rule_set, str):
        return get_rule_set(rule_set)
    rules = tuple(LargeValueRule(**{**r, "channels": tuple(r["channels"])}) for r in rule_set["rules"])
    return RuleSet(**{**rule_set, "rules": rules})


def run_calendar(config: dict):
    """The business calendar a scan used, from its recorded configuration."""
    from ..calendar import BusinessCalendar

    calendar = config.get("calendar", {})
    extra_holidays, extra_workdays = calendar.get("extra_holidays", ()), calendar.get("extra_workdays", ())
    kind = run_rule_set(config).calendar
    if kind == "us_federal":
        return BusinessCalendar.us_federal(extra_holidays, extra_workdays)
    if kind == "weekdays":
        return BusinessCalendar.weekdays_only(extra_holidays, extra_workdays)
    holidays_file = calendar.get("holidays_file")
    return BusinessCalendar.prc(extra_holidays=extra_holidays, extra_workdays=extra_workdays,
                                beyond_coverage=calendar.get("beyond_coverage", "estimate"),
                                holidays_file=holidays_file["path"] if holidays_file else None)
