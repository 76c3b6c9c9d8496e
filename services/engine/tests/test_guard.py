"""The browser guard in front of the routers: JSON bodies (Docker's CheckForJSON), Origin and Host on TCP."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send
from wharf_engine.api.guard import RequestGuardMiddleware, host_name, json_body_error, listener_names

TCP = ("127.0.0.1", 2375)


async def ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def call(
    method: str,
    path: str,
    headers: dict[str, str],
    *,
    server: Any = TCP,
    body: bytes = b"",
    allowed: tuple[str, ...] = (),
) -> tuple[int, Any]:
    app = RequestGuardMiddleware(ok, allowed_hosts=allowed)
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    if body:
        raw.append((b"content-length", str(len(body)).encode()))
    scope = {"type": "http", "method": method, "path": path, "headers": raw, "server": server}
    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], sent[1]["body"]


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", None),
        ("application/json; charset=utf-8", None),
        ("text/plain", "unsupported Content-Type header (text/plain): must be 'application/json'"),
        ("application/x-www-form-urlencoded", "unsupported Content-Type header"),
        ("", "malformed Content-Type header (): mime: no media type"),
    ],
)
def test_json_routes_need_application_json(content_type: str, expected: str | None) -> None:
    headers = {b"content-length": b"2"} | ({b"content-type": content_type.encode()} if content_type else {})
    error = json_body_error("POST", "/containers/create", headers)
    assert error == expected if expected is None else expected in str(error)


def test_raw_body_routes_and_bodiless_requests_are_not_json_checked() -> None:
    tar = {b"content-length": b"10", b"content-type": b"application/x-tar"}
    for route in ("/build", "/images/load", "/images/create"):
        assert json_body_error("POST", route, tar) is None
    assert json_body_error("PUT", "/containers/abc/archive", {b"transfer-encoding": b"chunked"}) is None
    assert (
        json_body_error("POST", "/containers/abc/attach", {b"content-type": b"text/plain"}) is None
    )  # docker
    assert json_body_error("POST", "/containers/abc/start", {b"content-length": b"0"}) is None
    assert json_body_error("POST", "/exec/abc/start", {b"transfer-encoding": b"chunked"}) is not None


def test_text_plain_body_is_refused_on_versioned_path_with_docker_message() -> None:
    status, body = call("POST", "/v1.44/containers/create", {"content-type": "text/plain"}, body=b"{}")
    assert status == 400 and b"must be 'application/json'" in body


def test_origin_is_refused_on_tcp_only() -> None:
    assert (call("GET", "/_ping", {"host": "127.0.0.1", "origin": "null"}))[0] == 403
    assert (call("GET", "/_ping", {"origin": "http://evil.example"}, server=None))[0] == 200


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("127.0.0.1:2375", 200),
        ("localhost:2375", 200),
        ("[::1]:2375", 200),
        ("api.moby.localhost", 200),
        ("192.0.2.7:2376", 200),  # an address: the browser's page would be at that address
        ("engine.lan:2376", 200),  # configured
        ("ENGINE.LAN.", 200),
        ("evil.example:2375", 403),
        ("localhost.evil.example", 403),
    ],
)
def test_host_must_name_this_engine(host: str, status: int) -> None:
    assert (call("GET", "/_ping", {"host": host}, allowed=("engine.lan",)))[0] == status


def test_host_is_not_checked_on_unix_sockets() -> None:
    assert (call("GET", "/_ping", {"host": "evil.example"}, server=None))[0] == 200


def test_listener_names_take_tcp_hosts_and_extra_names() -> None:
    names = listener_names(["unix:///run/x.sock", "tcp://engine.lan:2376", "tcp://0.0.0.0"], ["a.lan"], None)
    assert "engine.lan" in names and "a.lan" in names
    assert host_name("[::1]:2375") == "::1" and host_name("Engine.Lan.:1") == "engine.lan"


def test_guard_works_through_httpx_transport() -> None:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=RequestGuardMiddleware(ok))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.post(
                "/containers/create", content=b"{}", headers={"content-type": "text/plain"}
            )

    response = asyncio.run(go())
    assert response.status_code == 400 and response.json()["message"].startswith("unsupported Content-Type")
