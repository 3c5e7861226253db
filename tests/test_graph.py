import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from flowgraph.calendar import BusinessCalendar
from flowgraph.graph import CASH_NODE, _factorize_sorted, build_graph
from flowgraph.schema import validate_accounts, validate_transactions


def make_graph(rows, accounts=None, calendar=None):
    cols = ["txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel"]
    v = validate_transactions(pd.DataFrame(rows, columns=cols, dtype=str), "t.csv")
    assert v.report.ok, v.report
    acct = validate_accounts(pd.DataFrame(accounts, columns=["account_id", "customer_id", "party_type"])).table \
        if accounts is not None else None
    return build_graph(v.table, acct, calendar)


# a week around National Day 2024: Sat 09-28 (rest), Sun 09-29 (make-up workday),
# Mon 09-30, 10-01..10-07 holiday, Tue 10-08
ROWS = [
    ("t5", "2024-10-08 09:00:00", "C", "A", "50", "CNY", "transfer"),
    ("t1", "2024-09-28 10:00:00", "A", "B", "100", "CNY", "transfer"),  # Saturday -> 09-29
    ("t2", "2024-09-29 11:00:00", "B", "C", "90", "CNY", "transfer"),
    ("t3", "2024-10-03 12:00:00", "C", "", "80", "CNY", "cash"),        # holiday -> 10-08
    ("t4", "2024-09-30 08:00:00", "", "A", "1000", "USD", "cash"),
    ("t6", "2024-10-08 09:00:00", "B", "B", "10", "CNY", "transfer"),   # same time as t5
]
ACCOUNTS = [("A", "c1", "person"), ("B", "c1", "person"), ("C", "c2", "entity"), ("D", "c3", "entity")]


@pytest.fixture
def graph():
    return make_graph(ROWS, ACCOUNTS)


def test_dense_ids_are_sorted_user_ids(graph):
    assert graph.account_ids.tolist() == ["A", "B", "C", "D"]
    assert graph.customer_ids.tolist() == ["c1", "c2", "c3"]
    assert graph.account_customer.tolist() == [0, 0, 1, 2]
    assert graph.account_party.tolist() == [0, 0, 1, 1]
    assert graph.account_index("C") == 2 and graph.account_index(["B", "A"]).tolist() == [1, 0]
    with pytest.raises(KeyError, match="Z"):
        graph.account_index("Z")


def test_edges_in_time_order_with_business_days(graph):
    assert graph.txn_ids(slice(None)).tolist() == ["t1", "t2", "t4", "t3", "t5", "t6"]
    assert graph.business_days.tolist() == [dt.date(2024, 9, 29), dt.date(2024, 9, 30), dt.date(2024, 10, 8)]
    assert graph.day.tolist() == [0, 0, 1, 2, 2, 2]
    assert graph.src.tolist() == [0, 1, -1, 2, 2, 1]
    assert graph.dst.tolist() == [1, 2, 0, -1, 0, 1]
    assert graph.is_home_currency.tolist() == [True, True, False, True, True, True]
    assert graph.amount_foreign[2] == 1000.0


def test_csr_by_source_and_destination(graph):
    assert graph.txn_ids(graph.out_edges_of(1)).tolist() == ["t2", "t6"]
    assert graph.txn_ids(graph.in_edges_of(0)).tolist() == ["t4", "t5"]
    assert graph.out_edges_of(3).tolist() == [] and graph.in_edges_of(3).tolist() == []
    assert graph.out_indptr.tolist() == [0, 1, 3, 5, 5]
    # out-edges of C restricted to business day 2
    assert graph.txn_ids(graph.out_edges_of(2, days=(2, 2))).tolist() == ["t3", "t5"]
    assert graph.txn_ids(graph.out_edges_of(2, days=(0, 1))).tolist() == []


def test_day_slices_and_windows_are_views(graph):
    assert graph.txn_ids(graph.day_edges(2)).tolist() == ["t3", "t5", "t6"]
    window = graph.window_edges(2, 2)
    assert graph.txn_ids(window).tolist() == ["t4", "t3", "t5", "t6"]
    view = graph.amount_home[window]
    assert np.shares_memory(view, graph.amount_home)
    assert graph.txn_ids(graph.window_edges(1, 10)).tolist() == ["t1", "t2", "t4"]
    with pytest.raises(ValueError, match="window_days"):
        graph.window_edges(1, 0)


def test_day_index_rolls_forward(graph):
    assert graph.day_index("2024-10-05") == 2
    assert graph.day_index("2024-09-28") == 0
    with pytest.raises(KeyError):
        graph.day_index("2024-12-01")


def test_exports_to_networkx_and_igraph(graph):
    g = graph.to_networkx()
    assert g.number_of_edges() == 6
    assert set(g.nodes) == {"A", "B", "C", CASH_NODE}
    assert g.nodes["C"]["party_type"] == "entity" and g.nodes["A"]["customer_id"] == "c1"
    assert g.edges["B", "B", "t6"]["amount_home"] == 10.0
    ig = graph.to_igraph(graph.day_edges(2))
    assert ig.ecount() == 3 and set(ig.vs["name"]) == {"A", "B", "C", CASH_NODE}
    assert sorted(ig.es["txn_id"]) == ["t3", "t5", "t6"]


