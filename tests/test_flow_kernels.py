"""Forwarding links and time-respecting cycles: kernels against their plain-Python
references (tests/reference/flows.py) on random small graphs, in business and calendar
days, and hand-built boundaries."""

import numpy as np
import pandas as pd
from hypothesis import example, given, settings
from hypothesis import strategies as st
from reference.flows import chains as chains_reference
from reference.flows import cycle_starts as cycle_starts_reference
from reference.flows import cycles as cycles_reference
from reference.flows import forwarding_links as links_reference
from reference.flows import group_flows as group_flows_reference

from flowgraph import build_graph, validate_transactions
from flowgraph._kernels.flows import (
    cycle_starts,
    cycles,
    follow_chains,
    forwarding_links,
    group_flows,
    longest_chains,
    ppm,
    successors,
    within_hop,
)
from flowgraph.calendar import BusinessCalendar

CALENDAR = BusinessCalendar.weekdays_only()
START = pd.Timestamp("2024-09-06 09:00")  # a Friday: the next day is a weekend day
# amounts around 100 and its shares: 90 % and 110 % of 100 are on the boundaries
AMOUNTS = [100.0, 99.99, 95.0, 90.0, 89.99, 110.0, 110.01, 105.0, 1_000.0, 0.5]

edge = st.tuples(st.integers(-1, 4), st.integers(-1, 4), st.integers(0, 9), st.sampled_from(AMOUNTS))


def make_graph(edges):
    """Edges (src, dst, calendar day from START, amount); -1 is cash (a deposit or a
    withdrawal: channel ``cash``, the other edges transfers). Edges are in the given
    order inside a day; every one of them is in the graph."""
    rows = []
    for i, (s, d, day, amount) in enumerate(sorted(edges, key=lambda e: e[2])):
        if s < 0 and d < 0:
            d = 0
        when = START + pd.Timedelta(days=day, minutes=i)
        rows.append((f"t{i}", str(when), f"A{s}" if s >= 0 else "", f"A{d}" if d >= 0 else "", str(amount),
                     "cash" if min(s, d) < 0 else "transfer"))
    v = validate_transactions(pd.DataFrame(rows, columns=["txn_id", "timestamp", "src_account", "dst_account",
                                                          "amount", "channel"]), "h")
    assert len(v.table) == len(rows), "a test edge was rejected"
    return build_graph(v.table, None, CALENDAR)


def kernel_links(g, unit, hop_days, share, tolerance, floor, max_links):
    floor_cents = np.full(g.n_accounts, floor, np.int64)
    _, links = forwarding_links(g.arrays, g.window_day(unit), g.n_edges, hop_days, ppm(share), ppm(tolerance),
                                floor_cents, max_links, 3)
    return links


@settings(max_examples=100, deadline=None)
@given(st.lists(edge, min_size=1, max_size=30), st.sampled_from(["business", "calendar"]), st.integers(0, 4),
       st.sampled_from([0.0, 0.9, 0.95, 1.0]), st.sampled_from([0.0, 0.05, 0.1]), st.sampled_from([0, 9_000]),
       st.integers(1, 3), st.integers(1, 40))
def test_links_match_reference(edges, unit, hop_days, share, tolerance, floor, max_links, n_pieces):
    g = make_graph(edges)
    links = kernel_links(g, unit, hop_days, share, tolerance, floor, max_links)
    got = sorted(zip(links.in_edge.tolist(), links.out_edge.tolist()))
    assert got == links_reference(g, g.window_day(unit), g.n_edges, hop_days, share, tolerance,
                                  [floor] * g.n_accounts, max_links)
    # the accounts in any number of pieces on the threads: the same links in the same order,
    # each account's (the forwarding one's: the in-edge's receiver) under its offsets
    offsets, pieces = forwarding_links(g.arrays, g.window_day(unit), g.n_edges, hop_days, ppm(share), ppm(tolerance),
                                       np.full(g.n_accounts, floor, np.int64), max_links, n_pieces)
    assert (pieces.in_edge.tolist(), pieces.out_edge.tolist()) == (links.in_edge.tolist(), links.out_edge.tolist())
    assert [int(g.dst[i]) for i in pieces.in_edge] == np.repeat(np.arange(g.n_accounts), np.diff(offsets)).tolist()


@settings(max_examples=150, deadline=None)
@given(st.lists(edge, min_size=1, max_size=30), st.integers(0, 30), st.integers(0, 4),
       st.lists(st.sampled_from([0, 9_600, 10_000, 10_200, 11_000]), min_size=5, max_size=5), st.booleans())
