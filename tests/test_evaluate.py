"""Evaluation against ground truth: patterns carry calendar dates, hit windows business days."""

import numpy as np
import pandas as pd
import pytest

from flowgraph.calendar import BusinessCalendar
from flowgraph.deid import Pseudonymizer, load_key
from flowgraph.errors import ConfigError
from flowgraph.evaluate import MATCHING, counted_business_days, found, precision_table, recall_table
from flowgraph.graph import build_graph
from flowgraph.schema import validate_transactions

# National Day 2024: Sun 09-29 a make-up workday, 10-01..10-07 holiday, Tue 10-08 the next
# business day, Sat 10-12 a make-up workday, Sun 10-13 rest.
DATES = ["2024-09-28", "2024-09-29", "2024-10-02", "2024-10-06", "2024-10-08", "2024-10-12", "2024-10-13"]
COUNTED = ["2024-09-29", "2024-09-29", "2024-10-08", "2024-10-08", "2024-10-08", "2024-10-12", "2024-10-14"]


def day(text):
    return pd.Timestamp(text)


def pattern(first, last, typology="bipartite", subject="M1"):
    return {"typology": typology, "behaviour": "adaptive", "subject": subject, "accounts": [subject, "S1", "K1"],
            "first_day": day(first), "last_day": day(last)}


def hit(start, end, typology="bipartite", subject="M1"):
    return {"typology": typology, "subject": subject, "window_start": day(start), "window_end": day(end)}


def test_pattern_dates_count_toward_the_business_day_the_graph_books_them_on():
    rows = [(f"t{i}", f"{d} 10:00:00", "A", "B", "100", "CNY", "transfer") for i, d in enumerate(DATES)]
    table = validate_transactions(pd.DataFrame(rows, columns=["txn_id", "timestamp", "src_account", "dst_account",
                                                              "amount", "currency", "channel"]), "t.csv").table
    graph = build_graph(table)
    booked = graph.business_days[graph.day].astype("datetime64[ns]")
    counted = counted_business_days(table["timestamp"])
    assert np.array_equal(np.sort(counted), booked)
    assert list(counted_business_days(pd.to_datetime(DATES))) == list(pd.to_datetime(COUNTED).to_numpy())


@pytest.mark.parametrize(("first", "last", "hit_start", "hit_end", "expected"), [
    ("2024-10-02", "2024-10-06", "2024-10-08", "2024-10-08", True),   # holiday pattern, next business day
    ("2024-10-02", "2024-10-06", "2024-09-23", "2024-09-30", False),  # before the holiday
    ("2024-10-02", "2024-10-06", "2024-10-21", "2024-10-25", False),  # far away
    ("2024-10-12", "2024-10-12", "2024-10-12", "2024-10-12", True),   # make-up Saturday is its own day
    ("2024-10-12", "2024-10-12", "2024-10-14", "2024-10-18", False),
    ("2024-10-13", "2024-10-13", "2024-10-14", "2024-10-14", True),   # Sunday -> Monday
])
def test_hit_on_the_business_day_a_pattern_counts_toward_finds_it(first, last, hit_start, hit_end, expected):
    patterns = pd.DataFrame([pattern(first, last)])
    assert found(patterns, pd.DataFrame([hit(hit_start, hit_end)])).tolist() == [expected]


def test_only_a_matching_typology_on_the_subject_finds_a_pattern():
    patterns = pd.DataFrame([pattern("2024-10-02", "2024-10-06")], index=[7])
    other_typology = next(t for t in ("fan_in", "cycle", "structuring") if t not in MATCHING["bipartite"])
    hits = pd.DataFrame([hit("2024-10-08", "2024-10-08", typology=other_typology),
                         hit("2024-10-08", "2024-10-08", subject="M2")])
    assert found(patterns, hits).to_dict() == {7: False}
    assert found(patterns, hits.iloc[:0]).to_dict() == {7: False}


def test_recall_counts_holiday_patterns_found_on_the_next_business_day():
    patterns = pd.DataFrame([pattern("2024-10-02", "2024-10-06"), pattern("2024-10-03", "2024-10-05", subject="M2"),
                             pattern("2024-10-02", "2024-10-06", typology="stack", subject="M3")])
    hits = pd.DataFrame([hit("2024-10-08", "2024-10-09"), hit("2024-10-08", "2024-10-10", "stack", "M3")])
    table = recall_table(patterns, hits).set_index("typology")
    assert table.loc["bipartite", ["found", "patterns"]].tolist() == [1, 2]
    assert table.loc["stack", ["found", "patterns"]].tolist() == [1, 1]


