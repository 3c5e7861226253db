import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowgraph.errors import DataError
from flowgraph.schema import (REASONS, _clean_text, _control_characters, _repeated, _stripped, validate_accounts,
                              validate_transactions)


def frame(*rows, **extra_cols):
    cols = ["txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel"]
    out = pd.DataFrame([dict(zip(cols, r)) for r in rows], columns=cols, dtype=str)
    for k, v in extra_cols.items():
        out[k] = v
    return out


GOOD = ("t1", "2024-10-08 10:00:00", "A", "B", "100.50", "CNY", "transfer")


def reasons_of(v, row):
    hit = v.rejects.loc[v.rejects.source_row == row, "reason_codes"]
    assert len(hit) == 1, f"row {row} not rejected"
    return set(hit.iloc[0].split(";"))


def test_good_row_is_accepted_in_canonical_form():
    v = validate_transactions(frame(GOOD), "x.csv")
    t = v.table
    assert v.report.ok and len(t) == 1
    assert t.timestamp.dtype == "datetime64[ns]" and t.amount.iloc[0] == 100.5
    assert t.amount_cny.iloc[0] == 100.5 and t.amount_usd.iloc[0] == round(100.5 * 0.138, 2)
    assert t.source_row.iloc[0] == 1 and str(t.channel.iloc[0]) == "transfer"


@pytest.mark.parametrize("row, code", [
    (("", *GOOD[1:]), "MISSING_TXN_ID"),
    (("t2", "2024-02-30 10:00", *GOOD[2:]), "BAD_TIMESTAMP"),
    (("t2", "yesterday", *GOOD[2:]), "BAD_TIMESTAMP"),
    (("t2", "", *GOOD[2:]), "BAD_TIMESTAMP"),
    # parses as the year 0, outside datetime64[ns]: a rejected row, not a failed load
    (("t2", "/1", *GOOD[2:]), "BAD_TIMESTAMP"),
    (("t2", "0001-01-01 10:00", *GOOD[2:]), "BAD_TIMESTAMP"),
    ((*GOOD[:4], "", *GOOD[5:]), "MISSING_AMOUNT"),
    ((*GOOD[:4], "12,5", *GOOD[5:]), "BAD_AMOUNT"),
    ((*GOOD[:4], "NaN", *GOOD[5:]), "NAN_AMOUNT"),
    ((*GOOD[:4], "inf", *GOOD[5:]), "INFINITE_AMOUNT"),
    ((*GOOD[:4], "-inf", *GOOD[5:]), "INFINITE_AMOUNT"),
    ((*GOOD[:4], "0", *GOOD[5:]), "NON_POSITIVE_AMOUNT"),
    ((*GOOD[:4], "-3", *GOOD[5:]), "NON_POSITIVE_AMOUNT"),
    ((*GOOD[:4], "2e13", *GOOD[5:]), "AMOUNT_TOO_LARGE"),
    ((*GOOD[:4], "1e308", "USD", GOOD[6]), "AMOUNT_TOO_LARGE"),
    ((*GOOD[:5], "XYZ", GOOD[6]), "UNKNOWN_CURRENCY"),
    ((*GOOD[:5], "", GOOD[6]), "MISSING_CURRENCY"),
    ((*GOOD[:6], "carrier pigeon"), "UNKNOWN_CHANNEL"),
    ((GOOD[0], GOOD[1], "", "", *GOOD[4:]), "NO_PARTIES"),
    # only cash may leave one side empty (SPEC §8)
    ((GOOD[0], GOOD[1], "", *GOOD[3:]), "MISSING_SRC_ACCOUNT"),
    ((*GOOD[:3], "", *GOOD[4:]), "MISSING_DST_ACCOUNT"),
    ((GOOD[0], GOOD[1], "", *GOOD[3:6], "cross_border"), "MISSING_SRC_ACCOUNT"),
    ((*GOOD[:3], " \u200b", *GOOD[4:6], "cross_border"), "MISSING_DST_ACCOUNT"),
    # positive, but 0.00 once rounded to the cent, as amount_cny is
    ((*GOOD[:4], "0.001", *GOOD[5:]), "AMOUNT_BELOW_ONE_CENT"),
    ((*GOOD[:4], "1e-300", *GOOD[5:]), "AMOUNT_BELOW_ONE_CENT"),
    ((*GOOD[:4], "0.005", *GOOD[5:]), "AMOUNT_BELOW_ONE_CENT"),
    ((*GOOD[:4], "0.004", "USD", GOOD[6]), "AMOUNT_BELOW_ONE_CENT"),  # 0.03 CNY, but no USD amount
    (("t\x00", *GOOD[1:]), "ID_HAS_CONTROL_CHARACTER"),
    ((*GOOD[:2], "A\tB", *GOOD[3:]), "ID_HAS_CONTROL_CHARACTER"),
    ((*GOOD[:3], "\x7fB", *GOOD[4:]), "ID_HAS_CONTROL_CHARACTER"),
    ((*GOOD[:3], "B\x85C", *GOOD[4:]), "ID_HAS_CONTROL_CHARACTER"),  # a C1 control
])
def test_each_bad_value_is_rejected_with_its_reason(row, code):
    v = validate_transactions(frame(row), "bank.csv")
    assert v.report.n_rejected == 1 and reasons_of(v, 1) == {code}
    message = v.rejects.message.iloc[0]
    column, fix = REASONS[code]
    assert "bank.csv" in message and "row 1 (line 2)" in message and f"column '{column}'" in message
    assert fix in message


