"""Reading CSV exports as they come from banks: any of four delimiters, UTF-8 or
GB18030/GBK, plain or compressed, with broken lines set aside instead of refusing the file.

The contract (documented for users in :func:`read_csv_table`):

- one line is one record; a value may be quoted (``"a, b"``, ``"a ""b"" c"``) but may
  not span lines. Blank lines are skipped and not counted.
- a line whose field count differs from the header's, or that leaves a quote open, is a
  *malformed line*: it is returned apart, with its data-row number, and every other row
  keeps its own number (``source_row``), so accepted + rejected = data lines.
- the delimiter (comma, semicolon, tab or pipe) is sniffed from the first lines unless
  given; the encoding is UTF-8 (a byte-order mark is accepted) unless given; ``.gz`` and
  ``.zst`` files are decompressed.
- a column without a name in the header (``...,amount,,``: the empty columns a
  spreadsheet exports after the last one it used) is ignored, with a note, when no row
  holds a value in it (white space is no value); one that holds a value makes the file a
  :class:`~flowgraph.errors.DataError` naming the column, the first such row and the fix
  (name the column in the header, or remove it), since which column it should be cannot
  be known. Lines keep the header's field count, empty columns included.

The happy path stays in C++ (pyarrow's multi-threaded parser) and one numba pass over the
bytes (:mod:`flowgraph._kernels.csv_lines`); Python touches only the header and the bad
lines.
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from .._kernels.csv_lines import OPEN_QUOTE, bad_lines
from ..errors import ConfigError, DataError
from ..schema import READER_NOTE_START

#: File-name endings of compressed text, and pyarrow's codec for each.
COMPRESSIONS = {".gz": "gzip", ".zst": "zstd"}

#: Delimiters tried when none is given, in order of preference on a tie.
SNIFFED_DELIMITERS = (",", ";", "\t", "|")

#: Names accepted for ``--delimiter`` besides the character itself.
DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}

DEFAULT_ENCODING = "utf-8"

#: Bytes of text read to find the header and sniff the delimiter.
SNIFF_BYTES = 1 << 16

#: Characters that must encode as themselves (one ASCII byte) in a supported encoding:
#: the line reader works on bytes (GB18030, GBK and UTF-8 qualify; UTF-16 does not).
_STRUCTURAL = "\"\r\n,;\t|"

_UTF8_NAMES = ("utf-8", "utf-8-sig")


@dataclass
class RawTable:
    """A table as read, every column text (or as typed in Parquet), before validation.

    Attributes
    ----------
    frame : DataFrame
        The rows that are records.
    source_row : ndarray of int64
        Data-row number (from 1, in file order) of each row of ``frame``.
    malformed : DataFrame
        Lines that are not records: ``source_row``, ``problem`` (what is wrong, without
        the line's values) and ``line`` (its text, for the rejects file).
    notes : list of str
        What the reader did to the file as a whole (columns it ignored), for the
        validation report; each begins with :data:`flowgraph.schema.READER_NOTE_START`.
    """

    frame: pd.DataFrame
    source_row: np.ndarray
    malformed: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @classmethod
    def whole(cls, frame: pd.DataFrame) -> RawTable:
        """A table with no malformed lines: rows numbered 1..n."""
        return cls(frame, np.arange(1, len(frame) + 1, dtype=np.int64), no_malformed_lines())


def no_malformed_lines() -> pd.DataFrame:
    return pd.DataFrame({"source_row": np.zeros(0, np.int64), "problem": pd.Series([], dtype=object),
                         "line": pd.Series([], dtype=object)})


def compression_of(path: Path) -> str | None:
    """pyarrow's codec name for a compressed file name, else None."""
    return COMPRESSIONS.get(path.suffix.lower())


def parse_delimiter(text: str | None) -> str | None:
    """A ``--delimiter`` value as one character (None: sniff).

    Raises
    ------
    ConfigError
        Not one character nor a known name.
    """
    if text is None:
        return None
    value = DELIMITER_NAMES.get(text.lower(), text)
    if len(value) != 1 or value in "\"\r\n":
        raise ConfigError(f"--delimiter {text!r}: give one character, or one of "
                          f"{sorted(DELIMITER_NAMES)} (e.g. --delimiter ';' or --delimiter tab).")
    return value


def parse_encoding(name: str | None) -> str:
    """The canonical codec name of ``--encoding`` (default UTF-8).

    Raises
    ------
    ConfigError
        An unknown encoding, or one whose delimiters and line ends are not single ASCII
        bytes (UTF-16, UTF-32).
    """
    if name is None:
        return DEFAULT_ENCODING
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        raise ConfigError(f"--encoding {name!r}: unknown encoding. Fix: use utf-8 (the default), "
                          "gb18030 (Chinese bank exports; covers GBK and GB2312) or another "
                          "Python codec name.") from None
    try:
        ascii_compatible = _STRUCTURAL.encode(canonical) == _STRUCTURAL.encode("ascii")
    except (UnicodeError, LookupError):
        ascii_compatible = False
    if not ascii_compatible:
        raise ConfigError(f"--encoding {name!r}: not supported (delimiters and line ends are not "
                          "single bytes in it). Fix: convert the file to UTF-8 or GB18030.")
    return canonical


def _open_error(path: Path, compression: str | None, exc: Exception) -> DataError:
    if compression:
        return DataError(f"{path}: cannot be decompressed as {compression} ({exc}). Fix: check that "
                         "the download is complete, or rename the file if it is not compressed.")
    return DataError(f"{path}: cannot be read ({exc}). Fix: check the file and its permissions.")


def _read_bytes(path: Path, limit: int | None = None) -> pa.Buffer:
    """The file's bytes, decompressed; memory-mapped when plain and read whole."""
    compression = compression_of(path)
    try:
        if compression is None and limit is None:
            with pa.memory_map(str(path)) as mapped:
                return mapped.read_buffer()
        with pa.input_stream(str(path), compression=compression) as stream:
            return stream.read_buffer(limit) if limit is not None else stream.read_buffer()
    except (OSError, pa.ArrowException) as exc:
        raise _open_error(path, compression, exc) from exc


def _decode_error(path: Path, data: np.ndarray, encoding: str, offset: int, chosen: bool) -> DataError:
    line = int(np.count_nonzero(data[:offset] == 10)) + 1
    return _decode_error_at(path, encoding, offset, line, bytes(data[offset:offset + 4]), chosen)


def _decode_error_at(path: Path, encoding: str, offset: int, line: int, bad: bytes, chosen: bool) -> DataError:
    """The error for the byte at ``offset`` (on ``line``) that is not valid ``encoding``
    text; ``bad`` holds it and the bytes after it."""
    compressed = compression_of(path)
    where = "of the decompressed text " if compressed else ""
    utf16 = offset == 0 and bad[:2] in (b"\xff\xfe", b"\xfe\xff")  # a UTF-16 byte-order mark
    bad = bad.hex(" ")
    if utf16:
        fix = ("the file is UTF-16 (it starts with a UTF-16 byte-order mark), which is not read: save it "
               + ("decompressed as UTF-8" if compressed else
                  f"as UTF-8, e.g. iconv -f utf-16 -t utf-8 {path.name} > {path.stem}-utf8{path.suffix}"))
    elif encoding in _UTF8_NAMES:
        fix = ("pass the file's encoding, e.g. --encoding gb18030 (Chinese bank exports; it also "
               "reads GBK and GB2312), or save the file as UTF-8")
    else:
        fix = ("check the file's encoding: --encoding utf-8 (the default) or --encoding gb18030 "
               "are the usual ones")
    how = "" if chosen else ", the default"
    return DataError(f"{path}: byte {offset:,} {where}(line {line:,}) is not valid {encoding} text{how} "
                     f"(bytes {bad}). Fix: {fix}.")


def _decoded(path: Path, data: np.ndarray, encoding: str, chosen: bool):
    """``data`` decoded from ``encoding``, as a sequence of text pieces.

    Raises
    ------
    DataError
        Naming the first byte that is not valid in ``encoding``, and its line.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    chunk = 1 << 24
    for begin in range(0, len(data), chunk):
        pending = len(decoder.getstate()[0])
        try:
            yield decoder.decode(data[begin:begin + chunk].tobytes(), final=begin + chunk >= len(data))
        except UnicodeDecodeError as exc:
            raise _decode_error(path, data, encoding, begin - pending + exc.start, chosen) from None


def _utf8(path: Path, data: np.ndarray, encoding: str, chosen: bool) -> np.ndarray:
    """``data`` as UTF-8 bytes. UTF-8 input is checked whole first (by Arrow, without a
    copy) and returned as it is; only when the check fails does :func:`_decoded` find the
    bad byte and its line. Checking before parsing matters: a bad byte on a malformed
    line would otherwise reach pyarrow's row handler, which cannot decode it."""
    if encoding in _UTF8_NAMES:
        whole = pa.LargeStringArray.from_buffers(1, pa.py_buffer(np.array([0, len(data)], np.int64)),
                                                 pa.py_buffer(data))
        try:
            whole.validate(full=True)
        except pa.ArrowInvalid:
            for _ in _decoded(path, data, encoding, chosen):  # raises, naming the byte and line
                pass
        return data
    return np.frombuffer(b"".join(t.encode("utf-8") for t in _decoded(path, data, encoding, chosen)), np.uint8)


def _header_line(text: np.ndarray) -> tuple[str, int]:
    """The first non-blank line (BOM removed) and the offset just after its line end."""
    i, n = 0, len(text)
    while i < n and text[i] in (10, 13):
        i += 1
    ends = np.flatnonzero((text[i:i + SNIFF_BYTES] == 10) | (text[i:i + SNIFF_BYTES] == 13))
    end = i + int(ends[0]) if len(ends) else min(n, i + SNIFF_BYTES)
    after = end + (2 if text[end:end + 2].tobytes() == b"\r\n" else 1)
    line = text[i:end].tobytes().decode("utf-8", errors="replace").lstrip("\ufeff")
    return line, min(after, n)


def _fields(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])


def sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the header into the most fields while giving the sample's
    other lines the header's field count (comma when none splits the header)."""
    lines = [line for line in sample.splitlines() if line.strip()]
    if len(lines) > 2:
        lines = lines[:-1]  # the sample may end in the middle of a line
    best, best_score = ",", (0, 0)
    for candidate in SNIFFED_DELIMITERS:
        width = len(_fields(lines[0], candidate)) if lines else 0
        if width < 2:
            continue
        consistent = sum(len(_fields(line, candidate)) == width for line in lines[1:50])
        if (consistent, width) > best_score:
            best, best_score = candidate, (consistent, width)
    return best


def csv_header(path: str | Path, encoding: str | None = None, delimiter: str | None = None) -> list[str]:
    """The column names of a CSV file (stripped), read from its first bytes only; [] when
    the file cannot be read as CSV."""
    path = Path(path)
    try:
        head = _read_bytes(path, SNIFF_BYTES)
    except DataError:
        return []
    sample = head.to_pybytes().decode(parse_encoding(encoding), errors="replace").lstrip("\ufeff")
    lines = [line for line in sample.splitlines() if line.strip()]
    if not lines:
        return []
    return [name.strip() for name in _fields(lines[0], delimiter or sniff_delimiter(sample))]


#: What the reader names a column without a name in the header until it is dropped
#: (:func:`_without_unnamed`): no header name holds a NUL.
_UNNAMED = "\x00unnamed column "


