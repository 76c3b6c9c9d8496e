"""docker-compose 1.29 drives a wharf engine with fig.yml-era (format v1) files on busybox.

Format v1 needs no user-defined networks: services sit on the default bridge and find each other
through ``links``. Every command compose has is run against the module's engine: ``up -d``, ``ps``,
``port``, ``top``, ``logs -f``, ``scale``/``up --scale``, ``stop``, ``start``, ``restart``, ``kill``,
``pause``/``unpause``, ``exec``, ``run --rm``, ``build``, ``pull``, ``rm``, ``down -v``, ``config``,
``events``. Bad input: a file naming an image that no registry has gets compose's own error and
leaves no container or volume behind.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from compose import Lines, Project, compose_bin, compose_project, fetch, host_port
from engines import Engine, needs_docker, wait_for
from wharf_registry.testing import RegistryProcess

pytestmark = [pytest.mark.root, pytest.mark.slow, needs_docker, pytest.mark.timeout(300)]
_ = compose_bin  # the session fixture, used by name

# a busybox service that exits at once on SIGTERM (as PID 1 it would otherwise ignore it)
SLEEPER = "sh -c 'trap \"exit 0\" TERM; while true; do sleep 0.2; done'"

FIG = """\
web:
  image: busybox
  command: httpd -f -p 8000 -h /www
  stop_signal: SIGKILL  # httpd as PID 1 ignores SIGTERM
  links:
    - db
    - db:database
  ports:
    - "8000"
  environment:
    - GREETING=hello
  volumes:
    - ./site:/www:ro
  volumes_from:
    - db
db:
  image: busybox
  command: sh -c "echo from-db > /data/f; echo db > /www2/index.html; exec httpd -f -p 80 -h /www2"
  stop_signal: SIGKILL
  volumes:
    - /data
    - /www2
  expose:
    - "80"
"""


@pytest.fixture
def project(engine: Engine, compose_bin: Path, tmp_path: Path) -> Iterator[Project]:
    with compose_project(engine, compose_bin, tmp_path / "p", {}, prefix="v1") as p:
        yield p


def states(project: Project) -> dict[str, str]:
    return {c["Names"][0].lstrip("/"): c["State"] for c in project.containers()}


def test_volume_list_filters_by_label_and_driver(engine: Engine) -> None:
    """The label filter finds a project's volumes (it was ignored: every volume came back)."""
    labeled = {"Name": "filtered-vol", "Labels": {"com.docker.compose.project": "filtered", "tier": "db"}}
    engine.json("POST", "/volumes/create", labeled)
    engine.json("POST", "/volumes/create", {"Name": "other-vol"})
    try:

        def names(filters: dict[str, list[str]]) -> set[str]:
            query = urllib.parse.quote(json.dumps(filters))
            return {v["Name"] for v in engine.json("GET", f"/volumes?filters={query}")["Volumes"]}

        assert names({"label": ["com.docker.compose.project=filtered"]}) == {"filtered-vol"}
        assert names({"label": ["tier", "com.docker.compose.project=filtered"]}) == {"filtered-vol"}
        assert names({"label": ["tier=web"]}) == set()
        assert {"filtered-vol", "other-vol"} <= names({"driver": ["local"]})
        assert names({"driver": ["nfs"]}) == set()
    finally:
        engine.request("DELETE", "/volumes/filtered-vol")
        engine.request("DELETE", "/volumes/other-vol")


def test_fig_links_ports_environment_and_volumes(project: Project) -> None:
    project.write({"docker-compose.yml": FIG, "site/index.html": "hello from the site\n"})
    project.ok("up", "-d")
    web, db = f"{project.name}_web_1", f"{project.name}_db_1"
    assert states(project) == {web: "running", db: "running"}
    ps = project.ok("ps")
    assert web in ps and db in ps and "->8000/tcp" in ps

    port = host_port(project, "web", 8000)
    assert fetch(f"http://127.0.0.1:{port}/") == "hello from the site\n"  # the bind mount, read-only
    env = project.ok("exec", "-T", "web", "cat", "/proc/1/environ").replace("\0", "\n")  # the container's
    assert "GREETING=hello" in env and "DB_PORT_80_TCP_ADDR=" in env and "DATABASE_PORT=tcp://" in env
    # the link reaches db by its service name and by its alias; volumes_from shares db's volumes
    assert project.ok("exec", "-T", "web", "wget", "-qO-", "http://db/") == "db\n"
    assert project.ok("exec", "-T", "web", "wget", "-qO-", "http://database/") == "db\n"
    assert project.ok("exec", "-T", "web", "cat", "/data/f") == "from-db\n"
    assert "Read-only file system" in project.run("exec", "-T", "web", "touch", "/www/x").stderr

    labels = project.container("web")["Config"]["Labels"]
    assert labels["com.docker.compose.service"] == "web" and labels["com.docker.compose.oneoff"] == "False"
    assert labels["com.docker.compose.container-number"] == "1"
    anonymous = [m["Name"] for m in project.container("db")["Mounts"] if m["Type"] == "volume"]
    assert len(anonymous) == 2

    top = project.ok("top", "web")
    assert "httpd -f -p 8000" in top
    down = project.run("down", "-v")
    assert down.returncode == 0, down.stderr
    assert project.containers() == []
    volumes = {v["Name"] for v in project.engine.json("GET", "/volumes")["Volumes"]}
    assert not volumes & set(anonymous)  # down -v removed the anonymous volumes


