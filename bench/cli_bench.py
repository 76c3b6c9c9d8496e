"""``wharf`` CLI start-up beside the docker CLI's: ``ps`` and ``run --rm busybox true`` through both
CLIs against one wharf engine, and ``python -c pass``, the floor of any command written in Python.

Each case runs once to warm up, then all run round-robin (each round starts one case later). For each
case the table gives the median wall time, the median CPU time of the command (user + system, from
``wait4``: it moves much less than wall time when other work shares the cores), the ratio of the
medians to the case's baseline, and the goals of issue 16: ``wharf ps`` <= 40 ms and ``wharf run --rm``
no slower than ``docker run --rm`` against the same engine.

``bench.py`` calls :func:`cli_rows` with the socket of its own engine (busybox already imported)::

    rows = cli_rows(sock, rounds=15, deadline=time.monotonic() + 60)   # -> list[CliRow]
    print(format_rows(rows))                                           # the table and the verdicts
    json_rows = [row.as_json() for row in rows]

``--also NAME=EXECUTABLE`` (repeatable) adds ``ps`` and ``run --rm busybox true`` through another
``wharf`` executable to the same rounds (keys ``NAME-ps``, ``NAME-run``; ratios to the floor and to
``docker run``): an A/B of two trees or launchers measured interleaved, under the same load.

``--imports N`` adds what each of ``ps``, ``run``, ``logs`` and ``exec`` imports (``python -X importtime``,
each module at its fastest of N runs, summed by top-level package); :func:`import_rows` does it for
``bench.py``. Run alone it starts an engine of its own (its own bridge and /24, busybox imported) and
removes everything it made on the way out, SIGTERM included.

Usage: ``.venv/bin/python bench/cli_bench.py [--rounds 100] [--imports 0] [--max-seconds 180] [--json PATH]
[--image TAR] [--also NAME=EXECUTABLE ...]``
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = REPO_ROOT / ".venv" / "bin"
DOCKER = "/usr/local/bin/docker"
RUN_TIMEOUT = 60.0
PS_GOAL_MS = 40.0
TARGET = "clibench-web"  # the running container logs and exec are profiled against
IMPORT_COMMANDS = (("ps",), ("run", "--rm", "busybox", "true"), ("logs", TARGET), ("exec", TARGET, "true"))
WHARF_PROCESS = "from wharf_cli.console import run; run()"  # what the console script runs
_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)")

# key, label, argv after the tool, tool ("wharf", "docker" or "python"), baseline key, goal
CASES: tuple[tuple[str, str, tuple[str, ...], str, str | None, str], ...] = (
    ("python", "python -c pass (floor)", ("-c", "pass"), "python", None, ""),
    ("wharf-ps", "wharf ps", ("ps",), "wharf", "python", f"<= {PS_GOAL_MS:.0f} ms"),
    ("docker-ps", "docker ps -> wharf", ("ps",), "docker", "python", ""),
    (
        "wharf-run",
        "wharf run --rm busybox true",
        ("run", "--rm", "busybox", "true"),
        "wharf",
        "docker-run",
        "<= docker run",
    ),
    (
        "docker-run",
        "docker run --rm busybox true -> wharf",
        ("run", "--rm", "busybox", "true"),
        "docker",
        None,
        "",
    ),
)


@dataclass(slots=True)
class CliRow:
    """One case: wall and CPU samples in ms, its baseline's key, its goal, and its verdict."""

    key: str
    label: str
    baseline: str | None
    goal: str
    samples_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    skipped: str | None = None
    failures: int = 0
    ratio: float | None = None  # median wall time over the baseline's
    met: bool | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples_ms) if self.samples_ms else None

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpu_ms) if self.cpu_ms else None

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "baseline": self.baseline,
            "goal": self.goal,
            "median_ms": self.median,
            "cpu_median_ms": self.cpu_median,
            "ratio": self.ratio,
            "met": self.met,
            "samples_ms": self.samples_ms,
            "cpu_ms": self.cpu_ms,
            "failures": self.failures,
            "skipped": self.skipped,
        }


class Failed(Exception):
    """A timed command failed; the message says how."""


