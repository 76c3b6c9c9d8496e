"""Exec, volume, archive and monitoring endpoints of the client against a fake engine."""

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from wharf_client import STDOUT, ConflictError, EngineClient, NotFoundError, ProtocolError, encode_frame
from wharf_client.testing import FakeEngine, FakeRequest, Reply, write_upgrade


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[FakeEngine]:
    with FakeEngine(tmp_path / "engine.sock") as fake:
        yield fake


def test_exec_create_attach_inspect_resize(engine: FakeEngine) -> None:
    engine.route("POST", "/containers/web/exec", lambda req: Reply.json({"Id": "e1"}, 201))
    engine.route("GET", "/exec/e1/json", lambda req: Reply.json({"ExitCode": 2, "Running": False}))
    engine.route("POST", "/exec/e1/resize", lambda req: Reply(200))

    def start(req: FakeRequest) -> None:
        write_upgrade(req.sock, multiplexed=True)
        req.sock.sendall(encode_frame(STDOUT, b"hello\n"))
        req.sock.close()

    engine.route("POST", "/exec/e1/start", start)
    client = EngineClient(engine.url)
    assert client.exec_create("web", {"Cmd": ["echo", "hello"]}) == {"Id": "e1"}
    with client.exec_attach("e1") as stream:
        assert list(stream.frames()) == [(STDOUT, b"hello\n")]
    assert client.exec_inspect("e1")["ExitCode"] == 2
    client.exec_resize("e1", height=24, width=80)
    assert engine.requests_to("/containers/web/exec")[0].json() == {"Cmd": ["echo", "hello"]}
    start_request = engine.requests_to("/exec/e1/start")[0]
    assert start_request.headers["connection"] == "Upgrade" and start_request.json()["Detach"] is False
    resize = engine.requests_to("/exec/e1/resize")[0]
    assert (resize.param("h"), resize.param("w")) == ("24", "80")


def test_exec_attach_without_upgrade_is_a_protocol_error(engine: FakeEngine) -> None:
    engine.route("POST", "/exec/e1/start", lambda req: Reply(200))
    with pytest.raises(ProtocolError, match="unable to upgrade"):
        EngineClient(engine.url).exec_attach("e1")


def test_exec_start_detached_and_errors(engine: FakeEngine) -> None:
    engine.route("POST", "/exec/e1/start", lambda req: Reply(200))
    engine.route("POST", "/containers/off/exec", lambda req: Reply.error(409, "Container off is not running"))
    client = EngineClient(engine.url)
    client.exec_start("e1", tty=True)
    assert engine.requests_to("/exec/e1/start")[0].json() == {"Detach": True, "Tty": True}
    with pytest.raises(ConflictError, match="is not running"):
        client.exec_create("off", {"Cmd": ["true"]})


def test_volume_endpoints(engine: FakeEngine) -> None:
    engine.route("GET", "/volumes", lambda req: Reply.json({"Volumes": [], "Warnings": None}))
    engine.route("POST", "/volumes/create", lambda req: Reply.json({"Name": "v"}, 201))
    engine.route("DELETE", "/volumes/v", lambda req: Reply(204))
    engine.route("POST", "/volumes/prune", lambda req: Reply.json({"VolumesDeleted": None}))
    client = EngineClient(engine.url)
    client.volume_list(filters={"dangling": ["true"]})
    assert json.loads(engine.requests_to("/volumes")[0].param("filters") or "") == {"dangling": ["true"]}
    assert client.volume_create("v", labels={"a": "b"}) == {"Name": "v"}
    assert engine.requests_to("/volumes/create")[0].json()["Labels"] == {"a": "b"}
    client.volume_remove("v", force=True)
    assert engine.requests_to("/volumes/v")[0].param("force") == "1"
    assert client.volume_prune() == {"VolumesDeleted": None}


def _stat_header(stat: dict[str, object]) -> dict[str, str]:
    return {"X-Docker-Container-Path-Stat": base64.b64encode(json.dumps(stat).encode()).decode()}


def test_archive_stat_get_and_put(engine: FakeEngine) -> None:
    stat = {"name": "etc", "size": 4096, "mode": (1 << 31) | 0o755, "mtime": "", "linkTarget": ""}
    engine.route("HEAD", "/containers/web/archive", lambda req: Reply(200, b"", _stat_header(stat)))
    engine.route(
        "GET", "/containers/web/archive", lambda req: Reply(200, iter([b"ta", b"r"]), _stat_header(stat))
    )
    engine.route("PUT", "/containers/web/archive", lambda req: Reply(200))
    client = EngineClient(engine.url)
    assert client.container_stat_path("web", "/etc") == stat
    got, chunks = client.container_archive_get("web", "/etc")
    assert (got, b"".join(chunks)) == (stat, b"tar")
    client.container_archive_put("web", "/tmp", iter([b"ab", b"c"]))
    put = engine.requests_to("/containers/web/archive")[-1]
    assert (put.body, put.param("path"), put.param("noOverwriteDirNonDir")) == (b"abc", "/tmp", "1")


def test_archive_stat_of_a_missing_path_is_not_found(engine: FakeEngine) -> None:
    engine.route("HEAD", "/containers/web/archive", lambda req: Reply(404))
    with pytest.raises(NotFoundError, match="Could not find the file /nope in container web"):
        EngineClient(engine.url).container_stat_path("web", "/nope")


def test_top_rename_stats_and_events(engine: FakeEngine) -> None:
    engine.route("GET", "/containers/web/top", lambda req: Reply.json({"Titles": ["PID"], "Processes": []}))
    engine.route("POST", "/containers/web/rename", lambda req: Reply(204))
    engine.route("GET", "/containers/web/stats", lambda req: Reply.json({"id": "x"}))
    lines = iter([b'{"Action": "start"}\n{"Act', b'ion": "die"}\n'])
    engine.route("GET", "/events", lambda req: Reply(200, lines, {"Content-Type": "application/json"}))
    client = EngineClient(engine.url)
    assert client.container_top("web", ps_args="-ef")["Titles"] == ["PID"]
    assert engine.requests_to("/containers/web/top")[0].param("ps_args") == "-ef"
    client.container_rename("web", "api")
    assert engine.requests_to("/containers/web/rename")[0].param("name") == "api"
    assert client.container_stats("web") == {"id": "x"}
    assert engine.requests_to("/containers/web/stats")[0].param("stream") == "0"
    assert list(client.events(since="1", filters={"type": ["container"]})) == [
        {"Action": "start"},
        {"Action": "die"},
    ]
    assert engine.requests_to("/events")[0].param("since") == "1"
