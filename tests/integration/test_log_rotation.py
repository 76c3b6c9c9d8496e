"""json-file logs rotate as Docker's do (max-size, max-file), and ``docker logs`` reads across them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from engines import DOCKER, Engine, needs_docker

pytestmark = [pytest.mark.root, needs_docker]

PAD = "x" * 40


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


def numbers(text: str) -> list[int]:
    return [int(line.split()[0]) for line in text.splitlines()]


def test_rotation_keeps_max_file_files_and_logs_reads_across_them(engine: Engine) -> None:
    script = f"for i in $(seq 1 300); do echo $i {PAD}; done"
    cid = ok(
        engine.docker(
            "run", "-d", "--log-opt", "max-size=2k", "--log-opt", "max-file=3", "busybox", "sh", "-c", script
        )
    ).strip()
    try:
        ok(engine.docker("wait", cid))
        log = Path(ok(engine.docker("inspect", "-f", "{{.LogPath}}", cid)).strip())
        assert log.name == f"{cid}-json.log"
        rotated = [log.with_name(f"{log.name}.{i}") for i in (1, 2)]
        assert all(p.exists() for p in rotated) and not log.with_name(f"{log.name}.3").exists()
        line = len(json.dumps({"log": f"300 {PAD}\n", "stream": "stdout", "time": "x" * 30})) + 1
        for p in rotated:
            assert 2000 <= p.stat().st_size <= 2000 + line
        kept = b"".join(p.read_bytes() for p in [*reversed(rotated), log]).splitlines()
        assert 300 * line > sum(p.stat().st_size for p in [*rotated, log])  # the oldest went
        first = int(json.loads(kept[0])["log"].split()[0])
        assert first > 1
        everything = ok(engine.docker("logs", cid))
        assert numbers(everything) == list(range(first, 301))
        assert numbers(ok(engine.docker("logs", "--tail", "5", cid))) == [296, 297, 298, 299, 300]
        stamped = ok(engine.docker("logs", "-t", cid)).splitlines()
        # --since a line in the oldest file: that line and all after it, across the rotations
        pick = stamped[3]
        since = ok(engine.docker("logs", "--since", pick.split()[0], cid))
        assert first + 2 <= numbers(since)[0] <= first + 4 and numbers(since)[-1] == 300
        assert numbers(since) == list(range(numbers(since)[0], 301))
    finally:
        engine.docker("rm", "-f", cid)


def test_follow_reads_on_across_rotations(engine: Engine) -> None:
    script = f"for i in $(seq 1 200); do echo $i {PAD}; usleep 5000; done"
    cid = ok(
        engine.docker(
            "run",
            "-d",
            "--log-opt",
            "max-size=1500",
            "--log-opt",
            "max-file=10",
            "busybox",
            "sh",
            "-c",
            script,
        )
    ).strip()
    try:
        follow = subprocess.run([DOCKER, "logs", "-f", cid], env=engine.env, capture_output=True, timeout=60)
        assert follow.returncode == 0, follow.stderr
        log = Path(ok(engine.docker("inspect", "-f", "{{.LogPath}}", cid)).strip())
        assert log.with_name(f"{log.name}.5").exists()  # it did rotate, several times
        assert numbers(follow.stdout.decode()) == list(range(1, 201))
    finally:
        engine.docker("rm", "-f", cid)


def test_max_file_one_truncates_and_local_and_none_drivers(engine: Engine) -> None:
    one = ok(
        engine.docker(
            "run",
            "-d",
            "--log-opt",
            "max-size=1k",
            "--log-opt",
            "max-file=1",
            "busybox",
            "sh",
            "-c",
            f"for i in $(seq 1 100); do echo $i {PAD}; done",
        )
    ).strip()
    local = ok(engine.docker("run", "-d", "--log-driver", "local", "busybox", "echo", "local")).strip()
    none = ok(engine.docker("run", "-d", "--log-driver", "none", "busybox", "echo", "gone")).strip()
    try:
        for cid in (one, local, none):
            ok(engine.docker("wait", cid))
        log = Path(ok(engine.docker("inspect", "-f", "{{.LogPath}}", one)).strip())
        assert not log.with_name(f"{log.name}.1").exists() and log.stat().st_size <= 1000 + 200
        assert numbers(ok(engine.docker("logs", one)))[-1] == 100
        assert ok(engine.docker("logs", local)) == "local\n"
        refused = engine.docker("logs", none)
        assert refused.returncode != 0 and b"does not support reading" in refused.stderr
        gone = Path(ok(engine.docker("inspect", "-f", "{{.LogPath}}", none)).strip())
        assert not gone.exists()
    finally:
        engine.docker("rm", "-f", one, local, none)


@pytest.mark.parametrize(
    ("log_config", "message"),
    [
        ({"Type": "syslog", "Config": {}}, b"syslog"),
        ({"Type": "json-file", "Config": {"max-size": "lots"}}, b"max-size"),
        ({"Type": "json-file", "Config": {"max-file": "0"}}, b"max-file"),
        ({"Type": "json-file", "Config": {"bogus": "1"}}, b"unknown log opt 'bogus'"),
        ({"Type": "none", "Config": {"max-size": "1m"}}, b"unknown log opt 'max-size' for none"),
    ],
)
def test_bad_log_configs_are_400s(engine: Engine, log_config: dict[str, object], message: bytes) -> None:
    status, body = engine.request(
        "POST", "/containers/create", {"Image": "busybox", "HostConfig": {"LogConfig": log_config}}
    )
    assert status == 400 and message in body, (status, body)


def test_good_log_configs_are_kept(engine: Engine) -> None:
    for driver in ("json-file", "local", "none"):
        status, body = engine.request(
            "POST",
            "/containers/create",
            {"Image": "busybox", "HostConfig": {"LogConfig": {"Type": driver, "Config": {}}}},
        )
        assert status == 201, body
        cid = json.loads(body)["Id"]
        shown = engine.json("GET", f"/containers/{cid}/json")
        assert shown["HostConfig"]["LogConfig"] == {"Type": driver, "Config": {}}
        engine.request("DELETE", f"/containers/{cid}?force=1")
