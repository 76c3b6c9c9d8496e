"""The docker CLI's TLS rules: DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, --tlsverify, ~/.wharf then ~/.docker."""

from __future__ import annotations

from pathlib import Path

import pytest
from wharf_client import resolve_host, tls_config
from wharf_client._tls import default_cert_path


def test_no_tls_unless_asked() -> None:
    assert tls_config(environ={}) is None
    assert resolve_host("tcp://127.0.0.1:2376", environ={}).tls is None


def test_docker_tls_verify_and_cert_path(tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_text("x")
    env = {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path), "DOCKER_HOST": "tcp://10.0.0.1:2376"}
    host = resolve_host(environ=env)
    assert host.tls is not None and host.tls.verify
    assert host.tls.ca_cert == tmp_path / "ca.pem"
    assert (host.tls.client_cert, host.tls.client_key) == (tmp_path / "cert.pem", tmp_path / "key.pem")
    assert resolve_host("unix:///run/x.sock", environ=env).tls is None  # TLS is for TCP only


def test_tls_without_verify_and_missing_default_client_pair(tmp_path: Path) -> None:
    config = tls_config(tls=True, environ={"DOCKER_CERT_PATH": str(tmp_path)})
    assert config is not None and not config.verify and config.client_cert is None


def test_flags_win_over_the_environment(tmp_path: Path) -> None:
    config = tls_config(verify=True, ca_cert="/a/ca.pem", cert="/a/c.pem", key="/a/k.pem", environ={})
    assert config is not None
    assert (config.ca_cert, config.client_cert, config.client_key) == (
        Path("/a/ca.pem"),
        Path("/a/c.pem"),
        Path("/a/k.pem"),
    )


@pytest.mark.parametrize(
    ("wharf", "docker", "expected"),
    [(True, True, ".wharf"), (False, True, ".docker"), (False, False, ".docker")],
)
def test_default_cert_path_prefers_wharf_then_docker(
    tmp_path: Path, wharf: bool, docker: bool, expected: str
) -> None:
    for name, present in ((".wharf", wharf), (".docker", docker)):
        if present:
            (tmp_path / name).mkdir()
            (tmp_path / name / "ca.pem").write_text("x")
    assert default_cert_path({}, home=tmp_path) == tmp_path / expected
    assert default_cert_path({"DOCKER_CERT_PATH": "/elsewhere"}, home=tmp_path) == Path("/elsewhere")
