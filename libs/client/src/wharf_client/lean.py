"""Stand-ins for the standard modules that cost the most at ``wharf``'s start-up, for its hot path.

- ``TYPE_CHECKING = False`` at the top of a module stands for ``from typing import TYPE_CHECKING``
  (mypy and ruff treat both alike): ``typing`` imports ``re``, ``collections``, ``functools`` and
  ``contextlib``, several milliseconds before a command's first request.
- :class:`NamedTuple` is ``typing.NamedTuple``'s class syntax (fields from the annotations, defaults,
  methods and properties kept), built without ``typing`` or ``collections``; mypy sees
  ``typing.NamedTuple``.
- :func:`loads` and :func:`dumps` are ``json.loads`` and ``json.dumps``, see below.

The ``json`` package costs more to import than its C core: ``json.decoder`` and ``json.scanner``
import ``re`` (and ``re`` brings ``enum``, ``functools`` and ``collections``). Every ``wharf`` command
decodes a response, so this module drives ``_json``'s scanner and encoder with the settings the
package's defaults give them. What the fast path does not handle (a malformed document, bytes that are
not plain UTF-8, an object that is not JSON-serialisable) goes to the ``json`` package itself, so
results and errors are the package's, byte for byte.
"""

from __future__ import annotations

import _json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
    from typing import NamedTuple as NamedTuple  # what mypy sees (re-exported)

_WHITESPACE = " \t\n\r"
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _Context:
    """What ``_json.make_scanner`` reads from a ``JSONDecoder()``: its defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


def _not_serialisable(value: object) -> object:
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


_scan = _json.make_scanner(_Context())  # type: ignore[arg-type]  # the C scanner reads the attributes


def loads(data: bytes | str) -> Any:
    """``json.loads(data)``."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        return _package_loads(data)
    if text[:1] == "\ufeff" or "\x00" in text[:4]:  # a BOM or UTF-16/32: the package's business
        return _package_loads(data)
    text = text.strip(_WHITESPACE)
    try:
        value, end = _scan(text, 0)
    except Exception:  # StopIteration or a decode error: let the package word it
        return _package_loads(data)
    if end != len(text):
        return _package_loads(data)
    return value


def dumps(value: Any, *, ensure_ascii: bool = True, separators: tuple[str, str] = (", ", ": ")) -> str:
    """``json.dumps(value, ensure_ascii=ensure_ascii, separators=separators)``."""
    encode_string = _json.encode_basestring_ascii if ensure_ascii else _json.encode_basestring
    if isinstance(value, str):
        return str(encode_string(value))
    item_separator, key_separator = separators
    encoder = _json.make_encoder(
        {},  # markers: circular references are detected, as by default
        _not_serialisable,
        encode_string,
        None,  # indent
        key_separator,
        item_separator,
        False,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan
    )
    try:
        return "".join(encoder(value, 0))
    except (TypeError, ValueError, RecursionError):  # the package raises it with its own words
        return _package_dumps(value, ensure_ascii, separators)


def _package_loads(data: bytes | str) -> Any:
    import json

    return json.loads(data)


def _package_dumps(value: Any, ensure_ascii: bool, separators: tuple[str, str]) -> str:
    import json

    return json.dumps(value, ensure_ascii=ensure_ascii, separators=separators)


# -- NamedTuple ----------------------------------------------------------------------------------
# typing.NamedTuple refuses these names as fields or attributes
_PROHIBITED = frozenset(
    {
        "__new__",
        "__init__",
        "__slots__",
        "__getnewargs__",
        "_fields",
        "_field_defaults",
        "_make",
        "_replace",
        "_asdict",
        "_source",
    }
)
_SPECIAL = frozenset({"__module__", "__name__", "__annotations__", "__qualname__"})


def _build_record(typename: str, namespace: dict[str, Any]) -> type:
    """What ``typing.NamedTuple`` makes of a class body: ``collections.namedtuple``'s class."""
    from _collections import _tuplegetter  # type: ignore[import-not-found]

    fields = tuple(namespace.get("__annotations__", {}))
    defaults = []
    for name in fields:
        if name.startswith("_"):
            raise ValueError(f"Field names cannot start with an underscore: {name!r}")
        if name in namespace:
            defaults.append(namespace[name])
        elif defaults:
            raise TypeError(
                f"Non-default namedtuple field {name} cannot follow default field"
                f"{'s' if len(defaults) > 1 else ''} {', '.join(fields[: len(defaults)])}"
            )
    arguments = ", ".join(fields)
    code = f"lambda _cls, {arguments}: _tuple_new(_cls, ({arguments}{',' if len(fields) == 1 else ''}))"
    new = eval(code, {"_tuple_new": tuple.__new__, "__builtins__": {}}, {})
    new.__name__ = "__new__"
    new.__doc__ = f"Create new instance of {typename}({arguments})"
    if defaults:
        new.__defaults__ = tuple(defaults)
    repr_format = "(" + ", ".join(f"{name}=%r" for name in fields) + ")"

    def __repr__(self: tuple[Any, ...]) -> str:
        return self.__class__.__name__ + repr_format % self

    def _asdict(self: tuple[Any, ...]) -> dict[str, Any]:
        return dict(zip(fields, self, strict=True))

    def __getnewargs__(self: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(self)

    def _make(cls: type, iterable: Any) -> Any:
        result: tuple[Any, ...] = tuple.__new__(cls, iterable)
        if len(result) != len(fields):
            raise TypeError(f"Expected {len(fields)} arguments, got {len(result)}")
        return result

    def _replace(self: Any, /, **changes: Any) -> Any:
        result = self._make(map(changes.pop, fields, self))
        if changes:
            raise ValueError(f"Got unexpected field names: {list(changes)!r}")
        return result

    body: dict[str, Any] = {
        "__doc__": f"{typename}({arguments})",
        "__slots__": (),
        "_fields": fields,
        "_field_defaults": dict(zip(fields[len(fields) - len(defaults) :], defaults, strict=True)),
        "__new__": staticmethod(new),
        "_make": classmethod(_make),
        "_replace": _replace,
        "__repr__": __repr__,
        "_asdict": _asdict,
        "__getnewargs__": __getnewargs__,
        "__match_args__": fields,
        "__annotations__": dict(namespace.get("__annotations__", {})),
        "__module__": namespace.get("__module__", __name__),
        "__qualname__": namespace.get("__qualname__", typename),
    }
    for index, name in enumerate(fields):
        body[name] = _tuplegetter(index, f"Alias for field number {index}")
    record = type(typename, (tuple,), body)
    for key, value in namespace.items():
        if key in _PROHIBITED:
            raise AttributeError("Cannot overwrite NamedTuple attribute " + key)
        if key not in _SPECIAL and key not in fields:
            setattr(record, key, value)
    for method in (new, __repr__, _asdict, __getnewargs__, _make, _replace):
        method.__qualname__ = f"{record.__qualname__}.{method.__name__}"
    return record


class _RecordMeta(type):
    def __new__(cls, typename: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> Any:
        return _build_record(typename, namespace)


if not TYPE_CHECKING:
    NamedTuple = type.__new__(_RecordMeta, "NamedTuple", (), {"__module__": __name__})
