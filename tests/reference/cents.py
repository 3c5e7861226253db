"""Reference for :mod:`flowgraph._kernels.cents`: one amount at a time in Python."""

from __future__ import annotations

import math


def cents_of(amount: float) -> int:
    """``amount * 100`` (a float product, as the kernel forms it) rounded half to even
    by Python's ``round``; -2^63 where that is not an int64."""
    product = amount * 100.0
    if not math.isfinite(product):
        return -(2**63)
    cents = round(product)
    return cents if -(2**63) < cents < 2**63 else -(2**63)
