"""How a range of a transaction store is cut into blocks of business days whose reads fit
in the memory a scan may use (issue 14).

A block reads its own days and a window before them (:func:`flowgraph.scan.first_read_start`),
and its peak memory grows with the transactions it reads: about
:data:`PEAK_BYTES_PER_READ_TXN` each (:data:`PEAK_BYTES_PER_ONE_READ_TXN` when the whole
range is one block: no earlier block is committed beside its read). So blocks are sized by
rows, not by days: a bank that books ten times as many transactions a day gets blocks a
tenth as long, and one whose whole range fits reads it once. The rows come from the
partition files' footers (:meth:`flowgraph.txstore.TransactionStore.day_rows`), no row is
read.

:func:`plan_blocks` takes the longest blocks of equal business days whose every read fits:
every further block re-reads a window (4 L + 1 business days or more at the default
windows), so fewer blocks do less work. The cut depends only on the stored files, the
configuration and the memory given. A killed run run again keeps the blocks it committed
and cuts only the days after them (:meth:`flowgraph.block_run.BlockRun.committed_blocks`),
so running out of memory costs only the block that did: give less (``--block-memory``) and
run the same command.

The memory is :data:`MEMORY_SHARE` of the machine's (its container's limit where that is
lower, :func:`machine_memory_bytes`) unless the user gives it (``--block-memory GIB``).
When even one-day blocks do not fit, the scan still runs them and says so
(:attr:`BlockPlan.note`): the window itself must fit somewhere.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .scan import first_read_start, lookback_days, read_from_day
from .scan_config import ScanConfig
from .txstore import TransactionStore

#: Peak resident memory of a scan of a store per transaction a block reads, in bytes:
#: measured on the 1e8 bank (benchmarks/results/storebound.json, session 21), where blocks
#: of 120 business days read at most 36.9 M transactions and peaked at 12.0-12.3 GiB (349-357
#: bytes a transaction), blocks of 200 at most 50.2 M and 17.4-18.4 GiB (372-392): the graph,
#: the detectors' working arrays, the hits of the block before it being committed and the
#: allocator's slack. Rounded up. This is what a read costs *in a block run*: the block
#: before it is committed beside it.
PEAK_BYTES_PER_READ_TXN = 400
#: The same for a scan that reads its days once (a range that fits, a T+1 day): no block
#: before it is being committed. Measured on the 1e8 bank (session 34), one read each: the
#: 240-day range, 39.2 M transactions, peaked at 13.1-13.5 GB (335-344 bytes a transaction);
#: 18.6 M at 6.8 GB (366) and 9.7 M at 4.0 GB (416): about 1 GB of the process's own and
#: 310 bytes a transaction. Like the block run's, it is the figure of the large reads, where
#: memory decides the cut, rounded up. Planning them at the block run's 400 cut the 240-day
#: range in two blocks, which read 341 business days instead of 240 (the second re-reads
#: the window before it): 136 s instead of 112-116.
PEAK_BYTES_PER_ONE_READ_TXN = 370
#: Share of the machine's memory a scan of a store plans its blocks in when the user gives
#: none: the rest is for the operating system, the page cache of the files it reads and
#: whatever else the machine runs.
MEMORY_SHARE = 0.6
#: Where Linux says a container's memory limit (cgroup v2, then v1); "max" or a huge number
#: means none.
CGROUP_LIMIT_FILES = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
GIB = 2 ** 30


def machine_memory_bytes(cgroup_files=CGROUP_LIMIT_FILES) -> int:
    """The memory this process may use: the machine's physical memory, or its container's
    limit where that is lower."""
    limits = [os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")]
    for name in cgroup_files:
        try:
            text = Path(name).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            limits.append(int(text))
    return min(limits)


def default_memory_bytes() -> int:
    """The memory a scan of a store plans its blocks in by default: :data:`MEMORY_SHARE`
    of :func:`machine_memory_bytes`."""
    return int(MEMORY_SHARE * machine_memory_bytes())


@dataclass(frozen=True)
class BlockPlan:
    """Blocks of business days and what the largest one reads."""

    #: (first, last) ISO business days of each block, in order
    blocks: list[tuple[str, str]]
    #: business days of a block (the last may have fewer)
    block_days: int
    #: the most transactions one block reads (its days and the window before them)
    max_read_txns: int
    #: the memory the plan was made for, in bytes
    memory_bytes: int
    #: "range", or "t+1" for the one window of a T+1 day
    mode: str = "range"

    @property
    def peak_bytes_per_read_txn(self) -> int:
        """The peak memory a read of this plan takes per transaction: one read's when the
        plan is one block, a block run's otherwise."""
        return PEAK_BYTES_PER_ONE_READ_TXN if len(self.blocks) <= 1 else PEAK_BYTES_PER_READ_TXN

    @property
    def fits(self) -> bool:
        """Whether every block's read is expected to fit in :attr:`memory_bytes`."""
        return self.max_read_txns * self.peak_bytes_per_read_txn <= self.memory_bytes

    @property
    def note(self) -> str | None:
        """What the user should know when even the plan's blocks do not fit, else None."""
        if self.fits:
            return None
        need = self.max_read_txns * self.peak_bytes_per_read_txn
        what, where = (f"the T+1 scan of {self.blocks[0][0]} reads", "") if self.mode == "t+1" else \
            (f"a block of {self.block_days} business day(s) reads up to", ", or on a Dask cluster whose workers have "
                                                                          "that much")
        return (f"{what} {self.max_read_txns:,} transactions (its days and the window before them), about "
                f"{_size(need)} at its peak, more than the {_size(self.memory_bytes)} the scan plans in: it "
                f"may run out of memory. Fix: run it where more memory is free and say how much (--block-memory "
                f"GIB){where}")

    def say_note(self) -> None:
        """Tell the user :attr:`note` (on stderr, before the scan runs), if there is one."""
        if self.note:
            print(f"note: {self.note}.", file=sys.stderr)

    def describe(self) -> dict:
        """What a run's manifest records of its blocks."""
        return {"n_blocks": len(self.blocks), "block_days": self.block_days, "max_read_txns": self.max_read_txns,
                "memory_bytes": self.memory_bytes, "peak_bytes_per_read_txn": self.peak_bytes_per_read_txn,
                "note": self.note}


