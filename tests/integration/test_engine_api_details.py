"""What clients rely on, answered as Docker answers: swarm endpoints, system df, update.

With the real docker CLI, docker-py and raw requests against a real engine.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

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


def _cgroup(controller: str, cid: str, name: str) -> str:
    return (Path("/sys/fs/cgroup") / controller / "wharf" / cid / name).read_text().strip()


def test_docker_update_applies_limits_to_the_running_container(engine: Engine) -> None:
    cid = ok(engine.docker("run", "-d", "--name", "upd", "busybox", "sleep", "60")).strip()
    try:
        limits = ["--memory", "64m", "--memory-swap", "128m", "--cpus", "0.5", "--pids-limit", "40"]
        out = ok(engine.docker("update", *limits, "--cpu-shares", "512", "--restart", "always", "upd"))
        assert out.strip() == "upd"
        assert _cgroup("memory", cid, "memory.limit_in_bytes") == str(64 * 1024 * 1024)
        assert _cgroup("memory", cid, "memory.memsw.limit_in_bytes") == str(128 * 1024 * 1024)
        assert _cgroup("cpu", cid, "cpu.cfs_quota_us") == "50000"
        assert _cgroup("cpu", cid, "cpu.shares") == "512"
        assert _cgroup("pids", cid, "pids.max") == "40"
        host = engine.json("GET", "/containers/upd/json")["HostConfig"]
        assert (host["Memory"], host["MemorySwap"], host["NanoCpus"], host["PidsLimit"]) == (
            64 * 1024 * 1024, 128 * 1024 * 1024, 500_000_000, 40,
        )  # fmt: skip
        assert host["RestartPolicy"] == {"Name": "always", "MaximumRetryCount": 0}
        status, body = engine.request("POST", "/v1.45/containers/upd/update", {"CpuShares": 256})
        assert (status, json.loads(body)) == (200, {"Warnings": []})
        ok(engine.docker("restart", "-t", "0", "upd"))  # kept: the next start's spec has them
        assert _cgroup("memory", cid, "memory.limit_in_bytes") == str(64 * 1024 * 1024)
        assert _cgroup("cpu", cid, "cpu.shares") == "256"
    finally:
        engine.docker("rm", "-f", "upd")


def test_update_refuses_what_it_cannot_do(engine: Engine) -> None:
    ok(engine.docker("create", "--name", "updbad", "--memory", "64m", "--memory-swap", "96m", "busybox"))
    try:
        status, body = engine.request("POST", "/containers/updbad/update", {"Memory": 128 * 1024 * 1024})
        assert status == 409 and b"smaller than already set memoryswap" in body
        status, body = engine.request("POST", "/containers/updbad/update", {"CpusetMems": "0"})
        assert status == 400 and b"CpusetMems" in body
        status, body = engine.request("POST", "/containers/updbad/update", {"Memory": "64m"})
        assert status == 400 and b"Memory" in body
        status, body = engine.request(
            "POST", "/containers/updbad/update", {"RestartPolicy": {"Name": "bogus"}}
        )
        assert status == 400 and b"bogus" in body
        status, body = engine.request("POST", "/containers/updbad/update", {"BlkioWeight": 5})
        assert status == 400 and b"10 to 1000" in body
        if not Path("/sys/fs/cgroup/blkio/blkio.weight").exists():
            status, body = engine.request("POST", "/containers/updbad/update", {"BlkioWeight": 300})
            assert status == 400 and b"BlkioWeight" in body
        assert engine.request("POST", "/containers/nosuch/update", {})[0] == 404
        rm = engine.docker("run", "-d", "--rm", "--name", "updrm", "busybox", "sleep", "30")
        assert rm.returncode == 0
        refused = engine.docker("update", "--restart", "always", "updrm")
        assert refused.returncode != 0 and b"AutoRemove is enabled" in refused.stderr
    finally:
        engine.docker("rm", "-f", "updbad", "updrm")
