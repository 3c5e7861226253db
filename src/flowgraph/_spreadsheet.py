"""CSV files that people open in a spreadsheet: a text cell that would run as a formula is
written as text.

Excel, LibreOffice and Google Sheets read a cell that begins with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return as a formula: a transaction id ``=HYPERLINK("http://…")``
of the data would be a live link in an analyst's report, ``=cmd|…`` a command. Every CSV
flowgraph writes for people (report drafts, rejects, the alert queue, the backtest, the
metrics) goes through :func:`spreadsheet_safe`, which puts a single quote before such a cell,
as the OWASP advice on CSV injection says; the spreadsheet then shows the text, the quote
included. Numeric columns are left alone, and so is a text cell that is a plain number
(``-500``, a rejected amount): a spreadsheet reads it as that number, no formula.
"""

from __future__ import annotations

import re

import pandas as pd

#: First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: A decimal number with an optional sign and exponent: read as a number, never a formula.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def formula_safe(value):
    """``value`` with a single quote before it when it is text a spreadsheet would run as a
    formula (:data:`FORMULA_START`, not a plain number); anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` to write as CSV for people: every cell of its text columns, and its column
    names, through :func:`formula_safe`; numeric, boolean and date columns as they are."""
    safe = frame.copy(deep=False)
    safe.columns = [formula_safe(name) for name in frame.columns]
    for k, dtype in enumerate(frame.dtypes):
        if dtype == object or isinstance(dtype, pd.StringDtype):
            safe.isetitem(k, frame.iloc[:, k].map(formula_safe))
    return safe
