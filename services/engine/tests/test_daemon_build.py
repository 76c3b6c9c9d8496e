"""daemon/build.py: ``docker build`` through the daemon: the context, the Dockerfile's checks, and
builds whose step containers run on ``FakeRuntime`` with their roots on ``FakeOverlay``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from wharf_common.errors import InvalidArgument
from wharf_engine.build.executor import BuildFailed
from wharf_engine.build.output import BuildOutput
from wharf_engine.daemon.daemon import Daemon
from wharf_engine.runtime.fake import FakeProcess
from wharf_engine.shapes import BuildOptions, ContainerSummary

from .fakes_daemon import fake_runtime, import_image, layer_tar, new_daemon, run


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    with new_daemon(monkeypatch) as d:
        run(import_image(d, "base", changes=['CMD ["/bin/sh"]', "ENV PATH=/bin"]))
        yield d


def context(daemon: Daemon, files: dict[str, bytes | str]) -> Path:
    """The context as the daemon receives it: a tar from the client."""
    return run(daemon.build_receive_context(layer_tar(files)))  # type: ignore[no-any-return]


def build(
    daemon: Daemon, files: dict[str, bytes | str], *, tags: list[str] | None = None, **options: Any
) -> tuple[str, list[dict[str, Any]]]:
    """(image id, the build's JSON messages); the context is cleaned up after."""
    where = context(daemon, files)
    output = BuildOutput()
    # a step on the bridge needs a veth, so root
    opts = BuildOptions(tags=tags or [], networkmode="none", **options)
    try:
        image_id = run(daemon.image_build(where, opts, output))
    finally:
        daemon.build_cleanup(where)
    return image_id, messages(output)


def messages(output: BuildOutput) -> list[dict[str, Any]]:
    found = []
    while not output.queue.empty():
        line = output.queue.get_nowait()
        if line is not None:
            found.append(json.loads(line))
    return found


def text(found: list[dict[str, Any]]) -> str:
    return "".join(m.get("stream", "") for m in found)


def files_of_top_layer(daemon: Daemon, image: str) -> dict[str, str]:
    top = daemon.layers.get(daemon.image_inspect(image)["RootFS"]["Layers"][-1]).path
    return {str(p.relative_to(top)): p.read_text() for p in top.rglob("*") if p.is_file()}


def process_writes(daemon: Daemon, output: bytes, code: int, files: dict[str, str] | None = None) -> None:
    """Step commands on the fake runtime print ``output``, write ``files`` and exit with ``code``."""
    fake = fake_runtime(daemon)

    def on_start(process: FakeProcess) -> None:
        merged = process.paths.bundle.parent / "fs" / "merged"
        for name, content in (files or {}).items():
            (merged / name).parent.mkdir(parents=True, exist_ok=True)
            (merged / name).write_text(content)
        for peer in fake.peers.pop(process.paths.socket, []):
            peer.sendall(bytes([1, 0, 0, 0]) + len(output).to_bytes(4, "big") + output)
            peer.close()
        fake.exit(process.cid, code)

    fake.on_start = on_start


def step_containers(daemon: Daemon) -> list[ContainerSummary]:
    return daemon.container_list(all=True, limit=0, size=False, filters={})


def test_receive_context_unpacks_the_tar_and_cleanup_removes_it(daemon: Daemon) -> None:
    where = context(daemon, {"Dockerfile": b"FROM base\n", "src/app.py": b"print()\n"})
    assert (where / "src" / "app.py").read_bytes() == b"print()\n"
    daemon.build_cleanup(where)
    assert not where.exists()


@pytest.mark.parametrize(
    ("files", "name", "message"),
    [
        ({"other": b""}, "", "Cannot locate specified Dockerfile: Dockerfile"),
        (
            {"Dockerfile": b"FROM base\n"},
            "Dockerfile.dev",
            "Cannot locate specified Dockerfile: Dockerfile.dev",
        ),
        ({"Dockerfile": b"FROM base\n"}, "../Dockerfile", "must be within the build context"),
        ({"Dockerfile": b"FROM base\nCOPY\n"}, "", "COPY"),
        ({"Dockerfile": b"FROM base\nFLY away\n"}, "", "FLY"),
    ],
)
def test_a_missing_or_bad_dockerfile_is_refused_before_building(
    daemon: Daemon, files: dict[str, bytes | str], name: str, message: str
) -> None:
    where = context(daemon, files)
    with pytest.raises(InvalidArgument, match=message):
        daemon.build_check(where, name)
    daemon.build_cleanup(where)


@pytest.mark.parametrize("url", ["ftp://example.invalid/ctx.tar", "/srv/context", "ssh://host/repo"])
def test_an_unsupported_remote_context_is_refused(daemon: Daemon, url: str) -> None:
    with pytest.raises(InvalidArgument, match="unsupported remote"):
        run(daemon.build_fetch_remote(url))


def test_metadata_steps_make_an_image_and_tag_it(daemon: Daemon) -> None:
    dockerfile = b'FROM base\nENV MODE=prod\nLABEL team=web\nEXPOSE 8080\nCMD ["serve"]\n'
    image_id, found = build(daemon, {"Dockerfile": dockerfile}, tags=["web:1", "web:latest"])
    shown = daemon.image_inspect("web:1")
    assert shown["Id"] == image_id and sorted(shown["RepoTags"]) == ["web:1", "web:latest"]
    assert shown["Config"]["Cmd"] == ["serve"] and shown["Config"]["Labels"] == {"team": "web"}
    assert "MODE=prod" in (shown["Config"]["Env"] or []) and shown["Config"]["ExposedPorts"] == {
        "8080/tcp": {}
    }
    out = text(found)
    assert "Step 1/5 : FROM base" in out and "Step 5/5 : CMD" in out
    assert f"Successfully built {image_id[7:19]}\n" in out and "Successfully tagged web:latest\n" in out
    assert {"aux": {"ID": image_id}} in found
    assert step_containers(daemon) == []


# COPY gives the files it copies to root (or to --chown's user), as Docker does: chown needs root
copies = pytest.mark.skipif(os.geteuid() != 0, reason="COPY chowns what it copies: needs root")


@copies
def test_copy_and_workdir_add_layers_and_leave_no_step_container(daemon: Daemon) -> None:
    files: dict[str, bytes | str] = {
        "Dockerfile": b"FROM base\nWORKDIR /app\nCOPY app.py conf/ ./\n",
        "app.py": b"print('hi')\n",
        "conf/settings.ini": b"[x]\n",
        ".dockerignore": b"secret\n",
        "secret": b"key",
    }
    image_id, _ = build(daemon, files, tags=["app:latest"])
    assert files_of_top_layer(daemon, "app") == {"app/app.py": "print('hi')\n", "app/settings.ini": "[x]\n"}
    shown = daemon.image_inspect(image_id)
    assert len(shown["RootFS"]["Layers"]) == 3 and shown["Config"]["WorkingDir"] == "/app"
    assert step_containers(daemon) == []


@copies
def test_an_ignored_dockerfile_and_dockerignore_stay_out_of_copy_dot(daemon: Daemon) -> None:
    files: dict[str, bytes | str] = {  # the client has left out the other ignored files already
        "Dockerfile": b"FROM base\nCOPY . /src/\n",
        ".dockerignore": b"secret\nDockerfile\n.dockerignore\n",
        "kept": b"yes",
    }
    build(daemon, files, tags=["src:latest"])
    assert files_of_top_layer(daemon, "src") == {"src/kept": "yes"}


def test_a_second_build_uses_the_cache(daemon: Daemon) -> None:
    files: dict[str, bytes | str] = {"Dockerfile": b"FROM base\nWORKDIR /app\nENV X=1\n"}
    first, _ = build(daemon, files)
    second, found = build(daemon, files)
    assert second == first and text(found).count(" ---> Using cache") == 2
    _, found = build(daemon, files, nocache=True)
    assert " ---> Using cache" not in text(found)


def test_run_steps_run_in_a_step_container_and_keep_their_files(daemon: Daemon) -> None:
    process_writes(daemon, b"built!\n", 0, {"out/result": "42"})
    image_id, found = build(daemon, {"Dockerfile": b"FROM base\nRUN make\n"}, tags=["made:latest"])
    assert "built!\n" in text(found) and "Removing intermediate container" in text(found)
    assert files_of_top_layer(daemon, "made") == {"out/result": "42"}
    step = [c for c in fake_runtime(daemon).calls if c[0] == "create"]
    assert len(step) == 1 and step_containers(daemon) == []
    assert daemon.image_history(image_id)[0]["CreatedBy"] == "/bin/sh -c make"


def test_a_failing_run_step_fails_the_build_with_its_code_and_tags_nothing(daemon: Daemon) -> None:
    process_writes(daemon, b"oops\n", 2)
    with pytest.raises(BuildFailed, match="The command '/bin/sh -c false' returned a non-zero code: 2"):
        build(daemon, {"Dockerfile": b"FROM base\nRUN false\n"}, tags=["never:latest"])
    assert [i["RepoTags"] for i in daemon.image_list(all=False, filters={})] == [["base:latest"]]
    [step] = step_containers(daemon)  # as Docker: the failed step's container stays without --force-rm
    assert step["State"] == "exited"


def test_force_rm_removes_the_failed_step_container(daemon: Daemon) -> None:
    process_writes(daemon, b"", 1)
    with pytest.raises(BuildFailed):
        build(daemon, {"Dockerfile": b"FROM base\nRUN false\n"}, forcerm=True)
    assert step_containers(daemon) == []


@pytest.mark.parametrize(
    ("dockerfile", "options", "message"),
    [
        (b"FROM base AS one\nENV A=1\n", {"target": "two"}, "failed to reach build target two"),
        (b"FROM base\nCOPY --from=nowhere /a /a\n", {}, "invalid from flag value nowhere"),
    ],
)
def test_a_step_that_cannot_be_done_fails_the_build(
    daemon: Daemon, dockerfile: bytes, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(BuildFailed, match=message):
        build(daemon, {"Dockerfile": dockerfile}, tags=["never:latest"], **options)
    assert [i["RepoTags"] for i in daemon.image_list(all=False, filters={})] == [["base:latest"]]


@copies
def test_copy_of_a_file_not_in_the_context_fails_the_build(daemon: Daemon) -> None:
    with pytest.raises(InvalidArgument, match=r"not found in build context or excluded by \.dockerignore"):
        build(daemon, {"Dockerfile": b"FROM base\nCOPY missing /x\n"}, tags=["never:latest"])
    assert step_containers(daemon) == []


@copies
def test_multi_stage_copy_from_an_earlier_stage(daemon: Daemon) -> None:
    dockerfile = (
        b"FROM base AS builder\nCOPY src /out/bin\nFROM base\nCOPY --from=builder /out/bin /usr/bin/app\n"
    )
    build(daemon, {"Dockerfile": dockerfile, "src": b"binary"}, tags=["final:latest"])
    assert files_of_top_layer(daemon, "final") == {"usr/bin/app": "binary"}
