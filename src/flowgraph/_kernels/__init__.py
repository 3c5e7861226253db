"""Numba kernels: plain numpy arrays in, arrays out.

Nothing here sees pandas, strings or Python objects; the modules that own the data
(:mod:`flowgraph.graph`, ...) turn tables into arrays first and wrap each kernel in a
documented function that checks its inputs. Every kernel has a slow, obvious reference in
``tests/reference/`` and a property test comparing the two.

The shared skeleton: the graph's arrays travel as one :class:`flowgraph.graph.GraphArrays`
tuple; output of unknown length is made by the one count-then-fill driver
(:func:`.evidence.count_then_fill`) as named columns (NamedTuples of arrays); the run
detectors write qualifying days and :func:`.runs.day_runs` turns them into runs of
consecutive business days.
"""
