"""Debian's Go registry (``/usr/bin/docker-registry``, distribution 2.8, v2 only) for integration tests.

Each :class:`GoRegistry` gets a free loopback port and a temporary root holding its config (YAML
written here), its storage and, for ``auth="htpasswd"``, a bcrypt htpasswd file. It is stopped by
its pid and its root removed by :meth:`cleanup`, even when a test fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
import pytest
from wharf_registry.testing import RegistryProcess, free_port

BINARY = shutil.which("docker-registry") or "/usr/bin/docker-registry"
needs_go_registry = pytest.mark.skipif(
    not Path(BINARY).exists(), reason="Debian's docker-registry is not installed (make setup)"
)


@dataclass
class GoRegistry:
    users: dict[str, str] = field(default_factory=dict)  # htpasswd Basic auth when not empty
    token: dict[str, str] | None = None  # {"realm", "service", "issuer", "rootcertbundle"}: Bearer auth
    tls: tuple[Path, Path] | None = None  # (certificate, key): HTTPS only
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="goreg-")))
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.root / "registry.log"

    def config(self) -> str:
        lines = [
            "version: 0.1",
            "log: {level: info}",
            "storage:",
            f"  filesystem: {{rootdirectory: {self.root / 'data'}}}",
            "  delete: {enabled: true}",
            "http:",
            f"  addr: {self.domain}",
            "  secret: wharf-tests",
        ]
        if self.tls is not None:
            lines += ["  tls:", f"    certificate: {self.tls[0]}", f"    key: {self.tls[1]}"]
        if self.users:
            htpasswd = self.root / "htpasswd"
            htpasswd.write_text(
                "".join(
                    f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(4)).decode()}\n"
                    for u, p in self.users.items()
                )
            )
            lines += ["auth:", "  htpasswd:", "    realm: wharf-tests", f"    path: {htpasswd}"]
        elif self.token is not None:
            lines += ["auth:", "  token:", *(f"    {k}: {json.dumps(v)}" for k, v in self.token.items())]
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 20) -> None:
        path = self.root / "config.yml"
        path.write_text(self.config())
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([BINARY, "serve", str(path)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {self.log.read_text()[-2000:]}")
            try:
                scheme = "https" if self.tls else "http"
                unverified = ssl._create_unverified_context() if self.tls else None
                with urllib.request.urlopen(f"{scheme}://{self.domain}/v2/", timeout=1, context=unverified):
                    return
            except urllib.error.HTTPError:
                return  # 401: it answers, and wants credentials
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"docker-registry did not answer /v2/ within {timeout:.0f} s")

    def requests(self) -> list[str]:
        """``METHOD /path`` of each request the registry logged (its access log lines)."""
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            if '] "' in line and " HTTP/1.1" in line:
                found.append(line.split('] "', 1)[1].split(" HTTP/1.1", 1)[0])
        return found

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


class WharfV2Registry:
    """wharf's own registry in standalone mode, seen as the v2 tests see a :class:`GoRegistry`."""

    def __init__(self) -> None:
        self.process = RegistryProcess()

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.process.port}"

    def start(self) -> None:
        self.process.start()

    def requests(self) -> list[str]:
        """``METHOD /path`` of each request (its log has no query strings)."""
        lines = self.process.log.read_text(errors="replace").splitlines()
        return [f"{m[1]} {m[2]}" for line in lines if (m := _LOGGED.search(line))]

    def cleanup(self) -> None:
        self.process.cleanup()


_LOGGED = re.compile(r"http\.request\s.*method=(\S+) .*path=(\S+)")


def self_signed(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A certificate for ``host`` (an IP address SAN) and its key, as PEM files in ``directory``."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    address = ipaddress.ip_address(host)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(address)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "registry.crt", directory / "registry.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


__all__ = ["BINARY", "GoRegistry", "WharfV2Registry", "needs_go_registry", "self_signed"]