def test_every_problem_of_a_row_is_collected_not_the_first():
    v = validate_transactions(frame(("", "never", "", "", "-1", "ZZZ", "wire")), "f.csv")
    assert reasons_of(v, 1) == {"MISSING_TXN_ID", "BAD_TIMESTAMP", "NON_POSITIVE_AMOUNT",
                                "UNKNOWN_CURRENCY", "UNKNOWN_CHANNEL", "NO_PARTIES"}
    # the report counts every reason and shows where
    assert v.report.reason_counts["BAD_TIMESTAMP"] == 1
    assert any("column 'timestamp'" in e for e in v.report.examples)


def test_duplicate_ids_keep_the_first_row():
    v = validate_transactions(frame(GOOD, ("t1", *GOOD[1:]), ("t2", *GOOD[1:]), ("t1", *GOOD[1:])), "f.csv")
    assert v.table.txn_id.tolist() == ["t1", "t2"]
    assert v.rejects.source_row.tolist() == [2, 4]
    assert set(v.rejects.reason_codes) == {"DUPLICATE_TXN_ID"}


def test_no_rate_before_the_first_rate_date(tmp_path):
    from flowgraph.money import read_rates

    path = tmp_path / "r.csv"
    path.write_text("date,currency,cny_per_unit,usd_per_unit\n2024-06-01,USD,7.1,1\n2024-01-01,CNY,1,0.14\n")
    v = validate_transactions(frame(("t1", "2024-05-01 09:00", "A", "B", "10", "USD", "transfer"),
                                    ("t2", "2024-06-03 09:00", "A", "B", "10", "usd", "transfer")),
                              "f.csv", rates=read_rates(path))
    assert reasons_of(v, 1) == {"NO_RATE_FOR_DATE"}
    assert v.table.amount_cny.tolist() == [71.0]


def test_self_transfers_are_kept_and_flagged():
    v = validate_transactions(frame(GOOD, ("t2", GOOD[1], "A", "A", *GOOD[4:])), "f.csv")
    assert v.report.ok and v.table.is_self_transfer.tolist() == [False, True]
    assert v.report.flag_counts == {"SELF_TRANSFER": 1}
    assert "SELF_TRANSFER" in str(v.report)


def test_cash_rows_may_have_one_side_empty():
    v = validate_transactions(frame(("t1", GOOD[1], "", "B", "5000", "CNY", "cash"),
                                    ("t2", GOOD[1], "A", "", "5000", "CNY", "CASH")), "f.csv")
    assert v.report.ok
    assert v.table.src_account.isna().tolist() == [True, False]
    assert v.table.channel.astype(str).tolist() == ["cash", "cash"]


