"""Command line: a thin layer over the API (SPEC §10).

Exit codes: 0 success, 2 usage or configuration error, 3 data error, 130 interrupted.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import json
import math
import sys
import unicodedata
from pathlib import Path

import click
import pandas as pd
from click.core import ParameterSource

from ._entry import INTERRUPTED
from ._spreadsheet import spreadsheet_safe
from .calendar import BusinessCalendar, parse_iso_day
from .config import CHANNELS
from .deid import key_for_store
from .desk.casefile import find_alert, write_case_file
from .desk.queue import SORTS, STATUSES, QueueQuery, alert_queue, latest_config_hash
from .errors import ConfigError, FlowgraphError
from .evaluate import MATCHING
from .graph import build_graph
from .io import Dataset, check_some_accepted, load_dataset, write_dataset, write_rejects
from .io.amlsim import STEP_UNITS
from .io.csvfile import parse_delimiter, parse_encoding
from .io.readers import must_exist
from .io.stream import BATCH_ROWS, ingest_file, streams
from .money import RateTable, read_rates
from .report import alert_list, effectiveness
from .scan import ScanResult, Stopwatch, check_store_timezone, output_folder, run_scan, store_scan_days
from .scan_config import ScanConfig, load_config
from .schema import ACCOUNT_COLUMNS, ACCOUNT_CONTEXT_COLUMNS, CONTEXT_COLUMNS, TXN_COLUMNS
from .simulate import (LOOKALIKES, TYPOLOGIES, SimulatedBank, SimulationParams, simulate, simulate_into,
                       write_simulation)
from .simulate.bank import CURRENCIES, WEEKS
from .simulate.streamed import check_not_too_far_ahead
from .store import Store, recorded_pseudonym_key
from .txstore import TransactionStore, is_store


#: The transaction columns flowgraph reads (``--map`` names one of them, or renames a column
#: that passes through).
READ_COLUMNS = TXN_COLUMNS + CONTEXT_COLUMNS
#: The account columns flowgraph reads (``--accounts-map`` names one of them, or renames a
#: column that passes through).
READ_ACCOUNT_COLUMNS = ACCOUNT_COLUMNS + ACCOUNT_CONTEXT_COLUMNS
#: Days to re-scan an ingest lists one by one; more are shown as a range (rescan.json lists them).
RESCAN_DAYS_SHOWN = 10


def _parse_map(ctx, param, pairs: tuple[str, ...], read_columns: tuple[str, ...] = READ_COLUMNS,
               example: str = "txn_id=TransactionID") -> dict[str, str] | None:
    """--map CANONICAL=YOURS pairs (a click callback: a usage error before anything is read).
    A column named twice, one of yours read as two, or a name one letter off a column
    flowgraph reads (a typo would pass the column through unread) is refused; any other
    name renames a column that passes through."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"{pair!r}: write CANONICAL=YOURS, e.g. {example}", ctx, param)
        canon, src = (side.strip() for side in pair.split("=", 1))
        if mapping.get(canon, src) != src:
            raise click.BadParameter(f"{canon} is given twice ({canon}={mapping[canon]} and {pair}). Fix: keep one.",
                                     ctx, param)
        near = difflib.get_close_matches(canon, read_columns, n=1, cutoff=0.8)
        if canon not in read_columns and near:
            raise click.BadParameter(f"{pair!r}: flowgraph reads no column {canon!r} (it would pass through unread). "
                                     f"Fix: did you mean {near[0]}={src}? The columns it reads: "
                                     f"{', '.join(read_columns)}.", ctx, param)
        mapping[canon] = src
    twice = sorted({src for src in mapping.values() if list(mapping.values()).count(src) > 1})
    if twice:
        raise click.BadParameter(f"your column {twice[0]!r} is read as "
                                 f"{' and '.join(c for c, s in mapping.items() if s == twice[0])}. Fix: map it once.",
                                 ctx, param)
    return mapping or None


def _parse_accounts_map(ctx, param, pairs: tuple[str, ...]) -> dict[str, str] | None:
    """--accounts-map CANONICAL=YOURS pairs: as --map (:func:`_parse_map`), for the
    accounts file's columns."""
    return _parse_map(ctx, param, pairs, READ_ACCOUNT_COLUMNS, "account_id=AcctNo")


def _check_accounts_map(input_options: dict) -> None:
    """--accounts-map renames the columns of --accounts FILE: a ConfigError without one
    (before anything is read or created)."""
    if input_options.get("accounts_map") and input_options.get("accounts") is None:
        raise ConfigError("--accounts-map renames the columns of the accounts file, and none was given. Fix: give it "
                          "with --accounts FILE, or drop --accounts-map.")


def _iso_day(ctx, param, value: str | None) -> str | None:
    """A date option written YYYY-MM-DD (a click callback: Python's ISO parser also takes
    20241201 and week dates such as 2024-W48-1, which commands read otherwise or failed on)."""
    if value is None:
        return None
    try:
        parse_iso_day(value, param.opts[0])
    except ConfigError:
        raise click.BadParameter(f"{value!r} is not a date written YYYY-MM-DD. Fix: e.g. 2024-09-30.", ctx, param) \
            from None
    return value.strip()


def _analyst(ctx, param, name: str) -> str:
    """--analyst: a name to record, without control characters or line breaks (they would
    forge lines in the drafts and logs that show it)."""
    name = name.strip()
    if not name or any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise click.BadParameter(f"{name!r}: give the analyst's name as text on one line, without control "
                                 "characters. Fix: e.g. --analyst 'Wang Li'.", ctx, param)
    return name


def _check_timestamp_format(ctx, param, fmt: str | None) -> str | None:
    """--timestamp-format: a format the parser takes (a click callback: a usage error
    before anything is read, not a traceback at the first row)."""
    if fmt is not None:
        try:
            pd.to_datetime(pd.Series(["2026-01-02 03:04:05"]), format=fmt, errors="coerce")
        except ValueError as exc:
            raise click.BadParameter(f"{fmt!r} is not a format it can read ({exc}). Fix: use strftime codes, "
                                     "e.g. '%d/%m/%Y %H:%M' or '%Y%m%d%H%M%S'.", ctx, param) from None
    return fmt


