"""Command lines of the fast commands, parsed as click parses them, or not at all.

:func:`parse` follows click's parser (``typer._click.parser``) for the plain cases: long options
with ``--name value`` or ``--name=value``, short options alone, grouped (``-it``) or with the value
attached (``-eA=1``), ``--`` ending the options, and positional arguments interspersed with options or
(``interspersed=False``, as ``run`` and ``exec``) ending them. Whatever it does not accept (an unknown
option, ``--help``, a missing value, a flag given a value, a number that is not one, too few or too
many arguments) gives ``None``, and the command goes to typer, which prints its usual help or error.
So this parser never produces an error of its own: an input is either parsed to the same values
typer would pass, or left to typer.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see wharf_client.lean)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

FLAG, OFF, VALUE, LIST, INT = "flag", "off", "value", "list", "int"


class Spec:
    """A command's options (option string -> (parameter, kind)) and positional arguments.

    ``args`` name the positional parameters in order; a trailing ``*`` takes any number of values
    (``None`` for none, as typer passes), ``+`` one or more.
    """

    __slots__ = ("args", "interspersed", "options")

    def __init__(
        self,
        *,
        flags: Iterable[str] = (),
        values: Iterable[str] = (),
        lists: Iterable[str] = (),
        ints: Iterable[str] = (),
        args: Sequence[str] = (),
        interspersed: bool = True,
    ) -> None:
        self.options: dict[str, tuple[str, str]] = {}
        for kind, groups in ((FLAG, flags), (VALUE, values), (LIST, lists), (INT, ints)):
            for group in groups:
                self._add(group, kind)
        self.args = tuple(args)
        self.interspersed = interspersed

    def _add(self, group: str, kind: str) -> None:
        """``"-d --detach"``; a flag may name its negation: ``"--sig-proxy/--no-sig-proxy"``."""
        on, _, off = group.partition("/")
        names = on.split()
        dest = next(n for n in names if n.startswith("--"))[2:].replace("-", "_")
        for name in names:
            self.options[name] = (dest, kind)
        for name in off.split():
            self.options[name] = (dest, OFF)

    def without(self, *params: str) -> Spec:
        """The same spec less some parameters (``create`` is ``run`` without ``--detach``...)."""
        copy = Spec(args=self.args, interspersed=self.interspersed)
        copy.options = {opt: entry for opt, entry in self.options.items() if entry[0] not in params}
        return copy


class _Fallback(Exception):
    """An input this parser leaves to typer."""


def parse(spec: Spec, argv: Sequence[str]) -> dict[str, object] | None:
    """The keyword arguments typer would pass for ``argv``, or ``None`` to let typer handle it."""
    values: dict[str, object] = {}
    rest = list(argv)
    positional: list[str] = []
    try:
        while rest:
            arg = rest.pop(0)
            if arg == "--":
                break
            if arg[:1] == "-" and len(arg) > 1:
                if arg[:2] == "--":
                    _long(spec, arg, rest, values)
                else:
                    _short(spec, arg, rest, values)
            elif spec.interspersed:
                positional.append(arg)
            else:
                rest.insert(0, arg)
                break
        _arguments(spec, positional + rest, values)
    except _Fallback:
        return None
    return values


def _long(spec: Spec, arg: str, rest: list[str], values: dict[str, object]) -> None:
    name, eq, attached = arg.partition("=")
    entry = spec.options.get(name)
    if entry is None:
        raise _Fallback
    if entry[1] in (FLAG, OFF):
        if eq:
            raise _Fallback
        _store(entry, None, values)
        return
    if eq:
        rest.insert(0, attached)
    _store(entry, _value(rest), values)


def _short(spec: Spec, arg: str, rest: list[str], values: dict[str, object]) -> None:
    # click tries the whole word as a long option first ("-foo"): no fast command declares one
    for index in range(1, len(arg)):
        entry = spec.options.get("-" + arg[index])
        if entry is None:
            raise _Fallback
        if entry[1] in (FLAG, OFF):
            _store(entry, None, values)
            continue
        if index + 1 < len(arg):
            rest.insert(0, arg[index + 1 :])
        _store(entry, _value(rest), values)
        return


def _value(rest: list[str]) -> str:
    if not rest:
        raise _Fallback  # "Option '-e' requires an argument."
    return rest.pop(0)


def _store(entry: tuple[str, str], value: str | None, values: dict[str, object]) -> None:
    dest, kind = entry
    if kind == FLAG:
        values[dest] = True
    elif kind == OFF:
        values[dest] = False
    elif kind == LIST:
        found = values.setdefault(dest, [])
        assert isinstance(found, list)
        found.append(value)
    elif kind == INT:
        try:
            values[dest] = int(str(value))
        except ValueError:
            raise _Fallback from None
    else:
        values[dest] = value


def _arguments(spec: Spec, args: list[str], values: dict[str, object]) -> None:
    for name in spec.args:
        if name.endswith(("*", "+")):
            if name.endswith("+") and not args:
                raise _Fallback
            values[name[:-1]] = list(args) if args else None
            return
        if not args:
            raise _Fallback  # "Missing argument"
        values[name] = args.pop(0)
    if args:
        raise _Fallback  # "Got unexpected extra argument"
