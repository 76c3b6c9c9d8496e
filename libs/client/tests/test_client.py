import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from wharf_client import (
    STDERR,
    STDOUT,
    ConflictError,
    EngineClient,
    EngineConnectionError,
    EngineError,
    NotFoundError,
    ProtocolError,
    encode_frame,
)
from wharf_client.testing import FakeEngine, FakeRequest, Reply, write_upgrade


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[FakeEngine]:
    with FakeEngine(tmp_path / "engine.sock") as fake:
        yield fake


def test_version_negotiation_uses_min_of_client_and_server(tmp_path: Path) -> None:
    with FakeEngine(tmp_path / "e.sock", api_version="1.41") as engine:
        engine.route("GET", "/info", lambda req: Reply.json({"ID": "x"}))
        client = EngineClient(engine.url)
        assert client.info() == {"ID": "x"}
        assert engine.requests[0].method == "HEAD"
        assert engine.requests[-1].target == "/v1.41/info"
    with FakeEngine(tmp_path / "f.sock", api_version="1.51") as engine:
        assert EngineClient(engine.url).api_version == "1.44"


def test_version_negotiation_falls_back_to_get_and_1_24(tmp_path: Path) -> None:
    with FakeEngine(tmp_path / "e.sock", api_version=None) as engine:
        engine.route("HEAD", "/_ping", lambda req: Reply.error(405, "method not allowed"))
        client = EngineClient(engine.url)
        assert client.api_version == "1.24"
        assert [r.method for r in engine.requests] == ["HEAD", "GET"]


def test_error_response_maps_to_kind_and_message(engine: FakeEngine) -> None:
    engine.route("GET", "/containers/nope/json", lambda req: Reply.error(404, "No such container: nope"))
    engine.route("DELETE", "/containers/busy", lambda req: Reply.error(409, "container is running"))
    client = EngineClient(engine.url)
    with pytest.raises(NotFoundError) as excinfo:
        client.container_inspect("nope")
    assert excinfo.value.status == 404
    assert str(excinfo.value) == "No such container: nope"
    with pytest.raises(ConflictError):
        client.container_remove("busy", force=False)


def test_missing_socket_gives_engine_connection_error(tmp_path: Path) -> None:
    client = EngineClient(f"unix://{tmp_path}/absent.sock")
    with pytest.raises(EngineConnectionError) as excinfo:
        client.version()
    assert str(excinfo.value) == (
        f"Cannot connect to the wharf engine at unix://{tmp_path}/absent.sock: is the engine running?"
    )


def test_container_list_encodes_query(engine: FakeEngine) -> None:
    engine.route("GET", "/containers/json", lambda req: Reply.json([{"Id": "a"}]))
    client = EngineClient(engine.url)
    assert client.container_list(all=True, limit=3, filters={"status": ["exited"]}) == [{"Id": "a"}]
    request = engine.requests_to("/containers/json")[0]
    assert request.param("all") == "1"
    assert request.param("limit") == "3"
    assert json.loads(request.param("filters") or "") == {"status": ["exited"]}
    assert request.param("size") is None


def test_container_create_sends_json_and_name(engine: FakeEngine) -> None:
    engine.route("POST", "/containers/create", lambda req: Reply.json({"Id": "abc", "Warnings": []}, 201))
    client = EngineClient(engine.url)
    assert client.container_create({"Image": "busybox"}, name="web")["Id"] == "abc"
    request = engine.requests_to("/containers/create")[0]
    assert request.param("name") == "web"
    assert request.json() == {"Image": "busybox"}
    assert request.headers["content-type"] == "application/json"


def test_stop_not_modified_is_not_an_error(engine: FakeEngine) -> None:
    engine.route("POST", "/containers/c/stop", lambda req: Reply(304))
    EngineClient(engine.url).container_stop("c", timeout=3)
    assert engine.requests_to("/containers/c/stop")[0].param("t") == "3"


def test_logs_are_demultiplexed_incrementally(engine: FakeEngine) -> None:
    release = threading.Event()

    def logs(req: FakeRequest) -> Reply:
        def body() -> Iterator[bytes]:
            yield encode_frame(STDOUT, b"first\n")[:5]
            yield encode_frame(STDOUT, b"first\n")[5:]
            release.wait(5)
            yield encode_frame(STDERR, b"second\n")

        return Reply(200, body(), {"Content-Type": "application/vnd.docker.multiplexed-stream"})

    engine.route("GET", "/containers/c/logs", logs)
    frames = EngineClient(engine.url).container_logs("c", follow=True, tail=10)
    assert next(frames) == (STDOUT, b"first\n")  # arrives before the rest of the stream exists
    release.set()
    assert list(frames) == [(STDERR, b"second\n")]
    assert engine.requests_to("/containers/c/logs")[0].param("tail") == "10"


