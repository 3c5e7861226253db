"""Plain-Python twins of :mod:`flowgraph._kernels.segments` and of the detectors'
evidence kernels: lists and dicts, integer sums, no shortcuts shared with the kernels."""

from collections import defaultdict


def segments_of(offsets, values):
    return [list(values[offsets[i]:offsets[i + 1]]) for i in range(len(offsets) - 1)]


def sort_unique(lists):
    return [sorted(set(x)) for x in lists]


def accounts(lists, src, dst, subject):
    out = []
    for edges, s in zip(lists, subject):
        others = {int(a) for e in edges for a in (src[e], dst[e]) if a >= 0 and a != s}
        out.append([int(s)] + sorted(others))
    return out


def span(lists, day, default_first, default_last):
    return [(min(day[e] for e in x), max(day[e] for e in x)) if x else (f, g)
            for x, f, g in zip(lists, default_first, default_last)]


def channels(lists, channel):
    return [sum(1 << c for c in {int(channel[e]) for e in x}) for x in lists]


def top_share(lists, other, cents):
    out = []
    for x in lists:
        by_amount, by_count = defaultdict(int), defaultdict(int)
        for e in x:
            by_amount[int(other[e])] += int(cents[e])
            by_count[int(other[e])] += 1
        total = sum(by_amount.values())
        out.append((max(by_amount.values()) / total if x and total > 0 else 0.0,
                    max(by_count.values()) / len(x) if x else 0.0))
    return out


def top_party(lists, party, cents):
    out = []
    for x in lists:
        sums = defaultdict(int)
        for e in x:
            sums[int(party[e])] += int(cents[e])
        out.append(min(sums, key=lambda p: (-sums[p], p)) if x else -1)
    return out


def day_profile(lists, day, window_first, window_days):
    out = []
    for x, first in zip(lists, window_first):
        per_day = defaultdict(int)
        for e in x:
            per_day[int(day[e]) - int(first)] += 1
        out.append((max(per_day.values()) / len(x) if x else 0.0, len(per_day) / window_days))
    return out


def window_edges(graph, a, lo_day, hi_day, side, accept):
    """The account's edges on one side (in: ``dst == a``; out: ``src == a``) on days
    ``lo_day..hi_day`` that ``accept(edge)`` takes, in the graph's time order."""
    own = graph.dst if side == "in" else graph.src
    return [e for e in range(graph.n_edges) if own[e] == a and lo_day <= graph.day[e] <= hi_day and accept(e)]
