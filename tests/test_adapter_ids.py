"""Transaction ids of the adapters whose files have none (AMLworld, the AMLSim samples) are
made from each row's content (flowgraph.io.rowids): the same row gets the same id whatever
its row number, so a file ingested in pieces adds up to the whole, re-ingesting adds
nothing, and shuffled rows keep their ids. The labels of AMLSim's variants are read."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowgraph.cli import main
from flowgraph.io import load_dataset, read_amlsim, read_amlworld
from flowgraph.io.rowids import content_ids, number_field, text_field
from flowgraph.txstore import TransactionStore
from reference import rowids as ref

AMLWORLD_HEADER = ("Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,Amount Paid,"
                   "Payment Currency,Payment Format,Is Laundering\n")
AMLWORLD_DAY1 = [
    "2022/09/01 00:20,010,8000EBD30,010,8000EBD30,3697.34,US Dollar,3697.34,US Dollar,Reinvestment,0",
    "2022/09/01 00:20,3208,8000F4580,1,8000F5340,0.01,US Dollar,0.01,US Dollar,Cheque,0",
    # the same payment twice, and once more labelled laundering: three transactions
    "2022/09/01 00:21,3208,8000F4580,1,8000F5340,10.00,US Dollar,10.00,US Dollar,Cheque,1",
    "2022/09/01 00:21,3208,8000F4580,1,8000F5340,10.00,US Dollar,10.00,US Dollar,Cheque,0",
    "2022/09/01 00:21,3208,8000F4580,1,8000F5340,10.00,US Dollar,10.00,US Dollar,Cheque,0",
]
AMLWORLD_DAY2 = [
    "2022/09/02 00:02,12,8000F5030,12,8000F5030,2806.97,US Dollar,2806.97,US Dollar,Reinvestment,1",
    "2022/09/02 00:06,10,8000F5200,10,8000F5200,36682.97,US Dollar,36682.97,US Dollar,Reinvestment,0",
    "2022/09/02 00:26,12,8000ECA90,12,8000ECA90,4300.00,Euro,4300.00,Euro,ACH,0",
]


def _write(path, lines, header=AMLWORLD_HEADER):
    path.write_text(header + "".join(line + "\n" for line in lines))
    return path


def _stored(store) -> pd.DataFrame:
    store = TransactionStore.open(store)
    table = store.read_days(store.days()[0], store.days()[-1]).to_pandas()
    return table.sort_values("txn_id").reset_index(drop=True)


def _manifest(store, ingest: int) -> dict:
    return json.loads((store / "ingests" / f"{ingest:06d}" / "manifest.json").read_text())


# -- the rule ---------------------------------------------------------------------------------

def test_amlworld_ids_are_the_reference_digest_of_each_row(tmp_path):
    lines = AMLWORLD_DAY1 + AMLWORLD_DAY2
    t = read_amlworld(_write(tmp_path / "t.csv", lines)).transactions.table
    expected = ref.amlworld_ids(AMLWORLD_HEADER + "\n".join(lines))
    assert t.txn_id.tolist() == expected
    # the three 10.00 payments: distinct ids, the laundering one numbered after the two others
    assert expected[3] + "-2" == expected[4] and expected[3] + "-3" == expected[2]
    assert t.txn_id.is_unique and t.is_laundering.tolist() == [0, 0, 1, 0, 0, 1, 0, 0]


_field = st.sampled_from(["a", "b", " a ", "", "x:y"])
_amount = st.sampled_from(["10", "10.0", "010.00", "+10", "10.5", "10.50", ".5", "0.50", "1e1", "abc", " 7 "])


@given(st.lists(st.tuples(_field, _amount, st.sampled_from(["0", "1", ""])), min_size=1, max_size=40))
def test_content_ids_match_the_reference(rows):
    frame = pd.DataFrame(rows, columns=["who", "amount", "label"])
    ids = content_ids("T-", [text_field(frame.who), number_field(frame.amount)], order_by=frame.label)
    expected = ref.content_ids("T-", [(ref.text(w), ref.number(a)) for w, a, _ in rows], [r[2] for r in rows])
    assert ids.tolist() == expected
    assert len(set(expected)) == len(rows)


@given(st.lists(st.tuples(_field, _amount, st.sampled_from(["0", "1"])), min_size=1, max_size=30), st.randoms())
def test_shuffled_rows_get_the_same_ids(rows, rnd):
    def by_id(rows):
        frame = pd.DataFrame(rows, columns=["who", "amount", "label"])
        ids = content_ids("T-", [text_field(frame.who), number_field(frame.amount)], order_by=frame.label)
        return dict(zip(ids.tolist(), [(ref.text(w), ref.number(a), lab) for w, a, lab in rows]))
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    assert by_id(shuffled) == by_id(rows)


def test_numbers_spelled_alike_are_one_number():
    spellings = pd.Series(["100.50", " 0100.5 ", "+100.500", "100.5"])
    assert number_field(spellings).to_pylist() == ["100.5"] * 4
    assert number_field(pd.Series(["100.", ".5", "0.0", "000", "1e2", "1,000.00"])).to_pylist() == \
        ["100", "0.5", "0", "0", "1e2", "1,000.00"]


# -- pieces, re-ingests and row order -----------------------------------------------------------

def test_amlworld_pieces_add_up_to_the_whole_and_reingesting_adds_nothing(tmp_path, capsys):
    whole = _write(tmp_path / "whole.csv", AMLWORLD_DAY1 + AMLWORLD_DAY2)
    part1 = _write(tmp_path / "part1.csv", AMLWORLD_DAY1)
    part2 = _write(tmp_path / "part2.csv", AMLWORLD_DAY2)
    pieces, one = tmp_path / "pieces", tmp_path / "one"
    for path in (part1, part2):
        assert main(["ingest", str(path), "--into", str(pieces)]) == 0
    assert main(["ingest", str(whole), "--into", str(one)]) == 0
    assert (_manifest(pieces, 2)["rows_new"], _manifest(pieces, 2)["rows_replaced"]) == (3, 0)
    columns = ["txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "is_laundering"]
    assert len(_stored(pieces)) == 8
    pd.testing.assert_frame_equal(_stored(pieces)[columns], _stored(one)[columns])
    # the whole file again, and a piece again: nothing new, nothing replaced
    assert main(["ingest", str(whole), "--into", str(pieces)]) == 0
    assert main(["ingest", str(part2), "--into", str(one)]) == 0
    for store, ingest, n in ((pieces, 3, 8), (one, 2, 3)):
        m = _manifest(store, ingest)
        assert (m["rows_new"], m["rows_replaced"], m["rows_unchanged"]) == (0, 0, n)
    assert "0 new, 0 replaced, 3 unchanged rows" in capsys.readouterr().out


def test_identical_rows_split_across_pieces_are_one_transaction(tmp_path):
    """The documented limit: each piece's copy is its first, so both get one id."""
    repeat = AMLWORLD_DAY1[3]
    first = _write(tmp_path / "a.csv", [repeat])
    second = _write(tmp_path / "b.csv", [repeat, AMLWORLD_DAY2[0]])
    store = tmp_path / "store"
    for path in (first, second):
        assert main(["ingest", str(path), "--into", str(store)]) == 0
    m = _manifest(store, 2)
    assert (m["rows_new"], m["rows_unchanged"]) == (1, 1)
    assert len(_stored(store)) == 2