def _parse_channel_map(ctx, param, pairs: tuple[str, ...]) -> dict[str, str] | None:
    """--channel-map YOURS=CHANNEL pairs: a bank's channel codes read as flowgraph's channels
    (a click callback: a wrong pair is a usage error before anything is read or created)."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        code, _, channel = pair.rpartition("=")
        if not code.strip() or channel.strip().lower() not in CHANNELS:
            raise click.BadParameter(f"{pair!r}: write YOURS=CHANNEL with CHANNEL one of {', '.join(CHANNELS)}, "
                                     "e.g. --channel-map ATM=cash", ctx=ctx, param=param)
        # codes compare ignoring case and surrounding spaces: one code read as two channels is a mistake
        same = [c for c in mapping if c.casefold() == code.strip().casefold() and mapping[c] != channel.strip().lower()]
        if same:
            raise click.BadParameter(f"{pair!r} and {same[0]}={mapping[same[0]]} read one code (compared ignoring "
                                     "case) as two channels. Fix: keep one.", ctx=ctx, param=param)
        mapping[code.strip()] = channel.strip().lower()
    return mapping or None


def _a_number(allow_infinity: bool):
    """A click callback refusing NaN, and infinity unless allowed, as a usage error: click's
    float ranges let both through (``float("nan")`` compares false with every bound)."""

    def check(ctx, param, value: float | None) -> float | None:
        if value is not None and (math.isnan(value) or (math.isinf(value) and not allow_infinity)):
            raise click.BadParameter(f"{value} is not a number it can use; give one such as 16", ctx=ctx, param=param)
        return value

    return check


def _input_options(command):
    """The options that say how to read INPUT, shared by ingest and scan."""
    options = [
        click.option("--accounts", type=click.Path(path_type=Path),
                     help="Accounts table (account_id, customer_id, party_type), CSV or Parquet."),
        click.option("--rates", type=click.Path(path_type=Path),
                     help="Exchange-rate table (date, currency, cny_per_unit, usd_per_unit)."),
        click.option("--map", "mapping", multiple=True, metavar="CANONICAL=YOURS", callback=_parse_map,
                     help="Rename a column of INPUT, e.g. --map txn_id=TransactionID (repeatable)."),
        click.option("--accounts-map", "accounts_map", multiple=True, metavar="CANONICAL=YOURS",
                     callback=_parse_accounts_map,
                     help="Rename a column of the --accounts file, e.g. --accounts-map account_id=AcctNo "
                          "(repeatable; account_id, customer_id, party_type, opened_on, contact_id)."),
        click.option("--channel-map", "channel_map", multiple=True, metavar="YOURS=CHANNEL",
                     callback=_parse_channel_map,
                     help=f"Read your channel code as one of {', '.join(CHANNELS)}, e.g. --channel-map "
                          "ATM=cash (repeatable; codes compare ignoring case and surrounding spaces)."),
        click.option("--timestamp-format", callback=_check_timestamp_format, help="strftime format of the timestamps, e.g. '%d/%m/%Y %H:%M' "
                                                "(also AMLSim's tran_timestamp) [default: ISO 8601]."),
        click.option("--delimiter", help="CSV delimiter: one character or comma, semicolon, tab, pipe "
                                         "[default: sniffed among those four]."),
        click.option("--encoding", help="CSV text encoding, e.g. gb18030 (also reads GBK), also of Parquet BINARY "
                                        "text columns [default: utf-8; a byte-order mark is accepted]."),
        click.option("--amlsim-start", metavar="DATE", default="2018-01-02", show_default=True,
                     help="AMLSim folders counting steps: the date of step 0."),
        click.option("--amlsim-step-unit", type=click.Choice(STEP_UNITS), default="business_days",
                     show_default=True, help="AMLSim folders counting steps: what one step is."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _refuse_reading_options(store: Path, config: ScanConfig, input_options: dict) -> None:
    """A transaction store's rows were read, validated and converted when they were
    ingested: the options that say how to read a file would change nothing, and a scan
    that took them would record what it did not do. A ConfigError naming them."""
    context = click.get_current_context()
    option = {p.name: p.opts[0] for p in context.command.params}
    # amounts into CNY and USD were converted at ingest; into another currency the scan converts
    stored = {config.rules.home_currency, config.rules.foreign_currency} <= {"CNY", "USD"}
    refused = [option[name] for name in input_options
               if context.get_parameter_source(name) is not ParameterSource.DEFAULT and (name != "rates" or stored)]
    if refused:
        raise ConfigError(f"INPUT {store} is a transaction store: its rows were read, validated and their amounts "
                          f"converted into CNY and USD when they were ingested, so {', '.join(refused)} would change "
                          f"nothing here. Fix: give {'them' if len(refused) > 1 else 'it'} to 'flowgraph ingest FILE "
                          f"--into {store}' (other exchange rates: ingest the input into a new store with --rates).")


def _load_input(input_path: Path, config: ScanConfig, rate_table: RateTable, accounts, mapping, channel_map,
                timestamp_format, delimiter, encoding, amlsim_start, amlsim_step_unit, rates=None,
                accounts_map=None) -> Dataset:
    """Read and validate INPUT under the configuration: amounts that name no currency are
    in its rule set's home currency, AMLSim steps count its calendar's business days; the
    validation reports go to stdout, an assumed currency also to stderr. ``rates`` (the
    --rates path) was read into ``rate_table`` already."""
    dataset = load_dataset(input_path, columns=mapping, accounts=accounts, rates=rate_table,
                           timestamp_format=timestamp_format, channel_map=channel_map, amlsim_start=amlsim_start,
                           amlsim_step_unit=amlsim_step_unit, encoding=parse_encoding(encoding),
                           delimiter=parse_delimiter(delimiter), home_currency=config.rules.home_currency,
                           calendar=config.calendar(), accounts_columns=accounts_map,
                           bank_timezone=config.timezone())
    _print_reports(dataset, config)
    return dataset


def _print_reports(dataset: Dataset, config: ScanConfig) -> None:
    """The validation reports to stdout, an assumed currency also to stderr."""
    click.echo(str(dataset.transactions.report))
    click.echo(str(dataset.accounts.report))
    assumed = dataset.transactions.report.assumed_currency
    if assumed:
        click.echo(f"note: {dataset.transactions.report.source}: no currency column: amounts read as {assumed}, "
                   f"the rule set's home currency ({config.rules.name})", err=True)


def _input_rates(config: ScanConfig, rates_path: Path | None) -> RateTable:
    """--rates FILE, else the configuration's rate table."""
    return read_rates(rates_path) if rates_path else config.rates()


def _print_graph_summary(summary: dict) -> None:
    click.echo("graph:")
    width = max(len(k) for k in summary)
    for key, value in summary.items():
        shown = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else value
        click.echo(f"  {key:<{width}}  {shown}")


def _ingest(dataset: Dataset, out: Path, config: ScanConfig, rates: RateTable):
    paths = write_dataset(dataset, out)
    check_some_accepted(dataset, paths["rejects.csv"])
    calendar = config.calendar()
    graph = build_graph(dataset.transactions.table, dataset.accounts.table, calendar, config.rules.home_currency,
                        config.rules.foreign_currency, rates)
    summary = graph.summary()
    (out / "graph_summary.json").write_text(json.dumps(summary, indent=2))
    _print_graph_summary(summary)
    note = calendar.coverage_note(graph.business_days[0], graph.business_days[-1]) if graph.n_days else None
    if note:
        click.echo(f"calendar: {note}", err=True)
    n_rej = dataset.transactions.report.n_rejected + dataset.accounts.report.n_rejected
    click.echo(f"wrote {paths['transactions.parquet']}, {paths['accounts.parquet']}, "
               f"{paths['rejects.csv']} ({n_rej:,} rejected rows), {paths['validation.json']}")
    return graph


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flowgraph")
def cli() -> None:
    """flowgraph: find money-laundering typologies in bank transactions.

    Exit codes: 0 success, 2 usage or configuration error, 3 data error, 130 interrupted.
    """


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path),
              help="Folder for transactions.parquet, accounts.parquet, rejects.csv, validation.json.")
@click.option("--into", "into", type=click.Path(path_type=Path),
              help="Transaction store to add INPUT to (created if absent): day partitions, deduplicated by txn_id.")
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              help="TOML configuration: its rule set's home currency is that of amounts without a currency "
                   "column, its calendar the business days [default: PBOC-2016, CNY, PRC calendar].")
@click.option("--batch-rows", type=click.IntRange(min=1), default=BATCH_ROWS, show_default=True,
              help="With --into: rows of a CSV or Parquet INPUT read and validated at a time (memory grows "
                   "with it).")
