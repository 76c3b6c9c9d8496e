"""Request plumbing shared by the engine client's API groups: versioning, query encoding, errors."""

from __future__ import annotations

from . import lean as json
from ._errors import EngineError, error_for_status
from ._hosts import EngineHost, parse_host, resolve_host
from ._http import Response, perform
from ._pool import ConnectionPool

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see lean)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from ._http import Body

CLIENT_API_VERSION = "1.44"
FALLBACK_API_VERSION = "1.24"
USER_AGENT = "wharf-cli/0.1.0"

if TYPE_CHECKING:
    JSONObject = dict[str, Any]
    QueryValue = str | int | bool | None | Sequence[str]
    Query = Mapping[str, QueryValue]
else:
    JSONObject = dict[str, "Any"]  # the same alias at run time, without importing typing


_UNRESERVED = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"


def quote(text: str, safe: str = "/") -> str:
    """``urllib.parse.quote`` (UTF-8, RFC 3986 unreserved characters kept), without importing
    ``urllib.parse`` on every command's path."""
    keep = _UNRESERVED + safe.encode("ascii")
    data = text.encode("utf-8")
    if not data.translate(None, keep):  # nothing to escape (ids, most names)
        return text
    return "".join(chr(byte) if byte in keep else f"%{byte:02X}" for byte in data)


def version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (0,)


def negotiate_version(server_version: str | None, client_version: str = CLIENT_API_VERSION) -> str:
    """The docker CLI rule: min(client default, server ``Api-Version``); no header means 1.24."""
    server = server_version or FALLBACK_API_VERSION
    return min(server, client_version, key=version_tuple)


def encode_query(query: Query | None) -> str:
    """Encode query parameters like the Go client: booleans as ``1``/``0``, ``None`` omitted."""
    if not query:
        return ""
    parts: list[str] = []
    for key, value in query.items():
        if value is None:
            continue
        if isinstance(value, bool):
            values: Sequence[str] = ["1" if value else "0"]
        elif isinstance(value, int):
            values = [str(value)]
        elif isinstance(value, str):
            values = [value]
        else:
            values = list(value)
        parts.extend(f"{quote(key, safe='')}={quote(item, safe='')}" for item in values)
    return "?" + "&".join(parts) if parts else ""


def path_segment(name: str) -> str:
    """Escape a container or image reference for a path (``/`` and ``:`` stay, as docker sends them)."""
    return quote(name, safe="/:@")


def error_from_response(response: Response) -> EngineError:
    body = response.read()
    message = ""
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("message"), str):
        message = payload["message"]
    elif body:
        message = body.decode("utf-8", "replace").strip()
    if not message:
        message = f"{response.status} {response.reason}".strip()
    return error_for_status(response.status, message)


class BaseClient:
    """Connection settings and the request helpers every API group uses."""

    def __init__(
        self,
        host: EngineHost | str | None = None,
        *,
        version: str | None = None,
        timeout: float | None = None,
    ) -> None:
        if host is None:
            self.host = resolve_host()
        else:
            self.host = parse_host(host) if isinstance(host, str) else host
        self.timeout = timeout
        self._version = version
        self._ping_headers: dict[str, str] | None = None
        self._pool = ConnectionPool()

    def close(self) -> None:
        """Close the connections kept open for the next request (they also close with the process)."""
        self._pool.close()

    # -- versioning ------------------------------------------------------------------------------
    @property
    def api_version(self) -> str:
        """The API version used in request paths, negotiated with ``/_ping`` on first use."""
        if self._version is None:
            headers = self._ping()
            self._version = negotiate_version(headers.get("api-version"))
        return self._version

    def _ping(self) -> dict[str, str]:
        if self._ping_headers is None:
            response = self._send("HEAD", "/_ping", versioned=False)
            try:
                if response.status >= 400:
                    response.close()
                    response = self._send("GET", "/_ping", versioned=False)
                    if response.status >= 400:
                        raise error_from_response(response)
                response.read()
                self._ping_headers = response.headers
            finally:
                response.close()
        return self._ping_headers

    # -- requests --------------------------------------------------------------------------------
    def _send(
        self,
        method: str,
        path: str,
        query: Query | None = None,
        *,
        body: Body = None,
        headers: Mapping[str, str] | None = None,
        versioned: bool = True,
    ) -> Response:
        """Send a request and return the response without checking its status."""
        prefix = f"/v{self.api_version}" if versioned else ""
        all_headers = {"Host": self.host.http_host, "User-Agent": USER_AGENT}
        if headers:
            all_headers.update(headers)
        return perform(
            self.host,
            method,
            prefix + path + encode_query(query),
            all_headers,
            body,
            self.timeout,
            self._pool,
        )

    def _open(
        self,
        method: str,
        path: str,
        query: Query | None = None,
        *,
        json_body: Any = None,
        body: Body = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Send a request; raise the matching :class:`EngineError` for a status >= 400."""
        all_headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        response = self._send(method, path, query, body=body, headers=all_headers)
        if response.status >= 400:
            try:
                raise error_from_response(response)
            finally:
                response.close()
        return response

    def _call(
        self,
        method: str,
        path: str,
        query: Query | None = None,
        *,
        json_body: Any = None,
    ) -> Any:
        """Send a request and return its decoded JSON body (``None`` when empty)."""
        with self._open(method, path, query, json_body=json_body) as response:
            data = response.read()
        return json.loads(data) if data.strip() else None


def filters_param(filters: Mapping[str, Sequence[str]] | None) -> str | None:
    """Encode ``{"status": ["running"]}`` as the ``filters`` query parameter."""
    if not filters:
        return None
    return json.dumps({key: list(values) for key, values in filters.items()})