def test_up_recreates_a_changed_service_and_keeps_its_volumes(project: Project) -> None:
    """compose reads the image's ContainerConfig to carry volumes over (a KeyError before it was sent)."""
    project.write(
        {"docker-compose.yml": f"db:\n  image: busybox\n  command: {SLEEPER}\n  volumes: [/data]\n"}
    )
    project.ok("up", "-d")
    first = project.container("db")["Id"]
    project.ok("exec", "-T", "db", "sh", "-c", "echo kept > /data/k")
    unchanged = project.run("up", "-d")
    assert "is up-to-date" in unchanged.stderr and project.container("db")["Id"] == first
    project.write(
        {
            "docker-compose.yml": f"db:\n  image: busybox\n  command: {SLEEPER}\n  volumes: [/data]\n"
            "  environment: [CHANGED=1]\n"
        }
    )
    recreated = project.run("up", "-d")
    assert recreated.returncode == 0, recreated.stderr
    assert "Recreating" in recreated.stderr and "Traceback" not in recreated.stderr
    second = project.container("db")["Id"]
    assert second != first and "CHANGED=1" in project.container("db")["Config"]["Env"]
    assert project.ok("exec", "-T", "db", "cat", "/data/k") == "kept\n"
    project.ok("up", "-d", "--force-recreate")
    assert project.container("db")["Id"] != second
    assert project.ok("exec", "-T", "db", "cat", "/data/k") == "kept\n"
    assert len(project.containers()) == 1  # the old containers are gone


def test_scale_and_logs_follow(project: Project) -> None:
    project.write(
        {
            "docker-compose.yml": """\
worker:
  image: busybox
  command: sh -c 'echo started $$HOSTNAME; trap "echo bye; exit 0" TERM; while true; do sleep 0.2; done'
""",
        }
    )
    project.ok("up", "-d", "--scale", "worker=3")
    assert len(project.containers()) == 3
    project.ok("scale", "worker=2")  # the old command: scales down to two, the newest goes
    names = sorted(c["Names"][0] for c in project.containers())
    assert names == [f"/{project.name}_worker_1", f"/{project.name}_worker_2"]

    follow = project.popen("logs", "-f")
    try:
        lines = Lines(follow)
        seen = "".join(lines.until(lambda ls: "".join(ls).count("started") == 2))
        assert seen.count("started") == 2, seen
        project.ok("stop", "-t", "5")
        # logs -f prints the goodbyes, then exits once every container has stopped
        seen = "".join(lines.until(lambda ls: False, timeout=30))
        assert follow.wait(timeout=10) == 0
        assert seen.count("bye") == 2, seen
    finally:
        follow.kill()
        follow.wait()


