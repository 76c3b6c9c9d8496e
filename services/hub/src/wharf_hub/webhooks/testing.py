"""A webhook receiver on loopback for tests (public on purpose, as ``wharf_registry.testing``):
it records every request and answers as told: a status, a redirect, or not at all (hang).

    with Receiver() as receiver:
        receiver.reply(500, 500)          # the next two requests fail, later ones get 200
        ...
        first = receiver.wait_for(1)[0]
        assert verify(secret, first.body, first.headers["x-wharf-signature-256"])
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True, slots=True)
class Reply:
    status: int = 200
    body: bytes = b'{"ok": true}'
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    """Answer nothing until the receiver stops (the hub's timeout must end the attempt)."""


HANG = Reply(hang=True)


@dataclass(frozen=True, slots=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    """Names in lower case."""
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.requests: list[Received] = []
        self.replies: deque[Reply] = deque()
        self.default = Reply()
        self.on_request: Callable[[Received], None] | None = None
        """Called (in the server's thread) before each answer: a receiver that calls back."""
        self._lock = threading.Condition()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer((host, 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="webhook-receiver", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reply(self, *replies: Reply | int) -> None:
        """Queue answers for the next requests (an int is a status with a small JSON body)."""
        with self._lock:
            self.replies.extend(r if isinstance(r, Reply) else Reply(r) for r in replies)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The first ``count`` requests, waiting for them to arrive."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.requests)} of {count} requests arrived in {timeout} s")
                self._lock.wait(left)
            return list(self.requests[:count])

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                received = Received(self.command, self.path, headers, body)
                with receiver._lock:
                    receiver.requests.append(received)
                    reply = receiver.replies.popleft() if receiver.replies else receiver.default
                    receiver._lock.notify_all()
                if receiver.on_request is not None:
                    receiver.on_request(received)
                if reply.hang:
                    receiver._release.wait()
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_PUT = do_POST
            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


__all__ = ["HANG", "Received", "Receiver", "Reply"]
