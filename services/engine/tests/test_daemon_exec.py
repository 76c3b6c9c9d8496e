"""ContainerExecCreate/Start/Inspect/Resize (daemon/exec.py) over a FakeRuntime."""

from __future__ import annotations

import asyncio
import struct

import pytest
from wharf_common.errors import Conflict, InvalidArgument
from wharf_engine.containers.errors import ContainerNotRunning
from wharf_engine.daemon.exec import NoSuchExec
from wharf_engine.runtime.errors import RuntimeFailure, StartFailure

from .daemon_harness import Engine, until


def test_exec_runs_the_process_in_the_runtime_and_records_its_exit(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run(Env=["A=1"])
        exec_id = engine.daemon.exec_create(
            container.id, {"Cmd": ["ls", "-l"], "Env": ["B=2"], "User": "65534"}
        )
        assert engine.daemon.exec_inspect(exec_id)["Running"] is False
        stdio = await engine.daemon.exec_start(exec_id, detach=False)
        assert stdio is not None
        verb, cid, process = engine.runtime.calls[-1]
        assert (verb, cid) == ("exec", container.id)
        assert process["args"] == ["ls", "-l"] and process["user"]["uid"] == 65534
        assert "A=1" in process["env"] and "B=2" in process["env"]
        child = engine.runtime.execs[-1]
        inspect = engine.daemon.exec_inspect(exec_id)
        assert inspect["Running"] is True and inspect["Pid"] == child.pid
        engine.runtime.exit_exec(child, 3)
        await engine.daemon.exec_wait(exec_id)
        inspect = engine.daemon.exec_inspect(exec_id)
        assert inspect["Running"] is False and inspect["ExitCode"] == 3 and inspect["Pid"] == 0
        assert not list((container.dir / "bundle").glob(f"exec-{exec_id}.*"))  # its files are gone
        stdio[1].close()

    asyncio.run(scenario())


def test_exec_stdio_is_the_stream_the_runtime_connected(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        exec_id = engine.daemon.exec_create(container.id, {"Cmd": ["echo", "hi"]})
        stdio = await engine.daemon.exec_start(exec_id, detach=False)
        assert stdio is not None
        peer = engine.runtime.peers[engine.daemon.run_dir / f"{exec_id[:24]}.sock"][0]
        peer.sendall(b"hi\n")
        assert await stdio[0].readexactly(3) == b"hi\n"
        stdio[1].close()

    asyncio.run(scenario())


def test_a_detached_exec_returns_no_stream(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        exec_id = engine.daemon.exec_create(container.id, {"Cmd": ["true"]})
        engine.runtime.on_exec = lambda child: engine.runtime.exit_exec(child, 0)
        assert await engine.daemon.exec_start(exec_id, detach=True) is None
        await until(lambda: engine.daemon.exec_inspect(exec_id)["ExitCode"] == 0)

    asyncio.run(scenario())


def test_an_exec_that_cannot_start_records_dockers_exit_code(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        missing = engine.daemon.exec_create(container.id, {"Cmd": ["nope"]})
        engine.runtime.fail("exec", StartFailure('exec: "nope": executable file not found in $PATH', 127))
        with pytest.raises(StartFailure):
            await engine.daemon.exec_start(missing, detach=False)
        assert engine.daemon.exec_inspect(missing)["ExitCode"] == 127
        broken = engine.daemon.exec_create(container.id, {"Cmd": ["ls"]})
        engine.runtime.fail("exec", RuntimeFailure("shim failed to start"))
        with pytest.raises(RuntimeFailure):
            await engine.daemon.exec_start(broken, detach=False)
        assert engine.daemon.exec_inspect(broken)["ExitCode"] == 126

    asyncio.run(scenario())


def test_exec_refuses_a_stopped_or_paused_container_and_a_second_start(engine: Engine) -> None:
    async def scenario() -> None:
        stopped = await engine.create()
        with pytest.raises(ContainerNotRunning):
            engine.daemon.exec_create(stopped.id, {"Cmd": ["ls"]})
        container = await engine.run()
        with pytest.raises(InvalidArgument, match="No exec command"):
            engine.daemon.exec_create(container.id, {"Cmd": []})
        exec_id = engine.daemon.exec_create(container.id, {"Cmd": ["ls"]})
        await engine.daemon.container_pause(container.id)
        with pytest.raises(Conflict, match="is paused"):
            engine.daemon.exec_create(container.id, {"Cmd": ["ls"]})
        with pytest.raises(ContainerNotRunning):
            await engine.daemon.exec_start(exec_id, detach=True)
        await engine.daemon.container_unpause(container.id)
        await engine.daemon.exec_start(exec_id, detach=True)
        with pytest.raises(Conflict, match="already been started"):
            await engine.daemon.exec_start(exec_id, detach=True)
        with pytest.raises(NoSuchExec):
            engine.daemon.exec_inspect("nope")

    asyncio.run(scenario())


def test_exec_resize_sends_a_frame_to_the_execs_shim(engine: Engine) -> None:
    async def scenario() -> None:
        container = await engine.run()
        exec_id = engine.daemon.exec_create(container.id, {"Cmd": ["sh"], "Tty": True})
        stdio = await engine.daemon.exec_start(exec_id, detach=False)
        assert stdio is not None
        await engine.daemon.exec_resize(exec_id, 40, 100)
        peer = engine.runtime.peers[engine.daemon.run_dir / f"{exec_id[:24]}.sock"][1]
        header = peer.recv(8)
        kind, length = struct.unpack(">BxxxI", header)
        assert (kind, peer.recv(length)) == (5, b"40 100")
        stdio[1].close()

    asyncio.run(scenario())


def test_an_exec_has_the_containers_capabilities_and_no_new_privileges(engine: Engine) -> None:
    """Docker's exec takes the container's process spec: --cap-drop, --cap-add and
    no-new-privileges hold for it; an exec's own --privileged gives every capability."""

    async def scenario() -> None:
        container = await engine.run(
            HostConfig={
                "CapDrop": ["NET_RAW", "chown"],
                "CapAdd": ["SYS_PTRACE"],
                "SecurityOpt": ["no-new-privileges"],
            }
        )
        plain = engine.daemon.exec_create(container.id, {"Cmd": ["true"]})
        stdio = await engine.daemon.exec_start(plain, detach=False)
        _verb, _cid, process = engine.runtime.calls[-1]
        caps = process["capabilities"]
        assert caps["bounding"] == caps["effective"] == caps["permitted"]
        assert "CAP_NET_RAW" not in caps["bounding"] and "CAP_CHOWN" not in caps["bounding"]
        assert "CAP_SYS_PTRACE" in caps["bounding"] and "CAP_KILL" in caps["bounding"]
        assert process["noNewPrivileges"] is True
        assert stdio is not None
        stdio[1].close()
        privileged = engine.daemon.exec_create(container.id, {"Cmd": ["true"], "Privileged": True})
        stdio = await engine.daemon.exec_start(privileged, detach=False)
        _verb, _cid, process = engine.runtime.calls[-1]
        assert {"CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_CHOWN"} <= set(process["capabilities"]["bounding"])
        assert stdio is not None
        stdio[1].close()

    asyncio.run(scenario())
