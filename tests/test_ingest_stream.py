"""Streaming ingest (issue 14): a file read, validated and planned in batches gives the
store, rejects, validation report and manifest of the whole file ingested at once, and a
killed streaming ingest loses nothing."""

import json

import numpy as np
import pandas as pd
import pytest

from flowgraph.cli import main
from flowgraph.io import load_dataset
from flowgraph.io.csvfile import iter_csv_batches, read_csv_table
from flowgraph.io.stream import ingest_file
from flowgraph.money import default_rates
from flowgraph.simulate import simulate, write_simulation
from flowgraph.txstore import TransactionStore

HEADER = "txn_id,timestamp,src_account,dst_account,amount,currency,channel"


def _whole(store_dir, path, **options):
    store = TransactionStore.create(store_dir)
    dataset = load_dataset(path, **options)
    return store, store.ingest(dataset, str(path), rates=(options.get("rates") or default_rates()).describe())


def _streamed(store_dir, path, batch_rows, **options):
    store = TransactionStore.create(store_dir)
    summary, _ = ingest_file(store, path, batch_rows=batch_rows, **options)
    return store, summary


def _assert_same_ingest(a: TransactionStore, b: TransactionStore, ingest_id: str) -> None:
    """Same rows in the same day files, same accounts, rejects, report, manifest, index."""
    assert a.days() == b.days()
    for day in a.days():
        pd.testing.assert_frame_equal(a.read_days(day, day).to_pandas(), b.read_days(day, day).to_pandas())
    pd.testing.assert_frame_equal(a.accounts().to_pandas(), b.accounts().to_pandas())
    folder_a, folder_b = a.root / "ingests" / ingest_id, b.root / "ingests" / ingest_id
    assert (folder_a / "rejects.csv").read_text() == (folder_b / "rejects.csv").read_text()
    assert (folder_a / "validation.json").read_text() == (folder_b / "validation.json").read_text()
    manifests = [{k: v for k, v in json.loads((f / "manifest.json").read_text()).items() if not k.endswith("_at")}
                 for f in (folder_a, folder_b)]
    assert manifests[0] == manifests[1]
    assert a.rescan_days() == b.rescan_days()
    assert a.index_entries().equals(b.index_entries())
    assert not (folder_b / "work").exists()


def _hand_built(tmp_path):
    """GB18030 text (Chinese account names), CRLF line ends, a malformed line, an open
    quote, a blank line, an id without a value, ids repeated within and across batches
    (one of them first seen on a rejected row), an RMB alias and bad values."""
    rows = [HEADER]
    for i in range(240):
        day = 1 + i % 9
        rows.append(f"t{i:03d},2026-03-{day:02d} 09:{i % 60:02d}:00,账户{i % 23},收款{i % 11},{100 + i}.25,"
                    f"{'RMB' if i % 4 else 'CNY'},{'transfer' if i % 5 else 'cash'}")
    rows[30] = "t029,2026-03-02 10:00:00,甲,乙"                          # too few fields
    rows[31] = 't030,"2026-03-02 10:00:00,甲,乙,5,CNY,transfer'          # a quote left open
    rows[50] = ""                                                       # blank, not counted
    rows[60] = ",2026-03-03 10:00:00,甲,乙,5,CNY,transfer"               # no id
    rows[70] = "t005,2026-03-04 10:00:00,甲,乙,5,CNY,transfer"           # t005 is on row 6
    rows[71] = "t071,never,甲,乙,-3,CNY,transfer"                        # rejected, but its id counts
    rows[80] = "t079,2026-03-03 10:00:00,,乙,5,CNY,transfer"             # a transfer without a source
    rows[81] = "t080,2026-03-03 10:00:00,甲,乙,0.001,CNY,transfer"       # below one cent
    rows[82] = "t081,2026-03-03 10:00:00,\u200b甲,乙\x00,5,CNY,cash"     # invisible; a NUL
    rows[83] = "t082\ufeff,2026-03-03 10:00:00,\ufeff账户1,收款1,5,CNY,cash"  # invisible: the same ids
    rows[200] = "t199,2026-03-04 10:00:00,账户1\u200b,,5,CNY,cash"       # in a later batch too
    rows += ["t071,2026-03-05 11:00:00,甲,乙,7,CNY,transfer",            # the same id as that row
             "t200,2026-03-06 11:00:00,甲,乙,7,CNY,transfer",            # repeats of a later id
             "t005,2026-03-06 12:00:00,甲,乙,7,CNY,wire"]                # and bad channel too
    path = tmp_path / "bank_gb18030.csv"
    path.write_bytes("\r\n".join(rows).encode("gb18030"))
    return path


