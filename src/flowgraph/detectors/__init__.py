"""Detectors: one module per typology family, each a frozen parameters dataclass and a
``detect(graph, params, days) -> list[Hit]`` over numba kernels (SPEC §3).

``run_detectors`` runs several (default: all) and returns their hits together.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd

from ..hits import Hit, hits_frame
from . import fan, large_value, pass_through, structuring
from .fan import FanParams
from .large_value import LargeValueParams
from .pass_through import PassThroughParams
from .structuring import StructuringParams

#: detector name -> (module, default parameters)
DETECTORS = {
    "fan": (fan, FanParams()),
    "pass_through": (pass_through, PassThroughParams()),
    "structuring": (structuring, StructuringParams()),
    "large_value": (large_value, LargeValueParams()),
}


@dataclass
class HitSet:
    """Hits of a scan, as objects (``hits``) and as a table (``frame``)."""

    hits: list[Hit]

    @functools.cached_property
    def frame(self) -> pd.DataFrame:
        """The hits as a table (built once)."""
        return hits_frame(self.hits)

    def __len__(self) -> int:
        return len(self.hits)


def run_detectors(graph, detectors: list[str] | None = None, params: dict | None = None, days=None) -> HitSet:
    """Run detectors over a graph.

    Parameters
    ----------
    graph : TransactionGraph
    detectors : list of str, optional
        Names from :data:`DETECTORS`; default all.
    params : dict, optional
        Detector name -> its parameters dataclass, replacing the defaults.
    days : (first, last), optional
        Scan range (business-day indices or dates); default the whole graph.

    Returns
    -------
    HitSet
    """
    names = list(DETECTORS) if detectors is None else list(detectors)
    unknown = [n for n in names if n not in DETECTORS]
    if unknown:
        raise KeyError(f"unknown detector(s) {unknown}; known: {list(DETECTORS)}")
    params = params or {}
    hits: list[Hit] = []
    for name in names:
        module, default = DETECTORS[name]
        hits.extend(module.detect(graph, params.get(name, default), days))
    return HitSet(hits)


__all__ = ["DETECTORS", "HitSet", "run_detectors", "FanParams", "PassThroughParams", "StructuringParams",
           "LargeValueParams"]
