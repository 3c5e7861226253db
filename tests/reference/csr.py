"""Reference for :mod:`flowgraph._kernels.csr`: group edge ids by key, in edge order."""

from __future__ import annotations


def csr(keys: list[int], n_keys: int) -> tuple[list[int], list[int]]:
    """``(indptr, edges)``: edges with a negative key are left out; each key's edge ids,
    ascending, follow those of the key before it."""
    groups: list[list[int]] = [[] for _ in range(n_keys)]
    for edge, key in enumerate(keys):
        if key >= 0:
            groups[key].append(edge)
    indptr = [0]
    edges: list[int] = []
    for group in groups:
        edges.extend(group)
        indptr.append(len(edges))
    return indptr, edges
