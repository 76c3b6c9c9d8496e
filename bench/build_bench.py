"""How long a 9-step Dockerfile with a 10 MB context takes to build: wharf, docker -> wharf, buildah.

Three cases per builder, all interleaved round-robin after one warm-up run each (``bench.measure``):

- ``cold``: ``--no-cache``, every step runs;
- ``cached``: the same context again, every step comes from the cache;
- ``changed``: ``app.txt`` gets new content (unique per run), so only the last COPY and CMD re-run.

``wharf build`` and ``docker build`` (``DOCKER_BUILDKIT=0``, the classic ``POST /build``) talk to a wharf
engine this bench starts; ``buildah bud --layers --runtime runc`` is the peer, with private storage
(overlay, else vfs) into which busybox is imported from the same tar. The table gives medians and each
wharf/docker case's ratio to the same buildah case. After measuring, an untimed check per builder counts
the cache hits of a cached and a changed build and reads the new ``app.txt`` back from the image.

Everything lives in a private temp dir; every process started is stopped by pid, buildah's storage is
unmounted and removed on the way out (SIGTERM included). Nothing goes to the network.

Usage: ``.venv/bin/python bench/build_bench.py [--rounds 5] [--max-seconds 400] [--json PATH] [--pycache]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.util import cache_from_source
from pathlib import Path
from typing import TYPE_CHECKING, Any

# bench/bench.py (``make bench``), whose helpers this reuses: run as a script, sys.path[0] is bench/;
# mypy, run from the repo root, sees bench/ as a namespace package instead
if TYPE_CHECKING:
    from bench import bench as base
else:
    import bench as base

DOCKERFILE = """\
FROM busybox
ENV APP=/app
WORKDIR /app
COPY requirements.txt .
RUN echo deps $(cat requirements.txt) > /deps
COPY data /app/data
RUN du -s /app/data > /size
COPY app.txt /app/app.txt
CMD ["cat", "/app/app.txt"]
"""
REQUIREMENTS = "flask==3.0.0 requests==2.31.0\n"
DATA_FILES, DATA_FILE_SIZE, SEED = 10, 1 << 20, 20240601
HITS = {"cached": 8, "changed": 6}  # "Using cache" lines expected: steps 2-9, steps 2-7
CACHED_TARGET = 0.2  # seconds, for a fully cached rebuild
PEER = "buildah"
BUILDERS = {"wharf": "wharf build", "docker": "docker build -> wharf", "buildah": "buildah bud"}
SCENARIOS = {"cold": "cold (--no-cache)", "cached": "cached", "changed": "last COPY changed"}
TAGS = {"cold": "bb:cold", "cached": "bb:cached", "changed": "bb:changed"}


def case_specs() -> list[tuple[str, str, str | None]]:
    """(key, label, peer key) for every builder x scenario; the peer's own cases have no baseline."""
    return [
        (f"{b}-{s}", f"{label}: {what}", None if b == PEER else f"{PEER}-{s}")
        for b, label in BUILDERS.items()
        for s, what in SCENARIOS.items()
    ]


@dataclass(slots=True)
class Builder:
    """How one builder is called: ``prefix + [--no-cache] -t TAG CTX``, and how to read a file back."""

    prefix: list[str]
    env: Mapping[str, str]
    read_back: Callable[[str], str]  # image tag -> "app.txt + /deps + /size" as the image has them
    notes: list[str] = field(default_factory=list)

    def argv(self, tag: str, context: Path, *, no_cache: bool = False) -> list[str]:
        return [*self.prefix, *(["--no-cache"] if no_cache else []), "-t", tag, str(context)]


def write_context(root: Path) -> Path:
    """The Dockerfile, requirements.txt, app.txt and data/ (10 x 1 MiB from a seeded RNG)."""
    rng = random.Random(SEED)
    (root / "data").mkdir(parents=True)
    for n in range(DATA_FILES):
        (root / "data" / f"blob{n:02d}.bin").write_bytes(rng.randbytes(DATA_FILE_SIZE))
    (root / "Dockerfile").write_text(DOCKERFILE)
    (root / "requirements.txt").write_text(REQUIREMENTS)
    (root / "app.txt").write_text("app v0\n")
    return root


def changing(context: Path, argv: list[str], who: str) -> Callable[[int], list[str]]:
    """The argv of a ``changed`` run; first (untimed) gives app.txt content no build has seen yet."""

    def make(i: int) -> list[str]:
        (context / "app.txt").write_text(f"app {who} run {i} {time.time_ns()}\n")
        return argv

    return make


