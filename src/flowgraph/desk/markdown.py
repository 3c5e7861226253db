"""Markdown of the report drafts (:mod:`flowgraph.desk.large_value`,
:mod:`flowgraph.desk.str_draft`): every value written into Markdown goes through
:func:`md_text`, so an analyst's name, a note or an id from the data reads as the text it
is and cannot add markup (a heading, a list, a link, raw HTML) to the file."""

from __future__ import annotations

import html
import re

#: Control characters (line breaks included, Unicode ones too): each becomes a space, so a
#: value stays on its line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: Characters that make inline markup (emphasis, code, links, table cells, escapes).
_INLINE = re.compile(r"([\\`*_\[\]|~])")
#: Markup a line may start with: a heading, quote, list item, setext or thematic break.
_LINE_START = re.compile(r"^(\s*)(?:([#>+=-])|(\d+)([.)]))")


def md_text(value) -> str:
    """``value`` as Markdown that renders as its own text, on one line: control characters
    become spaces, ``&``, ``<`` and ``>`` HTML entities, inline markup characters are
    backslash-escaped, and markup a line could start with (``#``, ``>``, ``-``, ``+``,
    ``=``, ``1.``) is escaped too, wherever the value lands."""
    return _LINE_START.sub(lambda m: m.group(1) + (m.group(3) or "") + "\\" + (m.group(2) or m.group(4)),
                           _inline(value))


def _inline(value) -> str:
    """``value`` escaped as :func:`md_text` but for the markup only a line's start makes
    (a table cell never starts a line)."""
    text = html.escape(_CONTROL.sub(" ", "" if value is None else str(value)), quote=False)
    return _INLINE.sub(r"\\\1", text)


def md_paragraphs(text: str) -> str:
    """Text of several paragraphs (separated by a blank line), each as :func:`md_text`."""
    return "\n\n".join(md_text(p) for p in str(text).split("\n\n"))


def md_cell(value) -> str:
    """A value as the text of a Markdown table cell (numbers with two decimals, lists joined)."""
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, list):
        value = ", ".join(map(str, value))
    return _inline(value)


def md_table(rows: list[dict], columns: list[str]) -> str:
    """Rows as a Markdown table of ``columns`` ("(none)" when there is no row)."""
    if not rows:
        return "(none)\n"
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(md_cell(row[c]) for c in columns) + " |")
    return "\n".join(lines) + "\n"
