"""X-Registry-Auth decoding, insecure registries and endpoint URLs."""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import certifi
import pytest
from wharf_engine.distribution import (
    InvalidRegistryAuth,
    decode_registry_auth,
    resolve_endpoint,
    server_domain,
)
from wharf_engine.distribution.endpoint import AuthConfig, is_insecure, ssl_context

LOOPBACK = ["127.0.0.0/8", "localhost"]


def encode(data: object, *, pad: bool = False) -> str:
    text = base64.urlsafe_b64encode(json.dumps(data).encode()).decode()
    return text if pad else text.rstrip("=")


def test_registry_auth_decodes_base64url_json() -> None:
    auth = decode_registry_auth(encode({"username": "alice", "password": "pa55?>", "serveraddress": "h:5"}))
    assert auth == AuthConfig("alice", "pa55?>", "h:5")
    assert decode_registry_auth(encode({"username": "a", "email": "a@x.test"})).email == "a@x.test"
    assert auth.basic() == "Basic " + base64.b64encode(b"alice:pa55?>").decode()
    assert decode_registry_auth(encode({"username": "a", "password": "b"}, pad=True)).username == "a"


def test_registry_auth_empty_or_braces_is_anonymous() -> None:
    for header in (None, "", "e30=", "e30", encode({})):
        assert decode_registry_auth(header).anonymous


def test_registry_auth_from_the_auth_field() -> None:
    token = base64.b64encode(b"bob:secret").decode()
    assert decode_registry_auth(encode({"auth": token})) == AuthConfig("bob", "secret")


def test_registry_auth_garbage_is_refused() -> None:
    with pytest.raises(InvalidRegistryAuth):
        decode_registry_auth("!!!not base64!!!")


@pytest.mark.parametrize(
    ("domain", "insecure"),
    [
        ("127.0.0.1:5000", True),
        ("127.9.9.9", True),
        ("localhost:5000", True),
        ("[::1]:5000", False),
        ("registry.example.com:5000", False),
        ("10.0.0.5:5000", False),
    ],
)
def test_insecure_registries_match_cidrs_and_names(domain: str, insecure: bool) -> None:
    assert is_insecure(domain, LOOPBACK) is insecure


def test_insecure_by_exact_host_port_and_ipv6_network() -> None:
    assert is_insecure("registry.lan:5000", ["registry.lan:5000"])
    assert not is_insecure("registry.lan:5001", ["registry.lan:5000"])
    assert is_insecure("[::1]:5000", ["::1/128"])


def test_endpoint_scheme_and_ca_bundle(tmp_path: Path) -> None:
    assert resolve_endpoint("127.0.0.1:5000", LOOPBACK).url == "http://127.0.0.1:5000"
    secure = resolve_endpoint("registry.example.com", LOOPBACK, tmp_path / "ca.pem")
    assert secure.url == "https://registry.example.com" and secure.secure
    assert secure.verify == str(tmp_path / "ca.pem")


def test_server_domain_from_login_addresses() -> None:
    assert server_domain("127.0.0.1:5000") == "127.0.0.1:5000"
    assert server_domain("http://127.0.0.1:5000/v1/") == "127.0.0.1:5000"
    assert server_domain("https://index.docker.io/v1/") == "index.docker.io"


def test_tls_contexts_are_made_once_per_bundle(tmp_path: Path) -> None:
    assert ssl_context(True) is ssl_context(True)
    bundle = tmp_path / "ca.pem"
    shutil.copy(certifi.where(), bundle)
    first = ssl_context(str(bundle))
    assert ssl_context(str(bundle)) is first
    os.utime(bundle, ns=(1, 1))  # a replaced bundle is read again
    assert ssl_context(str(bundle)) is not first
