"""The classic builder as Docker's: RUN's network and extra hosts, cachefrom, .dockerignore of the
Dockerfile itself, first-value query parameters, RUN's stderr in red, LABEL on scratch."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest
from builds import build, run, text
from engines import Engine, needs_docker

pytestmark = [pytest.mark.root]

SHOW_NET = "FROM busybox\nRUN ip -o -4 addr show; cat /proc/net/route | wc -l\n"


def ok(status: int, messages: list[dict[str, object]]) -> str:
    assert status == 200 and not any("error" in m for m in messages), messages
    return text(messages)


def test_run_steps_are_on_the_default_bridge(engine: Engine) -> None:
    out = ok(*build(engine, {"Dockerfile": SHOW_NET}, "nocache=1"))
    subnet_prefix = engine.subnet.rsplit(".", 1)[0] + "."
    assert "eth0" in out and f"inet {subnet_prefix}" in out, out
    out = ok(*build(engine, {"Dockerfile": SHOW_NET}, "nocache=1&networkmode=default"))
    assert f"inet {subnet_prefix}" in out


def test_run_steps_follow_networkmode_none_and_host(engine: Engine) -> None:
    out = ok(*build(engine, {"Dockerfile": SHOW_NET}, "nocache=1&networkmode=none"))
    assert "eth0" not in out and "lo" in out
    out = ok(*build(engine, {"Dockerfile": SHOW_NET}, "nocache=1&networkmode=host"))
    assert engine.bridge in out  # the host's own interfaces, the engine's bridge among them


def test_extrahosts_reach_runs_etc_hosts(engine: Engine) -> None:
    probe = engine.docker("run", "--rm", "--add-host", "probe.test:10.9.8.7", "busybox", "cat", "/etc/hosts")
    if b"probe.test" not in probe.stdout:
        pytest.skip("this engine does not honour HostConfig.ExtraHosts yet")
    query = "nocache=1&" + urllib.parse.urlencode(
        [("extrahosts", "db.test:10.1.2.3"), ("extrahosts", "x.test:10.1.2.4")]
    )
    out = ok(*build(engine, {"Dockerfile": "FROM busybox\nRUN cat /etc/hosts\n"}, query))
    assert "10.1.2.3" in out and "db.test" in out and "x.test" in out


def test_run_stderr_is_red(engine: Engine) -> None:
    out = ok(*build(engine, {"Dockerfile": "FROM busybox\nRUN echo plain; echo oops >&2\n"}, "nocache=1"))
    assert "plain\n" in out and "\x1b[91moops\n\x1b[0m" in out
    assert "\x1b[91mplain" not in out


def test_first_of_repeated_query_values_wins(engine: Engine) -> None:
    files = {
        "first.Dockerfile": "FROM busybox\nLABEL which=first\n",
        "second.Dockerfile": "FROM busybox\nLABEL which=second\n",
    }
    query = "dockerfile=first.Dockerfile&dockerfile=second.Dockerfile&t=rep:a&t=rep:b"
    ok(*build(engine, files, query))
    try:
        for tag in ("rep:a", "rep:b"):  # t is a list, as Docker's r.Form["t"]
            assert engine.json("GET", f"/images/{tag}/json")["Config"]["Labels"] == {"which": "first"}
    finally:
        engine.request("DELETE", "/images/rep:a")
        engine.request("DELETE", "/images/rep:b")


def test_label_on_scratch_makes_an_image(engine: Engine) -> None:
    status, messages = build(engine, {"Dockerfile": "FROM scratch\nLABEL only=label\n"}, "t=scratchlabel:v1")
    ok(status, messages)
    try:
        image = engine.json("GET", "/images/scratchlabel:v1/json")
        assert image["Config"]["Labels"] == {"only": "label"} and image["RootFS"].get("Layers") in (None, [])
    finally:
        engine.request("DELETE", "/images/scratchlabel:v1")


def test_dockerignore_can_exclude_the_dockerfile_and_itself(engine: Engine) -> None:
    files = {
        "Dockerfile": "FROM busybox\nADD . /ctx\nRUN ls -a /ctx\n",
        ".dockerignore": "Dockerfile\n.dockerignore\n",
        "kept.txt": "kept\n",
    }
    out = ok(*build(engine, files, "nocache=1&t=ignoreself:v1"))
    try:
        assert (
            "kept.txt" in out
            and "Dockerfile" not in out.split("ls -a /ctx", 1)[1]
            and ".dockerignore" not in out.split("ls -a /ctx", 1)[1]
        )
        code, listing = run(engine, "ignoreself:v1", "ls", "-a", "/ctx")
        assert code == 0 and listing.split() == [b".", b"..", b"kept.txt"]
    finally:
        engine.request("DELETE", "/images/ignoreself:v1")


DOCKERFILE_CF = "FROM busybox\nENV STAGE=cf\nRUN echo $RANDOM > /random\nRUN echo two > /two\n"


def test_cachefrom_gives_cache_hits_after_a_load(engine: Engine) -> None:
    ok(*build(engine, {"Dockerfile": DOCKERFILE_CF}, "t=cachefrom:v1"))
    original = engine.json("GET", "/images/cachefrom:v1/json")["Id"]
    status, archive = engine.request("GET", "/images/get?names=cachefrom:v1")
    assert status == 200
    assert engine.request("DELETE", "/images/cachefrom:v1")[0] == 200  # its intermediate images too
    assert engine.request("POST", "/images/load", archive)[0] == 200
    try:
        out = ok(*build(engine, {"Dockerfile": DOCKERFILE_CF}, "t=cachefrom:v2"))  # no cachefrom: runs
        assert "Using cache" not in out
        assert engine.json("GET", "/images/cachefrom:v2/json")["Id"] != original
        query = urllib.parse.urlencode({"t": "cachefrom:v3", "cachefrom": json.dumps(["cachefrom:v1"])})
        out = ok(*build(engine, {"Dockerfile": DOCKERFILE_CF}, query))
        assert out.count("Using cache") == 3 and "Running in" not in out, out
        assert engine.json("GET", "/images/cachefrom:v3/json")["Id"] == original
        code, random = run(engine, "cachefrom:v3", "cat", "/random")
        assert code == 0 and random == run(engine, "cachefrom:v1", "cat", "/random")[1]
    finally:
        for tag in ("v1", "v2", "v3"):
            engine.request("DELETE", f"/images/cachefrom:{tag}")


@needs_docker
def test_docker_build_network_and_cache_from(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(SHOW_NET)
    result = engine.docker("build", "--no-cache", "--network", "none", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert b"eth0" not in result.stdout + result.stderr
    (tmp_path / "Dockerfile").write_text(DOCKERFILE_CF)
    assert engine.docker("build", "-t", "clicf:v1", str(tmp_path)).returncode == 0
    saved = tmp_path / "saved.tar"
    assert engine.docker("save", "-o", str(saved), "clicf:v1").returncode == 0
    assert engine.docker("rmi", "clicf:v1").returncode == 0
    assert engine.docker("load", "-i", str(saved)).returncode == 0
    try:
        result = engine.docker("build", "--cache-from", "clicf:v1", "-t", "clicf:v2", str(tmp_path))
        assert result.returncode == 0, result.stderr
        assert result.stdout.count(b"Using cache") == 3, result.stdout
    finally:
        engine.request("DELETE", "/images/clicf:v1")
        engine.request("DELETE", "/images/clicf:v2")
