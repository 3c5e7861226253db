"""One error template for bad parameters (as scikit-learn's): the message names the
parameter, its class, the allowed range and the value."""

from __future__ import annotations

import math

from ..errors import ConfigError


def check_number(owner: object, name: str, kind: type, low: float, high: float = math.inf,
                 low_open: bool = False, high_open: bool = False) -> None:
    """Raise ConfigError unless ``getattr(owner, name)`` is a ``kind`` in the range."""
    value = getattr(owner, name)
    kind_ok = isinstance(value, kind) and not isinstance(value, bool)
    if kind is float:
        kind_ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    in_range = kind_ok and (value > low if low_open else value >= low) and \
        (value < high if high_open else value <= high)
    if not in_range:
        lo = f"({low}" if low_open else f"[{low}"
        hi = "inf)" if high == math.inf else (f"{high})" if high_open else f"{high}]")
        raise ConfigError(f"The '{name}' parameter of {type(owner).__name__} must be "
                          f"{'an int' if kind is int else 'a float'} in the range {lo}, {hi}. "
                          f"Got {value!r} instead.")
