"""Depth-limited JSON parsing: deep documents are a ValueError, never a RecursionError."""

from __future__ import annotations

import json

import pytest
from wharf_common.jsonsafe import MAX_DEPTH, JSONTooDeep, loads, nesting_depth


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_a_hundred_thousand_levels_are_refused_as_a_value_error(opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    deep = opener * 100_000 + "1" + closer * 100_000
    with pytest.raises(RecursionError):
        json.loads(deep)  # what the services did before
    with pytest.raises(JSONTooDeep, match="deeper than 64 levels"):
        loads(deep.encode())
    with pytest.raises(ValueError):
        loads(opener * 100_000)  # unterminated too


def test_the_limit_is_exact_and_configurable() -> None:
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(JSONTooDeep):
        loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    with pytest.raises(JSONTooDeep):
        loads('{"a": {"b": [1]}}', max_depth=2)


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"s": "[" * 1000, "t": 'quote \\" [[[ ' + "{" * 100, "u": ["]]]"]})
    assert nesting_depth(text) == 2
    assert loads(text)["s"] == "[" * 1000


def test_ordinary_documents_parse_as_json_loads_does() -> None:
    doc = {"id": "a" * 64, "config": {"Env": ["A=1"], "Labels": {"k": "v"}}, "n": [1.5, None, True]}
    raw = json.dumps(doc)
    assert loads(raw) == loads(raw.encode()) == doc
    assert nesting_depth("") == 0 and loads("3") == 3
    with pytest.raises(json.JSONDecodeError):
        loads(b"{not json}")
