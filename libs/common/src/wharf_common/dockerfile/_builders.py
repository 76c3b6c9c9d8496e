"""One logical line to one typed instruction: the argument rules of each keyword.

A port of the classic builder's ``line_parsers.go`` (how the arguments are
split) and ``instructions/parse.go`` (what each instruction accepts), with
Docker's messages. Errors are :class:`DockerfileSyntaxError` at the line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from wharf_common.dockerfile._duration import parse_duration
from wharf_common.dockerfile._words import (
    FlagError,
    NotStringArray,
    parse_flags,
    parse_json,
    parse_words,
    split_command,
    split_whitespace,
)
from wharf_common.dockerfile.errors import DockerfileSyntaxError
from wharf_common.dockerfile.instructions import (
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Instruction,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    StopSignal,
    User,
    Volume,
    Workdir,
)

_STAGE_NAME_RE = re.compile(r"[a-z][a-z0-9-_.]*")
_ONBUILD_PREFIX_RE = re.compile(r"^\s*ONBUILD\s*", re.IGNORECASE)
_HEALTHCHECK_RE = re.compile(r"(\S+)\s*(.*)", re.DOTALL)
_INTEGER_RE = re.compile(r"[+-]?[0-9]+")
_MINIMUM_DURATION_NS = 1_000_000


class _Invalid(Exception):
    """An instruction's error; :func:`build_instruction` adds the line."""


@dataclass(frozen=True, slots=True)
class _Request:
    keyword: str
    flags: list[str]
    args: str
    original: str
    line: int
    escape: str

    def flag_values(self, *allowed: str) -> dict[str, str]:
        try:
            return parse_flags(self.flags, allowed)
        except FlagError as exc:
            raise _Invalid(str(exc)) from None

    def json_or_none(self) -> tuple[str, ...] | None:
        try:
            return parse_json(self.args)
        except NotStringArray as exc:
            raise _Invalid(str(exc)) from None

    def one_argument(self) -> str:
        self.flag_values()
        if not self.args:
            raise _Invalid(f"{self.keyword.upper()} requires exactly one argument")
        return self.args

    def list_arguments(self) -> tuple[str, ...]:
        """JSON array, else quote-aware words (COPY, ADD, VOLUME)."""
        parsed = self.json_or_none()
        return parsed if parsed is not None else tuple(parse_words(self.args, self.escape))


def _command_form(request: _Request) -> tuple[tuple[str, ...] | str, bool]:
    request.flag_values()
    parsed = request.json_or_none() if request.args else None
    return (request.args, True) if parsed is None else (parsed, False)


def _from(request: _Request) -> From:
    flags = request.flag_values("platform")
    args = split_whitespace(request.args)
    name: str | None = None
    if len(args) == 3 and args[1].lower() == "as":
        name = args[2].lower()
        if not _STAGE_NAME_RE.fullmatch(name):
            raise _Invalid(
                f'invalid name for build stage: "{args[2]}", '
                "name can't start with a number or contain symbols"
            )
    elif len(args) != 1:
        raise _Invalid("FROM requires either one or three arguments")
    return From(
        image=args[0], name=name, platform=flags.get("platform"), line=request.line, original=request.original
    )


def _run(request: _Request) -> Run:
    command, shell_form = _command_form(request)
    return Run(command=command, shell_form=shell_form, line=request.line, original=request.original)


def _cmd(request: _Request) -> Cmd:
    command, shell_form = _command_form(request)
    return Cmd(command=command, shell_form=shell_form, line=request.line, original=request.original)


def _entrypoint(request: _Request) -> Entrypoint:
    command, shell_form = _command_form(request)
    return Entrypoint(command=command, shell_form=shell_form, line=request.line, original=request.original)


def _shell(request: _Request) -> Shell:
    command, _ = _command_form(request)
    if command == () or command == "":
        raise _Invalid("SHELL requires at least one argument")
    if isinstance(command, str):
        raise _Invalid("SHELL requires the arguments to be in JSON form")
    return Shell(shell=command, line=request.line, original=request.original)


