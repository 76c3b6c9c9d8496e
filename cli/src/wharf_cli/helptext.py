"""Help pages laid out as the docker CLI's (cobra's template): ``Usage:``, the short description, the
command groups, and pflag's option rows (``-d, --detach``, ``    --name string``, ``-e, --env list``)."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

PROG = "wharf"
# docker --help's "Common Commands", in its order
COMMON = (
    "run",
    "exec",
    "ps",
    "build",
    "pull",
    "push",
    "images",
    "login",
    "logout",
    "search",
    "version",
    "info",
)


def short(command: Any) -> str:
    """The first line of the docstring, without the final full stop (as cobra's ``Short``)."""
    text = (command.help or "").strip().splitlines()
    return text[0].rstrip(".") if text else ""


def value_type(option: TyperOption) -> str:
    """pflag's type word: none for a flag, ``list`` for a repeatable option, else the value's type."""
    if option.is_flag or option.multiple:
        return "" if option.is_flag else "list"
    annotation = getattr(option.type_descriptor, "annotation", str)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next((a for a in typing.get_args(annotation) if a is not type(None)), str)
    return {int: "int", float: "float"}.get(annotation, "string")


def option_rows(options: Iterable[TyperOption]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for option in sorted(options, key=lambda o: max(o.opts, key=len).lstrip("-")):  # pflag sorts by name
        if option.hidden or option.opts == ["--help"]:
            continue
        shorts = [o for o in option.opts if not o.startswith("--")]
        longs = [o for o in option.opts if o.startswith("--")]
        name = (f"{shorts[0]}, " if shorts else "    ") + (longs or shorts)[
            0
        ]  # other long names: hidden aliases
        kind = value_type(option)
        help_text = (option.help or "").rstrip(".")
        default = option.default
        if kind in ("string", "int", "float") and default not in (None, "", 0, -1):
            help_text += f' (default "{default}")' if kind == "string" else f" (default {default})"
        elif not kind and default is True:
            help_text += " (default true)"
        rows.append((f"{name} {kind}".rstrip(), help_text))
    return rows


def table(rows: list[tuple[str, str]], indent: str = "  ", gap: int = 3) -> str:
    width = max((len(left) for left, _ in rows), default=0) + gap
    return "".join(f"{indent}{left.ljust(width)}{right}".rstrip() + "\n" for left, right in rows)


def usage_line(ctx: Any, command: Any) -> str:
    parts = [ctx.command_path]
    if isinstance(command, TyperGroup):
        parts.append("[OPTIONS] COMMAND" if ctx.parent is None else "COMMAND")
    else:
        parts.append("[OPTIONS]")
        for param in command.params:
            if isinstance(param, TyperArgument):
                metavar = (param.metavar or param.name or "").upper()
                if param.nargs == -1 and "..." not in metavar:
                    metavar += "..."
                if not param.required and not metavar.startswith("["):
                    metavar = f"[{metavar}]"
                parts.append(metavar)
    return "Usage:  " + " ".join(parts)


class DockerCommand(TyperCommand):
    def format_help(self, ctx: Any, formatter: Any) -> None:
        options = [p for p in self.get_params(ctx) if isinstance(p, TyperOption)]
        formatter.write(f"\n{usage_line(ctx, self)}\n\n{short(self)}\n\nOptions:\n")
        formatter.write(table(option_rows(options)))


class DockerGroup(TyperGroup):
    def format_help(self, ctx: Any, formatter: Any) -> None:
        commands = {name: self.get_command(ctx, name) for name in self.list_commands(ctx)}
        visible = {name: c for name, c in commands.items() if c is not None and not c.hidden}
        root = ctx.parent is None
        text = f"\n{usage_line(ctx, self)}\n\n{self.help or short(self)}\n"
        if root:
            common = [(n, short(visible[n])) for n in COMMON if n in visible]
            groups = [(n, short(c)) for n, c in sorted(visible.items()) if isinstance(c, TyperGroup)]
            rest = [
                (n, short(c))
                for n, c in sorted(visible.items())
                if n not in COMMON and not isinstance(c, TyperGroup)
            ]
            sections = [("Common Commands", common), ("Management Commands", groups), ("Commands", rest)]
        else:
            sections = [("Commands", [(n, short(c)) for n, c in sorted(visible.items())])]
        for title, rows in sections:
            if rows:
                text += f"\n{title}:\n" + table(rows, gap=2)
        options = option_rows(p for p in self.get_params(ctx) if isinstance(p, TyperOption))
        if options:
            text += f"\n{'Global Options' if root else 'Options'}:\n" + table(options)
        text += f"\nRun '{ctx.command_path} COMMAND --help' for more information on a command.\n"
        formatter.write(text)


def docker_help(app: object) -> None:
    """Give every command and group of a typer app docker's help layout (unless one chose its own)."""
    for info in getattr(app, "registered_commands", []):
        if info.cls in (None, TyperCommand):
            info.cls = DockerCommand
    for group in getattr(app, "registered_groups", []):
        typer_instance = group.typer_instance
        if typer_instance is not None:
            if not isinstance(typer_instance.info.cls, type) or typer_instance.info.cls is TyperGroup:
                typer_instance.info.cls = DockerGroup
            docker_help(typer_instance)
