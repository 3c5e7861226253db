"""Synthetic data. ``random_transactions`` is structureless traffic for smoke tests,
benchmarks and the demo; the bank simulator with planted typologies builds on it."""

from .random_traffic import random_transactions

__all__ = ["random_transactions"]
