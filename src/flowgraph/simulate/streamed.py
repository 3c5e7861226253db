"""A simulated bank streamed day by day into a transaction store (issue 14 item 4).

:func:`simulate_into` draws the bank of :func:`~flowgraph.simulate.simulate` one calendar
day at a time (:meth:`~flowgraph.simulate.bank.BankPlan.days`), validates each day as an
ingest would and appends it to the store (:meth:`flowgraph.txstore.TransactionStore.append_new_days`).
Memory holds the population, the planted patterns and one day, whatever the number of
days: 1e8 transactions are one day of ≈ 1.7 M at a time.

Why by day and not by customer block: the store is partitioned by calendar day, so a day
is written once, whole, and never reopened; a customer block would touch every day's file
once per block. The background is drawn per day anyway (each day from its own generator),
and the planted patterns, the only thing spanning days, are drawn up front and small.

The same parameters give the same transactions as :func:`~flowgraph.simulate.simulate`
(``--out``): the in-memory bank is these days put together.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from .._files import write_atomically, write_parquet
from ..calendar import BusinessCalendar
from ..errors import ConfigError, DataError
from ..money import default_rates
from ..schema import MAX_FUTURE_DAYS, Validated, validate_accounts, validate_transactions
from ..txstore import IngestSummary, TransactionStore
from .bank import BankPlan, SimulationParams, _with_overrides, plan_bank, simulation_metadata

#: Folder of the store holding the simulation's ground truth (``patterns.parquet``, the
#: accounts with their segments, ``params.json``).
GROUND_TRUTH = "simulation"


def simulation_source(params: SimulationParams, calendar: BusinessCalendar | None = None) -> str:
    """How a store's manifest names a simulation: running the same one again into a store
    it did not finish finishes it. A calendar other than the default PRC one is part of
    the name (the same parameters on another calendar are another bank)."""
    named = "" if calendar is None or calendar.name == "PRC" else f" calendar={calendar.name}"
    return "flowgraph simulate " + json.dumps(asdict(params), sort_keys=True, default=str) + named


def simulate_into(store_dir: str | Path, params: SimulationParams | None = None,
                  calendar: BusinessCalendar | None = None,
                  on_day_written: Callable[[str], None] | None = None, **overrides) -> tuple[IngestSummary, BankPlan]:
    """Simulate a bank day by day straight into a transaction store.

    Parameters
    ----------
    store_dir : path
        A new or empty folder (made a store), or a store holding only an unfinished run of
        the same simulation (finished now).
    params, calendar, overrides
        As :func:`~flowgraph.simulate.simulate`.
    on_day_written : callable, optional
        Called with each calendar day (ISO date) once its partition is written.

    Returns
    -------
    summary : IngestSummary
        The append's manifest.
    plan : BankPlan
        The bank's population and planted patterns (``plan.patterns`` is SPEC §10's
        patterns table).

    Raises
    ------
    ConfigError
        The folder is not a new or empty one, or the simulated days run so far into the
        future that the store would reject them.
    """
    params = _with_overrides(params, overrides)
    plan = plan_bank(params, calendar)
    check_not_too_far_ahead(params, plan.calendar_days[-1])
    store = TransactionStore.create(store_dir)
    source = simulation_source(params, calendar)
    store.check_append(source)  # before the ground truth is written over another store's
    truth = store.root / GROUND_TRUTH
    truth.mkdir(mode=0o700, exist_ok=True)
    write_parquet(plan.patterns, truth / "patterns.parquet")
    write_parquet(plan.accounts, truth / "accounts.parquet")
    metadata = simulation_metadata(params, plan.calendar_basis, len(plan.patterns))
    write_atomically(truth / "params.json", lambda p: p.write_text(json.dumps(metadata, indent=2, default=str)))
    accounts = validate_accounts(plan.accounts, f"{source} (accounts)")
    # the simulated amounts are converted into CNY and USD with the package's rates (_validated_days)
    summary = store.append_new_days(_validated_days(plan, source), accounts, source, on_day_written,
                                    default_rates().describe())
    if summary.manifest["rows_rejected"]:
        raise DataError(f"{store.root}: {summary.manifest['rows_rejected']:,} simulated transactions were "
                        f"rejected (reasons in {summary.folder / 'rejects.csv'}); the simulator should make "
                        "none. Fix: report this with the command that made it.")
    return summary, plan


def check_not_too_far_ahead(params: SimulationParams, last_day) -> None:
    """A ConfigError when the simulated days run past what validation accepts
    (FUTURE_TIMESTAMP: more than MAX_FUTURE_DAYS after today): a store rejects such rows,
    and a scan of a simulated folder would reject them all."""
    last_day = np.datetime64(pd.Timestamp(last_day).date())
    if last_day > np.datetime64(pd.Timestamp.today().date()) + MAX_FUTURE_DAYS:
        raise ConfigError(f"--start {params.start} --days {params.n_days}: the simulated days run to {last_day}, "
                          f"more than {MAX_FUTURE_DAYS} days after today, and a scan rejects such timestamps "
                          "(FUTURE_TIMESTAMP). Fix: an earlier --start or fewer --days.")


def _validated_days(plan: BankPlan, source: str) -> Iterator[Validated]:
    first_row = 1
    for table in plan.days():
        # row numbers of the whole bank, as an ingest of the --out file would give them
        yield validate_transactions(table, source, source_row=np.arange(first_row, first_row + len(table)))
        first_row += len(table)
