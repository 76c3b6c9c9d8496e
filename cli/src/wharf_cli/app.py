"""The typer app: every command with its help and its errors, for what the fast path leaves to it.

Only the module of the command being run is imported and turned into a click command (all of them for
``--help``), and nothing on the path of everyday commands imports rich, httpx or pydantic.
"""

from __future__ import annotations

import importlib
from typing import Annotated

import typer

from . import _typer_speedups
from .commands import COMMANDS
from .helptext import DockerGroup, docker_help
from .management import MANAGEMENT, add_management
from .session import configure_session


def _global_options(
    host: Annotated[
        str | None,
        typer.Option(
            "-H",
            "--host",
            metavar="HOST",
            help="Engine socket to connect to (unix:///path or tcp://host:port)",
        ),
    ] = None,
    tls: Annotated[bool, typer.Option("--tls", help="Use TLS; implied by --tlsverify")] = False,
    tlsverify: Annotated[
        bool | None, typer.Option("--tlsverify", help="Use TLS and verify the remote", show_default=False)
    ] = None,
    tlscacert: Annotated[
        str | None, typer.Option(metavar="PATH", help="Trust certs signed only by this CA")
    ] = None,
    tlscert: Annotated[str | None, typer.Option(metavar="PATH", help="Path to TLS certificate file")] = None,
    tlskey: Annotated[str | None, typer.Option(metavar="PATH", help="Path to TLS key file")] = None,
) -> None:
    """TLS files default to $DOCKER_CERT_PATH, else ~/.wharf, else ~/.docker ({ca,cert,key}.pem)."""
    configure_session(
        host=host, tls=tls, tlsverify=tlsverify, tlscacert=tlscacert, tlscert=tlscert, tlskey=tlskey
    )


def create_app(command: str | None = None) -> typer.Typer:
    """Build the typer app with every command, or only the module that defines ``command``."""
    _typer_speedups.install()
    app = typer.Typer(
        name="wharf",
        cls=DockerGroup,
        help="A self-sufficient runtime for containers",
        add_completion=False,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["--help"]},
    )
    app.callback()(_global_options)
    if command in MANAGEMENT:
        add_management(app, command, COMMANDS)
    else:
        modules = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
        for name in modules:
            importlib.import_module(f"{__package__}.commands.{name}").register(app)
        if command not in COMMANDS:  # --help or an unknown command: everything
            for group in MANAGEMENT:
                add_management(app, group, COMMANDS)
    docker_help(app)
    return app