@pytest.mark.parametrize("channel", ["transfer", "cross_border", None])
def test_only_cash_may_leave_a_side_empty(channel):
    rows = [("t1", GOOD[1], "", "B", "600000", "CNY", channel), ("t2", GOOD[1], "A", "", "600000", "CNY", channel),
            ("t3", GOOD[1], "", "", "600000", "CNY", channel), ("t4", GOOD[1], "A", "B", "600000", "CNY", channel),
            ("t5", GOOD[1], "", "B", "600000", "CNY", "wire")]
    f = frame(*rows)
    if channel is None:  # no channel column: every row a transfer
        f = f.iloc[:4].drop(columns="channel")
    v = validate_transactions(f, "f.csv")
    assert v.table.txn_id.tolist() == ["t4"]
    assert reasons_of(v, 1) == {"MISSING_SRC_ACCOUNT"} and reasons_of(v, 2) == {"MISSING_DST_ACCOUNT"}
    assert reasons_of(v, 3) == {"NO_PARTIES"}  # not also one code per side
    if channel is not None:
        assert reasons_of(v, 5) == {"UNKNOWN_CHANNEL"}  # cash or not is unknown: one reason
    messages = v.rejects.set_index("source_row").message
    assert "column 'src_account'" in messages[1] and "column 'dst_account'" in messages[2]
    assert f"channel '{channel or 'transfer'}'" in messages[1] and "set the channel to cash" in messages[1]
    # a foreign counterparty is named by an id of its own, as the simulator does (EXT0000123)
    v = validate_transactions(frame(("t1", GOOD[1], "A", "EXT0000123", "2000", "USD", "cross_border")), "f.csv")
    assert v.report.ok


@pytest.mark.parametrize("amount, currency, home, accepted", [
    ("0.01", "CNY", "CNY", True), ("0.006", "CNY", "CNY", True), ("0.005", "CNY", "CNY", False),
    ("0.004", "CNY", "CNY", False), ("1e-300", "CNY", "CNY", False), ("5e-324", "CNY", "CNY", False),
    ("0.01", "USD", "CNY", True), ("0.004", "USD", "CNY", False),
    # a fen is a real amount at home (small-amount account checks), though below a US cent
    ("0.03", "CNY", "CNY", True), ("0.03", "CNY", "USD", False), ("0.04", "CNY", "USD", True),
])
def test_amounts_below_one_cent_at_the_boundary(amount, currency, home, accepted):
    v = validate_transactions(frame(("t1", GOOD[1], "A", "B", amount, currency, "transfer")), "f.csv",
                              home_currency=home)
    assert v.report.ok == accepted
    if accepted:
        assert v.table[f"amount_{home.lower()}"].iloc[0] >= 0.01
    else:
        assert reasons_of(v, 1) == {"AMOUNT_BELOW_ONE_CENT"}


def test_channel_map_translates_bank_codes():
    v = validate_transactions(frame((*GOOD[:6], "ATM"), ("t2", *GOOD[1:6], "SWIFT")), "f.csv",
                              channel_map={"atm": "cash", "SWIFT": "cross_border"})
    assert v.table.channel.astype(str).tolist() == ["cash", "cross_border"]


def test_missing_columns_name_the_file_the_columns_and_the_fix():
    with pytest.raises(DataError) as err:
        validate_transactions(pd.DataFrame({"id": ["1"], "when": ["x"]}), "export.csv")
    text = str(err.value)
    assert "export.csv" in text and "'txn_id'" in text and "'amount'" in text
    assert "--map" in text and "columns=" in text


def test_optional_columns_default_with_a_note():
    f = frame(GOOD).drop(columns=["currency", "channel"])
    v = validate_transactions(f, "f.csv")
    assert v.report.ok and v.table.currency.iloc[0] == "CNY"
    assert any("currency" in n for n in v.report.notes) and any("channel" in n for n in v.report.notes)


def test_typed_parquet_style_input():
    f = pd.DataFrame({
        "txn_id": [1, 2, 3, 4],
        "timestamp": pd.to_datetime(["2024-10-08 10:00", "2024-10-08 11:00", None, "2024-10-09 08:00"]),
        "src_account": ["A", "B", "C", None],
        "dst_account": ["B", "C", "A", None],
        "amount": [10.0, np.nan, 5.0, np.inf],
    })
    v = validate_transactions(f, "f.parquet")
    assert v.table.txn_id.tolist() == ["1"]
    assert reasons_of(v, 2) == {"NAN_AMOUNT"}
    assert reasons_of(v, 3) == {"BAD_TIMESTAMP"}
    assert reasons_of(v, 4) == {"INFINITE_AMOUNT", "NO_PARTIES"}
    assert "line" not in v.rejects.message.iloc[0]  # Parquet has rows, not lines


def test_nullable_amount_null_is_missing_not_nan():
    f = frame(GOOD, ("t2", *GOOD[1:])).astype({"amount": "Float64"})
    f.loc[1, "amount"] = pd.NA
    v = validate_transactions(f, "f.parquet")
    assert reasons_of(v, 2) == {"MISSING_AMOUNT"}


