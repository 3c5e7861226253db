"""Command line: a thin layer over the API (SPEC §10).

Exit codes: 0 success, 2 usage or configuration error, 3 data error.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
import pandas as pd

from .calendar import BusinessCalendar
from .detectors import DETECTORS, run_detectors
from .errors import FlowgraphError
from .graph import build_graph
from .io import Dataset, load_dataset, write_dataset
from .money import read_rates
from .simulate import LOOKALIKES, TYPOLOGIES, SimulatedBank, SimulationParams, simulate, write_simulation


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


def _ingest(dataset: Dataset, out: Path, calendar: BusinessCalendar):
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
    return graph


def _scan(graph, out: Path, detectors: list[str] | None = None, days=None):
    """Run the detectors and write OUT/hits.parquet (whole or not at all)."""
    hits = run_detectors(graph, detectors, days=days)
    frame = hits.frame
    out.mkdir(parents=True, exist_ok=True)
    path = out / "hits.parquet"
    tmp = path.with_name(path.name + ".tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    click.echo(f"hits: {len(frame):,}")
    if len(frame):
        counts = frame.groupby(["detector", "typology"]).size()
        for (detector, typology), n in counts.items():
            click.echo(f"  {detector:<13} {typology:<32} {n:>7,}")
    click.echo(f"wrote {path}")
    return frame


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


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Folder for hits.parquet (and the validated tables and rejects).")
@click.option("--accounts", type=click.Path(path_type=Path), help="Accounts table, CSV or Parquet.")
@click.option("--rates", type=click.Path(path_type=Path), help="Exchange-rate table.")
@click.option("--map", "mapping", multiple=True, metavar="CANONICAL=YOURS", help="Rename a column (repeatable).")
@click.option("--detector", "detectors", multiple=True, type=click.Choice(list(DETECTORS)),
              help="Run only this detector (repeatable); default all.")
@click.option("--from", "first", help="First business day to scan (YYYY-MM-DD); default the data's first.")
@click.option("--to", "last", help="Last business day to scan (YYYY-MM-DD); default the data's last.")
def scan(input_path, out, accounts, rates, mapping, detectors, first, last):
    """Scan INPUT with the detectors and write OUT/hits.parquet.

    INPUT is a canonical CSV/Parquet file, an AMLworld CSV, an AMLSim folder or a folder
    written by flowgraph simulate/ingest. Each hit names its detector, typology, subject
    account, evidence transactions (your ids), window and W(N, D) score.
    """
    dataset = load_dataset(input_path, columns=_parse_map(mapping), accounts=accounts,
                           rates=read_rates(rates) if rates else None)
    graph = _ingest(dataset, out, BusinessCalendar.prc())
    days = None
    if first or last:
        days = (first or str(graph.business_days[0]), last or str(graph.business_days[-1]))
    _scan(graph, out, list(detectors) or None, days)


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


def _simulate_to(out: Path, params: SimulationParams) -> SimulatedBank:
    bank = simulate(params)
    paths = write_simulation(bank, out)
    n = len(bank.transactions)
    click.echo(f"simulated {params.n_customers:,} customers over {params.n_days} business days "
               f"(seed {params.seed}): {n:,} transactions, {int(bank.transactions.is_laundering.sum()):,} "
               f"laundering, {len(bank.patterns):,} planted patterns")
    click.echo("wrote " + ", ".join(str(p) for p in paths.values()))
    return bank


@cli.command("simulate")
@click.option("--seed", default=0, show_default=True, help="The only source of randomness: same seed, same files.")
@click.option("--customers", default=3_000, show_default=True, help="Customers of the bank (persons and entities).")
@click.option("--days", default=60, show_default=True, help="Business days to simulate.")
@click.option("--start", default="2024-09-02", show_default=True, help="First date (YYYY-MM-DD).")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Folder for transactions.parquet, accounts.parquet, patterns.parquet.")
@click.option("--patterns-per-typology", type=int, help="Patterns of each laundering typology [default: customers/600, at least 4].")
@click.option("--mix", multiple=True, metavar="TYPOLOGY=COUNT",
              help=f"Override one typology's count (repeatable). Typologies: {', '.join(TYPOLOGIES)}; "
                   f"look-alikes: {', '.join(LOOKALIKES)}.")
@click.option("--adaptive-share", default=0.5, show_default=True, help="Share of patterns played by adaptive launderers.")
@click.option("--lookalikes", type=int, help="Benign look-alikes of each kind [default: customers/1500, at least 2].")
def simulate_cmd(seed, customers, days, start, out, patterns_per_typology, mix, adaptive_share, lookalikes):
    """Simulate a bank with planted laundering patterns and their ground truth.

    Writes OUT/transactions.parquet (with is_laundering, pattern_id, typology),
    OUT/accounts.parquet and OUT/patterns.parquet (one row per planted pattern: its
    accounts, subject, days, amount, and W(N, D) ceiling).
    """
    params = SimulationParams(n_customers=customers, n_days=days, start=start, seed=seed,
                              patterns_per_typology=patterns_per_typology, typology_mix=_parse_mix(mix),
                              adaptive_share=adaptive_share, lookalikes_per_kind=lookalikes)
    _print_patterns(_simulate_to(out, params).patterns)


@cli.command()
@click.option("--out", "out", default=Path("runs/demo"), show_default=True, type=click.Path(path_type=Path),
              help="Folder for the demo's data and results.")
@click.option("--seed", default=7, show_default=True, help="Seed of the simulated bank.")
def demo(out: Path, seed: int) -> None:
    """The main job on the embedded default data: simulate a small bank (3,000
    customers, 60 business days, planted patterns), validate its transactions, build
    the business-day account graph, scan it with every detector (OUT/scan/hits.parquet)
    and say which planted patterns the hits name."""
    params = SimulationParams(seed=seed)
    bank = _simulate_to(out / "data", params)
    _print_patterns(bank.patterns)
    graph = _ingest(load_dataset(out / "data"), out / "ingest", BusinessCalendar.prc())
    frame = _scan(graph, out / "scan")
    _print_found(bank.patterns, frame)


def _print_found(patterns: pd.DataFrame, hits: pd.DataFrame) -> None:
    """Which planted patterns a hit names: its subject in a hit of the matching family."""
    family = {"fan_in": {"fan_in"}, "fan_out": {"fan_out"},
              "dispersed_in_concentrated_out": {"dispersed_in_concentrated_out"},
              "concentrated_in_dispersed_out": {"concentrated_in_dispersed_out"},
              "pass_through": {"pass_through", "pass_through_chain"},
              "structuring": {"structuring"}, "structuring_daily": {"structuring_daily"}}
    click.echo("planted patterns named by a hit of their typology (subject account):")
    for typology, hit_types in family.items():
        subjects = set(hits.loc[hits.typology.isin(hit_types), "subject"]) if len(hits) else set()
        for behaviour in ("adaptive", "naive"):
            sel = patterns[(patterns.typology == typology) & (patterns.behaviour == behaviour)]
            if len(sel):
                found = int(sel.subject.isin(subjects).sum())
                click.echo(f"  {typology:<32} {behaviour:<9} {found}/{len(sel)}")


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
