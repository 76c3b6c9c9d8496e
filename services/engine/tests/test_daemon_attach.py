"""ContainerAttach, ContainerResize (daemon/attach.py) and ContainerLogs (daemon/logs.py) over a
FakeRuntime."""

from __future__ import annotations

import asyncio
import json
import struct

import pytest
from wharf_engine.containers.errors import ContainerNotRunning
from wharf_engine.logs.jsonfile import LogOptions

from .daemon_harness import Engine


def test_attach_to_a_running_container_connects_to_its_shim(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        reader, writer = await engine.daemon.container_attach(container)
        peer = engine.runtime.peers[engine.daemon.run_dir / f"{container.id[:24]}.sock"][0]
        peer.sendall(b"out")
        assert await reader.readexactly(3) == b"out"
        writer.close()

    asyncio.run(scenario())


def test_attach_before_start_is_connected_before_the_process_runs(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.create()
        attaching = asyncio.create_task(engine.daemon.container_attach(container))
        await asyncio.sleep(0)
        assert not attaching.done()
        await engine.daemon.container_start(container.id)
        verbs = engine.runtime.calls
        connect = next(i for i, c in enumerate(verbs) if c[0] == "connect")
        start = next(i for i, c in enumerate(verbs) if c[0] == "start")
        assert connect < start
        _reader, writer = await attaching
        writer.close()

    asyncio.run(scenario())


def test_attach_before_a_start_that_fails_gets_the_failure(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.create()
        attaching = asyncio.create_task(engine.daemon.container_attach(container))
        await asyncio.sleep(0)
        engine.runtime.fail("create", OSError("the shim server does not answer"))
        with pytest.raises(OSError):
            await engine.daemon.container_start(container.id)
        with pytest.raises(OSError, match="shim server"):
            await attaching

    asyncio.run(scenario())


def test_resize_sends_a_frame_to_a_tty_container_only(engine: Engine) -> None:
    async def scenario() -> None:
        plain = await engine.run()
        await engine.daemon.container_resize(plain.id, 30, 90)
        assert "connect" not in engine.runtime.verbs()
        tty = await engine.run(Tty=True)
        await engine.daemon.container_resize(tty.id, 30, 90)
        peer = engine.runtime.peers[engine.daemon.run_dir / f"{tty.id[:24]}.sock"][0]
        kind, length = struct.unpack(">BxxxI", peer.recv(8))
        assert (kind, peer.recv(length)) == (5, b"30 90")
        stopped = await engine.create()
        with pytest.raises(ContainerNotRunning):
            await engine.daemon.container_resize(stopped.id, 30, 90)

    asyncio.run(scenario())


def test_logs_read_what_the_shim_wrote_to_the_json_file(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        lines = [
            {"log": "hello\n", "stream": "stdout", "time": "2026-01-01T00:00:00.000000001Z"},
            {"log": "oops\n", "stream": "stderr", "time": "2026-01-01T00:00:01.000000001Z"},
        ]
        container.log_path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        engine.runtime.exit(container.id, 0)
        await engine.daemon.container_wait(container.id, "not-running")
        records = [r async for r in engine.daemon.container_logs(container.id, LogOptions(stderr=False))]
        assert [r.data for r in records] == [b"hello\n"]

    asyncio.run(scenario())
