"""Keep pydantic off wharf's start-up path.

typer 0.2x coerces every non-boolean parameter through a pydantic ``TypeAdapter`` built on first use, so
any command with a ``str``/``int``/``list[str]`` parameter imports pydantic (a large share of the start-up
time, docs/performance.md) on every invocation. Click has already converted such values with its own types, so
for exactly these annotations typer's extra pass is the identity: this installs a pass-through for them
and leaves every other annotation (paths, enums, ranges, files) to typer. If typer's private layout
changes, :func:`install` does nothing and typer's behaviour is unchanged, only slower.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_SCALARS: dict[Any, Callable[[Any], Any]] = {str: str, int: int, bool: bool}


def converter_for(annotation: Any) -> Callable[[Any], Any] | None:
    """A converter for ``str``, ``int``, ``bool`` (already converted by click), optionals and lists."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return converter_for(members[0]) if len(members) == 1 else None
    if origin is list:
        args = typing.get_args(annotation)
        item = _SCALARS.get(args[0]) if len(args) == 1 else None
        if item is None:
            return None
        convert_item = item
        return lambda values: [convert_item(value) for value in values]
    if origin is typing.Annotated:
        return converter_for(typing.get_args(annotation)[0])
    return _SCALARS.get(annotation)


def install() -> bool:
    """Patch typer's runtime-parameter factory; returns whether the patch is active."""
    try:
        from typer import _coercion
        from typer import core as typer_core
        from typer._click.exceptions import BadParameter

        original = _coercion.build_runtime_param
        base = _coercion.RuntimeParam
    except (ImportError, AttributeError):
        return False
    core: Any = typer_core
    if getattr(core.build_runtime_param, "_wharf_speedup", False):
        return True

    @dataclass(frozen=True)
    class PassThroughParam(base):  # type: ignore[valid-type, misc]
        convert: Callable[[Any], Any] = str

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                return self.convert(value)
            except (TypeError, ValueError) as exc:
                raise BadParameter(str(exc), ctx=ctx, param=param) from exc

    def build_runtime_param(descriptor: Any) -> Any:
        convert = converter_for(descriptor.annotation)
        plain = descriptor.file_annotation is None and not descriptor.is_ranged and not descriptor.is_choice
        if convert is None or not plain:
            return original(descriptor)
        return PassThroughParam(
            parameter_info=descriptor.parameter_info, annotation=descriptor.annotation, convert=convert
        )

    build_runtime_param._wharf_speedup = True  # type: ignore[attr-defined]
    core.build_runtime_param = build_runtime_param
    return True
