"""One encoder call for many small JSON documents gives what one call per item gives,
whatever the items hold (separators, quotes, non-ASCII, empty ones)."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from flowgraph._json import dumps_each

text = st.sampled_from(["a", "], [", "}, {", '"', "\\", "中", "\n", ""]) | st.text(max_size=4)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(text, max_size=3), max_size=6))
def test_lists(items):
    assert dumps_each(items, ensure_ascii=False) == [json.dumps(x, ensure_ascii=False) for x in items]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(text, text | st.floats(allow_nan=False) | st.none(), max_size=3), max_size=6))
def test_dicts(items):
    assert dumps_each(items, sort_keys=True) == [json.dumps(x, sort_keys=True) for x in items]
