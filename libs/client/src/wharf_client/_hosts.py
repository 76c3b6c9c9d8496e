"""Engine address selection and parsing (``unix://path``, ``tcp://host:port``, TLS on TCP).

:class:`EngineHost` is a ``NamedTuple`` rather than a frozen dataclass: ``dataclasses`` imports
``inspect``, and every ``wharf`` command would pay for that before its first request.
"""

from __future__ import annotations

import os

from ._tls import TLSConfig, tls_config

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see lean)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import NamedTuple
else:
    from .lean import NamedTuple

DEFAULT_HOST = "unix:///run/wharf/engine.sock"
DEFAULT_TCP_PORT = 2375


class EngineHost(NamedTuple):
    """Where the engine listens: a unix socket path or a TCP address."""

    scheme: str  # "unix" | "tcp"
    address: str  # socket path for unix, host name for tcp
    port: int = 0
    tls: TLSConfig | None = None  # TCP only

    @property
    def url(self) -> str:
        if self.scheme == "unix":
            return f"unix://{self.address}"
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"tcp://{host}:{self.port}"

    @property
    def http_host(self) -> str:
        """The value of the HTTP ``Host`` header for requests to this engine."""
        if self.scheme == "unix":
            return "localhost"
        return self.url.removeprefix("tcp://")


def parse_host(value: str) -> EngineHost:
    """Parse ``unix:///path``, ``tcp://host[:port]`` (or a bare ``/path``) into an :class:`EngineHost`."""
    value = value.strip()
    if value.startswith("/"):
        return EngineHost("unix", value)
    scheme, sep, rest = value.partition("://")
    if not sep:
        raise ValueError(f"invalid host {value!r}: expected unix://PATH or tcp://HOST:PORT")
    scheme = scheme.lower()
    if scheme == "unix":
        if not rest:
            raise ValueError(f"invalid host {value!r}: empty socket path")
        return EngineHost("unix", rest)
    if scheme in ("tcp", "http"):
        rest = rest.rstrip("/")
        if rest.startswith("["):
            host, _, port_part = rest[1:].partition("]")
            port_text = port_part.removeprefix(":")
        else:
            host, _, port_text = rest.rpartition(":") if ":" in rest else (rest, "", "")
        if not host:
            host = "127.0.0.1"
        try:
            port = int(port_text) if port_text else DEFAULT_TCP_PORT
        except ValueError:
            raise ValueError(f"invalid host {value!r}: bad port {port_text!r}") from None
        if not 0 < port < 65536:
            raise ValueError(f"invalid host {value!r}: port out of range")
        return EngineHost("tcp", host, port)
    raise ValueError(f"invalid host {value!r}: unsupported scheme {scheme!r}")


def resolve_host(
    flag: str | None = None, environ: Mapping[str, str] | None = None, *, tls: TLSConfig | None = None
) -> EngineHost:
    """Pick the engine address: ``-H``, then ``WHARF_HOST``, then ``DOCKER_HOST``, then the default.

    A TCP address gets ``tls``, or the TLS that ``DOCKER_TLS_VERIFY`` and ``DOCKER_CERT_PATH`` ask for.
    """
    env = os.environ if environ is None else environ
    host = parse_host(DEFAULT_HOST)
    for candidate in (flag, env.get("WHARF_HOST"), env.get("DOCKER_HOST")):
        if candidate:
            host = parse_host(candidate)
            break
    if host.scheme == "tcp":
        host = host._replace(tls=tls if tls is not None else tls_config(environ=env))
    return host
