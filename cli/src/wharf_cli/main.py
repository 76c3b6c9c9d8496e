"""The ``wharf`` entry point: a docker-compatible CLI for the wharf engine.

Start-up time matters (``wharf ps`` should take well under 150 ms): modules on the path of everyday
commands import nothing heavy at module level (no rich, no httpx).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from wharf_client import ClientError

from .commands import containers, images, inspect, logs, ps, run, system
from .output import describe, err
from .session import SESSION

app = typer.Typer(
    name="wharf",
    help="A self-sufficient runtime for containers",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["--help"]},
)


@app.callback()
def _global_options(
    host: Annotated[
        str | None,
        typer.Option("-H", "--host", metavar="HOST", help="Engine socket to connect to (unix:///path or tcp://host:port)"),
    ] = None,
) -> None:
    SESSION.configure(host)


for _module in (run, containers, ps, logs, inspect, images, system):
    _module.register(app)


def main() -> int:
    try:
        app()
    except ClientError as error:
        err(describe(error))
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 1
    return 0