def test_stop_start_restart_kill_pause_unpause_rm(project: Project) -> None:
    project.write({"docker-compose.yml": f"app:\n  image: busybox\n  command: {SLEEPER}\n"})
    project.ok("up", "-d")
    name = f"{project.name}_app_1"
    started = project.container("app")["State"]["StartedAt"]
    project.ok("stop", "-t", "5")
    assert states(project) == {name: "exited"}
    assert project.container("app")["State"]["ExitCode"] == 0
    project.ok("start")
    assert states(project) == {name: "running"}
    project.ok("restart", "-t", "5")
    assert project.container("app")["State"]["StartedAt"] != started
    project.ok("pause")
    assert states(project) == {name: "paused"}
    assert "Paused" in project.ok("ps")
    project.ok("unpause")
    assert states(project) == {name: "running"}
    project.ok("kill")
    state = project.container("app")["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 137
    project.ok("rm", "-f")
    assert project.containers() == []


@pytest.mark.parametrize("through", ["docker-cli", "api"])
def test_exec_and_run_rm(project: Project, through: str) -> None:
    """compose execs through the docker CLI when it finds one, else through its own API calls."""
    env = {"COMPOSE_INTERACTIVE_NO_CLI": "1"} if through == "api" else {}
    project.write({"docker-compose.yml": f"app:\n  image: busybox\n  command: {SLEEPER}\n"})
    project.ok("up", "-d")
    assert project.ok("exec", "-T", "-e", "X=1", "app", "sh", "-c", "echo $X $(id -u)", env=env) == "1 0\n"
    assert project.run("exec", "-T", "app", "sh", "-c", "exit 7", env=env).returncode == 7
    one_off = project.ok("run", "--rm", "-T", "app", "echo", "one-off", env=env)
    # through the API compose attaches only after the start (dockerpty's sockets() is a lazy map) and
    # without logs, so a command as short as echo may be done before: nothing printed, as with Docker
    if through == "docker-cli":
        assert one_off.strip() == "one-off"
    failed = project.run("run", "--rm", "-T", "app", "sh", "-c", "exit 3", env=env)
    assert failed.returncode == 3
    assert [c["Labels"]["com.docker.compose.oneoff"] for c in project.containers()] == ["False"]


def test_build_env_file_and_restart_policy(project: Project) -> None:
    project.write(
        {
            "app/Dockerfile": "FROM busybox\nRUN echo built > /built\n"
            "CMD cat /built && echo $GREETING && sleep 0.3 && exit 1\n",
            "app.env": "# the environment file\nGREETING=from-env-file\n",
            "docker-compose.yml": "app:\n  build: app\n  env_file: app.env\n  restart: on-failure\n",
        }
    )
    build = project.run("build")
    assert build.returncode == 0, build.stderr
    assert "Successfully tagged" in build.stdout + build.stderr
    assert project.engine.request("GET", f"/images/{project.name}_app/json")[0] == 200
    project.ok("up", "-d")
    inspect = project.container("app")
    assert inspect["HostConfig"]["RestartPolicy"]["Name"] == "on-failure"
    assert "GREETING=from-env-file" in inspect["Config"]["Env"]
    wait_for(lambda: project.container("app")["RestartCount"] >= 1, timeout=30)
    logs = project.ok("logs", "--no-color")
    assert logs.count("built") >= 2 and "from-env-file" in logs
    project.ok("down", "--rmi", "local")
    assert project.engine.request("GET", f"/images/{project.name}_app/json")[0] == 404


def test_events_stream_the_projects_containers(project: Project) -> None:
    project.write({"docker-compose.yml": f"app:\n  image: busybox\n  command: {SLEEPER}\n"})
    project.ok("up", "-d")
    events = project.popen("events", "--json")
    try:
        time.sleep(1.5)  # compose subscribes after it has read the file and listed the containers
        project.ok("stop", "-t", "5")
        project.ok("start")
        lines = Lines(events).until(lambda ls: any('"start"' in line for line in ls))
        seen = [json.loads(line) for line in lines]
        actions = [e["action"] for e in seen]
        assert "die" in actions and "stop" in actions and actions[-1] == "start", actions
        assert {e["service"] for e in seen} == {"app"}
        assert all(
            e["type"] == "container" and e["attributes"]["name"] == f"{project.name}_app_1" for e in seen
        )
    finally:
        events.kill()
        events.wait()


def test_config_resolves_the_file(project: Project) -> None:
    project.write({"docker-compose.yml": "app:\n  image: ${IMAGE}\n  command: echo $$HOME ${WORD}\n"})
    config = project.ok("config", env={"IMAGE": "busybox:1", "WORD": "interpolated"})
    assert "image: busybox:1" in config and "command: echo $$HOME interpolated" in config
    assert project.ok("config", "--services") == "app\n"
    project.write({"docker-compose.yml": "app:\n  image: busybox\n  ports: 80\n"})
    invalid = project.run("config")
    assert invalid.returncode == 1 and "ports" in invalid.stderr


@pytest.fixture(scope="module")
def registry() -> Iterator[RegistryProcess]:
    reg = RegistryProcess()
    try:
        reg.start()
        yield reg
    finally:
        reg.cleanup()


def test_pull_from_a_registry(project: Project, registry: RegistryProcess) -> None:
    image = f"127.0.0.1:{registry.port}/compose/{project.name}"
    engine = project.engine
    for args in (("tag", "busybox", image), ("push", image), ("rmi", image)):
        result = engine.docker(*args)
        assert result.returncode == 0, (args, result.stderr)
    project.write({"docker-compose.yml": f"app:\n  image: {image}\n  command: {SLEEPER}\n"})
    pulled = project.run("pull")
    assert pulled.returncode == 0, pulled.stderr
    assert engine.request("GET", f"/images/{image}/json")[0] == 200
    project.ok("up", "-d")
    assert states(project) == {f"{project.name}_app_1": "running"}
    project.ok("down", "--rmi", "all")
    assert engine.request("GET", f"/images/{image}/json")[0] == 404


def test_missing_image_is_composes_error_and_creates_nothing(
    project: Project, registry: RegistryProcess
) -> None:
    missing = f"127.0.0.1:{registry.port}/compose/nosuch"
    project.write(
        {
            "docker-compose.yml": f"""\
db:
  image: busybox
  command: {SLEEPER}
  volumes: [/data]
web:
  image: {missing}
  links: [db]
""",
        }
    )
    volumes_before = project.engine.json("GET", "/volumes")["Volumes"]
    result = project.run("up", "-d")
    assert result.returncode == 1
    assert f"Pulling web ({missing}:)..." in result.stderr  # compose's own words, the engine's reason
    assert f"manifest for {missing}:latest not found" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert project.containers() == []
    assert project.engine.json("GET", "/volumes")["Volumes"] == volumes_before
    assert project.engine.request("GET", f"/images/{missing}/json")[0] == 404


def test_run_needs_no_running_service(project: Project) -> None:
    """``run`` of a service that was never up creates and removes its one-off container only."""
    project.write({"docker-compose.yml": "app:\n  image: busybox\n  command: 'true'\n"})
    assert project.ok("run", "--rm", "-T", "app", "echo", "alone").strip() == "alone"
    assert project.containers() == []
