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
    [
        ("GET", "/swarm"),
        ("GET", "/v1.41/nodes"),
        ("GET", "/services"),
        ("POST", "/v1.45/services/create"),
        ("GET", "/tasks"),
        ("GET", "/secrets/x"),
        ("DELETE", "/v1.43/configs/x"),
        ("POST", "/swarm/init"),
    ],
)
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
            64 * 1024 * 1024,
            128 * 1024 * 1024,
            500_000_000,
            40,
        )
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


def test_cheap_host_config_options_are_honoured(engine: Engine) -> None:
    script = (
        "cat /proc/sys/net/ipv4/ip_forward /proc/self/oom_score_adj; df -k /dev/shm /run | tail -2; mount"
    )
    flags = ["--tmpfs", "/run:exec,size=2m", "--shm-size", "8m", "--sysctl", "net.ipv4.ip_forward=1"]
    out = ok(engine.docker("run", "--rm", *flags, "--oom-score-adj", "300", "busybox", "sh", "-c", script))
    lines = out.splitlines()
    assert lines[:2] == ["1", "300"]
    assert lines[2].split()[1] == "8192" and lines[3].split()[1] == "2048"
    run = next(line for line in lines if " /run " in line)
    assert "nosuid" in run and "noexec" not in run


@pytest.mark.parametrize(
    ("flags", "field"),
    [
        (("--cgroup-parent", "/mine"), "HostConfig.CgroupParent"),
        (("--init",), "HostConfig.Init"),
        (("--ipc", "host"), "HostConfig.IpcMode"),
        (("--pid", "host"), "HostConfig.PidMode"),
        (("--runtime", "kata"), "HostConfig.Runtime"),
        (("--volume-driver", "convoy"), "HostConfig.VolumeDriver"),
        (("--device-cgroup-rule", "c 1:3 rwm"), "HostConfig.DeviceCgroupRules"),
    ],
)
def test_options_the_engine_cannot_honour_are_refused_by_name(
    engine: Engine, flags: tuple[str, ...], field: str
) -> None:
    result = engine.docker("create", *flags, "busybox")
    assert result.returncode != 0
    assert field.encode() in result.stderr, result.stderr


def test_default_bodies_of_docker_py_are_accepted(engine: Engine) -> None:
    import docker

    client = docker.DockerClient(base_url=engine.host, version="1.41")
    try:
        container = client.containers.create("busybox", "true", name="pydefaults")
        container.remove()
        made = client.api.create_container("busybox", "true", host_config=client.api.create_host_config())
        client.api.remove_container(made["Id"])
    finally:
        client.close()


def test_unknown_volume_drivers_and_options_are_400s(engine: Engine) -> None:
    status, body = engine.request("POST", "/volumes/create", {"Name": "v1", "Driver": "convoy"})
    assert status == 400 and 'plugin "convoy" not found' in json.loads(body)["message"]
    status, body = engine.request("POST", "/volumes/create", {"Name": "v1", "DriverOpts": {"type": "nfs"}})
    assert status == 400 and b"DriverOpts" in body
    assert engine.request("POST", "/volumes/create", {"Name": "v1", "Driver": "local"})[0] == 201
    engine.docker("volume", "rm", "v1")
    status, body = engine.request(
        "POST", "/containers/create", {"Image": "busybox", "HostConfig": {"VolumeDriver": "convoy"}}
    )
    assert status == 400 and b"VolumeDriver" in body


def test_log_drivers_as_docker(engine: Engine) -> None:
    syslog = {"Image": "busybox", "HostConfig": {"LogConfig": {"Type": "syslog"}}}
    status, body = engine.request("POST", "/containers/create", syslog)
    assert status == 400 and b"syslog" in body
    ok(engine.docker("run", "--name", "nolog", "--log-driver", "none", "busybox", "echo", "hi"))
    try:
        result = engine.docker("logs", "nolog")
        assert result.returncode != 0
        assert b"configured logging driver does not support reading" in result.stderr
        default = ok(engine.docker("create", "--log-opt", "max-size=1m", "busybox"))
        log = engine.json("GET", f"/containers/{default.strip()}/json")["HostConfig"]["LogConfig"]
        assert log == {"Type": "json-file", "Config": {"max-size": "1m"}}
        engine.docker("rm", default.strip())
    finally:
        engine.docker("rm", "-f", "nolog")


def test_domainname_is_the_containers_uts_domain(engine: Engine) -> None:
    out = ok(
        engine.docker(
            "run",
            "--rm",
            "--hostname",
            "web",
            "--domainname",
            "example.test",
            "busybox",
            "cat",
            "/proc/sys/kernel/domainname",
        )
    )
    assert out.strip() == "example.test"
