"""What clients rely on, answered as Docker answers: swarm endpoints, system df, update.

With the real docker CLI, docker-py and raw requests against a real engine.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from engines import Engine, needs_docker

pytestmark = [pytest.mark.root, needs_docker]

NOT_A_MANAGER = (
    'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect '
    "this node to swarm and try again."
)


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/swarm"), ("GET", "/v1.41/nodes"), ("GET", "/services"), ("POST", "/v1.45/services/create"),
     ("GET", "/tasks"), ("GET", "/secrets/x"), ("DELETE", "/v1.43/configs/x"), ("POST", "/swarm/init")],
)  # fmt: skip
def test_swarm_endpoints_answer_503_not_a_manager(engine: Engine, method: str, path: str) -> None:
    status, body = engine.request(method, path, {} if method == "POST" else None)
    assert status == 503, body
    assert json.loads(body) == {"message": NOT_A_MANAGER}


def test_swarm_leave_says_not_part_of_a_swarm(engine: Engine) -> None:
    status, body = engine.request("POST", "/swarm/leave")
    assert (status, json.loads(body)) == (503, {"message": "This node is not part of a swarm"})


def test_docker_cli_node_and_service_ls_print_dockers_message(engine: Engine) -> None:
    for command in (("node", "ls"), ("service", "ls"), ("secret", "ls"), ("config", "ls")):
        result = engine.docker(*command)
        assert result.returncode != 0
        assert NOT_A_MANAGER in result.stderr.decode(), command


def test_system_df_in_dockers_shape_and_with_the_cli(engine: Engine) -> None:
    ok(
        engine.docker(
            "run", "--name", "dfuser", "-v", "dfvol:/data", "busybox", "sh", "-c", "echo hi > /data/f"
        )
    )
    try:
        df = engine.json("GET", "/v1.45/system/df")
        assert set(df) == {"LayersSize", "Images", "Containers", "Volumes", "BuildCache"}
        assert df["LayersSize"] > 0 and df["BuildCache"] == []
        busybox = next(i for i in df["Images"] if "busybox:latest" in i["RepoTags"])
        assert busybox["Containers"] >= 1 and busybox["Size"] > 0 and busybox["SharedSize"] >= 0
        user = next(c for c in df["Containers"] if c["Names"] == ["/dfuser"])
        assert user["SizeRw"] >= 0 and user["SizeRootFs"] >= busybox["Size"]
        volume = next(v for v in df["Volumes"] if v["Name"] == "dfvol")
        assert volume["UsageData"] == {"Size": 3, "RefCount": 1}
        only = engine.json("GET", "/system/df?type=volume")
        assert set(only) == {"Volumes"}
        assert engine.request("GET", "/system/df?type=bogus")[0] == 400
        table = ok(engine.docker("system", "df"))
        assert table.splitlines()[0].split()[:2] == ["TYPE", "TOTAL"]
        assert any(line.startswith("Local Volumes") for line in table.splitlines())
        verbose = ok(engine.docker("system", "df", "-v"))
        assert "dfvol" in verbose and "dfuser" in verbose and "busybox" in verbose
    finally:
        engine.docker("rm", "-f", "dfuser")
        engine.docker("volume", "rm", "dfvol")
