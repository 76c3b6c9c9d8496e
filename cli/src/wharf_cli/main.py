"""The ``wharf`` entry point: a docker-compatible CLI for the wharf engine.

``ps``, ``run``, ``create``, ``logs`` and ``exec`` with plain flags run without typer (:mod:`.fast`);
everything else, help and flag errors included, goes to the typer app (:mod:`.app`).
"""

from __future__ import annotations

import sys

from wharf_client import ClientError

from .commands import COMMANDS
from .fast import run_fast
from .output import describe, err

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see wharf_client.lean)
if TYPE_CHECKING:
    from collections.abc import Sequence

    import typer

__all__ = ["COMMANDS", "create_app", "main", "requested_command"]
GLOBAL_OPTIONS_WITH_VALUE = ("-H", "--host", "--tlscacert", "--tlscert", "--tlskey")


def create_app(command: str | None = None) -> typer.Typer:
    """The typer app with every command, or only the module that defines ``command``."""
    from .app import create_app as build

    return build(command)


def requested_command(argv: Sequence[str]) -> str | None:
    """The subcommand name in ``argv`` (after global options), or ``None``."""
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg in GLOBAL_OPTIONS_WITH_VALUE:
            index += 2
            continue
        if arg.startswith("-"):
            index += 1
            continue
        return arg
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if not run_fast(args):
            create_app(requested_command(args))(args=args, prog_name="wharf")
    except ClientError as error:
        err(describe(error))
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 1
    return 0