@_input_options
def ingest(input_path: Path, out: Path | None, into: Path | None, config_path: Path | None, batch_rows: int,
           **input_options) -> None:
    """Validate INPUT and build its account graph.

    INPUT is a canonical CSV (also .csv.gz, .csv.zst) or Parquet file, an AMLworld CSV, an
    AMLSim output folder or a folder written by flowgraph. AMLworld files and the AMLSim
    samples have no transaction ids: each row's id is a digest of its fields plus its
    number among the identical rows of the file, so re-ingesting a file adds nothing and
    pieces of one file ingested --into one store add up to the whole (identical rows split
    across two pieces get one id: cut between days). Every rejected row (a bad
    value, or a line that is not a record) goes to OUT/rejects.csv with its row number and
    reason; accepted rows go to OUT/transactions.parquet. A file whose rows are all
    rejected is a data error (exit 3), after OUT/rejects.csv is written.

    With --into STORE instead, the accepted rows are added to the transaction store
    (see flowgraph.txstore): a row already stored unchanged adds nothing, a changed one
    replaces the stored version and marks its days for re-scan; the rejects and a manifest
    go to STORE/ingests/NNNNNN/. A canonical CSV or Parquet INPUT is read --batch-rows
    rows at a time, so it may be larger than memory (flowgraph.io.stream); other inputs
    are read whole.

    With --config, amounts of a file without a currency column are read in the rule
    set's home currency (said on stderr and in the validation report), and business days
    (the graph summary, AMLSim steps) follow the rule set's calendar.
    """
    if (out is None) == (into is None):
        raise click.UsageError("give exactly one of --out DIR (a folder of this input) and --into STORE "
                               "(add it to a transaction store)")
    _check_accounts_map(input_options)
    config = load_config(config_path)
    rates = _input_rates(config, input_options["rates"])
    if into is not None:
        must_exist(input_path)  # before the store is made: a mistyped INPUT leaves no folder behind
        store = TransactionStore.create(into)  # before reading INPUT: a wrong --into fails at once
        store.check_bank_timezone(config.timezone(), "this ingest's configuration")
        mapping, encoding, delimiter = (input_options["mapping"], parse_encoding(input_options["encoding"]),
                                        parse_delimiter(input_options["delimiter"]))
        if streams(input_path, mapping, encoding, delimiter):
            summary, reports = ingest_file(
                store, input_path, columns=mapping, accounts=input_options["accounts"], rates=rates,
                timestamp_format=input_options["timestamp_format"], channel_map=input_options["channel_map"],
                encoding=encoding, delimiter=delimiter,
                home_currency=config.rules.home_currency, batch_rows=batch_rows,
                accounts_columns=input_options["accounts_map"], bank_timezone=config.timezone())
            _print_reports(reports, config)
            _ingest_into(store, reports, input_path, config, summary)
        else:
            _ingest_into(store, _load_input(input_path, config, rates, **input_options), input_path, config,
                         rates=rates)
        return
    _ingest(_load_input(input_path, config, rates, **input_options), out, config, rates)


def _ingest_into(store: TransactionStore, dataset: Dataset, input_path: Path, config: ScanConfig, summary=None,
                 rates: RateTable | None = None) -> None:
    """Ingest ``dataset``, its amounts converted with ``rates`` (or report the ingest
    ``summary`` of it that streamed). Days whose holidays the calendar estimates are said
    (an AMLSim folder's steps were placed on them for good, and scans will count on them)."""
    summary = summary or store.ingest(dataset, str(input_path), rates=rates.describe() if rates else None,
                                      bank_timezone=config.timezone())
    for done in summary.completed:  # before this ingest's own rows: a file all rejected still says so
        d = done.manifest
        click.echo(f"{store.root}: completed ingest {done.ingest_id} ({d['source']}), which had stopped partway: "
                   f"{d['rows_new']:,} new, {d['rows_replaced']:,} replaced, {d['rows_unchanged']:,} unchanged rows; "
                   f"{len(d['days_touched']):,} days written, {len(d['rescan_days']):,} marked for re-scan")
    check_some_accepted(dataset, summary.folder / "rejects.csv")
    m = summary.manifest
    click.echo(f"{store.root}: ingest {summary.ingest_id}: {m['rows_new']:,} new, {m['rows_replaced']:,} replaced, "
               f"{m['rows_unchanged']:,} unchanged rows; {len(m['days_touched']):,} days written")
    _say_accounts(m)
    days = summary.rescan_days()
    if days:
        listed = ", ".join(days) if len(days) <= RESCAN_DAYS_SHOWN else \
            f"{days[0]} .. {days[-1]} ({len(days):,} days, listed in {store.root / 'rescan.json'})"
        click.echo(f"days to re-scan (their stored data changed): {listed}. Re-scan from the first through the "
                   f"last day your run store has scanned: flowgraph scan {store.root} --from {days[0]} --out RUN")
    note = config.calendar().coverage_note(min(m["days_touched"]), max(m["days_touched"])) \
        if m["days_touched"] else None
    if note:
        click.echo(f"calendar: {note}", err=True)


def _say_accounts(m: dict) -> None:
    """Which accounts snapshot the store keeps after an ingest (its manifest ``m``), and the
    stored accounts it changed."""
    kept = m.get("accounts_snapshot")
    if m.get("accounts_kept"):
        click.echo(f"accounts: kept the snapshot of ingest {kept['ingest']} (from {kept['source']}); derived accounts "
                   "not stored (an account it does not list is another bank's where a listed one is on its other "
                   "side)")
    elif not m.get("accounts_given", True) and kept:
        click.echo(f"accounts: derived from the transactions (the store has no accounts file: every account is the "
                   f"bank's); the store keeps the snapshot of ingest {kept['ingest']}")
    if m.get("accounts_replaced_derived"):
        click.echo(f"accounts: {m['accounts_source']} replaces the accounts derived from transactions (the snapshot "
                   f"of ingest {m['accounts_replaced_derived']}); {m['accounts_changed']:,} stored account(s) "
                   "changed or no longer listed: the days they traded on are listed to re-scan")
    elif m.get("accounts_changed"):
        click.echo(f"{m['accounts_changed']:,} stored account(s) changed (a column of their row differs): the days "
                   "they traded on are listed to re-scan")
    if m.get("accounts_listed_after_trading"):
        click.echo(f"{m['accounts_listed_after_trading']:,} account(s) listed for the first time traded before, as "
                   "another bank's: the days they traded on are listed to re-scan (as the bank's, their patterns "
                   "are monitored)")


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Folder for hits.parquet, alerts.parquet, manifest.json (and store.sqlite).")
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              help="TOML configuration: rule set, detector windows/thresholds, model weights, calendar.")
@click.option("--as-of", "as_of", metavar="DATE", callback=_iso_day,
              help="T+1: scan only this business day (YYYY-MM-DD) with its trailing windows.")
@click.option("--from", "first_day", metavar="DATE", callback=_iso_day,
              help="Range scan: the first business day to scan (YYYY-MM-DD) [default: the data's first].")
@click.option("--to", "last_day", metavar="DATE", callback=_iso_day,
              help="Range scan: the last business day to scan (YYYY-MM-DD) [default: the data's last].")
@click.option("--store", "store_path", type=click.Path(path_type=Path),
              help="Run store (SQLite) [default: OUT/store.sqlite]. Keeps real ids; owner-only.")
