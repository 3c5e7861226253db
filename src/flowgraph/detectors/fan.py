"""Fan-in / fan-out and the two regulatory combinations (SPEC §3.1):
分散转入集中转出 (dispersed in, concentrated out) and 集中转入分散转出 (concentrated in,
dispersed out) "within a short term".

For every account and every business day of the scan, over the trailing
``window_days``: distinct senders and receivers (cash and self-transfers excluded), and
the amounts in and out. Typologies:

- ``fan_in``: senders >= ``min_counterparties``; ``fan_out``: receivers >= it;
- ``dispersed_in_concentrated_out``: senders >= ``min_counterparties``, 1 <= receivers
  <= ``max_concentrated``, and in and out each >= ``material_fraction`` × the account's
  large-value threshold for transfers (LV-PERSON, or LV-ENTITY for entities);
- ``concentrated_in_dispersed_out``: the mirror image.

Consecutive days meeting a condition make one hit, whose evidence is the best day's
window (most counterparties on the "many" side, then the larger amount). Transactions
below ``min_amount_fraction`` × the threshold are ignored throughout. Measures:
counterparty counts, amounts, the pass-on ratio out / in, and count and amount
concentration (the top counterparty's share on each side). A = the amount passed on
(min(in, out)) for the combinations, the amount in (out) for plain fan-in (fan-out).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._kernels.fan import fan_days, fan_days_met, fan_evidence
from .._kernels.runs import day_runs, keep_rows, row_owner, take
from .._kernels.segments import join_segments, segment_top_share
from ..hits import HitParts, HitTable, hit_table, params_fingerprint
from ._common import (cents, in_scan, monitored, n_chunks, narrowed, period_first, phi_table, prepare,
                      transfer_threshold)
from ._contract import Detector, Typology
from ._params import MAX_WINDOW_DAYS, Interval, KnownRuleSet, validate_params

#: The kernel's conditions, in its order (its ``condition`` column indexes this).
CONDITIONS = ("fan_in", "fan_out", "dispersed_in_concentrated_out", "concentrated_in_dispersed_out")


@dataclass(frozen=True)
class FanParams:
    """Parameters of the fan detector (defaults from SPEC §1 and §3.1).

    Parameters
    ----------
    window_days : int
        Trailing window, business days ("short term", 001: 10); at most 250 (one year).
    min_counterparties : int
        The "many" side: at least this many distinct counterparties (SPEC §3.1: 5).
    max_concentrated : int
        The "few" side of the combinations: at most this many (SPEC §3.1: 2); below
        ``min_counterparties``.
    material_fraction : float
        Both sides of a combination must each reach this × the account's large-value
        threshold ("large amount", 001: 0.8), in [0, 1].
    min_amount_fraction : float
        Transactions below this × the account's large-value threshold are not counted
        (de minimis; flowgraph's choice, SPEC is silent): 1 % is 5,000 CNY for a person.
    rule_set : str
        Rule set whose thresholds apply (``flowgraph.config.RULE_SETS``).
    """

    window_days: int = 10
    min_counterparties: int = 5
    max_concentrated: int = 2
    material_fraction: float = 0.8
    min_amount_fraction: float = 0.01
    rule_set: str = "PBOC-2016"

    _parameter_constraints: ClassVar[dict] = {
        "window_days": Interval(int, 1, MAX_WINDOW_DAYS),
        "min_counterparties": Interval(int, 2),
        "max_concentrated": Interval(int, 1),
        "material_fraction": Interval(float, 0.0, 1.0),
        "min_amount_fraction": Interval(float, 0.0, 1.0),
        "rule_set": KnownRuleSet(),
    }

    def __post_init__(self) -> None:
        validate_params(self)
        Interval(int, 1, self.min_counterparties - 1).check(self, "max_concentrated", self.max_concentrated)

    def relaxed(self, band: float) -> "FanParams":
        """The tolerance band's version (004 ch.2 §4): one counterparty fewer on the
        "many" side (at least 2 more than the "few" side allows) and the materiality floor
        lowered by ``band``."""
        many = max(self.max_concentrated + 1, math.ceil(self.min_counterparties * (1 - band)))
        return dataclasses.replace(self, min_counterparties=min(many, self.min_counterparties),
                                   material_fraction=self.material_fraction * (1 - band))


def detect(graph, params: FanParams = FanParams(), days=None) -> HitTable:
    """Fan hits whose runs reach the scan range.

    Parameters
    ----------
    graph : TransactionGraph
    params : FanParams
    days : (first, last), optional
        Business-day indices or dates of the scan; default the whole graph.

    Returns
    -------
    HitTable
    """
    prepared = prepare(graph, params, days)
    if prepared is None:
        return HitTable.empty()
    rules, first, last = prepared
    threshold = transfer_threshold(graph, rules)
    small = params.min_amount_fraction * threshold
    g = graph.arrays
    floor_cents = cents(params.material_fraction * threshold)
    k_many, k_few = params.min_counterparties, params.max_concentrated

    def narrow(held):
        offsets, days_met = held
        return keep_rows(offsets, days_met, fan_days_met(days_met, floor_cents[row_owner(offsets)], k_many, k_few))

    # runs are traced from the first day of the scan's first month, where any run that
    # reaches the scan starts: a scan's first day cuts none; the counts do not depend on
    # k_many or the floor (the tolerance band's run is narrowed)
    start = period_first(graph, first)
    offsets, days_met = narrowed(
        graph, ("fan", start, last, params.window_days, k_few, params.min_amount_fraction, rules),
        (k_many, floor_cents),
        lambda: fan_days(g, start, last, params.window_days, k_many, k_few, floor_cents, small, n_chunks()), narrow)
    runs = day_runs(offsets, days_met, len(CONDITIONS), graph.period_last)
    keep = monitored(graph)[runs.account] & in_scan(runs.last_day, first)
    runs = take(runs, keep)
    best = take(days_met, runs.best_row)
    account, condition, best_day = runs.account, runs.key, best.day
    yes, no = np.ones(len(account), bool), np.zeros(len(account), bool)
    in_off, in_edges = fan_evidence(account, best_day, yes, no, params.window_days, small, g, n_chunks())
    out_off, out_edges = fan_evidence(account, best_day, no, yes, params.window_days, small, g, n_chunks())
    # fan-in's evidence is its senders, fan-out's its receivers, a combination's both
    offsets, edges = join_segments(in_off, in_edges, condition != 1, out_off, out_edges, condition != 0)
    in_amount, in_count = segment_top_share(in_off, in_edges, graph.src, graph.amount_home_cents)
    out_amount, out_count = segment_top_share(out_off, out_edges, graph.dst, graph.amount_home_cents)
    in_cents, out_cents = best.in_cents, best.out_cents
    a_cents = np.select([condition == 0, condition == 1], [in_cents, out_cents], np.minimum(in_cents, out_cents))
    day_text = graph.business_days.astype(str)
    with np.errstate(invalid="ignore", divide="ignore"):
        pass_on = np.where(in_cents > 0, np.round(out_cents / np.maximum(in_cents, 1), 6), np.nan)
    measures = {
        "senders": best.senders, "receivers": best.receivers,
        "amount_in": in_cents / 100, "amount_out": out_cents / 100, "pass_on_ratio": pass_on,
        "top_sender_amount_share": np.round(in_amount, 6), "top_sender_count_share": np.round(in_count, 6),
        "top_receiver_amount_share": np.round(out_amount, 6), "top_receiver_count_share": np.round(out_count, 6),
        "best_day": day_text[best_day], "run_first_day": day_text[runs.first_day],
        "run_last_day": day_text[runs.last_day],
    }
    parts = HitParts(np.asarray(CONDITIONS, dtype=object)[condition], account, runs.first_day, runs.last_day, offsets,
                     edges, a_cents, measures)
    return hit_table(graph, "fan", params_fingerprint(params), phi_table(graph, rules), parts)


DETECTOR = Detector("fan", FanParams, detect, (
    # the regulatory combinations are also ordinary commerce for many companies: alone they
    # stay under the alert threshold, with a second family (e.g. pass-through) they raise one
    Typology("dispersed_in_concentrated_out", "fan", 0.0, finds=("dispersed_in_concentrated_out",),
             imitated_by=("merchant_fan_in",)),
    Typology("concentrated_in_dispersed_out", "fan", 0.0, finds=("concentrated_in_dispersed_out",),
             imitated_by=("payroll_fan_out",)),
    # building blocks: a payroll does fan out
    Typology("fan_in", "fan", 0.0, finds=("fan_in",)),
    Typology("fan_out", "fan", 0.0, finds=("fan_out",)),
), first_day_selects_runs=True)
