"""Codes of an integer array with few distinct values (Φ per edge: a handful of rule
thresholds): one pass comparing each value with the distinct values seen so far, with no
hash table and no sort of the whole array (pandas' factorize hashes every value under the
GIL; numpy's unique sorts them)."""

from __future__ import annotations

import numpy as np

from ._jit import jit


@jit
def few_distinct_codes(values, max_distinct):
    """Codes of ``values`` numbered in order of first appearance, as ``pd.factorize``.

    Parameters
    ----------
    values : ndarray of int64
    max_distinct : int
        Give up past this many distinct values (the pass costs their number per value).

    Returns
    -------
    ok : bool
        False when there are more than ``max_distinct`` distinct values (the other
        results are then empty).
    codes : ndarray of int64
    uniques : ndarray of int64
        The distinct values, ``uniques[codes]`` is ``values``.
    """
    uniques = np.empty(max_distinct, values.dtype)
    codes = np.empty(len(values), np.int64)
    n_distinct = 0
    last = -1  # the code of the previous value: runs of one value are common
    for i in range(len(values)):
        v = values[i]
        if last >= 0 and uniques[last] == v:
            codes[i] = last
            continue
        k = 0
        while k < n_distinct and uniques[k] != v:
            k += 1
        if k == n_distinct:
            if n_distinct == max_distinct:
                return False, codes[:0], uniques[:0]
            uniques[k] = v
            n_distinct += 1
        codes[i] = k
        last = k
    return True, codes, uniques[:n_distinct].copy()