@click.option("--dask", "dask_address", metavar="SCHEDULER_ADDRESS",
              help="Scan a transaction store on this Dask cluster, e.g. tcp://10.0.0.5:8786 "
                   "(pip install 'flowgraph[dask]').")
@click.option("--workers", "n_workers", type=click.IntRange(min=1),
              help="Scan a transaction store on a local Dask cluster of N single-threaded worker processes.")
@click.option("--block-days", type=click.IntRange(min=1),
              help="Scan a store's range in blocks of this many business days: tasks with --dask/--workers "
                   "[default: two blocks per worker thread, at least 51 days at the default windows, fewer "
                   "where a block's read would not fit in a thread's memory], else one after another in this "
                   "process, which holds one block at a time [default: the longest blocks that fit in "
                   "--block-memory].")
@click.option("--block-memory", "block_memory_gib", type=click.FloatRange(min=0, min_open=True), metavar="GIB",
              callback=_a_number(allow_infinity=False),
              help="Memory a scan of a store may use, in GiB: a range whose read does not fit runs in blocks "
                   "that do (a T+1 day is one window, and says so when it does not fit) [default: 60% of this "
                   "machine's memory (its container's limit where lower); with --dask/--workers, a worker's "
                   "memory limit over its threads].")
@_input_options
@click.option("--reveal-ids", is_flag=True,
              help="Write real account/customer ids into the exports (logged in the store's audit table).")
@click.option("--key-file", type=click.Path(path_type=Path),
              help="Pseudonym key [default: $FLOWGRAPH_KEY_FILE or ~/.config/flowgraph/pseudonym.key].")
@click.option("--wait", "wait_s", default=0.0, show_default=True, type=click.FloatRange(min=0),
              callback=_a_number(allow_infinity=True),
              help="Seconds to wait for another scan that holds the same store before refusing.")
def scan(input_path, out, config_path, as_of, first_day, last_day, store_path, dask_address, n_workers, block_days,
         block_memory_gib, reveal_ids, key_file, wait_s, **input_options):
    """Scan INPUT with every detector, score hits, group them into alerts, and record the
    run in the store.

    INPUT is a canonical CSV/Parquet file, an AMLworld CSV, an AMLSim folder, a folder
    written by flowgraph simulate/ingest, or a transaction store (ingest --into), of which
    only the days the detectors' windows need are read. Without --as-of the whole date range is scanned
    (or --from D0 --to D1); with it, the one business day (a daily T+1 job). Re-running adds no
    duplicate hits or alerts; a run that was killed is resumed by running the same command again.

    A transaction store can be scanned on a Dask cluster (--dask SCHEDULER_ADDRESS, or
    --workers N for a local one): blocks of business days run as tasks that read the store
    themselves; the hits are those of a scan in one process.

    Exports in OUT show keyed pseudonyms (ACC-..., CUS-...) instead of account and
    customer ids unless --reveal-ids is given. Rejected rows go to OUT/rejects.csv and
    the validation reports to OUT/validation.json, as with ingest.
    """
    config = load_config(config_path)
    must_exist(input_path)  # before --out is made: a mistyped INPUT leaves no folder behind
    out = output_folder(out)
    if not is_store(input_path):  # a store refuses every reading option below
        _check_accounts_map(input_options)
    if not reveal_ids:  # a bad key, or not the store's, is refused now, not after an hour's scan
        key_for_store(store_path or out / "store.sqlite", recorded_pseudonym_key(store_path or out / "store.sqlite"),
                      key_file)
    clock = Stopwatch()
    if is_store(input_path):
        _refuse_reading_options(input_path, config, input_options)
    rates = _input_rates(config, input_options["rates"])
    _print_scan_basis(config, rates)
    days = {"as_of": as_of, "first_day": first_day, "last_day": last_day}
    block_memory = None if block_memory_gib is None else max(1, int(block_memory_gib * 2 ** 30))
    in_blocks = dask_address is not None or n_workers is not None or block_days is not None
    if (in_blocks or block_memory is not None) and not is_store(input_path):
        raise ConfigError(f"--dask/--workers/--block-days/--block-memory scan a transaction store, and INPUT "
                          f"{input_path} is not one. Fix: flowgraph ingest {input_path} --into STORE, then scan STORE.")
    if in_blocks:
        from .dask_scan import block_scan, connect, dask_scan  # Dask itself is imported only by connect

        # a bad day, or a store of another time zone, is refused before a cluster is started
        txstore = TransactionStore.open(input_path, "INPUT")
        check_store_timezone(txstore, config)
        store_scan_days(txstore, config.calendar(), **days)
        options = dict(**days, block_days=block_days, store_path=store_path, reveal_ids=reveal_ids,
                       key_file=key_file, wait_s=wait_s, stopwatch=clock, rates=rates, block_memory=block_memory)
        if dask_address is None and n_workers is None:  # blocks one after another in this process
            result = block_scan(input_path, out, config, **options)
        else:
            with connect(dask_address, n_workers) as client:
                result = dask_scan(client, input_path, out, config, **options)
        _print_scan(result, out, store_path, days)
        return
    if is_store(input_path):  # read a window of days at a time, already validated
        result = run_scan(input_path, out, config, **days, store_path=store_path, reveal_ids=reveal_ids,
                          key_file=key_file, wait_s=wait_s, stopwatch=clock, rates=rates, block_memory=block_memory)
        _print_scan(result, out, store_path, days)
        return
    with clock("load"):
        dataset = _load_input(input_path, config, rates, **input_options)
    paths = write_rejects(dataset, out)
    check_some_accepted(dataset, paths["rejects.csv"])
    result = run_scan(dataset, out, config, **days, store_path=store_path, reveal_ids=reveal_ids,
                      key_file=key_file, wait_s=wait_s, stopwatch=clock, rates=rates, release_input=True)
    _print_scan(result, out, store_path, days)


def _print_scan_basis(config, rates) -> None:
    """Which rule set, rate table and calendar the scan uses, on stderr (issue 13)."""
    rules, calendar = config.rules, config.calendar()
    click.echo(f"rule set: {rules.name} (home currency {rules.home_currency}, foreign thresholds in "
               f"{rules.foreign_currency}){': ' + rules.description if rules.description else ''}", err=True)
    click.echo(f"rates: {rates.source}" + (" -- ILLUSTRATIVE rates (one approximate rate per currency for every "
                                            "date), not for production; give your own with --rates FILE or "
                                            "rates = \"FILE\" in the configuration" if rates.illustrative else ""),
               err=True)
    click.echo(f"calendar: {calendar.name} ({', '.join(f'{y}: {s}' for y, s in calendar.describe()['official_years'].items())})",
               err=True)


