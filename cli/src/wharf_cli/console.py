"""The ``wharf`` process: run one command line, then leave without the interpreter's teardown.

Two things a one-shot command pays for and does not need: the cyclic garbage collector, which runs
about fifteen times while the modules of ``wharf ps`` load and frees nothing, and the interpreter's
finalization, which frees every module and object one by one after the output has been written. So
the collector's first threshold is raised (it still runs in long sessions such as ``logs -f``) and,
once stdout and stderr are flushed, the process ends with ``os._exit``. Nothing of wharf's needs the
teardown: its threads are daemon threads, the files it writes are closed as soon as they are written,
and it registers no ``atexit`` handler.
"""

from __future__ import annotations

import gc
import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see wharf_client.lean)
if TYPE_CHECKING:
    from typing import NoReturn

GC_THRESHOLD = 20_000  # tracked allocations between young collections (Python's default: 700)


def run() -> NoReturn:
    """The console script's entry point (and ``python -m wharf_cli``'s)."""
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    from .main import main  # imported under the raised threshold

    try:
        status: object = main()
    except SystemExit as exit_:
        status = exit_.code
    code = exit_code(status)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)  # a closed pipe: the interpreter reports it as it always does
    os._exit(code)


def exit_code(status: object) -> int:
    """What ``sys.exit(status)`` makes the process exit with (a message is printed, then 1)."""
    if status is None:
        return 0
    if isinstance(status, int):
        return status & 0xFF
    sys.stderr.write(f"{status}\n")
    return 1
