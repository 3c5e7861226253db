"""Multi-hop money flows: forwarding links and time-respecting cycles.

**Forwarding link.** Account ``m`` forwarded money when an in-edge ``i`` (``a -> m``,
amount ``x1``) is followed by an out-edge ``o`` (``m -> b``, amount ``x2``) with

- ``o`` later than ``i`` in the graph's time order (edge ids are in time order; equal
  timestamps by transaction id, :func:`flowgraph.graph.edge_order`), at most
  ``hop_days`` window days later (``wday[o] - wday[i] <= hop_days``; window days are
  business or calendar days, see :meth:`flowgraph.graph.TransactionGraph.window_day`);
- ``ceil(share * h) <= x2 <= x1 + floor(tolerance * x1)`` in integer cents, where ``h``
  is what ``m`` held of the money that came in since ``i`` when it paid ``o``: everything
  it received from ``i`` on (``i`` itself and every later in-edge before ``o``, from
  anyone, any amount) less everything it paid out after ``i`` and before ``o``, and at
  least ``x1`` (``h = x1`` for an account that received nothing else meanwhile; money
  that went on to someone else in between is not held); ``share`` and ``tolerance`` given in millionths
  (:func:`ppm`) so that the products stay exact in int64 (:func:`_ppm_floor`,
  :func:`_ppm_ceil`). Why ``r`` and not ``x1``: a forwarder keeps little of what came
  in, while a business account that receives many payments and pays its own bills
  pays, by chance, amounts within 10 % of one of its receipts every week (on simulated
  banks most false forwarding chains and gather-scatter hits through payment
  processors were such payments); what it held meanwhile tells the two apart;
- ``a``, ``b`` accounts other than ``m`` (not cash, not self-transfers), each edge at
  least its sender's materiality floor (``floor_cents``).

Each in-edge keeps at most ``max_links`` links, the earliest. The pass runs once over
pieces of the accounts on the kernel threads (:func:`.evidence.once_in_pieces`: a busy
account's links are searched once, not counted and then searched again). Per in-edge, the out-edges after it are first tested one by
one (at most :data:`SCAN_FIRST` steps, enough for almost every account); a busy account's
in-edge then searches the rest of its hop window in an index of the account's out-edges
(:func:`_out_index`, built once per account in ``O(out-degree + in-degree)``): a binary
tree over them holding, per subtree, bounds of the amounts and of what the account held
when it paid them, so that the search skips every subtree holding no out-edge that
passes the amount band and the held test. What the account held since ``i`` is a
difference of two running sums (received less paid), so an out-edge far from ``i`` is
tested without walking the edges between. A hub that gets and pays ``N`` payments a day
thus costs about ``O(N (SCAN_FIRST + max_links log N))``, where testing every pair in
the hop window cost ``O(N^2)`` (Sweep C, D1: 200,000 payments of one account in one
day). The index changes no link: each out-edge it does not skip is tested exactly as the
scan tests it, and a skipped subtree provably holds none (``tests/test_flow_kernels.py``
compares the index, from any step on, with the plain reference). A subtree's bounds come
from different out-edges, so it may pass them and still hold no link; in the worst case
(out-edges inside the amount band but paid while the account held slightly too much,
alternating with out-edges outside it paid while it held little) the search visits
every out-edge of the window, as the scan did. No account shaped like a merchant,
payment processor, settlement or relay account does (``benchmarks/bench/hub.py``).

**Time-respecting cycles** (:func:`cycles`). From every material start edge ``e0``
(``u -> v``), a depth-first search over forwarding links (successors in time order)
looks for a path back to ``u`` of 2..``max_hops`` hops whose last edge lies within
``window_days`` window days of ``e0`` (inclusive of both days) and that visits no
account twice. Links only go forward in time, so every path found starts at its earliest
edge and each cycle is found from exactly one start edge. Of the cycles from ``e0`` the
kernel keeps the one that closes first (smallest closing edge id; on a tie the first in
depth-first order, i.e. the lexicographically smallest edge sequence): a later edge can
only add cycles that close later, so what a scan found stays what a longer scan finds.
Branches whose edge is not before the best closing edge so far are cut. The search is
bounded per start edge by ``budget`` link expansions; cost is
``O(n_start_edges * min(budget, max_links ** (max_hops - 1)))`` in the worst case and, on
transaction graphs where few links pass the amount test, close to linear. Start edges are
searched in parallel chunks; count-then-fill (:mod:`.evidence`) runs the search twice.

**Forwarding chains** (:func:`longest_chains`, :func:`follow_chains`). Links form a
directed acyclic graph over edges (they point forward in time). A chain starts at a root
edge (one that is no link's out-edge: nobody forwarded that money) and follows the
longest path of links from it (the earliest successor on ties, i.e. the
lexicographically smallest of the longest paths). One dynamic-programming pass from the
last edge back (``O(n_edges + n_links)``, sequential) and a walk per root. A later edge
never makes a root a non-root, so a chain found in a scan keeps its first edge when the
data grows; it may grow longer.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from ._jit import jit
from .csr import in_edge_order
from .evidence import count_then_fill, once_in_pieces, resized
from .runs import chunk_bounds

#: Fractions are taken in millionths (a share of 0.9 is 900,000 ppm).
PPM = 1_000_000


def ppm(fraction: float) -> int:
    """A fraction as the nearest whole number of millionths."""
    return round(float(fraction) * PPM)


@jit
def _ppm_floor(x, parts):
    """floor(x * parts / 10^6) for int64 ``x >= 0`` without overflowing int64."""
    return (x // PPM) * parts + ((x % PPM) * parts) // PPM


@jit
def _ppm_ceil(x, parts):
    """ceil(x * parts / 10^6) for int64 ``x >= 0`` without overflowing int64."""
    return (x // PPM) * parts + ((x % PPM) * parts + PPM - 1) // PPM


@jit
def _passes_on(b, m, x2, held, floor, share_ppm, high):
    """Whether out-edge ``m -> b`` of ``x2`` cents passes on money ``m`` held (``held``
    cents): to another account (not cash, not ``m`` itself), at least the floor and
    ``share_ppm`` of what was held, at most ``high`` (the in-edge's amount with its
    tolerance). The one link test of :func:`_account_links`' two searches."""
    return b >= 0 and b != m and x2 >= floor and x2 >= _ppm_ceil(held, share_ppm) and x2 <= high


