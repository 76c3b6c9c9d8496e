"""Killing the engine never kills a container: it is re-adopted with its logs and exit code."""

from __future__ import annotations

import json
import signal
import time

import pytest
from engines import Engine, wait_for

pytestmark = [pytest.mark.root, pytest.mark.slow]


def create_and_start(engine: Engine, cmd: list[str], name: str) -> str:
    cid = engine.json("POST", f"/containers/create?name={name}", {"Image": "busybox", "Cmd": cmd})["Id"]
    status, body = engine.request("POST", f"/containers/{cid}/start")
    assert status == 204, body
    return str(cid)


def logs(engine: Engine, cid: str) -> bytes:
    status, body = engine.request("GET", f"/containers/{cid}/logs?stdout=1&stderr=1")
    assert status == 200
    return body


def test_sigkill_engine_keeps_container_running_with_logs(fresh_engine: Engine) -> None:
    engine = fresh_engine
    loop = "trap 'echo bye; exit 7' TERM; while true; do echo tick; sleep 0.2; done"
    cid = create_and_start(engine, ["sh", "-c", loop], "survivor")
    wait_for(lambda: logs(engine, cid).count(b"tick") >= 2)
    pid = engine.json("GET", f"/containers/{cid}/json")["State"]["Pid"]

    engine.stop(signal.SIGKILL)
    time.sleep(0.6)  # the container keeps writing its log while no engine runs
    engine.start()

    state = engine.json("GET", f"/containers/{cid}/json")["State"]
    assert state["Running"] and state["Pid"] == pid
    assert logs(engine, cid).count(b"tick") >= 4
    status, _ = engine.request("POST", f"/containers/{cid}/stop?t=5")
    assert status == 204
    state = engine.json("GET", f"/containers/{cid}/json")["State"]
    assert state["ExitCode"] == 7 and state["Status"] == "exited"
    assert b"bye" in logs(engine, cid)


def test_exit_while_engine_is_down_is_recorded(fresh_engine: Engine) -> None:
    engine = fresh_engine
    cid = create_and_start(engine, ["sh", "-c", "sleep 1; echo done; exit 4"], "quick")
    engine.stop(signal.SIGKILL)
    time.sleep(1.5)
    engine.start()
    state = wait_for(
        lambda: (s := engine.json("GET", f"/containers/{cid}/json")["State"])["Status"] == "exited" and s
    )
    assert state["ExitCode"] == 4
    assert b"done" in logs(engine, cid)
    listing = engine.json("GET", "/containers/json?all=1")
    assert next(c["Status"] for c in listing if c["Id"] == cid).startswith("Exited (4)")


def test_engine_killed_mid_import_leaves_no_half_image(fresh_engine: Engine) -> None:
    engine = fresh_engine
    before = engine.json("GET", "/images/json")
    from engines import UnixConnection

    conn = UnixConnection(str(engine.socket))
    conn.putrequest("POST", "/images/create?fromSrc=-&repo=half&tag=done")
    conn.putheader("Content-Length", str(10 * 1024 * 1024))
    conn.endheaders()
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("big")
        info.size = 8 * 1024 * 1024
        tar.addfile(info, io.BytesIO(b"x" * info.size))
    conn.send(buf.getvalue()[: 2 * 1024 * 1024])  # part of it, then the engine dies
    time.sleep(0.5)
    engine.stop(signal.SIGKILL)
    conn.close()
    engine.start()
    after = engine.json("GET", "/images/json")
    assert after == before
    assert not any("half" in json.dumps(i) for i in after)
    assert list((engine.root / "data" / "tmp").iterdir()) == []
