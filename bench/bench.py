"""``make bench``: how long ``run --rm busybox true`` takes through wharf, next to runc alone and podman.

Each case in ``CASE_SPECS`` runs once to warm up, then all run round-robin (each round starts one case later)
and the table gives medians and the ratio to the case's floor: ``runc run`` of a prepared busybox bundle for
the container cases, ``python -c pass`` for ``wharf ps``. The docker CLI cases point ``DOCKER_HOST`` at the
bench's own wharf engine and at ``podman system service``; the TLS row is ``tls_bench.py``'s, the network row
``network_cycle.py``'s (``network_bench.py`` times its steps one by one), the DNS row ``dns_bench.py``'s.
Everything lives in a private temp dir; a case whose tool is missing or whose set-up fails is printed as
skipped. Every process started is stopped by pid and the temp dir removed on the way out (SIGTERM too).

Usage: ``.venv/bin/python bench/bench.py [--rounds 15] [--max-seconds 300] [--json PATH] [--image TAR]``
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy" / "images" / "busybox"))
from seed import UnixConnection, seed

if TYPE_CHECKING:  # run as a script, sys.path[0] is bench/; mypy sees bench/ as a namespace package
    from bench import network_cycle
    from bench.dns_bench import dns_row
    from bench.tls_bench import CertsFailed, engine_tls, tls_verdict
else:
    import network_cycle
    from dns_bench import dns_row
    from tls_bench import CertsFailed, engine_tls, tls_verdict

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = REPO_ROOT / ".venv" / "bin"
BUILD_SCRIPT = REPO_ROOT / "deploy" / "images" / "busybox" / "build.py"
DEFAULT_IMAGE = REPO_ROOT / ".cache" / "images" / "busybox.tar"
DOCKER = Path("/usr/local/bin/docker")
RUN_TIMEOUT = 60.0  # one timed command
START_TIMEOUT = 30.0  # a daemon answering /_ping
# The host lacks CAP_SYS_RESOURCE: hard nofile is 20000, so containers must stay within it.
ULIMITS = ("nofile=20000:20000", "nproc=32768:32768")

# key, label, baseline key (None for a floor)
CASE_SPECS: tuple[tuple[str, str, str | None], ...] = (
    ("floor", "runc run (floor)", None),
    ("wharf", "wharf run --rm busybox true", "floor"),
    ("docker-wharf", "docker run --rm busybox true -> wharf", "floor"),
    ("docker-wharf-tls", "  same, tcp+tlsverify on loopback", "docker-wharf"),
    ("podman", "podman run --rm busybox true", "floor"),
    ("docker-podman", "docker run --rm busybox true -> podman", "floor"),
    ("docker-network", "docker network create..connect..rm", None),  # network_bench.py: each
    ("python", "python -c pass (CLI floor)", None),
    ("wharf-ps", "wharf ps", "python"),
)


class Skip(Exception):
    """A case cannot be measured; the message says why."""


def fixed(*argv: str) -> Callable[[int], list[str]]:
    """The argv of a case whose command is the same on every run."""
    return lambda i: list(argv)


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def tail(text: str | bytes, lines: int = 3) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return " | ".join(text.strip().splitlines()[-lines:]) or "(no output)"


def run_checked(argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> str:
    try:
        proc = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Skip(f"{argv[0]}: {exc}") from exc
    if proc.returncode != 0:
        raise Skip(f"{' '.join(argv[:3])}… exited {proc.returncode}: {tail(proc.stderr or proc.stdout)}")
    return proc.stdout


def tool(path: Path | str) -> str:
    if (found := shutil.which(str(path))) is None:
        raise Skip(f"{path} not found")
    return found


def stop_process(proc: subprocess.Popen[bytes], name: str) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            log(f"{name} (pid {proc.pid}) ignored SIGTERM; killing it")
            proc.kill()
            proc.wait(timeout=5)


def start_daemon(
    stack: contextlib.ExitStack, name: str, argv: list[str], sock: Path, logfile: Path, env: Mapping[str, str]
) -> None:
    """Start a daemon, register its stop, and wait for ``GET /_ping`` on its socket."""
    with open(logfile, "wb") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=dict(env))
    stack.callback(stop_process, proc, name)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Skip(f"{name} exited {proc.returncode}: {tail(logfile.read_bytes())}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn = UnixConnection(str(sock), timeout=2)
            try:
                conn.request("GET", "/_ping")
                if conn.getresponse().status == 200:
                    return
            finally:
                conn.close()
        time.sleep(0.1)
    raise Skip(f"{name} did not answer /_ping within {START_TIMEOUT:.0f}s: {tail(logfile.read_bytes())}")


def import_image(sock: Path, image: Path) -> None:
    """busybox over the Docker API (wharf or podman's service), as ``make run`` seeds it."""
    try:
        seed(str(sock), image)
    except (OSError, http.client.HTTPException, SystemExit) as exc:
        raise Skip(f"importing busybox failed: {exc}") from exc


def unmount_under(root: Path) -> None:
    """Lazily unmount whatever is still mounted below ``root`` (podman's overlay), deepest first."""
    prefix = str(root) + "/"
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        points = [line.split()[4] for line in fh]
    for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)


