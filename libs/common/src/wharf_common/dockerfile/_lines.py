"""Physical lines to logical lines: parser directives, comments, continuations.

A port of the reading loop of ``buildkit/frontend/dockerfile/parser/parser.go``
(the classic builder's parser):

* parser directives (``# escape=``` ``, ``# syntax=...``) count only before
  anything else, a blank line included; each may appear once;
* a line whose first non-blank character is ``#`` is a comment, also in the
  middle of a continuation (where it is skipped without ending it);
* the escape character at the end of a line (trailing blanks allowed) joins the
  next line; blank lines inside a continuation are skipped (with Docker's
  warning), so they do not end it either;
* the first line of an instruction loses its leading blanks, continuation
  lines keep theirs: ``RUN a \\`` + ``    b`` is ``RUN a     b``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wharf_common.dockerfile.errors import DockerfileSyntaxError

_DIRECTIVE_RE = re.compile(r"#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*")
_KNOWN_DIRECTIVES = frozenset({"escape", "syntax"})
_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class LogicalLine:
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Source:
    lines: tuple[LogicalLine, ...]
    escape: str
    warnings: tuple[str, ...]
    last_line: int


class _Directives:
    def __init__(self) -> None:
        self.escape = "\\"
        self.done = False
        self.seen: set[str] = set()
        self._continuation = self._continuation_re("\\")

    @staticmethod
    def _continuation_re(escape: str) -> re.Pattern[str]:
        return re.compile(re.escape(escape) + r"[ \t]*\Z")

    def check(self, line: str, number: int) -> None:
        if self.done:
            return
        match = _DIRECTIVE_RE.fullmatch(line)
        if match is None or match[1].lower() not in _KNOWN_DIRECTIVES:
            self.done = True
            return
        name = match[1].lower()
        if name in self.seen:
            raise DockerfileSyntaxError(f"only one {name} parser directive can be used", line=number)
        self.seen.add(name)
        if name == "escape":
            if match[2] not in ("`", "\\"):
                raise DockerfileSyntaxError(
                    f"invalid escape token '{match[2]}' does not match ` or \\", line=number
                )
            self.escape = match[2]
            self._continuation = self._continuation_re(match[2])

    def trim_continuation(self, line: str) -> tuple[str, bool]:
        """The line without its continuation character, and whether the instruction ends here."""
        trimmed, count = self._continuation.subn("", line)
        return trimmed, count == 0


def _physical_lines(text: str) -> list[str]:
    if not text:
        return []
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    lines = [line.removesuffix("\r") for line in lines]
    lines[0] = lines[0].removeprefix(_BOM)
    return lines


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def read_lines(text: str) -> Source:
    physical = _physical_lines(text)
    directives = _Directives()
    logical: list[LogicalLine] = []
    warnings: list[str] = []
    index = 0
    while index < len(physical):
        token = physical[index].lstrip()
        index += 1
        directives.check(token, index)
        start = index
        line, done = directives.trim_continuation("" if token.startswith("#") else token)
        if done and not line:
            continue
        has_empty_continuation = False
        while not done and index < len(physical):
            raw = physical[index]
            index += 1
            directives.check(raw, index)
            if _is_comment(raw):
                continue
            if not raw.strip():
                has_empty_continuation = True
                continue
            continuation, done = directives.trim_continuation(raw)
            line += continuation
        if has_empty_continuation:
            warnings.append("[WARNING]: Empty continuation line found in:\n    " + line)
        logical.append(LogicalLine(line, start, index))
    if warnings:
        warnings.append("[WARNING]: Empty continuation lines will become errors in a future release.")
    return Source(tuple(logical), directives.escape, tuple(warnings), len(physical))


__all__ = ["LogicalLine", "Source", "read_lines"]