def _print_scan(result: ScanResult, out: Path, store_path: Path | None, asked: dict | None = None) -> None:
    """What a scan found and wrote; ``asked``: the days the user gave (``first_day``, ``last_day``)."""
    m = result.manifest  # counts only: a scan in blocks does not hold its hits
    click.echo(f"run {result.run_id} ({m['mode']}, {m['scan_first']}..{m['scan_last']}"
               f"{', resumed' if m['resumed'] else ''}): {m['n_hits']:,} hits, "
               f"{m['n_alerts']:,} alerts raised of {m['n_alert_groups']:,} groups")
    counts = [(*k.split("/", 1), n) for k, n in m["hits_by_typology"].items()]
    width = max((len(d) for d, _, _ in counts), default=0)
    for detector, typology, n in counts:
        click.echo(f"  {detector:<{width}}  {typology:<32} {n:>7,}")
    if m.get("calendar_note"):
        click.echo(f"calendar: {m['calendar_note']} ({len(m['estimated_business_days']):,} business days "
                   "estimated, listed in manifest.json)", err=True)
    _say_rolled_days(m, (asked or {}).get("first_day"), (asked or {}).get("last_day"))
    for note in (m.get("disabled_detectors") or {}).values():
        click.echo(f"note: {note}", err=True)
    missing = m["checks"]["u_above_1_without_large_value"]
    if missing:
        click.echo(f"check: {len(missing)} hit(s) above their W(N, D) ceiling without a large-value hit "
                   f"(a bug or a missing rule): {[x['hit_id'] for x in missing[:5]]}")
    click.echo(f"wrote {result.paths['hits']}, {result.paths['alerts']}, {result.paths['manifest']}"
               f"{'' if m.get('deidentified') else ' (REAL ids)'}")
    _say_decisions_elsewhere(Store(store_path or out / "store.sqlite", create=False))


def _say_rolled_days(manifest: dict, first_day: str | None, last_day: str | None) -> None:
    """A note on stderr when --as-of, --from or --to named a day that is not a business
    day: the run scanned the business day its transactions count toward, which may still
    lack the days between (a scheduler running a T+1 on a holiday scans the day after the
    holidays from part of its days), and a range that ends there scans that day's own
    transactions too."""
    asked = manifest.get("as_of") if manifest["mode"] == "t+1" else None
    first, last = str(manifest["scan_first"]), str(manifest["scan_last"])
    if asked is not None and str(asked) != last:
        click.echo(f"note: --as-of {asked} is not a business day: its transactions count toward "
                   f"{last}, the business day this run scanned. Scan --as-of {last} "
                   "again once that day's transactions are in.", err=True)
    if manifest["mode"] == "range" and first_day is not None and first_day < first:  # not moved back (rescans)
        click.echo(f"note: --from {first_day} is not a business day: the range starts at {first}, the business day "
                   "its transactions count toward.", err=True)
    if manifest["mode"] == "range" and last_day is not None and last_day != last:
        click.echo(f"note: --to {last_day} is not a business day: its transactions count toward {last}, so the "
                   f"range ends there, with that day's own transactions. Give --to the business day before it to "
                   "leave them out.", err=True)


def _say_decisions_elsewhere(store: Store) -> None:
    """One line on stderr when analysts' decisions are on alerts of another configuration
    than the latest run's, which the desk (alerts, report, learn) shows: a scan with another
    configuration (the weights ``learn`` wrote, a changed threshold, a forgotten --config)
    leaves them out of sight, though they stay in the store."""
    shown = latest_config_hash(store)
    n_decisions, n_configs = store.conn.execute(
        "SELECT COUNT(*), COUNT(DISTINCT a.config_hash) FROM dispositions d JOIN alerts a USING (alert_id) "
        "WHERE a.config_hash IS NOT ?", (shown,)).fetchone()
    if n_decisions:
        click.echo(f"note: {n_decisions:,} analyst decision(s) in {store.path} are on alerts of {n_configs} other "
                   f"configuration(s) than the latest run's ({shown}), which alerts, report and learn show: they stay "
                   "in the store; a scan with their configuration (its --config) shows them again", err=True)


@cli.command()
@click.option("--store", "store_path", required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="The run store (store.sqlite).")
@click.option("--out", "out", type=click.Path(path_type=Path), help="Also write the metrics as CSV here.")
@click.option("--all-alerts", is_flag=True, help="List every alert, not only the raised ones.")
def report(store_path, out, all_alerts):
    """Rule-effectiveness report (SPEC §6) from the run store: per indicator and overall,
    hits, alerted transactions and alert rate, customers triggered and concentration,
    rules never triggered, and exclusion / report / case rates from dispositions; then
    the alerts by score with their ids (for `flowgraph dispose`) and latest decision."""
    store = Store(store_path, create=False)
    metrics, overall = effectiveness(store)
    _say_decisions_elsewhere(store)
    click.echo(metrics.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    click.echo("overall: " + ", ".join(f"{k} {v}" for k, v in overall.items()))
    if not metrics.empty:
        # what the empty (None/NaN) cells mean: not yet known, which 0 or False would hide
        silent = metrics[metrics["hits"] == 0]
        off = metrics.loc[metrics["disabled"].eq(True), "indicator"].tolist()
        if off:
            click.echo(f"note: disabled in the runs (the scan could not run their detector; manifest.json's "
                       f"disabled_detectors says why): {', '.join(off)}")
        if silent["disabled"].isna().any():
            click.echo("note: disabled None: which detectors the scans could not run is not known (no manifest.json "
                       "of these runs beside the store, or one that does not record it)")
        if not overall["year_scanned"] and len(silent):
            click.echo(f"note: never_triggered None: not yet known; SPEC §6 judges it over a year of business days, "
                       f"and the runs scanned {overall['first_day']}..{overall['last_day']}")
        if not overall["decided"]:
            click.echo("note: exclusion_rate, report_rate, case_rate None: no decisions yet (flowgraph dispose)")
    alerts = alert_list(store, raised_only=not all_alerts)
    click.echo(f"{'alerts' if all_alerts else 'raised alerts'} ({len(alerts):,}), highest score first:")
    if len(alerts):
        click.echo(alerts.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)  # as every --out: a path under a file is an OSError
        spreadsheet_safe(metrics).to_csv(out, index=False)
        click.echo(f"wrote {out}")


@cli.command()
@click.argument("alert_id")
@click.option("--store", "store_path", required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="The run store (store.sqlite).")
@click.option("--as", "disposition", required=True, type=click.Choice(["excluded", "reported", "case"]),
              help="The decision: excluded (排除), reported (报告) or case (成案).")
@click.option("--analyst", required=True, callback=_analyst, help="Who decides.")
@click.option("--note", default="", help="Why.")
@click.option("--force", is_flag=True, help="Decide on an alert that was not raised (e.g. a case the model missed).")
def dispose(alert_id, store_path, disposition, analyst, note, force):
    """Record an analyst's decision on ALERT_ID (listed by `flowgraph alerts`), with who
    and when. A later decision on the same alert counts; the earlier ones are kept."""
    store = Store(store_path, create=False)
    alert_id = find_alert(store, alert_id)["alert_id"]  # a unique prefix, as show and report-draft take
    warning = store.dispose(alert_id, disposition, analyst, note, force=force)
    if warning:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"alert {alert_id}: {disposition} by {analyst}")


@cli.command("alerts")
@click.option("--store", "store_path", required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="The run store (store.sqlite).")
@click.option("--status", type=click.Choice(STATUSES), default="open", show_default=True,
              help="open: raised, no decision yet or reopened (grown since its decision); raised; disposed: an "
                   "analyst decided; all.")
@click.option("--typology", help="Only alerts with a hit of this typology, e.g. structuring.")
@click.option("--min-score", type=float, help="Only alerts scoring at least this.")
@click.option("--sort", type=click.Choice(SORTS), default="score", show_default=True,
              help="score: highest first; age: oldest first; window: earliest first.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many alerts.")
