"""Debian's Go registry (``/usr/bin/docker-registry``, distribution 2.8, v2 only) for integration tests.

Each :class:`GoRegistry` gets a free loopback port and a temporary root holding its config (YAML
written here), its storage and, for ``auth="htpasswd"``, a bcrypt htpasswd file. It is stopped by
its pid and its root removed by :meth:`cleanup`, even when a test fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
import pytest
from wharf_registry.testing import free_port

BINARY = shutil.which("docker-registry") or "/usr/bin/docker-registry"
needs_go_registry = pytest.mark.skipif(
    not Path(BINARY).exists(), reason="Debian's docker-registry is not installed (make setup)"
)


@dataclass
class GoRegistry:
    users: dict[str, str] = field(default_factory=dict)  # htpasswd Basic auth when not empty
    token: dict[str, str] | None = None  # {"realm", "service", "issuer", "rootcertbundle"}: Bearer auth
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
                with urllib.request.urlopen(f"http://{self.domain}/v2/", timeout=1):
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


__all__ = ["BINARY", "GoRegistry", "needs_go_registry"]