def test_logs_of_tty_container_are_raw(engine: FakeEngine) -> None:
    engine.route(
        "GET",
        "/containers/c/logs",
        lambda req: Reply(200, b"\x01raw bytes", {"Content-Type": "application/vnd.docker.raw-stream"}),
    )
    assert list(EngineClient(engine.url).container_logs("c")) == [(STDOUT, b"\x01raw bytes")]


def test_wait_begin_returns_after_headers_and_result_blocks(engine: FakeEngine) -> None:
    exited = threading.Event()

    def wait(req: FakeRequest) -> Reply:
        def body() -> Iterator[bytes]:
            exited.wait(5)
            yield b'{"StatusCode": 3, "Error": null}'

        return Reply(200, body(), {"Content-Type": "application/json"})

    engine.route("POST", "/containers/c/wait", wait)
    pending = EngineClient(engine.url).container_wait_begin("c", condition="next-exit")
    assert engine.requests_to("/containers/c/wait")[0].param("condition") == "next-exit"
    exited.set()
    assert pending.result() == {"StatusCode": 3, "Error": None}


def test_image_import_streams_chunked_body(engine: FakeEngine, tmp_path: Path) -> None:
    payload = bytes(range(256)) * 1000
    (tmp_path / "rootfs.tar").write_bytes(payload)
    engine.route(
        "POST",
        "/images/create",
        lambda req: Reply(200, [b'{"status":"sha256:', b'abc"}\r\n'], {"Content-Type": "application/json"}),
    )
    client = EngineClient(engine.url)
    with (tmp_path / "rootfs.tar").open("rb") as source:
        messages = list(
            client.image_import(source, repo="busybox", tag="latest", changes=["CMD sh", "ENV A=1"])
        )
    assert messages == [{"status": "sha256:abc"}]
    request = engine.requests_to("/images/create")[0]
    assert request.headers["transfer-encoding"] == "chunked"
    assert request.body == payload
    assert request.query["changes"] == ["CMD sh", "ENV A=1"]
    assert request.param("fromSrc") == "-"


def test_image_load_error_message_raises(engine: FakeEngine) -> None:
    body = b'{"stream":"Loading"}\n{"errorDetail":{"message":"bad tar"},"error":"bad tar"}\n'
    engine.route("POST", "/images/load", lambda req: Reply(200, [body]))
    stream = EngineClient(engine.url).image_load([b"tar"])
    assert next(stream) == {"stream": "Loading"}
    with pytest.raises(EngineError, match="bad tar"):
        next(stream)


def test_image_save_yields_body(engine: FakeEngine) -> None:
    engine.route("GET", "/images/get", lambda req: Reply(200, [b"part1", b"part2"]))
    assert b"".join(EngineClient(engine.url).image_save(["a", "b:1"])) == b"part1part2"
    assert engine.requests_to("/images/get")[0].query["names"] == ["a", "b:1"]


def test_attach_hijack_round_trip(engine: FakeEngine) -> None:
    received: list[bytes] = []

    def attach(req: FakeRequest) -> None:
        assert req.headers["connection"] == "Upgrade"
        assert req.headers["upgrade"] == "tcp"
        write_upgrade(req.sock, multiplexed=True)
        req.sock.sendall(encode_frame(STDOUT, b"ready\n"))
        while data := req.reader.read1(1024):  # until the client half-closes
            received.append(data)
        req.sock.sendall(encode_frame(STDERR, b"got " + b"".join(received)))
        req.sock.close()

    engine.route("POST", "/containers/c/attach", attach)
    with EngineClient(engine.url).container_attach("c", stdin=True) as stream:
        frames = stream.frames()
        assert next(frames) == (STDOUT, b"ready\n")
        stream.send(b"hello ")
        stream.send(b"world")
        stream.close_write()
        assert list(frames) == [(STDERR, b"got hello world")]
    request = engine.requests_to("/containers/c/attach")[0]
    assert request.query == {"stream": ["1"], "stdin": ["1"], "stdout": ["1"], "stderr": ["1"]}


def test_attach_raw_stream_for_tty(engine: FakeEngine) -> None:
    def attach(req: FakeRequest) -> None:
        write_upgrade(req.sock, multiplexed=False)
        req.sock.sendall(b"\x01\x00\x00\x00raw")
        req.sock.close()

    engine.route("POST", "/containers/c/attach", attach)
    with EngineClient(engine.url).container_attach("c") as stream:
        assert not stream.multiplexed
        assert b"".join(data for _, data in stream.frames()) == b"\x01\x00\x00\x00raw"


def test_attach_without_upgrade_is_a_protocol_error(engine: FakeEngine) -> None:
    engine.route("POST", "/containers/c/attach", lambda req: Reply(200, b"plain"))
    with pytest.raises(ProtocolError, match="unable to upgrade"):
        EngineClient(engine.url).container_attach("c")


def test_attach_error_status_raises_engine_error(engine: FakeEngine) -> None:
    engine.route("POST", "/containers/c/attach", lambda req: Reply.error(409, "container c is not running"))
    with pytest.raises(ConflictError, match="not running"):
        EngineClient(engine.url).container_attach("c")
