"""Command line: a thin layer over the API (SPEC §10).

Exit codes: 0 success, 2 usage or configuration error, 3 data error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import pandas as pd

from .calendar import BusinessCalendar
from .errors import FlowgraphError
from .graph import build_graph
from .io import Dataset, load_dataset, write_dataset
from .money import read_rates
from .simulate import random_transactions


def _parse_map(pairs: tuple[str, ...]) -> dict[str, str] | None:
    mapping = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"{pair!r}: write CANONICAL=YOURS, e.g. txn_id=TransactionID",
                                     param_hint="--map")
        canon, src = pair.split("=", 1)
        mapping[canon.strip()] = src.strip()
    return mapping or None


def _print_graph_summary(summary: dict) -> None:
    click.echo("graph:")
    width = max(len(k) for k in summary)
    for key, value in summary.items():
        shown = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else value
        click.echo(f"  {key:<{width}}  {shown}")


def _ingest(dataset: Dataset, out: Path, calendar: BusinessCalendar) -> dict:
    click.echo(str(dataset.transactions.report))
    click.echo(str(dataset.accounts.report))
    paths = write_dataset(dataset, out)
    graph = build_graph(dataset.transactions.table, dataset.accounts.table, calendar)
    summary = graph.summary()
    (out / "graph_summary.json").write_text(json.dumps(summary, indent=2))
    _print_graph_summary(summary)
    n_rej = dataset.transactions.report.n_rejected + dataset.accounts.report.n_rejected
    click.echo(f"wrote {paths['transactions.parquet']}, {paths['accounts.parquet']}, "
               f"{paths['rejects.csv']} ({n_rej:,} rejected rows), {paths['validation.json']}")
    return summary


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flowgraph")
def cli() -> None:
    """flowgraph: find money-laundering typologies in bank transactions.

    Exit codes: 0 success, 2 usage or configuration error, 3 data error.
    """


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Folder for transactions.parquet, accounts.parquet, rejects.csv, validation.json.")
@click.option("--accounts", type=click.Path(path_type=Path),
              help="Accounts table (account_id, customer_id, party_type), CSV or Parquet.")
@click.option("--rates", type=click.Path(path_type=Path),
              help="Exchange-rate table (date, currency, cny_per_unit, usd_per_unit).")
@click.option("--map", "mapping", multiple=True, metavar="CANONICAL=YOURS",
              help="Rename a column, e.g. --map txn_id=TransactionID (repeatable).")
@click.option("--timestamp-format", help="strftime format of the timestamps, e.g. '%d/%m/%Y %H:%M'.")
def ingest(input_path: Path, out: Path, accounts: Path | None, rates: Path | None,
           mapping: tuple[str, ...], timestamp_format: str | None) -> None:
    """Validate INPUT and build its account graph.

    INPUT is a canonical CSV/Parquet file, an AMLworld CSV, an AMLSim output folder or a
    folder written by flowgraph. Every rejected row goes to OUT/rejects.csv with its row
    number and reason; accepted rows go to OUT/transactions.parquet.
    """
    dataset = load_dataset(input_path, columns=_parse_map(mapping), accounts=accounts,
                           rates=read_rates(rates) if rates else None,
                           timestamp_format=timestamp_format)
    _ingest(dataset, out, BusinessCalendar.prc())


def _demo_input(folder: Path, seed: int) -> Path:
    """Write the demo's input files: random traffic plus a few rows a bank export
    really contains by mistake, so the validation report has something to say."""
    txns, accounts = random_transactions(20_000, n_accounts=2_000, seed=seed)
    txns = txns.astype({"timestamp": "string", "amount": "string"})
    bad = pd.DataFrame([
        {"txn_id": "BAD-1", "timestamp": "2024-13-45 10:00:00", "src_account": "A0000001",
         "dst_account": "A0000002", "amount": "100.00", "currency": "CNY", "channel": "transfer"},
        {"txn_id": "BAD-2", "timestamp": "2024-10-08 10:00:00", "src_account": "A0000001",
         "dst_account": "A0000002", "amount": "-250.00", "currency": "CNY", "channel": "transfer"},
        {"txn_id": "BAD-3", "timestamp": "2024-10-08 10:05:00", "src_account": "A0000003",
         "dst_account": "A0000004", "amount": "1,000.00", "currency": "CNY", "channel": "transfer"},
        {"txn_id": "BAD-4", "timestamp": "2024-10-08 10:10:00", "src_account": "A0000003",
         "dst_account": "A0000004", "amount": "500.00", "currency": "ZZZ", "channel": "transfer"},
        {"txn_id": "BAD-5", "timestamp": "2024-10-08 10:15:00", "src_account": "",
         "dst_account": "", "amount": "700.00", "currency": "CNY", "channel": "cash"},
        {"txn_id": txns["txn_id"].iloc[0], "timestamp": "2024-10-08 10:20:00", "src_account": "A0000005",
         "dst_account": "A0000006", "amount": "900.00", "currency": "CNY", "channel": "transfer"},
    ])
    txns = pd.concat([txns, bad], ignore_index=True)
    folder.mkdir(parents=True, exist_ok=True)
    txns.to_csv(folder / "transactions.csv", index=False)
    accounts.to_csv(folder / "accounts.csv", index=False)
    return folder / "transactions.csv"


@cli.command()
@click.option("--out", "out", default=Path("runs/demo"), show_default=True, type=click.Path(path_type=Path),
              help="Folder for the demo's input and output files.")
@click.option("--seed", default=7, show_default=True, help="Seed of the generated data.")
def demo(out: Path, seed: int) -> None:
    """The main job on embedded default data: generate a small bank's transactions
    (with a few faulty rows), validate them, build the business-day account graph and
    report on both."""
    click.echo(f"generating demo data (seed {seed}) in {out / 'input'}")
    txn_file = _demo_input(out / "input", seed)
    dataset = load_dataset(txn_file, accounts=out / "input" / "accounts.csv")
    _ingest(dataset, out, BusinessCalendar.prc())


def main(argv: list[str] | None = None) -> int:
    """Entry point with the exit codes of SPEC §10."""
    try:
        cli.main(args=argv, prog_name="flowgraph", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return 2
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except FlowgraphError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
