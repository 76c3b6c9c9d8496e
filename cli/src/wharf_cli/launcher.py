"""A lean launcher for ``wharf``: the console script without the ``site`` module's start-up.

``python -m wharf_cli.launcher`` (``make setup`` runs it after ``uv sync``) replaces the virtualenv's
``bin/wharf``, the console script the installer generated, with one whose shebang runs the same
interpreter with ``-S`` and that puts on ``sys.path`` what ``site`` would have put there: the
site-packages directory and the directories its ``.pth`` files name (the editable installs of this
checkout), in site's order, read once here by asking the interpreter itself (with and without ``site``).
It then sets ``sys.prefix`` and ``sys.exec_prefix`` to the virtualenv, as ``site`` does, and calls the
same entry point. ``site`` costs ~2.5 ms of every command here (it lists site-packages, reads seven
``.pth`` files and looks for a ``sitecustomize`` in every ``sys.path`` entry); the launcher pays one
``stat`` per site directory.

What the launcher keeps: ``PYTHONPATH`` and every other ``PYTHON*`` variable (no ``-E``: it saves
nothing measurable), the script's directory as ``sys.path[0]``, the exit codes. What a command run
through it does not get: the ``exit``/``quit``/``help`` builtins of the interactive prompt, and
``sys.flags.no_site`` is 1. If a site directory changed since the launcher was written (a package
installed or removed, which changes the directory's mtime) or is gone, the launcher runs ``site``
itself (``site.main()``), so it is never wrong, only slower until ``make setup`` writes it again.

It is not written (the installer's script stays) when ``site`` would run code: a ``.pth`` line that
starts with ``import``, a ``sitecustomize`` or ``usercustomize`` module; nor when the shebang would
be too long or the interpreter's path has white space; nor over a ``bin/wharf`` that is neither the
installer's script nor an earlier launcher. ``uv sync`` or ``pip install`` rewrite the console script
when they reinstall wharf-cli: run this again afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import NamedTuple

MARKER = "# wharf lean launcher: written by `python -m wharf_cli.launcher` (make setup)"
SHEBANG_LIMIT = 127  # bytes the kernel reads of a #! line on older kernels (and pip's limit)
SCRIPT = "wharf"
# what the interpreter reports, with and without site (-E: the environment of whoever runs this
# must not end up in the launcher; PYTHONPATH still applies when the launcher runs)
PROBE = (
    "import json, sys\n"
    "print(json.dumps({'path': sys.path[1:], 'prefix': sys.prefix, 'exec_prefix': sys.exec_prefix,\n"
    "    'customize': sorted({'sitecustomize', 'usercustomize'} & set(sys.modules)),\n"
    "    'site_dirs': __import__('site').getsitepackages() if not sys.flags.no_site else []}))\n"
)


class Refused(Exception):
    """The launcher is not written; the message says why (the installer's script stays)."""


class SiteState(NamedTuple):
    """What ``site`` does for this interpreter, and the site directories whose mtimes vouch for it."""

    added_paths: list[str]  # appended to sys.path by site, in its order
    prefix: str
    exec_prefix: str
    site_dirs: list[tuple[str, int]]  # (directory, st_mtime_ns)


@dataclass(frozen=True, slots=True)
class Outcome:
    path: Path
    written: bool
    refused: str | None = None


def probe_site(python: str) -> SiteState:
    """Ask ``python`` what ``site`` adds; refuse when site would run code that the launcher cannot."""
    runs = []
    for flags in (["-E"], ["-E", "-S"]):
        result = subprocess.run(
            [python, *flags, "-c", PROBE], capture_output=True, text=True, timeout=60, check=False
        )
        if result.returncode != 0:
            raise Refused(f"{python} {' '.join(flags)} failed: {result.stderr.strip()[-300:]}")
        runs.append(json.loads(result.stdout))
    with_site, without = runs
    if with_site["customize"]:
        raise Refused(f"site imports {', '.join(with_site['customize'])} at start-up")
    full, bare = with_site["path"], without["path"]
    if full[: len(bare)] != bare:
        raise Refused("site changes sys.path other than by appending to it")
    site_dirs: list[tuple[str, int]] = []
    for directory in map(Path, with_site["site_dirs"]):
        if not directory.is_dir():
            continue
        for pth in sorted(directory.glob("*.pth")):
            if _runs_code(pth):
                raise Refused(f"{pth} runs code at start-up (an import line)")
        site_dirs.append((str(directory), directory.stat().st_mtime_ns))
    if not site_dirs:
        raise Refused("the interpreter has no site-packages directory")
    return SiteState(full[len(bare) :], with_site["prefix"], with_site["exec_prefix"], site_dirs)


def _runs_code(pth: Path) -> bool:
    """``site.addpackage``'s rule: a line starting with ``import`` is executed."""
    try:
        lines = pth.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return False
    return any(line.startswith(("import ", "import\t")) for line in lines)


def launcher_text(python: str, entry: str, state: SiteState) -> str:
    """The launcher's source: ``entry`` is ``module:function``, as in ``[project.scripts]``."""
    module, _, function = entry.partition(":")
    if not module or not function or not all(part.isidentifier() for part in [*module.split("."), function]):
        raise Refused(f"entry point {entry!r} is not module:function")
    shebang = f"#!{python} -S"
    if len(shebang.encode()) > SHEBANG_LIMIT or any(char.isspace() for char in python):
        raise Refused(f"the interpreter's path cannot go on a #! line with -S: {python!r}")
    checks = "".join(f"({directory!r}, {mtime}), " for directory, mtime in state.site_dirs)
    return "\n".join(
        [
            shebang,
            MARKER,
            "# The console script without site's start-up: sys.path and sys.prefix as site sets them,",
            "# read when this was written; if a site directory changed since, site runs as usual.",
            "import os",
            "import sys",
            "",
            "try:",
            f"    _fresh = all(os.stat(d).st_mtime_ns == t for d, t in ({checks.rstrip()}))",
            "except OSError:",
            "    _fresh = False",
            "if _fresh:",
            f"    sys.path.extend({state.added_paths!r})",
            f"    sys.prefix, sys.exec_prefix = {state.prefix!r}, {state.exec_prefix!r}",
            "else:",
            "    import site",
            "",
            "    site.main()",
            f"from {module} import {function}",
            "",
            'if __name__ == "__main__":',
            f"    sys.exit({function}())",
            "",
        ]
    )


def console_entry(name: str = SCRIPT) -> str:
    """The ``module:function`` of the installed ``name`` console script."""
    found = [ep.value for ep in entry_points(group="console_scripts", name=name)]
    if not found:
        raise Refused(f"no console script {name!r} is installed for {sys.executable}")
    return found[0]


def replaceable(script: Path, entry: str) -> bool:
    """``script`` is missing, an installer's console script for ``entry``, or a launcher of ours."""
    try:
        text = script.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return True
    module, _, function = entry.partition(":")
    if MARKER in text:
        return True
    return text.startswith("#!") and f"from {module} import {function}" in text and "sys.exit(" in text


def write_launcher(bin_dir: Path, python: str, *, name: str = SCRIPT, entry: str | None = None) -> Outcome:
    """Write ``bin_dir/name`` (only if its text changes: running it again changes nothing)."""
    script = bin_dir / name
    try:
        entry = entry or console_entry(name)
        if not replaceable(script, entry):
            raise Refused(f"{script} is neither the installer's console script nor a launcher of ours")
        text = launcher_text(python, entry, probe_site(python))
    except Refused as exc:
        return Outcome(script, written=False, refused=str(exc))
    if script.exists() and script.read_text(encoding="utf-8", errors="replace") == text:
        return Outcome(script, written=False)
    partial = script.with_name(f".{name}.launcher-{os.getpid()}")
    partial.write_text(text, encoding="utf-8")
    partial.chmod(0o755)
    partial.replace(script)
    return Outcome(script, written=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wharf_cli.launcher", description=__doc__.split("\n\n", 1)[0] if __doc__ else None
    )
    default_bin = Path(sys.prefix) / "bin"
    parser.add_argument("--bin-dir", type=Path, default=default_bin, help="where the script is (%(default)s)")
    parser.add_argument(
        "--python",
        default=str(default_bin / "python"),
        help="the interpreter the launcher runs (default: this virtualenv's, %(default)s)",
    )
    args = parser.parse_args(argv)
    if not Path(args.python).exists():
        parser.error(f"no interpreter at {args.python}")
    outcome = write_launcher(args.bin_dir, args.python)
    if outcome.refused:
        sys.stderr.write(f"wharf launcher: kept {outcome.path} as it is: {outcome.refused}\n")
    elif outcome.written:
        sys.stderr.write(f"wharf launcher: wrote {outcome.path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
