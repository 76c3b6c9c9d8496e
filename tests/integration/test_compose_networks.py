"""docker-compose 1.29 with format v2 and v3 files: project networks, aliases, named volumes, DNS.

Since format v2 every project gets a network of its own (``<project>_default``) and services find
each other by name through the engine's DNS; extra networks keep services apart, aliases add names.
Named volumes are the project's (``<project>_<name>``) and outlive ``down`` unless ``-v`` is given.
Bad input: a file naming a missing image gets compose's error; no container is made and ``down -v``
removes the network and volume compose had made first (it creates them before pulling, as with Docker).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from compose import Project, compose_bin, compose_project
from engines import Engine, needs_docker
from wharf_registry.testing import RegistryProcess

pytestmark = [pytest.mark.root, pytest.mark.slow, needs_docker, pytest.mark.timeout(300)]
_ = compose_bin  # the session fixture, used by name

SLEEPER = """sh -c 'trap "exit 0" TERM; sleep 1000 & wait'"""
# serves its own hostname on port 80 and stops at once on SIGTERM
HTTPD = """sh -c 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www'"""

TIERS = f"""\
version: "2.4"
services:
  web:
    image: busybox
    command: {HTTPD}
    stop_signal: SIGKILL
    networks:
      default: {{}}
      back:
        aliases: [api]
    depends_on: [db]
  db:
    image: busybox
    command: {HTTPD}
    stop_signal: SIGKILL
    networks: [back]
  front:
    image: busybox
    command: {SLEEPER}
networks:
  back:
    labels: [tier=back]
"""


@pytest.fixture
def project(engine: Engine, compose_bin: Path, tmp_path: Path) -> Iterator[Project]:
    with compose_project(engine, compose_bin, tmp_path / "p", {}, prefix="net") as p:
        yield p


def wget(project: Project, service: str, url: str) -> tuple[int, str]:
    # busybox 1.35's wget -T segfaults: the applet timeout bounds it instead
    result = project.run("exec", "-T", service, "timeout", "5", "wget", "-qO-", url, timeout=60)
    return result.returncode, result.stdout


def test_default_and_extra_networks_with_aliases(project: Project) -> None:
    project.write({"docker-compose.yml": TIERS})
    up = project.run("up", "-d")
    assert up.returncode == 0, up.stderr
    assert f'Creating network "{project.name}_default" with the default driver' in up.stderr
    networks = {n["Name"]: n for n in project.networks()}
    assert set(networks) == {f"{project.name}_default", f"{project.name}_back"}
    back = networks[f"{project.name}_back"]
    assert back["Labels"]["com.docker.compose.network"] == "back" and back["Labels"]["tier"] == "back"

    web = project.container("web")
    attached = web["NetworkSettings"]["Networks"]
    assert set(attached) == {f"{project.name}_default", f"{project.name}_back"}
    assert {"web", "api"} <= set(attached[f"{project.name}_back"]["Aliases"])
    assert set(project.container("db")["NetworkSettings"]["Networks"]) == {f"{project.name}_back"}

    web_host, db_host = web["Config"]["Hostname"], project.container("db")["Config"]["Hostname"]
    assert wget(project, "db", "http://api/") == (0, f"{web_host}\n")  # the alias on back
    assert wget(project, "db", "http://web/") == (0, f"{web_host}\n")  # the service name
    assert wget(project, "web", "http://db/") == (0, f"{db_host}\n")
    assert wget(project, "front", "http://web/") == (0, f"{web_host}\n")  # on the default network
    # front shares no network with db: neither its name nor its address reaches it
    assert wget(project, "front", "http://db/")[0] != 0
    db_ip = project.container("db")["NetworkSettings"]["Networks"][f"{project.name}_back"]["IPAddress"]
    assert wget(project, "front", f"http://{db_ip}/")[0] != 0

    down = project.run("down")
    assert down.returncode == 0, down.stderr
    assert project.containers() == [] and project.networks() == []