def run_text(argv: Sequence[str], env: Mapping[str, str]) -> str:
    """stdout and stderr of a command that must succeed (Skip otherwise)."""
    try:
        proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise base.Skip(f"{argv[0]}: {exc}") from exc
    text = (proc.stdout + proc.stderr).decode(errors="replace")
    if proc.returncode != 0:
        raise base.Skip(f"{shlex.join(argv[:3])}… exited {proc.returncode}: {base.tail(text)}")
    return text


def cli_env(tmp: Path, sock: Path, pycache: bool) -> tuple[dict[str, str], list[str]]:
    """The wharf CLI's environment, and a note when it has no bytecode to load (it compiles every run)."""
    env = {**os.environ, "WHARF_HOST": f"unix://{sock}"}
    if pycache:  # as an installed CLI: .pyc written once (warm-up), in the temp dir rather than the repo
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
        return env, ["--pycache: bytecode cached in the temp dir"]
    main_py = base.REPO_ROOT / "cli" / "src" / "wharf_cli" / "main.py"
    if os.environ.get("PYTHONDONTWRITEBYTECODE") and not Path(cache_from_source(str(main_py))).exists():
        return env, ["PYTHONDONTWRITEBYTECODE is set and wharf_cli has no .pyc: every run compiles the CLI"]
    return env, []


def engine_builders(
    stack: contextlib.ExitStack, tmp: Path, image: Path, pycache: bool
) -> tuple[dict[str, Builder], dict[str, str]]:
    """``wharf build`` and ``docker build`` against one wharf engine started here."""
    sock = base.setup_engine(stack, tmp, image)  # raises Skip: both builders go
    found: dict[str, Builder] = {}
    skipped: dict[str, str] = {}
    cat = ["cat", "/app/app.txt", "/deps", "/size"]
    wharf_env, wharf_notes = cli_env(tmp, sock, pycache)
    docker_env = {**base.docker_env(tmp, sock), "DOCKER_BUILDKIT": "0"}
    for key, path, env in (
        ("wharf", base.VENV_BIN / "wharf", wharf_env),
        ("docker", base.DOCKER, docker_env),
    ):
        try:
            exe = base.tool(path)
        except base.Skip as exc:
            skipped[key] = str(exc)
            continue

        def read_back(tag: str, exe: str = exe, env: Mapping[str, str] = env) -> str:
            return run_text([exe, "run", "--rm", tag, *cat], env)

        found[key] = Builder([exe, "build"], env, read_back, wharf_notes if key == "wharf" else [])
    return found, skipped


def setup_buildah(stack: contextlib.ExitStack, tmp: Path, image: Path, probe: Path) -> Builder:
    """busybox into a private buildah store (overlay, else vfs); RUN isolation oci, else chroot."""
    buildah = base.tool("buildah")
    store = tmp / "buildah"
    env = {**os.environ, "TMPDIR": str(store / "tmp")}
    stack.callback(base.unmount_under, store)  # runs after the ``rm --all`` below
    errors: list[str] = []
    for driver in ("overlay", "vfs"):
        (store / "tmp").mkdir(parents=True, exist_ok=True)
        flags = [buildah, "--root", str(store / "root"), "--runroot", str(store / "run")]
        flags += ["--storage-driver", driver]
        stack.callback(subprocess.run, [*flags, "rm", "--all"], capture_output=True, check=False)
        try:
            cid = run_text([*flags, "from", "scratch"], env).strip().splitlines()[-1]
            run_text([*flags, "add", cid, str(image), "/"], env)
            run_text([*flags, "config", "--cmd", "sh", cid], env)
            run_text([*flags, "commit", "-q", "--rm", cid, "busybox:latest"], env)
        except base.Skip as exc:
            errors.append(f"{driver}: {exc}")
            base.unmount_under(store)
            shutil.rmtree(store, ignore_errors=True)
            continue
        break
    else:
        raise base.Skip("importing busybox into buildah failed: " + "; ".join(errors))
    ulimits = [arg for u in base.ULIMITS for arg in ("--ulimit", u)]
    for isolation in ("oci", "chroot"):
        prefix = [*flags, "bud", "--layers", "--runtime", "runc", "--isolation", isolation, "--pull=never"]
        prefix += ulimits
        try:
            run_text([*prefix, "-t", "probe", str(probe)], env)
        except base.Skip as exc:
            errors.append(f"isolation {isolation}: {exc}")
            continue

        def read_back(tag: str) -> str:
            cid = run_text([*flags, "from", "--pull=never", tag], env).strip().splitlines()[-1]
            try:
                root = Path(run_text([*flags, "mount", cid], env).strip().splitlines()[-1])
                return "".join((root / p).read_text() for p in ("app/app.txt", "deps", "size"))
            finally:
                subprocess.run([*flags, "umount", cid], capture_output=True, check=False)
                subprocess.run([*flags, "rm", cid], capture_output=True, check=False)

        notes = [f"storage driver {driver}", f"RUN isolation {isolation}", *errors]
        return Builder(prefix, env, read_back, notes)
    raise base.Skip("buildah bud cannot RUN here: " + "; ".join(errors))


