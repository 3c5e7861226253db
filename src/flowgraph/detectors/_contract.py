"""The detector contract: what a detector is and what the rest of flowgraph reads from it.

A detector is a :class:`Detector` entry in :data:`flowgraph.detectors.REGISTRY`:

- ``params``: a frozen dataclass with
    - a ``_parameter_constraints`` table covering every field (checked at construction by
      :func:`flowgraph.detectors._params.validate_params`: a bad value is a ConfigError
      naming the field, the allowed range and the value);
    - a ``rule_set`` field (the large-value rule set whose thresholds it uses; the scan
      sets it for every detector);
    - ``relaxed(band) -> params``: the parameters of the tolerance band (004 ch.2 §4);
      return ``self`` when thresholds are regulatory and have no band;
- ``detect(graph, params, days) -> HitTable``: every hit whose run of qualifying days
  reaches the business days ``days`` (indices or dates; None = all), with runs traced from
  the first day of the data, so that how a scan is cut into days changes nothing (a run
  never crosses a month, so a kernel may evaluate from the first day of the scan's first
  month instead, :func:`flowgraph.detectors._common.period_first`: the same runs). An empty
  graph or range gives an empty table. Hits are built with :func:`flowgraph.hits.hit_table`
  from arrays, and their evidence comes from the same jitted rule as the detector's counts.
  A detector whose test judges a hit as a whole (so a hit can stop qualifying as later
  days add to it) lists those it traced and rejected in ``HitTable.dropped``, with their
  evidence: a stored copy from fewer days is then retracted, and so is a stored hit of a
  cluster detector that the rejected cluster holds;
- ``typologies``: one :class:`Typology` per hit typology it emits;
- ``unavailable(graph) -> str | None`` (optional): why it cannot run on this graph (an
  optional column it needs is absent), as a note the scan's manifest lists; ``detect``
  then returns no hits.

Alert weights and families (:mod:`flowgraph.alerts`), evaluation matching
(:mod:`flowgraph.evaluate`), the demo's table (:mod:`flowgraph.cli`) and de-identification
(:mod:`flowgraph.deid`) are derived from the registry: a new detector registers here and
nowhere else. ``tests/test_detector_contract.py`` checks every entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Typology:
    """One hit typology and what the rest of the package needs to know about it.

    Parameters
    ----------
    name : str
        The ``typology`` column of its hits.
    family : str
        Alert family: indicators describing one behaviour count once in an alert.
    weight : float
        Default alert weight (位阶, 004 ch.2 §4), in log-odds (:mod:`flowgraph.alerts`):
        fitted with the model's other defaults on the simulator's training seeds
        (``benchmarks/bench/fit_model.py``); the scan configuration may override it.
    finds : tuple of str
        Planted simulator typologies (:data:`flowgraph.simulate.TYPOLOGIES`) a hit of this
        typology counts as finding.
    imitated_by : tuple of str
        Benign look-alikes (:data:`flowgraph.simulate.LOOKALIKES`) that imitate it; a hit
        on one is a false positive.
    id_measures : tuple of str
        Measures that hold account ids, or contact keys for one named ``contact_id``
        (de-identified in every export; a list of ids or one id).
    counterparts : bool
        Whether its hits' ``accounts`` are the subject's counterparties (the alert model's
        ``reach`` counts them); False where they are the customer's own accounts.
    """

    name: str
    family: str
    weight: float
    finds: tuple = ()
    imitated_by: tuple = ()
    id_measures: tuple = ()
    counterparts: bool = True


@dataclass(frozen=True)
class Detector:
    """A registered detector (see the module docstring)."""

    name: str
    params: type
    detect: Callable
    typologies: tuple = field(default_factory=tuple)
    unavailable: Callable | None = None
    #: Its hits are clusters (connected components of links): with later days a cluster can
    #: join a larger one anchored elsewhere, so a stored hit whose evidence a later cluster
    #: of the same pass holds, and that is not found again, is retracted.
    clusters: bool = False
    #: Its hits of the scan days ``first..last`` are exactly its hits of any earlier first
    #: day whose run ends on ``first`` or later: the first day only selects what was found
    #: (:func:`flowgraph.detectors._common.in_scan`; nothing found depends on where the scan
    #: starts, as a pass-through chain's members or a cluster's links do), and it drops no
    #: hit (``HitTable.dropped`` stays empty). The scan then finds the strict hits that may
    #: cover tolerance-band hits starting before ``first`` in one pass from that earlier
    #: day, and keeps those reaching ``first``, instead of a second pass
    #: (:func:`flowgraph.scan._detector_hits`). ``tests/test_detector_contract.py`` checks
    #: the promise of every detector that makes it.
    first_day_selects_runs: bool = False

    @property
    def default(self):
        """The parameters with every default (SPEC values)."""
        return self.params()
