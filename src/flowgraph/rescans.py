"""Which days a scan into a run store that already holds hits of its configuration scans.

A stored hit keeps what the scan that found it saw: the last day that scan read
(``seen_through``). A later scan replaces or retracts it only if it saw as many days
(:meth:`flowgraph.store.Store.commit_chunk`), so a T+1 re-run of last month cannot undo what
this month's scans learned. Two consequences, both met here before any day is read:

- **A scan ending before the run store's latest scanned day is refused.** It could not bring
  the hits seen through later days up to date (after corrected data, they would keep the old
  amounts), and it would add hits that those later days absorbed (a tolerance-band run
  that a stricter run covers once it goes on). The message names the scan that can: from
  the same first day through that latest day, which is the re-scan after a correction.
- **A range re-scanning days starts early enough to re-derive the runs reaching into it.**
  A range from day F finds the runs that reach F or later, however early they began. A
  stored run that began before F and reached into it, and that corrected data now ends
  before F, would be retracted, not shortened as a scan of every day shortens it. So the
  range starts on the first day of the earliest such stored run: its days before F hold
  the data the stored runs were found in, and give the same hits again.

Hits of a run that has not finished (killed, to be resumed by the same command) count for
the first rule, not the second: a resumed range keeps its days.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from .errors import ConfigError
from .store import Store


def settled_first_day(store_path: str | Path, config_hash: str, first: np.datetime64, last: np.datetime64,
                      mode: str, say: bool = True) -> np.datetime64:
    """The first business day a scan of ``first .. last`` (``mode`` "range" or "t+1") into
    the run store at ``store_path`` scans: ``first``, or for a range, the first day of the
    earliest stored run of ``config_hash`` that began before ``first`` and reaches into it
    (said on stderr when ``say``).

    Raises
    ------
    ConfigError
        The run store's hits of this configuration were seen through a day after ``last``.
    """
    path = Path(store_path)
    if not path.is_file():
        return first
    store = Store(path, create=False)
    try:
        seen = store.latest_scanned_day(config_hash)
        if seen is None:
            return first
        if np.datetime64(seen) > last:
            raise ConfigError(_too_early(path, seen, first, last, mode))
        if mode != "range" or np.datetime64(seen) < first:
            return first
        began = store.earliest_run_reaching(config_hash, str(first))
    finally:
        store.close()
    if began is None or np.datetime64(began) >= first:
        return first
    if say:
        print(f"note: the run store holds runs that began before {first} and reach into it; the range starts at "
              f"{began}, where the earliest began, so that corrected data shortens them rather than retracting "
              "them (the days before give the same hits again).", file=sys.stderr)
    return np.datetime64(began)


def _too_early(path: Path, seen: str, first: np.datetime64, last: np.datetime64, mode: str) -> str:
    what = f"a T+1 scan of {last}" if mode == "t+1" else f"a range ending {last}"
    return (f"{path}: the run store's hits of this configuration were seen through {seen}, and {what} cannot bring "
            f"them up to date (a stored hit changes only by a scan that saw as many days; it would also add hits "
            f"that the later days absorbed). Fix: scan through {seen}: --from {first} --to {seen} (the re-scan "
            "after corrected data), or scan into another run store (--store PATH).")