def log(message: str) -> None:
    print(f"cli_bench: {message}", file=sys.stderr, flush=True)


def time_command(argv: Sequence[str], env: Mapping[str, str]) -> tuple[float, float]:
    """Run ``argv`` once; its wall time and CPU time (user + system) in ms."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors
        )
        deadline = start + RUN_TIMEOUT
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = os.waitstatus_to_exitcode(status)
                raise Failed(f"timed out after {RUN_TIMEOUT:.0f}s")
            time.sleep(0.0005)
        wall = (time.perf_counter() - start) * 1000
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            errors.seek(0)
            tail = errors.read().decode("utf-8", "replace").strip().splitlines()[-2:]
            raise Failed(f"exited {proc.returncode}: {' | '.join(tail)}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def compile_sources() -> None:
    """Bytecode for the CLI and the libraries, as ``make setup`` writes it: with
    ``PYTHONDONTWRITEBYTECODE`` set, a source edited since would be compiled again on every run."""
    sources = [str(REPO_ROOT / path) for path in ("cli/src", "libs/client/src", "libs/common/src")]
    python = str(VENV_BIN / "python")
    subprocess.run(
        [python, "-m", "compileall", "-q", *sources], capture_output=True, check=False, timeout=120
    )


def also_cases(
    also: Sequence[tuple[str, str]],
) -> list[tuple[str, str, tuple[str, ...], str, str | None, str]]:
    """``ps`` and ``run --rm busybox true`` through each other ``wharf`` (``NAME``, ``EXECUTABLE``)."""
    cases: list[tuple[str, str, tuple[str, ...], str, str | None, str]] = []
    for name, _ in also:
        cases.append((f"{name}-ps", f"{name}: wharf ps", ("ps",), name, "python", ""))
        cases.append(
            (f"{name}-run", f"{name}: wharf run --rm busybox true", CASES[3][2], name, "docker-run", "")
        )
    return cases


def case_argvs(docker: str | None, also: Sequence[tuple[str, str]] = ()) -> dict[str, list[str] | str]:
    """Each case's argv, or why it cannot run here."""
    tools: dict[str, str | None] = {
        "python": str(VENV_BIN / "python"),
        "wharf": str(VENV_BIN / "wharf") if (VENV_BIN / "wharf").exists() else None,
        "docker": docker,
        **{name: path if Path(path).exists() else None for name, path in also},
    }
    argvs: dict[str, list[str] | str] = {}
    for key, _, args, tool, _, _ in (*CASES, *also_cases(also)):
        path = tools[tool]
        argvs[key] = [path, *args] if path else f"{tool} not found"
    return argvs


def cli_rows(
    sock: Path,
    *,
    rounds: int = 15,
    deadline: float | None = None,
    docker: str | None = None,
    also: Sequence[tuple[str, str]] = (),
) -> list[CliRow]:
    """Time the cases against the engine at ``sock`` (busybox imported); rows in :data:`CASES` order,
    then two per ``also`` executable (``NAME``, ``EXECUTABLE``: another ``wharf`` measured beside).

    ``deadline`` (a ``time.monotonic()`` value) stops the rounds early; ``docker`` is the docker CLI
    (default: ``/usr/local/bin/docker`` or the one on ``PATH``; its cases are skipped if there is none).
    """
    docker = docker or (DOCKER if Path(DOCKER).exists() else shutil.which("docker"))
    compile_sources()
    cases = (*CASES, *also_cases(also))
    rows = {key: CliRow(key, label, baseline, goal) for key, label, _, _, baseline, goal in cases}
    with tempfile.TemporaryDirectory(prefix="wharf-cli-bench-") as config:
        env = {
            **os.environ,
            "WHARF_HOST": f"unix://{sock}",
            "DOCKER_HOST": f"unix://{sock}",
            "DOCKER_CONFIG": config,
            "DOCKER_CLI_HINTS": "0",
        }
        env.pop("_WHARF_COMPLETE", None)
        argvs: dict[str, list[str]] = {}
        for key, argv in case_argvs(docker, also).items():
            if isinstance(argv, str):
                rows[key].skipped = argv
                continue
            try:
                time_command(argv, env)  # warm-up: page cache, the engine's first container
                argvs[key] = argv
            except Failed as exc:
                rows[key].skipped = f"warm-up failed: {exc}"
        _measure(rows, argvs, env, rounds, deadline)
    _judge(rows)
    return list(rows.values())