def _size(n_bytes: float) -> str:
    """Bytes as GiB from one GiB, as MiB from a tenth of one (so "0.0" never shows), else KiB."""
    if n_bytes >= GIB:
        return f"{n_bytes / GIB:.1f} GiB"
    return f"{n_bytes / 2 ** 20:.1f} MiB" if n_bytes >= 2 ** 20 / 10 else f"{n_bytes / 2 ** 10:.1f} KiB"


def day_blocks(days: np.ndarray, block_days: int) -> list[tuple[str, str]]:
    """Business days cut into blocks of ``block_days``, as (first, last) ISO days."""
    return [(str(days[i]), str(days[min(i + block_days, len(days)) - 1])) for i in range(0, len(days), block_days)]


def plan_blocks(store: TransactionStore, config: ScanConfig, days: np.ndarray, memory_bytes: int | None = None,
                most_days: int | None = None, fixed: bool = False, mode: str = "range") -> BlockPlan:
    """The longest blocks of equal business days of ``days`` (at most ``most_days``, default
    all of them) whose every read fits in ``memory_bytes`` (default
    :func:`default_memory_bytes`); one-day blocks when none do
    (:attr:`BlockPlan.note` then says so). ``fixed``: blocks of ``most_days`` (the user's
    ``--block-days``), whether they fit or not. ``mode`` "t+1": the read of a T+1 scan
    of the one day in ``days`` (which reads less before its day than a range)."""
    calendar, lookback = config.calendar(), lookback_days(config)
    memory_bytes = default_memory_bytes() if memory_bytes is None else memory_bytes
    n = len(days)
    plan = BlockPlan([], 0, 0, int(memory_bytes), mode)  # no day: a resumed run whose blocks are all in
    if not n:
        return plan
    every = store.days()

    def read_from(first) -> str:
        return read_from_day(calendar, first_read_start(calendar, np.datetime64(first), lookback, mode), every[0])

    # only the footers of the days a block may read (a T+1 reads the days of its window)
    after = [d for d in every if d > str(days[-1])][:1]
    rows = store.day_rows(read_from(days[0]), after[0] if after else str(days[-1]))
    stored = np.array(sorted(rows), dtype="datetime64[D]")
    # the rows of stored days [i, j) are before[j] - before[i]
    before = np.concatenate([[0], np.cumsum([rows[d] for d in sorted(rows)], dtype=np.int64)])

    @lru_cache(maxsize=None)
    def read_start(first: str) -> int:
        """The first stored day (its index) a block from ``first`` reads."""
        return int(np.searchsorted(stored, np.datetime64(read_from(first))))

    def read_txns(first: str, last: str) -> int:
        # the calendar days up to the block's last business day roll into it, and the next
        # stored day is read when none does: counted always (one day more, at most)
        upto = min(int(np.searchsorted(stored, np.datetime64(last), side="right")) + 1, len(stored))
        return int(before[upto] - before[read_start(first)])

    sizes = [most_days] if fixed else \
        sorted({min(most_days or n, math.ceil(n / k)) for k in range(1, n + 1)}, reverse=True)
    for size in sizes:
        blocks = day_blocks(days, size)
        plan = BlockPlan(blocks, size, max(read_txns(*b) for b in blocks), int(memory_bytes), mode)
        if plan.fits:
            break
    return plan
