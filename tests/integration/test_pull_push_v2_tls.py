"""Which scheme the engine speaks to a v2 registry, as Docker decides it.

An insecure registry (the loopback exception ``127.0.0.0/8``, or ``insecure_registries``) is
tried over HTTPS without verifying the certificate, then over plain HTTP; any other registry
only over verified HTTPS (a CA bundle makes a self-signed one trusted). Against Debian's Go
registry, once with TLS (a self-signed certificate) and once without.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from engines import Engine, needs_docker
from goregistry import GoRegistry, needs_go_registry, self_signed
from wharf_engine.distribution import RegistryService

pytestmark = [needs_go_registry]


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GoRegistry]:
    reg = GoRegistry()
    reg.tls = self_signed(tmp_path_factory.mktemp("tls"))
    try:
        reg.start()
        yield reg
    finally:
        reg.cleanup()


@pytest.fixture(scope="module")
def plain_registry() -> Iterator[GoRegistry]:
    reg = GoRegistry()
    try:
        reg.start()
        yield reg
    finally:
        reg.cleanup()


def negotiated(reg: GoRegistry, insecure: list[str], ca_bundle: Path | None = None) -> str | None:
    service = RegistryService("http://127.0.0.1:9", insecure, ca_bundle)
    found = asyncio.run(service.negotiate_v2(service.endpoint(reg.domain)))
    return found.endpoint.url if found else None


def test_insecure_registries_are_tried_over_https_then_http(
    tls_registry: GoRegistry, plain_registry: GoRegistry
) -> None:
    loopback = ["127.0.0.0/8"]
    assert negotiated(tls_registry, loopback) == f"https://{tls_registry.domain}"  # unverified
    assert negotiated(plain_registry, loopback) == f"http://{plain_registry.domain}"
    assert negotiated(plain_registry, [plain_registry.domain]) == f"http://{plain_registry.domain}"


def test_other_registries_need_a_trusted_certificate(
    tls_registry: GoRegistry, plain_registry: GoRegistry
) -> None:
    assert negotiated(tls_registry, []) is None  # self-signed: refused (the v1 ping then says why)
    assert negotiated(plain_registry, []) is None  # never plain HTTP
    assert tls_registry.tls is not None
    assert negotiated(tls_registry, [], ca_bundle=tls_registry.tls[0]) == f"https://{tls_registry.domain}"


@pytest.mark.root
@pytest.mark.slow
@needs_docker
def test_docker_push_and_pull_over_tls_to_a_loopback_registry(
    engine: Engine, tls_registry: GoRegistry
) -> None:
    name = f"{tls_registry.domain}/tls/busybox"

    def ok(result: subprocess.CompletedProcess[bytes]) -> str:
        assert result.returncode == 0, (result.stdout, result.stderr)
        return result.stdout.decode()

    ok(engine.docker("tag", "busybox", name))
    assert "latest: digest: sha256:" in ok(engine.docker("push", name))  # the registry speaks only TLS
    ok(engine.docker("rmi", name))
    assert f"Status: Downloaded newer image for {name}:latest" in ok(engine.docker("pull", name))