@dataclass(frozen=True, slots=True)
class Case:
    """A command to time; ``argv`` gets the run number so ids can be unique."""

    argv: Callable[[int], list[str]]
    env: Mapping[str, str] | None = None
    after: Callable[[int], None] | None = None  # untimed clean-up after each run


@dataclass(slots=True)
class Outcome:
    key: str
    label: str
    baseline: str | None
    samples: list[float] = field(default_factory=list)
    skipped: str | None = None
    failures: int = 0

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None


# --- cases ---------------------------------------------------------------------------------------
def prepare_image(image: Path) -> Path:
    if image == DEFAULT_IMAGE:
        run_checked([sys.executable, str(BUILD_SCRIPT), "--quiet", "--if-missing", "--output", str(image)])
    if not image.is_file():
        raise Skip(f"{image} does not exist")
    return image


def setup_floor(tmp: Path, image: Path) -> Case:
    runc = tool("runc")
    bundle, state = tmp / "bundle", tmp / "runc"
    (bundle / "rootfs").mkdir(parents=True)
    run_checked(["tar", "-xf", str(image), "-C", str(bundle / "rootfs")])
    run_checked([runc, "spec"], cwd=bundle)
    spec = json.loads((bundle / "config.json").read_text())
    spec["process"].update(args=["true"], terminal=False)
    spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]
    (bundle / "config.json").write_text(json.dumps(spec))

    def cid(i: int) -> str:
        return f"wharf-bench-{os.getpid()}-{i}"

    def delete(i: int) -> None:
        subprocess.run([runc, "--root", str(state), "delete", "-f", cid(i)], capture_output=True, check=False)

    return Case(lambda i: [runc, "--root", str(state), "run", "--bundle", str(bundle), cid(i)], after=delete)


def setup_engine(stack: contextlib.ExitStack, tmp: Path, image: Path, extra: Sequence[str] = ()) -> Path:
    engine = tool(VENV_BIN / "wharf-engine")
    sock = tmp / "engine.sock"
    argv = [engine, "--data-root", str(tmp / "root"), "-H", f"unix://{sock}"]
    argv += ["--pidfile", str(tmp / "engine.pid"), *extra]
    try:
        start_daemon(stack, "wharf-engine", argv, sock, tmp / "engine.log", os.environ)
    except Skip as exc:
        raise Skip(f"engine failed to start: {exc}") from exc
    import_image(sock, image)
    return sock


def podman_flags(tmp: Path, driver: str) -> list[str]:
    store = tmp / "podman"
    return [
        *("--root", str(store / "root"), "--runroot", str(store / "run"), "--tmpdir", str(store / "tmp")),
        *("--storage-driver", driver, "--cgroup-manager", "cgroupfs", "--events-backend", "file"),
        *("--runtime", "runc"),
    ]


def setup_podman(stack: contextlib.ExitStack, tmp: Path, image: Path) -> tuple[list[str], dict[str, str]]:
    """Import busybox into a private podman store (overlay, else vfs); return the podman argv and env."""
    podman = tool("podman")
    conf = tmp / "containers.conf"  # the API service takes no --ulimit; give it the host-compatible defaults
    conf.write_text(f"[containers]\ndefault_ulimits = {json.dumps(list(ULIMITS))}\n")
    env = {**os.environ, "CONTAINERS_CONF": str(conf)}
    errors: list[str] = []
    for driver in ("overlay", "vfs"):
        base = [podman, *podman_flags(tmp, driver)]
        stack.callback(unmount_under, tmp / "podman")
        stack.callback(subprocess.run, [*base, "rm", "-af", "-t", "0"], capture_output=True, check=False)
        try:
            run_checked([*base, "import", "--change", 'CMD ["sh"]', str(image), "busybox:latest"], env=env)
        except Skip as exc:
            errors.append(f"{driver}: {exc}")
            unmount_under(tmp / "podman")
            shutil.rmtree(tmp / "podman", ignore_errors=True)
            continue
        return base, env
    raise Skip("podman import failed: " + "; ".join(errors))


