"""Synthetic data with ground truth.

``simulate`` builds a bank (persons and entities, months of ordinary activity on the
business-day calendar, or every calendar day with ``week="seven_day"``), plants
laundering patterns played by naive and adaptive launderers (hub, pass-through and
structuring typologies, and AMLworld's multi-hop cycle, scatter-gather, gather-scatter,
bipartite, stack and random chains, and on request the human-trafficking red flags of 000, with amounts around the Φ of ``currency``), and
benign look-alikes; ``random_transactions`` is structureless traffic for
smoke tests and benchmarks.
"""

from .bank import LOOKALIKES, TYPOLOGIES, SimulatedBank, SimulationParams, simulate, write_simulation
from .random_traffic import random_transactions
from .typologies import ADAPTIVE, LOOKALIKE, NAIVE

__all__ = ["simulate", "SimulationParams", "SimulatedBank", "write_simulation",
           "random_transactions", "TYPOLOGIES", "LOOKALIKES", "NAIVE", "ADAPTIVE", "LOOKALIKE"]
