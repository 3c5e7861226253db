"""The numba options every kernel is compiled with, kept in one place.

- ``cache=True``: the machine code is stored beside the source (``__pycache__``), so a new
  process loads it instead of compiling again.
- ``nogil=True``: kernels release the GIL, so independent kernels may run in threads.
- no ``fastmath``: it lets the compiler reorder floating-point sums, and money sums must
  come out the same to the cent on every machine (STYLE.md).
"""

from __future__ import annotations

import functools

import numba

#: Decorator for every kernel in :mod:`flowgraph._kernels`.
jit = functools.partial(numba.njit, cache=True, nogil=True)
