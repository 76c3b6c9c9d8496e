"""daemon/logs.py: ``docker logs`` of a container's json-file log, as its shim writes it: streams,
tail, since, the rotated files, following a running container, and the ``none`` log driver."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from wharf_common.errors import NotFound, NotSupported
from wharf_engine.daemon.daemon import Daemon
from wharf_engine.logs import jsonfile
from wharf_engine.logs.jsonfile import LogOptions

from .fakes_daemon import create_container, fake_runtime, import_image, new_daemon, run, settle, start


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    with new_daemon(monkeypatch) as d:
        run(import_image(d, "base"))
        yield d


def line(text: str, stream: str = "stdout", second: int = 1) -> str:
    """One json-file record, as the shim appends it."""
    return (
        json.dumps({"log": text, "stream": stream, "time": f"2026-01-01T00:00:{second:02d}.000000001Z"})
        + "\n"
    )


def write_log(daemon: Daemon, name: str, *lines: str, rotated: int = 0) -> Path:
    path = daemon.container_get(name).log_path
    target = path.with_name(f"{path.name}.{rotated}") if rotated else path
    with open(target, "a") as f:
        f.writelines(lines)
    return path


def read(daemon: Daemon, name: str, **options: object) -> list[tuple[str, bytes]]:
    async def go() -> list[tuple[str, bytes]]:
        stream = daemon.container_logs(name, LogOptions(**options))  # type: ignore[arg-type]
        return [(record.stream, record.data) async for record in stream]

    return run(go())  # type: ignore[no-any-return]


@pytest.fixture
def web(daemon: Daemon) -> str:
    run(create_container(daemon, "web", {"Image": "base"}))
    return "web"


def test_a_container_that_never_ran_has_no_logs(daemon: Daemon, web: str) -> None:
    assert read(daemon, web) == []


def test_both_streams_in_order_or_one_of_them(daemon: Daemon, web: str) -> None:
    write_log(daemon, web, line("out 1\n"), line("err 1\n", "stderr"), line("out 2\n"))
    assert read(daemon, web) == [("stdout", b"out 1\n"), ("stderr", b"err 1\n"), ("stdout", b"out 2\n")]
    assert read(daemon, web, stdout=False) == [("stderr", b"err 1\n")]
    assert read(daemon, web, stderr=False) == [("stdout", b"out 1\n"), ("stdout", b"out 2\n")]


def test_tail_and_since(daemon: Daemon, web: str) -> None:
    write_log(daemon, web, *(line(f"{i}\n", second=i) for i in range(1, 6)))
    assert [data for _, data in read(daemon, web, tail=2)] == [b"4\n", b"5\n"]
    assert read(daemon, web, tail=0) == []
    since = 1767225600 + 3  # 2026-01-01T00:00:03Z
    assert [data for _, data in read(daemon, web, since=since)] == [b"3\n", b"4\n", b"5\n"]


def test_rotated_files_are_read_oldest_first(daemon: Daemon) -> None:
    run(
        create_container(
            daemon,
            "rotating",
            {
                "Image": "base",
                "HostConfig": {
                    "LogConfig": {"Type": "json-file", "Config": {"max-file": "3", "max-size": "1k"}}
                },
            },
        )
    )
    write_log(daemon, "rotating", line("oldest\n"), rotated=2)
    write_log(daemon, "rotating", line("older\n"), rotated=1)
    write_log(daemon, "rotating", line("live\n"))
    assert [data for _, data in read(daemon, "rotating")] == [b"oldest\n", b"older\n", b"live\n"]


def test_follow_reads_until_the_container_stops(daemon: Daemon) -> None:
    async def go() -> list[bytes]:
        cid = await start(daemon, "live")
        write_log(daemon, "live", line("before\n"))
        got: list[bytes] = []

        async def follow() -> None:
            async for record in daemon.container_logs("live", LogOptions(follow=True)):
                got.append(record.data)

        reader = asyncio.ensure_future(follow())
        await settle(lambda: got == [b"before\n"])
        write_log(daemon, "live", line("after\n"))
        await settle(lambda: len(got) == 2)
        fake_runtime(daemon).exit(cid, 0)
        await asyncio.wait_for(reader, 5)
        return got

    assert run(go()) == [b"before\n", b"after\n"]


def test_the_last_lines_reach_a_follower_before_the_exit_is_reported(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docker-compose's ``logs -f`` stops reading a container at its ``die`` event: the lines the
    shim wrote just before it went must be out before that (the followers' bell; without it they
    looked every 50 ms, and the event could come first). The followers' own looks are made rare
    here, so that only the bell can bring the line in time, and end the follow at once."""
    monkeypatch.setattr(jsonfile, "POLL", 30.0)

    async def go() -> list[object]:
        cid = await start(daemon, "live")
        write_log(daemon, "live", line("started\n"))  # the log exists: a follower needs a file
        order: list[object] = []

        async def follow() -> None:
            async for record in daemon.container_logs("live", LogOptions(follow=True, tail=0)):
                order.append(record.data)

        async def watch() -> None:
            async for event in daemon.system_events(since=time.time(), until=0, filters={}):
                if event["Action"] == "die":
                    order.append("die")
                    return

        reader, watcher = asyncio.ensure_future(follow()), asyncio.ensure_future(watch())
        await asyncio.sleep(0.2)  # both waiting: the follower between two looks at the file
        write_log(daemon, "live", line("bye\n"))
        fake_runtime(daemon).exit(cid, 0)
        await asyncio.wait_for(asyncio.gather(reader, watcher), 5)
        return order

    assert run(go()) == [b"bye\n", "die"]


def test_the_none_driver_cannot_be_read(daemon: Daemon) -> None:
    run(create_container(daemon, "quiet", {"Image": "base", "HostConfig": {"LogConfig": {"Type": "none"}}}))
    with pytest.raises(NotSupported, match="configured logging driver does not support reading"):
        read(daemon, "quiet")


def test_logs_of_an_unknown_container_is_not_found(daemon: Daemon) -> None:
    with pytest.raises(NotFound, match="No such container: ghost"):
        read(daemon, "ghost")
