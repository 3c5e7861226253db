"""The absolute transfer ceiling W(N, D) of 001 (Du & Xue), SPEC §4.

N accounts moving money for D business days, with a per-transaction ceiling Φ for one
transaction method, can move at most f = W(N, D) · Φ without triggering the monitoring
standards (large-value rules plus the "frequent" rule: ≤ 3 large transactions a day and
never 3 consecutive days at the full rate). The four cases, verbatim from 001:

=========  ======  ================================================
D          N       W(N, D)
=========  ======  ================================================
1          < 3     N
1          ≥ 3     0.8 N − 1.2
> 1        < 3     N · D
> 1        ≥ 3     (2.4 N − 4) · ⌊D / 3⌋ + (0.8 N − 1.2) · (D mod 3)
=========  ======  ================================================

The step between N = 2 and N = 3 is the paper's model (its Figure 2) and is kept.
Across methods the absolute ceiling is Σ_m W(N, D) · Φ_m.

f bounds a one-sided flow: what the first account can send (001), as the large-value rules
sum a customer's receipts and payments apart (003 二㈠). The amount A a hit compares with
it is therefore one way, never receipts plus payments (money passed on would count twice):
see :func:`flowgraph.detectors._common.one_sided`. W(N, D) ≥ D for every N ≥ 1, so one
account's receipts (or payments) pass f only if on some day they reach Φ: a large-value hit.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from .errors import ConfigError


def _check(name: str, value: np.ndarray) -> None:
    bad = (value < 1) | (value != np.floor(value))
    if np.any(bad):
        got = value[bad].ravel()[0]
        raise ConfigError(f"The '{name}' parameter of W must be an int in the range [1, inf). "
                          f"Got {got!r} instead.")


def W(n_accounts, n_days):
    """The ceiling coefficient W(N, D) of 001 (SPEC §4).

    Parameters
    ----------
    n_accounts : int or array of int
        N, accounts the group can use (≥ 1).
    n_days : int or array of int
        D, business days (≥ 1).

    Returns
    -------
    float or ndarray of float64
        W(N, D); the group can move W · Φ per transaction method undetected.

    Examples
    --------
    >>> W(2, 10), W(3, 1), W(3, 10), W(12, 25)
    (20.0, 1.2, 10.8, 206.8)
    """
    n = np.asarray(n_accounts, dtype=np.float64)
    d = np.asarray(n_days, dtype=np.float64)
    _check("n_accounts", n)
    _check("n_days", d)
    single_day = np.where(n < 3, n, 0.8 * n - 1.2)
    multi_day = np.where(n < 3, n * d, (2.4 * n - 4.0) * np.floor(d / 3) + (0.8 * n - 1.2) * np.mod(d, 3))
    # rounded to 1e-10: the model's coefficients are tenths, not binary fractions
    out = np.round(np.where(d == 1, single_day, multi_day), 10)
    return float(out) if out.ndim == 0 else out


def w_scalar(n_accounts: int, n_days: int) -> float:
    """:func:`W` for one (N, D) pair of ints >= 1, without array overhead (scoring calls it
    once per hit)."""
    n, d = n_accounts, n_days
    if d == 1:
        w = n if n < 3 else 0.8 * n - 1.2
    else:
        w = n * d if n < 3 else (2.4 * n - 4.0) * (d // 3) + (0.8 * n - 1.2) * (d % 3)
    return round(float(w), 10)


def ceiling(n_accounts, n_days, phis: Iterable[float]):
    """The absolute ceiling across transaction methods: Σ_m W(N, D) · Φ_m.

    Parameters
    ----------
    n_accounts, n_days : int or array of int
        N and D as in :func:`W`.
    phis : iterable of float
        Φ_m of each method the group used (its large-value threshold, in the unit the
        amounts are compared in).

    Returns
    -------
    float or ndarray of float64
    """
    phi_sum = float(np.sum(np.asarray(list(phis), dtype=np.float64)))
    return W(n_accounts, n_days) * phi_sum
