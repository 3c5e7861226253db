"""Plain-Python references for :mod:`flowgraph._kernels.flows`: every pair of edges and
every path enumerated in full, money as Python ints of cents compared with ``Decimal``
fractions (no millionths, no pruning, no search budget)."""

from decimal import Decimal

from reference.detectors import cents


def forwarding_links(g, wday, n_edges, hop_days, share, tolerance, floor_cents, max_links):
    """Sorted (in_edge, out_edge) pairs: account m = dst[i] passes on x2 of the x1 it got,
    share * h <= x2 <= (1 + tolerance) * x1 with h = max(x1, what m received on edges
    i..o - 1 less what it paid on edges i + 1..o - 1), within hop_days, earliest
    max_links per i."""
    share, tolerance = Decimal(repr(float(share))), Decimal(repr(float(tolerance)))
    links = []
    for i in range(n_edges):
        a, m = int(g.src[i]), int(g.dst[i])
        x1 = cents(g.amount_home[i])
        if a < 0 or m < 0 or a == m or x1 < floor_cents[a]:
            continue
        kept = []
        for o in range(i + 1, n_edges):
            if int(g.src[o]) != m or int(wday[o]) - int(wday[i]) > hop_days:
                continue
            b, x2 = int(g.dst[o]), cents(g.amount_home[o])
            if b < 0 or b == m or x2 < floor_cents[m]:
                continue
            received = sum(cents(g.amount_home[e]) for e in range(i, o) if int(g.dst[e]) == m)
            paid = sum(cents(g.amount_home[e]) for e in range(i + 1, o) if int(g.src[e]) == m)
            if share * max(x1, received - paid) <= x2 <= (1 + tolerance) * x1:
                kept.append((i, o))
        links.extend(kept[:max_links])
    return sorted(links)


def cycle_starts(g, candidates, monitored, floor_cents, n_edges):
    """Edges of ``candidates`` below ``n_edges`` a cycle may start with: a transfer between
    two different accounts, sent by a monitored one, of at least its floor (amounts in
    cents, Python ints)."""
    return [e for e in candidates
            if e < n_edges and (a := int(g.src[e])) >= 0 and int(g.dst[e]) >= 0 and a != int(g.dst[e])
            and bool(monitored[a]) and cents(g.amount_home[e]) >= floor_cents[a]]


def cycles(g, wday, n_edges, starts, links, max_hops, window_days):
    """start edge -> its cycle's edges: of every simple path of forwarding links from the
    start edge back to its sender (2..max_hops hops, last edge within window_days window
    days of the first), the one with the earliest closing edge, then the smallest edges."""
    nexts = {}
    for i, o in links:
        nexts.setdefault(i, []).append(o)
    found = {}
    for e0 in starts:
        closed = []
        _walk(g, wday, nexts, max_hops, window_days, [e0], closed)
        if closed:
            found[e0] = min(closed, key=lambda p: (p[-1], p))
    return found


def _walk(g, wday, nexts, max_hops, window_days, path, closed):
    """Every simple path of links extending ``path``; those back at its first sender go to ``closed``."""
    u, e0 = int(g.src[path[0]]), path[0]
    for o in nexts.get(path[-1], []):
        if int(wday[o]) - int(wday[e0]) > window_days - 1:
            continue
        b = int(g.dst[o])
        if b == u:
            closed.append(tuple(path) + (o,))
        elif len(path) + 1 < max_hops and b not in {int(g.src[e]) for e in path}:
            _walk(g, wday, nexts, max_hops, window_days, path + [o], closed)


def chains(links):
    """root edge -> its chain: for every edge that starts a link and ends none, of all
    paths of links from it, the longest, then the smallest edge sequence."""
    nexts = {}
    for i, o in links:
        nexts.setdefault(i, []).append(o)
    ends = {o for _, o in links}

    def paths(path):
        yield path
        for o in nexts.get(path[-1], []):
            yield from paths(path + (o,))

    return {root: min(paths((root,)), key=lambda p: (-len(p), p)) for root in sorted(set(nexts) - ends)}