def _pairs(request: _Request) -> tuple[tuple[str, str], ...]:
    """ENV and LABEL: ``K V`` (the rest of the line is the value) or ``K=V ...``."""
    request.flag_values()
    keyword = request.keyword.upper()
    words = parse_words(request.args, request.escape)
    if not words:
        raise _Invalid(f"{keyword} requires at least one argument")
    if "=" not in words[0]:
        parts = re.split(r"[\t\v\f\r ]+", request.args, maxsplit=1)
        if len(parts) < 2:
            raise _Invalid(f"{keyword} must have two arguments")
        pairs = [(parts[0], parts[1])]
    else:
        pairs = []
        for word in words:
            if "=" not in word:
                raise _Invalid(f'Syntax error - can\'t find = in "{word}". Must be of the form: name=value')
            key, _, value = word.partition("=")
            pairs.append((key, value))
    if any(not key for key, _ in pairs):
        raise _Invalid(f"{keyword} names can not be blank")
    return tuple(pairs)


def _env(request: _Request) -> Env:
    return Env(pairs=_pairs(request), line=request.line, original=request.original)


def _label(request: _Request) -> Label:
    return Label(pairs=_pairs(request), line=request.line, original=request.original)


def _expose(request: _Request) -> Expose:
    request.flag_values()
    ports = split_whitespace(request.args)
    if not ports:
        raise _Invalid("EXPOSE requires at least one argument")
    return Expose(ports=tuple(ports), line=request.line, original=request.original)


def _arg(request: _Request) -> Arg:
    request.flag_values()
    words = parse_words(request.args, request.escape)
    if not words:
        raise _Invalid("ARG requires at least one argument")
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        name, sep, default = word.partition("=")
        if not name:
            raise _Invalid("ARG names can not be blank")
        pairs.append((name, default if sep else None))
    return Arg(pairs=tuple(pairs), line=request.line, original=request.original)


def _workdir(request: _Request) -> Workdir:
    return Workdir(path=request.one_argument(), line=request.line, original=request.original)


def _user(request: _Request) -> User:
    return User(user=request.one_argument(), line=request.line, original=request.original)


def _stopsignal(request: _Request) -> StopSignal:
    return StopSignal(signal=request.one_argument(), line=request.line, original=request.original)


def _maintainer(request: _Request) -> Maintainer:
    return Maintainer(name=request.one_argument(), line=request.line, original=request.original)


def _volume(request: _Request) -> Volume:
    request.flag_values()
    paths = request.list_arguments() if request.args else ()
    if not paths:
        raise _Invalid("VOLUME requires at least one argument")
    if any(not path.strip() for path in paths):
        raise _Invalid("VOLUME specified can not be an empty string")
    return Volume(paths=tuple(path.strip() for path in paths), line=request.line, original=request.original)


def _sources_and_dest(request: _Request) -> tuple[tuple[str, ...], str]:
    args = request.list_arguments()
    if len(args) < 2:
        raise _Invalid(
            f"{request.keyword.upper()} requires at least two arguments, but only one was provided. "
            "Destination could not be determined"
        )
    return args[:-1], args[-1]


def _copy(request: _Request) -> Copy:
    flags = request.flag_values("from", "chown", "chmod")
    sources, dest = _sources_and_dest(request)
    return Copy(
        sources=sources,
        dest=dest,
        from_stage=flags.get("from"),
        chown=flags.get("chown"),
        chmod=flags.get("chmod"),
        line=request.line,
        original=request.original,
    )


def _add(request: _Request) -> Add:
    flags = request.flag_values("chown", "chmod")
    sources, dest = _sources_and_dest(request)
    return Add(
        sources=sources,
        dest=dest,
        chown=flags.get("chown"),
        chmod=flags.get("chmod"),
        line=request.line,
        original=request.original,
    )