def setup(
    stack: contextlib.ExitStack, tmp: Path, image_arg: Path, pycache: bool
) -> tuple[dict[str, Builder], dict[str, str], Path, Path]:
    """The builders that work here (the rest map to why not) and the two contexts."""
    context = write_context(tmp / "context")
    changed = write_context(tmp / "context-changed")  # same content; app.txt is rewritten per run
    builders: dict[str, Builder] = {}
    skipped: dict[str, str] = {}
    try:
        image = base.prepare_image(image_arg)
    except base.Skip as exc:
        return builders, dict.fromkeys(BUILDERS, f"no busybox image: {exc}"), context, changed
    try:
        found, missing = engine_builders(stack, tmp, image, pycache)
        builders.update(found)
        skipped.update(missing)
    except base.Skip as exc:
        skipped.update(dict.fromkeys(("wharf", "docker"), str(exc)))
    probe = tmp / "probe"
    probe.mkdir()
    (probe / "Dockerfile").write_text("FROM busybox\nRUN echo probe > /probe\n")
    try:
        builders[PEER] = setup_buildah(stack, tmp, image, probe)
    except base.Skip as exc:
        skipped[PEER] = str(exc)
    return builders, skipped, context, changed


def make_cases(builders: dict[str, Builder], context: Path, changed: Path) -> dict[str, base.Case]:
    cases: dict[str, base.Case] = {}
    for key, b in builders.items():
        cold = b.argv(TAGS["cold"], context, no_cache=True)
        cases[f"{key}-cold"] = base.Case(base.fixed(*cold), b.env)
        cases[f"{key}-cached"] = base.Case(base.fixed(*b.argv(TAGS["cached"], context)), b.env)
        cases[f"{key}-changed"] = base.Case(changing(changed, b.argv(TAGS["changed"], changed), key), b.env)
    return cases


def check(key: str, b: Builder, context: Path, changed: Path) -> str:
    """Untimed: cache hits of a cached and a changed build, and the new app.txt read back from the image."""
    problems: list[str] = []
    try:
        hits = run_text(b.argv(TAGS["cached"], context), b.env).count("Using cache")
        if hits != HITS["cached"]:
            problems.append(f"cached build used the cache {hits} times, expected {HITS['cached']}")
        marker = f"check {key} {time.time_ns()}\n"
        (changed / "app.txt").write_text(marker)
        hits = run_text(b.argv(TAGS["changed"], changed), b.env).count("Using cache")
        if hits != HITS["changed"]:
            problems.append(f"changed build used the cache {hits} times, expected {HITS['changed']}")
        text = b.read_back(TAGS["changed"])
        words = REQUIREMENTS.split()
        if not (text.startswith(marker) and f"deps {' '.join(words)}\n" in text and "/app/data" in text):
            problems.append(f"image content wrong: {text!r}")
    except base.Skip as exc:
        problems.append(str(exc))
    return "ok" if not problems else "; ".join(problems)


# --- report --------------------------------------------------------------------------------------