def group_flows(groups, window_days, min_a, min_b):
    """groups: lists of links as (key_a, key_b, in_day, out_day), each in out-edge order;
    -> sorted (group, cluster, link) rows, rows numbered across groups as given. A window
    ends at each link; consecutive qualifying windows of a group make one cluster."""
    rows, base = [], 0
    for gi, links in enumerate(groups):
        cluster, members = None, set()
        for k, (_, _, _, end) in enumerate(links):
            window = [j for j in range(k + 1) if links[j][2] >= end - window_days + 1]
            if len({links[j][0] for j in window}) >= min_a and len({links[j][1] for j in window}) >= min_b:
                cluster = k if cluster is None else cluster
                members |= set(window)
            elif cluster is not None:
                rows += [(gi, base + cluster, base + j) for j in members]
                cluster, members = None, set()
        if cluster is not None:
            rows += [(gi, base + cluster, base + j) for j in members]
        base += len(links)
    return sorted(rows)


def layered_clusters(g, wday, links, window_days, min_sources, min_middle, min_sinks, share):
    """links: (in_edge, out_edge) pairs -> {link: the key link of its cluster}. A window
    ends on each day a link's money left its middle account; in it, middle accounts that
    passed on at least share of all they received that window, components of the links
    through them (breadth-first, with sets), and qualifying components with a link
    ending that day hand their unclaimed links to the earliest cluster they touch (or
    found one keyed by their earliest link)."""
    share = Decimal(repr(float(share)))
    found = {}
    for d in sorted({int(wday[o]) for _, o in links}):
        start = d - window_days + 1
        window = [(i, o) for i, o in links if int(wday[i]) >= start and int(wday[o]) <= d]
        passed = {}
        for m in {int(g.dst[i]) for i, _ in window}:
            out = sum(cents(g.amount_home[o]) for o in {o for i, o in window if int(g.dst[i]) == m})
            got = sum(cents(g.amount_home[e]) for e in range(g.n_edges)
                      if int(g.dst[e]) == m and start <= int(wday[e]) <= d)
            passed[m] = out >= share * got
        kept = [(i, o) for i, o in window if passed[int(g.dst[i])]]
        middles = {int(g.dst[i]) for i, _ in kept}
        for component in _components(g, kept):
            sources = {int(g.src[i]) for i, _ in component} - middles
            sinks = {int(g.dst[o]) for _, o in component} - middles
            if (any(int(wday[o]) == d for _, o in component) and len(sources) >= min_sources
                    and len({int(g.dst[i]) for i, _ in component}) >= min_middle and len(sinks) >= min_sinks):
                claimed = [found[link] for link in component if link in found]
                home = min(claimed) if claimed else min(component)
                for link in component:
                    found.setdefault(link, home)
    return found


def _components(g, links):
    """Links grouped by the connected components of their accounts (payer, middle, payee)."""
    accounts = lambda link: {int(g.src[link[0]]), int(g.dst[link[0]]), int(g.dst[link[1]])}
    left, groups = list(links), []
    while left:
        group, reached = [left.pop(0)], set()
        reached |= accounts(group[0])
        grew = True
        while grew:
            grew = False
            for link in list(left):
                if accounts(link) & reached:
                    left.remove(link)
                    group.append(link)
                    reached |= accounts(link)
                    grew = True
        groups.append(group)
    return groups


def material_running_cents(g, floor_cents):
    """Per position of ``g.in_edges``, the cents of the material payments before it (at
    least the sender's floor, the receiver's for a payment without a sender), summed in
    Python integers from the yuan amounts."""
    total, out = 0, [0]
    for e in g.in_edges.tolist():
        payer = int(g.src[e])
        amount = cents(g.amount_home[e])
        if amount >= int(floor_cents[payer if payer >= 0 else int(g.dst[e])]):
            total += amount
        out.append(total)
    return out
