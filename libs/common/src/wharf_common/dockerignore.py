"""``.dockerignore``: which paths of a build context Docker leaves out.

A port of ``moby/patternmatcher`` (``ignorefile.ReadAll``, ``New`` and
``MatchesOrParentMatches``):

* a line starting with ``#`` (in column 1) is a comment; blank lines are skipped;
  other lines are trimmed, cleaned like Go's ``filepath.Clean`` (``./a/`` is
  ``a``, ``a//b/../c`` is ``a/c``) and lose a leading ``/``;
* ``*`` and ``?`` never match ``/``; ``**`` matches any number of directories
  (zero included, so ``**/*.go`` matches ``main.go``); ``[a-z]`` is a class;
  ``\\`` escapes the next character;
* a pattern that matches a directory matches everything under it;
* ``!pattern`` re-includes what it matches; patterns apply in order and the last
  one that matches decides, so ``*.md`` then ``!README*.md`` then ``README-secret.md``
  keeps every README but the secret one.

Paths are relative to the context root and ``/``-separated. Docker still sends
``.dockerignore`` and the Dockerfile when they are excluded (they are needed to
build, they just do not reach ``COPY``/``ADD``): that is the builder's job, not
this module's.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path, PurePosixPath

from wharf_common.errors import InvalidArgument

_BOM = "\ufeff"
_REGEX_SPECIALS = frozenset(".+()|{}$")


class DockerIgnoreSyntaxError(InvalidArgument):
    """A pattern Docker refuses (``illegal exclusion pattern: "!"``, an unclosed ``[``)."""


def clean_path(path: str) -> str:
    """Go's ``filepath.Clean`` for ``/``-separated paths (``""`` is ``"."``)."""
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part != "..":
            parts.append(part)
        elif parts and parts[-1] != "..":
            parts.pop()
        elif not rooted:
            parts.append("..")
    cleaned = "/".join(parts)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


def read_patterns(text: str) -> list[str]:
    """The patterns of a ``.dockerignore`` file, as ``ignorefile.ReadAll`` returns them."""
    patterns: list[str] = []
    for number, raw in enumerate(text.split("\n")):
        line = raw.removesuffix("\r")
        line = line.removeprefix(_BOM) if number == 0 else line
        if line.startswith("#"):
            continue
        pattern = line.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = clean_path(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        patterns.append("!" + pattern if invert else pattern)
    return patterns


def _class_char(pattern: str, pos: int) -> int:
    """Go's ``getEsc``: the position after one character of a ``[...]`` range."""
    if pos >= len(pattern) or pattern[pos] in "-]":
        raise ValueError
    if pattern[pos] == "\\":
        pos += 1
        if pos >= len(pattern):
            raise ValueError
    pos += 1
    if pos >= len(pattern):
        raise ValueError
    return pos


def _validate(pattern: str) -> None:
    """Refuse what Go's ``filepath.Match`` calls ``ErrBadPattern`` (``[``, ``[]a]``, ``[x-]``, ``a\\``)."""
    pos = 0
    try:
        while pos < len(pattern):
            if pattern[pos] == "\\":
                if pos + 1 >= len(pattern):
                    raise ValueError
                pos += 2
            elif pattern[pos] == "[":
                pos += 1
                if pattern[pos : pos + 1] == "^":
                    pos += 1
                ranges = 0
                while not (pattern[pos : pos + 1] == "]" and ranges > 0):
                    pos = _class_char(pattern, pos)
                    if pattern[pos] == "-":
                        pos = _class_char(pattern, pos + 1)
                    ranges += 1
                pos += 1
            else:
                pos += 1
    except ValueError:
        raise DockerIgnoreSyntaxError(f'syntax error in pattern: "{pattern}"') from None


class _Kind(Enum):
    EXACT = "exact"
    PREFIX = "prefix"
    SUFFIX = "suffix"
    REGEX = "regex"


def _compile(pattern: str) -> tuple[_Kind, re.Pattern[str] | None]:
    """``Pattern.compile`` of patternmatcher: a kind, and the regex for ``REGEX``."""
    regex = "^"
    kind = _Kind.EXACT
    pos = 0
    while pos < len(pattern):
        first = pos == 0
        ch = pattern[pos]
        pos += 1
        if ch == "*":
            if pattern[pos : pos + 1] == "*":
                pos += 1
                if pattern[pos : pos + 1] == "/":
                    pos += 1
                if pos == len(pattern):
                    if kind is _Kind.EXACT:
                        kind = _Kind.PREFIX
                    else:
                        regex += ".*"
                        kind = _Kind.REGEX
                else:
                    regex += "(.*/)?"
                    kind = _Kind.REGEX
                if first:
                    kind = _Kind.SUFFIX
            else:
                regex += "[^/]*"
                kind = _Kind.REGEX
        elif ch == "?":
            regex += "[^/]"
            kind = _Kind.REGEX
        elif ch in _REGEX_SPECIALS:
            regex += "\\" + ch
        elif ch == "\\":
            if pos < len(pattern):
                regex += re.escape(pattern[pos])
                pos += 1
                kind = _Kind.REGEX
            else:
                regex += "\\\\"
        elif ch in "[]":
            regex += ch
            kind = _Kind.REGEX
        else:
            regex += ch
    if kind is not _Kind.REGEX:
        return kind, None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return kind, re.compile(regex + r"\Z")
    except re.error:
        raise DockerIgnoreSyntaxError(f'syntax error in pattern: "{pattern}"') from None


@dataclass(frozen=True, slots=True)
class IgnorePattern:
    """One cleaned pattern; ``exclusion`` for a ``!`` line (which re-includes)."""

    pattern: str
    exclusion: bool
    _kind: _Kind = field(init=False, repr=False, compare=False)
    _regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _validate(self.pattern)
        kind, regex = _compile(self.pattern)
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_regex", regex)

    def match(self, path: str) -> bool:
        """Whether the pattern matches exactly ``path`` (no parent matching)."""
        if self._kind is _Kind.EXACT:
            return path == self.pattern
        if self._kind is _Kind.PREFIX:
            return path.startswith(self.pattern[:-2])
        if self._kind is _Kind.SUFFIX:
            suffix = self.pattern[2:]
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        assert self._regex is not None
        return self._regex.match(path) is not None

    def could_match_under(self, directory: str) -> bool:
        """Whether some path strictly under ``directory`` might match (True when unsure)."""
        inside = directory + "/"
        if self._kind is _Kind.SUFFIX:
            return True
        if self._kind is _Kind.PREFIX:
            stem = self.pattern[:-2]
            return stem.startswith(inside) or inside.startswith(stem)
        if self._kind is _Kind.EXACT:
            return self.pattern.startswith(inside)
        if any(special in self.pattern for special in ("**", "[", "\\")):
            return True
        segments = self.pattern.split("/")
        directory_segments = directory.split("/")
        if len(segments) <= len(directory_segments):
            return False
        return all(
            IgnorePattern(segment, exclusion=False).match(name)
            for segment, name in zip(segments, directory_segments, strict=False)
        )


def _relative(path: str) -> str:
    cleaned = clean_path(path)
    return cleaned.lstrip("/") or "."


@dataclass(frozen=True, slots=True)
class DockerIgnore:
    """The patterns of a ``.dockerignore``, in order."""

    patterns: tuple[IgnorePattern, ...] = ()

    @classmethod
    def from_text(cls, text: str) -> DockerIgnore:
        """Parse the content of a ``.dockerignore`` file."""
        return cls.from_patterns(read_patterns(text))

    @classmethod
    def from_patterns(cls, lines: Iterable[str]) -> DockerIgnore:
        """Build from pattern strings (``!`` for exceptions), as ``patternmatcher.New`` does."""
        patterns: list[IgnorePattern] = []
        for line in lines:
            text = line.strip()
            if not text:
                continue
            text = clean_path(text)
            exclusion = text.startswith("!")
            if exclusion:
                if len(text) == 1:
                    raise DockerIgnoreSyntaxError('illegal exclusion pattern: "!"')
                text = text[1:]
            patterns.append(IgnorePattern(text, exclusion))
        return cls(tuple(patterns))

    @property
    def has_exclusions(self) -> bool:
        """Whether any ``!`` pattern exists (else an excluded directory can always be skipped)."""
        return any(pattern.exclusion for pattern in self.patterns)

    def matches(self, path: str) -> bool:
        """Whether ``path`` (relative to the context root) is excluded from the context.

        A path is excluded when a pattern matches it or one of its parent
        directories, unless a later ``!`` pattern matches it (or a parent) again.
        The context root itself (``.``) is never excluded.
        """
        path = _relative(path)
        if path == ".":
            return False
        parents = path.split("/")[:-1]
        matched = False
        for pattern in self.patterns:
            if pattern.exclusion != matched:
                continue
            match = pattern.match(path) or any(
                pattern.match("/".join(parents[: depth + 1])) for depth in range(len(parents))
            )
            if match:
                matched = not pattern.exclusion
        return matched

    def excludes_dir_entirely(self, directory: str) -> bool:
        """Whether a walker may skip ``directory`` without looking inside.

        True when the directory is excluded and no ``!`` pattern can re-include
        anything under it. (Docker's own walker only looks for ``!`` patterns
        that start with the directory's path, so it skips ``dir`` in spite of
        ``!**/keep``; this check keeps walking in that case.)
        """
        directory = _relative(directory)
        if not self.matches(directory):
            return False
        return not any(pattern.could_match_under(directory) for pattern in self.patterns if pattern.exclusion)


def walk_context(root: Path, ignore: DockerIgnore) -> Iterator[Path]:
    """Yield the relative paths of the context under ``root`` that ``ignore`` keeps.

    Order is lexical per directory, parents before children, as ``filepath.Walk``.
    Symlinks are yielded as themselves and never followed, so the walk never
    leaves ``root``. An excluded directory is not yielded, but it is still
    entered when a ``!`` pattern may re-include something in it, in which case
    the re-included paths are yielded without their excluded parents (Docker's
    tar has no entry for them either).
    """
    yield from _walk(root, PurePosixPath(), ignore)


def context_paths(root: Path, always: Iterable[str] = ()) -> Iterator[Path]:
    """What ``docker build ROOT`` sends, relative to ``root``: the paths its ``.dockerignore``
    keeps (:func:`walk_context`), then each of ``always`` (the Dockerfile, ``.dockerignore``)
    that it left out and that is a file, as the docker CLI always sends those."""
    ignore_file = root / ".dockerignore"
    ignore = DockerIgnore.from_text(ignore_file.read_text() if ignore_file.is_file() else "")
    sent = set()
    for relative in walk_context(root, ignore):
        sent.add(str(relative))
        yield relative
    for forced in sorted(set(always) - sent):
        if (root / forced).is_file():
            yield Path(forced)


def _walk(root: Path, relative: PurePosixPath, ignore: DockerIgnore) -> Iterator[Path]:
    with os.scandir(root / relative) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    for entry in entries:
        path = relative / entry.name
        is_dir = entry.is_dir(follow_symlinks=False)
        if not ignore.matches(path.as_posix()):
            yield Path(path)
        elif not is_dir or ignore.excludes_dir_entirely(path.as_posix()):
            continue
        if is_dir:
            yield from _walk(root, path, ignore)


__all__ = [
    "DockerIgnore",
    "DockerIgnoreSyntaxError",
    "IgnorePattern",
    "clean_path",
    "context_paths",
    "read_patterns",
    "walk_context",
]
