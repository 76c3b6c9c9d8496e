"""docker build against wharf: the course's Dockerfiles, the cache, stages, triggers, bad input."""

from __future__ import annotations

import io
import json
import tarfile
import time
import urllib.parse
from pathlib import Path

import pytest
from builds import build, run, text
from engines import Engine, needs_docker

pytestmark = [pytest.mark.root]


def test_build_runs_steps_and_tags(engine: Engine) -> None:
    dockerfile = (
        "FROM busybox\nENV GREETING=hi\nWORKDIR /app\nCOPY msg.txt .\n"
        'RUN echo "$GREETING from $(pwd)" > greet && cat msg.txt\nCMD ["cat", "/app/greet"]\n'
    )
    status, messages = build(engine, {"Dockerfile": dockerfile, "msg.txt": "copied\n"}, "t=greeter:1")
    assert status == 200
    out = text(messages)
    assert "Step 1/6 : FROM busybox\n" in out and 'Step 6/6 : CMD ["cat", "/app/greet"]\n' in out
    assert " ---> Running in " in out and "Removing intermediate container" in out
    assert "copied\n" in out
    assert "Successfully tagged greeter:1\n" in out
    built = next(m["stream"] for m in messages if m.get("stream", "").startswith("Successfully built"))
    image = engine.json("GET", "/images/greeter:1/json")
    assert image["Id"][7:19] == built.split()[-1]
    assert any(m.get("aux", {}).get("ID") == image["Id"] for m in messages)
    assert run(engine, "greeter:1") == (0, b"hi from /app\n")
    assert image["Config"]["WorkingDir"] == "/app"
    assert engine.json("GET", "/containers/json?all=1") == [] or all(
        "wharf.build.step" not in (c.get("Labels") or {})
        for c in engine.json("GET", "/containers/json?all=1")
    )


def test_entrypoint_and_cmd_combinations(engine: Engine) -> None:
    files = {"Dockerfile": 'FROM busybox\nENTRYPOINT ["echo", "entry"]\nCMD ["default", "args"]\n'}
    assert build(engine, files, "t=combo")[0] == 200
    assert run(engine, "combo") == (0, b"entry default args\n")
    assert run(engine, "combo", "override") == (0, b"entry override\n")
    files = {"Dockerfile": "FROM busybox\nCMD echo shell form $HOME\n"}
    assert build(engine, files, "t=shellcmd")[0] == 200
    assert engine.json("GET", "/images/shellcmd/json")["Config"]["Cmd"] == [
        "/bin/sh",
        "-c",
        "echo shell form $HOME",
    ]
    assert run(engine, "shellcmd") == (0, b"shell form /root\n")
    # an ENTRYPOINT resets the CMD inherited from the base image (busybox's "sh")
    assert build(engine, {"Dockerfile": 'FROM busybox\nENTRYPOINT ["echo"]\n'}, "t=entryonly")[0] == 200
    assert engine.json("GET", "/images/entryonly/json")["Config"]["Cmd"] is None


def test_cache_reuses_steps_and_invalidates_after_a_changed_copy(engine: Engine) -> None:
    dockerfile = "FROM busybox\n" + "".join(f"RUN echo step{i} > /s{i}\n" for i in range(4))
    dockerfile += 'COPY app.txt /app.txt\nRUN cat /app.txt > /copy\nRUN echo after\nCMD ["cat", "/copy"]\n'
    files: dict[str, str | bytes] = {"Dockerfile": dockerfile, "app.txt": "v1\n"}
    started = time.monotonic()
    assert build(engine, files, "t=cached:1")[0] == 200
    cold = time.monotonic() - started
    before = {c["Id"] for c in engine.json("GET", "/containers/json?all=1")}
    started = time.monotonic()
    _, messages = build(engine, files, "t=cached:2")
    warm = time.monotonic() - started
    out = text(messages)
    assert out.count(" ---> Using cache") == 8 and "Running in" not in out
    assert {c["Id"] for c in engine.json("GET", "/containers/json?all=1")} == before
    assert (
        engine.json("GET", "/images/cached:1/json")["Id"] == engine.json("GET", "/images/cached:2/json")["Id"]
    )
    assert warm < cold  # a fully cached rebuild does no container work
    files["app.txt"] = "v2\n"
    out = text(build(engine, files, "t=cached:3")[1])
    assert out.count(" ---> Using cache") == 4  # the RUNs before the COPY
    assert out.count("Running in") == 2
    assert run(engine, "cached:3") == (0, b"v2\n")
    out = text(build(engine, files, "t=cached:4&nocache=1")[1])
    assert "Using cache" not in out


def test_multistage_copy_from(engine: Engine) -> None:
    dockerfile = (
        "FROM busybox AS builder\nRUN mkdir /out && echo artifact > /out/a.txt\n"
        "FROM busybox\nCOPY --from=builder /out/a.txt /a.txt\nCOPY --from=0 /out /out2\n"
        'CMD ["cat", "/a.txt", "/out2/a.txt"]\n'
    )
    assert build(engine, {"Dockerfile": dockerfile}, "t=staged")[0] == 200
    assert run(engine, "staged") == (0, b"artifact\nartifact\n")