def _interval(flags: dict[str, str], name: str) -> int:
    text = flags.get(name, "")
    if not text:
        return 0
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None
    if value < _MINIMUM_DURATION_NS:
        raise _Invalid(f'Interval "{name}" cannot be less than 1ms')
    return value


def _retries(text: str | None) -> int:
    if not text:
        return 0
    if not _INTEGER_RE.fullmatch(text):
        raise _Invalid(f'strconv.ParseInt: parsing "{text}": invalid syntax')
    retries = int(text)
    if retries < 1:
        raise _Invalid(f"--retries must be at least 1 (not {retries})")
    return retries


def _healthcheck(request: _Request) -> Healthcheck:
    match = _HEALTHCHECK_RE.fullmatch(request.args)
    if match is None:
        raise _Invalid("HEALTHCHECK requires at least one argument")
    kind, rest = match[1].upper(), match[2]
    if kind == "NONE":
        if rest:
            raise _Invalid("HEALTHCHECK NONE takes no arguments")
        return Healthcheck(test=("NONE",), line=request.line, original=request.original)
    flags = request.flag_values("interval", "timeout", "start-period", "retries")
    if kind != "CMD":
        raise _Invalid(f'Unknown type "{kind}" in HEALTHCHECK (try CMD)')
    try:
        parsed = parse_json(rest) if rest else None
    except NotStringArray as exc:
        raise _Invalid(str(exc)) from None
    test = ("CMD-SHELL", rest) if parsed is None else ("CMD", *parsed)
    if not rest or parsed == ():
        raise _Invalid("Missing command after HEALTHCHECK CMD")
    return Healthcheck(
        test=test,
        interval_ns=_interval(flags, "interval"),
        timeout_ns=_interval(flags, "timeout"),
        start_period_ns=_interval(flags, "start-period"),
        retries=_retries(flags.get("retries")),
        line=request.line,
        original=request.original,
    )


def _onbuild(request: _Request) -> Onbuild:
    request.flag_values()
    if not request.args:
        raise _Invalid("ONBUILD requires at least one argument")
    trigger_keyword = split_command(request.args)[0].upper()
    if trigger_keyword == "ONBUILD":
        raise _Invalid("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger_keyword in ("MAINTAINER", "FROM"):
        raise _Invalid(f"{trigger_keyword} isn't allowed as an ONBUILD trigger")
    expression = _ONBUILD_PREFIX_RE.sub("", request.original, count=1)
    trigger = _build(expression, request.line, request.escape)
    return Onbuild(instruction=expression, trigger=trigger, line=request.line, original=request.original)


_BUILDERS: dict[str, Callable[[_Request], Instruction]] = {
    "add": _add,
    "arg": _arg,
    "cmd": _cmd,
    "copy": _copy,
    "entrypoint": _entrypoint,
    "env": _env,
    "expose": _expose,
    "from": _from,
    "healthcheck": _healthcheck,
    "label": _label,
    "maintainer": _maintainer,
    "onbuild": _onbuild,
    "run": _run,
    "shell": _shell,
    "stopsignal": _stopsignal,
    "user": _user,
    "volume": _volume,
    "workdir": _workdir,
}


def _build(text: str, line: int, escape: str) -> Instruction:
    keyword, flags, args = split_command(text)
    builder = _BUILDERS.get(keyword.lower())
    if builder is None:
        raise _Invalid(f"unknown instruction: {keyword.upper()}")
    return builder(_Request(keyword, flags, args, text.strip(), line, escape))


def build_instruction(text: str, line: int, escape: str) -> Instruction:
    """The instruction of one logical line; raises :class:`DockerfileSyntaxError`."""
    try:
        return _build(text, line, escape)
    except _Invalid as exc:
        raise DockerfileSyntaxError(str(exc), line=line) from None


__all__ = ["build_instruction"]