def _column_names(header: list[str], path: Path, duplicate_columns: str) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for position, name in enumerate(header, 1):
        if name == "":
            names.append(f"{_UNNAMED}{position}")  # dropped, or refused, once its values are read
            continue
        if name in seen:
            if duplicate_columns == "error":
                raise DataError(f"{path}: the header names column {name!r} twice (columns "
                                f"{header.index(name) + 1} and {len(names) + 1}). Fix: rename or "
                                "remove one of them; flowgraph will not guess which one holds the data.")
            seen[name] += 1
            name = f"{name}.{seen[name] - 1}"
        seen.setdefault(name, 1)
        names.append(name)
    return names


def _without_unnamed(path: Path, raw: RawTable) -> RawTable:
    """``raw`` without its columns that have no name in the header (module docstring),
    with a note saying so; a DataError naming the first row that holds a value in one."""
    unnamed = [c for c in raw.frame.columns if c.startswith(_UNNAMED)]
    if not unnamed:
        return raw
    for column in unnamed:
        values = raw.frame[column]
        given = np.flatnonzero(values.str.strip().ne("").to_numpy(dtype=bool, na_value=False))
        if len(given):
            position = int(column[len(_UNNAMED):])
            row = int(raw.source_row[given[0]])
            raise DataError(f"{path}: column {position} has no name in the header, but row {row:,} (line {row + 1:,}, "
                            "blank lines not counted) holds a value in it, and flowgraph will not guess which column "
                            f"it is. Fix: give column {position} a name in the header (a column flowgraph does not "
                            "read passes through), or remove it (pandas writes its index so: to_csv(index=False)).")
    positions = ", ".join(c[len(_UNNAMED):] for c in unnamed)
    note = (f"{READER_NOTE_START}has no name for column{'s' if len(unnamed) > 1 else ''} {positions}, which no row "
            "holds a value in (a spreadsheet's empty columns): ignored")
    return RawTable(raw.frame.drop(columns=unnamed), raw.source_row, raw.malformed, [*raw.notes, note])


