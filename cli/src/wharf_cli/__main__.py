"""``python -m wharf_cli``: the ``wharf`` command."""

from .console import run

run()
