"""Tokens the hub may take back are confirmed with it (a fake hub over ``httpx.MockTransport``)."""

from __future__ import annotations

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from wharf_common.tokens import InvalidToken, RepositoryToken, TokenSigner, TokenVerifier
from wharf_registry.index_access import Confirmations, IndexSettings, IndexUnreachable, TokenRevoked

pytestmark = pytest.mark.anyio

SIGNER = TokenSigner(Ed25519PrivateKey.generate())
VERIFIER = TokenVerifier(SIGNER.public_key)


class FakeHub:
    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.asked: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(request)
        return httpx.Response(self.status, json="OK" if self.status == 200 else "Token revoked")


def issued(index: str = "http://hub.test") -> tuple[str, RepositoryToken]:
    value = SIGNER.issue("alice/web", "write", "colin", 600, index=index)
    return value, VERIFIER.verify(value)


async def test_a_confirmation_holds_for_the_recheck_interval() -> None:
    hub = FakeHub()
    confirmations = Confirmations(IndexSettings(recheck=60), httpx.MockTransport(hub))
    value, token = issued()
    for _ in range(3):
        await confirmations.confirm(token, value)
    assert len(hub.asked) == 1
    request = hub.asked[0]
    assert (request.method, str(request.url)) == ("PUT", "http://hub.test/v1/repositories/alice/web/auth")
    assert request.headers["authorization"] == f"Token {value}"


async def test_without_recheck_every_use_is_confirmed_and_a_revoked_token_refused() -> None:
    hub = FakeHub()
    confirmations = Confirmations(IndexSettings(recheck=0), httpx.MockTransport(hub))
    value, token = issued()
    await confirmations.confirm(token, value)
    hub.status = 403
    with pytest.raises(TokenRevoked, match="colin may no longer write alice/web"):
        await confirmations.confirm(token, value)
    hub.status = 401
    with pytest.raises(InvalidToken):
        await confirmations.confirm(token, value)


async def test_the_configured_index_url_wins_over_the_tokens() -> None:
    hub = FakeHub()
    settings = IndexSettings(url="http://hub.internal:8080/")
    value, token = issued("http://127.0.0.1:8080")
    await Confirmations(settings, httpx.MockTransport(hub)).confirm(token, value)
    assert str(hub.asked[0].url) == "http://hub.internal:8080/v1/repositories/alice/web/auth"


@pytest.mark.parametrize("failure", ["connect", "500"])
async def test_an_unreachable_hub_refuses_with_503(failure: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if failure == "connect":
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(500)

    value, token = issued()
    with pytest.raises(IndexUnreachable) as caught:
        await Confirmations(IndexSettings(), httpx.MockTransport(handler)).confirm(token, value)
    assert caught.value.status == 503 and "http://hub.test" in caught.value.message
