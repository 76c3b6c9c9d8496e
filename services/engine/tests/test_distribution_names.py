"""Which index a name means, the default-index setting, ping answers and index token headers."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError
from wharf_common.reference import parse_reference
from wharf_engine.distribution import Endpoint
from wharf_engine.distribution.index import read_grant
from wharf_engine.distribution.names import (
    describe,
    index_endpoint,
    registry_config,
    registry_endpoint,
    split_search_term,
)
from wharf_engine.distribution.session import RegistryService, is_standalone
from wharf_engine.settings import Settings

LOOPBACK = ["127.0.0.0/8", "localhost"]
HUB = Endpoint("127.0.0.1:8080", "http://127.0.0.1:8080")


@pytest.mark.parametrize(
    ("name", "remote"),
    [
        ("busybox", "library/busybox"),
        ("alice/web", "alice/web"),
        ("docker.io/library/busybox", "library/busybox"),
        ("docker.io/alice/web", "alice/web"),
        ("index.docker.io/alice/web", "alice/web"),
        ("registry-1.docker.io/alice/web", "alice/web"),
        ("registry-1.docker.io/busybox", "library/busybox"),
    ],
)
def test_bare_and_docker_io_names_mean_the_default_index(name: str, remote: str) -> None:
    repository = describe(parse_reference(name), HUB, LOOPBACK, None)
    assert repository.index == HUB and repository.remote == remote and repository.official
    assert repository.display == f"docker.io/{remote}"


def test_local_names_stay_as_typed() -> None:
    assert str(parse_reference("docker.io/library/busybox").with_default_tag()) == "busybox:latest"
    assert str(parse_reference("registry-1.docker.io/alice/web:v1")) == "registry-1.docker.io/alice/web:v1"


def test_host_port_names_their_registry() -> None:
    repository = describe(parse_reference("127.0.0.1:5000/user/web"), HUB, LOOPBACK, None)
    assert repository.index == Endpoint("127.0.0.1:5000", "http://127.0.0.1:5000")
    assert repository.remote == "user/web" and not repository.official
    assert repository.display == "127.0.0.1:5000/user/web"
    single = describe(parse_reference("localhost:5000/web"), HUB, LOOPBACK, None)
    assert single.remote == "library/web" and single.index.url == "http://localhost:5000"


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080/v1/", "http://127.0.0.1:8080"),
        ("https://hub.example.com", "https://hub.example.com"),
        ("127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("hub.example.com:443", "https://hub.example.com:443"),
    ],
)
def test_default_index_url_or_host_port(given: str, url: str) -> None:
    assert index_endpoint(given, LOOPBACK).url == url


def test_default_index_setting_is_checked_and_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WHARF_ENGINE_DEFAULT_INDEX", raising=False)  # integration tests set it
    assert Settings().default_index == "http://127.0.0.1:8080"
    assert Settings(default_index="http://hub.lan:8080/v1/").default_index == "http://hub.lan:8080"
    monkeypatch.setenv("WHARF_ENGINE_DEFAULT_INDEX", "https://hub.example.com")
    assert Settings().default_index == "https://hub.example.com"
    for bad in ("ftp://hub", "http://", "http://hub/some/path"):
        with pytest.raises(ValidationError, match="default index"):
            Settings(default_index=bad)


def test_endpoints_take_the_index_scheme() -> None:
    assert registry_endpoint(" 127.0.0.1:5000", HUB).url == "http://127.0.0.1:5000"
    secure = Endpoint("hub.example.com", "https://hub.example.com", "/ca.pem")
    assert registry_endpoint("registry.example.com", secure) == Endpoint(
        "registry.example.com", "https://registry.example.com", "/ca.pem"
    )
    assert registry_endpoint("http://10.0.0.1:5000/v1/", secure).url == "http://10.0.0.1:5000"


def test_search_terms_name_their_registry_or_the_default_index() -> None:
    assert split_search_term("127.0.0.1:5000/web") == ("127.0.0.1:5000", "web")
    assert split_search_term("localhost/user/web") == ("localhost", "user/web")
    assert split_search_term("web") == (None, "web")
    assert split_search_term("alice/web") == (None, "alice/web")
    assert split_search_term("docker.io/web") == (None, "web")


def test_login_server_addresses() -> None:
    service = RegistryService("http://127.0.0.1:8080", LOOPBACK)
    for server in ("", "https://index.docker.io/v1/", "docker.io", "registry-1.docker.io"):
        assert service.login_endpoint(server) == service.default
    assert service.login_endpoint("http://127.0.0.1:5000/v1/").url == "http://127.0.0.1:5000"


def test_registry_config_names_the_default_index_like_docker() -> None:
    config = registry_config(HUB, LOOPBACK)
    assert config["IndexConfigs"] == {
        "docker.io": {"Name": "docker.io", "Mirrors": [], "Secure": False, "Official": True},
        "localhost": {"Name": "localhost", "Mirrors": [], "Secure": False, "Official": False},
    }
    assert config["InsecureRegistryCIDRs"] == ["127.0.0.0/8"] and config["Mirrors"] == []


@pytest.mark.parametrize(
    ("header", "body", "standalone"),
    [
        (None, b"{}", True),
        ("", b"", True),
        ("true", b"{}", True),
        ("True", b"", True),
        ("1", b"", True),
        ("false", b"{}", False),
        ("False", b"", False),
        ("0", b"", False),
        ("mirror", b"", False),
        (None, b'{"standalone": false}', False),
        ("true", b'{"standalone": false}', True),
        (None, b"true", True),
    ],
)
def test_ping_header_says_standalone_as_engine_1_5_reads_it(
    header: str | None, body: bytes, standalone: bool
) -> None:
    assert is_standalone(header, body) is standalone


def test_tokens_are_joined_whole_and_endpoints_split() -> None:
    headers = httpx.Headers(
        [
            ("X-Docker-Token", 'signature=abc,repository="alice/web",access=write'),
            ("X-Docker-Token", "sig2"),
            ("X-Docker-Endpoints", "127.0.0.1:5000, 127.0.0.1:5001"),
            ("X-Docker-Endpoints", "127.0.0.1:5002"),
        ]
    )
    grant = read_grant(headers, HUB)
    assert grant.token == 'signature=abc,repository="alice/web",access=write,sig2'
    assert [e.url for e in grant.endpoints] == [
        "http://127.0.0.1:5000",
        "http://127.0.0.1:5001",
        "http://127.0.0.1:5002",
    ]
    assert read_grant(httpx.Headers(), HUB).token == "" and read_grant(httpx.Headers(), HUB).endpoints == ()
