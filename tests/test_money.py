import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowgraph.config import CHANNELS, PBOC_2016
from flowgraph.errors import DataError
from flowgraph.money import (PARTY_ENTITY, PARTY_PERSON, PARTY_UNKNOWN, RATE_NO_RATE_FOR_DATE, RATE_OK,
                             RATE_UNKNOWN_CURRENCY, RateTable, default_rates, read_rates,
                             single_transaction_large_value)

CASH, TRANSFER, XB = (CHANNELS.index(c) for c in ("cash", "transfer", "cross_border"))


def rates_csv(tmp_path, text):
    path = tmp_path / "rates.csv"
    path.write_text(text)
    return read_rates(path)


def test_rate_in_force_is_the_latest_on_or_before_the_date(tmp_path):
    rates = rates_csv(tmp_path, "date,currency,cny_per_unit,usd_per_unit\n"
                                "2024-01-01,USD,7.0,1.0\n2024-06-01,USD,7.5,1.0\n"
                                "2024-01-01,CNY,1.0,0.125\n")
    day = np.array(["2024-05-31", "2024-06-01", "2023-12-31", "2024-07-01", "2024-07-01"], dtype="datetime64[D]")
    cny, usd, status = rates.convert(day, np.array(["USD", "USD", "USD", "EUR", "CNY"], dtype=object),
                                     np.array([100.0, 100.0, 100.0, 1.0, 80.0]))
    assert status.tolist() == [RATE_OK, RATE_OK, RATE_NO_RATE_FOR_DATE, RATE_UNKNOWN_CURRENCY, RATE_OK]
    assert cny[:2].tolist() == [700.0, 750.0]
    assert usd[4] == 10.0
    assert np.isnan(cny[2]) and np.isnan(cny[3])


rate_rows = st.lists(st.tuples(st.integers(0, 9), st.sampled_from(["CNY", "USD", "EUR"]),
                               st.floats(0.01, 10.0), st.floats(0.01, 2.0)),
                     max_size=12, unique_by=lambda r: (r[0], r[1]))
txn_rows = st.lists(st.tuples(st.integers(-1, 11), st.integers(-3, 3), st.floats(0.01, 1e6)), max_size=30)


@given(rate_rows, txn_rows)
def test_convert_codes_takes_each_rows_rate_as_a_row_by_row_lookup(rates, txns):
    start = np.datetime64("2024-01-01")
    frame = pd.DataFrame(rates, columns=["day", "currency", "cny_per_unit", "usd_per_unit"])
    frame = frame.assign(date=start + frame["day"].to_numpy().astype("timedelta64[D]"))
    table = RateTable(frame.sort_values(["currency", "date"]).drop(columns="day").reset_index(drop=True))
    currencies = ["USD", "CNY", "XYZ", "EUR"]  # XYZ has no rate; a negative code is unknown too
    day = start + np.array([d for d, _, _ in txns], dtype="timedelta64[D]")
    codes = np.array([c for _, c, _ in txns], dtype=np.intp)
    amount = np.array([a for _, _, a in txns], dtype=np.float64)
    cny, usd, status = table.convert_codes(day, codes, currencies, amount)
    for i, (d, code, a) in enumerate(txns):
        currency = currencies[code] if code >= 0 else None
        in_force = [r for r in rates if r[1] == currency and r[0] <= d]
        if not any(r[1] == currency for r in rates):
            assert status[i] == RATE_UNKNOWN_CURRENCY and np.isnan(cny[i]) and np.isnan(usd[i])
        elif not in_force:
            assert status[i] == RATE_NO_RATE_FOR_DATE and np.isnan(cny[i]) and np.isnan(usd[i])
        else:
            _, _, cny_per_unit, usd_per_unit = max(in_force)
            assert status[i] == RATE_OK
            assert cny[i] == np.round(a * cny_per_unit, 2) and usd[i] == np.round(a * usd_per_unit, 2)