def test_timezone_aware_timestamps_are_taken_in_china_standard_time():
    f = frame(("t1", "2024-10-07T17:30:00+00:00", "A", "B", "10", "CNY", "transfer"))
    v = validate_transactions(f, "f.csv")
    # 17:30 UTC on the 7th is 01:30 on the 8th in Beijing
    assert str(v.table.timestamp.iloc[0]) == "2024-10-08 01:30:00"


def test_a_file_mixing_aware_and_naive_timestamps():
    f = frame(("t1", "2024-10-07T17:30:00Z", "A", "B", "10", "CNY", "transfer"),
              ("t2", "2024-10-08 09:00:00", "A", "B", "10", "CNY", "transfer"),
              ("t3", "2024-10-08T09:00:00+08:00", "A", "B", "10", "CNY", "transfer"),
              ("t4", "not a time+08:00", "A", "B", "10", "CNY", "transfer"))
    v = validate_transactions(f, "f.csv")
    assert [str(t) for t in v.table.timestamp] == ["2024-10-08 01:30:00", "2024-10-08 09:00:00",
                                                   "2024-10-08 09:00:00"]
    assert reasons_of(v, 4) == {"BAD_TIMESTAMP"}


def test_a_time_outside_the_nanosecond_range_beside_aware_ones_is_a_rejected_row():
    # "/1" parses as the year 0; beside an aware time it once failed the whole load
    f = frame(("t1", "2024-10-07T17:30:00Z", "A", "B", "10", "CNY", "transfer"),
              ("t2", "/1", "A", "B", "10", "CNY", "transfer"),
              ("t3", "9999-01-01 00:00:00", "A", "B", "10", "CNY", "transfer"))
    v = validate_transactions(f, "f.csv")
    assert [str(t) for t in v.table.timestamp] == ["2024-10-08 01:30:00"]
    assert reasons_of(v, 2) == reasons_of(v, 3) == {"BAD_TIMESTAMP"}


def test_header_only_gives_an_empty_table_and_says_so():
    v = validate_transactions(frame(), "empty.csv")
    assert (v.report.n_input, v.report.n_accepted, v.report.n_rejected) == (0, 0, 0)
    assert "no data rows" in str(v.report)
    assert list(v.table.columns)[:5] == ["txn_id", "timestamp", "src_account", "dst_account", "amount"]


def test_accounts_validation():
    f = pd.DataFrame({"account_id": ["A", "B", "A", "", "C"], "customer_id": ["c1", "", "c2", "c3", "c4"],
                      "party_type": ["Person", "company", "entity", "person", "alien"]})
    v = validate_accounts(f, "accts.csv")
    assert v.table.account_id.tolist() == ["A", "B"]
    assert v.table.customer_id.tolist() == ["c1", "B"]  # empty customer: its own customer
    assert v.table.party_type.astype(str).tolist() == ["person", "entity"]
    assert v.rejects.reason_codes.tolist() == ["DUPLICATE_ACCOUNT_ID", "MISSING_ACCOUNT_ID", "UNKNOWN_PARTY_TYPE"]
    assert v.report.n_input == v.report.n_accepted + v.report.n_rejected


# -- accepted + rejected = input, whatever the input ---------------------------------------

cell = st.one_of(st.just(""), st.text(max_size=6), st.sampled_from(["NaN", "inf", "-1", "0", "x"]))
amount = st.one_of(cell, st.floats(allow_nan=True, allow_infinity=True).map(str),
                   st.floats(min_value=0.01, max_value=1e9).map(lambda x: f"{x:.2f}"))
stamp = st.one_of(cell, st.datetimes(min_value=pd.Timestamp("2015-01-01").to_pydatetime(),
                                     max_value=pd.Timestamp("2026-06-30").to_pydatetime()).map(str))
row = st.tuples(st.sampled_from(["", "t1", "t2", "t3", "t4", "t5"]) | st.text(max_size=4), stamp,
                st.sampled_from(["", "A", "B", "C"]), st.sampled_from(["", "A", "B", "C"]), amount,
                st.sampled_from(["CNY", "USD", "usd", "", "ZZZ", "EUR"]),
                st.sampled_from(["cash", "transfer", "cross_border", "", "Cash", "wire"]))


