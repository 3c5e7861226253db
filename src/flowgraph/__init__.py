"""flowgraph: money-laundering typologies on business-day account graphs.

The pipeline reads left to right: ``io`` (readers, adapters) -> ``schema`` (validation)
-> ``graph`` (arrays) -> ``detectors`` (numba kernels) -> ``hits`` (scored with W(N, D)).

The names below are imported when first used (PEP 562), not with the package: the
command line (:mod:`flowgraph._entry`) starts without numpy, pandas or numba loaded, so a
Ctrl-C while they load ends it with a message, not a traceback.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: public name -> the submodule it lives in
_EXPORTS = {
    **dict.fromkeys(["BusinessCalendar", "prc_calendar"], "calendar"),
    **dict.fromkeys(["W", "ceiling"], "ceiling"),
    **dict.fromkeys(["DEFAULT_RULE_SET", "RULE_SETS", "LargeValueRule", "RuleSet", "get_rule_set"], "config"),
    **dict.fromkeys(["DETECTORS", "REGISTRY", "FanParams", "HitSet", "LargeValueParams", "PassThroughParams",
                     "StructuringParams", "run_detectors"], "detectors"),
    **dict.fromkeys(["ConfigError", "DataError", "FlowgraphError"], "errors"),
    **dict.fromkeys(["Hit", "HitTable", "hits_frame"], "hits"),
    **dict.fromkeys(["TransactionGraph", "build_graph"], "graph"),
    **dict.fromkeys(["Dataset", "load_dataset", "read_accounts", "read_amlsim", "read_amlworld", "read_transactions",
                     "write_dataset"], "io"),
    **dict.fromkeys(["RateTable", "default_rates", "read_rates"], "money"),
    **dict.fromkeys(["ValidationReport", "validate_accounts", "validate_transactions"], "schema"),
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    """A public name, imported from its submodule on first use (then kept here)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'flowgraph' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