# the sender's floor, not the forwarder's: A1's 105 passes its floor of 102 and the 100 it
# received from A0 (floor 0) starts the link, though it is below A1's own floor
@example([(0, 1, 0, 100.0), (1, 2, 0, 105.0)], 30, 0, [0, 10_200, 0, 0, 0], False)
def test_links_among_the_first_edges_with_a_floor_per_sender_match_reference(edges, cut, hop_days, floors, gathered):
    """The in-edges that may start a link are found first (``_link_starts_pass``): only
    those among the first ``n_edges`` edges, sent by another account, at least the
    sender's own floor; the sender and amount columns in in-edge order may be given."""
    g = make_graph(edges)
    n_edges, floor_cents = min(cut, g.n_edges), np.array(floors[:g.n_accounts], np.int64)
    columns = (g.src[g.in_edges], g.amount_home_cents[g.in_edges]) if gathered else ()
    _, links = forwarding_links(g.arrays, g.window_day("business"), n_edges, hop_days, ppm(0.9), ppm(0.1),
                                floor_cents, 2, 3, *columns)
    got = sorted(zip(links.in_edge.tolist(), links.out_edge.tolist()))
    assert got == links_reference(g, g.window_day("business"), n_edges, hop_days, 0.9, 0.1, floor_cents.tolist(), 2)


@settings(max_examples=150, deadline=None)
@given(st.lists(edge, min_size=1, max_size=30), st.sampled_from(["business", "calendar"]), st.integers(0, 4),
       st.integers(0, 5), st.sampled_from([0.0, 0.9]), st.sampled_from([0, 9_000]), st.integers(1, 3))
def test_links_within_a_shorter_hop_are_a_filter_of_a_longer_hops(edges, unit, hop_days, more, share, floor,
                                                                  max_links):
    """What a scan does when chains (hop 3) and cycles (hop 9) ask for the same links: the
    longer hop's set, filtered, is the shorter hop's set, row for row, and the reference's."""
    g = make_graph(edges)
    short = kernel_links(g, unit, hop_days, share, 0.1, floor, max_links)
    filtered = within_hop(kernel_links(g, unit, hop_days + more, share, 0.1, floor, max_links), g.window_day(unit),
                          hop_days)
    assert filtered.in_edge.tolist() == short.in_edge.tolist()
    assert filtered.out_edge.tolist() == short.out_edge.tolist()
    assert sorted(zip(filtered.in_edge.tolist(), filtered.out_edge.tolist())) == links_reference(
        g, g.window_day(unit), g.n_edges, hop_days, share, 0.1, [floor] * g.n_accounts, max_links)


@settings(max_examples=100, deadline=None)
@given(st.lists(edge, min_size=1, max_size=30), st.sampled_from(["business", "calendar"]), st.integers(1, 6),
       st.integers(2, 5), st.sampled_from([0.0, 0.9]))
def test_cycles_match_reference(edges, unit, window_days, max_hops, share):
    g = make_graph(edges)
    wday = g.window_day(unit)
    links = kernel_links(g, unit, window_days - 1, share, 0.1, 0, 50)
    starts = np.flatnonzero((g.src >= 0) & (g.dst >= 0) & (g.src != g.dst)).astype(np.int64)
    offsets, path = cycles(starts, g.arrays, wday, successors(links), max_hops, window_days, 10**6, 3)
    got = {int(s): tuple(path[offsets[k]:offsets[k + 1]].tolist()) for k, s in enumerate(starts)
           if offsets[k + 1] > offsets[k]}
    ref_links = list(zip(links.in_edge.tolist(), links.out_edge.tolist()))
    assert got == cycles_reference(g, wday, g.n_edges, starts.tolist(), ref_links, max_hops, window_days)