@click.option("--today", metavar="DATE", callback=_iso_day, help="Count ages up to this date (YYYY-MM-DD) [default: today].")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--reveal-ids", is_flag=True, help="Real customer ids (logged in the store's audit table).")
@click.option("--key-file", type=click.Path(path_type=Path),
              help="Pseudonym key [default: $FLOWGRAPH_KEY_FILE or ~/.config/flowgraph/pseudonym.key].")
def alerts_cmd(store_path, status, typology, min_score, sort, limit, today, fmt, reveal_ids, key_file):
    """The alert queue of a run store: id, customer (pseudonym), score, typologies,
    window, status and latest disposition, age in business days since the window's end
    (on the scan's calendar). Open one with `flowgraph show ALERT_ID`."""
    with _options_named(QUEUE_OPTIONS):
        query = QueueQuery(status=status, typology=typology, min_score=min_score, sort=sort, limit=limit, today=today)
    store = Store(store_path, create=False)
    queue = alert_queue(store, query, reveal_ids, key_file)
    _say_decisions_elsewhere(store)
    if fmt == "csv":
        click.echo(spreadsheet_safe(queue).to_csv(index=False), nl=False)
    elif fmt == "json":
        click.echo(queue.to_json(orient="records", date_format="iso", indent=1))
    elif queue.empty:
        click.echo(f"no alert matches (status {status}). Fix: widen the filters, e.g. --status all.")
    else:
        shown = queue.assign(score=queue["score"].map("{:.2f}".format),
                             window=queue["window_start"].astype(str) + ".." + queue["window_end"].astype(str),
                             n_hits=[f"{n} (+{new} new)" if new else str(n) for n, new in
                                     zip(queue["n_hits"], queue["new_hits"])])
        columns = ["alert_id", "customer", "score", "status", "disposition", "age_days", "window", "n_hits", "typologies"]
        click.echo(shown[columns].to_string(index=False, justify="left"))
        click.echo(f"{len(queue)} alert(s). Open one: flowgraph show ALERT_ID --store {store_path} --out case.html")


@cli.command()
@click.argument("alert_id")
@click.option("--store", "store_path", required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="The run store (store.sqlite).")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="The HTML file to write.")
@click.option("--reveal-ids", is_flag=True,
              help="Real account and customer ids (logged in the store's audit table; the file is owner-only).")
@click.option("--key-file", type=click.Path(path_type=Path),
              help="Pseudonym key [default: $FLOWGRAPH_KEY_FILE or ~/.config/flowgraph/pseudonym.key].")
def show(alert_id, store_path, out, reveal_ids, key_file):
    """Write the case file of ALERT_ID: one self-contained HTML page (explanation, W(N, D)
    utilisation, evidence transactions, pictures of this alert, disposition history)."""
    path = write_case_file(Store(store_path, create=False), alert_id, out, reveal_ids, key_file)
    click.echo(f"wrote {path}{' (REAL ids)' if reveal_ids else ''}")


@cli.command("report-draft")
@click.option("--store", "store_path", required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="The run store (store.sqlite).")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Folder for the drafts.")
@click.option("--from", "first", metavar="DATE", callback=_iso_day, help="Large-value hits from this business day (YYYY-MM-DD).")
@click.option("--to", "last", metavar="DATE", callback=_iso_day, help="Large-value hits up to this business day (YYYY-MM-DD).")
@click.option("--alert", "alert_ids", multiple=True, metavar="ALERT_ID",
              help="Draft a suspicious-transaction report for this alert (repeatable) [default: every alert "
                   "decided a case].")
@click.option("--today", metavar="DATE", callback=_iso_day, help="Judge deadlines on this date (YYYY-MM-DD) [default: today].")
@click.option("--reveal-ids", is_flag=True,
              help="Real account and customer ids (logged in the store's audit table; the files are owner-only).")
@click.option("--key-file", type=click.Path(path_type=Path),
              help="Pseudonym key [default: $FLOWGRAPH_KEY_FILE or ~/.config/flowgraph/pseudonym.key].")
@click.option("--txstore", "txstores", multiple=True, metavar="STORE_DIR", type=click.Path(path_type=Path),
              help="Where the transaction store the scans read is now, if it was moved (repeatable) [default: "
                   "where the scans recorded it, or at the same path relative to the run store].")
def report_draft(store_path, out, first, last, alert_ids, today, reveal_ids, key_file, txstores):
    """Draft the reports the rules require (003): the large-value reports of the scanned
    range with their deadline (the scan's rule set's: PBOC, 5 business days on the scan's
    calendar; US-BSA, a CTR's 15 calendar days; record-only rules are no report) and status, and a
    suspicious-transaction report draft (JSON checked against its schema, plus Markdown)
    for each alert decided a case, with the elements flowgraph cannot fill listed as
    blanks. Each day's large-value reports are those of the configuration whose scan had
    the latest word on it (a day rescanned under a new configuration: the new one's; a day
    only an earlier one scanned: that one's), each naming it (config_hash, rule_set)."""
    from .desk.reports import write_report_drafts

    result = write_report_drafts(Store(store_path, create=False), out, first, last, alert_ids, today, reveal_ids,
                                 key_file, txstores)
    reports = result["large_value"]
    overdue = int((reports["status"] == "overdue").sum()) if len(reports) else 0
    click.echo(f"large-value reports: {len(reports):,} ({overdue:,} overdue{result['configurations']}); "
               f"suspicious-transaction report drafts: {len(result['drafts']):,}")
    for skipped in result["skipped"]:
        click.echo(f"  skipped {skipped['alert_id']}: {skipped['reason']}")
    click.echo(f"wrote {len(result['paths'])} files to {out}{' (REAL ids)' if reveal_ids else ''}")
    if result["rule_set_note"]:
        click.echo(f"note: {result['rule_set_note']}", err=True)
    if result["txstore_note"]:
        click.echo(f"warning: {result['txstore_note']}", err=True)
    if result["estimated"]:
        click.echo(result["estimated"], err=True)
    if result["not_counted"]:  # the configuration refuses what a count needs: exit 2, after writing the rest
        raise ConfigError(result["not_counted"])


@cli.command()
@click.option("--store", "store_path", required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="The run store (store.sqlite) with analysts' dispositions.")
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              help="The current TOML configuration [default: every default].")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The new TOML configuration to write (never the current one); OUT.backtest.csv beside it.")
def learn(store_path, config_path, out):
    """Fit the alert model's weights from the dispositions in the store (case/reported:
    positive, excluded: negative) with a regularised logistic regression and k-fold
    cross-validation; write a new configuration with the new [model], print its diff
    against the current one and a backtest. Nothing changes until you scan with OUT."""
    from .learn import NO_BETTER_THAN_BASE, learn as fit_from_store

    result = fit_from_store(store_path, out, config_path)
    s, fit = result.summary, result.fit
    ignored = (f"; {s['ignored_dispositions']} decision(s) on alerts of other configurations ignored"
               if s["ignored_dispositions"] else "") + \
        (f"; {s['reopened']} reopened alert(s) left out until decided again" if s["reopened"] else "")
    click.echo(f"learned from {s['decided']} decided alerts ({s['positive']} case/reported, {s['excluded']} "
               f"excluded{ignored}); {fit.folds}-fold CV log loss {fit.cv_log_loss:.4f} (base rate "
               f"{fit.base_log_loss:.4f}), L2 {fit.l2}")
    click.echo("model diff (current -> learned):")
    for line in result.diff or ["(no change)"]:
        click.echo(f"  {line}")
    if s["kept_weights"]:
        click.echo(f"kept (no decided alert has them): {', '.join(s['kept_weights'])}")
    click.echo(f"backtest over {s['alerts']:,} alerts: raised {s['raised_before']:,} -> {s['raised_after']:,}; "
               f"against dispositions precision {s['precision_before']} -> {s['precision_after']}, "
               f"recall {s['recall_before']} -> {s['recall_after']}")
    for name in ("newly_raised", "dropped"):
        ids = s[name]
        click.echo(f"  {name.replace('_', ' ')}: {len(ids):,}{' e.g. ' + ', '.join(ids[:5]) if ids else ''}")
    if fit.no_better_than_base:
        click.echo(f"wrote {out} and {out.name}.backtest.csv, not to be used")
        click.echo(f"warning: {NO_BETTER_THAN_BASE}", err=True)
    else:
        click.echo(f"wrote {out} and {out.name}.backtest.csv; scan with --config {out} to use it")


