"""Docker's identity tokens: at login the password goes with ``offline_token=true`` and the
token server's ``refresh_token`` is kept; with an identity token, tokens are asked for with the
OAuth2 form (``grant_type=refresh_token``) and no password is sent."""

from __future__ import annotations

import asyncio
import base64
import json
from urllib.parse import parse_qs

import httpx
from wharf_engine.distribution import AuthConfig, Endpoint
from wharf_engine.distribution.endpoint import decode_registry_auth
from wharf_engine.distribution.v2auth import TokenSource, parse_challenges, push_scope

ENDPOINT = Endpoint("127.0.0.1:5000", "http://127.0.0.1:5000")
REALM = "http://hub.test/v2/token"


class Server:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = {"token": f"t{len(self.requests)}", "expires_in": 300}
        if request.url.params.get("offline_token") == "true":
            answer["refresh_token"] = "wharf_pat_refresh"
        return httpx.Response(200, json=answer)


def source(server: Server, auth: AuthConfig) -> TokenSource:
    challenge = parse_challenges([f'Bearer realm="{REALM}",service="registry.test"'])
    return TokenSource(ENDPOINT, auth, challenge, transport=httpx.MockTransport(server))


def test_a_login_asks_for_an_offline_token_and_keeps_the_refresh_token() -> None:
    server = Server()
    tokens = source(server, AuthConfig("alice", "pw"))
    tokens.offline = True
    assert asyncio.run(tokens.authorization(())) == "Bearer t1"
    [request] = server.requests
    assert request.method == "GET" and request.url.params["client_id"] == "docker"
    assert request.headers["authorization"].startswith("Basic ")
    assert tokens.refresh_token == "wharf_pat_refresh"


def test_a_pull_or_push_does_not_ask_for_an_offline_token() -> None:
    server = Server()
    tokens = source(server, AuthConfig("alice", "pw"))
    asyncio.run(tokens.authorization((push_scope("alice/web"),)))
    assert "offline_token" not in server.requests[0].url.params and tokens.refresh_token == ""


def test_an_identity_token_is_sent_as_a_refresh_token_grant() -> None:
    auth = decode_registry_auth(
        base64.urlsafe_b64encode(
            json.dumps({"username": "alice", "identitytoken": "wharf_pat_x", "serveraddress": "r"}).encode()
        ).decode()
    )
    assert (auth.password, auth.identity_token) == ("", "wharf_pat_x")
    server = Server()
    assert asyncio.run(source(server, auth).authorization((push_scope("alice/web"),))) == "Bearer t1"
    [request] = server.requests
    form = parse_qs(request.content.decode())
    assert request.method == "POST" and "authorization" not in request.headers
    assert form == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["wharf_pat_x"],
        "client_id": ["docker"],
        "scope": ["repository:alice/web:pull,push"],
        "service": ["registry.test"],
    }
