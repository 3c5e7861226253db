"""The parts of ``benchmarks/harness.py``: one module per concern.

``common`` (machine stamp, child processes, writers), ``data`` (simulated banks, cached),
``baseline`` (the previous release checked out beside this tree), ``scale`` (the
``flowgraph scan`` command end to end), ``peers`` (snapml's GraphFeaturePreprocessor) and
``quality`` (recall and precision from the scan's own outputs).
"""
