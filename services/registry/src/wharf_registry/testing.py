"""Builders for tests of the registry and of its clients: image ids, JSON, layers, checksums.

Public on purpose (as docker-registry's ``testing/`` package): the engine's push/pull tests
can build the same fixtures and start a real registry with :class:`RegistryProcess`.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from wharf_common.registry_v1 import payload_checksum as payload_checksum  # what tests build uploads with


def random_image_id() -> str:
    """A v1 image id: 64 random hex characters."""
    return secrets.token_hex(32)


def image_json(image_id: str, parent: str | None = None, **extra: object) -> bytes:
    """The image JSON an engine would push (M15 ``image/image.go`` keys)."""
    data: dict[str, object] = {
        "id": image_id,
        "created": "2015-02-10T00:00:00Z",
        "container_config": {"Cmd": ["/bin/sh"]},
        "docker_version": "1.5.0",
        "architecture": "amd64",
        "os": "linux",
        "Size": 0,
        **extra,
    }
    if parent:
        data["parent"] = parent
    return json.dumps(data).encode()


def make_layer(files: dict[str, bytes], *, compress: bool = True, mtime: int = 1_400_000_000) -> bytes:
    """A layer tarball holding ``files`` (with their directories), gzipped as engines push it."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        seen: set[str] = set()
        for name, content in sorted(files.items()):
            parts = name.split("/")
            for i in range(1, len(parts)):
                directory = "/".join(parts[:i])
                if directory not in seen:
                    seen.add(directory)
                    info = tarfile.TarInfo(directory)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, mtime
                    tar.addfile(info)
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), 0o644, mtime
            tar.addfile(info, io.BytesIO(content))
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0) if compress else raw


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RegistryProcess:
    """A real ``wharf-registry`` on a loopback port with its own root, for integration tests.

    ``start()`` waits for ``/v1/_ping``; ``stop()`` sends SIGTERM to its pid and returns the
    exit code; ``cleanup()`` stops it if needed and removes the root. With
    ``index_public_key`` (a hub's PEM public key) it runs in index mode
    (``--index-public-key``).
    """

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="wharf-registry-")))
    port: int = field(default_factory=free_port)
    index_public_key: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "registry.log"

    def start(self, env: dict[str, str] | None = None, timeout: float = 20) -> None:
        command = [
            str(Path(sys.executable).parent / "wharf-registry"),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-root",
            str(self.data),
            "--pidfile",
            str(self.root / "registry.pid"),
        ]
        if self.index_public_key is not None:
            command += ["--index-public-key", str(self.index_public_key)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"registry exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/v1/_ping", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"registry did not answer /v1/_ping within {timeout:.0f} s")

    def stop(self) -> int:
        """SIGTERM by pid (SIGKILL after 15 s); the exit code, 0 after a clean shutdown."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return code

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def files(self, under: str = "") -> list[str]:
        """Files in the filesystem storage (relative paths), for checks on what was left."""
        base = self.data / under
        if not base.exists():
            return []
        return sorted(str(p.relative_to(self.data)) for p in base.rglob("*") if p.is_file())
