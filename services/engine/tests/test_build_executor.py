"""The classic builder (build/executor.py through daemon/build.py's backend) over a FakeRuntime: each
RUN a step container that the fake runs, COPY into a step's root, the cache, a failing step."""

from __future__ import annotations

import asyncio
import json
import struct
from pathlib import Path

import pytest
from wharf_engine.build.executor import BuildFailed
from wharf_engine.build.output import BuildOutput
from wharf_engine.daemon.rootfs import rootfs
from wharf_engine.runtime.fake import FakeProcess
from wharf_engine.shapes import BuildOptions

from .daemon_harness import IMAGE, Engine


def script(engine: Engine, *, output: bytes = b"", code: int = 0, creates: str = "") -> None:
    """What each RUN step's process does: write ``output`` to stdout, a file, exit with ``code``."""

    def run(process: FakeProcess) -> None:
        container = engine.daemon.containers.get(process.cid)
        if creates:
            (rootfs(container) / creates).write_text("made by RUN\n")
        for peer in engine.runtime.peers.pop(process.paths.socket, []):
            if output:
                peer.sendall(struct.pack(">BxxxI", 1, len(output)) + output)
            peer.close()
        engine.runtime.exit(process.cid, code)

    engine.runtime.on_start = run


def context(tmp_path: Path, dockerfile: str, **files: str) -> Path:
    directory = tmp_path / "context"
    directory.mkdir(exist_ok=True)
    (directory / "Dockerfile").write_text(dockerfile)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


async def build(engine: Engine, directory: Path, **options: object) -> tuple[str, str]:
    """(image id, the text the client would print)."""
    output = BuildOutput()
    opts = BuildOptions(networkmode="none", tags=["built:latest"], **options)  # type: ignore[arg-type]
    image_id = await engine.daemon.image_build(directory, opts, output)
    text = ""
    while not output.queue.empty():
        line = output.queue.get_nowait()
        if line is not None:
            text += json.loads(line).get("stream", "")
    return image_id, text


def test_run_steps_run_in_step_containers_and_their_changes_become_layers(
    engine: Engine, tmp_path: Path
) -> None:
    async def scenario() -> None:
        script(engine, output=b"hello from RUN\n", creates="made")
        dockerfile = f'FROM {IMAGE}\nRUN make-it\nCOPY greeting /greeting\nCMD ["cat", "/greeting"]\n'
        image_id, text = await build(engine, context(tmp_path, dockerfile, greeting="hi\n"))
        assert "Step 2/4 : RUN make-it" in text and "hello from RUN\n" in text
        assert "Removing intermediate container" in text and "Successfully tagged built:latest" in text
        image = engine.daemon.images.get(image_id)
        assert len(image["rootfs"]["diff_ids"]) == 2  # RUN's and COPY's
        assert image["config"]["Cmd"] == ["cat", "/greeting"]
        assert engine.daemon.references.get("built:latest") == image_id
        step = next(c for c in engine.runtime.calls if c[0] == "create")[1]
        assert engine.runtime.verbs(step)[:3] == ["delete", "create", "start"]
        assert engine.daemon.containers.all() == []  # every step container is gone

    asyncio.run(scenario())


def test_a_second_build_uses_the_cache_and_runs_nothing(engine: Engine, tmp_path: Path) -> None:
    async def scenario() -> None:
        script(engine, creates="made")
        directory = context(tmp_path, f"FROM {IMAGE}\nRUN make-it\n")
        first, _ = await build(engine, directory)
        creates = engine.runtime.verbs().count("create")
        second, text = await build(engine, directory)
        assert second == first and "Using cache" in text
        assert engine.runtime.verbs().count("create") == creates
        third, _ = await build(engine, directory, nocache=True)
        assert engine.runtime.verbs().count("create") == creates + 1 and third != first

    asyncio.run(scenario())


def test_a_failing_run_fails_the_build_with_its_exit_code(engine: Engine, tmp_path: Path) -> None:
    async def scenario() -> None:
        script(engine, output=b"no such thing\n", code=2)
        with pytest.raises(BuildFailed, match="returned a non-zero code: 2") as failed:
            await build(engine, context(tmp_path, f"FROM {IMAGE}\nRUN false\n"))
        assert failed.value.code == 2
        assert engine.daemon.references.get("built:latest") is None

    asyncio.run(scenario())


def test_forcerm_removes_the_failed_step_container(engine: Engine, tmp_path: Path) -> None:
    async def scenario() -> None:
        script(engine, code=1)
        directory = context(tmp_path, f"FROM {IMAGE}\nRUN false\n")
        with pytest.raises(BuildFailed):
            await build(engine, directory)
        assert len(engine.daemon.containers.all()) == 1  # kept for a look, as Docker without --force-rm
        with pytest.raises(BuildFailed):
            await build(engine, directory, forcerm=True)
        assert len(engine.daemon.containers.all()) == 1

    asyncio.run(scenario())
