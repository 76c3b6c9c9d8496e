"""Pull, push, login and search against a hub: an index and a registry faked with httpx.MockTransport.

The fake index checks Basic credentials and hands out tokens; the fake registry behind it
accepts only ``Authorization: Token`` (read tokens for GETs, write tokens for PUTs), like a
registry in index mode. The stores are real, in a temporary root.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import gzip
import hashlib
import io
import json
import re
import secrets
import tarfile
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from wharf_common.errors import WharfError
from wharf_engine.daemon import auth, pull, push, search
from wharf_engine.daemon.events import EventBus
from wharf_engine.distribution import (
    AccessDenied,
    AccountInactive,
    AuthConfig,
    PullAccessDenied,
    RegistrationFailed,
    RegistryError,
    RegistryService,
    RegistryUnauthorized,
    RegistryUnreachable,
    V1IdStore,
)
from wharf_engine.images.references import ReferenceStore
from wharf_engine.images.store import ImageStore
from wharf_engine.layers.store import LayerStore
from wharf_engine.settings import Settings

HUB, REGISTRY, STANDALONE = "127.0.0.1:8080", "127.0.0.1:5000", "127.0.0.1:5001"
BASE, TOP = "1" * 64, "2" * 64
ALICE = AuthConfig("alice", "pa55word")


def layer(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), mtime=0)


def payload(image_json: bytes, data: bytes) -> str:
    return "sha256:" + hashlib.sha256(image_json + b"\n" + data).hexdigest()


class FakeHub:
    """An index on :8080, a registry in index mode on :5000, a standalone registry on :5001."""

    def __init__(self) -> None:
        self.users: dict[str, tuple[str, bool]] = {"alice": ("pa55word", True), "bob": ("b0b", False)}
        self.repos: dict[str, list[dict[str, str]]] = {"alice/web": [{"id": BASE}, {"id": TOP}]}
        self.tokens: dict[str, tuple[str, str]] = {}  # token → (repository, access)
        self.finished: list[tuple[httpx.Headers, Any]] = []  # the final PUT …/images
        self.requests: list[httpx.Request] = []
        self.layers = {BASE: layer({"bin/sh": b"#!sh\n"}), TOP: layer({"greeting": b"hello\n"})}
        self.jsons = {
            BASE: json.dumps({"id": BASE, "created": "2024-01-01T00:00:00Z"}).encode(),
            TOP: json.dumps(
                {
                    "id": TOP,
                    "parent": BASE,
                    "created": "2024-01-02T00:00:00Z",
                    "config": {"Cmd": ["cat", "/greeting"]},
                }
            ).encode(),
        }
        self.checksums = {i: payload(self.jsons[i], self.layers[i]) for i in self.jsons}
        self.tags: dict[str, dict[str, str]] = {"alice/web": {"latest": TOP}}
        self.uploading: set[str] = set()
        self.write_token_reads = False  # as wharf's registry: a push's token reads its repository's JSON

    def forget_images(self) -> None:
        self.layers, self.jsons, self.checksums, self.tags, self.repos = {}, {}, {}, {}, {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        host, path = request.url.netloc.decode(), request.url.path
        if path == "/v2/":  # a v1-only hub and registry: the engine falls back to v1
            return httpx.Response(404)
        if path == "/v1/_ping":
            return httpx.Response(
                200, json={}, headers={} if host == STANDALONE else {"X-Docker-Registry-Standalone": "false"}
            )
        if host == HUB:
            return self.index(request, path)
        if host == REGISTRY:
            return self.registry(request, path)
        assert host == STANDALONE and path == "/v1/users/", request
        return httpx.Response(200, json="OK")

    def user(self, request: httpx.Request) -> str | None:
        """The Basic user; "" for wrong credentials, None for none."""
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return None
        name, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return name if self.users.get(name, ("", False))[0] == password and password else ""

    def grant(self, repository: str, access: str) -> dict[str, str]:
        token = f'signature={secrets.token_hex(4)},repository="{repository}",access={access}'
        self.tokens[token] = (repository, access)
        return {"X-Docker-Token": token, "WWW-Authenticate": f"Token {token}", "X-Docker-Endpoints": REGISTRY}

    def index(self, request: httpx.Request, path: str) -> httpx.Response:
        user = self.user(request)
        if path == "/v1/users/" and request.method == "POST":
            data = json.loads(request.content)
            assert data["auth"] == "" and "Authorization" not in request.headers
            if data["username"] in self.users:
                return httpx.Response(400, json="Username or email already exists")
            if not data["email"]:
                return httpx.Response(400, json="An e-mail address is required")
            self.users[data["username"]] = (data["password"], False)
            return httpx.Response(201, json="User Created")
        if path == "/v1/users/":
            if not user:
                return httpx.Response(401, json="Wrong login/password")
            return httpx.Response(200 if self.users[user][1] else 403, json="OK")
        if path == "/v1/search":
            item = {
                "name": "alice/web",
                "description": "the web",
                "star_count": 2,
                "is_official": False,
                "is_trusted": False,
                "is_automated": False,
            }
            found = {
                "query": request.url.params["q"],
                "num_results": 1,
                "num_pages": 1,
                "page": 1,
                "page_size": 25,
                "results": [item],
            }
            return httpx.Response(200, json=found)
        match = re.fullmatch(r"/v1/repositories/([^/]+/[^/]+)/(images)?", path)
        assert match, path
        repository, images = match.groups()
        assert request.headers["x-docker-token"] == "true"
        if user == "":
            return httpx.Response(401, json="Wrong login/password")
        if request.method == "GET":
            if repository not in self.repos:
                return httpx.Response(404, json="Repository not found")
            return httpx.Response(200, json=self.repos[repository], headers=self.grant(repository, "read"))
        if user is None:
            return httpx.Response(401, json="Authentication required")
        if repository.split("/")[0] != user:
            return httpx.Response(403, json="Access denied")
        if images:
            self.finished.append((request.headers, json.loads(request.content)))
            return httpx.Response(204)
        self.repos.setdefault(repository, [])
        return httpx.Response(200, json="", headers=self.grant(repository, "write"))

    def registry(self, request: httpx.Request, path: str) -> httpx.Response:
        header = request.headers.get("authorization", "")
        repository, access = self.tokens.get(header.removeprefix("Token "), ("", ""))
        allowed = {"read", "write"} if request.method == "GET" and self.write_token_reads else {"read"}
        if not header.startswith("Token ") or access not in (
            allowed if request.method == "GET" else {"write"}
        ):
            return httpx.Response(401, json={"error": "Requires authorization"})
        parts = path.split("/")
        if parts[2] == "repositories":  # /v1/repositories/<ns>/<repo>/tags/<tag>
            name, tag = "/".join(parts[3:5]), parts[6]
            assert name == repository
            if request.method == "PUT":
                self.tags.setdefault(name, {})[tag] = json.loads(request.content)
                return httpx.Response(200, json=True)
            found = self.tags.get(name, {}).get(tag)
            return (
                httpx.Response(200, json=found)
                if found
                else httpx.Response(404, json={"error": "Tag not found"})
            )
        image_id, what = parts[3], parts[4]
        if request.method == "PUT":
            return self.upload(request, image_id, what)
        if image_id not in self.jsons or image_id in self.uploading:
            return httpx.Response(404, json={"error": "Image not found"})
        if what == "ancestry":
            ancestry, current = [], image_id
            while current:
                ancestry.append(current)
                current = json.loads(self.jsons[current]).get("parent", "")
            return httpx.Response(200, json=ancestry)
        if what == "json":
            headers = {
                "X-Docker-Size": str(len(self.layers[image_id])),
                "X-Docker-Checksum-Payload": self.checksums[image_id],
            }
            return httpx.Response(200, content=self.jsons[image_id], headers=headers)
        return httpx.Response(200, content=self.layers[image_id])

    def upload(self, request: httpx.Request, image_id: str, what: str) -> httpx.Response:
        if what == "json":
            if image_id in self.jsons and image_id not in self.uploading:
                return httpx.Response(409, json={"error": "Image already exists"})
            self.jsons[image_id] = request.content
            self.uploading.add(image_id)
        elif what == "layer":
            self.layers[image_id] = request.content
        else:
            checksum = payload(self.jsons[image_id], self.layers[image_id])
            if request.headers["x-docker-checksum-payload"] != checksum:
                return httpx.Response(400, json={"error": "Checksum mismatch"})
            self.checksums[image_id] = checksum
            self.uploading.discard(image_id)
        return httpx.Response(200, json=True)

    def sent(self, host: str) -> list[httpx.Request]:
        return [
            r
            for r in self.requests
            if r.url.netloc.decode() == host and r.url.path not in ("/v1/_ping", "/v2/")
        ]


class FakeDaemon:
    def __init__(self, root: Path, transport: httpx.AsyncBaseTransport) -> None:
        self.settings = Settings(data_root=root)
        self.registries = RegistryService(f"http://{HUB}", ["127.0.0.0/8"], transport=transport)
        self.layers = LayerStore(root)
        self.images = ImageStore(root)
        self.references = ReferenceStore(root)
        self.v1ids = V1IdStore(root)
        self.events = EventBus()
        self.image_lock = asyncio.Lock()
        self.layer_register_lock = asyncio.Lock()


@pytest.fixture
def hub() -> FakeHub:
    return FakeHub()


@pytest.fixture
def daemon(tmp_path: Path, hub: FakeHub) -> Any:
    return cast(Any, FakeDaemon(tmp_path, httpx.MockTransport(hub)))


async def collect(stream: Any) -> list[dict[str, Any]]:
    return [message async for message in stream]


def test_pull_of_a_bare_name_goes_through_the_index_with_tokens(daemon: Any, hub: FakeHub) -> None:
    messages = asyncio.run(collect(pull.image_pull(daemon, "alice/web", None, AuthConfig())))
    assert messages[0] == {"status": "Pulling from alice/web", "id": "latest"}
    assert messages[-1] == {"status": "Status: Downloaded newer image for alice/web:latest"}
    assert daemon.references.get("alice/web:latest") is not None
    (index_request,) = hub.sent(HUB)
    assert index_request.url.path == "/v1/repositories/alice/web/images"
    assert "authorization" not in index_request.headers  # anonymous: no Basic
    for request in hub.sent(REGISTRY):
        assert request.headers["authorization"].startswith("Token signature=")
        assert request.headers["authorization"].endswith("access=read")


def test_pull_sends_basic_to_the_index_only(daemon: Any, hub: FakeHub) -> None:
    asyncio.run(collect(pull.image_pull(daemon, "docker.io/alice/web", "latest", ALICE)))
    assert daemon.references.get("alice/web:latest") is not None
    assert hub.sent(HUB)[0].headers["authorization"] == ALICE.basic()
    assert not [r for r in hub.sent(REGISTRY) if r.headers["authorization"].startswith("Basic")]


@pytest.mark.parametrize("name", ["busybox", "alice/nothing"])
def test_pull_of_an_unknown_repository_is_docker_access_denied(daemon: Any, hub: FakeHub, name: str) -> None:
    with pytest.raises(PullAccessDenied) as caught:
        asyncio.run(anext(pull.image_pull(daemon, name, None, AuthConfig())))
    assert caught.value.message == (
        f"pull access denied for {name}, repository does not exist or may require 'docker login': "
        "denied: requested access to the resource is denied"
    )
    remote = "library/busybox" if name == "busybox" else name
    assert hub.sent(HUB)[0].url.path == f"/v1/repositories/{remote}/images"


def test_pull_with_wrong_credentials_says_unauthorized(daemon: Any) -> None:
    with pytest.raises(PullAccessDenied, match="unauthorized: incorrect username or password"):
        asyncio.run(anext(pull.image_pull(daemon, "alice/web", None, AuthConfig("alice", "nope"))))


def test_push_follows_the_index_flow(daemon: Any, hub: FakeHub) -> None:
    asyncio.run(collect(pull.image_pull(daemon, "alice/web", None, AuthConfig())))
    hub.forget_images()
    hub.requests.clear()
    messages = asyncio.run(collect(push.image_push(daemon, "alice/web", None, ALICE)))
    assert messages[0] == {"status": "The push refers to repository [docker.io/alice/web]"}
    assert messages[-1] == {"status": f"latest: pushed image {TOP}"}
    assert [m for m in messages if m.get("status") == "Pushed"] and "error" not in str(messages)

    first, last = hub.sent(HUB)
    assert (first.method, first.url.path) == ("PUT", "/v1/repositories/alice/web/")
    assert json.loads(first.content) == [{"id": BASE}, {"id": TOP, "Tag": "latest"}]
    assert first.headers["authorization"] == ALICE.basic()
    assert (last.method, last.url.path) == ("PUT", "/v1/repositories/alice/web/images")
    headers, body = hub.finished[0]
    assert headers.get_list("x-docker-endpoints") == [f"http://{REGISTRY}/v1/"]
    assert body == [
        {"id": TOP, "Tag": "latest", "checksum": hub.checksums[TOP]},
        {"id": BASE, "checksum": hub.checksums[BASE]},
    ]

    for request in hub.sent(REGISTRY):
        assert re.fullmatch(
            r'Token signature=\w+,repository="alice/web",access=write', request.headers["authorization"]
        )
    assert hub.tags == {"alice/web": {"latest": TOP}}
    assert set(hub.layers) == {BASE, TOP} and not hub.uploading


def test_push_again_sends_no_layer(daemon: Any, hub: FakeHub) -> None:
    asyncio.run(collect(pull.image_pull(daemon, "alice/web", None, AuthConfig())))
    hub.requests.clear()
    messages = asyncio.run(collect(push.image_push(daemon, "alice/web", None, ALICE)))
    assert [m["status"] for m in messages if m.get("id") == TOP[:12]][-1] == "Layer already exists"
    assert not [r for r in hub.sent(REGISTRY) if r.url.path.endswith("/layer")]
    assert hub.finished[0][1] == [{"id": TOP, "Tag": "latest"}]


def test_push_verifies_an_existing_image_before_skipping_it(daemon: Any, hub: FakeHub) -> None:
    """Another's content under this engine's id: the layer goes out, never "already exists"."""
    hub.write_token_reads = True
    asyncio.run(collect(pull.image_pull(daemon, "alice/web", None, AuthConfig())))
    hub.layers[TOP] = layer({"greeting": b"mallory's\n"})  # the registry's TOP is no longer ours
    hub.checksums[TOP] = payload(hub.jsons[TOP], hub.layers[TOP])
    hub.requests.clear()
    try:
        messages = asyncio.run(collect(push.image_push(daemon, "alice/web", None, ALICE)))
    except RegistryError:
        messages = []  # the registry refused what the engine sent: the push fails, no tag is set
    assert not [m for m in messages if m.get("id") == TOP[:12] and m.get("status") == "Layer already exists"]
    puts = [r.url.path for r in hub.sent(REGISTRY) if r.method == "PUT"]
    assert f"/v1/images/{TOP}/layer" in puts
    assert f"/v1/images/{BASE}/layer" not in puts  # the registry's BASE is the one pulled: skipped
    if not messages:
        assert "/v1/repositories/alice/web/tags/latest" not in puts


def test_push_anonymous_or_to_another_namespace_is_refused(daemon: Any, hub: FakeHub) -> None:
    asyncio.run(collect(pull.image_pull(daemon, "alice/web", None, AuthConfig())))
    daemon.references.add("bob/web:latest", daemon.references.get("alice/web:latest"))
    with pytest.raises(RegistryUnauthorized, match="unauthorized: authentication required"):
        asyncio.run(collect(push.image_push(daemon, "alice/web", None, AuthConfig())))
    with pytest.raises(AccessDenied, match=r"^denied: requested access to the resource is denied$"):
        asyncio.run(collect(push.image_push(daemon, "bob/web", None, ALICE)))
    assert not hub.finished
    assert all(r.method == "GET" for r in hub.sent(REGISTRY))  # the pull's: nothing was pushed


@pytest.mark.parametrize(
    ("credentials", "outcome"),
    [
        (ALICE, "Login Succeeded"),
        (
            AuthConfig("carol", "s3cret", "https://index.docker.io/v1/", "carol@example.test"),
            f"Account created. Please see the documentation of the registry http://{HUB}/v1/ "
            "for instructions how to activate it.",
        ),
    ],
)
def test_login_to_the_default_index(daemon: Any, credentials: AuthConfig, outcome: str) -> None:
    assert asyncio.run(auth.registry_login(daemon, credentials)) == {"Status": outcome, "IdentityToken": ""}


@pytest.mark.parametrize(
    ("credentials", "error", "message"),
    [
        (
            AuthConfig("alice", "nope"),
            RegistryUnauthorized,
            f'Get "http://{HUB}/v1/users/": unauthorized: incorrect username or password',
        ),
        (AuthConfig("bob", "b0b"), AccountInactive, "Account is not Active. Please see the documentation"),
        (AuthConfig("dave", "pw"), RegistrationFailed, "Registration: An e-mail address is required"),
    ],
)
def test_login_refusals(daemon: Any, credentials: AuthConfig, error: type[WharfError], message: str) -> None:
    with pytest.raises(error) as caught:
        asyncio.run(auth.registry_login(daemon, credentials))
    assert caught.value.message.startswith(message)


def test_login_to_a_standalone_registry_only_checks(daemon: Any, hub: FakeHub) -> None:
    answer = asyncio.run(auth.registry_login(daemon, AuthConfig("alice", "x", STANDALONE)))
    assert answer["Status"] == "Login Succeeded"
    assert [(r.method, r.url.path) for r in hub.sent(STANDALONE)] == [("GET", "/v1/users/")]


def test_search_a_bare_term_asks_the_default_index(daemon: Any, hub: FakeHub) -> None:
    found = asyncio.run(search.image_search(daemon, "web", 10, ALICE))
    assert found == [
        {
            "name": "alice/web",
            "description": "the web",
            "star_count": 2,
            "is_official": False,
            "is_automated": False,
        }
    ]
    (request,) = hub.sent(HUB)
    assert request.url.params["q"] == "web" and request.url.params["n"] == "10"
    assert request.headers["authorization"] == ALICE.basic()


def test_ping_answers_are_kept_for_a_while(hub: FakeHub) -> None:
    now = [0.0]
    service = RegistryService(f"http://{HUB}", [], transport=httpx.MockTransport(hub), clock=lambda: now[0])

    def pings() -> int:
        return sum(1 for r in hub.requests if r.url.path == "/v1/_ping")

    assert asyncio.run(service.standalone(service.default)) is False
    assert asyncio.run(service.standalone(service.default)) is False and pings() == 1
    now[0] = 31.0
    asyncio.run(service.standalone(service.default))
    assert pings() == 2


def test_a_default_index_that_is_down_is_a_clear_503(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused") from ConnectionRefusedError(errno.ECONNREFUSED, "refused")

    daemon = cast(Any, FakeDaemon(tmp_path, httpx.MockTransport(refuse)))
    with pytest.raises(RegistryUnreachable) as caught:
        asyncio.run(anext(pull.image_pull(daemon, "busybox", None, AuthConfig())))
    assert caught.value.status == 503
    assert caught.value.message == (
        f'Get "http://{HUB}/v1/_ping": dial tcp {HUB}: connect: connection refused'
    )
