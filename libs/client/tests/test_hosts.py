import pytest
from wharf_client import DEFAULT_HOST, EngineHost, parse_host, resolve_host


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("unix:///run/wharf/engine.sock", EngineHost("unix", "/run/wharf/engine.sock")),
        ("/tmp/x.sock", EngineHost("unix", "/tmp/x.sock")),
        ("tcp://127.0.0.1:2375", EngineHost("tcp", "127.0.0.1", 2375)),
        ("tcp://example.com", EngineHost("tcp", "example.com", 2375)),
        ("tcp://:2376", EngineHost("tcp", "127.0.0.1", 2376)),
        ("tcp://[::1]:2375", EngineHost("tcp", "::1", 2375)),
    ],
)
def test_parse_host_accepts_docker_forms(value: str, expected: EngineHost) -> None:
    assert parse_host(value) == expected


@pytest.mark.parametrize(
    "value", ["ftp://x", "unix://", "tcp://host:notaport", "tcp://host:70000", "nothing"]
)
def test_parse_host_rejects_invalid(value: str) -> None:
    with pytest.raises(ValueError):
        parse_host(value)


def test_engine_host_url_round_trips() -> None:
    assert parse_host("tcp://[::1]:2375").url == "tcp://[::1]:2375"
    assert parse_host("unix:///a/b.sock").url == "unix:///a/b.sock"
    assert parse_host("unix:///a/b.sock").http_host == "localhost"


def test_resolve_host_prefers_flag_then_wharf_then_docker() -> None:
    env = {"WHARF_HOST": "unix:///w.sock", "DOCKER_HOST": "unix:///d.sock"}
    assert resolve_host("unix:///flag.sock", env).address == "/flag.sock"
    assert resolve_host(None, env).address == "/w.sock"
    assert resolve_host(None, {"DOCKER_HOST": "unix:///d.sock"}).address == "/d.sock"
    assert resolve_host(None, {}).url == DEFAULT_HOST