def test_neighbourhood(graph):
    one_hop = graph.neighbourhood("A", hops=1)
    assert sorted(graph.txn_ids(one_hop)) == ["t1", "t4", "t5"]
    two_hops = graph.neighbourhood("A", hops=2)
    assert sorted(graph.txn_ids(two_hops)) == ["t1", "t2", "t3", "t4", "t5", "t6"]
    # on 10-08 only: A <- C (t5), then C's own edges that day (t3); B is not reached that day
    assert sorted(graph.txn_ids(graph.neighbourhood("A", hops=2, days=(2, 2)))) == ["t3", "t5"]


def test_accounts_only_in_transactions_have_no_customer():
    g = make_graph(ROWS, ACCOUNTS[:2])
    assert g.account_customer.tolist() == [0, 0, -1]
    assert g.account_party.tolist() == [0, 0, -1]
    assert g.summary()["accounts_without_customer"] == 1


def test_empty_graph():
    g = make_graph([])
    assert (g.n_edges, g.n_accounts, g.n_days) == (0, 0, 0)
    assert g.summary()["transactions"] == 0
    assert g.to_networkx().number_of_nodes() == 0


def test_calendar_is_a_parameter():
    g = make_graph(ROWS, ACCOUNTS, BusinessCalendar.weekdays_only())
    # without PRC holidays, 10-03 is a business day and 09-29 (Sunday) is not
    assert str(g.business_days[0]) == "2024-09-30"
    assert g.day.tolist()[0] == 0  # Saturday t1 rolls to Monday 09-30


def test_summary(graph):
    s = graph.summary()
    assert s["transactions"] == 6 and s["cash_transactions"] == 2 and s["self_transfers"] == 1
    assert s["foreign_currency_edges"] == 1 and s["business_days"] == 3
    assert s["bytes_per_transaction"] == pytest.approx(graph.nbytes / 6, abs=0.1)


def test_summary_counts_cash_transactions_by_channel_not_by_an_empty_side():
    # a cash withdrawal booked between two named accounts (AMLSim's CASH-OUT) is cash as
    # much as one with its other side empty
    rows = [("t1", "2024-09-30 08:00:00", "A", "T", "50", "CNY", "cash"),
            ("t2", "2024-09-30 09:00:00", "A", "", "60", "CNY", "cash"),
            ("t3", "2024-09-30 10:00:00", "A", "B", "70", "CNY", "transfer")]
    assert make_graph(rows).summary()["cash_transactions"] == 2


# -- the CSR index against an obvious reference ---------------------------------------------

def reference_adjacency(src, dst, timestamp, txn_id, n_accounts):
    """Plain Python: each account's edge ids sorted by (time, transaction id)."""
    out = {a: [] for a in range(n_accounts)}
    inn = {a: [] for a in range(n_accounts)}
    for e in sorted(range(len(src)), key=lambda e: (timestamp[e], txn_id[e])):
        if src[e] >= 0:
            out[src[e]].append(e)
        if dst[e] >= 0:
            inn[dst[e]].append(e)
    return out, inn


edge = st.tuples(st.integers(-1, 5), st.integers(-1, 5), st.integers(0, 20), st.integers(0, 23))


@given(st.lists(edge, max_size=50))
def test_csr_matches_reference(edges):
    edges = [(s, d, day, h) for s, d, day, h in edges if s >= 0 or d >= 0]
    names = [f"N{i}" for i in range(6)]
    rows = [(f"t{i}", str(pd.Timestamp("2024-09-25") + pd.Timedelta(days=day, hours=h)),
             names[s] if s >= 0 else "", names[d] if d >= 0 else "", "1", "CNY",
             "transfer" if s >= 0 and d >= 0 else "cash")  # only cash may leave a side empty
            for i, (s, d, day, h) in enumerate(edges)]
    g = make_graph(rows)
    # map graph edges back to input rows to compare with the reference in input terms
    pos = g.txn_pos
    ts = [pd.Timestamp(r[1]).value for r in rows]
    src_in = [g.account_index(r[2]) if r[2] else -1 for r in rows]
    dst_in = [g.account_index(r[3]) if r[3] else -1 for r in rows]
    out_ref, in_ref = reference_adjacency(src_in, dst_in, ts, [r[0] for r in rows], g.n_accounts)
    for a in range(g.n_accounts):
        assert pos[g.out_edges_of(a)].tolist() == out_ref[a]
        assert pos[g.in_edges_of(a)].tolist() == in_ref[a]
    # edges are in time order, days never decrease, day slices partition the edges
    assert np.all(np.diff(g.timestamp_ns) >= 0) and np.all(np.diff(g.day) >= 0)
    for d in range(g.n_days):
        assert (g.day[g.day_edges(d)] == d).all()
    assert g.day_indptr[-1] == g.n_edges
    # each edge's business day is the first business day on or after its date
    for e in range(g.n_edges):
        date = np.datetime64(int(g.timestamp_ns[e]), "ns").astype("datetime64[D]")
        assert g.business_days[g.day[e]] == g.calendar.next_business_day(date)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.sampled_from(["a", "B", "é", "账户1", "10", "9", "a "])),
                         max_size=8), min_size=1, max_size=3),
       st.sampled_from(["string", "object", "category", "chunked", "dictionaries"]), st.integers(0, 3))
