"""Detach keys: Docker's notation, and the matcher that only counts keystrokes."""

from __future__ import annotations

import pytest
from wharf_common.errors import InvalidArgument
from wharf_engine.containers.detach import DEFAULT_DETACH_KEYS, EscapeMatcher, parse_detach_keys


@pytest.mark.parametrize(
    ("spec", "keys"),
    [
        ("", DEFAULT_DETACH_KEYS),
        (None, DEFAULT_DETACH_KEYS),
        ("ctrl-p,ctrl-q", b"\x10\x11"),
        ("ctrl-x,x", b"\x18x"),
        ("CTRL-A,ctrl-@,ctrl-_", b"\x01\x00\x1f"),
        ("a,b,DEL", b"ab\x7f"),
    ],
)
def test_parse_detach_keys_as_docker(spec: str | None, keys: bytes) -> None:
    assert parse_detach_keys(spec) == keys


@pytest.mark.parametrize("spec", ["ctrl-1", "ctrl-foo", "ab", ",", "ctrl-"])
def test_parse_detach_keys_refuses_bad_sequences(spec: str) -> None:
    with pytest.raises(InvalidArgument, match="Invalid detach keys"):
        parse_detach_keys(spec)


def test_matcher_holds_a_partial_sequence_and_releases_it_on_mismatch() -> None:
    escape = EscapeMatcher(b"\x10\x11")
    assert escape.feed(b"\x10") == (b"", False)
    assert escape.feed(b"a") == (b"\x10a", False)
    assert escape.feed(b"\x10") == (b"", False)
    assert escape.feed(b"\x11") == (b"", True)


def test_matcher_ignores_the_keys_inside_bulk_input() -> None:
    escape = EscapeMatcher(b"\x10\x11")
    assert escape.feed(b"x\x10\x11y") == (b"x\x10\x11y", False)
    assert escape.feed(b"\x10\x11") == (b"", True)  # typed fast: one read, still keystrokes
