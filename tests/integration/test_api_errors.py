"""Bad input gets Docker's status codes and ``{"message": ...}`` bodies, and loses nothing."""

from __future__ import annotations

import json

import pytest
from engines import Engine

pytestmark = [pytest.mark.root]


def message(body: bytes) -> str:
    return str(json.loads(body)["message"])


def test_ping_get_and_head_carry_api_version(engine: Engine) -> None:
    from engines import UnixConnection

    for method in ("GET", "HEAD"):
        conn = UnixConnection(str(engine.socket))
        conn.request(method, "/_ping")
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200
        assert (resp.getheader("API-Version") or "") >= "1.44"
        assert resp.getheader("Ostype") == "linux"
        assert body == (b"OK" if method == "GET" else b"")
        conn.close()


def test_versioned_and_unversioned_paths(engine: Engine) -> None:
    assert engine.request("GET", "/v1.24/version")[0] == 200
    assert engine.request("GET", "/v1.45/containers/json")[0] == 200
    status, body = engine.request("GET", "/v1.12/version")
    assert status == 400 and "too old" in message(body)
    status, body = engine.request("GET", "/v9.99/version")
    assert status == 400 and "too new" in message(body)


def test_malformed_json_is_400(engine: Engine) -> None:
    status, body = engine.request(
        "POST", "/containers/create", b"{not json", {"Content-Type": "application/json"}
    )
    assert status == 400
    assert "invalid JSON" in message(body)
    status, body = engine.request("POST", "/containers/create", b"[1]", {"Content-Type": "application/json"})
    assert status == 400


def test_unknown_container_and_image_are_404(engine: Engine) -> None:
    for method, path in (
        ("GET", "/containers/nosuch/json"),
        ("POST", "/containers/nosuch/start"),
        ("POST", "/containers/nosuch/stop"),
        ("POST", "/containers/nosuch/wait"),
        ("GET", "/containers/nosuch/logs?stdout=1"),
        ("DELETE", "/containers/nosuch"),
    ):
        status, body = engine.request(method, path)
        assert status == 404, path
        assert message(body) == "No such container: nosuch"
    status, body = engine.request("GET", "/images/nosuch:1/json")
    assert status == 404 and message(body) == "No such image: nosuch:1"
    status, body = engine.request("POST", "/containers/create", {"Image": "ghost"})
    assert status == 404 and message(body) == "No such image: ghost:latest"


def test_ambiguous_prefix_is_a_clear_error(engine: Engine) -> None:
    ids = []
    while True:  # create until two ids share a first hex digit
        ids.append(engine.json("POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"]})["Id"])
        firsts = [i[0] for i in ids]
        shared = next((c for c in firsts if firsts.count(c) > 1), None)
        if shared:
            break
    status, body = engine.request("GET", f"/containers/{shared}/json")
    assert status == 400
    assert "multiple containers found with provided prefix" in message(body)
    for cid in ids:
        assert engine.request("DELETE", f"/containers/{cid}")[0] == 204


def test_boolean_query_values_read_like_docker(engine: Engine) -> None:
    cid = engine.json("POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"]})["Id"]
    for value, visible in (
        ("1", True),
        ("true", True),
        ("True", True),
        ("0", False),
        ("False", False),
        ("no", False),
    ):
        listing = engine.json("GET", f"/containers/json?all={value}")
        assert (cid in [c["Id"] for c in listing]) is visible, value
    assert engine.request("DELETE", f"/containers/{cid}?force=True")[0] == 204


def test_start_twice_is_304_and_stop_stopped_is_304(engine: Engine) -> None:
    cid = engine.json("POST", "/containers/create", {"Image": "busybox", "Cmd": ["sleep", "30"]})["Id"]
    assert engine.request("POST", f"/containers/{cid}/start")[0] == 204
    assert engine.request("POST", f"/containers/{cid}/start")[0] == 304
    assert engine.request("POST", f"/containers/{cid}/kill?signal=KILL")[0] == 204
    assert engine.request("POST", f"/containers/{cid}/stop")[0] == 304
    status, body = engine.request("POST", f"/containers/{cid}/kill")
    assert status == 409 and "is not running" in message(body)
    status, body = engine.request("POST", f"/containers/{cid}/wait?condition=bogus")
    assert status == 400
    assert engine.request("DELETE", f"/containers/{cid}")[0] == 204


def test_bad_signal_and_missing_command(engine: Engine) -> None:
    cid = engine.json("POST", "/containers/create", {"Image": "busybox", "Cmd": ["sleep", "30"]})["Id"]
    engine.request("POST", f"/containers/{cid}/start")
    status, body = engine.request("POST", f"/containers/{cid}/kill?signal=SIGNOPE")
    assert status == 400 and "Invalid signal" in message(body)
    engine.request("DELETE", f"/containers/{cid}?force=1")
    status, body = engine.request(
        "POST", "/containers/create", {"Image": "busybox", "Cmd": [], "Entrypoint": [""]}
    )
    assert status == 400 and "No command specified" in message(body)


def test_invalid_container_name_is_400(engine: Engine) -> None:
    status, body = engine.request("POST", "/containers/create?name=bad%20name", {"Image": "busybox"})
    assert status == 400 and "Invalid container name" in message(body)


def test_wait_and_inspect_shapes(engine: Engine) -> None:
    cid = engine.json(
        "POST",
        "/containers/create?name=shape",
        {"Image": "busybox", "Cmd": ["sh", "-c", "exit 2"], "Labels": {"a": "b"}},
    )["Id"]
    engine.request("POST", f"/containers/{cid}/start")
    assert engine.json("POST", f"/containers/{cid}/wait") == {"StatusCode": 2, "Error": None}
    data = engine.json("GET", f"/containers/{cid}/json")
    assert data["Name"] == "/shape"
    assert data["HostConfig"]["LogConfig"]["Type"] == "json-file"
    assert data["Config"]["Labels"] == {"a": "b"}
    assert data["State"]["StartedAt"].endswith("Z") and data["State"]["FinishedAt"].endswith("Z")
    assert data["Path"] == "sh" and data["Args"] == ["-c", "exit 2"]
    listing = engine.json("GET", '/containers/json?all=1&filters={"label":["a=b"]}')
    assert [c["Names"] for c in listing] == [["/shape"]]
    listing = engine.json("GET", '/containers/json?all=1&filters={"status":["exited"],"name":["shape"]}')
    assert len(listing) == 1 and listing[0]["Status"].startswith("Exited (2)")
    engine.request("DELETE", f"/containers/{cid}")