@given(st.lists(row, max_size=40))
def test_accepted_plus_rejected_is_input(rows):
    v = validate_transactions(frame(*rows), "h.csv")
    n = len(rows)
    assert v.report.n_input == n
    assert len(v.table) + len(v.rejects) == n
    assert v.report.n_accepted == len(v.table) and v.report.n_rejected == len(v.rejects)
    # every row is accounted for exactly once, by its row number
    seen = sorted(v.table.source_row.tolist() + v.rejects.source_row.tolist())
    assert seen == list(range(1, n + 1))
    assert (v.rejects.reason_codes != "").all()
    # what was accepted obeys the contract
    assert (v.table.amount > 0).all() and np.isfinite(v.table.amount).all()
    assert np.isfinite(v.table.amount_cny).all() and np.isfinite(v.table.amount_usd).all()
    assert v.table.txn_id.is_unique and v.table.timestamp.notna().all()
    assert (v.table.src_account.notna() | v.table.dst_account.notna()).all()
    one_sided = v.table.src_account.isna() | v.table.dst_account.isna()
    assert (v.table.channel[one_sided] == "cash").all()
    assert (v.table.amount_cny >= 0.01).all()


# -- the Arrow text helpers ------------------------------------------------------------------

white = st.sampled_from([" ", "\t", "\n", "\u3000", "\u00a0", "\x1f", "\u2028"])
word = st.text(alphabet=st.sampled_from(["a", "7", "-", "人", "é", " "]), max_size=4)
padded = st.one_of(st.none(), st.builds(lambda a, w, b: a + w + b, st.text(white, max_size=2), word,
                                        st.text(white, max_size=2)), word)


@given(st.lists(padded, max_size=12), st.integers(0, 12), st.integers(0, 3))
def test_stripping_matches_arrow_on_chunked_and_sliced_text(values, cut, skip):
    # two chunks, the second a slice (its offsets start inside the buffer)
    strings = pa.chunked_array([pa.array(values[:cut], pa.large_string()),
                                pa.array(values[cut:], pa.large_string())[skip:]])
    expected = pc.utf8_trim_whitespace(strings)
    got = _stripped(strings)
    assert got.to_pylist() == expected.to_pylist()
    if expected.to_pylist() == strings.to_pylist():
        assert got is strings  # nothing to strip: the input's buffers, not a copy


@given(st.lists(st.one_of(st.none(), st.sampled_from(["", "T1", "T10", "T2", "t1", "人"])), max_size=12),
       st.integers(0, 12))
def test_repeated_ids_in_order_or_not_in_chunks(values, cut):
    # sorted input takes a shortcut (ascending ids cannot repeat) unless a value repeats
    for ordered in (values, sorted(values, key=lambda v: (v or "").encode())):
        strings = pa.chunked_array([pa.array(ordered[:cut], pa.large_string()),
                                    pa.array(ordered[cut:], pa.large_string())])
        expected = pd.Series(ordered, dtype=object).fillna("").duplicated(keep="first")
        assert _repeated(strings).tolist() == expected.tolist()


@given(st.lists(row, max_size=20), st.booleans())
def test_currency_and_channel_as_categorical_read_as_their_text(rows, missing_as_null):
    # Parquet readers hand these columns over as Categorical (see flowgraph.io.read_raw)
    text = frame(*rows)
    if missing_as_null:
        text = text.replace({"currency": {"": None}, "channel": {"": None}})
    codes = text.astype({"currency": "category", "channel": "category"})
    as_text, as_codes = validate_transactions(text, "h.parquet"), validate_transactions(codes, "h.parquet")
    pd.testing.assert_frame_equal(as_text.table, as_codes.table)
    pd.testing.assert_frame_equal(as_text.rejects, as_codes.rejects)
    assert as_text.report.to_dict() == as_codes.report.to_dict()


# -- one normalisation of ids (schema module docstring) ----------------------------------------

INVISIBLE = {"nbsp": "\u00a0", "tab": "\t", "ideographic space": "\u3000", "zero-width space": "\u200b",
             "byte-order mark": "\ufeff", "soft hyphen": "\u00ad", "word joiner": "\u2060"}


