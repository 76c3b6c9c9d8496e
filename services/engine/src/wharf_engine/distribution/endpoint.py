"""Where a registry lives and how to speak to it: the endpoint URL and the client's credentials.

``X-Registry-Auth`` (and the ``POST /auth`` body) is Docker's ``AuthConfig``: base64url JSON
``{"username","password","auth","email","serveraddress","identitytoken","registrytoken"}``
(protocols.md C.2). Registries listed in ``insecure_registries`` (CIDRs or ``host[:port]``)
are spoken to over plain HTTP; every other one over HTTPS.
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from wharf_common import jsonsafe

from .errors import InvalidRegistryAuth


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """Credentials for one registry; empty username: anonymous."""

    username: str = ""
    password: str = ""
    server: str = ""
    email: str = ""  # only sent when an index creates an account (protocols.md A.10)
    identity_token: str = ""  # a token server's refresh token, kept by the client instead of the password

    @property
    def anonymous(self) -> bool:
        return not self.username

    def basic(self) -> str:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return f"Basic {token}"

    @classmethod
    def from_json(cls, data: Any) -> AuthConfig:
        if not isinstance(data, dict):
            return cls()
        username, password = str(data.get("username") or ""), str(data.get("password") or "")
        if not username and data.get("auth"):  # "auth": base64("user:password")
            try:
                username, _, password = base64.b64decode(str(data["auth"])).decode().partition(":")
            except ValueError:  # not base64 (binascii.Error), not ASCII, not UTF-8 (UnicodeDecodeError)
                raise InvalidRegistryAuth() from None
        return cls(
            username,
            password,
            str(data.get("serveraddress") or ""),
            str(data.get("email") or ""),
            str(data.get("identitytoken") or ""),
        )


def decode_registry_auth(header: str | None) -> AuthConfig:
    """The ``X-Registry-Auth`` header (base64url JSON, padding optional; ``{}`` is anonymous)."""
    if not header or not header.strip():
        return AuthConfig()
    text = header.strip()
    padded = (text + "=" * (-len(text) % 4)).encode()
    for altchars in (b"-_", b"+/"):  # base64url; some clients send the standard alphabet
        try:
            raw = base64.b64decode(padded, altchars=altchars, validate=True)
            return AuthConfig.from_json(jsonsafe.loads(raw) if raw.strip() else {})
        except (binascii.Error, ValueError):
            continue
    raise InvalidRegistryAuth()


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A v1 registry: ``domain`` as written in references, ``url`` with the scheme we use."""

    domain: str
    url: str
    verify: bool | str = True  # TLS verification: True, or a CA bundle path

    @property
    def secure(self) -> bool:
        return self.url.startswith("https://")


def ssl_context(verify: bool | str) -> ssl.SSLContext:
    """The TLS context for ``verify`` (an endpoint's), made once: httpx would build one per
    client, loading the CA bundle each time (two clients per pull or push, even for plain-HTTP
    registries). A CA bundle file that changes gets a new context."""
    stamp = None
    if isinstance(verify, str):
        try:
            stamp = Path(verify).stat().st_mtime_ns
        except OSError:
            pass  # ssl says what is wrong with it when the context is made
    env = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))  # httpx reads them
    return _ssl_context(verify, stamp, env)


@functools.lru_cache(maxsize=16)
def _ssl_context(
    verify: bool | str, _stamp: int | None, _env: tuple[str | None, str | None]
) -> ssl.SSLContext:
    if isinstance(verify, str):  # a CA bundle (httpx deprecates verify=<path>)
        if Path(verify).is_dir():
            return ssl.create_default_context(capath=verify)
        return ssl.create_default_context(cafile=verify)
    return httpx.create_ssl_context(verify=verify)


def _host_of(domain: str) -> str:
    if domain.startswith("["):  # [::1]:5000
        return domain[1 : domain.index("]")]
    return domain.rsplit(":", 1)[0] if domain.count(":") == 1 else domain


def is_insecure(domain: str, insecure: list[str]) -> bool:
    """Whether ``domain`` (``host[:port]``) is in the insecure list (CIDRs or names)."""
    host = _host_of(domain)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in insecure:
        if entry in (domain, host):
            return True
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
    return False


def resolve_endpoint(domain: str, insecure: list[str], ca_bundle: Path | None = None) -> Endpoint:
    scheme = "http" if is_insecure(domain, insecure) else "https"
    return Endpoint(domain, f"{scheme}://{domain}", str(ca_bundle) if ca_bundle else True)


def server_domain(address: str) -> str:
    """``127.0.0.1:5000`` from what ``docker login`` sends (``http://127.0.0.1:5000/v1/`` too)."""
    text = address.strip()
    for prefix in ("https://", "http://"):
        text = text.removeprefix(prefix)
    return text.split("/", 1)[0]


__all__ = [
    "AuthConfig",
    "Endpoint",
    "decode_registry_auth",
    "is_insecure",
    "resolve_endpoint",
    "server_domain",
    "ssl_context",
]
