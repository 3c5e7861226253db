"""Many small JSON documents written by one call of the C encoder.

Hit tables hold one JSON text per hit (its evidence lists, its measures): a call of
``json.dumps`` per hit costs more than the rest of the row. :func:`dumps_each` encodes
the whole list once and cuts the document at its top-level separators; an item whose
own text holds that separator falls back to one call per item.
"""

from __future__ import annotations

import json


def dumps_each(items: list, **options) -> list[str]:
    """``[json.dumps(x, **options) for x in items]`` for items that are all lists or all
    dicts, in one encoder call (``separators`` must stay the default)."""
    if len(items) < 2:
        return [json.dumps(x, **options) for x in items]
    close, open_ = ("]", "[") if isinstance(items[0], list) else ("}", "{")
    parts = json.dumps(items, **options)[1:-1].split(f"{close}, {open_}")
    if len(parts) != len(items):
        return [json.dumps(x, **options) for x in items]
    parts[0], parts[-1] = parts[0][1:], parts[-1][:-1]
    return [f"{open_}{p}{close}" for p in parts]