def _problem(kind: int, n_fields: int, width: int) -> str:
    if kind == OPEN_QUOTE:
        return "a quote opened on this line is not closed on it (values may not span lines)"
    return f"{n_fields} fields where the header has {width}"


def read_csv_table(path: str | Path, encoding: str | None = None, delimiter: str | None = None,
                   duplicate_columns: str = "error") -> RawTable:
    """Read a CSV file (plain, ``.gz`` or ``.zst``) with every column as text.

    Parameters
    ----------
    path : path
        The file.
    encoding : str, optional
        Text encoding (default UTF-8; a UTF-8 byte-order mark is skipped). Chinese bank
        exports are often GB18030 (a superset of GBK and GB2312).
    delimiter : str, optional
        One character; default: sniffed among comma, semicolon, tab and pipe.
    duplicate_columns : {"error", "number"}
        A column name given twice is a :class:`DataError` ("error"), or the later ones are
        renamed ``name.1``, ``name.2`` ("number", for formats that repeat a name, such as
        AMLworld's two ``Account`` columns).

    Returns
    -------
    RawTable
        Records, their row numbers, and the malformed lines (module docstring).

    Raises
    ------
    DataError
        The file is empty, has no header, is not valid text in ``encoding``, or cannot be
        decompressed.
    """
    path = Path(path)
    chosen = encoding is not None
    encoding = parse_encoding(encoding)
    data = np.frombuffer(_read_bytes(path), dtype=np.uint8)
    if len(data) == 0:
        raise DataError(f"{path}: the file is empty: no header and no rows. "
                        "Fix: export the table again with its header row.")
    text = _utf8(path, data, encoding, chosen)
    delimiter, names, body_start = _header(path, text, delimiter, duplicate_columns)
    return _without_unnamed(path, _parse_lines(path, text[body_start:], delimiter, names, 0, data, encoding, chosen))


def _header(path: Path, text: np.ndarray, delimiter: str | None, duplicate_columns: str
            ) -> tuple[str, list[str], int]:
    """The delimiter (sniffed when None), the column names and where the body starts, from
    the start of a file's UTF-8 text; a DataError when there is no header row."""
    header_line, body_start = _header_line(text)
    if not header_line.strip():
        raise DataError(f"{path}: the file has no header row (only blank lines). "
                        "Fix: export the table again with its header row.")
    if delimiter is None:
        delimiter = sniff_delimiter(text[:SNIFF_BYTES].tobytes().decode("utf-8", errors="replace"))
    names = _column_names([name.strip() for name in _fields(header_line, delimiter)], path, duplicate_columns)
    return delimiter, names, body_start


