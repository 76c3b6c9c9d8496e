"""Docker's word expansion: ``$VAR``, ``${VAR:-word}``, quotes and escapes.

This is the builder's shell-lex (``buildkit/frontend/dockerfile/shell/lex.go``),
not a shell: it expands variables, removes quotes and escape characters, and
nothing else (no globbing, no command substitution, no arithmetic).

* ``$NAME`` and ``${NAME}`` expand to the value, or to ``""`` when unset;
  ``$`` not followed by a name stays a literal ``$``.
* ``${NAME:-word}`` is ``word`` when NAME is unset or empty, ``${NAME-word}``
  only when unset; ``${NAME:+word}`` is ``word`` when NAME is set and not
  empty (else ``""``), ``${NAME+word}`` when set; ``${NAME:?msg}`` /
  ``${NAME?msg}`` fail with ``NAME: msg``. ``word`` is itself expanded.
* ``'...'`` is literal. ``"..."`` expands ``$``; inside it the escape character
  only escapes ``"``, ``$`` and itself, and is kept before anything else.
* Outside quotes, the escape character (``\\`` or, after ``# escape=`\\```, a
  backtick) makes the next character literal and is removed; a trailing one is
  dropped.

The builder expands ENV, ARG, LABEL, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL,
COPY and ADD with the environment at that step, and the image of FROM with the
ARGs declared before the first FROM. RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK,
MAINTAINER and ONBUILD are left alone: the shell in the container expands the
shell forms at run time, and the exec forms are never expanded.

Docker's newer ``${NAME#pattern}``, ``${NAME%pattern}`` and ``${NAME/a/b}``
(BuildKit only) are refused with ``unsupported modifier``.
"""

from __future__ import annotations

from collections.abc import Mapping

from wharf_common.dockerfile.errors import SubstitutionError

_SPECIAL_PARAMETERS = frozenset("@*#?-$!0")


class _Failure(Exception):
    """A lexing failure; :func:`_process` turns it into a :class:`SubstitutionError`."""


class _Words:
    """ProcessWords' splitter: only unquoted, unescaped whitespace separates words."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.word = ""
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if not ch.isspace():
            self.add_raw(ch)
        elif self.in_word and self.word:
            self.words.append(self.word)
            self.word = ""
            self.in_word = False

    def add_raw(self, text: str) -> None:
        self.word += text
        self.in_word = True

    def add_expanded(self, text: str) -> None:
        for ch in text:
            self.add_char(ch)

    def result(self) -> list[str]:
        if self.word:
            self.words.append(self.word)
            self.word = ""
            self.in_word = False
        return self.words


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str], escape: str) -> None:
        self.text = text
        self.pos = 0
        self.env = env
        self.escape = escape

    def peek(self) -> str | None:
        return self.text[self.pos] if self.pos < len(self.text) else None

    def next(self) -> str | None:
        ch = self.peek()
        if ch is not None:
            self.pos += 1
        return ch

    def process_until(self, stop: str | None) -> tuple[str, list[str]]:
        """Process up to ``stop`` (consumed) or, when ``stop`` is None, to the end."""
        result: list[str] = []
        words = _Words()
        while (ch := self.peek()) is not None:
            if ch == stop:
                self.next()
                return "".join(result), words.result()
            if ch == "$":
                value = self.dollar()
                words.add_expanded(value)
            elif ch in "'\"":
                value = self.single_quoted() if ch == "'" else self.double_quoted()
                words.add_raw(value)
            else:
                self.next()
                if ch == self.escape:
                    escaped = self.next()
                    if escaped is None:
                        break
                    value = escaped
                    words.add_raw(value)
                else:
                    value = ch
                    words.add_char(ch)
            result.append(value)
        if stop is not None:
            raise _Failure(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.result()

    def single_quoted(self) -> str:
        self.next()
        chars: list[str] = []
        while (ch := self.next()) != "'":
            if ch is None:
                raise _Failure("unexpected end of statement while looking for matching single-quote")
            chars.append(ch)
        return "".join(chars)

    def double_quoted(self) -> str:
        self.next()
        chars: list[str] = []
        while True:
            ch = self.peek()
            if ch is None:
                raise _Failure("unexpected end of statement while looking for matching double-quote")
            if ch == '"':
                self.next()
                return "".join(chars)
            if ch == "$":
                chars.append(self.dollar())
                continue
            self.next()
            if ch == self.escape:
                following = self.peek()
                if following is None:
                    continue
                if following in ('"', "$", self.escape):
                    ch = following
                    self.next()
            chars.append(ch)

    def name(self) -> str:
        chars: list[str] = []
        while (ch := self.peek()) is not None:
            if not chars and ch.isdecimal():
                while (digit := self.peek()) is not None and digit.isdecimal():
                    chars.append(digit)
                    self.next()
                break
            if not chars and ch in _SPECIAL_PARAMETERS:
                self.next()
                return ch
            if not (ch.isalpha() or ch.isdecimal() or ch == "_"):
                break
            chars.append(ch)
            self.next()
        return "".join(chars)

    def dollar(self) -> str:
        self.next()
        if self.peek() != "{":
            name = self.name()
            return self.env.get(name, "") if name else "$"
        self.next()
        first = self.peek()
        if first is None:
            raise _Failure("syntax error: missing '}'")
        if first in "{}:":
            raise _Failure("syntax error: bad substitution")
        name = self.name()
        ch = self.next()
        if ch is None:
            raise _Failure("syntax error: missing '}'")
        if ch == "}":
            return self.env.get(name, "")
        modifier = ch
        null_is_unset = ch == ":"
        if null_is_unset:
            ch = self.next() or ""
            modifier += ch
        if ch not in ("-", "+", "?"):
            raise _Failure(f"unsupported modifier ({modifier}) in substitution")
        try:
            word, _ = self.process_until("}")
        except _Failure:
            if self.peek() is None:
                raise _Failure("syntax error: missing '}'") from None
            raise
        return self._modify(name, ch, word, null_is_unset=null_is_unset)

    def _modify(self, name: str, modifier: str, word: str, *, null_is_unset: bool) -> str:
        value = self.env.get(name)
        missing = value is None or (null_is_unset and value == "")
        if modifier == "-":
            return word if missing or value is None else value
        if modifier == "+":
            return "" if missing else word
        if value is None:
            raise _Failure(f"{name}: {word or 'is not allowed to be unset'}")
        if missing:
            raise _Failure(f"{name}: {word or 'is not allowed to be empty'}")
        return value


def _process(text: str, env: Mapping[str, str], escape: str) -> tuple[str, list[str]]:
    if len(escape) != 1:
        raise ValueError(f"escape must be one character, not {escape!r}")
    try:
        return _Lexer(text, env, escape).process_until(None)
    except _Failure as exc:
        raise SubstitutionError(f'failed to process "{text}": {exc}') from None


def expand(word: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """Expand variables in ``word`` and remove its quotes and escapes (``ProcessWord``).

    Whitespace is kept: ``expand('"a  b" c', {})`` is ``"a  b c"``.
    Raises :class:`SubstitutionError` for a malformed word.
    """
    return _process(word, env, escape)[0]


def expand_words(text: str, env: Mapping[str, str], escape: str = "\\") -> list[str]:
    """Expand ``text`` and split it into words (``ProcessWords``).

    Unquoted whitespace separates words, including whitespace that comes from
    a variable's value (``$PORTS`` with ``"80 443"`` gives two words); quoted or
    escaped whitespace does not. Empty words (``""``) are dropped, as Docker does.
    """
    return _process(text, env, escape)[1]


__all__ = ["expand", "expand_words"]
