"""Layered flows (bipartite and stack): forwarding links grouped into windowed components.

The input is the forwarding links of a graph (:mod:`.flows`: payer ``a`` pays middle
``m``, which passes it on to payee ``b``), sorted by out-edge (so by the window day money
left the middle) and then in-edge. A **window** ends on each window day ``d`` on which
some link's out-edge lies; it holds the links whose in-edge is on or after
``d - window_days + 1`` and whose out-edge is on or before ``d``.

In each window:

1. a middle account ``m`` *qualifies* when what it passed on through the window's links
   (the sum of their distinct out-edges, int cents) is at least ``share`` × what it
   received on the window's days (its in-edges, from anyone, that the caller's running
   sum counts: the detector counts the material ones): it keeps little of what came in
   (FlowScope's balanced in/out at the middle);
2. the links through qualifying middles join their three accounts; each connected
   component has *middles* (the qualifying middles in it), *sources* (payers that are
   not qualifying middles) and *sinks* (payees that are not qualifying middles);
3. a component qualifies when it has at least ``min_sources`` sources, ``min_middle``
   middles and ``min_sinks`` sinks and one of its links left the middle on day ``d``
   (what an earlier window already saw is not a new finding).

**Clusters.** Windows are taken in day order. A qualifying component whose links already
belong to clusters hands its unclaimed links to the earliest of them (by key link);
otherwise it founds a cluster whose key is its earliest link (smallest in-edge, then
out-edge). A link never changes cluster, and a window sees only data up to its day: a
longer scan finds what a shorter one found and may add links to it.

Cost: each link is in at most ``window_days`` windows (as many as there are window days
from its out-edge to ``window_days - 1`` days after its in-edge), so
``O(window_days × n_links × α)`` with union-find, plus a binary search per middle and
window; sequential (the windows share their clusters).
"""

from __future__ import annotations

import numpy as np

from ._jit import jit
from .flows import _ppm_ceil


@jit
def _find(parent, x):
    root = x
    while parent[root] != root:
        root = parent[root]
    while parent[x] != root:  # path compression
        nxt = parent[x]
        parent[x] = root
        x = nxt
    return root


@jit
def _received_cents(in_indptr, in_edges, in_cum_cents, wday, m, n_edges, start, end):
    """Cents account ``m`` received on window days ``start..end`` (edges below ``n_edges``).
    ``m``'s in-edges ascend by edge id, so by time and by window day too."""
    lo, hi = in_indptr[m], in_indptr[m + 1]
    a, b = lo, hi
    while a < b:  # first in-edge on or after start
        mid = (a + b) // 2
        if wday[in_edges[mid]] < start:
            a = mid + 1
        else:
            b = mid
    first = a
    a, b = first, hi
    while a < b:  # first in-edge after end (or not yet in the scan)
        mid = (a + b) // 2
        e = in_edges[mid]
        if e < n_edges and wday[e] <= end:
            a = mid + 1
        else:
            b = mid
    return in_cum_cents[a] - in_cum_cents[first]


@jit
def material_running_cents(in_indptr, in_src, in_cents, floor_cents):
    """Running sum over the graph's in-edges (CSR order) of the cents of the material
    payments: at least their sender's ``floor_cents``, or the receiver's for a payment
    without a sender account. What an account received over a range of its in-edges is a
    difference of two entries. One pass over the in-edges' own columns (``in_src``,
    ``in_cents``: the sender and cents in CSR order, :func:`~flowgraph.detectors.flows.in_edge_columns`),
    which it reads in order (a numpy version made eight 10^7-element temporaries at 1e7;
    reading the edges' columns through ``in_edges`` took 1.2 s a call on the 240-day
    range of the 1e8 bank)."""
    out = np.zeros(len(in_src) + 1, np.int64)
    total = 0
    for m in range(len(in_indptr) - 1):
        own_floor = floor_cents[m]
        for k in range(in_indptr[m], in_indptr[m + 1]):
            payer = in_src[k]
            if in_cents[k] >= (floor_cents[payer] if payer >= 0 else own_floor):
                total += in_cents[k]
            out[k + 1] = total
    return out


@jit
def _earlier(r, s, in_edge, out_edge):
    """Whether link row ``r`` comes before row ``s`` (in-edge, then out-edge)."""
    return in_edge[r] < in_edge[s] or (in_edge[r] == in_edge[s] and out_edge[r] < out_edge[s])