def test_onbuild_triggers_run_in_the_child(engine: Engine) -> None:
    parent = "FROM busybox\nONBUILD COPY . /src\nONBUILD RUN ls /src > /listing\n"
    assert build(engine, {"Dockerfile": parent}, "t=onbuild-parent")[0] == 200
    assert engine.json("GET", "/images/onbuild-parent/json")["Config"]["OnBuild"] == [
        "COPY . /src",
        "RUN ls /src > /listing",
    ]
    child = {"Dockerfile": 'FROM onbuild-parent\nCMD ["cat", "/listing"]\n', "hello.py": "print('hi')\n"}
    status, messages = build(engine, child, "t=onbuild-child")
    assert status == 200 and "# Executing 2 build triggers" in text(messages)
    assert run(engine, "onbuild-child") == (0, b"Dockerfile\nhello.py\n")
    assert not engine.json("GET", "/images/onbuild-child/json")["Config"].get("OnBuild")


def test_build_args_labels_and_arg_defaults(engine: Engine) -> None:
    dockerfile = (
        'FROM busybox\nARG WHO=nobody\nARG UNSET\nRUN echo "hi $WHO [$UNSET]" > /who\nCMD ["cat", "/who"]\n'
    )
    query = urllib.parse.urlencode(
        {"t": "args", "buildargs": json.dumps({"WHO": "wharf"}), "labels": json.dumps({"team": "core"})}
    )
    assert build(engine, {"Dockerfile": dockerfile}, query)[0] == 200
    assert run(engine, "args") == (0, b"hi wharf []\n")
    image = engine.json("GET", "/images/args/json")
    assert image["Config"]["Labels"] == {"team": "core"}
    assert not any(e.startswith("WHO=") for e in image["Config"]["Env"])
    _, messages = build(
        engine, {"Dockerfile": "FROM busybox\n"}, urllib.parse.urlencode({"buildargs": '{"X": "1"}'})
    )
    assert "[Warning] One or more build-args [X] were not consumed" in text(messages)


def test_add_extracts_local_tars_and_sets_ownership(engine: Engine) -> None:
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as tar:
        info = tarfile.TarInfo("pkg/data.txt")
        payload = b"from the archive\n"
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    dockerfile = "FROM busybox\nADD pkg.tar.gz /opt/\nCOPY --chown=1000:1000 own.txt /own.txt\n"
    files: dict[str, str | bytes] = {"Dockerfile": dockerfile, "pkg.tar.gz": inner.getvalue(), "own.txt": "x"}
    assert build(engine, files, "t=added")[0] == 200
    assert run(engine, "added", "cat", "/opt/pkg/data.txt") == (0, b"from the archive\n")
    assert run(engine, "added", "stat", "-c", "%u:%g", "/own.txt") == (0, b"1000:1000\n")
    assert run(engine, "added", "stat", "-c", "%a", "/tmp") == (0, b"1777\n")


def test_from_scratch(engine: Engine) -> None:
    busybox = "/bin/busybox"
    with open(busybox, "rb") as f:
        binary = f.read()
    dockerfile = 'FROM scratch\nCOPY busybox /busybox\nCMD ["/busybox", "echo", "from scratch"]\n'
    assert build(engine, {"Dockerfile": dockerfile, "busybox": binary}, "t=scratchy")[0] == 200
    assert run(engine, "scratchy")[1] == b"from scratch\n"
    listed = [t for i in engine.json("GET", "/images/json") for t in i["RepoTags"]]
    assert "scratchy:latest" in listed


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"Dockerfile": "FROM busybox\nFOO bar\n"}, "unknown instruction: FOO"),
        ({"Dockerfile": "RUN true\n"}, "no build stage"),
        ({"Dockerfile": "FROM busybox\nONBUILD ONBUILD RUN true\n"}, "ONBUILD ONBUILD"),
        ({"Other": "x"}, "Cannot locate specified Dockerfile"),
    ],
    ids=["unknown-instruction", "missing-from", "onbuild-onbuild", "no-dockerfile"],
)
def test_bad_dockerfiles_are_400(engine: Engine, files: dict[str, str | bytes], message: str) -> None:
    status, messages = build(engine, files, "t=never")
    assert status == 400
    assert message.lower() in messages[0]["message"].lower()
    assert engine.request("GET", "/images/never/json")[0] == 404


def test_dockerfile_outside_the_context_is_refused(engine: Engine) -> None:
    status, messages = build(engine, {"Dockerfile": "FROM busybox\n"}, "dockerfile=../../etc/passwd")
    assert status == 400 and "within the build context" in messages[0]["message"]