def test_named_volumes_outlive_down_and_go_with_down_v(project: Project) -> None:
    project.write(
        {
            "app.env": "FROM_FILE=yes\n",
            "bind/hello": "bound\n",
            "docker-compose.yml": f"""\
version: "3.8"
services:
  app:
    image: busybox
    command: {SLEEPER}
    volumes: [data:/data, ./bind:/bind:ro, /anon]
    environment: [A=1]
    env_file: app.env
    expose: ["80"]
    restart: unless-stopped
  peer:
    image: busybox
    command: {SLEEPER}
    depends_on: [app]
volumes:
  data: {{}}
""",
        }
    )
    project.ok("up", "-d", "--scale", "peer=2")
    volumes = {v["Name"]: v for v in project.volumes()}
    assert f"{project.name}_data" in volumes
    assert volumes[f"{project.name}_data"]["Labels"]["com.docker.compose.volume"] == "data"
    app = project.container("app")
    assert app["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert "80/tcp" in app["Config"]["ExposedPorts"] and app["NetworkSettings"]["Ports"]["80/tcp"] is None
    assert {"A=1", "FROM_FILE=yes"} <= set(app["Config"]["Env"])
    assert project.ok("exec", "-T", "app", "cat", "/bind/hello") == "bound\n"
    project.ok("exec", "-T", "app", "sh", "-c", "echo kept > /data/k")
    for index in (1, 2):  # every replica finds app by name; a one-off joins the network too
        ip = app["NetworkSettings"]["Networks"][f"{project.name}_default"]["IPAddress"]
        out = project.ok("exec", "-T", "--index", str(index), "peer", "nslookup", "app")
        assert ip in out, out
    assert "kept" in project.ok(
        "run", "--rm", "-T", "peer", "sh", "-c", "nslookup app >/dev/null && echo kept"
    )

    project.ok("down")
    assert project.containers() == [] and project.networks() == []
    assert f"{project.name}_data" in {v["Name"] for v in project.volumes()}
    project.ok("up", "-d")
    assert project.ok("exec", "-T", "app", "cat", "/data/k") == "kept\n"
    project.ok("down", "-v")
    assert project.volumes() == [] and project.networks() == []


def test_build_args_and_foreground_up(project: Project) -> None:
    """``build`` with a context, another Dockerfile, args and labels; ``up`` attached to the logs."""
    project.write(
        {
            "ctx/Dockerfile.alt": "FROM busybox\nARG GREETING=none\nRUN echo $GREETING > /g\n"
            'CMD ["sh", "-c", "cat /g; exit 3"]\n',
            "docker-compose.yml": f"""\
version: "3.4"
services:
  app:
    build:
      context: ./ctx
      dockerfile: Dockerfile.alt
      args:
        GREETING: hi-from-args
      labels:
        built.by: compose
    image: {project.name}/app:1
    depends_on: [side]
  side:
    image: busybox
    command: {SLEEPER}
""",
        }
    )
    build = project.run("build")
    assert build.returncode == 0, build.stderr
    image = project.engine.json("GET", f"/images/{project.name}/app:1/json")
    assert image["Config"]["Labels"]["built.by"] == "compose"
    up = project.run("up", "--exit-code-from", "app", timeout=120)
    assert up.returncode == 3, up.stderr
    assert "app_1   | hi-from-args" in up.stdout and "exited with code 3" in up.stdout
    assert {c["State"] for c in project.containers()} == {"exited"}  # the abort stopped side too
    project.ok("down")  # (--rmi all would take the module's busybox too: side uses it)
    assert project.engine.request("DELETE", f"/images/{project.name}/app:1")[0] == 200


@pytest.fixture(scope="module")
def registry() -> Iterator[RegistryProcess]:
    reg = RegistryProcess()
    try:
        reg.start()
        yield reg
    finally:
        reg.cleanup()


def test_missing_image_makes_no_container(project: Project, registry: RegistryProcess) -> None:
    missing = f"127.0.0.1:{registry.port}/compose/nosuch"
    project.write(
        {
            "docker-compose.yml": f"""\
version: "3"
services:
  db:
    image: busybox
    command: {SLEEPER}
    volumes: [data:/data]
  web:
    image: {missing}
    depends_on: [db]
volumes:
  data: {{}}
""",
        }
    )
    result = project.run("up", "-d")
    assert result.returncode == 1
    assert f"manifest for {missing}:latest not found" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert project.containers() == []
    down = project.run("down", "-v")
    assert down.returncode == 0, down.stderr
    assert project.networks() == [] and project.volumes() == []
