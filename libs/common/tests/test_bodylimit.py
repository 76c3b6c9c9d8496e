"""The body-limit middleware against a tiny ASGI app that buffers whatever it is sent."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from wharf_common.bodylimit import ASGIApp, BodyLimitMiddleware, BodyRule, Message, Receive, Scope, Send


def _respond(_scope: Scope, status: int, message: str) -> ASGIApp:
    async def app(_scope: Scope, _receive: Receive, send: Send) -> None:
        body = json.dumps({"message": message}).encode()
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app


class Buffering:
    """Reads the whole body (as ``await request.body()`` does), then answers 200 with its size.
    When a read fails it answers 400, as a framework wrapping body errors would."""

    def __init__(self) -> None:
        self.received = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            while True:
                message = await receive()
                self.received += len(message.get("body", b""))
                if not message.get("more_body"):
                    break
        except Exception:
            await send({"type": "http.response.start", "status": 400, "headers": []})
            await send({"type": "http.response.body", "body": b'"read failed"'})
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(self.received).encode()})


def call(
    app: ASGIApp, chunks: list[bytes], *, method: str = "POST", path: str = "/x", length: int | None = None
) -> tuple[int, bytes, int]:
    """(status, body, messages the client had to deliver)."""
    headers = [] if length is None else [(b"content-length", str(length).encode())]
    scope: dict[str, Any] = {"type": "http", "method": method, "path": path, "headers": headers}
    pending = list(chunks)
    delivered = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal delivered
        delivered += 1
        chunk = pending.pop(0) if pending else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: Message) -> None:
        sent.append(message)

    async def main() -> None:
        await app(scope, receive, send)

    asyncio.run(main())
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1, sent
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(starts[0]["status"]), body, delivered


def test_a_declared_length_over_the_limit_is_refused_before_any_read() -> None:
    inner = Buffering()
    app = BodyLimitMiddleware(inner, limit=10, respond=_respond)
    status, body, delivered = call(app, [b"x" * 11], length=11)
    assert status == 413 and delivered == 0 and inner.received == 0
    assert json.loads(body) == {"message": "request body too large: the limit is 10 bytes"}


def test_a_chunked_body_is_cut_at_the_limit_and_the_apps_answer_replaced() -> None:
    inner = Buffering()
    app = BodyLimitMiddleware(inner, limit=10_000, respond=_respond)
    status, body, delivered = call(app, [b"x" * 4096] * 1000)  # 4 MB, no Content-Length
    assert status == 413 and b"too large" in body
    assert delivered == 3 and inner.received <= 10_000  # stopped reading at the limit


def test_a_body_within_the_limit_passes_untouched() -> None:
    for length in (10, None):
        app = BodyLimitMiddleware(Buffering(), limit=10, respond=_respond)
        assert call(app, [b"12345", b"67890"], length=length)[:2] == (200, b"10")


def test_rules_give_streaming_routes_their_own_limit() -> None:
    rules = [BodyRule.of("PUT", r"/images/[^/]+/layer", None), BodyRule.of("POST", "/build", 100)]
    app = BodyLimitMiddleware(Buffering(), limit=10, respond=_respond, rules=rules)
    assert call(app, [b"x" * 1000], method="PUT", path="/images/abc/layer")[0] == 200
    assert call(app, [b"x" * 1000], method="POST", path="/images/abc/layer")[0] == 413  # other method
    assert call(app, [b"x" * 1000], method="PUT", path="/images/abc/layer/more")[0] == 413  # full match
    assert call(app, [b"x" * 100], method="POST", path="/build")[0] == 200
    assert call(app, [b"x" * 101], method="POST", path="/build", length=101)[0] == 413


def test_an_exception_escaping_the_app_after_the_refusal_still_gives_413() -> None:
    async def unguarded(_scope: Scope, receive: Receive, _send: Send) -> None:
        while (await receive()).get("more_body"):
            pass

    app = BodyLimitMiddleware(unguarded, limit=10, respond=_respond)
    assert call(app, [b"x" * 8] * 4)[0] == 413


def test_other_errors_still_propagate() -> None:
    async def broken(_scope: Scope, _receive: Receive, _send: Send) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        call(BodyLimitMiddleware(broken, limit=10, respond=_respond), [b"x"])
