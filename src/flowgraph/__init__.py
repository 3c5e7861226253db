"""flowgraph: money-laundering typologies on business-day account graphs.

The pipeline reads left to right: ``io`` (readers, adapters) -> ``schema`` (validation)
-> ``graph`` (arrays) -> ``detectors`` (numba kernels) -> ``hits`` (scored with W(N, D)).
"""

from .calendar import BusinessCalendar, prc_calendar
from .ceiling import W, ceiling
from .config import DEFAULT_RULE_SET, RULE_SETS, LargeValueRule, RuleSet, get_rule_set
from .detectors import (DETECTORS, REGISTRY, FanParams, HitSet, LargeValueParams, PassThroughParams, StructuringParams,
                        run_detectors)
from .errors import ConfigError, DataError, FlowgraphError
from .hits import Hit, HitTable, hits_frame
from .graph import TransactionGraph, build_graph
from .io import (Dataset, load_dataset, read_accounts, read_amlsim, read_amlworld,
                 read_transactions, write_dataset)
from .money import RateTable, default_rates, read_rates
from .schema import ValidationReport, validate_accounts, validate_transactions

__version__ = "0.1.0"

__all__ = [
    "W", "ceiling",
    "BusinessCalendar", "prc_calendar", "RuleSet", "LargeValueRule", "RULE_SETS",
    "DEFAULT_RULE_SET", "get_rule_set", "FlowgraphError", "ConfigError", "DataError",
    "TransactionGraph", "build_graph", "Dataset", "load_dataset", "read_transactions",
    "read_accounts", "read_amlworld", "read_amlsim", "write_dataset", "RateTable",
    "default_rates", "read_rates", "ValidationReport", "validate_transactions",
    "validate_accounts", "run_detectors", "DETECTORS", "REGISTRY", "HitSet", "HitTable", "Hit", "hits_frame", "FanParams",
    "PassThroughParams", "StructuringParams", "LargeValueParams",
]
