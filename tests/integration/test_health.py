"""HEALTHCHECK run by the engine: State.Health, events, ps, filters, timeouts, image and create,
with the real docker CLI, docker-py and wharf."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engines import Engine, needs_docker, wait_for

pytestmark = [pytest.mark.root, needs_docker]

FAST = ("--health-interval", "300ms", "--health-timeout", "2s")


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


def health(engine: Engine, name: str) -> dict[str, Any]:
    state = engine.json("GET", f"/containers/{name}/json")["State"]
    return state.get("Health") or {}


def status_is(engine: Engine, name: str, status: str, timeout: float = 15) -> dict[str, Any]:
    found: dict[str, Any] = wait_for(
        lambda: (h := health(engine, name)).get("Status") == status and h, timeout, 0.1
    )
    return found


@pytest.fixture
def cleanup(engine: Engine) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    if names:
        engine.docker("rm", "-f", *names)


def test_healthy_container_state_ps_events_and_filter(engine: Engine, cleanup: list[str]) -> None:
    cleanup.append("hok")
    since = str(time.time() - 1)
    ok(
        engine.docker(
            "run",
            "-d",
            "--name",
            "hok",
            "--health-cmd",
            "echo probing; true",
            *FAST,
            "busybox",
            "sleep",
            "60",
        )
    )
    assert health(engine, "hok")["Status"] == "starting"
    state = status_is(engine, "hok", "healthy")
    assert state["FailingStreak"] == 0
    entry = state["Log"][0]
    assert entry["ExitCode"] == 0 and entry["Output"] == "probing\n" and entry["Start"] <= entry["End"]
    assert (
        ok(engine.docker("ps", "--format", "{{.Status}}", "--filter", "name=hok"))
        .strip()
        .endswith("(healthy)")
    )
    assert ok(engine.docker("ps", "-q", "--filter", "health=healthy")).split() == [
        engine.json("GET", "/containers/hok/json")["Id"][:12]
    ]
    assert ok(engine.docker("ps", "-q", "--filter", "health=unhealthy")).strip() == ""
    events = ok(
        engine.docker(
            "events",
            "--since",
            since,
            "--until",
            str(time.time()),
            "--format",
            "{{json .}}",
            "--filter",
            "container=hok",
        )
    )
    health_events = [json.loads(line) for line in events.splitlines() if "health_status" in line]
    assert health_events and health_events[0]["Action"] == "health_status: healthy"
    assert (
        health_events[0]["Type"] == "container" and health_events[0]["Actor"]["Attributes"]["name"] == "hok"
    )
    wait_for(lambda: len(health(engine, "hok")["Log"]) == 5, 10, 0.2)
    time.sleep(0.7)
    assert len(health(engine, "hok")["Log"]) == 5  # the last five only


def test_failing_probe_becomes_unhealthy_after_retries(engine: Engine, cleanup: list[str]) -> None:
    cleanup.append("hbad")
    ok(
        engine.docker(
            "run",
            "-d",
            "--name",
            "hbad",
            "--health-cmd",
            "exit 3",
            "--health-retries",
            "2",
            *FAST,
            "busybox",
            "sleep",
            "60",
        )
    )
    state = status_is(engine, "hbad", "unhealthy")
    assert state["FailingStreak"] >= 2
    assert all(e["ExitCode"] == 3 for e in state["Log"])
    assert "(unhealthy)" in ok(engine.docker("ps", "--format", "{{.Status}}", "--filter", "name=hbad"))


def test_probe_runs_as_the_container_user_with_its_added_groups(engine: Engine, cleanup: list[str]) -> None:
    cleanup.append("hgroups")
    ok(
        engine.docker(
            "run",
            "-d",
            "--name",
            "hgroups",
            "-u",
            "nobody",
            "--group-add",
            "4242",
            "--health-cmd",
            "id -u; id -G",
            *FAST,
            "busybox",
            "sleep",
            "60",
        )
    )
    output = status_is(engine, "hgroups", "healthy")["Log"][0]["Output"].split()
    assert output[0] == "65534" and "4242" in output[1:]


def test_hanging_probe_is_killed_at_its_timeout(engine: Engine, cleanup: list[str]) -> None:
    cleanup.append("hhang")
    flags = ["--health-cmd", "exec sleep 1000", "--health-timeout", "1s", "--health-interval", "300ms"]
    ok(
        engine.docker(
            "run", "-d", "--name", "hhang", *flags, "--health-retries", "1", "busybox", "sleep", "60"
        )
    )
    started = time.monotonic()
    state = status_is(engine, "hhang", "unhealthy", timeout=20)
    assert time.monotonic() - started < 10
    entry = state["Log"][0]
    assert entry["ExitCode"] == -1 and "Health check exceeded timeout (1s)" in entry["Output"]
    time.sleep(2.5)  # probes that outlived their timeout would pile up here
    assert ok(engine.docker("top", "hhang")).count("sleep 1000") <= 1  # at most the probe running now
    assert all(e["ExitCode"] == -1 for e in health(engine, "hhang")["Log"])
    engine.docker("rm", "-f", "hhang")
    cleanup.clear()


def test_image_healthcheck_no_healthcheck_and_create_overrides(
    engine: Engine, cleanup: list[str], tmp_path: Path
) -> None:
    (tmp_path / "Dockerfile").write_text(
        'FROM busybox\nHEALTHCHECK --interval=300ms --timeout=2s --retries=1 CMD ["test", "-e", "/tmp/ok"]\n'
    )
    ok(engine.docker("build", "-q", "-t", "hcimage", str(tmp_path)))
    image = engine.json("GET", "/images/hcimage/json")["Config"]["Healthcheck"]
    assert image["Test"] == ["CMD", "test", "-e", "/tmp/ok"] and image["Interval"] == 300_000_000
    cleanup.extend(["himg", "hnone", "hover"])
    ok(engine.docker("run", "-d", "--name", "himg", "hcimage", "sleep", "60"))
    status_is(engine, "himg", "unhealthy")
    ok(engine.docker("exec", "himg", "touch", "/tmp/ok"))
    status_is(engine, "himg", "healthy")
    ok(engine.docker("run", "-d", "--name", "hnone", "--no-healthcheck", "hcimage", "sleep", "60"))
    inspected = engine.json("GET", "/containers/hnone/json")
    assert inspected["Config"]["Healthcheck"]["Test"] == ["NONE"] and "Health" not in inspected["State"]
    ok(engine.docker("run", "-d", "--name", "hover", "--health-cmd", "true", "hcimage", "sleep", "60"))
    merged = engine.json("GET", "/containers/hover/json")["Config"]["Healthcheck"]
    assert merged["Test"] == ["CMD-SHELL", "true"] and merged["Interval"] == 300_000_000  # the rest inherited
    status_is(engine, "hover", "healthy")
    engine.docker("rmi", "-f", "hcimage")


@pytest.mark.parametrize(
    ("healthcheck", "message"),
    [
        ({"Test": ["CMD", "true"], "Interval": 10}, b"Interval in Healthcheck cannot be less than 1ms"),
        ({"Test": ["CMD", "true"], "Retries": -1}, b"Retries in Healthcheck cannot be negative"),
        ({"Test": ["BOGUS"]}, b"BOGUS"),
        ({"Test": ["CMD", "true"], "Timeout": "1s"}, b"Timeout"),
    ],
)
def test_bad_healthchecks_are_400s(engine: Engine, healthcheck: dict[str, object], message: bytes) -> None:
    status, body = engine.request(
        "POST", "/containers/create", {"Image": "busybox", "Healthcheck": healthcheck}
    )
    assert status == 400 and message in body, body


def test_docker_py_healthcheck(engine: Engine, cleanup: list[str]) -> None:
    import docker

    client = docker.DockerClient(base_url=engine.host, version="1.44")
    cleanup.append("hpy")
    try:
        container = client.containers.run(
            "busybox",
            "sleep 60",
            name="hpy",
            detach=True,
            healthcheck={"test": ["CMD", "true"], "interval": 200_000_000, "retries": 1},
        )
        container.reload()
        assert container.health == "starting"
        wait_for(lambda: container.reload() or container.health == "healthy", 10, 0.1)
    finally:
        client.close()


def test_failures_in_the_start_period_do_not_count(engine: Engine, cleanup: list[str]) -> None:
    cleanup.append("hstart")
    check = {
        "Test": ["CMD-SHELL", "false"],
        "Interval": 60_000_000_000,
        "Retries": 1,
        "StartPeriod": 60_000_000_000,
        "StartInterval": 200_000_000,
    }
    created = engine.json(
        "POST",
        "/containers/create?name=hstart",
        {"Image": "busybox", "Cmd": ["sleep", "60"], "Healthcheck": check},
    )
    assert engine.request("POST", f"/containers/{created['Id']}/start")[0] == 204
    wait_for(
        lambda: len(health(engine, "hstart").get("Log") or []) >= 3, 10, 0.1
    )  # probed every StartInterval
    state = health(engine, "hstart")
    assert state["Status"] == "starting" and state["FailingStreak"] == 0


def test_health_monitor_resumes_after_engine_restart(fresh_engine: Engine) -> None:
    engine = fresh_engine
    flags = ["--health-cmd", "test -e /tmp/ok", "--health-retries", "1", *FAST]
    ok(engine.docker("run", "-d", "--name", "hrestart", *flags, "busybox", "sleep", "60"))
    status_is(engine, "hrestart", "unhealthy")
    engine.stop()
    engine.start()
    assert health(engine, "hrestart")["Status"] == "starting"
    ok(engine.docker("exec", "hrestart", "touch", "/tmp/ok"))
    status_is(engine, "hrestart", "healthy")
    engine.docker("rm", "-f", "hrestart")


def test_wharf_run_health_flags(engine: Engine, cleanup: list[str]) -> None:
    cleanup.extend(["hwharf", "hwnone"])
    ok(
        engine.wharf(
            "run",
            "-d",
            "--name",
            "hwharf",
            "--health-cmd",
            "true",
            "--health-interval",
            "300ms",
            "--health-timeout",
            "2s",
            "--health-retries",
            "2",
            "--health-start-period",
            "1s",
            "busybox",
            "sleep",
            "60",
        )
    )
    check = engine.json("GET", "/containers/hwharf/json")["Config"]["Healthcheck"]
    assert check == {
        "Test": ["CMD-SHELL", "true"],
        "Interval": 300_000_000,
        "Timeout": 2_000_000_000,
        "StartPeriod": 1_000_000_000,
        "Retries": 2,
    }
    status_is(engine, "hwharf", "healthy")
    assert "(healthy)" in ok(engine.wharf("ps", "--filter", "name=hwharf"))
    ok(engine.wharf("run", "-d", "--name", "hwnone", "--no-healthcheck", "busybox", "sleep", "60"))
    assert engine.json("GET", "/containers/hwnone/json")["Config"]["Healthcheck"] == {"Test": ["NONE"]}
