"""Slow, obvious reference implementations that kernels and detectors are checked against."""