@pytest.mark.parametrize(
    "dockerfile",
    [
        "FROM busybox\nCOPY ../outside /x\n",
        "FROM busybox\nADD /../../etc/passwd /x\n",
        "FROM busybox\nCOPY link /x\n",
    ],
    ids=["dotdot", "absolute-dotdot", "symlink-out"],
)
def test_copy_from_outside_the_context_fails_cleanly(engine: Engine, dockerfile: str) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = dockerfile.encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("link")  # fine in a context; copying through it is not
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    engine.request("POST", "/images/busybox/tag?repo=keep&tag=me")
    status, body = engine.request("POST", "/build?t=keep:me", buf.getvalue())
    messages = (
        [json.loads(line) for line in body.splitlines() if line.strip()]
        if status == 200
        else [json.loads(body)]
    )
    errors = [m for m in messages if "error" in m or "message" in m]
    assert errors, messages
    detail = errors[-1].get("error") or errors[-1].get("message")
    assert (
        "outside the build context" in detail or "not found in build context" in detail or "unsafe" in detail
    )
    # a failed build leaves the existing tag where it was
    assert (
        engine.json("GET", "/images/keep:me/json")["Id"] == engine.json("GET", "/images/busybox/json")["Id"]
    )


def test_context_with_dotdot_entries_is_rejected(engine: Engine) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in (("Dockerfile", b"FROM busybox\n"), ("../escape", b"x")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    status, _ = engine.request("POST", "/build", buf.getvalue())
    assert status == 400
    assert not Path("/tmp/escape").exists()


def test_failing_run_stops_the_build_and_forcerm_cleans_up(engine: Engine) -> None:
    before = {c["Id"] for c in engine.json("GET", "/containers/json?all=1")}
    dockerfile = "FROM busybox\nRUN echo about to fail && exit 3\nRUN echo never\n"
    status, messages = build(engine, {"Dockerfile": dockerfile}, "t=failing&forcerm=1")
    assert status == 200
    out = text(messages)
    assert "about to fail" in out and "never" not in out.replace("echo never", "")
    error = messages[-1]
    assert (
        error["error"] == "The command '/bin/sh -c echo about to fail && exit 3' returned a non-zero code: 3"
    )
    assert error["errorDetail"]["code"] == 3
    assert engine.request("GET", "/images/failing/json")[0] == 404
    assert {c["Id"] for c in engine.json("GET", "/containers/json?all=1")} == before


@needs_docker
def test_docker_cli_build_with_dockerignore(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text('FROM busybox\nCOPY . /ctx\nCMD ["ls", "-a", "/ctx"]\n')
    (tmp_path / "keep.txt").write_text("keep")
    (tmp_path / "secret.key").write_text("nope")
    (tmp_path / ".dockerignore").write_text("*.key\n")
    env = {**engine.env, "DOCKER_BUILDKIT": "0"}
    import subprocess

    from engines import DOCKER

    result = subprocess.run(
        [DOCKER, "build", "-t", "cli-built", str(tmp_path)], env=env, capture_output=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert b"Successfully tagged cli-built:latest" in result.stdout
    listing = run(engine, "cli-built")[1].decode().split()
    assert "keep.txt" in listing and "secret.key" not in listing
    result = subprocess.run([DOCKER, "build", "-q", str(tmp_path)], env=env, capture_output=True, timeout=120)
    assert result.returncode == 0 and result.stdout.decode().strip().startswith("sha256:")


def test_docker_py_build_reads_the_image_id(engine: Engine, tmp_path: Path) -> None:
    import docker

    (tmp_path / "Dockerfile").write_text('FROM busybox\nRUN echo built > /b\nCMD ["cat", "/b"]\n')
    client = docker.DockerClient(base_url=engine.host, version="auto")
    try:
        image, logs = client.images.build(path=str(tmp_path), tag="pybuilt:1", rm=True)
        assert "pybuilt:1" in image.tags
        assert any("Successfully built" in entry.get("stream", "") for entry in logs)
        assert client.containers.run("pybuilt:1", remove=True) == b"built\n"
        with pytest.raises(docker.errors.BuildError):
            (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN exit 7\n")
            client.images.build(path=str(tmp_path), tag="pybroken")
    finally:
        client.close()


def test_many_layers_build_and_run(engine: Engine) -> None:
    """Overlay's lowerdir must fit in one page: 60 layers (Docker allows 128) still mount."""
    steps = "".join(f"RUN echo {i} > /f{i}\n" for i in range(60))
    dockerfile = "FROM busybox\n" + steps + 'CMD ["cat", "/f59"]\n'
    status, messages = build(engine, {"Dockerfile": dockerfile}, "t=layered")
    assert status == 200 and "Successfully tagged layered:latest" in text(messages), messages[-1]
    assert len(engine.json("GET", "/images/layered/json")["RootFS"]["Layers"]) == 61
    assert run(engine, "layered") == (0, b"59\n")
