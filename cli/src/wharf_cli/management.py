"""docker's management commands (``wharf container ls``, ``wharf image rm``, ``wharf system info``): the
top-level commands again under their concept's group, built only when that group is asked for."""

from __future__ import annotations

import copy
import importlib
from collections.abc import Mapping

import typer

# group -> (help, {subcommand: top-level command, or "module:function" for a group-only command})
MANAGEMENT: dict[str, tuple[str, dict[str, str]]] = {
    "container": (
        "Manage containers",
        {
            "attach": "attach",
            "commit": "commit",
            "cp": "cp",
            "create": "create",
            "diff": "diff",
            "exec": "exec",
            "export": "export",
            "kill": "kill",
            "logs": "logs",
            "ls": "ps",
            "pause": "pause",
            "port": "port",
            "rename": "rename",
            "restart": "restart",
            "rm": "rm",
            "run": "run",
            "start": "start",
            "stats": "stats",
            "stop": "stop",
            "top": "top",
            "unpause": "unpause",
            "wait": "wait",
        },
    ),
    "image": (
        "Manage images",
        {
            "build": "build",
            "history": "history",
            "import": "import",
            "load": "load",
            "ls": "images",
            "prune": "image.build:image_prune",
            "pull": "pull",
            "push": "push",
            "rm": "rmi",
            "save": "save",
            "tag": "tag",
        },
    ),
    "system": ("Manage wharf", {"events": "events", "info": "info"}),
}


def add_management(app: typer.Typer, group: str, commands: Mapping[str, str]) -> None:
    """Add ``group`` to ``app``, registering the modules of its members (``commands``: name -> module)."""
    help_text, members = MANAGEMENT[group]
    scratch = typer.Typer()
    for top in dict.fromkeys(members.values()):
        module = top.partition(":")[0] if ":" in top else commands[top]
        importlib.import_module(f"{__package__}.commands.{module}").register(scratch)
    registered = {info.name: info for info in scratch.registered_commands}
    sub = typer.Typer(help=help_text, no_args_is_help=True)
    for name, top in members.items():
        if ":" in top:
            module, _, function = top.partition(":")
            sub.command(name)(getattr(importlib.import_module(f"{__package__}.commands.{module}"), function))
            continue
        info = copy.copy(registered[top])
        info.name = name
        sub.registered_commands.append(info)
    app.add_typer(sub, name=group)
