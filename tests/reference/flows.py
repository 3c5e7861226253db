"""Plain-Python references for :mod:`flowgraph._kernels.flows`: every pair of edges and
every path enumerated in full, money as Python ints of cents compared with ``Decimal``
fractions (no millionths, no pruning, no search budget)."""

from decimal import Decimal

from reference.detectors import cents


def forwarding_links(g, wday, n_edges, hop_days, share, tolerance, floor_cents, max_links):
    """Sorted (in_edge, out_edge) pairs: account m = dst[i] passes on x2 of the x1 it got,
    share * x1 <= x2 <= (1 + tolerance) * x1, within hop_days, earliest max_links per i."""
    share, tolerance = Decimal(repr(float(share))), Decimal(repr(float(tolerance)))
    links = []
    for i in range(n_edges):
        a, m = int(g.src[i]), int(g.dst[i])
        x1 = cents(g.amount_cny[i])
        if a < 0 or m < 0 or a == m or x1 < floor_cents[a]:
            continue
        kept = []
        for o in range(i + 1, n_edges):
            if int(g.src[o]) != m or int(wday[o]) - int(wday[i]) > hop_days:
                continue
            b, x2 = int(g.dst[o]), cents(g.amount_cny[o])
            if b < 0 or b == m or x2 < floor_cents[m]:
                continue
            if share * x1 <= x2 <= (1 + tolerance) * x1:
                kept.append((i, o))
        links.extend(kept[:max_links])
    return sorted(links)


def cycles(g, wday, n_edges, starts, links, max_hops, window_days):
    """start edge -> its cycle's edges: of every simple path of forwarding links from the
    start edge back to its sender (2..max_hops hops, last edge within window_days window
    days of the first), the one with the earliest closing edge, then the smallest edges."""
    nexts = {}
    for i, o in links:
        nexts.setdefault(i, []).append(o)
    found = {}
    for e0 in starts:
        u = int(g.src[e0])
        closed = []

        def walk(path):
            for o in nexts.get(path[-1], []):
                if int(wday[o]) - int(wday[e0]) > window_days - 1:
                    continue
                b = int(g.dst[o])
                if b == u:
                    closed.append(tuple(path) + (o,))
                elif len(path) + 1 < max_hops and b not in {int(g.src[e]) for e in path}:
                    walk(path + [o])

        walk([e0])
        if closed:
            found[e0] = min(closed, key=lambda p: (p[-1], p))
    return found
