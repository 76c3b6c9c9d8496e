"""Go value printing (``%v``) and the functions available to ``--format`` templates."""

from __future__ import annotations

from _collections_abc import Mapping  # collections.abc's, without importing collections

from wharf_client import lean as json

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see wharf_client.lean)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class _Missing:
    """Go's invalid ``reflect.Value``: a missing map key prints as ``<no value>``."""

    def __repr__(self) -> str:
        return "<no value>"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


def go_float(value: float) -> str:
    """``%v`` of a float64 (integral values print without a fraction, as typed ints would)."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        exp = int(exponent)
        return f"{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    return text


def go_format(value: Any, top: bool = True) -> str:
    """Format a value as Go's ``fmt`` ``%v`` would for decoded JSON."""
    if value is MISSING:
        return "<no value>"
    if value is None:
        return "<no value>" if top else "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        items = " ".join(
            f"{go_format(k, False)}:{go_format(value[k], False)}" for k in sorted(value, key=str)
        )
        return f"map[{items}]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_format(item, False) for item in value) + "]"
    return str(value)


def truth(value: Any) -> bool:
    if value is MISSING or value is None:
        return False
    if isinstance(value, bool | int | float | str | list | tuple | dict):
        return bool(value)
    return True


def _json(value: Any) -> str:
    return json.dumps(None if value is MISSING else value, ensure_ascii=False, separators=(",", ":"))


def _index(value: Any, *keys: Any) -> Any:
    for key in keys:
        if value is MISSING or value is None:
            return MISSING
        if isinstance(value, Mapping):
            value = value.get(key, MISSING)
        elif isinstance(value, list | tuple | str):
            try:
                value = value[int(key)]
            except (IndexError, ValueError):
                from .templates import TemplateError

                raise TemplateError(f"error calling index: index out of range: {key}") from None
        else:
            value = getattr(value, str(key), MISSING)
    return value


def _len(value: Any) -> int:
    return 0 if value is MISSING or value is None else len(value)


def _print(*args: Any) -> str:
    # Go's Sprint adds spaces between operands when neither is a string
    out = ""
    for index, arg in enumerate(args):
        if index and not isinstance(arg, str) and not isinstance(args[index - 1], str):
            out += " "
        out += go_format(arg, False)
    return out


def _printf(fmt: str, *args: Any) -> str:
    import re

    values = iter(args)

    def substitute(match: re.Match[str]) -> str:
        verb = match.group(2)
        if verb == "%":
            return "%"
        value = next(values, MISSING)
        if verb == "q":
            return json.dumps(go_format(value, False), ensure_ascii=False)
        if verb in "dfegx" and isinstance(value, int | float) and not isinstance(value, bool):
            return ("%" + match.group(1) + verb) % value
        return ("%" + match.group(1) + "s") % go_format(value, False)

    return re.sub(r"%([-+ #0]*\d*(?:\.\d+)?)([a-zA-Z%])", substitute, fmt)


def _pad(value: str, left: int, right: int) -> str:
    return " " * left + value + " " * right


def _truncate(value: str, length: int) -> str:
    return value[:length]


def _cmp(op: Callable[[Any, Any], bool]) -> Callable[..., bool]:
    def compare(a: Any, *others: Any) -> bool:
        return any(op(a, b) for b in others) if op is _eq else all(op(a, b) for b in others)

    return compare


def _eq(a: Any, b: Any) -> bool:
    return bool(a == b)


def _and(*args: Any) -> Any:
    for arg in args:
        if not truth(arg):
            return arg
    return args[-1] if args else MISSING


def _or(*args: Any) -> Any:
    for arg in args:
        if truth(arg):
            return arg
    return args[-1] if args else MISSING


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "json": _json,
    "join": lambda items, sep: sep.join(go_format(i, False) for i in (items or [])),
    "split": lambda value, sep: value.split(sep),
    "lower": lambda value: go_format(value).lower(),
    "upper": lambda value: go_format(value).upper(),
    "title": lambda value: go_format(value).title(),
    "pad": _pad,
    "truncate": _truncate,
    "index": _index,
    "len": _len,
    "print": _print,
    "printf": _printf,
    "println": lambda *args: " ".join(go_format(a, False) for a in args) + "\n",
    "not": lambda value: not truth(value),
    "and": _and,
    "or": _or,
    "eq": _cmp(_eq),
    "ne": _cmp(lambda a, b: a != b),
    "lt": _cmp(lambda a, b: a < b),
    "le": _cmp(lambda a, b: a <= b),
    "gt": _cmp(lambda a, b: a > b),
    "ge": _cmp(lambda a, b: a >= b),
}