@pytest.mark.parametrize("name", INVISIBLE)
def test_an_invisible_character_in_any_id_column_is_removed_alike(name):
    char = INVISIBLE[name]
    inner = char if unicodedata.category(char) == "Cf" else ""  # white space inside an id is visible
    txns = frame((char + "t1", GOOD[1], "A" + char, char + "B", *GOOD[4:]),
                 ("t" + inner + "2", GOOD[1], "A" + inner + "B", "B", *GOOD[4:]))
    v = validate_transactions(txns, "f.csv")
    assert v.report.ok
    assert v.table.txn_id.tolist() == ["t1", "t2"]
    assert v.table.src_account.tolist() == ["A", "AB"] and v.table.dst_account.tolist() == ["B", "B"]
    accounts = validate_accounts(pd.DataFrame({"account_id": [char + "A", "B" + char], "customer_id": ["c" + char, ""],
                                               "party_type": ["entity", "person" + char]}), "a.csv")
    assert accounts.report.ok
    assert accounts.table.account_id.tolist() == ["A", "B"] and accounts.table.customer_id.tolist() == ["c", "B"]
    assert accounts.table.party_type.astype(str).tolist() == ["entity", "person"]
    format_notes = [n for n in v.report.notes if "format characters" in n]
    if inner:
        assert format_notes == ["column 'txn_id': 2 ids held invisible format characters (Unicode category Cf: "
                                "zero-width space, byte-order mark ...): removed, so that they match the same ids "
                                "written without them",
                                *(f"column '{c}': {k} ids held invisible format characters (Unicode category Cf: "
                                  "zero-width space, byte-order mark ...): removed, so that they match the same "
                                  "ids written without them" for c, k in (("src_account", 2), ("dst_account", 1)))]
    else:
        assert format_notes == []


@pytest.mark.parametrize("column", ["txn_id", "src_account", "dst_account"])
@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\x9f"])
def test_a_control_character_in_an_id_rejects_the_row_naming_column_and_character(column, char):
    row = dict(zip(["txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel"], GOOD))
    row["txn_id"] = "t3"
    row[column] = char + row[column] if char != "\x1b" else row[column] + char + "x"
    v = validate_transactions(frame(GOOD, ("t2", *GOOD[1:]), tuple(row.values())), "f.csv")
    assert reasons_of(v, 3) == {"ID_HAS_CONTROL_CHARACTER"} and v.report.n_accepted == 2
    message = v.rejects.message.iloc[0]
    assert f"{column} holds U+{ord(char):04X}" in message and REASONS["ID_HAS_CONTROL_CHARACTER"][1] in message
    assert "value" not in message  # the id itself is not shown

    accounts = pd.DataFrame({"account_id": ["A", "B"], "customer_id": ["c1", "c2"]})
    accounts.loc[1, "customer_id" if column == "dst_account" else "account_id"] = "B" + char
    v = validate_accounts(accounts, "a.csv")
    assert v.table.account_id.tolist() == ["A"] and reasons_of(v, 2) == {"ACCOUNT_ID_HAS_CONTROL_CHARACTER"}
    assert f"holds U+{ord(char):04X}" in v.rejects.message.iloc[0]


def _clean_reference(value):
    """The normalisation of a text cell in plain Python: format characters removed
    anywhere, white space stripped at the ends."""
    if value is None:
        return None
    return "".join(c for c in value if unicodedata.category(c) != "Cf").strip()


# unassigned code points left out: Arrow's regular expressions may know a newer Unicode
any_char = st.characters(exclude_categories=("Cs", "Cn"))
id_char = st.one_of(st.sampled_from(["a", "7", "-", "人", " ", "\t", "\x00", "\x7f", "\x85", "\u00a0", "\u3000",
                                     "\u200b", "\u200d", "\ufeff", "\u00ad", "\u202e", "\U000e0001"]), any_char)
dirty = st.one_of(st.none(), st.text(id_char, max_size=6))


@given(st.lists(dirty, max_size=12), st.integers(0, 12), st.integers(0, 3))
def test_cleaning_and_control_characters_match_plain_python(values, cut, skip):
    strings = pa.chunked_array([pa.array(values[:cut], pa.large_string()),
                                pa.array(values[cut:], pa.large_string())[skip:]])
    kept = values[:cut] + values[cut:][skip:]
    cleaned, n_format = _clean_text(strings)
    expected = [_clean_reference(v) for v in kept]
    assert cleaned.to_pylist() == expected
    assert n_format == sum(v is not None and any(unicodedata.category(c) == "Cf" for c in v) for v in kept)
    if expected == kept:
        assert cleaned is strings  # nothing to remove: the input's buffers, not a copy
    control = [v is not None and any(unicodedata.category(c) == "Cc" for c in v) for v in expected]
    assert _control_characters(cleaned).tolist() == control