def seconds(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000


def report(outcomes: dict[str, base.Outcome], rounds: int, checks: dict[str, str]) -> str:
    head = f"{'case':<44} {'median s':>9} {'min s':>7} {'max s':>7} {'vs peer':>8}"
    lines = [head]
    for o in outcomes.values():
        median = seconds(o.median)
        if median is None:
            lines.append(f"{o.label:<44} skipped: {o.skipped or 'no samples'}")
            continue
        peer = seconds(outcomes[o.baseline].median) if o.baseline else None
        ratio = f"{median / peer:.2f}x" if peer else ("(peer)" if o.baseline is None else "-")
        fails = f"  ({o.failures} failed)" if o.failures else ""
        low, high = min(o.samples) / 1000, max(o.samples) / 1000
        lines.append(f"{o.label:<44} {median:>9.3f} {low:>7.3f} {high:>7.3f} {ratio:>8}{fails}")
    lines.append("")
    for t in targets(outcomes):
        lines.append(f"target: {t['target']}: {t['case']}: {t['detail']} -> {t['verdict']}")
    for key, result in checks.items():
        lines.append(f"check: {BUILDERS[key]}: {result}")
    lines.append(f"{rounds} interleaved rounds after one warm-up run per case; ratio = median / buildah's")
    return "\n".join(lines)


def targets(outcomes: dict[str, base.Outcome]) -> list[dict[str, Any]]:
    """Cached rebuild under 0.2 s, and every wharf/docker case faster than the same buildah case."""
    found: list[dict[str, Any]] = []
    for o in outcomes.values():
        if o.baseline is None:
            continue
        median = seconds(o.median)
        peer = seconds(outcomes[o.baseline].median)
        if o.key.endswith("-cached"):
            detail = "no samples" if median is None else f"{median:.3f} s"
            verdict = "n/a" if median is None else ("met" if median < CACHED_TARGET else "MISSED")
            found.append(
                {"target": f"cached rebuild < {CACHED_TARGET} s", "case": o.label}
                | {"detail": detail, "verdict": verdict, "value": median}
            )
        if median is None or peer is None:
            verdict, detail = "n/a", "no samples"
        else:
            verdict = "met" if median < peer else "MISSED"
            detail = f"{median:.3f} s vs {peer:.3f} s ({peer / median:.2f}x faster)"
        found.append(
            {"target": "faster than buildah", "case": o.label, "detail": detail}
            | {"verdict": verdict, "value": median, "peer": peer}
        )
    return found


def as_json(
    outcomes: dict[str, base.Outcome], rounds: int, commands: dict[str, str], extra: dict[str, Any]
) -> dict[str, Any]:
    cases: list[dict[str, Any]] = []
    for o in outcomes.values():
        median, peer = seconds(o.median), seconds(outcomes[o.baseline].median) if o.baseline else None
        cases.append(
            {"key": o.key, "label": o.label, "peer": o.baseline, "command": commands.get(o.key)}
            | {"median_s": median, "min_s": seconds(min(o.samples, default=None))}
            | {"max_s": seconds(max(o.samples, default=None))}
            | {"ratio_to_peer": median / peer if median is not None and peer else None}
            | {"samples_s": [s / 1000 for s in o.samples], "failures": o.failures, "skipped": o.skipped}
        )
    return {"rounds": rounds, "cases": cases, "targets": targets(outcomes), **extra}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default: %(default)s)")
    parser.add_argument("--max-seconds", type=float, default=400.0, help="overall time budget (default: 400)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument(
        "--image", type=Path, default=base.DEFAULT_IMAGE, help="busybox rootfs tar (built if default)"
    )
    parser.add_argument(
        "--pycache", action="store_true", help="let the wharf CLI cache its bytecode (in the temp dir)"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, base._terminate)

    deadline = time.monotonic() + args.max_seconds
    outcomes = {key: base.Outcome(key, label, peer) for key, label, peer in case_specs()}
    checks: dict[str, str] = {}
    commands: dict[str, str] = {}
    notes: dict[str, list[str]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="wharf-build-bench-", ignore_cleanup_errors=True) as tmp,
        contextlib.ExitStack() as stack,
    ):
        stack.callback(base.unmount_under, Path(tmp))  # runs last: after every daemon has stopped
        builders, skipped, context, changed = setup(stack, Path(tmp), args.image.resolve(), args.pycache)
        for key, reason in skipped.items():
            for scenario in SCENARIOS:
                outcomes[f"{key}-{scenario}"].skipped = reason
            base.log(f"skipping {BUILDERS[key]}: {reason}")
        cases = make_cases(builders, context, changed)
        for key, case in cases.items():
            env = case.env or {}
            shown = [f"{k}={env[k]}" for k in ("WHARF_HOST", "DOCKER_HOST", "DOCKER_BUILDKIT") if k in env]
            commands[key] = shlex.join([*shown, *case.argv(0)])
            base.log(f"{key}: {commands[key]}")
        for key, b in builders.items():
            notes[key] = b.notes
            if b.notes:
                base.log(f"{BUILDERS[key]}: {', '.join(b.notes)}")
        base.log(f"measuring {len(cases)} cases: {args.rounds} rounds")
        rounds = base.measure(cases, outcomes, max(args.rounds, 0), deadline)
        for key, b in builders.items():
            checks[key] = check(key, b, context, changed)

    print(report(outcomes, rounds, checks))
    for key, b_notes in notes.items():
        if b_notes:
            print(f"note: {BUILDERS[key]}: {', '.join(b_notes)}")
    if args.json is not None:
        extra = {"checks": checks, "notes": notes, "context_bytes": DATA_FILES * DATA_FILE_SIZE}
        args.json.write_text(json.dumps(as_json(outcomes, rounds, commands, extra), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