def _parse_lines(path: Path, body: np.ndarray, delimiter: str, names: list[str], rows_before: int,
                 data: np.ndarray | None = None, encoding: str = DEFAULT_ENCODING, chosen: bool = False) -> RawTable:
    """The records and malformed lines of ``body`` (UTF-8 text of whole lines after the
    header), numbered from ``rows_before`` + 1. ``data`` (the file's raw bytes, when read
    whole) lets an encoding error found by pyarrow name its byte and line."""
    width = len(names)
    n_rows, bad_row, bad_start, bad_end, bad_kind, bad_fields = bad_lines(body, ord(delimiter), ord('"'), width)
    lines = [body[s:e].tobytes().decode("utf-8", errors="replace") for s, e in zip(bad_start, bad_end)]
    open_quote = bad_kind == OPEN_QUOTE
    if open_quote.any():
        # pyarrow would let the open quote swallow the next lines: blank such a line out
        # with a filler of the wrong width, so that pyarrow sets it aside like the others
        body = body.copy()
        filler = ord(" ") if width > 1 else ord(delimiter)
        for s, e in zip(bad_start[open_quote], bad_end[open_quote]):
            body[s:e] = filler
    skipped = []

    def skip(_row) -> str:
        skipped.append(1)
        return "skip"

    generic = [f"f{i}" for i in range(width)]
    if n_rows == 0:  # pyarrow refuses a text without rows
        return RawTable.whole(pd.DataFrame({name: pd.Series([], dtype="str") for name in names}))
    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(body)),
            read_options=pacsv.ReadOptions(column_names=generic),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=skip),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in generic},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc) and data is not None:
            for _ in _decoded(path, data, encoding, chosen):  # raises, naming the byte and line
                pass
        raise DataError(f"{path}: the CSV structure could not be read ({exc}). Fix: make every line "
                        "a record with the header's number of fields.") from exc
    if len(skipped) != len(bad_row) or table.num_rows != n_rows - len(bad_row):
        raise DataError(f"{path}: the CSV lines could not be split consistently ({n_rows:,} data lines, "
                        f"{len(bad_row):,} malformed, {table.num_rows:,} read). Fix: check for values "
                        "holding line breaks or unusual quoting, and report this file's shape to the "
                        "flowgraph maintainers.")
    frame = table.rename_columns(names).to_pandas()
    source_row = np.delete(np.arange(rows_before + 1, rows_before + n_rows + 1, dtype=np.int64), bad_row - 1)
    malformed = pd.DataFrame({
        "source_row": bad_row.astype(np.int64) + rows_before,
        "problem": pd.Series([_problem(k, f, width) for k, f in zip(bad_kind, bad_fields)], dtype=object),
        "line": pd.Series(lines, dtype=object),
    })
    return RawTable(frame, source_row, malformed)


#: Bytes read from the file at a time when it is read in batches.
BLOCK_BYTES = 1 << 24


def _text_blocks(path: Path, encoding: str, chosen: bool, block_bytes: int):
    """The file's text as UTF-8, in blocks that end just after a line end (LF or CR; the
    last block may end without one), read ``block_bytes`` at a time: a bounded slice of
    the file is in memory. Encoding errors are found as :func:`_utf8` finds them, naming
    the same byte and line.

    Raises
    ------
    DataError
        A byte not valid in ``encoding``, or a file that cannot be read or decompressed.
    """
    compression = compression_of(path)
    decoder = None if encoding in _UTF8_NAMES else codecs.getincrementaldecoder(encoding)()
    carry = np.zeros(0, np.uint8)  # text after the last line end of the blocks so far
    offset, lines_before = 0, 0    # raw bytes and line ends (LF) before the current block
    tail = b""                     # the last raw bytes of the previous block, for messages
    try:
        stream = pa.input_stream(str(path), compression=compression)
    except (OSError, pa.ArrowException) as exc:
        raise _open_error(path, compression, exc) from exc
    with stream:
        while True:
            try:
                raw = stream.read(block_bytes)
            except (OSError, pa.ArrowException) as exc:
                raise _open_error(path, compression, exc) from exc
            final = not raw  # a compressed stream may return less than asked before its end
            raw_array = np.frombuffer(raw, np.uint8)
            if decoder is None:
                text = raw_array
                joined = np.concatenate([carry, text]) if len(carry) else text
                checked = joined if final else joined[:_last_line_end(joined, len(joined))]
                try:  # a character may continue in the next block: check up to the last line end
                    pa.LargeStringArray.from_buffers(1, pa.py_buffer(np.array([0, len(checked)], np.int64)),
                                                     pa.py_buffer(checked)).validate(full=True)
                except pa.ArrowInvalid:
                    try:
                        codecs.getincrementaldecoder("utf-8")().decode(checked.tobytes(), final=True)
                    except UnicodeDecodeError as err:
                        # the carried text holds no LF: its lines are counted in lines_before
                        line = lines_before + int(np.count_nonzero(checked[len(carry):err.start] == 10)) + 1
                        raise _decode_error_at(path, encoding, offset - len(carry) + err.start, line,
                                               checked[err.start:err.start + 4].tobytes(), chosen) from None
                    raise
            else:
                pending = len(decoder.getstate()[0])
                try:
                    text = np.frombuffer(decoder.decode(raw, final=final).encode("utf-8"), np.uint8)
                except UnicodeDecodeError as err:
                    at = offset - pending + err.start
                    before = at - offset  # negative: in the bytes carried by the decoder
                    line = lines_before + int(np.count_nonzero(raw_array[:max(0, before)] == 10)) + 1
                    joined = tail + raw
                    here = len(tail) + before
                    raise _decode_error_at(path, encoding, at, line, joined[here:here + 4], chosen) from None
            offset += len(raw)
            lines_before += int(np.count_nonzero(raw_array == 10))
            tail = raw[-8:]
            joined = np.concatenate([carry, text]) if len(carry) else text
            if final:
                if len(joined):
                    yield joined
                return
            cut = _last_line_end(joined, len(joined))
            if cut:
                yield joined[:cut]
            carry = joined[cut:]
            if decoder is None:
                carry = carry.copy()  # not a view of the block just read


