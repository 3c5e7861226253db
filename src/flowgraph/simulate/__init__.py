"""Synthetic data with ground truth.

``simulate`` builds a bank (persons and entities, months of ordinary activity on the
business-day calendar, or every calendar day with ``week="seven_day"``), plants
laundering patterns played by naive and adaptive launderers (hub, pass-through and
structuring typologies, and AMLworld's multi-hop cycle, scatter-gather, gather-scatter,
bipartite, stack and random chains, with amounts around the Φ of ``currency``, and on
request the human-trafficking red flags of 000), and benign look-alikes;
``random_transactions`` is structureless traffic for smoke tests and benchmarks.
``simulate_into`` streams the same bank day by day into a transaction store in bounded
memory.
"""

from .bank import LOOKALIKES, TYPOLOGIES, BankPlan, SimulatedBank, SimulationParams, plan_bank, simulate, \
    write_simulation
from .random_traffic import random_transactions
from .streamed import simulate_into
from .typologies import ADAPTIVE, LOOKALIKE, NAIVE

__all__ = ["simulate", "simulate_into", "plan_bank", "BankPlan", "SimulationParams", "SimulatedBank",
           "write_simulation",
           "random_transactions", "TYPOLOGIES", "LOOKALIKES", "NAIVE", "ADAPTIVE", "LOOKALIKE"]
