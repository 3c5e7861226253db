"""Numba kernels: plain numpy arrays in, arrays out.

Nothing here sees pandas, strings or Python objects; the modules that own the data
(:mod:`flowgraph.graph`, ...) turn tables into arrays first and wrap each kernel in a
documented function that checks its inputs. Every kernel has a slow, obvious reference in
``tests/reference/`` and a property test comparing the two.
"""
