"""Build docker-compose 1.29 into a virtualenv of its own, once: ``compose_venv.py [--path DIR]``.

docker-compose 1.29.2 is the last release written in Python. Its dependencies must be held back:
``docker<7`` (docker 7 dropped the ``ssl_version`` argument compose still passes), ``requests<2.32``
(2.32 broke docker-py 6's unix-socket adapter: "Not supported URL scheme http+docker"), and PyYAML 5
(compose asks for ``PyYAML<6``) has no wheel for Python 3.11, so pip builds it from source, which
only works with ``Cython<3``. That pin goes to pip as a constraints file (``PIP_CONSTRAINT``), which
also reaches the isolated environment pip builds PyYAML in.

The environment is rebuilt only when the requirements or the interpreter change (a stamp file
records both); concurrent callers wait on a lock. Prints the path of ``docker-compose``.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PATH = REPO / ".cache" / "compose-venv"
REQUIREMENTS = ("docker-compose==1.29.2", "docker<7", "requests<2.32")
BUILD_CONSTRAINTS = ("Cython<3",)


def base_python() -> str:
    """The interpreter under any virtualenv this script runs in (a venv is made from a real one)."""
    return getattr(sys, "_base_executable", sys.executable)


def stamp_of(python: str) -> str:
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.version)"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return json.dumps({"requirements": REQUIREMENTS, "constraints": BUILD_CONSTRAINTS, "python": version})


def ensure(path: Path = DEFAULT_PATH) -> Path:
    """The docker-compose executable in ``path``, building the environment if it is missing or stale."""
    python = base_python()
    stamp = stamp_of(python)
    path.parent.mkdir(parents=True, exist_ok=True)
    executable = path / "bin" / "docker-compose"
    with open(path.parent / f".{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp_file = path / ".wharf-stamp"
        if executable.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
            return executable
        shutil.rmtree(path, ignore_errors=True)
        subprocess.run([python, "-m", "venv", str(path)], check=True)
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as constraints:
            constraints.write("\n".join(BUILD_CONSTRAINTS) + "\n")
            constraints.flush()
            env = {**os.environ, "PIP_CONSTRAINT": constraints.name, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
            subprocess.run(
                [str(path / "bin" / "pip"), "install", "--quiet", *REQUIREMENTS], env=env, check=True
            )
        subprocess.run([str(executable), "version", "--short"], check=True, capture_output=True)
        stamp_file.write_text(stamp)
        return executable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", type=Path, default=DEFAULT_PATH, help=f"where (default {DEFAULT_PATH})")
    args = parser.parse_args()
    sys.stdout.write(f"{ensure(args.path)}\n")


if __name__ == "__main__":
    main()
