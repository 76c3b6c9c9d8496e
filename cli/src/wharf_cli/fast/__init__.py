"""The commands wharf runs without typer: ``ps``, ``run``, ``create``, ``logs`` and ``exec``.

Importing typer (click with it) and building a command from a function's signature costs more than
everything else ``wharf ps`` does. So when the command line is one of these commands with flags that
:mod:`.flags` parses, :func:`run_fast` applies the global options and calls the command's body itself:
the function typer's command in :mod:`wharf_cli.commands` calls too, with the same arguments. Anything
else (another command, ``--help``, a flag typer would refuse) is left to typer, which prints its help or
its error exactly as before. Each module here holds a command's body and its flag table; typer's
command keeps the help, and a test checks that the two describe the same flags.

``WHARF_CLI_FAST=0`` in the environment sends every command line to typer (to compare the two, or as
a way round a bug here).

Errors in a body end the process as under typer: ``SystemExit`` with the command's code, ``130`` on
Ctrl-C, ``1`` after ``Aborted!`` on end of input, ``1`` quietly on a closed pipe; the engine's errors
(``ClientError``) go to :func:`wharf_cli.main.main`, as from typer.
"""

from __future__ import annotations

import errno
import os
import sys

from ..output import err
from ..session import configure_session
from .flags import Spec, parse

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see wharf_client.lean)
if TYPE_CHECKING:
    from collections.abc import Sequence

# command -> (module in this package, its flag table, its body)
FAST_COMMANDS: dict[str, tuple[str, str, str]] = {
    "ps": ("ps", "SPEC", "ps"),
    "run": ("run", "SPEC", "run"),
    "create": ("run", "CREATE_SPEC", "create"),
    "logs": ("logs", "SPEC", "logs"),
    "exec": ("exec", "SPEC", "exec_"),
}
GLOBAL_SPEC = Spec(
    flags=("--tls", "--tlsverify"),
    values=("-H --host", "--tlscacert", "--tlscert", "--tlskey"),
    args=("argv*",),
    interspersed=False,
)
COMPLETION_VARIABLE = "_WHARF_COMPLETE"  # click's shell completion: typer's business
SWITCH_VARIABLE = "WHARF_CLI_FAST"


def run_fast(argv: Sequence[str]) -> bool:
    """Run ``argv`` without typer if it can be; whether it was run."""
    if COMPLETION_VARIABLE in os.environ or os.environ.get(SWITCH_VARIABLE) == "0":
        return False
    global_options = parse(GLOBAL_SPEC, argv)
    rest = global_options.pop("argv", None) if global_options else None
    if not isinstance(rest, list) or rest[0] not in FAST_COMMANDS:
        return False
    module_name, spec_name, body_name = FAST_COMMANDS[rest[0]]
    name = f"{__package__}.{module_name}"
    __import__(name)  # importlib.import_module, without importlib (it imports warnings)
    module = sys.modules[name]
    arguments = parse(getattr(module, spec_name), rest[1:])
    if arguments is None:
        return False
    configure_session(**global_options)  # type: ignore[arg-type]
    try:
        getattr(module, body_name)(**arguments)
    except EOFError:
        err()
        err("Aborted!")
        raise SystemExit(1) from None
    except OSError as error:
        if error.errno != errno.EPIPE:
            raise
        _silence_closed_pipes()
        raise SystemExit(1) from None
    return True


def _silence_closed_pipes() -> None:
    """Let the interpreter flush stdout and stderr at exit without a second broken-pipe error."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError, AttributeError):
            continue
