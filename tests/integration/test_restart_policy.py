"""Restart policies, on exit and across an engine that was killed."""

from __future__ import annotations

import signal
import subprocess
import time
from typing import Any

import pytest
from engines import Engine, wait_for

pytestmark = [pytest.mark.root, pytest.mark.slow]


def create(engine: Engine, cmd: list[str], policy: dict[str, object], name: str) -> str:
    body = {"Image": "busybox", "Cmd": cmd, "HostConfig": {"RestartPolicy": policy}}
    cid = str(engine.json("POST", f"/containers/create?name={name}", body)["Id"])
    assert engine.request("POST", f"/containers/{cid}/start")[0] == 204
    return cid


def state(engine: Engine, cid: str) -> dict[str, Any]:
    data = engine.json("GET", f"/containers/{cid}/json")
    return {"RestartCount": data["RestartCount"], **data["State"]}


def test_on_failure_retries_then_gives_up(fresh_engine: Engine) -> None:
    cid = create(
        fresh_engine,
        ["sh", "-c", "echo try; exit 3"],
        {"Name": "on-failure", "MaximumRetryCount": 2},
        "flaky",
    )
    final = wait_for(
        lambda: (s := state(fresh_engine, cid))["RestartCount"] == 2 and s["Status"] == "exited" and s,
        timeout=20,
    )
    assert final["ExitCode"] == 3
    _, logs = fresh_engine.request("GET", f"/containers/{cid}/logs?stdout=1")
    assert logs.count(b"try") == 3


def test_always_restarts_until_stopped_by_hand(fresh_engine: Engine) -> None:
    cid = create(fresh_engine, ["sh", "-c", "sleep 0.2; exit 0"], {"Name": "always"}, "phoenix")
    wait_for(lambda: state(fresh_engine, cid)["RestartCount"] >= 2, timeout=20)
    assert fresh_engine.request("POST", f"/containers/{cid}/stop?t=1")[0] in (204, 304)
    wait_for(lambda: state(fresh_engine, cid)["Status"] == "exited", timeout=10)
    count = state(fresh_engine, cid)["RestartCount"]
    time.sleep(1)
    assert (
        state(fresh_engine, cid)["RestartCount"] == count and state(fresh_engine, cid)["Status"] == "exited"
    )


def test_always_comes_back_after_the_engine_was_killed(fresh_engine: Engine) -> None:
    engine = fresh_engine
    cid = create(engine, ["sleep", "300"], {"Name": "always"}, "survivor")
    pid = int(state(engine, cid)["Pid"])
    engine.stop(signal.SIGKILL)
    subprocess.run(["kill", "-9", str(pid)], check=True)  # it dies while no engine watches
    engine.start()
    after = wait_for(lambda: (s := state(engine, cid))["Running"] and s, timeout=20)
    assert after["Pid"] != pid


def test_restart_policy_conflicts_with_rm(fresh_engine: Engine) -> None:
    body = {"Image": "busybox", "HostConfig": {"RestartPolicy": {"Name": "always"}, "AutoRemove": True}}
    status, message = fresh_engine.request("POST", "/containers/create", body)
    assert status == 400 and b"restart policy" in message
    body = {"Image": "busybox", "HostConfig": {"RestartPolicy": {"Name": "sometimes"}}}
    assert fresh_engine.request("POST", "/containers/create", body)[0] == 400