def docker_env(tmp: Path, sock: Path) -> dict[str, str]:
    config = tmp / "docker-config"
    config.mkdir(exist_ok=True)
    return {
        **os.environ,
        "DOCKER_HOST": f"unix://{sock}",
        "DOCKER_CONFIG": str(config),
        "DOCKER_CLI_HINTS": "0",
    }


def setup_cases(
    stack: contextlib.ExitStack, tmp: Path, image_arg: Path
) -> tuple[dict[str, Case], dict[str, str]]:
    """Build every case that can run here; the rest map to the reason they are skipped."""
    cases: dict[str, Case] = {}
    skipped: dict[str, str] = {}
    true = ["run", "--rm", "busybox", "true"]

    def attempt(keys: Sequence[str], make: Callable[[], Sequence[Case]]) -> None:
        try:
            cases.update(zip(keys, make(), strict=True))
        except Skip as exc:
            skipped.update(dict.fromkeys(keys, str(exc)))

    attempt(["python"], lambda: [Case(fixed(tool(str(VENV_BIN / "python")), "-c", "pass"))])
    try:
        image = prepare_image(image_arg)
    except Skip as exc:
        skipped.update({key: f"no busybox image: {exc}" for key, _, _ in CASE_SPECS if key != "python"})
        return cases, skipped

    attempt(["floor"], lambda: [setup_floor(tmp, image)])
    try:
        engine_flags, tls_flags = engine_tls(tool(VENV_BIN / "wharf-engine"), tmp)
    except (Skip, CertsFailed) as exc:
        engine_flags, tls_flags = [], []
        skipped["docker-wharf-tls"] = f"no TLS certificates: {exc}"
    try:
        sock = setup_engine(stack, tmp, image, [*engine_flags, *network_cycle.pool_flags()])
    except Skip as exc:
        skipped.update(dict.fromkeys(("wharf", "docker-wharf", "docker-wharf-tls", "wharf-ps"), str(exc)))
    else:
        wharf_env = {**os.environ, "WHARF_HOST": f"unix://{sock}"}
        wharf = str(VENV_BIN / "wharf")
        attempt(["wharf"], lambda: [Case(fixed(tool(wharf), *true), wharf_env)])
        attempt(["wharf-ps"], lambda: [Case(fixed(tool(wharf), "ps"), wharf_env)])
        attempt(["docker-wharf"], lambda: [Case(fixed(tool(DOCKER), *true), docker_env(tmp, sock))])
        if tls_flags:
            tls_case = Case(fixed(tool(DOCKER), *tls_flags, *true), docker_env(tmp, sock))
            attempt(["docker-wharf-tls"], lambda: [tls_case])
        nenv, network = docker_env(tmp, sock), network_cycle.prepare
        attempt(["docker-network"], lambda: [Case(network(stack, nenv, tmp, run_checked), nenv)])

    try:
        podman, podman_env = setup_podman(stack, tmp, image)
    except Skip as exc:
        skipped.update(dict.fromkeys(("podman", "docker-podman"), str(exc)))
        return cases, skipped
    ulimits = [arg for u in ULIMITS for arg in ("--ulimit", u)]
    cases["podman"] = Case(fixed(*podman, "run", "--rm", *ulimits, "busybox", "true"), podman_env)

    def podman_service() -> list[Case]:
        docker = tool(DOCKER)
        sock = tmp / "podman.sock"
        argv = [*podman, "system", "service", "--time=0", f"unix://{sock}"]
        start_daemon(stack, "podman system service", argv, sock, tmp / "podman-service.log", podman_env)
        return [Case(fixed(docker, *true), docker_env(tmp, sock))]

    attempt(["docker-podman"], podman_service)
    return cases, skipped


def run_once(case: Case, i: int) -> float:
    """Run the case once; return wall time in ms, or raise Skip with its error."""
    argv = case.argv(i)
    try:
        start = time.perf_counter()
        proc = subprocess.run(
            argv, env=case.env, stdin=subprocess.DEVNULL, capture_output=True, timeout=RUN_TIMEOUT
        )
        elapsed = (time.perf_counter() - start) * 1000
    except subprocess.TimeoutExpired as exc:
        raise Skip(f"timed out after {RUN_TIMEOUT:.0f}s") from exc
    finally:
        if case.after is not None:
            case.after(i)
    if proc.returncode != 0:
        raise Skip(f"exited {proc.returncode}: {tail(proc.stderr or proc.stdout)}")
    return elapsed


