"""Currency conversion and the single-transaction large-value test.

Amounts are float64 in major units. A converted amount is rounded to the cent
(``np.round(x, 2)``), so a CNY amount of exactly 50,000.00 stays exactly 50,000.00 and
meets a 50,000 threshold ("以上" is inclusive, SPEC §1).

The rate table has one row per (date, currency): ``cny_per_unit`` and ``usd_per_unit``.
A transaction uses the latest rate dated on or before its own date; a currency absent
from the table, or a date before its first rate, cannot be converted and the row is
rejected (reason ``UNKNOWN_CURRENCY`` or ``NO_RATE_FOR_DATE``).

Currency codes are ISO 4217, any case. A few other names that banks' exports use for one
ISO currency without doubt are read as that currency, in transaction files and rate
tables alike: :data:`CURRENCY_ALIASES`. CNH (offshore renminbi) is *not* an alias of CNY:
it trades at its own market rate, so it needs its own rows in the rate table.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .config import ANY_PERSON, ANYONE, BOTH_ENTITY, CHANNELS, HOME_CURRENCY, RuleSet
from .errors import DataError

RATE_COLUMNS = ("date", "currency", "cny_per_unit", "usd_per_unit")

#: Other names for an ISO 4217 currency, upper case -> ISO code. Only names that mean one
#: currency without doubt: RMB (renminbi) is how Chinese banks and SWIFT free text write
#: the yuan; the Chinese names are those of the PBOC's published central parity rates
#: (人民币汇率中间价). Not "元" (any yuan or dollar), not CNH (a different market rate).
CURRENCY_ALIASES = {
    "RMB": "CNY", "人民币": "CNY",
    "美元": "USD", "欧元": "EUR", "英镑": "GBP", "日元": "JPY", "港元": "HKD", "港币": "HKD",
}

# conversion status per transaction
RATE_OK, RATE_UNKNOWN_CURRENCY, RATE_NO_RATE_FOR_DATE = 0, 1, 2


@dataclass(frozen=True)
class RateTable:
    """Exchange rates: ``date`` (datetime64[ns], day), ``currency`` (ISO 4217 code),
    ``cny_per_unit`` and ``usd_per_unit`` (float64), sorted by currency then date.

    ``illustrative`` marks a table not fit for production (the package's default): a
    scan that uses it says so on stderr and in its manifest."""

    frame: pd.DataFrame
    source: str = "<memory>"
    illustrative: bool = False

    def describe(self) -> dict:
        """What a run manifest records about the rate table."""
        return {"source": self.source, "illustrative": self.illustrative,
                "currencies": sorted(self.currencies), "n_rates": len(self.frame),
                "first_date": None if self.frame.empty else str(self.frame["date"].min().date()),
                "last_date": None if self.frame.empty else str(self.frame["date"].max().date())}

    def amounts_in(self, transactions: pd.DataFrame, target: str) -> np.ndarray:
        """A validated table's amounts in the currency ``target``: its ``amount_cny`` or
        ``amount_usd`` column for CNY and USD (converted when the table was validated),
        else converted now with :meth:`convert_into`."""
        if target in ("CNY", "USD"):
            return transactions[f"amount_{target.lower()}"].to_numpy(dtype=np.float64)
        return self.convert_into(transactions["timestamp"].to_numpy(dtype="datetime64[ns]"),
                                 transactions["currency"].astype(str).to_numpy(),
                                 transactions["amount"].to_numpy(dtype=np.float64), target)

    @property
    def currencies(self) -> set[str]:
        return set(self.frame["currency"].unique())

    def convert(self, day: np.ndarray, currency: np.ndarray, amount: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Convert ``amount`` to CNY and USD at the rate in force on ``day``.

        Parameters
        ----------
        day : ndarray of datetime64
            Transaction dates (time of day ignored); a missing date (NaT) has no rate.
        currency : ndarray of str
            ISO currency codes (or :data:`CURRENCY_ALIASES`), upper case. A non-string
            value is looked up as its ``str()``.
        amount : ndarray of float64
            Amounts in ``currency``.

        Returns
        -------
        amount_cny, amount_usd : ndarray of float64
            Rounded to the cent; NaN where no rate applies.
        status : ndarray of int8
            ``RATE_OK``, ``RATE_UNKNOWN_CURRENCY`` or ``RATE_NO_RATE_FOR_DATE``.

        See Also
        --------
        convert_codes : the same for currencies already given as codes into a short list.
        """
        codes, uniques = pd.factorize(np.asarray(currency, dtype=object), use_na_sentinel=False)
        # each distinct value is looked up as its str() (an alias as its ISO code); values
        # with the same str() (5 and "5") then share one code
        codes_of_unique, currencies = pd.factorize(pd.Index([CURRENCY_ALIASES.get(str(u), str(u)) for u in uniques],
                                                            dtype=object))
        codes = codes_of_unique[codes]
        return self.convert_codes(day, codes, currencies, amount)

    def convert_codes(self, day: np.ndarray, codes: np.ndarray, currencies, amount: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`convert` for a currency column given as ``codes`` into ``currencies``,
        as from ``pd.factorize``: one binary search over the rate table for all rows, and
        no per-row string.

        Parameters
        ----------
        day : ndarray of datetime64
            Transaction dates (time of day ignored); a missing date (NaT) has no rate.
        codes : ndarray of int
            Currency of each transaction as an index into ``currencies``; a negative code
            is an unknown currency.
        currencies : sequence of str
            ISO currency codes, upper case.
        amount : ndarray of float64
            Amounts in their currency.

        Returns
        -------
        amount_cny, amount_usd : ndarray of float64
            Rounded to the cent; NaN where no rate applies.
        status : ndarray of int8
            ``RATE_OK``, ``RATE_UNKNOWN_CURRENCY`` or ``RATE_NO_RATE_FOR_DATE``.
        """
        blocks, pos, has_rate, status = self._lookup(day, codes, currencies)
        amount = np.asarray(amount, dtype=np.float64)
        converted = []
        with np.errstate(over="ignore", invalid="ignore"):  # absurd amounts are rejected later
            for column in ("cny_per_unit", "usd_per_unit"):
                out = self._per_unit(blocks, pos, has_rate, column)
                out *= amount
                np.round(out, 2, out=out)
                converted.append(out)
        return converted[0], converted[1], status

    def convert_into(self, day: np.ndarray, currency, amount: np.ndarray, target: str) -> np.ndarray:
        """Convert ``amount`` into the currency ``target`` at the rates in force on ``day``
        (the cross rate through CNY: ``cny_per_unit`` of the row's currency over that of
        ``target`` on the same day), rounded to the cent once.

        Parameters
        ----------
        day : ndarray of datetime64
        currency : array-like of str
            ISO codes, as a validated table holds them.
        amount : ndarray of float64
        target : str
            ISO code of the result, e.g. a rule set's home currency.

        Raises
        ------
        DataError
            A row's currency, or ``target``, has no rate on or before the row's day; the
            message names the currency, the first such day and the fix.
        """
        day = np.asarray(day).astype("datetime64[D]", copy=False)
        codes, currencies = pd.factorize(np.asarray(currency, dtype=object))
        source_rate = self._per_unit(*self._lookup(day, codes, currencies)[:3], "cny_per_unit")
        target_rate = self._per_unit(*self._lookup(day, np.zeros(len(day), np.int64), [target])[:3], "cny_per_unit")
        for rate, name in ((target_rate, np.full(len(day), target, dtype=object)), (source_rate, np.asarray(currency))):
            missing = np.isnan(rate)
            if missing.any():
                first = int(np.flatnonzero(missing)[0])
                raise DataError(f"{self.source}: no {name[first]} rate on or before {day[first]}, needed to convert "
                                f"amounts into {target}. Fix: add {name[first]} rows to the rate table (--rates, "
                                "or rates in the configuration).")
        out = amount * (source_rate / target_rate)
        return np.round(out, 2, out=out)

    def _lookup(self, day, codes, currencies):
        """Where each row's rate sits: the rate table's blocks (one per currency of
        ``currencies`` that has rates), each row's position in them, whether it has a rate,
        and its ``RATE_*`` status."""
        day = np.asarray(day).astype("datetime64[D]", copy=False)
        codes = np.asarray(codes, dtype=np.int64)
        if len(codes) and codes.min() < -1:
            codes = np.maximum(codes, -1)  # every unknown currency as -1
        # The rate table's rows for each of ``currencies`` in turn, keyed by (position in
        # ``currencies``, date) in ascending order: one binary search then finds every
        # row's rate, however many currencies the rows mix. Each step below makes as few
        # 10 M-row arrays as it can: at that size every new array costs more than its sums.
        blocks = [(k, self.frame[self.frame["currency"] == code]) for k, code in enumerate(currencies)]
        blocks = [(k, table) for k, table in blocks if len(table)]
        rate_key = np.concatenate([_currency_day_key(np.full(len(table), k), _day_number(table["date"].to_numpy()))
                                   for k, table in blocks] + [np.zeros(0, dtype=np.int64)])
        # each code's first key, a key no row reaches for a currency without rates; the
        # extra last entry answers for code -1
        no_rate = np.iinfo(np.int64).max
        first_key = np.full(len(currencies) + 1, no_rate)
        first_key[[k for k, _ in blocks]] = rate_key[np.cumsum([0] + [len(t) for _, t in blocks])[:-1]]
        row_first_key = first_key[codes]
        row_key = _currency_day_key(codes, _day_number(day))
        has_rate = row_key >= row_first_key
        status = np.where(row_first_key == no_rate, np.int8(RATE_UNKNOWN_CURRENCY), np.int8(RATE_NO_RATE_FOR_DATE))
        status[has_rate] = RATE_OK
        del row_first_key
        # the last rate keyed at or before the row's key: its own currency's where has_rate
        pos = np.searchsorted(rate_key, row_key, side="right")
        del row_key
        pos -= 1
        np.maximum(pos, 0, out=pos)  # rows without a rate read the first one, then get NaN
        return blocks, pos, has_rate, status

    @staticmethod
    def _per_unit(blocks, pos, has_rate, column: str) -> np.ndarray:
        """Each row's rate from ``column`` (NaN where it has none)."""
        per_unit = np.concatenate([table[column].to_numpy(dtype=np.float64) for _, table in blocks]
                                  + [np.full(1, np.nan)])
        out = per_unit[pos]
        out[~has_rate] = np.nan
        return out


def _day_number(day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 as int64, within the int32 range (NaT: its lower end, before
    any rate)."""
    days = day.astype("datetime64[D]", copy=False).view(np.int64)
    if len(days) and (days.min() < -2 ** 31 or days.max() >= 2 ** 31):
        days = np.clip(days, -2 ** 31, 2 ** 31 - 1)
    return days


def _currency_day_key(code: np.ndarray, day_number: np.ndarray) -> np.ndarray:
    """One int64 that sorts as the pair (currency code, day)."""
    key = np.left_shift(code, 32, dtype=np.int64)
    key += day_number
    key += 2 ** 31
    return key


def _rates_from_frame(frame: pd.DataFrame, source: str) -> RateTable:
    missing = [c for c in RATE_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: rate table lacks column(s) {missing}; it needs {list(RATE_COLUMNS)} "
            "(one row per date and currency). Fix: add the columns or rename them."
        )
    problems: list[str] = []
    currency = frame["currency"].astype(str).str.strip().str.upper()
    out = pd.DataFrame({
        "date": pd.to_datetime(frame["date"], errors="coerce", format="ISO8601"),
        "currency": currency.map(lambda c: CURRENCY_ALIASES.get(c, c)),
        "cny_per_unit": pd.to_numeric(frame["cny_per_unit"], errors="coerce"),
        "usd_per_unit": pd.to_numeric(frame["usd_per_unit"], errors="coerce"),
    })
    for col in ("date", "cny_per_unit", "usd_per_unit"):
        bad = out[col].isna().to_numpy().copy()
        if col != "date":
            bad |= ~(out[col].to_numpy(dtype=float, na_value=np.nan) > 0)
        for row in np.flatnonzero(bad)[:5]:
            problems.append(f"row {row + 1}, column '{col}': {frame[col].iloc[row]!r} is not "
                            + ("a date (use YYYY-MM-DD)" if col == "date" else "a positive number"))
        if bad.sum() > 5:
            problems.append(f"... and {bad.sum() - 5} more rows with a bad '{col}'")
    dup = out.duplicated(["date", "currency"], keep="first").to_numpy()
    for row in np.flatnonzero(dup)[:5]:
        problems.append(f"row {row + 1}: a second rate for {out['currency'].iloc[row]} on "
                        f"{out['date'].iloc[row].date()}; keep one rate per date and currency")
    if problems:
        raise DataError(f"{source}: the rate table has problems:\n  " + "\n  ".join(problems))
    out = out.sort_values(["currency", "date"], kind="stable").reset_index(drop=True)
    return RateTable(out, source)


def read_rates(path: str | Path) -> RateTable:
    """Read a rate table from CSV (UTF-8, optionally ``.gz``) or Parquet (columns
    :data:`RATE_COLUMNS`; ``#`` starts a comment line in CSV).

    Raises
    ------
    DataError
        The file is missing, a folder, not a table, or its rows are wrong; the message
        names the file and the fix.
    """
    path = Path(path)
    expected = (f"Fix: give a CSV or Parquet file with the columns {list(RATE_COLUMNS)}, one row per date "
                "and currency (see flowgraph/data/default_rates.csv).")
    if not path.exists():
        raise DataError(f"{path}: rate table not found. {expected}")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a rate table. {expected}")
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: the rate table is not UTF-8 text ({exc.reason} at byte {exc.start:,}); "
                        f"is it a binary file? {expected}") from exc
    except (ValueError, OSError, ImportError) as exc:  # pandas' and pyarrow's parse errors are ValueErrors
        raise DataError(f"{path}: not a readable rate table ({type(exc).__name__}: {exc}). {expected}") from exc
    return _rates_from_frame(frame, str(path))


@functools.cache
def default_rates() -> RateTable:
    """The small **illustrative** rate table shipped with the package: one approximate
    rate per currency, applied to every date from 2000-01-01 (BTC at USD 60,000 for 2013
    and 2022 alike). Marked ``illustrative``; supply real daily rates for production use
    (``--rates FILE`` or ``rates`` in the configuration)."""
    ref = resources.files("flowgraph") / "data" / "default_rates.csv"
    with resources.as_file(ref) as path:
        table = read_rates(path)
    return RateTable(table.frame, "flowgraph/data/default_rates.csv (packaged)", illustrative=True)


def currency_aliases_used(codes) -> dict[str, str]:
    """The entries of :data:`CURRENCY_ALIASES` among ``codes`` (upper-cased currency
    names, usually a column's few distinct values)."""
    return {c: CURRENCY_ALIASES[c] for c in set(codes) if c in CURRENCY_ALIASES}


# -- the single-transaction large-value test ---------------------------------------------

PARTY_PERSON, PARTY_ENTITY, PARTY_UNKNOWN = 0, 1, -1


def rule_applies(rule_parties: str, rule_channels: tuple[str, ...], channel_code: np.ndarray,
                 src_party: np.ndarray, dst_party: np.ndarray) -> np.ndarray:
    """Which transactions a rule covers, by channel and by who the parties are.

    An unknown party (no accounts table, or an account of another bank) is treated as a
    natural person: person thresholds are the lower ones, so this errs towards reporting.
    A missing side (cash) is no party.
    """
    # a lookup per code instead of a set test per row; code -1 (no channel) reads the last entry
    covered = np.zeros(len(CHANNELS) + 1, dtype=bool)
    covered[[CHANNELS.index(c) for c in rule_channels]] = True
    channel_ok = covered[channel_code]
    if rule_parties == ANYONE:
        return channel_ok
    src_person = (src_party == PARTY_PERSON) | (src_party == PARTY_UNKNOWN)
    dst_person = (dst_party == PARTY_PERSON) | (dst_party == PARTY_UNKNOWN)
    if rule_parties == ANY_PERSON:
        return channel_ok & (src_person | dst_person)
    if rule_parties == BOTH_ENTITY:
        return channel_ok & (src_party == PARTY_ENTITY) & (dst_party == PARTY_ENTITY)
    raise ValueError(f"unknown parties condition {rule_parties!r}")


def single_transaction_large_value(
    rules: RuleSet, channel_code: np.ndarray, is_home_currency: np.ndarray,
    amount_home: np.ndarray, amount_foreign: np.ndarray,
    src_party: np.ndarray, dst_party: np.ndarray,
) -> dict[str, np.ndarray]:
    """For each rule of ``rules``, whether each transaction alone is at or above its
    threshold (003 art. 5: home-currency amounts against the home threshold, other
    currencies' amounts, converted into the rule set's foreign currency, against the
    foreign threshold).

    Returns
    -------
    dict of rule code -> ndarray of bool
    """
    out = {}
    for rule in rules.rules:
        applies = rule_applies(rule.parties, rule.channels, channel_code, src_party, dst_party)
        over = np.where(is_home_currency, amount_home >= rule.threshold_home,
                        amount_foreign >= rule.threshold_foreign)
        out[rule.code] = applies & over
    return out


__all__ = ["RateTable", "read_rates", "default_rates", "single_transaction_large_value",
           "rule_applies", "HOME_CURRENCY", "CURRENCY_ALIASES", "currency_aliases_used"]