def test_shuffled_amlworld_file_keeps_its_ids_and_labels(tmp_path):
    lines = AMLWORLD_DAY1 + AMLWORLD_DAY2
    shuffled = [lines[i] for i in np.random.default_rng(7).permutation(len(lines))]
    assert shuffled != lines

    def by_id(path):
        t = read_amlworld(path).transactions.table.set_index("txn_id")
        return t[["timestamp", "src_account", "dst_account", "amount", "is_laundering"]].sort_index()
    pd.testing.assert_frame_equal(by_id(_write(tmp_path / "a.csv", lines)), by_id(_write(tmp_path / "b.csv", shuffled)))


@pytest.mark.amlsim
def test_shuffled_amlsim_sample_keeps_its_ids(amlsim_dir, tmp_path):
    folder = amlsim_dir / "20K_fanin200cycle200"
    raw = pd.read_csv(folder / "transactions.csv", dtype=str)
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    raw.sample(frac=1.0, random_state=3).to_csv(shuffled / "transactions.csv", index=False)
    shutil.copy(folder / "nodes.csv", shuffled / "nodes.csv")
    columns = ["src_account", "dst_account", "amount", "step"]
    one = read_amlsim(folder).transactions.table.set_index("txn_id")[columns].sort_index()
    other = read_amlsim(shuffled).transactions.table.set_index("txn_id")[columns].sort_index()
    pd.testing.assert_frame_equal(one, other)
    # the sample repeats rows (the same transfer in one step): each repeat is a transaction
    repeats = int(raw.duplicated().sum())
    assert repeats > 0 and len(one) == len(raw) and one.index.is_unique
    assert int(one.index.str.fullmatch(r"amlsim-[0-9a-f]{20}-\d+").sum()) == repeats


