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
- **A scan re-scanning days starts early enough to re-derive the runs reaching into it.**
  A range from day F finds the runs that reach F or later, however early they began. A
  stored run that began before F and reached into it, and that corrected data now ends
  before F, would be retracted, not shortened as a scan of every day shortens it. So the
  scan starts on the first day of the earliest such stored run: its days before F hold
  the data the stored runs were found in, and give the same hits again. (Not before the
  run store's first scanned day: a fresh range from that day has no run ending before
  it either.) A T+1 of a day already scanned (the day after a weekend's run, once its
  data is all in) becomes such a range.
- **A T+1 after days never scanned scans them too.** A daily job that missed a day would
  otherwise leave that day's hits and large-value reports unfound, with nothing to say
  so: the T+1 becomes the range from the first missed business day (a range that leaves
  such a gap is told so).

Hits of a run that has not finished (killed, to be resumed by the same command) count for
the first rule, not the second: a resumed range keeps its days.

And a scan of a transaction store says which of its days changed (an ingest replaced their
transactions or an account they name) after every finished run of the configuration that
scanned from them on started, when it does not scan them itself: a nightly T+1 after a
correction leaves the corrected days' hits as they were, so it names the re-scan that
updates them.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from .errors import ConfigError
from .scan_config import ScanConfig
from .store import Store
from .txstore import TransactionStore

#: Changed days a note lists one by one; more are shown as a range.
DAYS_SHOWN = 10


def settled_first_day(store_path: str | Path, config: ScanConfig, first: np.datetime64, last: np.datetime64,
                      mode: str, txstore: TransactionStore | None = None,
                      data_first: np.datetime64 | None = None) -> tuple[np.datetime64, list[str]]:
    """The first business day a scan of ``first .. last`` (``mode`` "range" or "t+1") of
    ``config`` into the run store at ``store_path`` scans: ``first``, or the first day of
    the earliest stored run that began before ``first`` and reaches into it (not before the
    run store's first scanned day), or for a T+1,
    the first business day after the run store's scans that it never scanned (from the
    data's first business day, ``data_first`` or ``txstore``'s); and notes for the user
    (:func:`say`): those moves (a T+1 moved is a range now), a range's gap after the run
    store's scans, and the days of ``txstore`` (the transaction store scanned, if it is
    one) whose changes this scan leaves out.

    Raises
    ------
    ConfigError
        The run store's hits of this configuration were seen through a day after ``last``.
    """
    path, notes = Path(store_path), []
    if not path.is_file() or path.stat().st_size == 0:  # no store yet (empty: a scan killed as it made it)
        return first, notes
    store = Store(path, create=False)
    try:
        seen = store.latest_scanned_day(config.config_hash)
        if seen is None:
            return first, notes
        if np.datetime64(seen) > last:
            raise ConfigError(_too_early(path, seen, first, last, mode))
        calendar = config.calendar()
        began = store.earliest_run_reaching(config.config_hash, str(first)) \
            if np.datetime64(seen) >= first else None
        if began is not None:  # days before the run store's first scanned day were never scanned: not re-scanned
            began = max(began, store.earliest_scanned_day(config.config_hash))
        if began is not None and np.datetime64(began) < first:
            what = "the range starts" if mode == "range" else \
                f"this T+1 of {first} re-scans a day already scanned: it scans the range {began} .. {last}, starting"
            notes.append(f"the run store holds runs that began before {first} and reach into it; {what} "
                         f"at {began}, where the earliest began, so that changed data shortens them rather than "
                         "retracting them (the days before give the same hits again)")
            first = np.datetime64(began)
        missed = calendar.business_days(calendar.next_business_day(np.datetime64(seen) + 1), first - 1) \
            if np.datetime64(seen) < first else np.array([], "datetime64[D]")
        if txstore is not None and len(missed):
            stored = txstore.days()
            data_first = calendar.next_business_day(stored[0]) if stored else None
        if data_first is not None:  # days before the data's are no gap of this scan
            missed = missed[missed >= data_first]
        if len(missed):
            gap = str(missed[0]) if len(missed) == 1 else f"{missed[0]} .. {missed[-1]} ({len(missed):,} business days)"
            if mode == "t+1":
                notes.append(f"the run store's scans of this configuration end on {seen}, and {gap} "
                             f"{'was' if len(missed) == 1 else 'were'} never "
                             f"scanned into it: this T+1 of {last} scans them too, the range {missed[0]} .. {last}, "
                             "so that their hits and large-value reports are not missed")
                first = np.datetime64(missed[0])
            else:
                notes.append(f"the run store's scans of this configuration end on {seen}, and this range leaves "
                             f"{gap} unscanned: their hits and large-value reports are missing from the run store. "
                             f"Fix: scan from {missed[0]} (--from {missed[0]})")
        if txstore is not None:
            notes += _changed_days(txstore, store, config, first)
    finally:
        store.close()
    return first, notes


def say(notes: list[str]) -> None:
    """Tell the user :func:`settled_first_day`'s notes (on stderr, before the scan runs)."""
    for note in notes:
        print(f"note: {note}.", file=sys.stderr)


def _changed_days(txstore: TransactionStore, store: Store, config: ScanConfig, first: np.datetime64) -> list[str]:
    """A note naming the days of ``txstore`` before ``first`` whose data an ingest changed
    after a finished run of ``config`` saw them, and that no finished run has scanned from
    since (runs compared by the latest ingest they saw; runs of earlier versions, which
    did not record it, are left out)."""
    changed = txstore.day_changes()
    if not changed:
        return []
    calendar = config.calendar()
    runs = store.query("SELECT scan_first, scan_last, store_ingest FROM runs WHERE config_hash = ? AND "
                       "status = 'complete' AND store_ingest IS NOT NULL", [config.config_hash])
    runs = list(zip(runs["scan_first"], runs["scan_last"], runs["store_ingest"]))

    def stale(day: str, ingest: str) -> bool:  # a run saw it before the change, none scanned from it since
        scanned = str(calendar.next_business_day(day))
        return any(last >= scanned and saw < ingest for _, last, saw in runs) and \
            not any(first_day <= scanned and saw >= ingest for first_day, _, saw in runs)

    left = sorted(day for day, ingest in changed.items()
                  if calendar.next_business_day(day) < first and stale(day, ingest))
    if not left:
        return []
    listed = ", ".join(left) if len(left) <= DAYS_SHOWN else f"{left[0]} .. {left[-1]} ({len(left):,} days)"
    return [f"the stored data of {listed} changed after this run store's scans saw it, and this scan leaves the "
            f"hits of {'that day' if len(left) == 1 else 'those days'} as they were. Fix: re-scan from the first: "
            f"flowgraph scan {txstore.root} --from {left[0]} --out RUN (through the run store's latest day)"]


def _too_early(path: Path, seen: str, first: np.datetime64, last: np.datetime64, mode: str) -> str:
    what = f"a T+1 scan of {last}" if mode == "t+1" else f"a range ending {last}"
    return (f"{path}: the run store's hits of this configuration were seen through {seen}, and {what} cannot bring "
            f"them up to date (a stored hit changes only by a scan that saw as many days; it would also add hits "
            f"that the later days absorbed). Fix: scan through {seen}: --from {first} --to {seen} (the re-scan "
            "after corrected data), or scan into another run store (--store PATH).")
