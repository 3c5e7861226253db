"""The edges a case file keeps, written out edge by edge with dicts (for
flowgraph._kernels.context and flowgraph.desk.evidence.case_edges)."""


def kept_edges_reference(src, dst, day, intervals: dict[int, tuple[int, int]], is_evidence,
                         max_context: int) -> list[int]:
    """Edge ids kept: evidence, or an edge on a business day inside the interval of one of
    its sides (``intervals``: account -> (first day, last day)) whose account is near no
    more than ``max_context`` edges (an edge with the account on both sides counts twice)."""
    def near(account, d):
        return account in intervals and intervals[account][0] <= d <= intervals[account][1]

    n_near: dict[int, int] = {}
    for s, t, d in zip(src, dst, day):
        for account in (s, t):
            if near(account, d):
                n_near[account] = n_near.get(account, 0) + 1
    return [e for e, (s, t, d) in enumerate(zip(src, dst, day))
            if is_evidence[e] or any(near(a, d) and n_near[a] <= max_context for a in (s, t))]
