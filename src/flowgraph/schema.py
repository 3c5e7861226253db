"""The canonical transaction and account tables (SPEC §8) and their validation.

Validation collects every problem instead of stopping at the first. A problem with the
file as a whole (no such file, empty file, a required column missing) raises
:class:`~flowgraph.errors.DataError`. A problem with a row rejects that row: it goes to
the rejects table with its source row number and one or more reason codes, and never
vanishes. Accepted + rejected = input, always.

Row numbers (``source_row``) count data rows from 1, in file order; in a CSV file with a
header, data row *r* is on line *r* + 1 (blank lines are skipped and not counted). A CSV
line that is not a record (wrong field count, a quote left open) is rejected as
``MALFORMED_LINE`` under its own row number; the readers pass such lines in as
``malformed``.

Identifier columns (``txn_id``, ``src_account``, ``dst_account``, ``account_id``,
``customer_id``) are text. Integer-typed ids become their digits; floating-point ids (a
Parquet export that stored numbers as doubles) are accepted only when every value is a
whole number below 2**53, which float64 holds exactly, and are then written without
".0" (with a note in the report); any other floating-point id column is a
:class:`~flowgraph.errors.DataError`, since the ids may already have been rounded.

Every text cell, ids and codes alike, in every table and from every reader (CSV, Parquet,
the streaming ingest), is read through one normalisation (:func:`_clean_text`):

1. Format characters (Unicode category Cf: zero-width space U+200B, byte-order mark
   U+FEFF, soft hyphen U+00AD, direction marks ...) are removed wherever they are. They
   are invisible, so an id with one looks like the id without it to every analyst and
   in every report, and no bank system issues ids that hold them: they come from text
   copied out of web pages and office documents, or from UTF-8 files joined together
   (the second file's byte-order mark). Their meaning is never in doubt, so rejecting
   the row would drop a real transaction from monitoring, and keeping them would
   silently split one account in two. An id column where some were removed gets a note
   with the count.
2. White space is stripped at both ends (as ``str.strip``: tab, NBSP U+00A0, ideographic
   space U+3000 ...); white space inside a value is visible and is kept.
3. A control character left in an id (Unicode category Cc: NUL, the other C0 controls,
   DEL, the C1 controls) rejects the row (ID_HAS_CONTROL_CHARACTER,
   ACCOUNT_ID_HAS_CONTROL_CHARACTER; the message names the column and the character).
   Typing and copying text do not make them: they are the mark of a binary field, a
   wrong encoding (UTF-16 read as UTF-8 puts a NUL after every letter) or a broken
   record, so which id was meant cannot be known, and removing them could make two ids
   one.

Only cash may leave a side empty (SPEC §8): a ``transfer`` or ``cross_border`` row without
its source or destination account is rejected (MISSING_SRC_ACCOUNT, MISSING_DST_ACCOUNT);
without both, it is NO_PARTIES whatever the channel. A cross-border payment's foreign side
is an account like any other, named by its account number or another stable id (the
simulator writes ``EXT0000123``, the AMLworld adapter ``bank:account``), so that fan and
pass-through counts see the counterparty.

Money is counted in whole cents (:mod:`flowgraph.money`): a positive amount that rounds to
0.00 in its own currency or, converted, in the rule set's home currency (the ``amount_cny``
or ``amount_usd`` column for a CNY or USD home) is rejected (AMOUNT_BELOW_ONE_CENT), as
zero is (NON_POSITIVE_AMOUNT); it would count as a transaction that moved nothing. An
amount column of a floating-point type narrower than float64 (float32, as some Parquet
exporters write) is read to the cent while every amount is one it tells apart from the
next cent (float32: below 131,072), with a note; above, a float32 value stands for two or
three cents (499,999.99 is stored as 500,000.0, a large-value amount), so such a column is
a :class:`~flowgraph.errors.DataError` naming its first such row and the fix (export
float64, decimal or integer cents).

Ids repeat (DUPLICATE_TXN_ID, DUPLICATE_ACCOUNT_ID): of the rows sharing an id, the first
one that no other check rejects is kept, and every other row of the id is rejected as its
duplicate, naming the row kept ("the same id as row 2, which was kept"), besides any
problem of its own. A corrected re-send after a broken original thus keeps the correction.
The rows of an id none of whose rows is valid are rejected for their own problems only.

Messages and report examples never show account or customer ids (they end up in logs):
they name the row and the column; a duplicate id names the row kept. The rejects table
keeps the raw input.

Canonical transaction columns
-----------------------------
``txn_id`` (str), ``timestamp`` (datetime64[ns], bank-local time; timezone-aware input is
converted to the rule set's ``bank_timezone`` (:attr:`flowgraph.config.RuleSet.bank_timezone`:
China Standard Time under the PBOC rule sets, New York time under US-BSA) and made naive;
a time without an offset is the bank's local time already and is kept as it is), ``src_account`` and ``dst_account``
(str, either may be missing for cash), ``amount`` (float64, > 0, in ``currency``),
``currency`` (ISO 4217; when the column is absent, the rule set's home currency: CNY by
default, USD under US-BSA; said in the report), ``channel`` (one of
:data:`flowgraph.config.CHANNELS`, default ``transfer`` when absent). Validation adds
``amount_cny``, ``amount_usd`` (rounded to the cent), ``is_self_transfer`` and
``source_row``. Other input columns (``is_laundering``, ``pattern_id`` …) pass through.

Canonical account columns
-------------------------
``account_id`` (str), ``customer_id`` (str, default: the account itself), ``party_type``
(``person`` or ``entity``; missing means unknown, treated as a person by the rules).

Optional context columns (:data:`ACCOUNT_CONTEXT_COLUMNS`, read only by the trafficking
detectors of :mod:`flowgraph.detectors.trafficking`; without them those detectors are
disabled with a note): ``opened_on`` (the date the account was opened, datetime64[D]; a
value that is not a date between 1900 and a year after today is left missing and counted
as ``BAD_OPENED_ON``, the row kept) and ``contact_id`` (str: a key of the customer's
contact details given when the account was opened — a hashed phone number, e-mail or
address, the same key for the same details; empty means none).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import math
import re
import unicodedata
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._kernels.strings import hash_strings, repeated_strings
from .config import BANK_TIMEZONE, CHANNELS, HOME_CURRENCY, PARTY_TYPES
from .errors import DataError
from .money import (RATE_NO_RATE_FOR_DATE, RATE_OK, RATE_UNKNOWN_CURRENCY, RateTable, currency_aliases_used,
                    default_rates)

REQUIRED_TXN_COLUMNS = ("txn_id", "timestamp", "src_account", "dst_account", "amount")
OPTIONAL_TXN_COLUMNS = ("currency", "channel")
TXN_COLUMNS = REQUIRED_TXN_COLUMNS + OPTIONAL_TXN_COLUMNS
#: Optional columns that only the trafficking detectors read (module docstring).
CONTEXT_COLUMNS = ("counterparty_country", "branch_id")
ACCOUNT_COLUMNS = ("account_id", "customer_id", "party_type")
#: Optional account columns that only the trafficking detectors read (module docstring).
ACCOUNT_CONTEXT_COLUMNS = ("opened_on", "contact_id")

#: A transaction dated more than this many days after today is taken as a typing error or
#: a placeholder (2099-12-31) and rejected (FUTURE_TIMESTAMP): a year and a day leaves room
#: for value-dated and scheduled payments, while one bad row no longer drags the scan's
#: calendar decades ahead.
MAX_FUTURE_DAYS = 366

#: Timestamps before this are taken as typing errors (BAD_TIMESTAMP).
EARLIEST_PLAUSIBLE_TIME = pd.Timestamp("1900-01-01")

#: float64 holds every integer below this exactly, and no id at or above it for sure.
FLOAT_EXACT_INTEGER_LIMIT = 2 ** 53

_EXPONENT_FIX = ("the id is written in exponent form (6.222E+15), as a spreadsheet shows a long number: its "
                 "last digits are lost, and different ids read alike. Export the column as text")
_CONTROL_FIX = ("the id holds a control character (NUL, another C0 or C1 control, DEL; the message names the "
                "column and the character), the mark of a binary field, a wrong encoding or a broken record: "
                "export the ids as plain text, and check the file's encoding (--encoding)")

#: Reason codes for rejected rows: the column at fault and how to fix it.
REASONS: dict[str, tuple[str, str]] = {
    "MALFORMED_LINE": ("line", "make the line one record with the header's fields: check its delimiters "
                               "and quotes (the line is in the rejects file, column 'input_line')"),
    "MISSING_TXN_ID": ("txn_id", "give every transaction a unique id"),
    "DUPLICATE_TXN_ID": ("txn_id", "transaction ids must be unique; of the rows with this id, the first one "
                                   "without another problem was kept (the message names it)"),
    "BAD_TIMESTAMP": ("timestamp", "write the time as ISO 8601 (2024-10-08 14:30:00) or pass timestamp_format "
                                   "(command line: --timestamp-format)"),
    "FUTURE_TIMESTAMP": ("timestamp", f"the date is more than {MAX_FUTURE_DAYS} days after today: correct the "
                                      "year, or remove a placeholder date such as 2099-12-31"),
    "MISSING_AMOUNT": ("amount", "fill in the amount"),
    "BAD_AMOUNT": ("amount", "write the amount as a plain number such as 1234.56 (no thousands separators or currency signs)"),
    "NAN_AMOUNT": ("amount", "the amount is NaN: fill in the real amount"),
    "INFINITE_AMOUNT": ("amount", "the amount is infinite: fill in the real amount"),
    "NON_POSITIVE_AMOUNT": ("amount", "amounts must be > 0; record a reversal as a transfer in the other direction"),
    "AMOUNT_BELOW_ONE_CENT": ("amount", "the amount is above 0 but below one cent (0.01) in its currency or, "
                                        "converted, in the rule set's home currency, so it counts as 0.00: fill "
                                        "in the real amount (0.001 or 1e-300 is a typing or export error)"),
    "AMOUNT_TOO_LARGE": ("amount", "the amount exceeds 10 trillion yuan once converted: check for a typing or unit error"),
    "MISSING_CURRENCY": ("currency", "fill in the currency code (a file without the column is read in the rule "
                                     "set's home currency)"),
    "UNKNOWN_CURRENCY": ("currency", "add this currency to the rate table (--rates FILE) or correct the code"),
    "NO_RATE_FOR_DATE": ("currency", "add a rate dated on or before the transaction to the rate table"),
    "MISSING_CHANNEL": ("channel", f"fill in the channel, one of {list(CHANNELS)} (a file without the column is "
                                   "read as domestic transfers)"),
    "UNKNOWN_CHANNEL": ("channel", f"use one of {list(CHANNELS)}, or map your codes with --channel-map "
                                    "YOURS=CHANNEL (channel_map in Python)"),
    "NO_PARTIES": ("src_account/dst_account", "at least one side must name an account"),
    "MISSING_SRC_ACCOUNT": ("src_account", "only cash may leave a side empty: name the paying account (one "
                                           "abroad by its account number or another stable id), or set the "
                                           "channel to cash if this was a cash deposit (a file without a "
                                           "'channel' column is read as transfers)"),
    "MISSING_DST_ACCOUNT": ("dst_account", "only cash may leave a side empty: name the receiving account (one "
                                           "abroad by its account number or another stable id), or set the "
                                           "channel to cash if this was a cash withdrawal (a file without a "
                                           "'channel' column is read as transfers)"),
    "ID_IN_EXPONENT_FORM": ("txn_id/src_account/dst_account", _EXPONENT_FIX),
    "ID_HAS_CONTROL_CHARACTER": ("txn_id/src_account/dst_account", _CONTROL_FIX),
    # accounts table
    "MISSING_ACCOUNT_ID": ("account_id", "give every account row an account id"),
    "DUPLICATE_ACCOUNT_ID": ("account_id", "list each account once; of its rows, the first one without another "
                                           "problem was kept (the message names it)"),
    "UNKNOWN_PARTY_TYPE": ("party_type", f"use one of {list(PARTY_TYPES)} (or leave empty for unknown)"),
    "ACCOUNT_ID_IN_EXPONENT_FORM": ("account_id/customer_id", _EXPONENT_FIX),
    "ACCOUNT_ID_HAS_CONTROL_CHARACTER": ("account_id/customer_id", _CONTROL_FIX),
}

#: Flags: the row is kept, and counted in the report.
FLAGS: dict[str, str] = {
    "SELF_TRANSFER": "source and destination are the same account (kept, flagged in is_self_transfer)",
    "BAD_COUNTERPARTY_COUNTRY": "counterparty_country is not a two-letter ISO 3166 code (row kept, country "
                                "left missing): write codes such as CN, MM",
    "BAD_OPENED_ON": "opened_on is not a date between 1900 and a year after today (row kept, date left "
                     "missing): write dates as ISO 8601 (2024-10-08)",
}

#: Common spellings of party types.
PARTY_ALIASES = {
    "person": "person", "individual": "person", "natural": "person", "natural_person": "person",
    "p": "person", "i": "person", "retail": "person",
    "entity": "entity", "company": "entity", "corporate": "entity", "organisation": "entity",
    "organization": "entity", "sole_proprietor": "entity", "business": "entity", "e": "entity",
    "c": "entity", "legal_person": "entity",
}


@dataclass
class ValidationReport:
    """What validation found, readable by a person (``str(report)``) and a program."""

    source: str
    n_input: int
    n_accepted: int
    n_rejected: int
    reason_counts: dict[str, int] = field(default_factory=dict)
    flag_counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    #: The currency every amount was read in because the table has no ``currency`` column
    #: (the rule set's home currency); None when the table names its currencies.
    assumed_currency: str | None = None
    #: ``examples`` by reason code (not written out): what :func:`merge_reports` combines.
    examples_by_code: dict[str, list[str]] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.n_rejected == 0

    def to_dict(self) -> dict:
        return {"source": self.source, "n_input": self.n_input, "n_accepted": self.n_accepted,
                "n_rejected": self.n_rejected, "reason_counts": self.reason_counts,
                "flag_counts": self.flag_counts, "notes": self.notes, "examples": self.examples,
                "assumed_currency": self.assumed_currency}

    def __str__(self) -> str:
        lines = [f"{self.source}: {self.n_input:,} rows read, {self.n_accepted:,} accepted, "
                 f"{self.n_rejected:,} rejected"]
        if self.n_input == 0:
            lines.append("  the file has a header but no data rows: nothing to scan")
        for code, count in sorted(self.reason_counts.items()):
            column, fix = REASONS[code]
            lines.append(f"  rejected {count:>9,}  {code:<20} column '{column}': {fix}")
        for code, count in sorted(self.flag_counts.items()):
            lines.append(f"  flagged  {count:>9,}  {code:<20} {FLAGS[code]}")
        lines += [f"  note: {n}" for n in self.notes]
        if self.examples:
            lines.append("  first problems:")
            lines += [f"    {e}" for e in self.examples]
        return "\n".join(lines)


@dataclass
class Validated:
    """Accepted rows in canonical form, rejected rows with reasons, and the report."""

    table: pd.DataFrame
    rejects: pd.DataFrame
    report: ValidationReport


# -- helpers ------------------------------------------------------------------------------

# Text columns are Arrow string arrays from input to output: turning 10 M values into
# Python str objects, or pandas' string methods with their copies, cost seconds and
# gigabytes (measured at 10 M rows). A missing value stays null rather than becoming ''
# and back, and a column with nothing to strip keeps the input's buffers, so that an
# accepted table shares the file's memory instead of holding a second copy. Anything done
# per value (upper-casing, mapping channel codes) is done on the few distinct values.

def _strings(series: pd.Series) -> pa.ChunkedArray:
    """The column as Arrow strings, as ``astype("string")`` reads it (a number becomes its
    digits); Arrow-backed text is taken as it is, without a copy."""
    if not (isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow"):
        series = series.astype("string")
    strings = pa.array(series.array)
    return strings if isinstance(strings, pa.ChunkedArray) else pa.chunked_array([strings])


def _buffers(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """``offsets, data``: an Arrow string array's two buffers as NumPy arrays, with int64
    offsets whatever the input had (the layout :mod:`flowgraph._kernels.strings` reads)."""
    strings = strings.cast(pa.large_string())
    _, offsets, data = strings.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int64)[strings.offset:strings.offset + len(strings) + 1]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
    return offsets, data


def _stripped(strings: pa.ChunkedArray) -> pa.ChunkedArray:
    """``strings`` without white space at either end (as ``str.strip``), missing values
    kept missing; ``strings`` itself when no value had any."""
    if not any(_may_end_in_white_space(chunk) for chunk in strings.chunks):
        return strings  # the usual id column: no 10 M-value copy to make and compare
    stripped = pc.utf8_trim_whitespace(strings)
    # as many bytes of text: nothing was stripped, so keep the input's buffers, not the copy
    return strings if _n_text_bytes(stripped) == _n_text_bytes(strings) else stripped


def _n_text_bytes(strings: pa.ChunkedArray) -> int:
    """Bytes of text in ``strings``, from the offsets alone."""
    return sum(int(offsets[-1] - offsets[0]) for offsets, _ in map(_buffers, strings.chunks))


#: First or last bytes that white space may have: ASCII white space is at most 0x20, and
#: every byte of a longer UTF-8 character (U+3000, U+00A0 ...) is at least 0x80.
_MAY_BE_WHITE_SPACE = np.array([b <= 0x20 or b >= 0x80 for b in range(256)])


def _may_end_in_white_space(chunk: pa.Array) -> bool:
    """False when no string of ``chunk`` starts or ends with white space, judged from the
    first and last bytes of each; True may be wrong (an empty or missing value reads a
    neighbour's byte), which costs only a needless strip."""
    offsets, data = _buffers(chunk)
    if not len(data):
        return False
    block = 1 << 16  # strings at a time: the arrays made here then stay in cache
    for start in range(0, len(chunk), block):
        ends = offsets[start:start + block + 1]
        first = data.take(ends[:-1], mode="clip")
        last = data.take(ends[1:] - 1, mode="clip")
        if _MAY_BE_WHITE_SPACE[first].any() or _MAY_BE_WHITE_SPACE[last].any():
            return True
    return False


#: Bytes outside printable ASCII. Every format (Cf) and control (Cc) character has one: the
#: C0 controls are the bytes below 0x20, DEL is 0x7F, and every byte of a character beyond
#: ASCII (the C1 controls, U+200B, U+FEFF ...) is at least 0x80.
_PRINTABLE_ASCII = (0x20, 0x7E)
_FORMAT_CHARACTER = r"\p{Cf}"
_CONTROL_CHARACTER = r"\p{Cc}"


def _may_hold_unprintable(strings: pa.ChunkedArray) -> bool:
    """False when no value of ``strings`` holds a byte outside printable ASCII, so none
    holds a format or control character: the usual id column, judged from its bytes alone
    (a minimum and maximum per megabyte); True may be wrong (white space at the ends,
    bytes outside a slice), which costs only a needless regular expression."""
    low, high = _PRINTABLE_ASCII
    block = 1 << 20
    for chunk in strings.chunks:
        offsets, data = _buffers(chunk)
        data = data[offsets[0]:offsets[-1]]
        for start in range(0, len(data), block):
            part = data[start:start + block]
            if part.min() < low or part.max() > high:
                return True
    return False


def _clean_text(strings: pa.ChunkedArray) -> tuple[pa.ChunkedArray, int]:
    """The one normalisation of text cells (module docstring): ``strings`` without format
    characters (Unicode category Cf) anywhere and without white space at either end,
    missing values kept missing; and how many values held format characters. Control
    characters are kept, for :func:`_control_characters` to find. ``strings`` itself
    when there was nothing to remove."""
    n_format = 0
    if _may_hold_unprintable(strings):
        has_format = pc.match_substring_regex(strings, _FORMAT_CHARACTER)
        n_format = pc.sum(has_format).as_py() or 0
        if n_format:
            strings = pc.replace_substring_regex(strings, _FORMAT_CHARACTER, "")
    return _stripped(strings), n_format


def _control_characters(text: pa.ChunkedArray) -> np.ndarray:
    """Rows of a :func:`_text` column whose value holds a control character (Unicode
    category Cc); the regular expression runs only where some byte is not printable ASCII."""
    if not _may_hold_unprintable(text):
        return np.zeros(len(text), dtype=bool)
    return pc.fill_null(pc.match_substring_regex(text, _CONTROL_CHARACTER), False).to_numpy(zero_copy_only=False)


def _control_shown(columns: dict[str, pa.ChunkedArray]) -> Callable[[np.ndarray], np.ndarray]:
    """For rows rejected for a control character: which of ``columns`` (name -> a
    :func:`_text` column) hold one, and its code point ("src_account holds U+0000"); never
    the id itself."""
    def shown(at: np.ndarray) -> np.ndarray:
        out = []
        for p in at:
            parts = []
            for name, text in columns.items():
                value = text[int(p)].as_py() or ""
                bad = next((c for c in value if unicodedata.category(c) == "Cc"), None)
                if bad is not None:
                    parts.append(f"{name} holds U+{ord(bad):04X}")
            out.append(", ".join(parts))
        return np.array(out, dtype=object)
    return shown


def _text(series: pd.Series) -> pa.ChunkedArray:
    """Column as cleaned Arrow strings (:func:`_clean_text`), null where missing."""
    return _clean_text(_strings(series))[0]


def _distinct_text(series: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``codes, values``: the column as codes into its distinct values, each cleaned as by
    :func:`_text` with '' for missing; only the distinct values are cleaned. ``values``
    may hold the same string twice ("usd" and " usd")."""
    if isinstance(series.dtype, pd.CategoricalDtype):  # codes already (Parquet's dictionary)
        categories = series.cat.categories
        codes = series.cat.codes.to_numpy().astype(np.intp)
        codes[codes < 0] = len(categories)  # missing: the extra last value
        distinct = pa.array([*categories.astype("string"), None], pa.large_string())
    else:
        encoded = pc.dictionary_encode(_strings(series), null_encoding="encode").combine_chunks()
        codes, distinct = encoded.indices.to_numpy(zero_copy_only=False), encoded.dictionary
    values = pc.fill_null(_clean_text(pa.chunked_array([distinct.cast(pa.large_string())]))[0], "")
    return codes, pd.Index(values.to_pylist(), dtype="string")


def _is_empty(text: pa.ChunkedArray) -> np.ndarray:
    """Boolean mask of the rows of a :func:`_text` column that are missing or ''."""
    return pc.fill_null(pc.equal(text, ""), True).to_numpy()


def _repeated(text: pd.Series | pa.ChunkedArray) -> np.ndarray:
    """Boolean mask of the rows of a text column whose value already appeared in an earlier
    row, a missing value counting as '' (as ``Series.duplicated(keep="first")``, in a
    fraction of the time; see :mod:`flowgraph._kernels.strings`)."""
    strings = text if isinstance(text, pa.ChunkedArray) else _strings(text)
    if strings.null_count:
        strings = pc.fill_null(strings, "")
    if pc.all(pc.greater(strings[1:], strings[:-1])).as_py():
        # in ascending order, as many exports list their ids: no value can repeat
        return np.zeros(len(strings), dtype=bool)
    strings = strings.combine_chunks()  # one array, e.g. from Parquet row groups
    offsets, data = _buffers(strings)
    # partitions of about 2,000-4,000 strings: each one's hash table then fits in cache
    partition_bits = min(24, (len(strings) // 4096).bit_length())
    return repeated_strings(offsets, data, hash_strings(offsets, data), partition_bits)


def _accepted(values, keep: np.ndarray | None):
    """``values`` (a NumPy or Arrow array) at the rows of the boolean mask ``keep``, or all
    of them when ``keep`` is None, never sharing a NumPy array that is read-only or
    another's: the table's columns must be writable and not change with the input frame
    (Arrow arrays are immutable, so sharing those is safe)."""
    if keep is not None:
        return pc.filter(values, pa.array(keep)) if isinstance(values, pa.ChunkedArray) else values[keep]
    if isinstance(values, np.ndarray) and not (values.flags.owndata and values.flags.writeable):
        return values.copy()
    return values


def _string_array(strings: pa.ChunkedArray, na_value=pd.NA) -> pd.api.extensions.ExtensionArray:
    """Arrow strings as a pandas "string" array (``na_value=np.nan``: a "str" array)."""
    return pd.arrays.ArrowStringArray(strings.cast(pa.large_string()),
                                      dtype=pd.StringDtype("pyarrow", na_value=na_value))


def _or_missing(text: pa.ChunkedArray) -> pd.api.extensions.ExtensionArray:
    """A :func:`_text` column as a "string" array, with '' as missing (<NA>)."""
    empty = pc.equal(text, "")
    if pc.any(empty).as_py():
        text = pc.if_else(empty, pa.scalar(None, text.type), text)
    return _string_array(text)


def _take_text(values, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``values[codes]`` as a "string" array, built from the few distinct ``values``."""
    return _string_array(pc.take(pa.array(list(values), pa.large_string()), codes))


def _passed_through(column: pd.Series, keep: np.ndarray | None):
    """An input column that validation does not read, at the accepted rows, with the dtype
    its values had before (text: "str", with NaN for missing)."""
    if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
        # the same values and dtype as going through to_numpy(), without 10 M str objects
        return _string_array(_accepted(_strings(column), keep), na_value=np.nan)
    return _accepted(column.to_numpy(), keep)


def _raw(series: pd.Series) -> np.ndarray:
    return series.astype("string").fillna("").to_numpy(dtype=object)


def _line_hint(source: str, row: int) -> str:
    is_text = re.search(r"\.(csv|txt|tsv)(\.gz|\.zst)?$", source.lower()) is not None
    return f"row {row} (line {row + 1})" if is_text else f"row {row}"


class _Problems:
    """Reason codes per row, collected column by column; ``masks`` is kept in ``order``
    (the codes' order in counts and examples), whatever order they were found in."""

    def __init__(self, n: int, order: tuple[str, ...] = ()):
        self.n = n
        self.order = {code: i for i, code in enumerate(order)}
        self.masks: dict[str, np.ndarray] = {}

    def add(self, code: str, mask: np.ndarray) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.masks[code] = self.masks.get(code, np.zeros(self.n, bool)) | mask
            rank = lambda c: self.order.get(c, len(self.order))
            self.masks = {c: self.masks[c] for c in sorted(self.masks, key=rank)}  # a stable sort

    @property
    def rejected(self) -> np.ndarray:
        out = np.zeros(self.n, bool)
        for m in self.masks.values():
            out |= m
        return out

    def counts(self) -> dict[str, int]:
        return {code: int(m.sum()) for code, m in self.masks.items()}

    def reason_codes(self, rows: np.ndarray) -> np.ndarray:
        codes = np.full(len(rows), "", dtype=object)
        for code in REASONS:  # fixed order, so the same row always reads the same
            if code in self.masks:
                hit = self.masks[code][rows]
                codes[hit] = np.where(codes[hit] == "", code, codes[hit] + ";" + code)
        return codes


def _describe(source: str, row: int, code: str, shown: str) -> str:
    column, fix = REASONS[code]
    detail = f" ({shown})" if shown else ""
    return f"{source}: {_line_hint(source, row)}, column '{column}': {code}{detail}. Fix: {fix}."


def _rejects_frame(source: str, frame: pd.DataFrame, problems: _Problems, source_row: np.ndarray,
                   value_of: dict[str, pd.Series | Callable[[np.ndarray], np.ndarray] | None],
                   raw_values: dict[str, pd.Series] | None = None,
                   by_code: dict[str, list[str]] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The rejects table (source_row, reason_codes, message, then the raw input columns)
    and up to three example messages per reason (without the file's values: those are in
    the owner-only rejects table).

    ``value_of`` maps a reason code to what its message shows: a Series (raw or cleaned)
    whose value is shown, read only at the rejected rows, so a 10 M-row column is never
    turned into Python strings; a function of the row positions that returns the text to
    show; or None (nothing shown: account ids never are). ``raw_values`` replaces input
    columns that an adapter computed (AMLSim steps) by what the file held.
    """
    rows = np.flatnonzero(problems.rejected)

    def values(code: str, at: np.ndarray) -> np.ndarray:
        v = value_of.get(code)
        if v is None:
            return np.full(len(at), "", dtype=object)
        if isinstance(v, pd.Series):
            return np.array([f"value {x!r}" for x in _raw(v.iloc[at])], dtype=object)
        return np.asarray(v(at), dtype=object)

    codes = problems.reason_codes(rows)
    first_code = np.array([c.split(";")[0] for c in codes], dtype=object)
    shown = np.full(len(rows), "", dtype=object)
    for code in set(first_code.tolist()):
        sel = first_code == code
        shown[sel] = values(code, rows[sel])
    messages = np.array([_describe(source, int(source_row[r]), code, str(v))
                         for r, code, v in zip(rows, first_code, shown)], dtype=object)
    rejects = pd.DataFrame({"source_row": source_row[rows], "reason_codes": codes, "message": messages})
    for col in frame.columns:
        rejects[f"input_{col}"] = _raw((raw_values or {}).get(col, frame[col]).iloc[rows])
    examples = []
    for code, mask in problems.masks.items():
        at = np.flatnonzero(mask)[:3]
        # examples are shown beyond rejects.csv (the console, validation.json): they name no
        # value of the file, since a column read as another (swapped headers, a wrong --map)
        # would show account ids there
        raw = isinstance(value_of.get(code), pd.Series)
        for r, v in zip(at, np.full(len(at), "value in rejects.csv") if raw else values(code, at)):
            examples.append(_describe(source, int(source_row[r]), code, str(v)))
            if by_code is not None:
                by_code.setdefault(code, []).append(examples[-1])
    return rejects, examples


def _kept_shown(kept_row: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """For rows rejected as a repeated id: "the same id as row N, which was kept"."""
    return lambda at: np.array([f"the same id as row {kept_row[p]}, which was kept" for p in at], dtype=object)


def _repeated_kept_elsewhere(ids: pa.ChunkedArray, empty: np.ndarray, invalid: np.ndarray,
                             source_row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``duplicate, kept_row``: the rows whose id (a :func:`_text` column; ``empty`` rows
    have none) is kept on another row, and the row number kept for it (0 where none).

    Of the rows sharing an id, the first one that no other check rejected (``invalid``) is
    kept: a corrected re-send after a broken original keeps the correction, and the
    original is rejected for its own problem and as this id's duplicate. An id none of
    whose rows is valid keeps none, and its rows are rejected for their own problems only:
    mending any of them would make it the one kept.
    """
    n = len(ids)
    duplicate, kept_row = np.zeros(n, bool), np.zeros(n, np.int64)
    repeats = _repeated(ids) & ~empty
    if not repeats.any():  # the usual file: no id repeats
        return duplicate, kept_row
    text = ids.cast(pa.large_string())
    values = pc.unique(pc.filter(text, pa.array(repeats)))
    involved = np.flatnonzero(pc.fill_null(pc.is_in(text, value_set=values), False).to_numpy(zero_copy_only=False))
    codes = pc.index_in(pc.take(text, pa.array(involved)), value_set=values).to_numpy(zero_copy_only=False)
    codes = codes.astype(np.int64)
    valid = ~invalid[involved]
    kept_of_code = np.full(len(values), -1, np.int64)
    # positions ascend, so np.unique's first index is each id's first valid row
    valid_codes, first = np.unique(codes[valid], return_index=True)
    kept_of_code[valid_codes] = involved[valid][first]
    kept = kept_of_code[codes]
    is_duplicate = (kept >= 0) & (kept != involved)
    duplicate[involved[is_duplicate]] = True
    kept_row[involved[is_duplicate]] = source_row[kept[is_duplicate]]
    return duplicate, kept_row


def _repeated_in_file(ids: pa.ChunkedArray, source_row: np.ndarray, repeated_ids: pa.Table
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``duplicate, kept_row`` of a batch (as :func:`_repeated_kept_elsewhere`) from the
    file's repeated ids and the row kept for each (``validate_transactions(repeated_ids=...)``)."""
    position = pc.index_in(ids.cast(pa.large_string()),
                           value_set=repeated_ids.column("txn_id").cast(pa.large_string()))
    position = position.to_numpy(zero_copy_only=False)
    listed = ~pd.isna(position)
    kept = np.zeros(len(ids), np.int64)  # 0: no row of the id is kept
    kept_of_id = repeated_ids.column("kept_row").to_numpy(zero_copy_only=False)
    kept_of_id = np.where(pd.isna(kept_of_id), 0, kept_of_id).astype(np.int64)
    kept[listed] = kept_of_id[position[listed].astype(np.int64)]
    duplicate = listed & (kept > 0) & (kept != source_row)
    return duplicate, np.where(duplicate, kept, 0)


def txn_id_text(frame: pd.DataFrame, source: str = "<table>", source_row: np.ndarray | None = None) -> pa.ChunkedArray:
    """The ``txn_id`` column as :func:`validate_transactions` reads it (:func:`id_text`):
    the ids whose repeats are DUPLICATE_TXN_ID.

    Raises
    ------
    DataError
        As :func:`validate_transactions` for floating-point ids that are not whole.
    """
    return id_text(frame["txn_id"], "txn_id", source, source_row)


def id_text(series: pd.Series, column: str = "id", source: str = "<table>",
            source_row: np.ndarray | None = None) -> pa.ChunkedArray:
    """An id column as validation reads every id (module docstring: format characters
    removed, white space stripped, whole floating-point ids as digits), null where
    missing: for an adapter that matches ids of a file validation does not read.

    Raises
    ------
    DataError
        As :func:`validate_transactions` for floating-point ids that are not whole.
    """
    source_row = np.arange(1, len(series) + 1, dtype=np.int64) if source_row is None else source_row
    return _id_text(series.reset_index(drop=True), column, source, source_row, [])


#: The order of a transaction report's ``reason_counts`` and ``examples`` (MALFORMED_LINE,
#: from the reader, first): :func:`validate_transactions` lists its reasons so, whatever
#: order it checks them in (DUPLICATE_TXN_ID is found last), and so does :func:`merge_reports`.
TXN_CHECK_ORDER = ("MALFORMED_LINE", "MISSING_TXN_ID", "DUPLICATE_TXN_ID", "BAD_TIMESTAMP", "FUTURE_TIMESTAMP",
                   "MISSING_AMOUNT", "BAD_AMOUNT", "NAN_AMOUNT", "INFINITE_AMOUNT", "NON_POSITIVE_AMOUNT",
                   "NO_PARTIES", "ID_IN_EXPONENT_FORM", "ID_HAS_CONTROL_CHARACTER", "MISSING_CHANNEL",
                   "UNKNOWN_CHANNEL", "MISSING_SRC_ACCOUNT", "MISSING_DST_ACCOUNT", "MISSING_CURRENCY",
                   "UNKNOWN_CURRENCY", "NO_RATE_FOR_DATE", "AMOUNT_TOO_LARGE", "AMOUNT_BELOW_ONE_CENT")
#: How a reader's note about a file (``reader_notes``) begins: the report's first notes.
READER_NOTE_START = "the header "
#: The order of an accounts report's ``reason_counts`` and ``examples``.
ACCOUNT_CHECK_ORDER = ("MALFORMED_LINE", "MISSING_ACCOUNT_ID", "DUPLICATE_ACCOUNT_ID", "ACCOUNT_ID_IN_EXPONENT_FORM",
                       "ACCOUNT_ID_HAS_CONTROL_CHARACTER", "UNKNOWN_PARTY_TYPE")
_ALIAS_NOTE = re.compile(r"currency '(.*)' read as (\S+) \(([\d,]+) rows\)")
#: A note that counts the ids of a column ("column 'src_account': 3 ids held ..."): a
#: batched file's notes are summed into the whole file's.
_COUNTED_NOTE = re.compile(r"(column '[^']+': )([\d,]+)( ids .*)", re.DOTALL)


def merge_reports(reports: list[ValidationReport]) -> ValidationReport:
    """The report of a file validated in batches (:mod:`flowgraph.io.stream`), as the
    report of the whole file reads: counts summed, the first three examples of each reason,
    each note once (the rows a currency alias was read for, summed), in the order
    :func:`validate_transactions` writes them.

    Parameters
    ----------
    reports : list of ValidationReport
        One per batch, in file order, of the same source.
    """
    first = reports[0]
    reasons: dict[str, int] = {}
    flags: dict[str, int] = {}
    by_code: dict[str, list[str]] = {}
    notes: dict[str | tuple[str, str], None] = {}
    aliases: dict[tuple[str, str], int] = {}
    counted: dict[tuple[str, str], int] = {}
    for report in reports:
        for code, count in report.reason_counts.items():
            reasons[code] = reasons.get(code, 0) + count
        for code, count in report.flag_counts.items():
            flags[code] = flags.get(code, 0) + count
        for code, shown in report.examples_by_code.items():
            by_code[code] = (by_code.get(code, []) + shown)[:3]
        for note in report.notes:
            alias = _ALIAS_NOTE.fullmatch(note)
            counts = _COUNTED_NOTE.fullmatch(note)
            if alias:
                key = alias.group(1), alias.group(2)
                aliases[key] = aliases.get(key, 0) + int(alias.group(3).replace(",", ""))
            elif counts:
                key = counts.group(1), counts.group(3)
                notes.setdefault(key)
                counted[key] = counted.get(key, 0) + int(counts.group(2).replace(",", ""))
            else:
                notes.setdefault(note)

    def rank(note: str) -> tuple:  # the reader's, ids (txn, src, dst; format characters first), currency, channel
        if note.startswith(READER_NOTE_START):
            return (-1, "")
        for i, column in enumerate(("'txn_id'", "'src_account'", "'dst_account'")):
            if note.startswith(f"column {column}"):
                return (i, "" if "format characters" in note else "~")
        return (4, "") if note.startswith("no 'channel'") else (3, note)
    notes_in_full = [f"{note[0]}{counted[note]:,}{note[1]}" if isinstance(note, tuple) else note for note in notes]
    merged_notes = [*notes_in_full,
                    *(f"currency {a!r} read as {iso} ({n:,} rows)" for (a, iso), n in aliases.items())]
    order = {code: i for i, code in enumerate(TXN_CHECK_ORDER)}
    codes = sorted(by_code, key=lambda c: order.get(c, len(order)))
    return ValidationReport(
        first.source, sum(r.n_input for r in reports), sum(r.n_accepted for r in reports),
        sum(r.n_rejected for r in reports),
        {c: reasons[c] for c in sorted(reasons, key=lambda c: order.get(c, len(order)))},
        {c: flags[c] for c in ("SELF_TRANSFER", *sorted(set(flags) - {"SELF_TRANSFER"})) if c in flags},
        sorted(merged_notes, key=rank), [e for c in codes for e in by_code[c]],
        next((r.assumed_currency for r in reports if r.assumed_currency), None),
        {c: by_code[c] for c in codes})


def _with_malformed(source: str, rejects: pd.DataFrame, examples: list[str], counts: dict[str, int],
                    malformed: pd.DataFrame | None, by_code: dict[str, list[str]] | None = None
                    ) -> tuple[pd.DataFrame, list[str], dict[str, int], int]:
    """Add the lines that were not records (from the CSV reader) to the rejects, in row
    order; returns the rejects, examples, reason counts and the number of such lines."""
    if malformed is None or not len(malformed):
        return rejects, examples, counts, 0
    rows = malformed["source_row"].to_numpy(np.int64)
    messages = [_describe(source, int(r), "MALFORMED_LINE", p) for r, p in zip(rows, malformed["problem"])]
    if by_code is not None:
        by_code["MALFORMED_LINE"] = messages[:3]
    lines = pd.DataFrame({"source_row": rows, "reason_codes": "MALFORMED_LINE", "message": messages,
                          "input_line": malformed["line"].to_numpy(dtype=object)})
    both = pd.concat([rejects, lines], ignore_index=True).sort_values("source_row", kind="stable")
    return (both.reset_index(drop=True), messages[:3] + examples,
            {"MALFORMED_LINE": len(rows), **counts}, len(rows))


#: An id a spreadsheet wrote in exponent form, "6.222E+15" (:func:`_exponent_form`).
_EXPONENT_ID = r"^[0-9]+(\.[0-9]*)?[eE]\+[0-9]+$"
#: A whole-number id a float column wrote with a decimal part of zeros, "6222000000001780.0".
_DECIMAL_ZEROS_ID = r"^[0-9]+\.0+$"


def _may_hold(text: pa.ChunkedArray, char: str) -> bool:
    """False when no value of ``text`` holds the ASCII ``char``, judged from its bytes (a
    tenth of the time of a substring search); True may be wrong (bytes outside a slice)."""
    return any((data == ord(char)).any() for _, data in map(_buffers, text.chunks))


def _exponent_form(text: pa.ChunkedArray) -> np.ndarray:
    """Rows of an id column (:func:`_id_text`) written in exponent form: a spreadsheet's
    6.222E+15 stands for many ids (ID_IN_EXPONENT_FORM). The regular expression runs only
    on a column where some id holds "+"."""
    if not _may_hold(text, "+"):
        return np.zeros(len(text), dtype=bool)
    return pc.fill_null(pc.match_substring_regex(text, _EXPONENT_ID), False).to_numpy(zero_copy_only=False)


def _without_decimal_zeros(text: pa.ChunkedArray, column: str, notes: list[str]) -> pa.ChunkedArray:
    """An id column's whole numbers written with a decimal part of zeros ("1780.0", as a
    float column exports them) read as their digits, as floating-point ids are: the same
    account in a file without them then is the same id. Said in a note."""
    if not _may_hold(text, "."):
        return text
    zeros = pc.fill_null(pc.match_substring_regex(text, _DECIMAL_ZEROS_ID), False)
    n = pc.sum(zeros).as_py() or 0
    if not n:
        return text
    notes.append(f"column '{column}': {n:,} ids are whole numbers written with a decimal part of zeros "
                 "(1780.0, as a float column exports them): read as their digits (1780); export ids as text "
                 "to be safe")
    return pc.if_else(zeros, pc.replace_substring_regex(text, r"\.0+$", ""), text)


def _id_text(series: pd.Series, column: str, source: str, source_row: np.ndarray,
             notes: list[str]) -> pa.ChunkedArray:
    """An id column as :func:`_text` reads it, floating-point ids included (module docstring),
    and whole numbers written with a decimal part of zeros read as their digits."""
    is_float = (isinstance(series.dtype, np.dtype) and series.dtype.kind == "f") or \
        isinstance(series.dtype, pd.Float64Dtype | pd.Float32Dtype)
    if not is_float:
        text, n_format = _clean_text(_strings(series))
        if n_format:
            notes.append(f"column '{column}': {n_format:,} ids held invisible format characters (Unicode "
                         "category Cf: zero-width space, byte-order mark ...): removed, so that they match the "
                         "same ids written without them")
        return _without_decimal_zeros(text, column, notes)
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    present = ~np.isnan(values)
    with np.errstate(invalid="ignore"):
        inexact = present & ~((values == np.floor(values)) & (np.abs(values) < FLOAT_EXACT_INTEGER_LIMIT))
    if inexact.any():
        first = int(source_row[np.flatnonzero(inexact)[0]])
        raise DataError(
            f"{source}: column '{column}' holds ids as floating-point numbers, and {int(inexact.sum()):,} of "
            f"them (first: row {first}) are not whole numbers below 2**53, so they cannot be ids read "
            "exactly (float64 rounds such numbers; the export may already have changed them). "
            "Fix: export the ids as text (a string column), not as numbers.")
    whole = pa.array(np.where(present, values, 0).astype(np.int64), mask=~present)
    if present.any():
        notes.append(f"column '{column}' holds ids as floating-point numbers: they are whole numbers and "
                     "were read as integers (no '.0'); export ids as text to be safe")
    return pa.chunked_array([whole.cast(pa.large_string())])


#: The column mapping of each table: in Python (the readers' parameter) and on the command line.
_MAPPING_OPTION = {"transaction": ("columns", "--map"), "accounts": ("accounts_columns", "--accounts-map")}


def _check_columns(frame: pd.DataFrame, required: tuple[str, ...], source: str, what: str) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        parameter, option = _MAPPING_OPTION[what]
        raise DataError(
            f"{source}: the {what} table lacks required column(s) {missing}. "
            f"Columns present: {list(frame.columns)}. Fix: rename them in the file or pass a "
            f"column mapping, e.g. {parameter}={{'{missing[0]}': 'your_column_name'}} "
            f"(command line: {option} {missing[0]}=your_column_name)."
        )


def _check_bytes_decode(frame: pd.DataFrame, read: tuple[str, ...], source: str, source_row: np.ndarray) -> None:
    """Raise a DataError when a column validation reads as text holds bytes that are not
    UTF-8 (a frame built from a binary column by hand; the readers decode those with the
    file's encoding): reading it would fail on the first such value."""
    for column in read:
        series = frame.get(column)
        if series is None or series.dtype != object:
            continue
        if pd.api.types.infer_dtype(series, skipna=True) not in ("bytes", "mixed"):
            continue
        for position, value in enumerate(series.to_numpy()):
            if isinstance(value, bytes | bytearray):
                try:
                    bytes(value).decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise DataError(
                        f"{source}: column '{column}', row {int(source_row[position])}: the value is bytes that are "
                        f"not UTF-8 text (bytes {bytes(value)[exc.start:exc.start + 4].hex(' ')}). Fix: decode the "
                        "column with its encoding first, or read the file with flowgraph.io.read_transactions("
                        "..., encoding='gb18030') (command line: --encoding), which decodes binary columns.") from None


#: Larger amounts (after conversion to CNY) are taken as typing or unit errors: no single
#: payment comes near 10 trillion yuan, and float64 sums stay exact to the cent below it.
MAX_AMOUNT_CNY = 1e13

def _to_bank_time(parsed: pd.Series, bank_timezone: str) -> pd.Series:
    """Aware times as the naive local times of ``bank_timezone`` (an IANA name)."""
    return parsed.dt.tz_convert(bank_timezone).dt.tz_localize(None).astype("datetime64[ns]")


def _in_ns_range(parsed: pd.Series) -> pd.Series:
    """NaT where a time is outside datetime64[ns] (years 1678-2261): a text like "/1" parses
    as the year 0 and would overflow; no such time is plausible, so it is rejected as
    unparseable instead of failing the load."""
    if parsed.dtype == "datetime64[ns]" or not len(parsed):
        return parsed
    year = parsed.dt.year
    outside = ((year < 1678) | (year > 2261)).fillna(False).to_numpy(dtype=bool)
    return parsed.mask(outside) if outside.any() else parsed


#: A UTC offset (or Z) after a time of day, as ISO 8601 writes it: ``...T10:00:00+08:00``,
#: ``... 10:00Z``, ``...T100000-0500``. The time must come right before it, so a date-only
#: text's ``-2027`` (``%d-%m-%Y``) or the ``-2330`` of ``20261230-2330`` is not an offset.
_ISO_OFFSET_AFTER_TIME = (r"(?:\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?|T\d\d(?:\d\d(?:\d\d(?:[.,]\d+)?)?)?)"
                          r"\s?(?:Z|[+-]\d\d(?::?\d\d)?)$")

# pandas' own names for "work the format out": the automatic detection applies
_AUTOMATIC_FORMATS = (None, "ISO8601", "mixed")


def _format_has_offset(timestamp_format: str) -> bool:
    """Whether a strftime format reads a UTC offset or zone name (``%z``, ``%Z``; not a
    literal ``%%z``)."""
    return bool(re.search(r"%[zZ]", timestamp_format.replace("%%", "")))


def _as_bank_time(parsed: pd.Series, bank_timezone: str) -> pd.Series:
    """Parsed times as naive bank-local times: aware ones converted into ``bank_timezone``,
    naive ones as given."""
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        return _to_bank_time(parsed, bank_timezone)
    return parsed.astype("datetime64[ns]")


def _parse_timestamp(series: pd.Series, timestamp_format: str | None,
                     bank_timezone: str = BANK_TIMEZONE) -> pd.Series:
    """Timestamps as naive datetime64[ns] in bank-local time (``bank_timezone``, an IANA
    name); NaT where unparseable or before :data:`EARLIEST_PLAUSIBLE_TIME`.

    Whether a text carries a UTC offset (and so is converted to bank time) is decided by
    ``timestamp_format`` when one is given (``%z``/``%Z`` in it; otherwise every time is
    bank-local, whatever its digits look like). Without one, a text is aware when an
    ISO 8601 offset follows its time of day (:data:`_ISO_OFFSET_AFTER_TIME`); a file may
    mix both kinds.
    """
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(series.dtype):
        parsed = _in_ns_range(series)
    else:
        text = series.astype("string").str.strip()
        fmt = timestamp_format or "ISO8601"
        parse = lambda part, **utc: _in_ns_range(pd.to_datetime(part, errors="coerce", format=fmt, **utc))
        if timestamp_format not in _AUTOMATIC_FORMATS:
            # the user's format alone says whether there is an offset
            parsed = parse(text, utc=True) if _format_has_offset(timestamp_format) else parse(text)
        else:
            aware = text.str.contains(_ISO_OFFSET_AFTER_TIME, regex=True, na=False).to_numpy()
            if aware.any() and not aware.all():
                parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
                parsed[~aware] = _as_bank_time(parse(text[~aware]), bank_timezone)
                parsed[aware] = _to_bank_time(parse(text[aware], utc=True), bank_timezone)
            else:
                parsed = parse(text, utc=bool(aware.any()) or None)
    parsed = _as_bank_time(parsed, bank_timezone)
    too_early = (parsed < EARLIEST_PLAUSIBLE_TIME).to_numpy()
    if too_early.any():  # else the column as it is, not a copy
        parsed = parsed.mask(too_early)
    return parsed.astype("datetime64[ns]")


#: A cent: what an amount is counted in (flowgraph.money).
CENT = 0.01

NARROW_FLOAT_FIX = "export the amounts as float64 (double), decimal or integer cents"


def _narrow_float_amounts(series: pd.Series, amount: np.ndarray, source: str, source_row: np.ndarray,
                          notes: list[str]) -> np.ndarray:
    """An amount column of a floating-point type narrower than float64 (a float32 Parquet
    column), read to the cent, or a DataError.

    float32 steps by 2**-7 (0.0078) below 131,072 and by 0.0156 or more above: there a
    float32 value stands for two or three amounts in cents (499,999.99 is stored as
    500,000.0), so which one was meant is lost, and near a threshold that decides a hit.
    Such a column is a DataError naming its first such row (as floating-point ids that are
    not whole are). Below, each cent has its own float32 value, within 0.004 of it, so
    the amounts are read as their cents (rounded, as a float64 export of the same amounts
    reads), with a note.
    """
    dtype = getattr(series.dtype, "numpy_dtype", series.dtype)
    narrow = np.asarray(amount, dtype=dtype)
    finite = np.isfinite(narrow)
    with np.errstate(invalid="ignore"):
        step = np.spacing(np.abs(np.where(finite, narrow, 0)))
    lost = finite & (step >= CENT)
    below = 2.0 ** (np.finfo(dtype).nmant + math.ceil(math.log2(CENT)))  # 131,072 for float32
    if lost.any():
        first = int(np.flatnonzero(lost)[0])
        raise DataError(
            f"{source}: column 'amount' is {dtype} (a floating-point type narrower than float64), which cannot "
            f"hold cents at its size: row {int(source_row[first])}'s amount {float(narrow[first])!r} is stored in "
            f"steps of {float(step[first]):g}, so the amounts within a step read alike (499,999.99 becomes "
            f"500,000.0) and the cents are lost ({dtype} tells the cents apart only below {below:,.0f}). "
            f"Fix: {NARROW_FLOAT_FIX}.")
    if finite.any():
        notes.append(f"column 'amount' is {dtype}: every amount is below {below:,.0f}, where {dtype} tells the cents "
                     f"apart, and was read to the cent (to be safe, {NARROW_FLOAT_FIX})")
    cents = np.round(amount, 2)
    # an amount below half a cent keeps its value, to be rejected as such (AMOUNT_BELOW_ONE_CENT)
    return np.where(finite & (cents != 0), cents, amount)


def _parse_amount(series: pd.Series, problems: _Problems, source: str = "<table>",
                  source_row: np.ndarray | None = None, notes: list[str] | None = None) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        amount = series.to_numpy(dtype=np.float64, na_value=np.nan)
        numpy_dtype = getattr(series.dtype, "numpy_dtype", series.dtype)
        if isinstance(numpy_dtype, np.dtype) and numpy_dtype.kind == "f" and numpy_dtype.itemsize < 8:
            rows = np.arange(1, len(series) + 1) if source_row is None else source_row
            amount = _narrow_float_amounts(series, amount, source, rows, notes if notes is not None else [])
        if isinstance(series.dtype, np.dtype) and series.dtype.kind == "f":
            missing = np.zeros(len(series), bool)  # a plain float column: NaN is a NaN amount
        else:
            missing = series.isna().to_numpy()  # a nullable column: null is a missing amount
        problems.add("MISSING_AMOUNT", missing)
        nan = np.isnan(amount) & ~missing
    else:
        text = series.astype("string").fillna("").str.strip()
        missing = (text == "").to_numpy()
        amount = pd.to_numeric(text.mask(text == "", "0"), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        lowered = text.str.lower()
        nan_word = lowered.isin(["nan", "+nan", "-nan"]).to_numpy()
        problems.add("MISSING_AMOUNT", missing)
        problems.add("BAD_AMOUNT", np.isnan(amount) & ~nan_word & ~missing)
        nan = nan_word
        amount[missing] = np.nan
    problems.add("NAN_AMOUNT", nan)
    inf = np.isinf(amount)
    problems.add("INFINITE_AMOUNT", inf)
    with np.errstate(invalid="ignore"):
        problems.add("NON_POSITIVE_AMOUNT", (amount <= 0) & ~inf)
    return amount


# -- transactions -------------------------------------------------------------------------

def validate_transactions(
    frame: pd.DataFrame,
    source: str = "<table>",
    rates: RateTable | None = None,
    timestamp_format: str | None = None,
    channel_map: dict[str, str] | None = None,
    source_row: np.ndarray | None = None,
    malformed: pd.DataFrame | None = None,
    raw_values: dict[str, pd.Series] | None = None,
    today: str | pd.Timestamp | None = None,
    home_currency: str = HOME_CURRENCY,
    repeated_ids: pa.Table | None = None,
    reader_notes: list[str] | None = None,
    bank_timezone: str = BANK_TIMEZONE,
) -> Validated:
    """Check a transaction table against the canonical contract.

    Parameters
    ----------
    frame : DataFrame
        Columns already named canonically (see the module docstring).
    source : str
        File name used in every message.
    rates : RateTable, optional
        Exchange rates; default :func:`flowgraph.money.default_rates`.
    timestamp_format : str, optional
        ``strftime`` format of text timestamps; default ISO 8601.
    channel_map : dict, optional
        Your channel codes to canonical ones, e.g. ``{"ATM": "cash", "SWIFT": "cross_border"}``.
    source_row : ndarray of int, optional
        Row numbers to report; default 1..n.
    malformed : DataFrame, optional
        Lines of the file that were not records (``source_row``, ``problem``, ``line``,
        as :class:`flowgraph.io.csvfile.RawTable` holds them): rejected as MALFORMED_LINE.
    raw_values : dict of str -> Series, optional
        What the file held for a canonical column that an adapter computed (AMLSim steps
        become ``timestamp``): shown in messages and the rejects instead.
    today : date-like, optional
        The day FUTURE_TIMESTAMP counts from (:data:`MAX_FUTURE_DAYS`); default today.
    home_currency : str
        ISO code of the rule set's home currency (``RuleSet.home_currency``): the currency
        of every amount when ``frame`` has no ``currency`` column (the report says so and
        records it as ``assumed_currency``). Default CNY, the PBOC rule sets'.
    repeated_ids : pyarrow.Table, optional
        For a batch of a larger file (:mod:`flowgraph.io.stream`): every id that occurs
        more than once in the whole file (``txn_id``, as :func:`txn_id_text` reads it) and
        the row number kept for it (``kept_row``: its first row that no check but this one
        rejects; null when there is none). A row is then a DUPLICATE_TXN_ID when its id is
        listed with another kept row, wherever in the file that row is, as validating the
        whole file at once would find. Default: the repeats within ``frame``.
    reader_notes : list of str, optional
        What the reader noted about the file as a whole (columns it ignored): the
        report's first notes.
    bank_timezone : str
        IANA name of the rule set's time zone (``RuleSet.bank_timezone``): a time stamp
        with a UTC offset becomes the bank's local time there, and its date there the
        transaction's day; a time without an offset is kept as it is. Default
        ``Asia/Shanghai``, the PBOC rule sets'.

    Returns
    -------
    Validated
        ``table`` (accepted, canonical), ``rejects`` and ``report``.

    Raises
    ------
    DataError
        A required column is missing; an id column holds floating-point numbers that are
        not exact whole numbers; the amount column is of a floating-point type narrower
        than float64 and holds amounts whose cents it cannot tell apart
        (:data:`NARROW_FLOAT_FIX`); a text column holds bytes that are not UTF-8.
    """
    _check_columns(frame, REQUIRED_TXN_COLUMNS, source, "transaction")
    n = len(frame)
    rates = rates or default_rates()
    source_row = np.arange(1, n + 1, dtype=np.int64) if source_row is None else np.array(source_row, np.int64)
    problems = _Problems(n, TXN_CHECK_ORDER)
    notes: list[str] = list(reader_notes or [])
    frame = frame.reset_index(drop=True)
    _check_bytes_decode(frame, TXN_COLUMNS + CONTEXT_COLUMNS, source, source_row)

    txn_id = _id_text(frame["txn_id"], "txn_id", source, source_row, notes)
    no_id = _is_empty(txn_id)
    problems.add("MISSING_TXN_ID", no_id)

    timestamp = _parse_timestamp(frame["timestamp"], timestamp_format, bank_timezone)
    problems.add("BAD_TIMESTAMP", timestamp.isna().to_numpy())
    latest_day = pd.Timestamp(today if today is not None else pd.Timestamp.today()).normalize() \
        + pd.Timedelta(days=MAX_FUTURE_DAYS)
    future = (timestamp >= latest_day + pd.Timedelta(days=1)).to_numpy(dtype=bool)
    problems.add("FUTURE_TIMESTAMP", future)

    amount_notes: list[str] = []
    amount = _parse_amount(frame["amount"], problems, source, source_row, amount_notes)

    src = _id_text(frame["src_account"], "src_account", source, source_row, notes)
    dst = _id_text(frame["dst_account"], "dst_account", source, source_row, notes)
    notes += amount_notes  # after the id notes, in the order merge_reports ranks notes
    src_empty, dst_empty = _is_empty(src), _is_empty(dst)
    problems.add("NO_PARTIES", src_empty & dst_empty)
    problems.add("ID_IN_EXPONENT_FORM", _exponent_form(txn_id) | _exponent_form(src) | _exponent_form(dst))
    ids = {"txn_id": txn_id, "src_account": src, "dst_account": dst}
    problems.add("ID_HAS_CONTROL_CHARACTER", np.logical_or.reduce([_control_characters(t) for t in ids.values()]))

    # currency and channel: codes into a short list of distinct values, each cleaned once
    if "currency" in frame.columns:
        raw_code, raw_currencies = _distinct_text(frame["currency"])
        # Arrow's upper-casing, as on the whole column before; "usd" and "USD" become one
        # code, and so do "RMB" and "CNY" (flowgraph.money.CURRENCY_ALIASES)
        upper = raw_currencies.str.upper()
        aliases = currency_aliases_used(upper)
        code_of_raw, currencies = pd.factorize(upper.map(lambda c: aliases.get(c, c)))
        currency_code = code_of_raw[raw_code]
        if aliases:
            rows_per_raw = np.bincount(raw_code, minlength=len(upper))
            for alias, iso in sorted(aliases.items()):
                n_alias = int(rows_per_raw[(upper == alias).to_numpy()].sum())
                notes.append(f"currency {alias!r} read as {iso} ({n_alias:,} rows)")
    else:
        currency_code, currencies = np.zeros(n, dtype=np.intp), pd.Index([home_currency])
        if n:
            notes.append(f"no currency column: amounts read as {home_currency}, the rule set's home currency "
                         "(add a 'currency' column, or --map currency=YOURS, if they are not)")

    if "channel" in frame.columns:
        raw_code, raw_channels = _distinct_text(frame["channel"])
        mapping = {str(k).strip().lower(): v for k, v in (channel_map or {}).items()}
        lowered = raw_channels.str.lower()
        names = [mapping.get(c, c) for c in lowered] if mapping else list(lowered)
        code_of_raw = np.array([CHANNELS.index(c) if c in CHANNELS else -1 for c in names], dtype=np.int8)
        channel_code = code_of_raw[raw_code]
        no_channel = np.asarray(lowered == "", dtype=bool)[raw_code]
        problems.add("MISSING_CHANNEL", no_channel)
        problems.add("UNKNOWN_CHANNEL", (channel_code < 0) & ~no_channel)
    else:
        channel_code = np.full(n, CHANNELS.index("transfer"), dtype=np.int8)
        if n:
            notes.append("no 'channel' column: every row taken as a domestic 'transfer'")
    # only cash may leave one side empty (SPEC §8); an unknown channel is rejected for that
    not_cash = (channel_code >= 0) & (channel_code != CHANNELS.index("cash"))
    problems.add("MISSING_SRC_ACCOUNT", not_cash & src_empty & ~dst_empty)
    problems.add("MISSING_DST_ACCOUNT", not_cash & dst_empty & ~src_empty)

    valid_time = ~timestamp.isna().to_numpy() & ~future
    day = timestamp.to_numpy().astype("datetime64[D]")
    day[~valid_time] = np.datetime64("2000-01-01")
    # a NaN or infinite amount converts to NaN or inf, and its row is rejected for it
    amount_cny, amount_usd, rate_status = rates.convert_codes(day, currency_code, currencies, amount)
    no_currency = np.asarray(currencies == "", dtype=bool)[currency_code]  # an empty cell of the column
    problems.add("MISSING_CURRENCY", no_currency)
    problems.add("UNKNOWN_CURRENCY", (rate_status == RATE_UNKNOWN_CURRENCY) & ~no_currency)
    problems.add("NO_RATE_FOR_DATE", (rate_status == RATE_NO_RATE_FOR_DATE) & valid_time)
    with np.errstate(invalid="ignore", over="ignore"):  # absurd amounts are AMOUNT_TOO_LARGE
        problems.add("AMOUNT_TOO_LARGE", ~(amount_cny <= MAX_AMOUNT_CNY) & (rate_status == RATE_OK) & np.isfinite(amount))
        # rounded as the converted amounts are (flowgraph.money), so "0.00" means the same
        rounds_to_zero = np.round(amount, 2) == 0
        home_amount = {"CNY": amount_cny, "USD": amount_usd}.get(home_currency)
        if home_amount is not None:
            rounds_to_zero |= (home_amount == 0) & (rate_status == RATE_OK)
        problems.add("AMOUNT_BELOW_ONE_CENT", rounds_to_zero & (amount > 0) & np.isfinite(amount))

    # last: which row of a repeated id is kept depends on every other check
    if repeated_ids is None:
        duplicate, kept_row = _repeated_kept_elsewhere(txn_id, no_id, problems.rejected, source_row)
    else:
        duplicate, kept_row = _repeated_in_file(txn_id, source_row, repeated_ids)
    problems.add("DUPLICATE_TXN_ID", duplicate & ~no_id)

    rejected = problems.rejected
    keep = ~rejected
    is_self = pc.fill_null(pc.equal(src, dst), False).to_numpy() & ~src_empty

    # the cleaned currency of every row, without building 10 M strings
    currency = pd.Series(pd.Categorical.from_codes(currency_code, categories=currencies))
    raw_timestamp = (raw_values or {}).get("timestamp", frame["timestamp"])
    value_of = {
        "MISSING_TXN_ID": None, "DUPLICATE_TXN_ID": _kept_shown(kept_row), "ID_IN_EXPONENT_FORM": None,
        "ID_HAS_CONTROL_CHARACTER": _control_shown(ids),
        "MISSING_SRC_ACCOUNT": _channel_shown(channel_code), "MISSING_DST_ACCOUNT": _channel_shown(channel_code),
        "BAD_TIMESTAMP": raw_timestamp, "FUTURE_TIMESTAMP": raw_timestamp,
        **{c: frame["amount"] for c in ("MISSING_AMOUNT", "BAD_AMOUNT", "NAN_AMOUNT",
                                        "INFINITE_AMOUNT", "NON_POSITIVE_AMOUNT", "AMOUNT_TOO_LARGE",
                                        "AMOUNT_BELOW_ONE_CENT")},
        "MISSING_CURRENCY": None, "MISSING_CHANNEL": None,
        "UNKNOWN_CURRENCY": currency, "NO_RATE_FOR_DATE": currency,
        "UNKNOWN_CHANNEL": frame.get("channel"),  # never raised without the column
    }
    by_code: dict[str, list[str]] = {}
    rejects, examples = _rejects_frame(source, frame, problems, source_row, value_of, raw_values, by_code)
    rejects, examples, reason_counts, n_malformed = _with_malformed(source, rejects, examples,
                                                                    problems.counts(), malformed, by_code)

    accepted = None if keep.all() else keep  # a whole file accepted shares its columns' memory
    columns = {
        "txn_id": _string_array(_accepted(txn_id, accepted)),
        "timestamp": _accepted(timestamp.to_numpy(), accepted),
        "src_account": _or_missing(_accepted(src, accepted)),
        "dst_account": _or_missing(_accepted(dst, accepted)),
        "amount": _accepted(amount, accepted),
        "currency": _take_text(currencies, _accepted(currency_code, accepted)),
        "channel": pd.Categorical.from_codes(_accepted(channel_code, accepted), categories=list(CHANNELS)),
        "amount_cny": _accepted(amount_cny, accepted),
        "amount_usd": _accepted(amount_usd, accepted),
        "is_self_transfer": _accepted(is_self, accepted),
        "source_row": _accepted(source_row, accepted),
    }
    context_flags = {}
    for col in CONTEXT_COLUMNS:
        if col in frame.columns:
            columns[col], bad = _context_column(col, frame[col])
            if bad[keep].any():
                context_flags["BAD_COUNTERPARTY_COUNTRY"] = int(bad[keep].sum())
            columns[col] = columns[col][keep]
    for col in frame.columns:
        if col not in TXN_COLUMNS and col not in columns:
            columns[col] = _passed_through(frame[col], accepted)
    # every column is the table's own (see _accepted): no need to copy them into 2-d blocks
    # (1 s at 10 M)
    table = pd.DataFrame(columns, copy=False)

    flag_counts = {"SELF_TRANSFER": int(is_self[keep].sum())} if is_self[keep].any() else {}
    flag_counts |= context_flags
    report = ValidationReport(source, n + n_malformed, int(keep.sum()), int(rejected.sum()) + n_malformed,
                              reason_counts, flag_counts, notes, examples,
                              assumed_currency=None if "currency" in frame.columns or not n else home_currency,
                              examples_by_code=by_code)
    return Validated(table, rejects, report)


def _channel_shown(channel_code: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """For rows rejected for an empty side: their channel ("channel 'transfer'")."""
    return lambda at: np.array([f"channel {CHANNELS[channel_code[p]]!r}" for p in at], dtype=object)


_COUNTRY_CODE = re.compile(r"[A-Z]{2}")


def _context_column(name: str, series: pd.Series) -> tuple[pd.api.extensions.ExtensionArray, np.ndarray]:
    """An optional context column cleaned (missing where empty), and the rows whose value
    was malformed and left missing (only a country can be: BAD_COUNTERPARTY_COUNTRY)."""
    codes, values = _distinct_text(series)
    if name == "counterparty_country":
        values = values.str.upper()
        malformed = np.array([v != "" and _COUNTRY_CODE.fullmatch(v) is None for v in values], bool)
        values = pd.Index(np.where(malformed, "", values), dtype="string")
        bad = malformed[codes]
    else:
        bad = np.zeros(len(codes), bool)
    cleaned = pd.array(np.where(values[codes] == "", None, values[codes]), dtype="string")
    return cleaned, bad


# -- accounts -----------------------------------------------------------------------------

def _opened_on(series: pd.Series, today=None) -> tuple[np.ndarray, np.ndarray]:
    """``opened_on`` as datetime64[D] (NaT where missing or not a plausible date) and the
    rows whose value was given but not a date from 1900 to :data:`MAX_FUTURE_DAYS` after
    ``today`` (BAD_OPENED_ON)."""
    given = ~_is_empty(_text(series)) if not pd.api.types.is_datetime64_any_dtype(series.dtype) \
        else series.notna().to_numpy()
    parsed = _parse_timestamp(series, None)
    latest = pd.Timestamp(today if today is not None else pd.Timestamp.today()).normalize() \
        + pd.Timedelta(days=MAX_FUTURE_DAYS)
    parsed = parsed.mask(parsed > latest)
    day = parsed.to_numpy().astype("datetime64[D]")
    return day, given & np.isnat(day)


def validate_accounts(frame: pd.DataFrame, source: str = "<accounts>", source_row: np.ndarray | None = None,
                      malformed: pd.DataFrame | None = None, today: str | pd.Timestamp | None = None,
                      reader_notes: list[str] | None = None) -> Validated:
    """Check an accounts table (``account_id`` required; ``customer_id`` and
    ``party_type`` optional) and return it in canonical form.

    Parameters
    ----------
    frame : DataFrame
        Columns named canonically.
    source : str
        File name used in messages.
    source_row : ndarray of int, optional
        Row numbers to report; default 1..n.
    malformed : DataFrame, optional
        Lines that were not records, as for :func:`validate_transactions`.
    today : date-like, optional
        The day a future ``opened_on`` counts from (:data:`MAX_FUTURE_DAYS`); default today.
    reader_notes : list of str, optional
        What the reader noted about the file as a whole: the report's first notes.

    Of the rows that share an account id, the first one without another problem is kept
    and the others are rejected as DUPLICATE_ACCOUNT_ID, naming the row kept (as
    :func:`validate_transactions` does for transaction ids). A missing ``customer_id``
    makes the account its own customer; a missing ``party_type`` means unknown (the
    large-value rules then treat it as a person, the stricter case).
    """
    _check_columns(frame, ("account_id",), source, "accounts")
    frame = frame.reset_index(drop=True)
    n = len(frame)
    source_row = np.arange(1, n + 1, dtype=np.int64) if source_row is None else np.array(source_row, np.int64)
    problems = _Problems(n, ACCOUNT_CHECK_ORDER)
    notes: list[str] = list(reader_notes or [])
    _check_bytes_decode(frame, ACCOUNT_COLUMNS + ACCOUNT_CONTEXT_COLUMNS, source, source_row)
    account = _id_text(frame["account_id"], "account_id", source, source_row, notes)
    no_id = _is_empty(account)
    problems.add("MISSING_ACCOUNT_ID", no_id)
    problems.add("ACCOUNT_ID_IN_EXPONENT_FORM", _exponent_form(account))
    ids = {"account_id": account}
    if "customer_id" in frame.columns:
        customer = _id_text(frame["customer_id"], "customer_id", source, source_row, notes)
        problems.add("ACCOUNT_ID_IN_EXPONENT_FORM", _exponent_form(customer))
        ids["customer_id"] = customer
        customer = pc.if_else(pa.array(_is_empty(customer)), account, customer)
    else:
        customer = account
        if n:
            notes.append("no 'customer_id' column: each account is its own customer")
    problems.add("ACCOUNT_ID_HAS_CONTROL_CHARACTER",
                 np.logical_or.reduce([_control_characters(t) for t in ids.values()]))
    if "party_type" in frame.columns:
        # spellings are looked up once per distinct value
        raw_code, raw_parties = _distinct_text(frame["party_type"])
        lowered = raw_parties.str.lower()
        canonical = [PARTY_ALIASES.get(p) for p in lowered]
        party_code = np.array([-1 if p is None else PARTY_TYPES.index(p) for p in canonical], dtype=np.int8)
        unknown = np.array([p is None and raw != "" for p, raw in zip(canonical, lowered)], dtype=bool)
        party_code, unknown = party_code[raw_code], unknown[raw_code]
        problems.add("UNKNOWN_PARTY_TYPE", unknown)
    else:
        party_code = np.full(n, -1, dtype=np.int8)  # -1: unknown
        if n:
            notes.append("no 'party_type' column: party types unknown, person thresholds apply")
    # last: which row of a repeated id is kept depends on every other check
    duplicate, kept_row = _repeated_kept_elsewhere(account, no_id, problems.rejected, source_row)
    problems.add("DUPLICATE_ACCOUNT_ID", duplicate)
    value_of = {"MISSING_ACCOUNT_ID": None, "DUPLICATE_ACCOUNT_ID": _kept_shown(kept_row),
                "ACCOUNT_ID_IN_EXPONENT_FORM": None, "ACCOUNT_ID_HAS_CONTROL_CHARACTER": _control_shown(ids),
                "UNKNOWN_PARTY_TYPE": frame.get("party_type")}  # never raised without the column
    rejects, examples = _rejects_frame(source, frame, problems, source_row, value_of)
    rejects, examples, reason_counts, n_malformed = _with_malformed(source, rejects, examples,
                                                                    problems.counts(), malformed)
    keep = ~problems.rejected
    accepted = None if keep.all() else keep
    columns = {
        "account_id": _string_array(_accepted(account, accepted)),
        "customer_id": _string_array(_accepted(customer, accepted)),
        "party_type": pd.Categorical.from_codes(_accepted(party_code, accepted), categories=list(PARTY_TYPES)),
    }
    flag_counts = {}
    if "opened_on" in frame.columns:
        opened, bad = _opened_on(frame["opened_on"], today)
        columns["opened_on"] = opened[keep]
        if bad[keep].any():
            flag_counts["BAD_OPENED_ON"] = int(bad[keep].sum())
    if "contact_id" in frame.columns:
        columns["contact_id"] = _context_column("contact_id", frame["contact_id"])[0][keep]
    for col in frame.columns:
        if col not in ACCOUNT_COLUMNS and col not in columns:
            columns[col] = _passed_through(frame[col], accepted)
    table = pd.DataFrame(columns, copy=False)
    report = ValidationReport(source, n + n_malformed, int(keep.sum()), int((~keep).sum()) + n_malformed,
                              reason_counts, flag_counts, notes, examples)
    return Validated(table, rejects, report)


def accounts_from_transactions(table: pd.DataFrame) -> pd.DataFrame:
    """An accounts table for data that came without one: every account its own customer,
    party type unknown."""
    both_sides = pa.chunked_array([*_strings(table["src_account"]).chunks, *_strings(table["dst_account"]).chunks],
                                  pa.large_string())
    return accounts_from_ids(pc.unique(both_sides).drop_null())


def accounts_from_ids(ids: pa.Array) -> pd.DataFrame:
    """:func:`accounts_from_transactions` of transactions whose distinct accounts are ``ids``
    (each once, no null)."""
    ids = _string_array(ids.take(pc.sort_indices(ids)))  # UTF-8 byte order: code point order
    return pd.DataFrame({
        "account_id": ids,
        "customer_id": ids.copy(),
        "party_type": pd.Categorical([None] * len(ids), categories=list(PARTY_TYPES)),
    })
