"""Reference for :mod:`flowgraph._kernels.csv_lines`: Python's csv module, one line at a time."""

from __future__ import annotations

import csv
import io
import re

OPEN_QUOTE, WRONG_FIELD_COUNT = "open_quote", "wrong_field_count"


def bad_lines(text: str, delimiter: str, n_fields: int) -> tuple[int, list[tuple[int, str, int]]]:
    """Data rows (non-blank lines) and the bad ones as (row, kind, fields).

    Each line is parsed alone with a newline after it: a quote still open at its end
    swallows that newline into the last field, which no closed line can hold.
    """
    n_rows, bad = 0, []
    for line in re.split(r"\r\n|\r|\n", text):
        if line == "":
            continue
        n_rows += 1
        fields = next(csv.reader(io.StringIO(line + "\n", newline=""), delimiter=delimiter, strict=False))
        if fields[-1].endswith("\n"):
            bad.append((n_rows, OPEN_QUOTE, len(fields)))
        elif len(fields) != n_fields:
            bad.append((n_rows, WRONG_FIELD_COUNT, len(fields)))
    return n_rows, bad
