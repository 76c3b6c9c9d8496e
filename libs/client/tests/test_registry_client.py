import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from wharf_client import EngineClient, EngineError, PermissionDeniedError
from wharf_client._registry import encode_registry_auth
from wharf_client.testing import FakeEngine, FakeRequest, Reply


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[FakeEngine]:
    with FakeEngine(tmp_path / "engine.sock") as fake:
        yield fake


def lines(*messages: object) -> Reply:
    body = b"".join(json.dumps(m).encode() + b"\r\n" for m in messages)
    return Reply(200, body, {"Content-Type": "application/json"})


def decoded_auth(request: FakeRequest) -> object:
    header = request.headers["x-registry-auth"]
    assert "+" not in header and "/" not in header
    return json.loads(base64.urlsafe_b64decode(header))


def test_encode_registry_auth_is_base64url_json() -> None:
    assert encode_registry_auth(None) == "e30="
    value = encode_registry_auth({"username": "a", "password": "?>?>", "serveraddress": "h:5000"})
    assert json.loads(base64.urlsafe_b64decode(value))["password"] == "?>?>"


def test_pull_sends_name_tag_and_auth_and_yields_messages(engine: FakeEngine) -> None:
    engine.route(
        "POST",
        "/images/create",
        lambda req: lines({"status": "Pulling from user/web", "id": "v1"}, {"status": "Status: done"}),
    )
    auth = {"username": "alice", "password": "pw", "serveraddress": "127.0.0.1:5000"}
    messages = list(EngineClient(engine.url).image_pull("127.0.0.1:5000/user/web", "v1", auth=auth))
    assert [m["status"] for m in messages] == ["Pulling from user/web", "Status: done"]
    request = engine.requests_to("/images/create")[0]
    assert request.param("fromImage") == "127.0.0.1:5000/user/web" and request.param("tag") == "v1"
    assert decoded_auth(request) == auth


def test_push_stream_error_raises_while_iterating(engine: FakeEngine) -> None:
    engine.route(
        "POST",
        r"/images/127\.0\.0\.1:5000/user/web/push",
        lambda req: lines(
            {"status": "Preparing", "id": "abc"}, {"errorDetail": {"message": "denied"}, "error": "denied"}
        ),
    )
    stream = EngineClient(engine.url).image_push("127.0.0.1:5000/user/web", "v1")
    assert next(stream)["status"] == "Preparing"
    with pytest.raises(EngineError, match="denied"):
        next(stream)
    request = engine.requests_to(r"/images/.*/push")[0]
    assert request.param("tag") == "v1" and decoded_auth(request) == {}


def test_pull_error_before_the_stream_raises_at_call(engine: FakeEngine) -> None:
    engine.route("POST", "/images/create", lambda req: Reply.error(404, "tag not found"))
    with pytest.raises(EngineError, match="tag not found"):
        EngineClient(engine.url).image_pull("127.0.0.1:5000/x", "nope")


def test_login_posts_credentials_and_maps_401(engine: FakeEngine) -> None:
    def auth(req: FakeRequest) -> Reply:
        if req.json()["password"] == "good":
            return Reply.json({"Status": "Login Succeeded", "IdentityToken": ""})
        return Reply.error(401, "unauthorized: incorrect username or password")

    engine.route("POST", "/auth", auth)
    client = EngineClient(engine.url)
    assert client.registry_login("alice", "good", "h:5000")["Status"] == "Login Succeeded"
    assert engine.requests_to("/auth")[0].json() == {
        "username": "alice",
        "password": "good",
        "serveraddress": "h:5000",
    }
    with pytest.raises(PermissionDeniedError, match="incorrect"):
        client.registry_login("alice", "bad", "h:5000")


def test_search_passes_term_and_limit(engine: FakeEngine) -> None:
    found = [{"name": "user/web", "description": "", "star_count": 0, "is_official": False}]
    engine.route("GET", "/images/search", lambda req: Reply.json(found))
    assert EngineClient(engine.url).image_search("h:5000/web", limit=3) == found
    request = engine.requests_to("/images/search")[0]
    assert request.param("term") == "h:5000/web" and request.param("limit") == "3"
    assert decoded_auth(request) == {}
