"""Process-wide CLI state: the ``-H`` flag and the lazily built engine client."""

from __future__ import annotations

from wharf_client import EngineClient, resolve_host


class _Session:
    def __init__(self) -> None:
        self.host_flag: str | None = None
        self._client: EngineClient | None = None

    def configure(self, host_flag: str | None) -> None:
        self.host_flag = host_flag
        self._client = None

    @property
    def client(self) -> EngineClient:
        if self._client is None:
            self._client = EngineClient(resolve_host(self.host_flag))
        return self._client


SESSION = _Session()


def client() -> EngineClient:
    """The engine client for this invocation (the API version is negotiated on first request)."""
    return SESSION.client