def _measure(
    rows: dict[str, CliRow],
    argvs: dict[str, list[str]],
    env: Mapping[str, str],
    rounds: int,
    deadline: float | None,
) -> None:
    keys = list(argvs)
    for number in range(max(rounds, 0)):
        if deadline is not None and time.monotonic() >= deadline:
            log(f"deadline reached after {number} rounds")
            break
        shift = number % len(keys) if keys else 0
        for key in keys[shift:] + keys[:shift]:
            if key not in argvs:
                continue
            try:
                wall, cpu = time_command(argvs[key], env)
            except Failed as exc:
                rows[key].failures += 1
                if rows[key].failures >= 3:
                    rows[key].skipped = f"failed 3 times, last: {exc}"
                    del argvs[key]
                continue
            rows[key].samples_ms.append(wall)
            rows[key].cpu_ms.append(cpu)


def _judge(rows: dict[str, CliRow]) -> None:
    for row in rows.values():
        base = rows[row.baseline].median if row.baseline else None
        if row.median is not None and base:
            row.ratio = row.median / base
    ps, run = rows["wharf-ps"], rows["wharf-run"]
    if ps.median is not None:
        ps.met = ps.median <= PS_GOAL_MS
    if run.ratio is not None:
        run.met = run.ratio <= 1.0


def format_rows(rows: Sequence[CliRow]) -> str:
    """The table: medians (wall and CPU), ratios to the baselines, goals and whether they are met."""
    lines = [f"{'case':<40} {'median ms':>9} {'cpu ms':>7} {'ratio':>7}  {'baseline':<11} goal"]
    for row in rows:
        median, cpu = row.median, row.cpu_median
        if median is None or cpu is None:
            lines.append(f"{row.label:<40} skipped: {row.skipped or 'no samples'}")
            continue
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
        verdict = "" if row.met is None else ("met" if row.met else "not met")
        fails = f" ({row.failures} failed)" if row.failures else ""
        lines.append(
            f"{row.label:<40} {median:>9.1f} {cpu:>7.1f} {ratio:>7}  {row.baseline or '(floor)':<11} "
            f"{row.goal} {verdict}{fails}".rstrip()
        )
    samples = max((len(row.samples_ms) for row in rows), default=0)
    lines.append(f"{samples} interleaved rounds after one warm-up run per case")
    return "\n".join(lines)


@dataclass(slots=True)
class ImportRow:
    """What ``wharf <command>`` imports after the interpreter's own start-up."""

    command: str
    modules: int = 0
    total_ms: float = 0.0
    packages: list[tuple[str, float]] = field(default_factory=list)  # by top-level package, largest first
    skipped: str | None = None


def import_rows(sock: Path, runs: int = 9) -> list[ImportRow]:
    """``python -X importtime`` of each of :data:`IMPORT_COMMANDS` against the engine at ``sock``.

    Each module counts at its fastest of ``runs`` runs (the least disturbed by other work); logs and
    exec run against a container this starts (and removes).
    """
    compile_sources()
    env = {**os.environ, "WHARF_HOST": f"unix://{sock}"}
    wharf = str(VENV_BIN / "wharf")
    subprocess.run([wharf, "rm", "-f", TARGET], env=env, capture_output=True, check=False, timeout=60)
    subprocess.run(
        [wharf, "run", "-d", "--name", TARGET, "busybox", "sleep", "600"],
        env=env,
        capture_output=True,
        check=False,
        timeout=60,
    )
    try:
        return [_import_row(command, env, runs) for command in IMPORT_COMMANDS]
    finally:
        subprocess.run([wharf, "rm", "-f", TARGET], env=env, capture_output=True, check=False, timeout=60)


