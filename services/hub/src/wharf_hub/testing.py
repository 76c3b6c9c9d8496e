"""Start a real hub process for tests and benchmarks (as ``wharf_registry.testing``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .settings import Settings


class HubProcess:
    """``wharf-hub`` on a free loopback port with its own data root (and SQLite by default)."""

    def __init__(
        self,
        root: Path,
        *,
        registry_url: str = "http://127.0.0.1:9",
        registry_endpoint: str | None = None,
        database_url: str | None = None,
        env: dict[str, str] | None = None,
        worker: bool = True,
        allow_webhooks_to: str = "127.0.0.0/8",
        workers: int = 1,
    ) -> None:
        self.root = root
        self.registry_url = registry_url
        self.registry_endpoint = registry_endpoint or registry_url.split("://", 1)[-1]
        self.database_url = database_url
        self.extra_env = env or {}
        self.worker = worker
        self.allow_webhooks_to = allow_webhooks_to
        self.workers = workers
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.worker_proc: subprocess.Popen[bytes] | None = None
        self.log_path = root / "hub.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def public_key_path(self) -> Path:
        return self.root / "token-signing.pub.pem"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["WHARF_HUB_WEBHOOKS__ALLOW"] = f'["{self.allow_webhooks_to}"]'
        env["WHARF_HUB_WEBHOOKS__BACKOFF"] = env.get("WHARF_HUB_WEBHOOKS__BACKOFF", "0.2")
        env.update(self.extra_env)
        return env

    def _args(self) -> list[str]:
        args = ["--data-root", str(self.root)]
        if self.database_url:
            args += ["--database-url", self.database_url]
        return args

    def start(self, timeout: float = 90.0) -> HubProcess:
        self.root.mkdir(parents=True, exist_ok=True)
        pidfile = self.root / "hub.pid"
        port_file = self.root / "port"
        port_file.unlink(missing_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "wharf_hub.main",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port or 0),
            "--registry-url",
            self.registry_url,
            "--registry-endpoint",
            self.registry_endpoint,
            "--pidfile",
            str(pidfile),
            *self._args(),
        ]
        if not self.worker:
            cmd.append("--no-worker")
        if self.workers > 1:
            cmd += ["--workers", str(self.workers)]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self._env())
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"wharf-hub exited: {self.log_path.read_text()[-3000:]}")
            port = self._port_from_log()
            if port:
                self.port = port
                try:
                    with urllib.request.urlopen(f"{self.url}/v1/_ping", timeout=2) as r:
                        if r.status == 200:
                            return self
                except OSError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"wharf-hub did not answer: {self.log_path.read_text()[-3000:]}")

    def _port_from_log(self) -> int:
        if self.port:
            return self.port
        for line in self.log_path.read_text(errors="replace").splitlines():
            if "hub.listening" in line and "port=" in line:
                return int(line.split("port=", 1)[1].split()[0].strip(",'\""))
        return 0

    def cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "wharf_hub.main", *args, *self._args()],
            input=stdin,
            capture_output=True,
            text=True,
            env=self._env(),
            timeout=60,
            check=False,
        )

    def create_user(self, name: str, password: str, email: str | None = None, *, admin: bool = False) -> None:
        args = ["create-user", name, "--email", email or f"{name}@example.test"] + (
            ["--admin"] if admin else []
        )
        done = self.cli(*args, stdin=password + "\n")
        if done.returncode != 0:
            raise RuntimeError(f"create-user {name}: {done.stderr or done.stdout}")

    def start_worker(self) -> None:
        """A ``wharf-hub worker`` process on the same database (start the hub with
        ``worker=False`` to have it deliver alone); :meth:`stop` stops it too."""
        cmd = [sys.executable, "-m", "wharf_hub.main", "worker", "--registry-url", self.registry_url]
        with (self.root / "worker.log").open("ab") as log:
            self.worker_proc = subprocess.Popen(
                [*cmd, *self._args()], stdout=log, stderr=subprocess.STDOUT, env=self._env()
            )

    def settings(self) -> Settings:
        return Settings(data_root=self.root, database_url=self.database_url)

    def stop(self) -> None:
        for proc in (self.worker_proc, self.proc):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.proc = self.worker_proc = None

    def __enter__(self) -> HubProcess:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


__all__ = ["HubProcess"]
