"""A fake engine on a real unix socket, for tests of clients of the Engine API (this package and the CLI).

    engine = FakeEngine(tmp_path / "engine.sock")
    engine.route("GET", "/containers/json", lambda req: Reply.json([]))
    with engine:
        EngineClient(engine.url).container_list()

Handlers get a :class:`FakeRequest` (path without the ``/vX.Y`` prefix, query, headers, body) and return
a :class:`Reply` (an iterable body is sent chunked, piece by piece), or ``None`` after taking over
``request.sock`` themselves (hijacked attach). Connections are kept alive as the engine's are: each
request records the number of the connection it came on (``FakeEngine.connections`` counts them).
"""

from __future__ import annotations

import json
import re
import socket
import socketserver
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

_VERSION_PREFIX = re.compile(r"^/v\d+\.\d+(?=/)")


@dataclass
class FakeRequest:
    method: str
    target: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    sock: socket.socket
    reader: Any
    match: re.Match[str] | None = None
    connection: int = 0  # 1 for the first connection the engine accepted, 2 for the next...

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200) -> Reply:
        return cls(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})

    @classmethod
    def error(cls, status: int, message: str) -> Reply:
        return cls.json({"message": message}, status)


Handler = Callable[[FakeRequest], Reply | None]
_REASONS = {101: "UPGRADED", 200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified"}


class FakeEngine:
    def __init__(self, socket_path: Path | str, *, api_version: str | None = "1.44") -> None:
        self.socket_path = str(socket_path)
        self.api_version = api_version
        self.requests: list[FakeRequest] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._server: socketserver.ThreadingUnixStreamServer | None = None
        self.route("HEAD", "/_ping", lambda req: Reply(200, b"", {"Content-Type": "text/plain"}))
        self.route("GET", "/_ping", lambda req: Reply(200, b"OK", {"Content-Type": "text/plain"}))

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Register a handler; ``pattern`` is a regex matched against the whole unversioned path."""
        self._routes.insert(0, (method, re.compile(pattern + "$"), handler))

    def requests_to(self, path_pattern: str) -> list[FakeRequest]:
        return [r for r in self.requests if re.fullmatch(path_pattern, r.path)]

    def start(self) -> FakeEngine:
        engine = self

        class _Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                with engine._lock:
                    engine.connections += 1
                    number = engine.connections
                while engine._serve(self.connection, self.rfile, number):
                    pass

        self._server = socketserver.ThreadingUnixStreamServer(self.socket_path, _Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeEngine:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- serving -------------------------------------------------------------------------------
    def _serve(self, sock: socket.socket, reader: Any, connection: int) -> bool:
        """Answer one request; whether the connection stays open for another."""
        try:
            line = reader.readline()
        except OSError:
            return False
        if not line:
            return False
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while (header := reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = _read_body(reader, headers)
        url = urlsplit(target)
        path = _VERSION_PREFIX.sub("", url.path)
        request = FakeRequest(method, target, path, parse_qs(url.query), headers, body, sock, reader)
        request.connection = connection
        self.requests.append(request)
        reply = self._dispatch(request)
        if reply is None:  # the handler took the connection over
            return False
        return _write_reply(sock, reply, self.api_version, head=method == "HEAD")

    def _dispatch(self, request: FakeRequest) -> Reply | None:
        for method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                request.match = match
                return handler(request)
        return Reply.error(404, f"page not found: {request.method} {request.path}")


def _read_body(reader: Any, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", ""):
        parts: list[bytes] = []
        while True:
            size = int(reader.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                reader.readline()
                return b"".join(parts)
            parts.append(reader.read(size))
            reader.readline()
    length = int(headers.get("content-length", "0") or 0)
    return reader.read(length) if length else b""


def _write_reply(sock: socket.socket, reply: Reply, api_version: str | None, *, head: bool) -> bool:
    """Send the reply; whether it went out whole (so the connection can carry another request)."""
    headers = dict(reply.headers)
    if api_version:
        headers.setdefault("Api-Version", api_version)
    streaming = not isinstance(reply.body, bytes)
    if streaming:
        headers["Transfer-Encoding"] = "chunked"
    else:
        headers["Content-Length"] = str(len(reply.body))  # type: ignore[arg-type]
    reason = _REASONS.get(reply.status, "Error")
    head_lines = [f"HTTP/1.1 {reply.status} {reason}", *(f"{k}: {v}" for k, v in headers.items())]
    try:
        sock.sendall(("\r\n".join(head_lines) + "\r\n\r\n").encode("latin-1"))
        if head:
            return True
        if isinstance(reply.body, bytes):
            sock.sendall(reply.body)
            return True
        for chunk in reply.body:
            if chunk:
                sock.sendall(b"%x\r\n%b\r\n" % (len(chunk), chunk))
        sock.sendall(b"0\r\n\r\n")
    except OSError:
        return False
    return True


def write_upgrade(sock: socket.socket, *, multiplexed: bool) -> None:
    """Answer an attach request the way moby does: ``101 UPGRADED`` and the stream content type."""
    content_type = (
        "application/vnd.docker.multiplexed-stream" if multiplexed else "application/vnd.docker.raw-stream"
    )
    sock.sendall(
        (
            f"HTTP/1.1 101 UPGRADED\r\nContent-Type: {content_type}\r\n"
            "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
        ).encode()
    )