def measure(cases: dict[str, Case], outcomes: dict[str, Outcome], rounds: int, deadline: float) -> int:
    """Warm each case up once, then run round-robin; return the number of complete rounds."""
    counter = 0
    for key in list(cases):
        counter += 1
        try:
            run_once(cases[key], counter)
        except Skip as exc:
            outcomes[key].skipped = f"warm-up failed: {exc}"
            del cases[key]
    done, keys = 0, list(cases)
    for r in range(rounds):
        if time.monotonic() >= deadline:
            log(f"--max-seconds reached after {done} rounds")
            break
        shift = r % len(keys) if keys else 0
        for key in keys[shift:] + keys[:shift]:
            if key not in cases:
                continue
            counter += 1
            try:
                outcomes[key].samples.append(run_once(cases[key], counter))
            except Skip as exc:
                outcomes[key].failures += 1
                if outcomes[key].failures >= 3:
                    outcomes[key].skipped = f"failed 3 times, last: {exc}"
                    del cases[key]
        done += 1
    return done


# (ours, peer) for the lines under the table
PEER_PAIRS = [("docker-wharf", "docker-podman"), ("docker-wharf", "podman"), ("wharf", "podman")]


def report(outcomes: dict[str, Outcome], rounds: int) -> str:
    lines = [f"{'case':<42} {'median ms':>10} {'min ms':>8} {'max ms':>8} {'ratio':>8}  baseline"]
    for outcome in outcomes.values():
        median = outcome.median
        if median is None:
            lines.append(f"{outcome.label:<42} skipped: {outcome.skipped or 'no samples'}")
            continue
        base = outcomes[outcome.baseline].median if outcome.baseline else median
        ratio = f"{median / base:.2f}x" if base else "-"
        fails = f"  ({outcome.failures} failed)" if outcome.failures else ""
        lines.append(
            f"{outcome.label:<42} {median:>10.1f} {min(outcome.samples):>8.1f} {max(outcome.samples):>8.1f} "
            f"{ratio:>8}  {outcome.baseline or '(floor)'}{fails}"
        )
    for ours, peer in PEER_PAIRS:
        a, b = outcomes[ours].median, outcomes[peer].median
        if a and b:
            lines.append(f"peer: {outcomes[ours].label} is {b / a:.1f}x faster than {outcomes[peer].label}")
    if line := tls_verdict(outcomes["docker-wharf-tls"].median, outcomes["docker-wharf"].median):
        lines.append(line)
    lines.append(f"{rounds} interleaved rounds after one warm-up run per case")
    return "\n".join(lines)


def as_json(outcomes: dict[str, Outcome], rounds: int) -> dict[str, Any]:
    def ratio(o: Outcome) -> float | None:
        base = outcomes[o.baseline].median if o.baseline else None
        return o.median / base if o.median is not None and base else None

    cases = [{"key": o.key, "label": o.label, "baseline": o.baseline, "median_ms": o.median,
              "ratio": ratio(o), "samples_ms": o.samples, "failures": o.failures, "skipped": o.skipped}
             for o in outcomes.values()]  # fmt: skip
    return {"rounds": rounds, "cases": cases}


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the ExitStack, so clean-up still runs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default: %(default)s)")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="overall time budget (default: 300)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE, help="busybox tar (built if default)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    deadline = time.monotonic() + args.max_seconds
    outcomes = {key: Outcome(key, label, baseline) for key, label, baseline in CASE_SPECS}
    with (
        tempfile.TemporaryDirectory(prefix="wharf-bench-", ignore_cleanup_errors=True) as tmp,
        contextlib.ExitStack() as stack,
    ):
        stack.callback(unmount_under, Path(tmp))  # runs last: after every daemon has stopped
        cases, skipped = setup_cases(stack, Path(tmp), args.image.resolve())
        for key, reason in skipped.items():
            outcomes[key].skipped = reason
            log(f"skipping {key}: {reason}")
        log(f"measuring {', '.join(cases)}: {args.rounds} rounds")
        rounds = measure(cases, outcomes, max(args.rounds, 0), deadline)
        dns = dns_row(stack, Path(tmp) / "engine.sock", deadline)  # on the engine, while it runs

    print(report(outcomes, rounds) + "\n" + dns.line())
    if args.json is not None:
        args.json.write_text(json.dumps(as_json(outcomes, rounds) | dns.as_json(), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
