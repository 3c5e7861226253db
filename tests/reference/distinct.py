"""Codes of distinct values written out with a dict (for flowgraph._kernels.distinct)."""


def distinct_codes_reference(values) -> tuple[list[int], list[int]]:
    """Codes in order of first appearance, and the distinct values in that order."""
    seen: dict[int, int] = {}
    codes = [seen.setdefault(int(v), len(seen)) for v in values]
    return codes, list(seen)