@settings(max_examples=150, deadline=None)
@given(st.lists(edge, min_size=1, max_size=30), st.data())
def test_cycle_starts_match_reference(edges, data):
    """Monitored senders and floors drawn per account, floors on the amounts' cents (a
    floor equal to the amount starts a cycle: at or above is inclusive); the edges up to
    any count; the candidates any ascending subset of the edges (a scan's: those with
    forwarding links)."""
    g = make_graph(edges)
    monitored = np.array(data.draw(st.lists(st.booleans(), min_size=g.n_accounts, max_size=g.n_accounts)), bool)
    floors = data.draw(st.lists(st.sampled_from([0, 50, 9_000, 9_999, 10_000, 10_001, 100_000]),
                                min_size=g.n_accounts, max_size=g.n_accounts))
    n_edges = data.draw(st.integers(0, g.n_edges))
    candidates = sorted(data.draw(st.sets(st.integers(0, g.n_edges - 1))))
    got = cycle_starts(np.array(candidates, np.int64), g.src, g.dst, g.amount_home_cents, monitored,
                       np.array(floors, np.int64), n_edges)
    assert got.dtype == np.int64
    assert got.tolist() == cycle_starts_reference(g, candidates, monitored, floors, n_edges)


def links_with(g, unit, hop_days, share, tolerance, floor, max_links, scan_first):
    floor_cents = np.full(g.n_accounts, floor, np.int64)
    _, links = forwarding_links(g.arrays, g.window_day(unit), g.n_edges, hop_days, ppm(share), ppm(tolerance),
                                floor_cents, max_links, 3, scan_first=scan_first)
    return links.in_edge.tolist(), links.out_edge.tolist()


# a busy account A0: payments in from A1..A4 or cash, out to A1..A4 or cash, to itself;
# amounts far apart, so that what it held since a payment often rules a link out
HUB_AMOUNTS = [100.0, 95.0, 90.0, 105.0, 110.0, 89.99, 300.0, 1_000.0, 20.0, 0.5]
hub_edge = st.one_of(st.tuples(st.integers(-1, 4), st.just(0), st.integers(0, 4), st.sampled_from(HUB_AMOUNTS)),
                     st.tuples(st.just(0), st.integers(-1, 4), st.integers(0, 4), st.sampled_from(HUB_AMOUNTS)))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(edge, hub_edge), min_size=1, max_size=45), st.sampled_from(["business", "calendar"]),
       st.integers(0, 4), st.sampled_from([0.0, 0.5, 0.9, 1.0]), st.sampled_from([0.0, 0.05, 1.0]),
       st.sampled_from([0, 9_000]), st.integers(1, 6), st.integers(0, 3))
def test_links_found_through_the_out_edge_index_match_reference(edges, unit, hop_days, share, tolerance, floor,
                                                                max_links, scan_first):
    """An in-edge takes ``scan_first`` steps one by one (out-edges tested, in-edges added
    up), then searches the rest of its hop window in the account's out-edge index
    (``_out_index``): the same links in the same order as testing every out-edge one by
    one, and the reference's."""
    g = make_graph(edges)
    indexed = links_with(g, unit, hop_days, share, tolerance, floor, max_links, scan_first)
    assert indexed == links_with(g, unit, hop_days, share, tolerance, floor, max_links, 10**9)
    assert sorted(zip(*indexed)) == links_reference(g, g.window_day(unit), g.n_edges, hop_days, share, tolerance,
                                                    [floor] * g.n_accounts, max_links)


def test_the_index_skips_what_the_account_held_and_the_amounts_out_of_the_band():
    # A0 gets 100 from A1, then 1,000 from A4: it then holds 1,100 of the money since the
    # 100 came, so its 100 to A2 forwards nothing of it; after paying 300, 1,000 to A3
    # and 300 it holds less than 100 of it, and its 100 and 95 to A4 forward the payment;
    # 300 is out of both payments' bands, the 1,000 to A3 forwards the 1,000
    g = make_graph([(1, 0, 0, 100.0), (4, 0, 0, 1_000.0), (0, 2, 0, 100.0), (0, 2, 0, 300.0), (0, 3, 0, 1_000.0),
                    (0, 2, 0, 300.0), (0, 4, 0, 100.0), (0, 4, 0, 95.0)])
    for scan_first in (0, 1, 2, 10**9):
        assert links_with(g, "business", 0, 0.9, 0.1, 0, 10, scan_first) == ([0, 0, 1], [6, 7, 4])
        assert links_with(g, "business", 0, 0.9, 0.1, 0, 1, scan_first) == ([0, 1], [6, 4])
    # held exactly twice the 100 passed on: half of it is enough (inclusive), a cent more held is not
    for second, links in ((100.0, ([0, 1], [2, 2])), (100.02, ([1], [2]))):
        g = make_graph([(1, 0, 0, 100.0), (2, 0, 0, second), (0, 3, 0, 100.0)])
        for scan_first in (0, 10**9):
            assert links_with(g, "business", 0, 0.5, 0.1, 0, 10, scan_first) == links


