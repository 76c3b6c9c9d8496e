"""The ``wharf`` entry point: a docker-compatible CLI for the wharf engine.

Start-up time matters (``wharf ps`` should take well under 150 ms): only the module of the command being
run is imported and turned into a click command (all of them for ``--help``), and nothing on the path of
everyday commands imports heavy libraries (rich, httpx, pydantic) at module level.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Annotated

import typer
from wharf_client import ClientError

from . import _typer_speedups
from .helptext import DockerGroup, docker_help
from .management import MANAGEMENT, add_management
from .output import describe, err
from .session import SESSION

# command name -> module under wharf_cli.commands that registers it, grouped by concept as docker/cli's
# cli/command/{container,image,volume,network,system,registry}
COMMANDS: dict[str, str] = {
    "run": "container.run",
    "create": "container.run",
    "start": "container.lifecycle",
    "stop": "container.lifecycle",
    "kill": "container.lifecycle",
    "restart": "container.lifecycle",
    "pause": "container.lifecycle",
    "unpause": "container.lifecycle",
    "rm": "container.lifecycle",
    "rename": "container.lifecycle",
    "wait": "container.lifecycle",
    "attach": "container.lifecycle",
    "ps": "container.ps",
    "logs": "container.logs",
    "exec": "container.exec",
    "port": "container.port",
    "top": "container.top",
    "stats": "container.stats",
    "cp": "container.cp",
    "commit": "container.changes",
    "diff": "container.changes",
    "export": "container.changes",
    "images": "image.images",
    "tag": "image.images",
    "rmi": "image.images",
    "import": "image.images",
    "save": "image.images",
    "load": "image.images",
    "build": "image.build",
    "history": "image.build",
    "volume": "volume.volumes",
    "network": "network.networks",
    "version": "system.info",
    "info": "system.info",
    "events": "system.events",
    "inspect": "system.inspect",
    "pull": "registry.remote",
    "push": "registry.remote",
    "login": "registry.remote",
    "logout": "registry.remote",
    "search": "registry.remote",
}
GLOBAL_OPTIONS_WITH_VALUE = ("-H", "--host", "--tlscacert", "--tlscert", "--tlskey")


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
    SESSION.configure(
        host,
        tls_options={"tls": tls, "verify": tlsverify, "ca_cert": tlscacert, "cert": tlscert, "key": tlskey},
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
    app = create_app(requested_command(args))
    try:
        app(args=args, prog_name="wharf")
    except ClientError as error:
        err(describe(error))
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 1
    return 0