@example([["b", None, "a"], ["a", "c"], []], "chunked", 1)
@example([["b", "a"], [None, "c", "b", "a"]], "category", 0)
@example([["b", None, "a"], [None, None], ["c"]], "dictionaries", 0)
def test_account_codes_are_sorted_factorize_codes(columns, held, cut):
    """Arrow-hashed account codes equal pandas' sorted factorize (missing ids -1), however
    a column is held: pandas text, Python objects, categories, Arrow large text in several
    chunks (a file a chunk, some of them empty), or Arrow dictionaries chunk by chunk as a
    store's read of GRAPH_DICTIONARY_COLUMNS gives them (each chunk's own dictionary, with
    values no row holds: no account is made of them)."""
    def column(values: list) -> pd.Series:
        chunks = [values[i:i + cut + 1] for i in range(0, len(values), cut + 1)]  # cut every `cut + 1` values
        if held == "chunked":  # with an empty chunk first
            arrow = pa.chunked_array([pa.array([], pa.large_string())] + [pa.array(c, pa.large_string())
                                                                           for c in chunks], pa.large_string())
            return pd.Series(pd.arrays.ArrowExtensionArray(arrow))
        if held == "dictionaries":  # unified into one categorical by to_pandas, as a store's read is
            kind = pa.dictionary(pa.int32(), pa.string())
            dictionaries = [pa.array(sorted({v for v in c if v is not None} | {"unheld", f"z{i}"}), pa.string())
                            for i, c in enumerate(chunks)]
            arrow = pa.chunked_array([pa.DictionaryArray.from_arrays(
                pa.array([None if v is None else d.to_pylist().index(v) for v in c], pa.int32()), d)
                for c, d in zip(chunks, dictionaries)], kind)
            return pa.table({"ids": arrow}).to_pandas()["ids"]
        return pd.Series(values, dtype={"string": "string", "object": object, "category": "category"}[held])

    series = [column(c) for c in columns]
    codes, distinct = _factorize_sorted(series)
    assert [len(c) for c in codes] == [len(c) for c in columns]
    codes = np.concatenate(codes)
    expected_codes, expected = pd.factorize(pd.concat([pd.Series(c, dtype="string") for c in columns],
                                                      ignore_index=True), sort=True)
    assert codes.tolist() == expected_codes.tolist()
    assert distinct.tolist() == list(expected)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["CNY", "USD", "EUR", None]), max_size=12),
       st.lists(st.sampled_from(["JPY", "CNY ", "cny"]), max_size=3))
def test_a_currency_is_the_home_one_alike_as_text_and_as_categories(values, unheld):
    """Whether each row's currency is the home one: the same for a text column and for a
    categorical (a store's read of GRAPH_DICTIONARY_COLUMNS), with categories no row
    holds, near misses ("CNY ", "cny") and missing values (never home)."""
    from flowgraph.graph import _is_text

    categories = sorted({v for v in values if v is not None} | set(unheld))
    as_categories = pd.Series(pd.Categorical(values, categories=categories))
    expected = [v == "CNY" for v in values]
    assert _is_text(pd.Series(values, dtype="string"), "CNY").tolist() == expected
    assert _is_text(as_categories, "CNY").tolist() == expected
    assert _is_text(as_categories, "cny").tolist() == [v == "cny" for v in values]


def test_account_codes_when_each_chunk_has_its_own_dictionary(monkeypatch):
    """Arrow hashes a chunked column into one dictionary shared by its chunks; should it
    give each chunk its own, the dictionaries are unified first: the same codes."""
    import pyarrow.compute as pc

    import flowgraph.graph as graph_module

    encode = pc.dictionary_encode

    def per_chunk(values):
        return pa.chunked_array([encode(c) for c in values.chunks])

    columns = [["b", None, "a", "c"], ["c", "a", "d"]]
    series = [pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([pa.array(c[:2]), pa.array(c[2:])])))
              for c in columns]
    expected = _factorize_sorted(series)
    monkeypatch.setattr(graph_module.pc, "dictionary_encode", per_chunk)
    codes, distinct = _factorize_sorted(series)
    assert np.concatenate(codes).tolist() == np.concatenate(expected[0]).tolist() == [1, -1, 0, 2, 2, 0, 3]
    assert distinct.tolist() == expected[1].tolist() == ["a", "b", "c", "d"]
