"""Reference for :mod:`flowgraph._kernels.ties`: rows of one key in the order of their strings."""

from __future__ import annotations


def order_ties_by_text(order: list[int], keys: list[int], strings: list[str]) -> list[int]:
    """``order`` (rows sorted by key; ``keys`` are the sorted keys) with each run of equal
    keys sorted by the rows' strings as Python compares ``str`` (equal strings keep their
    order: ``sorted`` is stable)."""
    out, start = [], 0
    for end in range(1, len(order) + 1):
        if end == len(order) or keys[end] != keys[start]:
            out += sorted(order[start:end], key=lambda row: strings[row])
            start = end
    return out
