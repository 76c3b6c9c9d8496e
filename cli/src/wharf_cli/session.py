"""Process-wide CLI state: the ``-H`` and TLS flags and the lazily built engine client."""

from __future__ import annotations

from wharf_client import EngineClient, resolve_host, tls_config

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see wharf_client.lean)
if TYPE_CHECKING:
    from typing import Any


class _Session:
    def __init__(self) -> None:
        self.host_flag: str | None = None
        self.tls_options: dict[str, Any] = {}
        self._client: EngineClient | None = None

    def configure(self, host_flag: str | None, tls_options: dict[str, Any] | None = None) -> None:
        self.host_flag = host_flag
        self.tls_options = tls_options or {}
        self._client = None

    @property
    def client(self) -> EngineClient:
        if self._client is None:
            tls = tls_config(**self.tls_options) if self.tls_options else None
            self._client = EngineClient(resolve_host(self.host_flag, tls=tls))
        return self._client


SESSION = _Session()


def configure_session(
    *,
    host: str | None = None,
    tls: bool = False,
    tlsverify: bool | None = None,
    tlscacert: str | None = None,
    tlscert: str | None = None,
    tlskey: str | None = None,
) -> None:
    """Apply the global options (``-H``, ``--tls``...) before a command runs."""
    SESSION.configure(
        host,
        tls_options={"tls": tls, "verify": tlsverify, "ca_cert": tlscacert, "cert": tlscert, "key": tlskey},
    )


def client() -> EngineClient:
    """The engine client for this invocation (the API version is negotiated on first request)."""
    return SESSION.client
