"""Reference for :mod:`flowgraph.io.rowids`: content ids one row at a time, numbers read
with :mod:`decimal`, occurrences counted with a dictionary."""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal

PLAIN = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")


def text(value) -> str:
    return "" if value is None else str(value).strip()


def number(value) -> str:
    """A plain decimal number as Decimal writes it without exponent or trailing zeros."""
    value = text(value)
    if not PLAIN.fullmatch(value):
        return value
    return format(Decimal(value).normalize(), "f")


def content_ids(prefix: str, rows: list[tuple[str, ...]], labels: list[str] | None = None) -> list[str]:
    """``rows`` already normalised (tuples of text); the k-th of the identical rows, in the
    order of (label, position), gets ``-k`` after its digest (nothing for the first)."""
    labels = [""] * len(rows) if labels is None else [text(v) for v in labels]
    digests = [hashlib.blake2b("\x1f".join(row).encode(), digest_size=10).hexdigest() for row in rows]
    seen: dict[str, int] = {}
    occurrence = [0] * len(rows)
    for position in sorted(range(len(rows)), key=lambda p: (labels[p], p)):
        seen[digests[position]] = seen.get(digests[position], 0) + 1
        occurrence[position] = seen[digests[position]]
    return [prefix + d + (f"-{k}" if k > 1 else "") for d, k in zip(digests, occurrence)]


def amlworld_ids(csv_text: str) -> list[str]:
    """The ids of every data line of an AMLworld CSV text (commas, no quoting): the
    identity fields are the timestamp, both ``bank:account`` ids, the amounts paid and
    received with their currencies (ISO codes where known) and the payment format; the
    label orders identical rows."""
    from flowgraph.io.amlworld import CURRENCY_CODES

    rows, labels = [], []
    for line in csv_text.splitlines()[1:]:
        ts, fb, fa, tb, ta, recv, rcur, paid, pcur, fmt, label = (text(v) for v in line.split(","))
        rows.append((ts, f"{fb}:{fa}", f"{tb}:{ta}", number(paid), CURRENCY_CODES.get(pcur, pcur), number(recv),
                     CURRENCY_CODES.get(rcur, rcur), fmt))
        labels.append(label)
    return content_ids("AW-", rows, labels)
