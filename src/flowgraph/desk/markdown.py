"""Markdown tables of the report drafts (:mod:`flowgraph.desk.large_value`,
:mod:`flowgraph.desk.str_draft`)."""

from __future__ import annotations


def md_cell(value) -> str:
    """A value as the text of a Markdown table cell (numbers with two decimals, lists joined)."""
    if isinstance(value, float):
        text = f"{value:,.2f}"
    elif isinstance(value, list):
        text = ", ".join(map(str, value))
    else:
        text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def md_table(rows: list[dict], columns: list[str]) -> str:
    """Rows as a Markdown table of ``columns`` ("(none)" when there is no row)."""
    if not rows:
        return "(none)\n"
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(md_cell(row[c]) for c in columns) + " |")
    return "\n".join(lines) + "\n"