@jit
def layered_clusters(payer, middle, payee, in_edge, out_edge, in_wday, out_wday, cents, in_indptr, in_edges,
                     in_cum_cents, wday, n_edges, window_days, min_sources, min_middle, min_sinks, share_ppm):
    """The cluster of every link (module docstring).

    Parameters
    ----------
    payer, middle, payee : ndarray of int64
        Per link, the accounts of ``a -> m -> b``; rows sorted by out-edge, then in-edge.
    in_edge, out_edge, in_wday, out_wday : ndarray of int64
        Per link, its edges and their window days.
    cents : ndarray of int64
        Per edge, its amount in CNY cents.
    in_indptr, in_edges : ndarray of int64
        The graph's incoming edges per account (ascending edge ids).
    in_cum_cents : ndarray of int64
        ``in_cum_cents[k]`` = cents of the in-edges among ``in_edges[:k]`` that count as
        received (length ``len(in_edges) + 1``).
    wday : ndarray of int
        Per edge, its window day (int32 as the graph keeps it, or int64).
    n_edges, window_days, min_sources, min_middle, min_sinks : int
    share_ppm : int
        The least share of what a middle received that it passes on, in millionths.

    Returns
    -------
    ndarray of int64
        Per link row, the row of its cluster's key link; -1: in no cluster.
    """
    n = len(payer)
    n_accounts = len(in_indptr) - 1
    cluster = np.full(n, -1, np.int64)
    active = np.zeros(n, np.int64)
    parent = np.arange(n_accounts)
    # per account, the window a value was written in (0: never): no clearing between windows
    acc_window = np.zeros(n_accounts, np.int64)
    mid_window = np.zeros(n_accounts, np.int64)
    mid_out = np.zeros(n_accounts, np.int64)
    mid_settled = np.zeros(n_accounts, np.int64)
    mid_ok = np.zeros(n_accounts, np.bool_)
    seen_source = np.zeros(n_accounts, np.int64)
    seen_middle = np.zeros(n_accounts, np.int64)
    seen_sink = np.zeros(n_accounts, np.int64)
    root_window = np.zeros(n_accounts, np.int64)
    n_src = np.zeros(n_accounts, np.int64)
    n_mid = np.zeros(n_accounts, np.int64)
    n_snk = np.zeros(n_accounts, np.int64)
    new = np.zeros(n_accounts, np.bool_)
    key = np.zeros(n_accounts, np.int64)
    claimed = np.zeros(n_accounts, np.int64)
    w = 0
    lo = 0
    p = 0
    while p < n:
        d = out_wday[p]
        q = p
        while q < n and out_wday[q] == d:
            q += 1
        p = q
        w += 1
        start = d - window_days + 1
        while out_wday[lo] < start:
            lo += 1
        k = 0
        for r in range(lo, q):
            if in_wday[r] >= start:
                active[k] = r
                k += 1
        # 1. what each middle passed on (distinct out-edges: rows of one out-edge are adjacent)
        last_out = -1
        for j in range(k):
            r = active[j]
            x = middle[r]
            if mid_window[x] != w:
                mid_window[x] = w
                mid_out[x] = 0
            if out_edge[r] != last_out:
                mid_out[x] += cents[out_edge[r]]
                last_out = out_edge[r]
        for j in range(k):
            x = middle[active[j]]
            if mid_settled[x] != w:
                mid_settled[x] = w
                got = _received_cents(in_indptr, in_edges, in_cum_cents, wday, x, n_edges, start, d)
                mid_ok[x] = mid_out[x] >= _ppm_ceil(got, share_ppm)
        # 2. components of the links through qualifying middles
        for j in range(k):
            r = active[j]
            if not mid_ok[middle[r]]:
                continue
            for x in (payer[r], middle[r], payee[r]):
                if acc_window[x] != w:
                    acc_window[x] = w
                    parent[x] = x
            ra = _find(parent, payer[r])
            rm = _find(parent, middle[r])
            if ra != rm:
                parent[ra] = rm
            rb = _find(parent, payee[r])
            rm = _find(parent, rm)
            if rb != rm:
                parent[rb] = rm
        # 3. sources, middles and sinks per component, its earliest link and claimed cluster
        for j in range(k):
            r = active[j]
            x = middle[r]
            if not mid_ok[x]:
                continue
            root = _find(parent, x)
            if root_window[root] != w:
                root_window[root] = w
                n_src[root] = 0
                n_mid[root] = 0
                n_snk[root] = 0
                new[root] = False
                key[root] = r
                claimed[root] = -1
            if seen_middle[x] != w:
                seen_middle[x] = w
                n_mid[root] += 1
            a, b = payer[r], payee[r]
            if not (mid_window[a] == w and mid_ok[a]) and seen_source[a] != w:
                seen_source[a] = w
                n_src[root] += 1
            if not (mid_window[b] == w and mid_ok[b]) and seen_sink[b] != w:
                seen_sink[b] = w
                n_snk[root] += 1
            if out_wday[r] == d:
                new[root] = True
            if _earlier(r, key[root], in_edge, out_edge):
                key[root] = r
            c = cluster[r]
            if c >= 0 and (claimed[root] < 0 or _earlier(c, claimed[root], in_edge, out_edge)):
                claimed[root] = c
        for j in range(k):
            r = active[j]
            if not mid_ok[middle[r]] or cluster[r] >= 0:
                continue
            root = _find(parent, middle[r])
            if new[root] and n_src[root] >= min_sources and n_mid[root] >= min_middle and n_snk[root] >= min_sinks:
                cluster[r] = claimed[root] if claimed[root] >= 0 else key[root]
    return cluster