@pytest.mark.parametrize("batch_rows", [1, 17, 100, 10_000])
def test_csv_batches_hold_the_rows_numbers_and_malformed_lines_of_the_whole_file(tmp_path, batch_rows):
    path = _hand_built(tmp_path)
    whole = read_csv_table(path, "gb18030")
    parts = list(iter_csv_batches(path, "gb18030", batch_rows=batch_rows, block_bytes=1 << 16))
    assert len(parts) == (1 if batch_rows > 243 else pytest.approx(243 / batch_rows, abs=2))
    pd.testing.assert_frame_equal(pd.concat([p.frame for p in parts], ignore_index=True), whole.frame)
    assert np.array_equal(np.concatenate([p.source_row for p in parts]), whole.source_row)
    pd.testing.assert_frame_equal(pd.concat([p.malformed for p in parts], ignore_index=True), whole.malformed)


@pytest.mark.parametrize("batch_rows", [7, 64, 1_000])
def test_a_hand_built_file_in_batches_is_ingested_as_the_whole_file(tmp_path, batch_rows):
    path = _hand_built(tmp_path)
    whole, summary = _whole(tmp_path / "whole", path, encoding="gb18030")
    streamed, streamed_summary = _streamed(tmp_path / "streamed", path, batch_rows, encoding="gb18030")
    _assert_same_ingest(whole, streamed, "000001")
    report = json.loads((streamed.root / "ingests" / "000001" / "validation.json").read_text())["transactions"]
    # t005 twice more; t071 three times, first on a rejected row (rejected as a duplicate too: row 71, the first
    # valid one, is kept), t200 once more
    assert report["reason_counts"]["DUPLICATE_TXN_ID"] == 5 and report["reason_counts"]["MALFORMED_LINE"] == 2
    for code in ("MISSING_SRC_ACCOUNT", "AMOUNT_BELOW_ONE_CENT", "ID_HAS_CONTROL_CHARACTER"):
        assert report["reason_counts"][code] == 1
    assert any(n.startswith("column 'src_account': 3 ids held invisible format") for n in report["notes"])
    assert "t082" in set(streamed.read_days("2026-03-03", "2026-03-03").column("txn_id").to_pylist())
    assert "\u200b账户1" not in set(streamed.accounts().column("account_id").to_pylist())
    rejects = pd.read_csv(streamed.root / "ingests" / "000001" / "rejects.csv")
    duplicates = rejects[rejects["reason_codes"].str.contains("DUPLICATE")].set_index("source_row")["message"]
    # data row r is line r + 1, less the blank line before it
    assert "the same id as row 6, which was kept" in duplicates[242]
    assert "the same id as row 71, which was kept" in duplicates[240] and "row 71, which was kept" in duplicates[70]

    # a correction that moves a transaction to another day, and a re-delivery of the rest
    corrected = path.read_bytes().decode("gb18030").replace("t100,2026-03-02 09:40:00", "t100,2026-03-08 09:40:00")
    corrected = corrected.replace("t101,2026-03-03 09:41:00,账户9,收款2,201.25", "t101,2026-03-03 09:41:00,账户9,收款2,999")
    assert corrected != path.read_bytes().decode("gb18030")
    path.write_bytes(corrected.encode("gb18030"))
    whole.ingest(load_dataset(path, encoding="gb18030"), str(path), rates=default_rates().describe())
    summary2, _ = ingest_file(streamed, path, encoding="gb18030", batch_rows=batch_rows)
    _assert_same_ingest(whole, streamed, "000002")
    m = summary2.manifest
    assert (m["rows_new"], m["rows_replaced"]) == (0, 2)
    assert {"2026-03-02", "2026-03-08", "2026-03-03"} <= set(m["rescan_days"])
    assert json.loads((summary2.folder / "plan.json").read_text())["remove"] == {"2026-03-02": ["t100"]}
    summary3, _ = ingest_file(streamed, path, encoding="gb18030", batch_rows=batch_rows)  # idempotent
    assert summary3.manifest["rows_new"] == summary3.manifest["rows_replaced"] == 0


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bank")
    write_simulation(simulate(seed=99, n_customers=500, n_days=30, patterns_per_typology=1, recruit_pool_share=0.4,
                              lookalikes_per_kind=1), folder)
    table = pd.read_parquet(folder / "transactions.parquet")
    csv = folder / "bank.csv.gz"
    table.to_csv(csv, index=False)
    return folder, csv, len(table)