def test_link_amount_boundaries_are_inclusive_and_exact():
    # 100 in; 90 out is exactly 90 %, 110 out exactly 110 %: both forward; 89.99 and 110.01 do not
    g = make_graph([(0, 1, 0, 100.0), (1, 2, 0, 90.0), (1, 2, 0, 110.0), (1, 2, 0, 89.99), (1, 2, 0, 110.01)])
    links = kernel_links(g, "business", 0, 0.9, 0.1, 0, 10)
    assert links.in_edge.tolist() == [0, 0] and links.out_edge.tolist() == [1, 2]


def test_a_payment_forwards_only_what_the_account_held_since_it_came():
    # 100 in, then 11.11 more from someone else: it held 111.11, of which 90 % is 99.999 <= 100
    g = make_graph([(0, 1, 0, 100.0), (2, 1, 0, 11.11), (1, 3, 0, 100.0)])
    assert kernel_links(g, "business", 0, 0.9, 0.0, 0, 10).in_edge.tolist() == [0]
    # 11.12 more: 90 % of 111.12 is 100.008, above what went on: a business paying a bill
    g = make_graph([(0, 1, 0, 100.0), (2, 1, 0, 11.12), (1, 3, 0, 100.0)])
    assert len(kernel_links(g, "business", 0, 0.9, 0.0, 0, 10).in_edge) == 0
    # ... unless it passed that on meanwhile (the second 50 forwards too); what came
    # before the payment does not count, but the first 50 held 200 when it could go on
    g = make_graph([(2, 1, 0, 50.0), (0, 1, 0, 100.0), (2, 1, 0, 50.0), (1, 4, 0, 50.0), (1, 3, 0, 100.0)])
    links = kernel_links(g, "business", 0, 0.9, 0.0, 0, 10)
    assert list(zip(links.in_edge.tolist(), links.out_edge.tolist())) == [(1, 4), (2, 3)]


def test_money_must_leave_after_it_came_and_within_the_hop_window():
    # out before in, and an out 3 business days later with a hop window of 2
    g = make_graph([(1, 2, 0, 100.0), (0, 1, 0, 100.0), (1, 3, 5, 100.0)])  # day 5 = Wed, 3 business days on
    assert len(kernel_links(g, "business", 2, 0.9, 0.0, 0, 10).in_edge) == 0
    assert len(kernel_links(g, "business", 3, 0.9, 0.0, 0, 10).in_edge) == 1


def test_a_weekend_hop_is_two_calendar_days_and_no_business_day():
    # Friday in, Sunday out: Sunday counts toward Monday, one business day after Friday
    g = make_graph([(0, 1, 0, 100.0), (1, 2, 2, 100.0)])
    assert g.calendar_day.tolist() == [0, 2] and g.day.tolist() == [0, 1]
    assert len(kernel_links(g, "business", 1, 0.9, 0.0, 0, 10).in_edge) == 1
    assert len(kernel_links(g, "calendar", 1, 0.9, 0.0, 0, 10).in_edge) == 0
    # Saturday and Sunday both count toward Monday: 0 business days apart, 1 calendar day
    g = make_graph([(0, 1, 1, 100.0), (1, 2, 2, 100.0)])
    assert g.day.tolist() == [0, 0] and g.calendar_day.tolist() == [0, 1]
    assert len(kernel_links(g, "business", 0, 0.9, 0.0, 0, 10).in_edge) == 1
    assert len(kernel_links(g, "calendar", 0, 0.9, 0.0, 0, 10).in_edge) == 0


def test_cash_self_transfers_and_small_amounts_do_not_forward():
    g = make_graph([(-1, 1, 0, 100.0), (1, 2, 0, 100.0), (1, 1, 0, 100.0), (3, 1, 0, 0.5), (1, 2, 0, 0.5)])
    assert len(kernel_links(g, "business", 0, 0.0, 100.0, 100, 10).in_edge) == 0


def test_a_hub_keeps_only_the_earliest_links_per_payment():
    g = make_graph([(0, 1, 0, 100.0)] + [(1, 2 + k % 3, 0, 100.0) for k in range(6)])
    links = kernel_links(g, "business", 0, 0.9, 0.0, 0, 2)
    assert links.out_edge.tolist() == [1, 2]


