"""Parameter constraints and one error template for bad parameters (as scikit-learn's
``_parameter_constraints``): every parameters dataclass declares, per field, what it
accepts, and :func:`validate_params` checks them all at construction. The message names
the parameter, its class, what is allowed and the value::

    The 'window_days' parameter of FanParams must be an int in the range [1, 250]. Got 0 instead.

A field without a constraint is a programming error (raised at the class's first
construction), so no parameter can go unchecked.
"""

from __future__ import annotations

import dataclasses
import math
from os import PathLike
import numbers

import numpy as np

from ..config import RULE_SETS, RuleSet
from ..errors import ConfigError

#: Longest trailing window, business days: about one year ("long term" 长期, SPEC §1).
MAX_WINDOW_DAYS = 250


class Constraint:
    """What one parameter accepts; :meth:`check` returns the value, normalised."""

    description = ""

    def accepts(self, value) -> bool:
        raise NotImplementedError

    def normalise(self, value):
        return value

    def check(self, owner: object, name: str, value):
        """``value`` normalised, or ConfigError in the scikit-learn template."""
        if not self.accepts(value):
            raise ConfigError(f"The '{name}' parameter of {type(owner).__name__} must be {self.description}. "
                              f"Got {value!r} instead.")
        return self.normalise(value)


class Interval(Constraint):
    """An int or a float in a range; ``closed`` is "both", "left", "right" or "neither".

    Ints are accepted for floats (TOML writes ``0`` for ``0.0``) and stored as float, so a
    configuration's hash does not depend on how a number was written; bools are refused.
    """

    def __init__(self, kind: type, low: float, high: float = math.inf, closed: str = "both"):
        self.kind, self.low, self.high = kind, low, high
        self.low_closed = closed in ("both", "left")
        self.high_closed = closed in ("both", "right") and high != math.inf  # inf is never a value
        left = "[" if self.low_closed else "("
        right = "]" if self.high_closed else ")"
        article = "an int" if kind is int else "a float"
        self.description = f"{article} in the range {left}{self._show(low)}, {self._show(high)}{right}"

    def accepts(self, value) -> bool:
        if isinstance(value, (bool, np.bool_)):
            return False
        if not isinstance(value, numbers.Integral if self.kind is int else numbers.Real):
            return False
        above = value >= self.low if self.low_closed else value > self.low
        below = value <= self.high if self.high_closed else value < self.high
        return bool(above and below)  # NaN fails both

    def normalise(self, value):
        return self.kind(value)

    def _show(self, bound: float) -> str:
        return "inf" if bound == math.inf else repr(self.kind(bound))


class Boolean(Constraint):
    description = "a bool (true or false)"

    def accepts(self, value) -> bool:
        return isinstance(value, (bool, np.bool_))

    def normalise(self, value):
        return bool(value)


class Options(Constraint):
    """One of a fixed set of strings."""

    def __init__(self, *options: str):
        self.options = options
        self.description = "one of " + ", ".join(repr(o) for o in options)

    def accepts(self, value) -> bool:
        return isinstance(value, str) and value in self.options


class OptionalPath(Constraint):
    """A file path, or None."""

    description = "a file path (text) or None"

    def accepts(self, value) -> bool:
        return value is None or (isinstance(value, (str, PathLike)) and str(value).strip() != "")

    def normalise(self, value):
        return None if value is None else str(value)


class KnownRuleSet(Constraint):
    """The name of a rule set in :data:`flowgraph.config.RULE_SETS` (read at check time,
    so a rule set a user registers there is known)."""

    @property
    def description(self) -> str:
        return f"a str among {sorted(RULE_SETS)} or a RuleSet"

    def accepts(self, value) -> bool:
        return isinstance(value, RuleSet) or (isinstance(value, str) and value in RULE_SETS)


def validate_params(owner: object) -> None:
    """Check every field of the dataclass ``owner`` against its class's
    ``_parameter_constraints`` (in field order) and store the normalised values.

    Raises
    ------
    ConfigError
        A value its constraint refuses.
    TypeError
        A field without a constraint (a programming error).
    """
    constraints = type(owner)._parameter_constraints
    for f in dataclasses.fields(owner):
        if f.name not in constraints:
            raise TypeError(f"{type(owner).__name__}.{f.name} has no entry in _parameter_constraints")
        object.__setattr__(owner, f.name, constraints[f.name].check(owner, f.name, getattr(owner, f.name)))


def relaxed_count(count: int, band: float, least: int = 2) -> int:
    """A count threshold in the tolerance band (004 ch.2 §4): lowered by ``band``, never
    below ``least`` nor above the count itself."""
    return min(count, max(least, math.ceil(count * (1 - band))))
