from __future__ import annotations

import signal

import pytest
from wharf_common.errors import InvalidArgument
from wharf_engine.daemon.signals import parse_signal


@pytest.mark.parametrize("value", ["SIGKILL", "KILL", "kill", "9", 9])
def test_kill_spellings(value: str | int) -> None:
    assert parse_signal(value) == signal.SIGKILL


def test_default_when_absent() -> None:
    assert parse_signal(None, default=signal.SIGTERM) == signal.SIGTERM
    assert parse_signal("", default=signal.SIGTERM) == signal.SIGTERM


# "²" (\u00b2) is a digit to str.isdigit(), not to int()
@pytest.mark.parametrize("value", ["SIGNOPE", "0", "99", "-1", "\u00b2"])
def test_invalid(value: str) -> None:
    with pytest.raises(InvalidArgument, match="Invalid signal"):
        parse_signal(value)
