"""``wharf-engine``'s console entry point: a process-wide choice of the daemon, then :func:`.main.main`.

structlog imports rich (and with it attrs and pygments: 88 modules, ~3.4 MiB of the idle daemon's
memory) whenever rich can be imported, for tracebacks that the engine never renders with it
(``format_exc_info`` writes them as text first). Nothing in the engine uses rich, so the daemon
makes its import fail (a ``None`` in ``sys.modules``) before anything imports structlog. Code that
imports :mod:`.main` in its own process (tests, tools) keeps rich.
"""

from __future__ import annotations

import sys


def main() -> None:
    sys.modules.setdefault("rich", None)  # type: ignore[arg-type]  # None: the documented way to refuse an import
    from .main import main as run

    run()


__all__ = ["main"]
