"""What TLS with client certificates costs on the engine, against the unix socket of the same engine.

``bench.py``'s TLS row uses :func:`engine_tls` and :func:`tls_verdict`. Run alone, this starts an engine
of its own (a temp root, its own bridge and /24) listening on a unix socket and on loopback TCP with
``--tlsverify`` (certificates from ``wharf-engine certs``), imports busybox, and measures, interleaved
so that both sides see the same load:

- ``docker run --rm busybox true`` with the real docker CLI over each (``--rounds``): wall time, and the
  engine's CPU time per run (utime + stime of the daemon process, its threads included: robust when the
  machine is busy, which wall time is not);
- fresh connections that each send one ``GET /_ping`` (``--connections``): the engine's CPU per connection
  over each, and the client's wall time; the TLS client is Python's, with the client certificate.

Everything it made (the engine, its containers and bridge, the temp dir) is removed on the way out,
SIGTERM included.

Usage: ``.venv/bin/python bench/tls_bench.py [--rounds 30] [--connections 300] [--json PATH]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import secrets
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

TLS_TARGET = 1.10  # docker run over tcp+tlsverify vs the unix socket
PING = b"GET /_ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
BLOCK = 10  # connections of one kind in a row, before switching to the other


class CertsFailed(Exception):
    """``wharf-engine certs`` failed; the message says how."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def engine_tls(engine: str, tmp: Path) -> tuple[list[str], list[str]]:
    """Make the certificates in ``tmp``; return the engine's flags and the docker CLI's."""
    certs = tmp / "certs"
    for command in (["init"], ["server"], ["client", "bench"]):
        done = subprocess.run(
            [engine, "certs", "--dir", str(certs), *command], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise CertsFailed(f"certs {command[0]} exited {done.returncode}: {done.stderr.strip()[-300:]}")
    url = f"tcp://127.0.0.1:{free_port()}"
    ca = ["--tlsverify", "--tlscacert", str(certs / "ca.pem")]
    server = ["--tlscert", str(certs / "server-cert.pem"), "--tlskey", str(certs / "server-key.pem")]
    client = ["--tlscert", str(certs / "cert.pem"), "--tlskey", str(certs / "key.pem")]
    return ["-H", url, *ca, *server], [*ca, *client, "-H", url]


def tls_verdict(tls: float | None, unix: float | None) -> str | None:
    """The line under the table: the ratio, and whether the target is met."""
    if not tls or not unix:
        return None
    verdict = "met" if tls / unix < TLS_TARGET else "NOT met"
    return (
        f"tls: docker run over tcp+tlsverify is {tls / unix:.3f}x the unix socket "
        f"(+{tls - unix:.1f} ms; target < {TLS_TARGET:.2f}x: {verdict})"
    )


# --- run alone ---------------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, every thread it has had included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(slots=True)
class Side:
    """One transport's samples: wall times (ms) and the engine's CPU over all of them (s)."""

    wall_ms: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    client_cpu_s: float = 0.0  # the docker CLI's (children of this process)

    @property
    def median(self) -> float | None:
        return statistics.median(self.wall_ms) if self.wall_ms else None

    @property
    def cpu_ms_each(self) -> float | None:
        return self.cpu_s * 1000 / len(self.wall_ms) if self.wall_ms else None

    @property
    def client_cpu_ms_each(self) -> float | None:
        return self.client_cpu_s * 1000 / len(self.wall_ms) if self.wall_ms else None


@dataclass(slots=True)
class Result:
    runs: dict[str, Side] = field(default_factory=lambda: {"unix": Side(), "tls": Side()})
    connections: dict[str, Side] = field(default_factory=lambda: {"unix": Side(), "tls": Side()})
    skipped: str | None = None
    load: list[float] = field(default_factory=list)  # 1-minute load average, sampled once per round

    def lines(self) -> list[str]:
        if self.skipped:
            return [f"tls bench skipped: {self.skipped}"]
        out = [f"{'case':<46} {'n':>4} {'wall median':>12} {'engine CPU':>11} {'client CPU':>11}"]
        cases = (
            ("docker run --rm busybox true", self.runs),
            ("a connection with one GET /_ping", self.connections),
        )
        for title, sides in cases:
            for name, side in sides.items():
                if side.median is None or side.cpu_ms_each is None or side.client_cpu_ms_each is None:
                    continue
                label = f"{title} ({'unix' if name == 'unix' else 'tls'})"
                out.append(
                    f"{label:<46} {len(side.wall_ms):>4} {side.median:>9.2f} ms {side.cpu_ms_each:>8.2f} ms"
                    f" {side.client_cpu_ms_each:>8.2f} ms"
                )
        if line := tls_verdict(self.runs["tls"].median, self.runs["unix"].median):
            out.append(line)
        for title, sides in cases:
            unix, tls = sides["unix"].cpu_ms_each, sides["tls"].cpu_ms_each
            if unix is not None and tls is not None:
                out.append(f"tls: {title} costs the engine {tls - unix:+.2f} ms of CPU over the unix socket")
        if self.load:
            out.append(
                f"load average (1 min) during the runs: {min(self.load):.1f}-{max(self.load):.1f}"
                " (wall times mean little above ~1; CPU times hold)"
            )
        out.append("(CPU: per run or connection, averaged; wall: median; unix and tls interleaved)")
        return out


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(pid: int, side: Side, action: Callable[[], None]) -> None:
    cpu, client, start = cpu_seconds(pid), children_cpu(), time.perf_counter()
    action()
    side.wall_ms.append((time.perf_counter() - start) * 1000)
    side.cpu_s += cpu_seconds(pid) - cpu
    side.client_cpu_s += children_cpu() - client


def ping_unix(path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(30)
        sock.connect(str(path))
        sock.sendall(PING)
        read_response(sock)


def ping_tls(context: ssl.SSLContext, port: int) -> None:
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as Go's clients do
    with context.wrap_socket(raw, server_hostname="localhost") as sock:
        sock.sendall(PING)
        read_response(sock)


def read_response(sock: socket.socket) -> None:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    if not data.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"/_ping answered {data[:80]!r}")


def client_context(certs: Path) -> ssl.SSLContext:
    """The client certificate, and no CA: with one, OpenSSL would send the CA after the certificate
    (and the engine parse both), where the docker CLI (Go) sends only what cert.pem holds. The
    server is not checked: only the engine's side of the handshake is measured."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.load_cert_chain(certs / "cert.pem", certs / "key.pem")
    return context


def measure_connections(pid: int, sock: Path, port: int, certs: Path, count: int, result: Result) -> None:
    context = client_context(certs)
    kinds: dict[str, Callable[[], None]] = {
        "unix": lambda: ping_unix(sock),
        "tls": lambda: ping_tls(context, port),
    }
    for action in kinds.values():  # warm-up
        for _ in range(BLOCK):
            action()
    for block in range(0, count, BLOCK):
        result.load.append(os.getloadavg()[0])
        order = list(kinds) if (block // BLOCK) % 2 == 0 else list(reversed(kinds))
        for name in order:
            for _ in range(min(BLOCK, count - block)):
                timed(pid, result.connections[name], kinds[name])


def measure_runs(
    pid: int, docker: list[str], env: dict[str, str], tls: list[str], rounds: int, result: Result
) -> None:
    true = ["run", "--rm", "busybox", "true"]
    argvs = {"unix": [*docker, *true], "tls": [*docker, *tls, *true]}

    def run(argv: list[str]) -> None:
        done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[-4:])} exited {done.returncode}: {done.stderr[-300:]!r}")

    for argv in argvs.values():  # warm-up
        run(argv)
    for r in range(rounds):
        result.load.append(os.getloadavg()[0])
        order = list(argvs) if r % 2 == 0 else list(reversed(argvs))
        for name in order:
            timed(pid, result.runs[name], lambda argv=argvs[name]: run(argv))  # type: ignore[misc]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=30, help="docker runs over each (default: 30)")
    parser.add_argument("--connections", type=int, default=300, help="pings over each (default: 300)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--image", type=Path, help="busybox rootfs tar (default: bench.py's)")
    parser.add_argument("--keep-log", type=Path, help="copy the engine's log here at the end")
    args = parser.parse_args(argv)
    if TYPE_CHECKING:
        from bench import bench as base
        from bench.net_bench import free_subnet, kill_leftovers
    else:  # here, not at the top: bench.py imports this module
        from net_bench import free_subnet, kill_leftovers

        import bench as base
    signal.signal(signal.SIGTERM, base._terminate)
    result = Result()
    with (
        tempfile.TemporaryDirectory(prefix="wharf-tls-bench-", ignore_cleanup_errors=True) as tmp_name,
        contextlib.ExitStack() as stack,
    ):
        tmp = Path(tmp_name)
        stack.callback(base.unmount_under, tmp)  # runs last: after the engine has stopped
        try:
            image = base.prepare_image((args.image or base.DEFAULT_IMAGE).resolve())
            engine = base.tool(base.VENV_BIN / "wharf-engine")
            engine_flags, docker_flags = engine_tls(engine, tmp)
            port = int(engine_flags[1].rpartition(":")[2])
            bridge, subnet = f"whb{secrets.token_hex(4)}", free_subnet()
            root, sock = tmp / "root", tmp / "engine.sock"
            stack.callback(subprocess.run, ["ip", "link", "del", bridge], capture_output=True, check=False)
            stack.callback(kill_leftovers, root / "runc")
            if args.keep_log:
                stack.callback(lambda: args.keep_log.write_bytes((tmp / "engine.log").read_bytes()))
            argv_engine = [engine, "--data-root", str(root), "-H", f"unix://{sock}", *engine_flags]
            argv_engine += ["--pidfile", str(tmp / "engine.pid"), "--bridge", bridge, "--subnet", str(subnet)]
            base.start_daemon(stack, "wharf-engine", argv_engine, sock, tmp / "engine.log", os.environ)
            base.import_image(sock, image)
            pid = int((tmp / "engine.pid").read_text())
            if args.connections > 0:
                measure_connections(pid, sock, port, tmp / "certs", args.connections, result)
            if args.rounds > 0:
                docker = [base.tool(base.DOCKER)]
                env = base.docker_env(tmp, sock)
                measure_runs(pid, docker, env, docker_flags, args.rounds, result)
        except (base.Skip, CertsFailed, RuntimeError, OSError) as exc:
            result.skipped = str(exc)
    print("\n".join(result.lines()))
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(result), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