@pytest.mark.parametrize("batch_rows", [500, 3_000])
def test_a_simulated_bank_in_batches_is_ingested_as_the_whole_file(bank, tmp_path, batch_rows):
    folder, csv, n = bank
    assert n > 3 * batch_rows  # several batches
    for path, options in ((csv, {}), (folder / "transactions.parquet", {"accounts": folder / "accounts.parquet"})):
        whole, _ = _whole(tmp_path / f"w{path.suffix}", path, **options)
        streamed, summary = _streamed(tmp_path / f"s{path.suffix}", path, batch_rows, **options)
        _assert_same_ingest(whole, streamed, "000001")
        assert summary.manifest["rows_new"] == n
        again, _ = ingest_file(streamed, path, batch_rows=batch_rows, **options)
        assert (again.manifest["rows_new"], again.manifest["rows_unchanged"]) == (0, n)


def test_a_streaming_ingest_killed_while_planning_or_applying_loses_nothing(bank, tmp_path):
    _, csv, n = bank
    reference, _ = _streamed(tmp_path / "reference", csv, 700)

    def kill_at(point):
        def stop(_):
            if point == "now":
                raise KeyboardInterrupt
        return stop

    store = TransactionStore.create(tmp_path / "store")
    with pytest.raises(KeyboardInterrupt):  # while planning: nothing reached the store
        ingest_file(store, csv, batch_rows=700, on_batch=lambda b: (_ for _ in ()).throw(KeyboardInterrupt)
                    if b == 3 else None)
    assert store.days() == [] and not any((store.root / "ingests").glob("*/work"))
    with pytest.raises(KeyboardInterrupt):  # while applying: the next ingest completes it
        ingest_file(store, csv, batch_rows=700, on_day_written=kill_at("now"))
    assert (store.root / "ingests" / "000001" / "plan.json").is_file()
    m = ingest_file(store, csv, batch_rows=700)[0].manifest
    assert (m["rows_new"], m["rows_unchanged"]) == (0, n)
    for day in reference.days():
        pd.testing.assert_frame_equal(store.read_days(day, day).to_pandas(), reference.read_days(day, day).to_pandas())
    assert not any((store.root / "ingests").glob("*/work"))


def test_cli_ingest_streams_with_batch_rows(bank, tmp_path, capsys):
    _, csv, n = bank
    assert main(["ingest", str(csv), "--into", str(tmp_path / "a"), "--batch-rows", "1000"]) == 0
    out = capsys.readouterr().out
    assert f"{n:,} rows read" in out and f"{n:,} new" in out
    assert main(["ingest", str(csv), "--into", str(tmp_path / "a"), "--batch-rows", "0"]) == 2
