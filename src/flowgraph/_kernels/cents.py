"""Amounts in major units as integer cents: the kernel behind ``TransactionGraph.amount_home_cents``.

``np.round(amount * 100).astype(np.int64)`` made two temporary arrays of the edges' size (a
range of 39 M edges: 0.6 GB of fresh memory each time) in one thread; this writes the
cents in one parallel pass.
"""

from __future__ import annotations

import numba
import numpy as np

from ._jit import jit

#: What a value without cents (NaN, infinite, beyond int64) becomes: what numpy's cast writes on x86.
NO_CENTS = np.iinfo(np.int64).min
#: Below this magnitude a rounded float is an int64 exactly (2^63 is not).
_INT64_LIMIT = 2.0 ** 63


@jit(parallel=True)
def cents_of(amount):
    """Each amount (float64, major units) times 100, rounded half to even, as int64.

    Parameters
    ----------
    amount : ndarray of float64

    Returns
    -------
    ndarray of int64
        :data:`NO_CENTS` where the amount is not finite or its cents exceed int64.
    """
    out = np.empty(len(amount), np.int64)
    for i in numba.prange(len(amount)):
        cents = np.rint(amount[i] * 100.0)
        out[i] = np.int64(cents) if abs(cents) < _INT64_LIMIT else NO_CENTS
    return out
