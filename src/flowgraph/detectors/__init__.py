"""Detectors: one module per typology family, each registered in :data:`REGISTRY` under
the contract of :mod:`flowgraph.detectors._contract` (a validated parameters dataclass,
``detect(graph, params, days) -> HitTable`` over numba kernels, typology metadata; SPEC §3).

``run_detectors`` runs several (default: all) and returns their hits together.
"""

from __future__ import annotations

from ..hits import HitTable
from . import chains, cycles, fan, large_value, layered, pass_through, scatter, structuring, trafficking
from ._contract import Detector, Typology
from .chains import ChainParams
from .cycles import CycleParams
from .fan import FanParams
from .large_value import LargeValueParams
from .layered import LayeredParams
from .pass_through import PassThroughParams
from .scatter import ScatterParams
from .structuring import StructuringParams
from .trafficking import CashDepositParams, LivelihoodParams, NightCashParams, RemittanceParams, SmallCashParams
from .trafficking_accounts import ManyAccountsParams, SharedContactParams

#: detector name -> its registry entry (the one table every other part reads)
REGISTRY: dict[str, Detector] = {d.name: d for d in (fan.DETECTOR, pass_through.DETECTOR, structuring.DETECTOR,
                                                     large_value.DETECTOR, cycles.CYCLES, chains.CHAINS,
                                                     scatter.SCATTER, layered.LAYERED, *trafficking.DETECTORS)}
DETECTORS = REGISTRY

#: hit typology -> its metadata, over every registered detector
TYPOLOGIES: dict[str, Typology] = {t.name: t for d in REGISTRY.values() for t in d.typologies}

def disabled_detectors(graph) -> dict[str, str]:
    """Detector name -> why it cannot run on ``graph`` (e.g. an optional column is
    absent), for the detectors that cannot: the scan's manifest lists them."""
    notes = {name: d.unavailable(graph) for name, d in REGISTRY.items() if d.unavailable is not None}
    return {name: note for name, note in notes.items() if note}


#: Hits of a scan: a table, with Hit objects on demand (the name of earlier versions).
HitSet = HitTable


def run_detectors(graph, detectors: list[str] | None = None, params: dict | None = None, days=None) -> HitTable:
    """Run detectors over a graph.

    Parameters
    ----------
    graph : TransactionGraph
    detectors : list of str, optional
        Names from :data:`REGISTRY`; default all.
    params : dict, optional
        Detector name -> its parameters dataclass, replacing the defaults.
    days : (first, last), optional
        Scan range (business-day indices or dates); default the whole graph. Hits whose
        runs of qualifying days reach it, traced from the first day of the data.

    Returns
    -------
    HitTable
        ``.frame`` the table, ``.hits`` (or indexing) :class:`~flowgraph.hits.Hit` objects.
    """
    names = list(REGISTRY) if detectors is None else list(detectors)
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise KeyError(f"unknown detector(s) {unknown}; known: {list(REGISTRY)}")
    params = params or {}
    return HitTable.concat([REGISTRY[n].detect(graph, params.get(n, REGISTRY[n].default), days) for n in names])


__all__ = ["REGISTRY", "disabled_detectors", "DETECTORS", "TYPOLOGIES", "Detector", "Typology", "HitSet", "HitTable", "run_detectors",
           "FanParams", "PassThroughParams", "StructuringParams", "LargeValueParams",
           "CycleParams", "ChainParams", "ScatterParams", "LayeredParams",
           "SmallCashParams", "RemittanceParams", "CashDepositParams", "NightCashParams", "ManyAccountsParams",
           "SharedContactParams", "LivelihoodParams"]
