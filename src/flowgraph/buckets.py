"""Monitoring units cut into buckets of about a number of hits, so that work on every
stored hit of a run or a configuration (a block run's alerts and exports, ``learn``'s
alerts) holds one bucket's hits at a time, however many hits there are.

Alerts group hits of one monitoring unit (the customer, else the subject account of a
hit without one; :mod:`flowgraph.alerts`), so alerts built bucket by bucket are those
built from every hit at once. Buckets follow the units' order (UTF-8 bytes, as Python
sorts str), so their alerts, one bucket after another, come in the order of one build.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Hits read from a run store at a time: a bucket of monitoring units holds about this
#: many (about 1 GiB of Python objects).
HITS_PER_BUCKET = 200_000


def unit_buckets(hits: pa.Table, more_units: pa.Array | None = None,
                 hits_per_bucket: int = HITS_PER_BUCKET) -> list[tuple[set[str], pa.Array]]:
    """The monitoring units of ``hits`` (``hit_id, unit``, as :meth:`flowgraph.store.Store.run_hit_units`
    reads them) and ``more_units`` (units without a hit here, e.g. those a run retracted
    hits of) in buckets of about ``hits_per_bucket`` hits, in order of unit; with each
    bucket, the ids of ``hits`` in it. Units and ids stay Arrow strings until a bucket's
    few units are made a set (a Python string per hit cost a second at 10^6 hits)."""
    parts = [hits["unit"].combine_chunks().cast(pa.string())]
    if more_units is not None:
        parts.append(more_units.cast(pa.string()))
    units = pc.unique(pa.concat_arrays(parts))
    units = units.take(pc.sort_indices(units))  # UTF-8 bytes sort as Python sorts str
    if not len(units):
        return []
    n_buckets = max(1, min(len(units), math.ceil(hits.num_rows / hits_per_bucket)))
    sizes = [len(p) for p in np.array_split(np.arange(len(units)), n_buckets)]
    starts = np.cumsum([0] + sizes[:-1])
    at = np.asarray(pc.index_in(hits["unit"], value_set=units), np.int64)
    bucket = np.searchsorted(starts, at, side="right") - 1
    ids = hits["hit_id"].combine_chunks().cast(pa.string())
    return [(set(units.slice(start, size).to_pylist()), ids.filter(pa.array(bucket == k)))
            for k, (start, size) in enumerate(zip(starts.tolist(), sizes))]