def _cycles(g, unit, window_days, max_hops, budget=10**6):
    links = kernel_links(g, unit, window_days - 1, 0.9, 0.05, 0, 50)
    starts = np.arange(g.n_edges, dtype=np.int64)
    offsets, path = cycles(starts, g.arrays, g.window_day(unit), successors(links), max_hops,
                           window_days, budget, 2)
    return {k: path[offsets[k]:offsets[k + 1]].tolist() for k in range(len(starts)) if offsets[k + 1] > offsets[k]}


def test_a_cycle_is_found_once_from_its_first_edge_and_respects_k_and_window():
    # A0 -> A1 -> A2 -> A3 -> A0 over calendar days 0, 3, 4, 5 (Fri, Mon, Tue, Wed)
    g = make_graph([(0, 1, 0, 100.0), (1, 2, 3, 98.0), (2, 3, 4, 96.0), (3, 0, 5, 95.0)])
    assert _cycles(g, "business", 4, 4) == {0: [0, 1, 2, 3]}  # business days 0..3
    assert _cycles(g, "business", 3, 4) == {}                 # one business day too long
    assert _cycles(g, "calendar", 6, 4) == {0: [0, 1, 2, 3]}  # calendar days 0..5
    assert _cycles(g, "calendar", 5, 4) == {}
    assert _cycles(g, "business", 4, 3) == {}                 # four hops, k = 3


def test_a_cycle_does_not_pass_an_account_twice_and_a_two_hop_cycle_counts():
    g = make_graph([(0, 1, 0, 100.0), (1, 2, 0, 100.0), (2, 1, 0, 100.0), (1, 0, 0, 100.0)])
    found = _cycles(g, "business", 1, 6)
    assert found[0] == [0, 3]                 # A0 -> A1 -> A0 closes first
    assert found[1] == [1, 2]                 # A1 -> A2 -> A1
    assert all(len(set(g.src[p].tolist())) == len(p) for p in found.values())


def test_the_search_budget_bounds_the_work_per_start_edge():
    g = make_graph([(0, 1, 0, 100.0), (1, 2, 0, 100.0), (2, 3, 0, 100.0), (3, 0, 0, 100.0)])
    assert _cycles(g, "business", 1, 6, budget=3) == {0: [0, 1, 2, 3]}
    assert _cycles(g, "business", 1, 6, budget=2) == {}


@settings(max_examples=100, deadline=None)
@given(st.lists(edge, min_size=1, max_size=30), st.sampled_from(["business", "calendar"]), st.integers(0, 3),
       st.sampled_from([0.0, 0.9]))
def test_chains_match_reference(edges, unit, hop_days, share):
    g = make_graph(edges)
    links = kernel_links(g, unit, hop_days, share, 0.1, 0, 3)
    roots = np.setdiff1d(links.in_edge, links.out_edge)
    succ = successors(links)
    offsets, path = follow_chains(roots, succ.edge, *longest_chains(*succ))
    got = {int(r): tuple(path[offsets[k]:offsets[k + 1]].tolist()) for k, r in enumerate(roots)}
    assert got == chains_reference(list(zip(links.in_edge.tolist(), links.out_edge.tolist())))


def test_a_chain_takes_the_longest_branch_then_the_earliest():
    # A0 -> A1 -> {A2 (then on to A3), A4}: the branch through A2 is longer though later
    g = make_graph([(0, 1, 0, 100.0), (1, 4, 0, 100.0), (1, 2, 0, 100.0), (2, 3, 0, 100.0), (1, 3, 0, 100.0)])
    links = kernel_links(g, "business", 0, 0.9, 0.0, 0, 10)
    succ = successors(links)
    hops, next_edge = longest_chains(*succ)
    at = {int(e): i for i, e in enumerate(succ.edge)}  # edge 1 (A1 -> A4) leads nowhere: not there
    assert hops[at[0]] == 3 and next_edge[at[0]] == 2 and next_edge[at[2]] == 3 and 1 not in at


link = st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 6), st.integers(0, 3))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(link, max_size=12), min_size=1, max_size=4), st.integers(1, 5), st.integers(1, 4),
       st.integers(1, 3))
def test_group_flows_match_reference(groups, window_days, min_a, min_b):
    # a link's out-edge is `gap` days after its in-edge; rows of a group in out-day order
    got, groups = group_flows_rows(groups, window_days, min_a, min_b, 5)
    assert got == group_flows_reference(groups, window_days, min_a, min_b)


