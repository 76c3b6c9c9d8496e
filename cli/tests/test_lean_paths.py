"""What replaced ``re``, ``threading``, ``contextlib`` and ``signal`` on the hot commands' path behaves
as they did: the template scanner, plain-field lexing, daemon threads, the exit list, the terminal's
context managers."""

from __future__ import annotations

import os
import random
import re
import signal
import threading
import time

import pytest
from wharf_cli import templates
from wharf_cli.background import Background, Exits, in_background
from wharf_cli.terminal import forward_signals, on_resize

ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)  # what templates.py used before


def regex_actions(template: str) -> list[tuple[int, int, bool, str, bool]]:
    return [
        (m.start(), m.end(), bool(m.group(1)), m.group(2), bool(m.group(3)))
        for m in ACTION.finditer(template)
    ]


FIXED = [
    "table {{.ID}}\t{{.Image}}\t{{.Command}}",
    "{{- .A -}} x {{-.B}} {{.C-}} {{- -}} {{-}} {{ - }}",
    "{{}}{{{{.A}}}}}}{{",
    "a {{- \n.A\n -}} b",
    "{{/* comment */}}{{.X}}",
    "{{.A}} {{.B",
    "{{-\u2003.A\u2003-}}",
]


@pytest.mark.parametrize("template", FIXED)
def test_actions_match_the_pattern(template: str) -> None:
    assert list(templates._actions(template)) == regex_actions(template)


def test_actions_match_the_pattern_on_random_templates() -> None:
    rng = random.Random(16)
    alphabet = ["{", "}", "{{", "}}", "-", " ", "\t", "\n", "a", ".", "{{- ", " -}}"]
    for _ in range(5000):
        template = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        assert list(templates._actions(template)) == regex_actions(template), template


@pytest.mark.parametrize(
    "source", [".", ".ID", ".Labels.app", ".a_b.C9", "._x", "json .", ".A | json", "..A", ".9", ".A.", "$x.A"]
)
def test_plain_fields_lex_as_the_tokenizer_does(source: str) -> None:
    tokens = templates._lex(source)
    pattern = re.compile(templates._TOKEN_SOURCE, re.X)
    expected, pos = [], 0
    while pos < len(source):
        match = pattern.match(source, pos)
        if not match or match.end() == pos:
            break
        expected.append((match.lastgroup, match.group(match.lastgroup or "")))
        pos = match.end()
    else:
        assert tokens == expected
        return
    with pytest.raises(templates.TemplateError):
        templates._lex(source)


def test_background_join_and_liveness() -> None:
    gate = threading.Event()
    thread = in_background(gate.wait, 5)
    assert thread.is_alive()
    assert thread.join(timeout=0.01) is False
    gate.set()
    assert thread.join(timeout=5) is True
    assert not thread.is_alive()
    assert thread.join() is True
    with pytest.raises(RuntimeError):
        Background(print).join()


def test_background_reports_an_escaping_exception(capfd: pytest.CaptureFixture[str]) -> None:
    def boom() -> None:
        raise LookupError("lost")

    assert in_background(boom).join(timeout=5)
    err = capfd.readouterr().err
    assert "Exception in thread (boom):" in err and "LookupError: lost" in err


class Recorder:
    def __init__(self, log: list[str], name: str, fail: bool = False) -> None:
        self.log, self.name, self.fail = log, name, fail

    def __enter__(self) -> None:
        self.log.append(f"enter {self.name}")

    def __exit__(self, kind: object, value: object, tb: object) -> None:
        self.log.append(f"exit {self.name} {getattr(kind, '__name__', None)}")
        if self.fail:
            raise OSError(self.name)


def test_exits_leave_last_entered_first_whatever_ends_the_block() -> None:
    log: list[str] = []
    with Exits() as stack:
        stack.enter(Recorder(log, "a"))
        stack.enter(Recorder(log, "b"))
    assert log == ["enter a", "enter b", "exit b None", "exit a None"]
    log.clear()
    with pytest.raises(KeyError), Exits() as stack:
        stack.enter(Recorder(log, "a"))
        raise KeyError("x")
    assert log == ["enter a", "exit a KeyError"]
    log.clear()
    with pytest.raises(OSError, match="b"), Exits() as stack:
        stack.enter(Recorder(log, "a"))
        stack.enter(Recorder(log, "b", fail=True))
    assert log == ["enter a", "enter b", "exit b None", "exit a OSError"]


def test_forward_signals_sends_the_name_and_restores_the_handlers() -> None:
    sent: list[str] = []
    before = signal.getsignal(signal.SIGUSR1)
    with forward_signals(sent.append):
        assert signal.getsignal(signal.SIGUSR1) is not before
        os.kill(os.getpid(), signal.SIGUSR1)
        deadline = time.monotonic() + 5
        while not sent and time.monotonic() < deadline:
            time.sleep(0.01)
    assert sent == ["SIGUSR1"]
    assert signal.getsignal(signal.SIGUSR1) == before


def test_on_resize_restores_sigwinch() -> None:
    before = signal.getsignal(signal.SIGWINCH)
    sizes: list[tuple[int, int]] = []
    with on_resize(lambda h, w: sizes.append((h, w))):
        assert signal.getsignal(signal.SIGWINCH) is not before
    assert signal.getsignal(signal.SIGWINCH) == before


def test_logs_durations_and_timestamps_with_re_imported_late() -> None:
    from wharf_cli.fast.logs import api_timestamp, parse_go_duration

    assert parse_go_duration("1h30m") == 5400 and parse_go_duration("-1.5s") == -1.5
    assert parse_go_duration("250ms") == 0.25 and parse_go_duration("10x") is None
    assert api_timestamp("10m", now=1000.25) == "400.250000000"
    assert api_timestamp("1700000000.5") == "1700000000.5"
    assert api_timestamp("2024-01-01") == "1704067200.000000000"
    assert api_timestamp(None) is None
