"""The engine over TLS, as Docker's "Protect the Docker daemon socket" chapter sets it up.

Certificates come from ``wharf-engine certs``; the engine runs ``--tlsverify`` on a loopback port.
The real docker CLI, docker-py and the wharf CLI are refused without a client certificate and with
one from another CA, and work with the right one, hijacked streams (``run -i``, ``run -it``,
``exec -it``) included.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from docker.errors import DockerException
from engines import DOCKER, VENV_BIN, Engine, make_engine, needs_docker, pty_session
from seed import seed

pytestmark = [pytest.mark.root]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def certs(*args: str) -> None:
    subprocess.run([str(VENV_BIN / "wharf-engine"), "certs", *args], check=True, capture_output=True)


@dataclass
class TLSEngine:
    engine: Engine
    port: int
    server: Path  # the CA's directory: ca.pem, server-cert.pem, server-key.pem
    good: Path  # a client directory: ca.pem, cert.pem, key.pem signed by the engine's CA
    other: Path  # a client signed by another CA (its ca.pem is the engine's, so only the client is wrong)

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def docker_flags(self, client: Path) -> list[str]:
        return [
            "--tlsverify",
            "--tlscacert",
            str(self.server / "ca.pem"),
            "--tlscert",
            str(client / "cert.pem"),
            "--tlskey",
            str(client / "key.pem"),
            "-H",
            self.url,
        ]

    def env(self, client: Path) -> dict[str, str]:
        env = {k: v for k, v in self.engine.env.items() if k not in ("WHARF_HOST",)}
        return {**env, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(client), "DOCKER_HOST": self.url}


@pytest.fixture(scope="module")
def tls_engine(busybox_tar: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSEngine]:
    base = tmp_path_factory.mktemp("tls")
    server, good, other, other_ca = base / "ca", base / "alice", base / "mallory", base / "other-ca"
    certs("--dir", str(server), "init")
    certs("--dir", str(server), "server")
    certs("--dir", str(server), "client", "alice", "--out", str(good))
    certs("--dir", str(other_ca), "init")
    certs("--dir", str(other_ca), "client", "mallory", "--out", str(other))
    (other / "ca.pem").write_bytes((server / "ca.pem").read_bytes())
    eng = make_engine()
    port = free_port()
    eng.extra = (
        "-H",
        f"tcp://127.0.0.1:{port}",
        "--tlsverify",
        "--tlscacert",
        str(server / "ca.pem"),
        "--tlscert",
        str(server / "server-cert.pem"),
        "--tlskey",
        str(server / "server-key.pem"),
    )
    try:
        eng.start()
        seed(str(eng.socket), busybox_tar)
        yield TLSEngine(eng, port, server, good, other)
    finally:
        eng.cleanup()


def test_certs_tool_writes_the_chapters_files_with_private_keys_0600(tls_engine: TLSEngine) -> None:
    for path, mode in [
        (tls_engine.server / "ca-key.pem", 0o600),
        (tls_engine.server / "server-key.pem", 0o600),
        (tls_engine.good / "key.pem", 0o600),
        (tls_engine.server / "ca.pem", 0o644),
        (tls_engine.server / "server-cert.pem", 0o644),
        (tls_engine.good / "cert.pem", 0o644),
    ]:
        assert path.stat().st_mode & 0o777 == mode, path


@needs_docker
def test_docker_cli_refused_without_client_certificate(tls_engine: TLSEngine) -> None:
    plain = subprocess.run([DOCKER, "-H", tls_engine.url, "ps"], capture_output=True, timeout=60)
    assert plain.returncode != 0
    no_cert = subprocess.run(
        [DOCKER, "--tlsverify", "--tlscacert", str(tls_engine.server / "ca.pem"), "-H", tls_engine.url, "ps"],
        capture_output=True,
        timeout=60,
    )
    assert no_cert.returncode != 0, no_cert.stdout
    assert b"tls: certificate required" in no_cert.stderr  # the engine's alert says why


@needs_docker
def test_docker_cli_refused_with_certificate_from_another_ca(tls_engine: TLSEngine) -> None:
    run = subprocess.run(
        [DOCKER, *tls_engine.docker_flags(tls_engine.other), "run", "--rm", "busybox", "true"],
        capture_output=True,
        timeout=60,
    )
    assert run.returncode != 0
    assert b"tls: unknown certificate authority" in run.stderr, run.stderr
    assert tls_engine.engine.json("GET", "/containers/json?all=1") == []


@needs_docker
def test_docker_cli_with_flags_runs_lists_and_reads_logs(tls_engine: TLSEngine) -> None:
    flags = tls_engine.docker_flags(tls_engine.good)
    out = subprocess.run(
        [DOCKER, *flags, "run", "--rm", "busybox", "echo", "over tls"], capture_output=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == b"over tls\n"
    detached = [
        DOCKER,
        *flags,
        "run",
        "-d",
        "--name",
        "tlslogs",
        "busybox",
        "sh",
        "-c",
        "echo logged; sleep 60",
    ]
    cid = subprocess.run(detached, capture_output=True, timeout=60, check=True).stdout.decode()
    try:
        ps = subprocess.run([DOCKER, *flags, "ps", "--format", "{{.Names}}"], capture_output=True, timeout=60)
        assert b"tlslogs" in ps.stdout, ps.stderr
        logs = subprocess.run([DOCKER, *flags, "logs", "tlslogs"], capture_output=True, timeout=60)
        assert logs.stdout == b"logged\n", logs.stderr
    finally:
        subprocess.run([DOCKER, *flags, "rm", "-f", cid.strip()], capture_output=True, timeout=60)


@needs_docker
def test_docker_cli_with_environment_streams_stdin_past_its_end(tls_engine: TLSEngine) -> None:
    # the CLI ends stdin with close_notify (Go's tls.Conn.CloseWrite): the output after it must arrive
    run = subprocess.run(
        [DOCKER, "run", "--rm", "-i", "busybox", "sh", "-c", "cat; sleep 0.3; echo after-eof"],
        env=tls_engine.env(tls_engine.good),
        input=b"line one\nline two\n",
        capture_output=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == b"line one\nline two\nafter-eof\n"


@needs_docker
def test_docker_cli_run_it_and_exec_it_over_tls(tls_engine: TLSEngine) -> None:
    env = tls_engine.env(tls_engine.good)
    shown, code = pty_session(
        env, [DOCKER, "run", "--rm", "-it", "busybox", "sh"], b"echo $((6*7)); exit 3\r"
    )
    assert b"42" in shown and code == 3, shown
    cid = (
        subprocess.run(
            [DOCKER, "run", "-d", "busybox", "sleep", "60"],
            env=env,
            capture_output=True,
            timeout=60,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    try:
        shown, code = pty_session(env, [DOCKER, "exec", "-it", cid, "sh"], b"echo in-$((2+3)); exit\r")
        assert b"in-5" in shown and code == 0, shown
    finally:
        subprocess.run([DOCKER, "rm", "-f", cid], env=env, capture_output=True, timeout=60)


def test_docker_py_tls_config(tls_engine: TLSEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    # requests prefers these to the TLSConfig's CA (psf/requests#3829): a CI machine may set them
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    ca = str(tls_engine.server / "ca.pem")
    pair = (str(tls_engine.good / "cert.pem"), str(tls_engine.good / "key.pem"))
    good = docker.tls.TLSConfig(client_cert=pair, ca_cert=ca, verify=True)
    client = docker.DockerClient(base_url=f"https://127.0.0.1:{tls_engine.port}", tls=good, version="auto")
    try:
        assert client.containers.run("busybox", ["echo", "py-tls"], remove=True) == b"py-tls\n"
    finally:
        client.close()
    for cert in (None, (str(tls_engine.other / "cert.pem"), str(tls_engine.other / "key.pem"))):
        bad = docker.tls.TLSConfig(client_cert=cert, ca_cert=ca, verify=True)
        with pytest.raises((DockerException, ssl.SSLError, OSError)):
            docker.DockerClient(
                base_url=f"https://127.0.0.1:{tls_engine.port}", tls=bad, version="auto"
            ).ping()


def wharf(*args: str, env: dict[str, str], input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(VENV_BIN / "wharf"), *args], env=env, input=input, capture_output=True, timeout=60
    )


def test_wharf_cli_environment_flags_and_default_paths(tls_engine: TLSEngine, tmp_path: Path) -> None:
    env = tls_engine.env(tls_engine.good)
    run = wharf("run", "--rm", "-i", "busybox", "sh", "-c", "cat; echo after-eof", env=env, input=b"x\n")
    assert run.returncode == 0, run.stderr
    assert run.stdout == b"x\nafter-eof\n"
    bare = {k: v for k, v in env.items() if not k.startswith("DOCKER_TLS") and k != "DOCKER_CERT_PATH"}
    flags = [
        "--tlsverify",
        "--tlscacert",
        str(tls_engine.server / "ca.pem"),
        "--tlscert",
        str(tls_engine.good / "cert.pem"),
        "--tlskey",
        str(tls_engine.good / "key.pem"),
    ]
    assert wharf(*flags, "ps", env=bare).returncode == 0
    assert wharf("ps", env=bare).returncode != 0  # plain HTTP to a TLS port
    for client, expected in ((tls_engine.other, False), (tls_engine.good, True)):
        home = tmp_path / client.name
        for directory in (".wharf", ".docker"):  # ~/.wharf first, then ~/.docker
            (home / directory).mkdir(parents=True)
        for name in ("ca.pem", "cert.pem", "key.pem"):
            (home / ".wharf" / name).write_bytes((client / name).read_bytes())
            (home / ".docker" / name).write_bytes(b"not a certificate")
        result = wharf("--tlsverify", "ps", env={**bare, "HOME": str(home)})
        assert (result.returncode == 0) is expected, result.stderr