def _parse_mix(pairs: tuple[str, ...]) -> dict[str, int] | None:
    mix = {}
    for pair in pairs:
        name, _, count = pair.partition("=")
        if not count.strip().isdigit():
            raise click.BadParameter(f"{pair!r}: write TYPOLOGY=COUNT, e.g. fan_in=10", param_hint="--mix")
        mix[name.strip()] = int(count)
    return mix or None


def _print_patterns(patterns: pd.DataFrame) -> None:
    table = patterns.groupby(["typology", "behaviour"]).agg(
        patterns=("pattern_id", "size"), transactions=("n_txns", "sum"),
        median_utilisation=("utilisation", "median"))
    click.echo("planted patterns:")
    click.echo(table.to_string(float_format=lambda x: f"{x:.3f}"))


def _simulate_to(out: Path, params: SimulationParams, calendar: BusinessCalendar | None = None) -> SimulatedBank:
    bank = simulate(params, calendar)
    if len(bank.transactions):
        check_not_too_far_ahead(params, bank.transactions["timestamp"].max())
    paths = write_simulation(bank, out)
    n = len(bank.transactions)
    click.echo(f"simulated {params.n_customers:,} customers over {params.n_days} business days "
               f"(seed {params.seed}): {n:,} transactions, {int(bank.transactions.is_laundering.sum()):,} "
               f"laundering, {len(bank.patterns):,} planted patterns")
    click.echo("wrote " + ", ".join(str(p) for p in paths.values()))
    _print_simulation_calendar(bank.calendar_basis, paths["metadata"])
    return bank


def _print_simulation_calendar(basis: dict, recorded_in: Path) -> None:
    """The calendar note of a simulation whose business days rest on estimated holidays,
    on stderr as a scan says it."""
    if basis.get("calendar_note"):
        click.echo(f"calendar: {basis['calendar_note']} ({len(basis['estimated_business_days']):,} business "
                   f"days estimated, listed in {recorded_in})", err=True)


#: The simulation's parameter names as ``flowgraph simulate`` calls them.
SIMULATE_OPTIONS = {"or raise recruit_pool_share, ": "", "n_customers": "--customers",
                    "n_days": "--days", "'start'": "'--start'", "patterns_per_typology / trafficking_per_typology / "
                    "typology_mix": "--patterns-per-typology or --mix counts",
                    "patterns_per_typology": "--patterns-per-typology", "typology_mix": "--mix",
                    "adaptive_share": "--adaptive-share", "lookalikes_per_kind": "--lookalikes",
                    "parameter of SimulationParams": "option of flowgraph simulate"}
#: How the alert queue's checks name what ``flowgraph alerts`` takes as options.
QUEUE_OPTIONS = {"The 'typology' parameter of QueueQuery": "--typology",
                 "The 'min_score' parameter of QueueQuery": "--min-score"}


@contextlib.contextmanager
def _options_named(names: dict[str, str]):
    """A ConfigError of a lower layer said with the command-line options that set what it
    names (``names``: its words -> the options')."""
    try:
        yield
    except ConfigError as exc:
        message = str(exc)
        for name, option in names.items():
            message = message.replace(name, option)
        raise ConfigError(message) from None


@cli.command("simulate")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0),
              help="The only source of randomness: same seed, same files.")
@click.option("--customers", default=3_000, show_default=True, help="Customers of the bank (persons and entities).")
@click.option("--days", default=60, show_default=True, help="Business days to simulate.")
@click.option("--start", default="2024-09-02", show_default=True, callback=_iso_day, help="First date (YYYY-MM-DD).")
@click.option("--out", "out", type=click.Path(path_type=Path),
              help="Folder for transactions.parquet, accounts.parquet, patterns.parquet, simulation.json.")
@click.option("--into", "into", type=click.Path(path_type=Path),
              help="Transaction store (a new or empty folder) to generate the bank into day by day, in "
                   "bounded memory; the ground truth goes to STORE/simulation/.")
@click.option("--patterns-per-typology", type=click.IntRange(min=1), help="Patterns of each laundering typology [default: customers/600, at least 2].")
@click.option("--mix", multiple=True, metavar="TYPOLOGY=COUNT",
              help=f"Override one typology's count (repeatable). Typologies: {', '.join(TYPOLOGIES)}; "
                   f"look-alikes: {', '.join(LOOKALIKES)}.")
@click.option("--adaptive-share", default=0.5, show_default=True, help="Share of patterns played by adaptive launderers.")
@click.option("--lookalikes", type=click.IntRange(min=0), help="Benign look-alikes of each kind [default: customers/1500, at least 2].")
@click.option("--week", type=click.Choice(WEEKS), default="business", show_default=True,
              help="business: the business days of the configuration's calendar (PRC without --config); seven_day: every calendar day (card networks, AMLworld; "
                   "--days then counts calendar days).")
@click.option("--currency", type=click.Choice(CURRENCIES), default="CNY", show_default=True,
              help="Planted amounts sit around this currency's reporting thresholds.")
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              help="TOML configuration whose calendar (its rule set's, with [calendar] overrides) gives the "
                   "business days activity falls on [default: the PRC calendar].")
def simulate_cmd(seed, customers, days, start, out, into, patterns_per_typology, mix, adaptive_share, lookalikes,
                 week, currency, config_path):
    """Simulate a bank with planted laundering patterns and their ground truth.

    Writes OUT/transactions.parquet (with is_laundering, pattern_id, typology),
    OUT/accounts.parquet and OUT/patterns.parquet (one row per planted pattern: its
    accounts, subject, days, amount, and W(N, D) ceiling), and OUT/simulation.json (the
    parameters, and the calendar: where its holidays are estimated, stderr says so too).

    With --into STORE instead, the same bank (same seed, same transactions) is made one
    calendar day at a time and written into the transaction store as it goes, so memory
    holds one day besides the population: the way to make banks too large for memory.
    The ground truth goes to STORE/simulation/ (patterns.parquet, accounts.parquet,
    params.json). A run that was stopped is finished by running it again.

    With --config, business days are those of the configuration's calendar (e.g.
    US-BSA: Monday-Friday except US federal holidays) instead of the PRC calendar.
    """
    if (out is None) == (into is None):
        raise click.UsageError("give exactly one of --out DIR (the bank as three files) and --into STORE "
                               "(the bank streamed into a new transaction store)")
    calendar = load_config(config_path).calendar() if config_path else None
    with _options_named(SIMULATE_OPTIONS):
        params = SimulationParams(n_customers=customers, n_days=days, start=start, seed=seed,
                                  patterns_per_typology=patterns_per_typology, typology_mix=_parse_mix(mix),
                                  adaptive_share=adaptive_share, lookalikes_per_kind=lookalikes, week=week,
                                  currency=currency)
        if into is None:
            _print_patterns(_simulate_to(out, params, calendar).patterns)
            return
        summary, plan = simulate_into(into, params, calendar)
    m = summary.manifest
    n_laundering = int(plan.patterns.loc[plan.patterns.behaviour != "lookalike", "n_txns"].sum())
    click.echo(f"simulated {params.n_customers:,} customers over {params.n_days} business days (seed {params.seed}) "
               f"into {into}: {m['rows_new']:,} transactions in {len(m['days_touched']):,} day partitions, "
               f"{n_laundering:,} laundering, {len(plan.patterns):,} planted patterns; ground truth in "
               f"{into / 'simulation'}")
    _print_simulation_calendar(plan.calendar_basis, into / "simulation" / "params.json")
    _print_patterns(plan.patterns)


