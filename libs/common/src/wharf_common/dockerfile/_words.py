"""Tokenizers of one logical line, ported from buildkit's ``split_command.go`` and
``line_parsers.go``: keyword and ``--flags``, quote-aware words, JSON arrays."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

_TOKEN_WHITESPACE_RE = re.compile(r"[\t\v\f\r ]+")

_SPACES, _WORD, _QUOTE = range(3)


class NotStringArray(ValueError):
    """A JSON array with something else than strings (Docker refuses it)."""

    message = "when using JSON array syntax, arrays must be comprised of strings only"


class FlagError(ValueError):
    """A ``--flag`` the instruction does not take, or takes differently."""


def split_command(line: str) -> tuple[str, list[str], str]:
    """``(keyword as written, ["--flag=value", ...], arguments)`` of a logical line."""
    parts = _TOKEN_WHITESPACE_RE.split(line.strip(), maxsplit=1)
    if len(parts) == 1:
        return parts[0], [], ""
    rest, flags = extract_flags(parts[1])
    return parts[0], flags, rest.strip()


def split_whitespace(rest: str) -> list[str]:
    """Docker's plain split (FROM, EXPOSE): no quoting at all."""
    return _TOKEN_WHITESPACE_RE.split(rest) if rest else []


def extract_flags(line: str) -> tuple[str, list[str]]:
    """Leading ``--name=value`` words (quotes and ``\\`` escapes removed), and the rest.

    A bare ``--`` ends the flags. The escape here is always ``\\``, as in Docker.
    """
    words: list[str] = []
    phase = _SPACES
    word: list[str] = []
    quote = ""
    blank_ok = False
    pos = 0
    end = len(line)
    while pos <= end:
        ch = line[pos] if pos < end else ""
        if phase == _SPACES:
            if pos == end:
                break
            if ch.isspace():
                pos += 1
                continue
            if ch != "-" or pos + 1 == end or line[pos + 1] != "-":
                return line[pos:], words
            phase = _WORD
        if pos == end:
            text = "".join(word)
            if text != "--" and (blank_ok or text):
                words.append(text)
            break
        if phase == _WORD:
            if ch.isspace():
                phase = _SPACES
                text = "".join(word)
                if text == "--":
                    return line[pos:], words
                if blank_ok or text:
                    words.append(text)
                word = []
                blank_ok = False
                pos += 1
                continue
            if ch in "'\"":
                quote = ch
                blank_ok = True
                phase = _QUOTE
                pos += 1
                continue
        elif ch == quote:
            phase = _WORD
            pos += 1
            continue
        if ch == "\\":
            if pos + 1 == end:
                if phase == _QUOTE:
                    phase = _WORD
                pos += 1
                continue
            pos += 1
            ch = line[pos]
        word.append(ch)
        pos += 1
    return "", words


def parse_words(rest: str, escape: str) -> list[str]:
    """Split on unquoted whitespace, *keeping* quotes and escapes (``parseWords``).

    ``A="a b" c\\ d`` gives ``['A="a b"', 'c\\ d']``; expansion removes them later.
    """
    words: list[str] = []
    phase = _SPACES
    quote = ""
    blank_ok = False
    word: list[str] = []
    pos = 0
    end = len(rest)
    while pos <= end:
        ch = rest[pos] if pos < end else ""
        if phase == _SPACES:
            if pos == end:
                break
            if ch.isspace():
                pos += 1
                continue
            phase = _WORD
        if pos == end:
            if blank_ok or word:
                words.append("".join(word))
            break
        if phase == _WORD:
            if ch.isspace():
                phase = _SPACES
                if blank_ok or word:
                    words.append("".join(word))
                word = []
                blank_ok = False
                pos += 1
                continue
            if ch in "'\"":
                quote = ch
                blank_ok = True
                phase = _QUOTE
            if ch == escape:
                if pos + 1 == end:
                    pos += 1
                    continue
                word.append(ch)
                pos += 1
                ch = rest[pos]
        else:
            if ch == quote:
                phase = _WORD
            if ch == escape and quote != "'":
                if pos + 1 == end:
                    phase = _WORD
                    pos += 1
                    continue
                word.append(ch)
                pos += 1
                ch = rest[pos]
        word.append(ch)
        pos += 1
    return words


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def parse_json(rest: str) -> tuple[str, ...] | None:
    """The strings of a JSON array, or None when ``rest`` is not one (then it is shell form).

    Raises :class:`NotStringArray` for valid JSON arrays of other things.
    """
    rest = rest.lstrip()
    if not rest.startswith("["):
        return None
    try:
        value = json.loads(rest, parse_constant=_reject_constant)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(item, str) for item in value):
        raise NotStringArray(NotStringArray.message)
    return tuple(value)


def parse_flags(flags: Iterable[str], allowed: Iterable[str]) -> dict[str, str]:
    """``{"from": "builder"}`` from ``["--from=builder"]``; every allowed flag takes a value."""
    known = frozenset(allowed)
    values: dict[str, str] = {}
    for flag in flags:
        if flag == "--":
            break
        name, sep, value = flag.removeprefix("--").partition("=")
        if name not in known:
            raise FlagError(f"unknown flag: --{name}")
        if name in values:
            raise FlagError(f"duplicate flag specified: --{name}")
        if not sep:
            raise FlagError(f"missing a value on flag: --{name}")
        values[name] = value
    return values


__all__ = [
    "FlagError",
    "NotStringArray",
    "extract_flags",
    "parse_flags",
    "parse_json",
    "parse_words",
    "split_command",
    "split_whitespace",
]