def group_flows_rows(groups, window_days, min_a, min_b, n_keys):
    """The kernel's (group, cluster, link) rows for groups of (key_a, key_b, in_day, gap)."""
    groups = [sorted([(a, b, day, day + gap) for a, b, day, gap in g], key=lambda x: x[3]) for g in groups]
    rows = [x for g in groups for x in g]
    column = lambda c: np.array([x[c] for x in rows], np.int64)
    indptr = np.concatenate([[0], np.cumsum([len(g) for g in groups])]).astype(np.int64)
    offsets, flows = group_flows(indptr, column(0), column(1), column(2), column(3), window_days, min_a, min_b,
                                 n_keys, 2)
    group = np.repeat(np.arange(len(groups)), np.diff(offsets))
    return sorted(zip(group.tolist(), flows.cluster.tolist(), flows.link.tolist())), groups


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 14), st.integers(0, 5)),
                         max_size=60), min_size=1, max_size=3), st.integers(1, 6), st.integers(1, 5), st.integers(1, 4))
def test_group_flows_of_busy_groups_match_reference(groups, window_days, min_a, min_b):
    """Groups of many links over many days (a hub's): links enter and leave the sliding
    window, several clusters per group share links, and the reference still agrees."""
    got, groups = group_flows_rows(groups, window_days, min_a, min_b, 7)
    assert got == group_flows_reference(groups, window_days, min_a, min_b)


def test_clusters_of_one_group_may_share_links():
    # window 2 days, at least 2 distinct keys (in = out day): the window of row 1 (keys 1,
    # 2) qualifies, row 2's (days 1..2: key 2) does not, row 3's (keys 2, 3) does again:
    # row 1 is in both clusters; rows 5 and 6 (days 5..6: keys 4, 1, 2) make a third
    indptr = np.array([0, 7])
    keys = np.array([1, 2, 2, 3, 4, 1, 2])
    days = np.array([0, 1, 2, 2, 5, 6, 6])
    _, flows = group_flows(indptr, keys, keys, days, days, 2, 2, 2, 5, 1)
    assert list(zip(flows.cluster.tolist(), flows.link.tolist())) == [(1, 0), (1, 1), (3, 1), (3, 2), (3, 3),
                                                                      (5, 4), (5, 5), (5, 6)]
    # a window of 4 days qualifies from row 1 to the end: one cluster; row 0 is in it
    # through the windows of rows 1..3 only
    _, flows = group_flows(indptr, keys, keys, days, days, 4, 2, 2, 5, 1)
    assert list(zip(flows.cluster.tolist(), flows.link.tolist())) == [(1, j) for j in range(7)]
    # every in-edge on day 0, window 6 days: row 4 (day 5) has keys 1..4; on day 6 every
    # link's in-day has left the window, its own too: the cluster ends, rows 5, 6 in none
    _, flows = group_flows(indptr, keys, keys, np.zeros(7, np.int64), days, 6, 4, 4, 5, 1)
    assert list(zip(flows.cluster.tolist(), flows.link.tolist())) == [(4, j) for j in range(5)]


def test_a_window_too_short_for_the_intermediaries_gives_no_cluster():
    # three intermediaries on days 0, 2, 4 (in = out day): a 5-day window holds them, 4 does not
    indptr, mids, days = np.array([0, 3]), np.array([1, 2, 3]), np.array([0, 2, 4])
    one_sink = np.zeros(3, np.int64)
    offsets, flows = group_flows(indptr, mids, one_sink, days, days, 5, 3, 1, 4, 1)
    assert offsets.tolist() == [0, 3]
    assert flows.cluster.tolist() == [2, 2, 2] and flows.link.tolist() == [0, 1, 2]
    _, flows = group_flows(indptr, mids, one_sink, days, days, 4, 3, 1, 4, 1)
    assert len(flows.link) == 0


def test_shares_of_the_largest_amounts_stay_exact():
    # 90 % of 9,999,999,999,999.99 yuan is 8,999,999,999,999.991: 9,000,000,000,000.00 is
    # enough, one cent less is not (amount x 900,000 millionths would overflow int64)
    top = 9_999_999_999_999.99
    g = make_graph([(0, 1, 0, top), (1, 2, 0, 9_000_000_000_000.0), (1, 3, 0, 8_999_999_999_999.99)])
    links = kernel_links(g, "business", 0, 0.9, 0.0, 0, 10)
    assert links.out_edge.tolist() == [1]
    assert links_reference(g, g.day, g.n_edges, 0, 0.9, 0.0, [0] * g.n_accounts, 10) == [(0, 1)]