SCAN_CONFIG = """[rule_set]
based_on = "PBOC-2016"
scale = 0.001

[detectors.fan]
min_amount_fraction = 4e-06
"""


def _hits(run) -> pd.DataFrame:
    hits = pd.read_parquet(run / "hits.parquet")
    hits = hits[["hit_id", "detector", "typology", "subject", "run_first", "run_last", "amount", "txn_ids"]].copy()
    hits["txn_ids"] = hits["txn_ids"].map(lambda ids: sorted(ids))
    return hits.sort_values("hit_id").reset_index(drop=True)


@pytest.mark.amlsim
def test_amlsim_pieces_in_a_store_scan_as_the_whole_file(amlsim_dir, tmp_path):
    """A sample's first 30 steps as one folder, and as two pieces cut between steps
    ingested one after the other: the store holds every transaction once, and its scan
    finds the hits of the whole file, transaction by transaction."""
    sample = amlsim_dir / "20K_fanin200cycle200"
    raw = pd.read_csv(sample / "transactions.csv", dtype=str)
    step = raw["time"].astype(int)
    folders = {}
    for name, rows in (("whole", raw[step < 30]), ("part1", raw[step < 12]), ("part2", raw[(step >= 12) & (step < 30)])):
        folders[name] = tmp_path / name
        folders[name].mkdir()
        rows.to_csv(folders[name] / "transactions.csv", index=False)
        shutil.copy(sample / "nodes.csv", folders[name] / "nodes.csv")
    n_part2 = int(((step >= 12) & (step < 30)).sum())
    store = tmp_path / "store"
    for name in ("part1", "part2"):
        assert main(["ingest", str(folders[name]), "--into", str(store)]) == 0
    m = _manifest(store, 2)
    assert (m["rows_new"], m["rows_replaced"], m["rows_unchanged"]) == (n_part2, 0, 0)
    whole = load_dataset(folders["whole"]).transactions.table.set_index("txn_id")
    stored = _stored(store).set_index("txn_id")
    columns = ["timestamp", "src_account", "dst_account", "amount"]
    pd.testing.assert_frame_equal(stored[columns], whole[columns].sort_index(), check_dtype=False)

    config = tmp_path / "amlsim.toml"
    config.write_text(SCAN_CONFIG)
    for source, run in ((folders["whole"], tmp_path / "run-file"), (store, tmp_path / "run-store")):
        assert main(["scan", str(source), "--config", str(config), "--out", str(run)]) == 0
    file_hits, store_hits = _hits(tmp_path / "run-file"), _hits(tmp_path / "run-store")
    # hits whose ids are made from a transaction id (a large value, a chain's first payment) too
    assert {"large_value", "forwarding_chains", "layered"} <= set(file_hits.detector)
    pd.testing.assert_frame_equal(store_hits, file_hits)


# -- AMLSim's labels ------------------------------------------------------------------------------

def _full_folder(folder, transactions: str, alert_accounts: str | None = None):
    folder.mkdir(exist_ok=True)
    (folder / "transactions.csv").write_text(transactions)
    (folder / "accounts.csv").write_text("acct_id,prior_sar_count\n10,false\n11,true\n12,false\n20,false\n13,false\n")
    if alert_accounts:
        (folder / "alert_accounts.csv").write_text(alert_accounts)
    return folder


IS_FRAUD = ("tran_id,orig_acct,bene_acct,tx_type,base_amt,tran_timestamp,is_fraud,alert_id\n"
            "1,10,20,TRANSFER,100.5,2017-01-02T00:00:00Z,false,-1\n"
            "2,11,20,TRANSFER,200,2017-01-02T00:00:00Z,true,7\n"
            "3,12,20,TRANSFER,300,2017-01-03T00:00:00Z,TRUE,7\n"
            "4,20,13,CASH-OUT,50,2017-01-03T00:00:00Z,false,\n")