@cli.command()
@click.option("--out", "out", default=Path("runs/demo"), show_default=True, type=click.Path(path_type=Path),
              help="Folder for the demo's data and results.")
@click.option("--seed", default=7, show_default=True, type=click.IntRange(min=0), help="Seed of the simulated bank.")
def demo(out: Path, seed: int) -> None:
    """The main job on the embedded default data: simulate a small bank (3,000
    customers, 60 business days, planted patterns), validate its transactions, build
    the business-day account graph, scan it (hits, alerts and the run store in OUT/scan),
    say which planted patterns the hits name, and draw the top alert (OUT/pictures)."""
    params = SimulationParams(seed=seed)
    bank = _simulate_to(out / "data", params)
    _print_patterns(bank.patterns)
    dataset = load_dataset(out / "data")
    click.echo(str(dataset.transactions.report))
    click.echo(str(dataset.accounts.report))
    config = load_config(None)
    graph = _ingest(dataset, out / "ingest", config, config.rates())
    result = run_scan(dataset, out / "scan")
    _print_scan(result, out / "scan", None)
    _print_found(bank.patterns, result.hits)
    pictures = draw_top_alert(graph, result, out / "pictures")
    click.echo("pictures of the top alert: " + ", ".join(str(p) for p in pictures))


def draw_top_alert(graph, result: ScanResult, folder: Path) -> list[Path]:
    """PNG pictures of the highest-scoring alert (de-identified), and of W(N, D)."""
    from . import plot

    folder.mkdir(parents=True, exist_ok=True)
    figures = {"ceiling_surface": plot.ceiling_surface()}
    raised = result.alerts[result.alerts["raised"]]
    if len(raised):
        alert = raised.iloc[0]
        hits = result.hits[result.hits["hit_id"].isin(alert["hit_ids"])]
        weights = load_config(None).model.weights
        top = hits.assign(w_=hits["typology"].map(weights)).sort_values(["w_", "amount"], ascending=False).iloc[0]
        figures["alert_subgraph"] = plot.hit_subgraph(graph, top)
        figures["alert_utilisation"] = plot.utilisation(top, currency=graph.home_currency)
        run = (str(top["window_start"].date()), str(top["window_end"].date()))
        around = (max(0, graph.day_index(top["window_start"]) - 5),
                  min(graph.n_days - 1, graph.day_index(top["window_end"]) + 5))
        figures["alert_daily_flows"] = plot.daily_flows(graph, top["subject"], days=around, run=run,
                                                        run_label="pass-through run" if top["typology"] == "pass_through" else "hit window")
        path = plot.money_path(graph, top) if plot.is_multi_hop(top) else None
        if path is not None:
            figures["alert_money_path"] = path
        # the band of the alert's own structuring hit: its account, method and window
        structuring = hits[hits["typology"].str.startswith("structuring")]
        if len(structuring):
            band = structuring.iloc[0]
            figures["structuring_band"] = plot.structuring_band(
                graph, band["subject"], channel=json.loads(band["measures"]).get("method", "cash"),
                days=(graph.day_index(band["window_start"]), graph.day_index(band["window_end"])))
    paths = []
    for name, fig in figures.items():
        path = folder / f"{name}.png"
        fig.savefig(path, dpi=110)
        paths.append(path)
    return paths


def _print_found(patterns: pd.DataFrame, hits: pd.DataFrame) -> None:
    """Which planted patterns a hit names: its subject in a hit of a typology that finds it
    (the detector registry's ``finds``). Patterns no such hit names but a hit of another
    typology does are counted after it, with those typologies: a naive structurer whose
    daily deposits reach the threshold is reported by the large-value rule itself."""
    click.echo("planted patterns named by a hit of their typology (subject account):")
    typologies_of = hits.groupby("subject")["typology"].agg(lambda t: sorted(set(t))).to_dict() if len(hits) else {}
    for typology in sorted(set(patterns["typology"])):
        hit_types = MATCHING.get(typology, ())
        for behaviour in ("adaptive", "naive"):
            sel = patterns[(patterns.typology == typology) & (patterns.behaviour == behaviour)]
            if not len(sel) or not hit_types:
                continue
            named = [set(typologies_of.get(s, ())) for s in sel.subject]
            found = sum(1 for t in named if t & set(hit_types))
            others = sorted({x for t in named if not t & set(hit_types) for x in t})
            n_others = sum(1 for t in named if t and not t & set(hit_types))
            click.echo(f"  {typology:<32} {behaviour:<9} {found}/{len(sel)}"
                       + (f"  ({n_others} more named by {', '.join(others)})" if n_others else ""))


def main(argv: list[str] | None = None) -> int:
    """Entry point with the exit codes of SPEC §10 (and :data:`INTERRUPTED`)."""
    stdout = sys.stdout
    try:
        cli.main(args=argv, prog_name="flowgraph", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return 2
    except click.exceptions.Abort:  # Ctrl-C (or end of input at a prompt)
        click.echo("interrupted. Files are written whole or not at all; run the same command again (a scan resumes "
                   "after its last committed chunk).", err=True)
        return INTERRUPTED
    except FlowgraphError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except SystemExit as exc:
        # click ends a command whose reader went away (| head) with exit 1, and stdout
        # replaced by one that stays quiet: the output was read as far as it was wanted
        if exc.code == 1 and sys.stdout is not stdout:
            return 0
        raise
    except OSError as exc:  # the machine refused a file operation: a full disk, a read-only folder
        click.echo(f"error: {_os_error_message(exc)}", err=True)
        return 2
    return 0


def _os_error_message(exc: OSError) -> str:
    """One line for a failed file operation: which file, what the system said, the fix."""
    where = f"{exc.filename}: " if exc.filename else ""
    if exc.errno in (errno.EEXIST, errno.ENOTDIR) and exc.filename and not Path(exc.filename).is_dir():
        return (f"{where}a file, where the path needs a folder. Fix: give a path whose folders are folders (or "
                "move that file away).")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        fix = ("free disk space (or choose another --out, --store or --into), then run the same command again: "
               "files are written whole or not at all, and a scan resumes after its last committed chunk")
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "choose a folder you can write to (--out, --store or --into), or fix its permissions"
    else:
        fix = "check the path and that the device is available"
    return f"{where}{exc.strerror or exc}. Fix: {fix}."


if __name__ == "__main__":
    sys.exit(main())
