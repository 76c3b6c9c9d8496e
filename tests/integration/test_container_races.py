"""Container API details clients rely on: races that must not 500, wait with restart policies,
link removal, attach of an exited container's logs, FinishedAt, Links in inspect, event streams."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from engines import Engine, needs_docker, wait_for

pytestmark = [pytest.mark.root]


def create(engine: Engine, name: str | None = None, **body: Any) -> str:
    query = f"?name={name}" if name else ""
    return str(engine.json("POST", f"/containers/create{query}", {"Image": "busybox", **body})["Id"])


def inspect(engine: Engine, ref: str) -> dict[str, Any]:
    result: dict[str, Any] = engine.json("GET", f"/containers/{ref}/json")
    return result


@pytest.fixture
def cleanup(engine: Engine) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    for ref in reversed(made):
        engine.request("DELETE", f"/containers/{ref}?force=1")


def test_commit_with_pause_while_the_container_exits_is_never_a_500(
    engine: Engine, cleanup: list[str]
) -> None:
    statuses: set[int] = set()
    images: list[str] = []
    for round_ in range(6):
        cid = create(engine, Cmd=["sh", "-c", f"sleep 0.{round_ + 1}"])
        cleanup.append(cid)
        engine.request("POST", f"/containers/{cid}/start")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            status, body = engine.request("POST", f"/commit?container={cid}&pause=1")
            statuses.add(status)
            assert status in (201, 409), (status, body)
            if status == 201:
                images.append(json.loads(body)["Id"])
            if not inspect(engine, cid)["State"]["Running"]:
                break
        status, body = engine.request("POST", f"/commit?container={cid}&pause=1")
        assert status == 201, (status, body)  # once it has exited, the commit needs no pause
        images.append(json.loads(body)["Id"])
    for image in images:
        engine.request("DELETE", f"/images/{image}?force=1")
    assert statuses <= {201, 409}


def test_two_concurrent_kills_never_give_a_500(engine: Engine, cleanup: list[str]) -> None:
    for _ in range(5):
        cid = create(engine, Cmd=["sleep", "300"])
        cleanup.append(cid)
        engine.request("POST", f"/containers/{cid}/start")
        results: list[tuple[int, bytes]] = []

        def kill(cid: str = cid, results: list[tuple[int, bytes]] = results) -> None:
            results.append(engine.request("POST", f"/containers/{cid}/kill"))

        threads = [threading.Thread(target=kill) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        assert len(results) == 2
        for status, body in results:
            assert status == 204 or (status == 409 and b"is not running" in body), (status, body)
        wait_for(lambda cid=cid: not inspect(engine, cid)["State"]["Running"], timeout=15)


def test_wait_returns_at_the_first_exit_of_a_restarting_container(engine: Engine, cleanup: list[str]) -> None:
    cid = create(
        engine, Cmd=["sh", "-c", "sleep 0.5; exit 3"], HostConfig={"RestartPolicy": {"Name": "always"}}
    )
    cleanup.append(cid)
    engine.request("POST", f"/containers/{cid}/start")
    for condition in ("not-running", "next-exit"):
        started = time.monotonic()
        status, body = engine.request("POST", f"/containers/{cid}/wait?condition={condition}")
        assert status == 200 and json.loads(body)["StatusCode"] == 3, (condition, body)
        assert time.monotonic() - started < 5
    results: list[tuple[int, bytes]] = []
    waiter = threading.Thread(
        target=lambda: results.append(engine.request("POST", f"/containers/{cid}/wait?condition=removed"))
    )
    waiter.start()
    time.sleep(0.3)
    engine.request("DELETE", f"/containers/{cid}?force=1")
    waiter.join(10)
    assert results and results[0][0] == 200


def test_remove_link_and_links_in_inspect(engine: Engine, cleanup: list[str]) -> None:
    db = create(engine, "racedb", Cmd=["sleep", "300"])
    cleanup.append(db)
    web = create(engine, "raceweb", Cmd=["sleep", "300"], HostConfig={"Links": ["racedb:db"]})
    cleanup.append(web)
    assert inspect(engine, web)["HostConfig"]["Links"] == ["/racedb:/raceweb/db"]
    assert engine.request("DELETE", "/containers/raceweb/nosuch?link=1")[0] == 404
    assert engine.request("DELETE", "/containers/raceweb/db?link=1")[0] == 204
    assert inspect(engine, web)["HostConfig"]["Links"] in (None, [])
    assert inspect(engine, db)["State"]["Status"] == "created"  # the linked container stays
    engine.request("POST", f"/containers/{db}/start")
    assert engine.request("POST", f"/containers/{web}/start")[0] == 204  # no link left to check


@needs_docker
def test_docker_rm_link(engine: Engine, cleanup: list[str]) -> None:
    cleanup.append(create(engine, "clidb", Cmd=["sleep", "300"]))
    cleanup.append(create(engine, "cliweb", Cmd=["sleep", "300"], HostConfig={"Links": ["clidb:db"]}))
    result = engine.docker("rm", "--link", "/cliweb/db")
    assert result.returncode == 0, result.stderr
    assert not inspect(engine, "cliweb")["HostConfig"]["Links"]
    assert inspect(engine, "clidb")["Id"]


def test_attach_logs_of_an_exited_container(engine: Engine, cleanup: list[str]) -> None:
    cid = create(engine, Cmd=["sh", "-c", "echo out; echo err >&2"])
    cleanup.append(cid)
    engine.request("POST", f"/containers/{cid}/start")
    engine.request("POST", f"/containers/{cid}/wait")
    status, body = engine.request("POST", f"/containers/{cid}/attach?logs=1&stream=0&stdout=1&stderr=1")
    assert status == 200
    frames = []
    while body:
        kind, size = struct.unpack(">BxxxI", body[:8])
        frames.append((kind, body[8 : 8 + size]))
        body = body[8 + size :]
    assert sorted(frames) == [(1, b"out\n"), (2, b"err\n")]


def test_finished_at_is_set_by_every_stop_and_restart(engine: Engine, cleanup: list[str]) -> None:
    cid = create(engine, Cmd=["sleep", "300"])
    cleanup.append(cid)
    engine.request("POST", f"/containers/{cid}/start")
    assert inspect(engine, cid)["State"]["FinishedAt"] == "0001-01-01T00:00:00Z"
    engine.request("POST", f"/containers/{cid}/stop?t=0")
    first = inspect(engine, cid)["State"]["FinishedAt"]
    assert first > "2000"
    engine.request("POST", f"/containers/{cid}/start")
    time.sleep(0.05)
    engine.request("POST", f"/containers/{cid}/restart?t=0")
    state = inspect(engine, cid)["State"]
    assert state["Running"] and state["FinishedAt"] > first  # the restart's stop, as Docker keeps it
    engine.request("POST", f"/containers/{cid}/stop?t=0")
    assert inspect(engine, cid)["State"]["FinishedAt"] > state["FinishedAt"]


def listeners(engine: Engine) -> int:
    return int(engine.json("GET", "/info")["NEventsListener"])


def test_events_stream_of_a_gone_client_is_closed_at_once(engine: Engine) -> None:
    before = listeners(engine)
    socks = []
    for _ in range(3):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(5)
        sock.connect(str(engine.socket))
        sock.sendall(b"GET /events HTTP/1.1\r\nHost: docker\r\n\r\n")
        assert sock.recv(12).startswith(b"HTTP/1.1 200")
        socks.append(sock)
    wait_for(lambda: listeners(engine) == before + 3, timeout=5)
    for sock in socks:
        sock.close()
    wait_for(lambda: listeners(engine) == before, timeout=3)