def test_the_scans_calendar_decides_which_business_day_a_date_counts_toward():
    # Monday-to-Friday without PRC holidays: Wed 10-02 is a business day of its own
    patterns = pd.DataFrame([pattern("2024-10-02", "2024-10-06")])
    hits = pd.DataFrame([hit("2024-10-08", "2024-10-08")])
    assert found(patterns, hits, BusinessCalendar.weekdays_only()).tolist() == [False]
    assert found(patterns, hits).tolist() == [True]


# --- pseudonymised hits (what a default scan writes) -------------------------------------

def write_key(path, byte):
    path.write_text(bytes([byte] * 32).hex() + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def scanned_bank(tmp_path_factory):
    """One small simulated bank scanned twice with one key: by default (pseudonyms in the
    hits) and with ``reveal_ids`` (real ids)."""
    from flowgraph.io import load_dataset
    from flowgraph.scan import run_scan
    from flowgraph.simulate import SimulationParams, simulate, write_simulation

    folder = tmp_path_factory.mktemp("evaluate-bank")
    key = write_key(folder / "scan.key", 7)
    write_simulation(simulate(SimulationParams(seed=3, n_customers=1_200, n_days=30, recruit_pool_share=0.3)),
                     folder / "data")
    dataset = load_dataset(folder / "data")
    hits = {}
    for name, reveal in (("default", False), ("reveal", True)):
        run_scan(dataset, folder / name, reveal_ids=reveal, key_file=key, progress=False)
        frame = pd.read_parquet(folder / name / "hits.parquet")
        hits[name] = frame[~frame["in_band"]].reset_index(drop=True)
    return pd.read_parquet(folder / "data" / "patterns.parquet"), hits, key


def test_a_default_scan_and_a_reveal_ids_scan_of_one_bank_score_the_same(scanned_bank, monkeypatch):
    patterns, hits, key = scanned_bank
    assert hits["default"]["subject"].str.startswith("ACC-").all()
    assert not hits["reveal"]["subject"].str.startswith("ACC-").any()
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(key))  # the scan's default key, as for a user
    recall = {name: recall_table(patterns, h) for name, h in hits.items()}
    precision = {name: precision_table(patterns, h) for name, h in hits.items()}
    assert recall["reveal"]["found"].sum() > 0 and (precision["reveal"]["precision"] > 0).any()
    pd.testing.assert_frame_equal(recall["default"], recall["reveal"])
    pd.testing.assert_frame_equal(precision["default"], precision["reveal"])
    # the key passed explicitly instead of found in the environment
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(key.parent / "absent.key"))
    assert found(patterns, hits["default"], key_file=key).equals(found(patterns, hits["reveal"]))


@pytest.mark.parametrize("score", [found, recall_table, precision_table])
def test_pseudonymised_hits_under_another_key_are_an_error_not_a_score_of_0(scanned_bank, tmp_path, monkeypatch,
                                                                             score):
    patterns, hits, _ = scanned_bank
    other = write_key(tmp_path / "other.key", 8)
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(other))
    with pytest.raises(ConfigError, match=r"none of them is the pseudonym of an account of the ground truth under "
                                          rf"the key {other}.*Fix: pass key_file= the key the scan used"):
        score(patterns, hits["default"])
    # real ids need no key
    assert len(score(patterns, hits["reveal"]))


def test_pseudonymised_hits_without_a_key_file_say_so_and_create_none(scanned_bank, tmp_path, monkeypatch):
    patterns, hits, _ = scanned_bank
    absent = tmp_path / "absent.key"
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(absent))
    with pytest.raises(ConfigError, match=rf"the pseudonym key {absent} does not exist.*Fix: pass key_file="):
        recall_table(patterns, hits["default"])
    assert not absent.exists()


def test_hits_mixing_pseudonyms_and_real_ids_are_an_error(scanned_bank):
    patterns, hits, key = scanned_bank
    mixed = pd.concat([hits["default"].head(3), hits["reveal"].head(3)], ignore_index=True)
    with pytest.raises(ConfigError, match=r"mix pseudonymised subjects \(3 like ACC-…\) and real account ids \(3\)"):
        precision_table(patterns, mixed, key_file=key)


def test_pseudonymised_hand_built_case_matches_on_the_pseudonyms_of_its_key(tmp_path):
    key = write_key(tmp_path / "k.key", 9)
    pseudo = Pseudonymizer(load_key(key))
    patterns = pd.DataFrame([pattern("2024-10-02", "2024-10-06"), pattern("2024-10-02", "2024-10-06", subject="M2")])
    hits = pd.DataFrame([hit("2024-10-08", "2024-10-08"), hit("2024-10-08", "2024-10-08", subject="S1")])
    hidden = hits.assign(subject=[pseudo(s) for s in hits["subject"]])
    assert found(patterns, hidden, key_file=key).tolist() == found(patterns, hits).tolist() == [True, False]
    # S1 is an account of M1's pattern: both hits are on laundering accounts
    assert precision_table(patterns, hidden, key_file=key)["precision"].tolist() == [1.0]
