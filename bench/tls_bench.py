"""The TLS row of ``make bench``: the engine on loopback TCP with ``--tlsverify``, certificates from
``wharf-engine certs``, against the unix socket of the same engine in the same run."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

TLS_TARGET = 1.10  # docker run over tcp+tlsverify vs the unix socket


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
