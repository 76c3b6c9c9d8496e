"""Stand-ins for the standard modules that cost the most at ``wharf``'s start-up, for its hot path.

- ``TYPE_CHECKING = False`` at the top of a module stands for ``from typing import TYPE_CHECKING``
  (mypy and ruff treat both alike): ``typing`` imports ``re``, ``collections``, ``functools`` and
  ``contextlib``, several milliseconds before a command's first request.
- :class:`NamedTuple` is ``typing.NamedTuple``'s class syntax (fields from the annotations, defaults,
  methods and properties kept), made as ``collections.namedtuple`` makes it but without importing
  ``collections`` (~1.3 ms: ``operator``, ``keyword``, ``reprlib`` and a dozen classes); mypy sees
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
import sys

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
    """What ``typing.NamedTuple`` makes of a class body, made the way typing makes it: a
    :func:`_namedtuple` class with the body's methods, properties and docstring set on it."""
    annotations = dict(namespace.get("__annotations__", {}))
    fields = tuple(annotations)
    defaults = [namespace[name] for name in fields if name in namespace]
    for position, name in enumerate(fields):
        if name not in namespace and any(f in namespace for f in fields[:position]):
            given = [f for f in fields[:position] if f in namespace]
            raise TypeError(
                f"Non-default namedtuple field {name} cannot follow default field"
                f"{'s' if len(given) > 1 else ''} {', '.join(given)}"
            )
    record = _namedtuple(typename, fields, defaults, namespace.get("__module__", __name__))
    record.__annotations__ = annotations
    record.__qualname__ = namespace.get("__qualname__", typename)
    for key, value in namespace.items():
        if key in _PROHIBITED:
            raise AttributeError("Cannot overwrite NamedTuple attribute " + key)
        if key not in _SPECIAL and key not in fields:
            setattr(record, key, value)
    return record


def _namedtuple(typename: str, fields: tuple[str, ...], defaults: list[Any], module: str) -> type:
    """``collections.namedtuple(typename, fields, defaults=defaults, module=module)`` for the fields of a
    class body (identifiers, never keywords, no duplicates): the same ``__new__`` (compiled, so its
    signature and its errors are namedtuple's), methods, docstrings and C field accessors."""
    # the C field accessor collections uses (the module is built in: nothing else is imported)
    from _collections import _tuplegetter  # type: ignore[import-not-found]  # no stub

    typename = sys.intern(typename)
    for name in fields:
        if name.startswith("_"):
            raise ValueError(f"Field names cannot start with an underscore: {name!r}")
    field_names = tuple(map(sys.intern, fields))
    field_defaults = dict(zip(field_names[len(field_names) - len(defaults) :], defaults, strict=True))
    num_fields = len(field_names)
    arg_list = ", ".join(field_names) + ("," if num_fields == 1 else "")
    repr_fmt = "(" + ", ".join(f"{name}=%r" for name in field_names) + ")"
    tuple_new = tuple.__new__
    scope = {"_tuple_new": tuple_new, "__builtins__": {}, "__name__": f"namedtuple_{typename}"}
    new: Any = eval(f"lambda _cls, {arg_list}: _tuple_new(_cls, ({arg_list}))", scope)
    new.__name__ = "__new__"
    new.__doc__ = f"Create new instance of {typename}({arg_list})"
    new.__defaults__ = tuple(defaults)  # typing always passes defaults, () when there are none

    def _make(cls: type, iterable: Any) -> Any:
        result: tuple[Any, ...] = tuple_new(cls, iterable)
        if len(result) != num_fields:
            raise TypeError(f"Expected {num_fields} arguments, got {len(result)}")
        return result

    _make.__doc__ = f"Make a new {typename} object from a sequence or iterable"

    def _replace(self: Any, /, **kwds: Any) -> Any:
        result = self._make(map(kwds.pop, field_names, self))
        if kwds:
            raise ValueError(f"Got unexpected field names: {list(kwds)!r}")
        return result

    _replace.__doc__ = f"Return a new {typename} object replacing specified fields with new values"

    def __repr__(self: Any) -> str:
        "Return a nicely formatted representation string"
        return str(self.__class__.__name__ + repr_fmt % self)

    def _asdict(self: Any) -> dict[str, Any]:
        "Return a new dict which maps field names to their values."
        return dict(zip(self._fields, self, strict=True))

    def __getnewargs__(self: Any) -> tuple[Any, ...]:
        "Return self as a plain tuple.  Used by copy and pickle."
        return tuple(self)

    for method in (new, _make, _replace, __repr__, _asdict, __getnewargs__):
        method.__qualname__ = f"{typename}.{method.__name__}"
    class_namespace: dict[str, Any] = {
        "__doc__": f"{typename}({arg_list})",
        "__slots__": (),
        "_fields": field_names,
        "_field_defaults": field_defaults,
        "__new__": new,
        "_make": classmethod(_make),
        "_replace": _replace,
        "__repr__": __repr__,
        "_asdict": _asdict,
        "__getnewargs__": __getnewargs__,
        "__match_args__": field_names,
    }
    for index, name in enumerate(field_names):
        class_namespace[name] = _tuplegetter(index, sys.intern(f"Alias for field number {index}"))
    result = type(typename, (tuple,), class_namespace)
    result.__module__ = module
    return result


class _RecordMeta(type):
    def __new__(cls, typename: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> Any:
        return _build_record(typename, namespace)


if not TYPE_CHECKING:
    NamedTuple = type.__new__(_RecordMeta, "NamedTuple", (), {"__module__": __name__})
