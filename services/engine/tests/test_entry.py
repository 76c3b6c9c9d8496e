"""The ``wharf-engine`` console entry point leaves rich out of the daemon (see ``entry.py``)."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
sys.argv = ["wharf-engine", "--help"]
from wharf_engine.entry import main
try:
    main()
except SystemExit:
    pass
loaded = sorted(m for m, v in sys.modules.items() if m.split(".")[0] == "rich" and v is not None)
print("structlog" in sys.modules, "wharf_engine.app" in sys.modules, loaded)
"""


def test_the_daemon_runs_without_importing_rich() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "usage: wharf-engine" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "True True []", result.stdout


def test_rich_is_still_importable_elsewhere() -> None:
    """Only the daemon's process refuses it: importing the engine's modules does not."""
    probe = "import wharf_engine.main, rich.console; print('ok')"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "ok", result.stderr
