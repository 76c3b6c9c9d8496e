"""Tests for wharf_common.dockerfile.substitution: Docker's shell-lex word expansion."""

from __future__ import annotations

import pytest
from wharf_common.dockerfile import SubstitutionError, expand, expand_words
from wharf_common.errors import InvalidArgument

ENV = {"PWD": "/home", "SHELL": "bash", "KOREAN": "한국어", "NULL": "", "FOO": "xxx", "BAR": ""}


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("plain", "plain"),
        ("$PWD", "/home"),
        ("${PWD}", "/home"),
        ("${PWD}/sub", "/home/sub"),
        ("$PWD/sub", "/home/sub"),
        ("$PWDsuffix", ""),
        ("x$KOREAN", "x한국어"),
        ("$UNDEFINED", ""),
        ("${UNDEFINED}", ""),
        ("a$UNDEFINED-b", "a-b"),
        ("$", "$"),
        ("a$ b", "a$ b"),
        ("$/x", "$/x"),
        ("${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}", "xxx bbb ccc"),
        ("${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", "xxx  ccc"),
        ("${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}", "aaa  "),
        ("${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}", "aaa bbb "),
        ("${FOO:-}", "xxx"),
        ("${BAZ:-}", ""),
        ("${BAZ:-$PWD/x}", "/home/x"),
        ("${BAZ:-${SHELL:-sh}}", "bash"),
        ("${BAZ:-a b}", "a b"),
        ("${BAZ:-'$PWD'}", "$PWD"),
        ("${FOO?aaa}", "xxx"),
        ("${BAR?bbb}", ""),
        ("${FOO:?aaa}", "xxx"),
        ("$1", ""),
        ("${1}", ""),
    ],
)
def test_expand_substitutes_variables(word: str, expected: str) -> None:
    assert expand(word, ENV) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("'$PWD'", "$PWD"),
        ("'a \\ b'", "a \\ b"),
        ('"$PWD"', "/home"),
        ('"a  b"', "a  b"),
        ('"it\'s"', "it's"),
        ("'say \"hi\"'", 'say "hi"'),
        ('"a\\"b"', 'a"b'),
        ('"a\\$PWD"', "a$PWD"),
        ('"a\\\\b"', "a\\b"),
        ('"a\\nb"', "a\\nb"),
        ("\\$PWD", "$PWD"),
        ("a\\ b", "a b"),
        ("a\\nb", "anb"),
        ("a\\", "a"),
        ("\\'x\\'", "'x'"),
        ('he"llo wo"rld', "hello world"),
        ("''", ""),
    ],
)
def test_expand_removes_quotes_and_escapes(word: str, expected: str) -> None:
    assert expand(word, ENV) == expected


def test_expand_uses_the_backtick_escape_and_keeps_backslashes() -> None:
    assert expand("C:\\Windows\\$SHELL", ENV, escape="`") == "C:\\Windows\\bash"
    assert expand("`$SHELL", ENV, escape="`") == "$SHELL"
    assert expand('"a`"b"', ENV, escape="`") == 'a"b'


@pytest.mark.parametrize(
    ("word", "message"),
    [
        ("${PWD", "syntax error: missing '}'"),
        ("${", "syntax error: missing '}'"),
        ("${}", "syntax error: bad substitution"),
        ("${:-x}", "syntax error: bad substitution"),
        ("${FOO:-x", "syntax error: missing '}'"),
        ("${FOO=x}", "unsupported modifier (=) in substitution"),
        ("${FOO#x}", "unsupported modifier (#) in substitution"),
        ("${FOO:=x}", "unsupported modifier (:=) in substitution"),
        ("'abc", "unexpected end of statement while looking for matching single-quote"),
        ('"abc', "unexpected end of statement while looking for matching double-quote"),
        ("${BAZ?must be set}", "BAZ: must be set"),
        ("${BAZ?}", "BAZ: is not allowed to be unset"),
        ("${BAR:?}", "BAR: is not allowed to be empty"),
        ("${BAZ:?no $SHELL}", "BAZ: no bash"),
    ],
)
def test_expand_rejects_malformed_words(word: str, message: str) -> None:
    with pytest.raises(SubstitutionError) as caught:
        expand(word, ENV)
    assert caught.value.message == f'failed to process "{word}": {message}'
    assert caught.value.line is None
    assert isinstance(caught.value, InvalidArgument)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("80 443", ["80", "443"]),
        ("  80\t443  ", ["80", "443"]),
        ("$PORTS", ["80", "443/udp"]),
        ('"$PORTS"', ["80   443/udp"]),
        ("'a b' c", ["a b", "c"]),
        ("a\\ b c", ["a b", "c"]),
        ('"" x', ["x"]),
        ("x${NONE}y z", ["xy", "z"]),
        ("", []),
    ],
)
def test_expand_words_splits_on_unquoted_whitespace(text: str, expected: list[str]) -> None:
    assert expand_words(text, {"PORTS": "80   443/udp"}) == expected


def test_expand_keeps_whitespace_that_expand_words_splits() -> None:
    env = {"V": " a  b "}
    assert expand("x${V}y", env) == "x a  b y"
    assert expand_words("x${V}y", env) == ["x", "a", "b", "y"]


def test_expand_rejects_an_escape_of_more_than_one_character() -> None:
    with pytest.raises(ValueError, match="escape"):
        expand("x", {}, escape="ab")
