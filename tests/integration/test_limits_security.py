"""Resource limits and security options, within what this host allows."""

from __future__ import annotations

import subprocess

import pytest
from engines import Engine, needs_docker

pytestmark = [pytest.mark.root, needs_docker]


def run(engine: Engine, *args: str) -> subprocess.CompletedProcess[bytes]:
    return engine.docker("run", "--rm", *args)


def test_memory_cpu_pids_limits_reach_the_cgroups(engine: Engine) -> None:
    limits = ["-m", "64m", "--cpu-shares", "512", "--pids-limit", "50", "--cpuset-cpus", "0"]
    files = ["memory/memory.limit_in_bytes", "pids/pids.max", "cpu/cpu.shares", "cpuset/cpuset.cpus"]
    result = run(engine, *limits, "busybox", "cat", *(f"/sys/fs/cgroup/{f}" for f in files))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [b"67108864", b"50", b"512", b"0"]


def test_read_only_root_and_no_new_privileges(engine: Engine) -> None:
    result = run(engine, "--read-only", "busybox", "touch", "/x")
    assert result.returncode != 0 and b"Read-only file system" in result.stderr
    out = run(
        engine, "--security-opt", "no-new-privileges", "busybox", "grep", "NoNewPrivs", "/proc/self/status"
    )
    assert out.stdout.split() == [b"NoNewPrivs:", b"1"]


def test_capabilities_default_drop_add_and_privileged(engine: Engine) -> None:
    def effective(*flags: str) -> int:
        out = run(engine, *flags, "busybox", "grep", "CapEff", "/proc/self/status").stdout.split()[1]
        return int(out, 16)

    default = effective()
    assert default & (1 << 13)  # NET_RAW is in Docker's default set
    assert not default & (1 << 12)  # NET_ADMIN is not
    assert not effective("--cap-drop", "NET_RAW") & (1 << 13)
    assert effective("--cap-add", "NET_ADMIN") & (1 << 12)
    assert effective("--privileged") & (1 << 21)  # SYS_ADMIN
    refused = run(engine, "--cap-add", "SYS_RESOURCE", "busybox", "true")
    assert refused.returncode != 0 and b"not available on this host" in refused.stderr


def test_default_seccomp_profile_blocks_namespace_games(engine: Engine) -> None:
    result = run(engine, "busybox", "unshare", "-n", "true")
    assert result.returncode != 0 and b"Operation not permitted" in result.stderr
    assert (
        run(
            engine,
            "--security-opt",
            "seccomp=unconfined",
            "--cap-add",
            "SYS_ADMIN",
            "busybox",
            "unshare",
            "-n",
            "true",
        ).returncode
        == 0
    )


def test_ulimits_within_and_beyond_the_host(engine: Engine) -> None:
    out = run(engine, "--ulimit", "nofile=1024:2048", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn")
    assert out.stdout.split() == [b"1024", b"2048"]
    refused = run(engine, "--ulimit", "nofile=30000:30000", "busybox", "true")
    assert refused.returncode != 0 and b"the host's hard limit is 20000" in refused.stderr


@pytest.mark.parametrize(
    ("host_config", "message"),
    [
        ({"Memory": 1024}, b"Minimum memory limit"),
        ({"CpusetCpus": "99"}, b"Requested CPUs are not available"),
        ({"CapAdd": ["NOT_A_CAP"]}, b"unknown capability"),
        ({"Ulimits": [{"Name": "bogus", "Soft": 1, "Hard": 1}]}, b"invalid ulimit type"),
    ],
)
def test_impossible_limits_are_clear_400s(
    engine: Engine, host_config: dict[str, object], message: bytes
) -> None:
    status, body = engine.request(
        "POST", "/containers/create", {"Image": "busybox", "HostConfig": host_config}
    )
    assert status == 400 and message in body