def test_amlsim_is_fraud_is_the_transaction_label(tmp_path):
    ds = read_amlsim(_full_folder(tmp_path / "f", IS_FRAUD))
    t = ds.transactions.table
    assert t.txn_id.tolist() == ["1", "2", "3", "4"]
    assert t.is_laundering.tolist() == [0, 1, 1, 0]
    assert t.alert_id.tolist() == [-1, 7, 7, -1] and t.alert_id.dtype == np.int64
    assert any("read from is_fraud" in note for note in ds.transactions.report.notes)


def test_amlsim_alert_ids_that_are_not_numbers_are_kept_as_given(tmp_path):
    text = IS_FRAUD.replace(",7\n", ",fan-in:7\n")
    ds = read_amlsim(_full_folder(tmp_path / "f", text))
    t = ds.transactions.table
    assert t.alert_id.tolist() == ["-1", "fan-in:7", "fan-in:7", ""]
    assert t.is_laundering.tolist() == [0, 1, 1, 0]
    note = [n for n in ds.transactions.report.notes if "alert_id" in n]
    assert len(note) == 1 and "2 row(s)" in note[0] and "first: row 2" in note[0]


def test_amlsim_labels_neither_true_nor_false_are_counted_in_a_note(tmp_path):
    text = IS_FRAUD.replace("CASH-OUT,50,2017-01-03T00:00:00Z,false", "CASH-OUT,50,2017-01-03T00:00:00Z,maybe")
    ds = read_amlsim(_full_folder(tmp_path / "f", text))
    assert ds.transactions.table.is_laundering.tolist() == [0, 1, 1, 0]
    note = [n for n in ds.transactions.report.notes if "neither true nor false" in n]
    assert len(note) == 1 and "'is_fraud'" in note[0] and "1 row(s)" in note[0] and "row 4" in note[0]


def test_amlsim_alert_accounts_flagged_with_is_fraud(tmp_path):
    alerts = ("alert_id,alert_type,acct_id,acct_name,is_fraud\n"
              "7,fan_in,12,C_12,true\n8,fan_out,13,C_13,false\n")
    labels = read_amlsim(_full_folder(tmp_path / "f", IS_FRAUD, alerts)).accounts.table
    assert labels.set_index("account_id").is_laundering.to_dict() == {"10": 0, "11": 1, "12": 1, "20": 0, "13": 0}


def test_ingest_prints_where_the_label_came_from(tmp_path, capsys):
    folder = _full_folder(tmp_path / "f", IS_FRAUD)
    assert main(["ingest", str(folder), "--out", str(tmp_path / "out")]) == 0
    assert "transaction label (is_laundering) read from is_fraud" in capsys.readouterr().out
    assert pd.read_parquet(tmp_path / "out" / "transactions.parquet").is_laundering.tolist() == [0, 1, 1, 0]


def test_amlworld_labels_that_are_not_numbers_are_counted_in_a_note(tmp_path):
    lines = [AMLWORLD_DAY2[0][:-1] + "yes", AMLWORLD_DAY2[1]]
    ds = read_amlworld(_write(tmp_path / "t.csv", lines))
    assert ds.transactions.table.is_laundering.tolist() == [0, 0]
    note = [n for n in ds.transactions.report.notes if "Is Laundering" in n]
    assert len(note) == 1 and "1 row(s) not a number" in note[0] and "row 1" in note[0]


def test_amlworld_says_which_empty_unnamed_columns_it_ignored(tmp_path):
    """An AMLworld file exported through a spreadsheet (``…,Is Laundering,,``): its empty
    unnamed columns are ignored, and its report says so, as for any CSV."""
    path = _write(tmp_path / "HI-Small_Trans.csv", [line + ",," for line in AMLWORLD_DAY1],
                  header=AMLWORLD_HEADER.rstrip("\n") + ",,\n")
    ds = read_amlworld(path)
    assert len(ds.transactions.table) == len(AMLWORLD_DAY1)
    assert [n for n in ds.transactions.report.notes if n.startswith("the header has no name for columns 12, 13,")]