def _last_line_end(text, n: int) -> int:
    """The position just after the last LF or CR in the first ``n`` bytes of ``text``; 0 if none."""
    data = np.frombuffer(text, np.uint8, count=n) if not isinstance(text, np.ndarray) else text[:n]
    ends = np.flatnonzero((data == 10) | (data == 13))
    return int(ends[-1]) + 1 if len(ends) else 0


def iter_csv_batches(path: str | Path, encoding: str | None = None, delimiter: str | None = None,
                     duplicate_columns: str = "error", batch_rows: int = 1_000_000,
                     block_bytes: int = BLOCK_BYTES):
    """Read a CSV file as :func:`read_csv_table` does, in batches of about ``batch_rows``
    lines, holding one batch (and one block of ``block_bytes``) in memory.

    Every batch is a :class:`RawTable` whose ``source_row`` and malformed lines carry the
    file's own data-row numbers, so the batches together hold exactly the rows, numbers
    and malformed lines of :func:`read_csv_table`; a file without data rows gives one
    empty batch. Batches are cut at line feeds (a file whose lines end in a lone CR is one
    batch). The header and the sniffed delimiter come from the file's first
    :data:`SNIFF_BYTES` of text, as in :func:`read_csv_table`.

    Raises
    ------
    DataError
        As :func:`read_csv_table`; an encoding error is raised when its batch is reached.
    """
    path = Path(path)
    chosen = encoding is not None
    encoding = parse_encoding(encoding)
    blocks = _text_blocks(path, encoding, chosen, max(block_bytes, SNIFF_BYTES))
    first, size = [], 0
    for block in blocks:  # enough text for the header and the sniffed sample
        first.append(block)
        size += len(block)
        if size > 2 * SNIFF_BYTES:
            break
    if not size:
        raise DataError(f"{path}: the file is empty: no header and no rows. "
                        "Fix: export the table again with its header row.")
    text = np.concatenate(first)
    delimiter, names, body_start = _header(path, text, delimiter, duplicate_columns)

    def batches():
        """Whole lines of text, ``batch_rows`` line feeds each (the last: the rest)."""
        held = [text[body_start:]]
        n_held = int(np.count_nonzero(held[0] == 10))
        for block in (None, *blocks):
            if block is not None:
                held.append(block)
                n_held += int(np.count_nonzero(block == 10))
            if n_held < batch_rows:
                continue
            joined = np.concatenate(held) if len(held) > 1 else held[0]
            ends = np.flatnonzero(joined == 10)
            start = 0
            while n_held >= batch_rows:
                cut = int(ends[batch_rows - 1 + (len(ends) - n_held)]) + 1
                yield joined[start:cut]
                start, n_held = cut, n_held - batch_rows
            held = [joined[start:]]
        yield np.concatenate(held) if len(held) > 1 else held[0]

    rows_before, n_yielded = 0, 0
    for body in batches():
        raw = _parse_lines(path, body, delimiter, names, rows_before)
        n_rows = len(raw.frame) + len(raw.malformed)
        if n_rows:  # a batch of blank lines only is not one
            rows_before += n_rows
            n_yielded += 1
            yield _without_unnamed(path, raw)
    if not n_yielded:
        empty = pd.DataFrame({name: pd.Series([], dtype="str") for name in names})
        yield _without_unnamed(path, RawTable.whole(empty))