def test_conversion_rounds_to_the_cent_and_keeps_cny_exact():
    rates = default_rates()
    cny, usd, status = rates.convert(np.array(["2024-01-02"] * 2, dtype="datetime64[D]"),
                                     np.array(["CNY", "USD"], dtype=object), np.array([50_000.0, 1.005]))
    assert cny[0] == 50_000.0
    assert cny[1] == round(1.005 * 7.2460, 2)
    assert (status == RATE_OK).all()


def test_rate_table_problems_are_all_reported(tmp_path):
    with pytest.raises(DataError) as err:
        rates_csv(tmp_path, "date,currency,cny_per_unit,usd_per_unit\n"
                            "not-a-date,USD,7,1\n2024-01-01,EUR,-1,1\n2024-01-01,GBP,9,1\n2024-01-01,GBP,9,1\n")
    text = str(err.value)
    assert "rates.csv" in text and "row 1, column 'date'" in text
    assert "row 2, column 'cny_per_unit'" in text and "row 4: a second rate for GBP" in text
    with pytest.raises(DataError, match="lacks column"):
        rates_csv(tmp_path, "day,currency,rate\n2024-01-01,USD,7\n")


def _lv(channel, home, cny, usd, src=PARTY_PERSON, dst=PARTY_PERSON):
    arr = lambda v, t=float: np.array([v], dtype=t)
    flags = single_transaction_large_value(PBOC_2016, arr(channel, np.int8), arr(home, bool), arr(cny),
                                           arr(usd), arr(src, np.int8), arr(dst, np.int8))
    return {code for code, hit in flags.items() if hit[0]}


def test_threshold_is_at_or_above():
    assert _lv(CASH, True, 50_000.00, 6_900.0) == {"LV-CASH"}
    assert _lv(CASH, True, 49_999.99, 6_900.0) == set()
    assert _lv(TRANSFER, True, 500_000.00, 69_000.0) == {"LV-PERSON"}
    assert _lv(TRANSFER, True, 499_999.99, 69_000.0) == set()


def test_foreign_currency_compares_usd_against_usd_threshold():
    # USD 10,000 in cash: large even though 72,460 CNY would also be; a CNY amount's USD
    # equivalent is never compared
    assert _lv(CASH, False, 72_460.0, 10_000.0) == {"LV-CASH"}
    assert _lv(CASH, False, 72_459.0, 9_999.99) == set()
    assert _lv(CASH, True, 49_000.0, 10_500.0) == set()
    assert _lv(XB, False, 0.0, 10_000.0) == {"LV-PERSON-XB"}


def test_party_types_select_the_rule():
    both_entity = _lv(TRANSFER, True, 2_000_000.0, 0.0, PARTY_ENTITY, PARTY_ENTITY)
    assert both_entity == {"LV-ENTITY"}
    assert _lv(TRANSFER, True, 1_999_999.0, 0.0, PARTY_ENTITY, PARTY_ENTITY) == set()
    # a person on one side: the person rule
    assert _lv(TRANSFER, True, 600_000.0, 0.0, PARTY_PERSON, PARTY_ENTITY) == {"LV-PERSON"}
    # unknown party: treated as a person (the stricter threshold)
    assert _lv(TRANSFER, True, 600_000.0, 0.0, PARTY_UNKNOWN, PARTY_ENTITY) == {"LV-PERSON"}
    # cross-border: entities fall under the entity rule, persons under the cross-border one
    assert _lv(XB, True, 2_500_000.0, 0.0, PARTY_ENTITY, PARTY_ENTITY) == {"LV-ENTITY"}
    assert _lv(XB, True, 2_500_000.0, 0.0, PARTY_PERSON, PARTY_ENTITY) == {"LV-PERSON-XB"}


def test_default_rates_ship_with_package():
    rates = default_rates()
    assert {"CNY", "USD", "EUR", "HKD"} <= rates.currencies
    assert isinstance(rates.frame, pd.DataFrame)