class Links(NamedTuple):
    """Forwarding links, one row each (int64 columns)."""

    in_edge: np.ndarray   #: the edge that brought the money to the forwarding account
    out_edge: np.ndarray  #: the later edge that passed it on


@jit
def _first_after(lo, hi, edges, e):
    """First position in ``edges[lo:hi]`` (ascending edge ids) holding an id above ``e``."""
    while lo < hi:
        mid = (lo + hi) // 2
        if edges[mid] <= e:
            lo = mid + 1
        else:
            hi = mid
    return lo


#: Steps (out-edges tested, in-edges added up) a received payment takes one by one, in
#: time order, before the account's out-edge index (:func:`_out_index`) takes over the
#: rest of its hop window.
SCAN_FIRST = 64

#: Above any sum of cents (an "infinite" bound in the index).
_BIG = np.int64(1) << np.int64(62)


@jit
def _most_held(x2, share_ppm):
    """The most cents an account may have held for ``x2`` to pass on at least the share:
    the largest ``h >= 0`` with ``_ppm_ceil(h, share_ppm) <= x2``, i.e.
    ``floor(x2 * 10^6 / share_ppm)`` (``_BIG`` for a share of 0, or beyond it)."""
    if share_ppm == 0:
        return _BIG
    q = x2 // share_ppm
    if q >= _BIG // PPM:
        return _BIG
    return min(q * PPM + ((x2 % share_ppm) * PPM) // share_ppm, _BIG)


@jit
def _out_index(g, m, n_edges, in_cents, share_ppm, floor_cents):
    """An index of account ``m``'s out-edges (those below ``n_edges``) for the links pass.

    What ``m`` held of the money received since in-edge ``i`` when it paid out-edge ``o``
    (before taking ``x1`` as the least) is ``net(i, o) = run[o] - base[i]``: ``run`` is what
    ``m`` received before ``o`` less what it paid before ``o``, ``base`` the same just
    before ``i``'s money (its received running sum at ``i``, its paid running sum at the
    first out-edge after ``i``). ``o`` can pass on money from ``i`` only if
    ``net(i, o) <= most_held(x2)`` (:func:`_most_held`), i.e.
    ``run[o] - most_held(x2) <= base[i]``, and ``ceil(share x1) <= x2 <= high(x1)``.

    Returns
    -------
    run : ndarray of int64
        Per out-edge position (``0`` = ``g.out_indptr[m]``), ``run[o]``.
    paid_before : ndarray of int64
        ``paid_before[k]``: cents of the out-edges at positions before ``k``.
    received_before : ndarray of int64
        ``received_before[p]``: cents of ``m``'s in-edges at positions before ``p``
        (``0`` = ``g.in_indptr[m]``).
    size : int
        Leaves of the tree below (a power of two).
    least_gap, least_run, least_x2, most_x2 : ndarray of int64
        A complete binary tree over the out-edge positions (node 1 the root, leaf of
        position ``k`` at ``size + k``), per node the least ``run - most_held(x2)``, the
        least ``run``, the least and the most ``x2`` of the out-edges under it that may
        pass money on at all (to another account, at least ``m``'s floor; the others are
        left out of all four). The least ``run`` bounds what an out-edge within an
        in-edge's band may have been paid with (``run <= base + most_held(high)``): a
        subtree whose least gap comes from an out-edge far above the band (a large
        settlement) is still skipped when all of it was paid while holding too much.
    """
    dst, cents = g.dst, g.amount_home_cents
    in_edges, out_edges = g.in_edges, g.out_edges
    out_lo, out_hi = g.out_indptr[m], g.out_indptr[m + 1]
    in_lo, in_hi = g.in_indptr[m], g.in_indptr[m + 1]
    n_out = _first_after(out_lo, out_hi, out_edges, n_edges - 1) - out_lo
    received_before = np.zeros(in_hi - in_lo + 1, np.int64)
    for p in range(in_hi - in_lo):
        received_before[p + 1] = received_before[p] + in_cents[in_lo + p]
    paid_before = np.zeros(n_out + 1, np.int64)
    run = np.zeros(n_out, np.int64)
    size = 1
    while size < n_out:
        size *= 2
    least_gap = np.full(2 * size, _BIG, np.int64)
    least_run = np.full(2 * size, _BIG, np.int64)
    least_x2 = np.full(2 * size, _BIG, np.int64)
    most_x2 = np.full(2 * size, -1, np.int64)
    p = 0
    for k in range(n_out):
        o = out_edges[out_lo + k]
        x2 = cents[o]
        paid_before[k + 1] = paid_before[k] + x2
        while in_lo + p < in_hi and in_edges[in_lo + p] < o:
            p += 1
        run[k] = received_before[p] - paid_before[k]
        b = dst[o]
        if b >= 0 and b != m and x2 >= floor_cents[m]:
            least_gap[size + k] = run[k] - _most_held(x2, share_ppm)
            least_run[size + k] = run[k]
            least_x2[size + k] = x2
            most_x2[size + k] = x2
    for v in range(size - 1, 0, -1):
        least_gap[v] = min(least_gap[2 * v], least_gap[2 * v + 1])
        least_run[v] = min(least_run[2 * v], least_run[2 * v + 1])
        least_x2[v] = min(least_x2[2 * v], least_x2[2 * v + 1])
        most_x2[v] = max(most_x2[2 * v], most_x2[2 * v + 1])
    return run, paid_before, received_before, size, least_gap, least_run, least_x2, most_x2


@jit
def _next_candidate(least_gap, least_run, least_x2, most_x2, size, pos, end, base, most_run, low, high):
    """The first out-edge position in ``pos..end - 1`` whose leaf passes the index's tests
    for an in-edge (``least_gap <= base``, ``run <= most_run``, ``low <= x2 <= high``), or
    ``end``. Subtrees whose bounds fail are skipped whole; a subtree that passes may still
    hold no such leaf (its bounds come from different leaves), and the walk then goes on
    to its right."""
    if pos >= end:
        return end
    v = pos + size
    height = 0
    while True:
        if (v << height) - size >= end:
            return end
        if least_gap[v] <= base and least_run[v] <= most_run and least_x2[v] <= high and most_x2[v] >= low:
            if height == 0:
                return v - size
            v *= 2
            height -= 1
            continue
        while v & 1:  # the next subtree to the right: up while v is a right child
            v >>= 1
            height += 1
        if v == 0:
            return end
        v += 1


@jit
def _account_links(g, wday, m, starts, in_cents, n_edges, hop_days, share_ppm, tolerance_ppm, floor_cents,
                   max_links, scan_first, out, pos, fill):
    """Links through account ``m``; written from row ``pos`` when ``fill``; returns their count.
    ``starts``: the positions in ``g.in_edges`` of ``m``'s in-edges that may start a link
    (:func:`forwarding_links` found them); ``in_cents``: the amount of each position's edge,
    read in order rather than gathered edge by edge.

    Per in-edge, the out-edges after it are tested one by one, adding up what came in
    meanwhile, for at most ``scan_first`` steps (an out-edge tested or an in-edge added:
    a payment processor receives thousands of payments between two settlements); if its
    hop window goes on and it has fewer than ``max_links`` links, the rest of the window is
    searched in the account's out-edge index (:func:`_out_index`, built once per account
    when first needed), which skips runs of out-edges that cannot match and tests each
    remaining one as the first part does: the same links, in the same order."""
    dst, cents = g.dst, g.amount_home_cents
    in_edges, out_edges = g.in_edges, g.out_edges
    out_lo, out_hi = g.out_indptr[m], g.out_indptr[m + 1]
    in_lo, in_hi = g.in_indptr[m], g.in_indptr[m + 1]
    indexed = False
    run = np.zeros(0, np.int64)
    paid_before = np.zeros(0, np.int64)
    received_before = np.zeros(0, np.int64)
    size = 0
    least_gap = np.zeros(0, np.int64)
    least_run = np.zeros(0, np.int64)
    least_x2 = np.zeros(0, np.int64)
    most_x2 = np.zeros(0, np.int64)
    n = 0
    for j in starts:
        i = in_edges[j]
        x1 = in_cents[j]
        high = x1 + _ppm_floor(x1, tolerance_ppm)
        received = 0  # cents m received from i up to the candidate out-edge
        sent = 0      # ... and paid out after i, before it
        p = j
        kept = 0
        first = _first_after(out_lo, out_hi, out_edges, i)
        k = first
        ended = False
        steps = 0  # out-edges tested and in-edges added up so far
        while k < out_hi:
            o = out_edges[k]
            if o >= n_edges or wday[o] - wday[i] > hop_days or kept == max_links:
                ended = True
                break
            while p < in_hi and in_edges[p] < o and steps < scan_first:
                received += in_cents[p]
                p += 1
                steps += 1
            if steps >= scan_first:  # o and the rest go to the index
                break
            steps += 1
            k += 1
            b, x2 = dst[o], cents[o]
            held = max(x1, received - sent)
            sent += x2
            if not _passes_on(b, m, x2, held, floor_cents[m], share_ppm, high):
                continue
            if fill:
                out.in_edge[pos + n] = i
                out.out_edge[pos + n] = o
            kept += 1
            n += 1
        if ended or k == out_hi or kept == max_links:
            continue
        if not indexed:
            run, paid_before, received_before, size, least_gap, least_run, least_x2, most_x2 = _out_index(
                g, m, n_edges, in_cents, share_ppm, floor_cents)
            indexed = True
        lo, hi = k, out_hi  # the window's end: the first out-edge past the hop or the scan
        while lo < hi:
            mid = (lo + hi) // 2
            o = out_edges[mid]
            if o < n_edges and wday[o] - wday[i] <= hop_days:
                lo = mid + 1
            else:
                hi = mid
        end = lo - out_lo
        base = received_before[j - in_lo] - paid_before[first - out_lo]
        low = _ppm_ceil(x1, share_ppm)
        most_run = base + min(_most_held(high, share_ppm), _BIG - max(base, 0))  # no overflow
        at = k - out_lo
        while kept < max_links:
            at = _next_candidate(least_gap, least_run, least_x2, most_x2, size, at, end, base, most_run, low, high)
            if at >= end:
                break
            o = out_edges[out_lo + at]
            at += 1
            b, x2 = dst[o], cents[o]
            held = max(x1, run[at - 1] - base)
            if not _passes_on(b, m, x2, held, floor_cents[m], share_ppm, high):
                continue
            if fill:
                out.in_edge[pos + n] = i
                out.out_edge[pos + n] = o
            kept += 1
            n += 1
    return n


@jit
def _links_piece(m0, m1, g, wday, starts_indptr, starts, in_cents, n_edges, hop_days, share_ppm, tolerance_ppm,
                 floor_cents, max_links, scan_first):
    """The links through accounts ``m0 .. m1 - 1`` in one pass over them: each account's
    number of links, and the links (:class:`Links`, exactly as many). Before an account,
    the buffers make room for the most it can have: ``max_links`` per in-edge that may
    start one."""
    counts = np.zeros(m1 - m0, np.int64)
    out = Links(np.zeros(0, np.int64), np.zeros(0, np.int64))
    n_rows = 0
    for m in range(m0, m1):
        room = (starts_indptr[m + 1] - starts_indptr[m]) * max_links
        if n_rows + room > len(out.in_edge):
            out = _grown(out, n_rows, max(2 * len(out.in_edge), n_rows + room))
        n = _account_links(g, wday, m, starts[starts_indptr[m]:starts_indptr[m + 1]], in_cents, n_edges, hop_days,
                           share_ppm, tolerance_ppm, floor_cents, max_links, scan_first, out, n_rows, True)
        counts[m - m0] = n
        n_rows += n
    return counts, _grown(out, n_rows, n_rows)


@jit
def _grown(links, n_rows, size):
    """The first ``n_rows`` links of ``links`` in arrays of ``size`` rows."""
    return Links(resized(links.in_edge, n_rows, size), resized(links.out_edge, n_rows, size))


@jit(parallel=True)
def _link_starts_pass(in_indptr, in_edges, in_src, in_cents, floor_cents, n_edges, n_chunks, offsets, out):
    """Count-then-fill (:mod:`.evidence`): per account, the positions in ``in_edges`` of its
    in-edges that may start a link (sent by another account, at least the sender's floor,
    among the first ``n_edges`` edges)."""
    fill = len(out) > 0
    n_accounts = len(in_indptr) - 1
    bounds = chunk_bounds(n_accounts, n_chunks)
    for ch in numba.prange(len(bounds) - 1):
        for m in range(bounds[ch], bounds[ch + 1]):
            n = 0
            for j in range(in_indptr[m], in_indptr[m + 1]):
                if in_edges[j] >= n_edges:
                    break
                a = in_src[j]
                if a < 0 or a == m or in_cents[j] < floor_cents[a]:
                    continue
                if fill:
                    out[offsets[m] + n] = j
                n += 1
            if not fill:
                offsets[m + 1] = n


def forwarding_links(g, wday, n_edges, hop_days, share_ppm, tolerance_ppm, floor_cents, max_links, n_chunks,
                     in_src=None, in_cents=None, scan_first=SCAN_FIRST):
    """Every forwarding link (see the module docstring) among the first ``n_edges`` edges.

    Parameters
    ----------
    g : GraphArrays
    wday : ndarray of int
        Per edge, its window day (business- or calendar-day index).
    n_edges : int
        Only edges ``0..n_edges - 1`` take part (the data up to a scan's last day).
    hop_days : int
        Largest window-day gap between the two edges of a link.
    share_ppm, tolerance_ppm : int
        The least share passed on and the most it may exceed what came in, in millionths.
    floor_cents : ndarray of int64
        Per account, the least amount (cents) an edge it sends takes part with.
    max_links : int
        Links kept per in-edge (the earliest).
    n_chunks : int
    in_src, in_cents : ndarray, optional
        ``g.src`` and ``g.amount_home_cents`` in the order of ``g.in_edges``, both or
        neither (a caller finding links several times on one graph reads them once; by
        default they are read here, :func:`.csr.in_edge_order`).
    scan_first : int
        Steps each in-edge takes one by one before the account's out-edge index takes over
        (:data:`SCAN_FIRST`; the links do not depend on it, only the time).

    Returns
    -------
    offsets : ndarray of int64
        Account ``m``'s links (it forwarded) are rows ``offsets[m]:offsets[m + 1]``.
    links : Links
        In account order, then by in-edge order, then by out-edge id.
    """
    # the in-edges that may start a link (most are below the floor), found first: the links
    # pass loops over them alone and reads amounts in the in-edges' order
    n_accounts = len(g.in_indptr) - 1
    if in_src is None or in_cents is None:
        in_src, in_cents = in_edge_order(g.in_edges, g.src, g.amount_home_cents)
    starts_indptr, starts = count_then_fill(_link_starts_pass, n_accounts, g.in_indptr, g.in_edges, in_src, in_cents,
                                            floor_cents, n_edges, n_chunks)
    return once_in_pieces(_links_piece, n_accounts, n_chunks, g, wday, starts_indptr, starts, in_cents, n_edges,
                          hop_days, share_ppm, tolerance_ppm, floor_cents, max_links, scan_first)


def within_hop(links: Links, wday: np.ndarray, hop_days: int) -> Links:
    """The links of a set found with a longer hop that are at most ``hop_days`` window days
    apart, in the set's order: exactly the set :func:`forwarding_links` finds with
    ``hop_days`` and the same other parameters. Per in-edge, the out-edges a link may use
    are scanned in id (time) order, so those within the shorter hop come first: the
    earliest ``max_links`` of them are the first ``max_links`` of the longer hop's
    candidates whenever there are that many, and all of them otherwise."""
    keep = wday[links.out_edge] - wday[links.in_edge] <= hop_days
    return Links(links.in_edge[keep], links.out_edge[keep])


class Successors(NamedTuple):
    """Forwarding links grouped by in-edge, over the edges that have any: edge
    ``edge[i]``'s successors (ascending) are ``next_edge[indptr[i]:indptr[i + 1]]``. Sized by
    the links, not the graph: an index of every edge (two arrays of the graph's edges, 0.8 GB
    for the 240-day range of the 1e8 bank, for some 100 k links) was most of what a
    cycle or chain search cost."""

    edge: np.ndarray       #: int64, ascending: the in-edges of the links
    indptr: np.ndarray     #: int64, ``len(edge) + 1``
    next_edge: np.ndarray  #: int64, the out-edges, ascending within each in-edge


def successors(links: Links) -> Successors:
    """Links grouped by in-edge (:class:`Successors`)."""
    order = np.lexsort((links.out_edge, links.in_edge))
    in_edge = np.asarray(links.in_edge, np.int64)[order]
    edge, first = np.unique(in_edge, return_index=True)
    indptr = np.append(first, len(in_edge)).astype(np.int64)
    return Successors(edge.astype(np.int64), indptr, np.asarray(links.out_edge, np.int64)[order])


@jit
def successor_range(succ_edge, succ_indptr, e):
    """Positions ``lo, hi`` of edge ``e``'s successors in :attr:`Successors.next_edge`
    (``lo == hi``: none), by a binary search of :attr:`Successors.edge`."""
    i = np.searchsorted(succ_edge, e)
    if i < len(succ_edge) and succ_edge[i] == e:
        return succ_indptr[i], succ_indptr[i + 1]
    return 0, 0


@jit
def cycle_starts(candidates, src, dst, amount_cents, monitored, floor_cents, n_edges):
    """The edges of ``candidates`` (ascending) below ``n_edges`` a cycle may start with: a
    transfer (neither side cash) from a monitored account to another account of at least
    the sender's floor (int cents). A scan's candidates are the edges that have forwarding
    links (:attr:`Successors.edge`): a cycle goes on from its first edge by one. One pass
    to count and one to fill, without a temporary per test."""
    n = 0
    for e in candidates:
        if e >= n_edges:
            break
        s, d = src[e], dst[e]
        if s >= 0 and d >= 0 and s != d and monitored[s] and amount_cents[e] >= floor_cents[s]:
            n += 1
    out = np.empty(n, np.int64)
    k = 0
    for e in candidates:
        if e >= n_edges:
            break
        s, d = src[e], dst[e]
        if s >= 0 and d >= 0 and s != d and monitored[s] and amount_cents[e] >= floor_cents[s]:
            out[k] = e
            k += 1
    return out


@jit
def _cycle_from(e0, src, dst, wday, succ_edge, succ_indptr, succ, max_hops, window_days, budget, path, child,
                child_end, best):
    """Depth-first search for the earliest-closing cycle from start edge ``e0``; its edges
    go to ``best``; returns its hop count (0: none). ``child[h]:child_end[h]``: the
    successors of ``path[h]`` still to try."""
    u = src[e0]
    last_wday = wday[e0] + window_days - 1
    best_close = np.int64(1) << 62
    best_len = 0
    path[0] = e0
    child[0], child_end[0] = successor_range(succ_edge, succ_indptr, e0)
    depth = 0
    spent = 0
    while depth >= 0:
        k = child[depth]
        if k >= child_end[depth] or spent >= budget:
            depth -= 1
            continue
        child[depth] = k + 1
        o = succ[k]
        if o >= best_close or wday[o] > last_wday:
            child[depth] = child_end[depth]  # successors ascend: the rest are later still
            continue
        spent += 1
        b = dst[o]
        if b == u:  # back after depth + 2 >= 2 hops, the earliest close so far
            best_close = o
            best_len = depth + 2
            for h in range(depth + 1):
                best[h] = path[h]
            best[depth + 1] = o
            continue
        if depth + 2 >= max_hops:  # one more hop could not come back within max_hops
            continue
        seen = False
        for h in range(depth + 1):
            if src[path[h]] == b:
                seen = True
                break
        if seen:
            continue
        depth += 1
        path[depth] = o
        child[depth], child_end[depth] = successor_range(succ_edge, succ_indptr, o)
    return best_len


@jit(parallel=True)
def _cycles_pass(starts, src, dst, wday, succ_edge, succ_indptr, succ, max_hops, window_days, budget, n_chunks,
                 offsets, out):
    fill = len(out) > 0
    bounds = chunk_bounds(len(starts), n_chunks)
    for ch in numba.prange(len(bounds) - 1):
        path = np.zeros(max_hops, np.int64)
        child = np.zeros(max_hops, np.int64)
        child_end = np.zeros(max_hops, np.int64)
        best = np.zeros(max_hops, np.int64)
        for s in range(bounds[ch], bounds[ch + 1]):
            if fill and offsets[s + 1] == offsets[s]:
                continue
            n = _cycle_from(starts[s], src, dst, wday, succ_edge, succ_indptr, succ, max_hops, window_days, budget,
                            path, child, child_end, best)
            if fill:
                for h in range(n):
                    out[offsets[s] + h] = best[h]
            else:
                offsets[s + 1] = n


def cycles(starts, g, wday, succ: Successors, max_hops, window_days, budget, n_chunks):
    """The earliest-closing time-respecting cycle from each start edge (module docstring).

    Parameters
    ----------
    starts : ndarray of int64
        Candidate start edges (material transfers between two accounts).
    g : GraphArrays
    wday : ndarray of int
        Per edge, its window day.
    succ : Successors
        Forwarding links grouped by in-edge (:func:`successors`).
    max_hops, window_days, budget : int
        Longest cycle, window length in window days, link expansions per start edge.
    n_chunks : int

    Returns
    -------
    offsets : ndarray of int64
        Start ``s``'s cycle is ``path[offsets[s]:offsets[s + 1]]`` (empty: none).
    path : ndarray of int64
        The cycle's edges, hop by hop.
    """
    return count_then_fill(_cycles_pass, len(starts), starts, g.src, g.dst, wday, *succ, max_hops, window_days,
                           budget, n_chunks)


@jit
def longest_chains(succ_edge, succ_indptr, succ):
    """Per edge of ``succ_edge`` (the edges that have successors, :class:`Successors`), the
    longest path of forwarding links starting with it (in hops) and the successor that
    starts the rest of it (the earliest on ties); an edge that leads nowhere has 1 hop and
    no successor. Links point to later edges, so one pass from the last edge back settles
    every edge after its successors: ``O(n_links log n_links)``, sequential.

    Returns
    -------
    hops, next_edge : ndarray of int64
        In the order of ``succ_edge``.
    """
    n = len(succ_edge)
    hops = np.ones(n, np.int64)
    next_edge = np.full(n, -1, np.int64)
    for i in range(n - 1, -1, -1):
        for k in range(succ_indptr[i], succ_indptr[i + 1]):
            o = succ[k]
            j = np.searchsorted(succ_edge, o)
            o_hops = hops[j] if j < n and succ_edge[j] == o else 1
            if o_hops + 1 > hops[i]:
                hops[i] = o_hops + 1
                next_edge[i] = o
    return hops, next_edge


@jit
def follow_chains(roots, succ_edge, hops, next_edge):
    """The chain from each root edge (one of ``succ_edge``) along ``next_edge``
    (:func:`longest_chains`): chain ``r`` is ``path[offsets[r]:offsets[r + 1]]``."""
    offsets = np.zeros(len(roots) + 1, np.int64)
    for r in range(len(roots)):
        offsets[r + 1] = offsets[r] + hops[np.searchsorted(succ_edge, roots[r])]
    path = np.zeros(offsets[-1], np.int64)
    for r in range(len(roots)):
        e = roots[r]
        for h in range(offsets[r], offsets[r + 1]):
            path[h] = e
            if h + 1 < offsets[r + 1]:
                e = next_edge[np.searchsorted(succ_edge, e)]
    return offsets, path


class GroupFlows(NamedTuple):
    """Links of qualifying windows, one row each (int64 columns)."""

    cluster: np.ndarray  #: the cluster's first qualifying link (row of the grouped links)
    link: np.ndarray     #: a link in one of the cluster's windows (row of the grouped links)


def group_flows_out(n_rows: int) -> GroupFlows:
    """Room for ``n_rows`` rows."""
    return GroupFlows(np.zeros(n_rows, np.int64), np.zeros(n_rows, np.int64))


@jit
def _emit(first, k1, k2, cluster, in_day, out_day, window_days, out, pos, fill):
    """Rows of the cluster of qualifying windows ``k1..k2`` (ending at those rows); returns
    how many. A row ``j`` is in window ``k`` when ``j <= k`` and its in-day is on or after
    ``k``'s start (``out_day[k] - window_days + 1``, not decreasing in ``k``), so it is in
    one of the cluster's windows exactly when it is in the first that may hold it, window
    ``max(j, k1)``. ``first``: the first row whose out-day is on or after ``k1``'s start
    (an earlier row's in-day, which is not after its out-day, is before it)."""
    n = 0
    start = out_day[k1] - window_days + 1
    for j in range(first, k2 + 1):
        if in_day[j] >= (start if j < k1 else out_day[j] - window_days + 1):
            if fill:
                out.cluster[pos + n] = cluster
                out.link[pos + n] = j
            n += 1
    return n


@jit
def _count(key, counts, step):
    """Adds ``step`` (+1 or -1) to a key's count; returns the change in distinct keys."""
    before = counts[key]
    after = before + step
    counts[key] = after
    if before == 0:
        return 1
    if after == 0:
        return -1
    return 0


@jit
def _group(lo, hi, key_a, key_b, in_day, out_day, by_in, window_days, min_a, min_b, count_a, count_b, out, pos,
           fill):
    """Qualifying windows of one group of links (rows ``lo:hi``, by out-edge), merged into
    clusters; rows written from ``pos`` when ``fill``; returns their count.

    One sweep over the windows in row order keeps, per key, how many links of the current
    window carry it: window ``k`` is window ``k - 1`` with the links whose in-day fell
    before its start taken out (``by_in``: the group's rows by in-day, so each leaves
    once, when the start passes it) and link ``k`` put in when its own in-day is inside.
    ``count_a``, ``count_b`` are zero on entry and left zero."""
    n = 0
    distinct_a = 0
    distinct_b = 0
    gone = lo   # links by_in[lo:gone] have left every window from here on
    first = lo  # first row whose out-day is on or after the current window's start
    cluster = -1
    cluster_first = lo
    for k in range(lo, hi):
        start = out_day[k] - window_days + 1
        while gone < hi and in_day[by_in[gone]] < start:
            j = by_in[gone]
            if j < k:  # not taken out by window j, so it was put in there
                distinct_a += _count(key_a[j], count_a, -1)
                distinct_b += _count(key_b[j], count_b, -1)
            gone += 1
        while out_day[first] < start:
            first += 1
        if in_day[k] >= start:
            distinct_a += _count(key_a[k], count_a, 1)
            distinct_b += _count(key_b[k], count_b, 1)
        if distinct_a >= min_a and distinct_b >= min_b:
            if cluster < 0:
                cluster = k
                cluster_first = first
        elif cluster >= 0:
            n += _emit(cluster_first, cluster, k - 1, cluster, in_day, out_day, window_days, out, pos + n, fill)
            cluster = -1
    if cluster >= 0:
        n += _emit(cluster_first, cluster, hi - 1, cluster, in_day, out_day, window_days, out, pos + n, fill)
    for j in range(lo, hi):
        count_a[key_a[j]] = 0
        count_b[key_b[j]] = 0
    return n


@jit(parallel=True)
def _group_pass(group_indptr, key_a, key_b, in_day, out_day, by_in, window_days, min_a, min_b, n_keys, n_chunks,
                offsets, out):
    fill = len(out.link) > 0
    n_groups = len(group_indptr) - 1
    bounds = chunk_bounds(n_groups, n_chunks)
    for ch in numba.prange(len(bounds) - 1):
        count_a = np.zeros(n_keys, np.int64)
        count_b = np.zeros(n_keys, np.int64)
        for grp in range(bounds[ch], bounds[ch + 1]):
            if fill and offsets[grp + 1] == offsets[grp]:
                continue
            n = _group(group_indptr[grp], group_indptr[grp + 1], key_a, key_b, in_day, out_day, by_in, window_days,
                       min_a, min_b, count_a, count_b, out, offsets[grp], fill)
            if not fill:
                offsets[grp + 1] = n


def group_flows(group_indptr, key_a, key_b, in_day, out_day, window_days, min_a, min_b, n_keys, n_chunks):
    """Windows where a group of links (e.g. all from ``u`` to ``w``) has at least
    ``min_a`` distinct ``key_a`` and ``min_b`` distinct ``key_b`` values.

    Each link ``k`` of a group (rows in out-edge order) ends a window: the group's links
    whose in-edge is at most ``window_days - 1`` window days before ``k``'s out-edge and
    whose out-edge is not after it (rows up to ``k``). Consecutive qualifying windows of a
    group make one cluster: the union of their links.

    Cost: one sort of the links by (group, in-day), then per group one sweep that moves
    each link into and out of the window once, keeping a count per key (``O(links)``),
    and per cluster one pass over the rows from its first window's start to its last
    window (a link takes part in at most ``window_days + 1`` clusters' passes: a
    cluster ends only where the window day changes, since the counts cannot fall
    between windows of one day). A hub's group of ``n`` links costs
    ``O(n log n + window_days x n)``, not ``O(n x links in a window)``.

    Parameters
    ----------
    group_indptr : ndarray of int64
        Group ``g`` is rows ``group_indptr[g]:group_indptr[g + 1]`` of the link columns.
    key_a, key_b : ndarray of int64
        Per link, the keys counted (accounts, below ``n_keys``).
    in_day, out_day : ndarray of int
        Per link, the window days of its in- and out-edge (``in_day <= out_day``; rows of
        a group by ascending ``out_day``).
    window_days, min_a, min_b, n_keys, n_chunks : int

    Returns
    -------
    offsets : ndarray of int64
        Per group, its rows.
    flows : GroupFlows
        Per row, the cluster (its first qualifying link) and a member link, in group
        order, then cluster order, then link order.
    """
    group_indptr = np.asarray(group_indptr, np.int64)
    in_day, out_day = np.asarray(in_day, np.int64), np.asarray(out_day, np.int64)
    # each group's rows by in-day, in the place of the group's rows (rows of no group keep theirs)
    group = np.searchsorted(group_indptr, np.arange(len(in_day)), "right") - 1
    by_in = np.lexsort((in_day, group)).astype(np.int64)
    return count_then_fill(_group_pass, len(group_indptr) - 1, group_indptr, key_a, key_b, in_day, out_day, by_in,
                           window_days, min_a, min_b, n_keys, n_chunks, make_out=group_flows_out)
