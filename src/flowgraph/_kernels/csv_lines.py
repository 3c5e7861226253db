"""CSV lines: the kernel behind :func:`flowgraph.io.csvfile.read_csv_table`.

flowgraph reads CSV as one record per line: a value may be quoted (and hold the
delimiter, or a doubled quote) but may not span lines. pyarrow's CSV parser does let a
quoted value run over line ends, so one stray quote silently swallows the lines after it
(or, with threads, drops whole blocks of rows without a word). This kernel reads the
bytes once, with the same quoting rules as pyarrow (a quote opens a quoted value only at
the start of a field; ``""`` inside it is one quote; after the closing quote the rest of
the field is literal text), and finds every line that is not a record of the header's
width: a wrong number of fields, or a quote still open at the end of the line.

The bytes are UTF-8: the delimiter, the quote, CR and LF never occur inside a multi-byte
character there.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

#: ``kind`` of a bad line
WRONG_FIELD_COUNT, OPEN_QUOTE = 1, 2

_LF, _CR = 10, 13


@jit
def find_bad_lines(data, delimiter, quote, n_fields, bad_row, bad_start, bad_end, bad_kind, bad_fields):
    """Number the rows of a CSV text and find the lines that are not records.

    Every non-blank line is a data row, numbered from 1 (the header is not in ``data``).
    Blank lines (nothing between two line ends) are skipped, as pyarrow skips them. Line
    ends are LF, CRLF or a lone CR.

    Parameters
    ----------
    data : ndarray of uint8
        The text after the header line, UTF-8.
    delimiter, quote : int
        Byte values.
    n_fields : int
        Fields per line (the header's).
    bad_row, bad_start, bad_end, bad_kind, bad_fields : ndarray
        Output, one entry per bad line, filled up to their length: its data-row number,
        byte range (line end excluded), kind (``WRONG_FIELD_COUNT`` or ``OPEN_QUOTE``) and
        number of fields.

    Returns
    -------
    n_rows : int
        Data rows (good and bad).
    n_bad : int
        Bad lines; when larger than the output arrays, only the first ones were stored:
        call again with arrays of this size.
    """
    n = data.shape[0]
    capacity = bad_row.shape[0]
    n_rows = 0
    n_bad = 0
    i = 0
    while i < n:
        c = data[i]
        if c == _LF or c == _CR:  # blank line
            i += 1
            continue
        start = i
        fields = 1
        at_field_start = True
        in_quotes = False
        while i < n:
            c = data[i]
            if in_quotes:
                if c == quote:
                    if i + 1 < n and data[i + 1] == quote:
                        i += 1
                    else:
                        in_quotes = False
                elif c == _LF or c == _CR:
                    break
                i += 1
                continue
            if c == _LF or c == _CR:
                break
            if c == delimiter:
                fields += 1
                at_field_start = True
            else:
                if c == quote and at_field_start:
                    in_quotes = True
                at_field_start = False
            i += 1
        end = i
        if i < n and data[i] == _CR and i + 1 < n and data[i + 1] == _LF:
            i += 1
        i += 1
        n_rows += 1
        if (in_quotes or fields != n_fields):
            if n_bad < capacity:
                bad_row[n_bad] = n_rows
                bad_start[n_bad] = start
                bad_end[n_bad] = end
                bad_kind[n_bad] = OPEN_QUOTE if in_quotes else WRONG_FIELD_COUNT
                bad_fields[n_bad] = fields
            n_bad += 1
    return n_rows, n_bad


def bad_lines(data: np.ndarray, delimiter: int, quote: int, n_fields: int):
    """:func:`find_bad_lines` with output arrays that grow to fit.

    Returns
    -------
    n_rows : int
    row, start, end, kind, fields : ndarray
        One entry per bad line, in file order.
    """
    capacity = 256
    while True:
        out = (np.empty(capacity, np.int64), np.empty(capacity, np.int64), np.empty(capacity, np.int64),
               np.empty(capacity, np.int8), np.empty(capacity, np.int64))
        n_rows, n_bad = find_bad_lines(data, delimiter, quote, n_fields, *out)
        if n_bad <= capacity:
            return (n_rows, *(a[:n_bad] for a in out))
        capacity = n_bad