def _import_row(command: Sequence[str], env: Mapping[str, str], runs: int) -> ImportRow:
    row = ImportRow(" ".join(command))
    fastest: dict[str, int] = {}
    argv = [str(VENV_BIN / "python"), "-X", "importtime", "-c", WHARF_PROCESS, *command]
    for _ in range(max(runs, 1)):
        proc = subprocess.run(argv, env=dict(env), capture_output=True, text=True, timeout=RUN_TIMEOUT)
        if proc.returncode != 0:
            row.skipped = f"exited {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}"
            return row
        lines = proc.stderr.splitlines()
        start = next((i for i, line in enumerate(lines) if line.rstrip().endswith("| site")), -1)
        for found in filter(None, (_IMPORT_LINE.match(line) for line in lines[start + 1 :])):
            fastest[found[2]] = min(fastest.get(found[2], 1 << 62), int(found[1]))
    packages: collections.Counter[str] = collections.Counter()
    for name, micros in fastest.items():
        packages[name.split(".")[0]] += micros
    row.modules, row.total_ms = len(fastest), sum(fastest.values()) / 1000
    row.packages = [(name, micros / 1000) for name, micros in packages.most_common(6)]
    return row


def format_imports(rows: Sequence[ImportRow]) -> str:
    lines = [f"{'imports of wharf ...':<28} {'modules':>7} {'ms':>6}  largest (ms, by top-level package)"]
    for row in rows:
        if row.skipped:
            lines.append(f"{row.command:<28} skipped: {row.skipped}")
            continue
        top = ", ".join(f"{name} {ms:.1f}" for name, ms in row.packages)
        lines.append(f"{row.command:<28} {row.modules:>7} {row.total_ms:>6.1f}  {top}")
    return "\n".join(lines)


def _standalone(args: argparse.Namespace) -> tuple[list[CliRow], list[ImportRow]]:
    """Start an engine of its own, import busybox, measure; everything is removed on the way out."""
    if TYPE_CHECKING:
        from bench import bench as base
        from bench.bridge_engine import start_engine
    else:  # run as a script, sys.path[0] is bench/
        from bridge_engine import start_engine

        import bench as base
    signal.signal(signal.SIGTERM, base._terminate)
    deadline = time.monotonic() + args.max_seconds
    with (
        tempfile.TemporaryDirectory(prefix="wharf-cli-bench-", ignore_cleanup_errors=True) as tmp_name,
        contextlib.ExitStack() as stack,
    ):
        tmp = Path(tmp_name)
        stack.callback(base.unmount_under, tmp)  # runs last: after the engine has stopped
        try:
            image = base.prepare_image((args.image or base.DEFAULT_IMAGE).resolve())
            sock = start_engine(stack, tmp, image).sock
        except base.Skip as exc:
            log(f"skipped: {exc}")
            skipped = [
                CliRow(key, label, baseline, goal, skipped=str(exc))
                for key, label, _, _, baseline, goal in CASES
            ]
            return skipped, []
        log(f"measuring {len(CASES)} cases, {args.rounds} rounds")
        rows = cli_rows(sock, rounds=args.rounds, deadline=deadline, also=args.also)
        imports = import_rows(sock, args.imports) if args.imports > 0 else []
        return rows, imports


def also_option(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path or name in {tool for *_, tool, _, _ in CASES}:
        raise argparse.ArgumentTypeError(
            f"expected NAME=EXECUTABLE (NAME not python, wharf or docker): {text!r}"
        )
    if not Path(path).is_file():
        raise argparse.ArgumentTypeError(f"no executable at {path}")
    return name, str(Path(path).absolute())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=100, help="interleaved rounds (default: %(default)s)")
    parser.add_argument("--max-seconds", type=float, default=180.0, help="time budget (default: %(default)s)")
    parser.add_argument("--imports", type=int, default=0, help="importtime runs per command (default: none)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--image", type=Path, help="busybox rootfs tar (default: bench.py's)")
    parser.add_argument(
        "--also",
        type=also_option,
        action="append",
        default=[],
        metavar="NAME=EXECUTABLE",
        help="also time ps and run through this wharf executable, interleaved (repeatable)",
    )
    args = parser.parse_args(argv)
    rows, imports = _standalone(args)
    print(format_rows(rows))
    if imports:
        print(format_imports(imports))
    if args.json is not None:
        payload = {"rows": [row.as_json() for row in rows], "imports": [asdict(row) for row in imports]}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
