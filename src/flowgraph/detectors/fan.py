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

from .._kernels.fan import fan_runs
from ..hits import Hit, make_hit, params_fingerprint
from ._common import counterparty_edges, monitored, n_chunks, phi_by_channel, prepare, top_share, transfer_threshold
from ._params import MAX_WINDOW_DAYS, Interval, KnownRuleSet, validate_params

TYPOLOGIES = ("fan_in", "fan_out", "dispersed_in_concentrated_out", "concentrated_in_dispersed_out")


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


def detect(graph, params: FanParams = FanParams(), days=None) -> list[Hit]:
    """Fan hits over the scan range.

    Parameters
    ----------
    graph : TransactionGraph
    params : FanParams
    days : (first, last), optional
        Business-day indices or dates of the scan; default the whole graph.

    Returns
    -------
    list of Hit
    """
    prepared = prepare(graph, params, days)
    if prepared is None:
        return []
    rules, first, last = prepared
    threshold = transfer_threshold(graph, rules)
    small = params.min_amount_fraction * threshold
    runs, amounts = fan_runs(graph.in_indptr, graph.in_edges, graph.out_indptr, graph.out_edges,
                             graph.src, graph.dst, graph.day, graph.amount_cny, first, last,
                             params.window_days, params.min_counterparties, params.max_concentrated,
                             params.material_fraction * threshold, small, graph.account_customer, n_chunks())
    pid = params_fingerprint(params)
    subjects = monitored(graph)
    hits = []
    for (a, cond, run_first, run_last, best, n_senders, n_receivers), (amt_in, amt_out) in zip(
            runs.tolist(), amounts.tolist()):
        if not subjects[a]:
            continue
        window = (max(0, best - params.window_days + 1), best)
        ins = counterparty_edges(graph, a, window, "in", small[a])
        outs = counterparty_edges(graph, a, window, "out", small[a])
        typology = TYPOLOGIES[cond]
        if typology == "fan_in":
            evidence, amount = ins, amt_in
        elif typology == "fan_out":
            evidence, amount = outs, amt_out
        else:
            evidence, amount = np.concatenate([ins, outs]), min(amt_in, amt_out)
        in_share = top_share(graph.src[ins], graph.amount_cny[ins])
        out_share = top_share(graph.dst[outs], graph.amount_cny[outs])
        measures = {
            "senders": n_senders, "receivers": n_receivers,
            "amount_in": round(amt_in, 2), "amount_out": round(amt_out, 2),
            "pass_on_ratio": round(amt_out / amt_in, 6) if amt_in > 0 else None,
            "top_sender_amount_share": round(in_share[0], 6), "top_sender_count_share": round(in_share[1], 6),
            "top_receiver_amount_share": round(out_share[0], 6), "top_receiver_count_share": round(out_share[1], 6),
            "best_day": str(graph.business_days[best]),
            "run_first_day": str(graph.business_days[run_first]), "run_last_day": str(graph.business_days[run_last]),
        }
        hits.append(make_hit(graph, "fan", typology, pid, a, evidence, amount,
                             phi_by_channel(graph, rules, a), measures))
    return hits
