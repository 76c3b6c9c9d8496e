from __future__ import annotations

import asyncio
import json
from pathlib import Path

from wharf_engine.logs.jsonfile import LogOptions, LogRecord, parse_time, read_logs


def write(path: Path, *entries: tuple[str, str, str]) -> None:
    with path.open("a") as f:
        for stream, text, time in entries:
            f.write(json.dumps({"log": text, "stream": stream, "time": time}) + "\n")


def collect(path: Path, opts: LogOptions, running: bool = False) -> list[LogRecord]:
    async def go() -> list[LogRecord]:
        return [r async for r in read_logs(path, opts, lambda: running)]

    return asyncio.run(go())


def test_tail_and_streams(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"
    write(
        log,
        *[("stdout" if i % 2 else "stderr", f"line {i}\n", f"2026-01-01T00:00:0{i}.5Z") for i in range(6)],
    )
    assert [r.data for r in collect(log, LogOptions(tail=2))] == [b"line 4\n", b"line 5\n"]
    assert [r.data for r in collect(log, LogOptions(stderr=False))] == [b"line 1\n", b"line 3\n", b"line 5\n"]
    assert collect(log, LogOptions(tail=0)) == []


def test_since_until(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"
    write(log, *[("stdout", f"{i}\n", f"2026-01-01T00:00:0{i}.000000001Z") for i in range(5)])
    since = parse_time("2026-01-01T00:00:02Z")
    until = parse_time("2026-01-01T00:00:03.5Z")
    assert [r.data for r in collect(log, LogOptions(since=since, until=until))] == [b"2\n", b"3\n"]


def test_partial_last_line_is_not_returned(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"
    write(log, ("stdout", "done\n", "2026-01-01T00:00:00Z"))
    with log.open("a") as f:
        f.write('{"log": "half')
    assert [r.data for r in collect(log, LogOptions())] == [b"done\n"]


def test_follow_sees_new_lines_then_stops(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"
    write(log, ("stdout", "one\n", "2026-01-01T00:00:00Z"))
    state = {"running": True}

    async def go() -> list[bytes]:
        out: list[bytes] = []

        async def writer() -> None:
            await asyncio.sleep(0.1)
            write(log, ("stdout", "two\n", "2026-01-01T00:00:01Z"))
            await asyncio.sleep(0.1)
            state["running"] = False

        task = asyncio.create_task(writer())
        async for r in read_logs(log, LogOptions(follow=True), lambda: state["running"]):
            out.append(r.data)
        await task
        return out

    assert asyncio.run(asyncio.wait_for(go(), 5)) == [b"one\n", b"two\n"]


def test_missing_file_yields_nothing(tmp_path: Path) -> None:
    assert collect(tmp_path / "nope.log", LogOptions()) == []


def test_tail_and_since_read_across_rotated_files(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"
    for index, name in enumerate([f"{log.name}.2", f"{log.name}.1", log.name]):
        write(
            tmp_path / name, *[("stdout", f"{index}{i}\n", f"2026-01-01T00:00:{index}{i}Z") for i in range(3)]
        )
    every = [r.data for r in collect(log, LogOptions())]
    assert every == [f"{f}{i}\n".encode() for f in range(3) for i in range(3)]
    assert [r.data for r in collect(log, LogOptions(tail=4))] == [b"12\n", b"20\n", b"21\n", b"22\n"]
    since = parse_time("2026-01-01T00:00:11Z")
    assert [r.data for r in collect(log, LogOptions(since=since))][:2] == [b"11\n", b"12\n"]
    (tmp_path / f"{log.name}.1").unlink()  # a gap ends the set: .2 is not read without .1
    assert [r.data for r in collect(log, LogOptions())] == [b"20\n", b"21\n", b"22\n"]


def test_follow_goes_on_into_the_new_file_after_a_rotation(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"
    write(log, ("stdout", "before\n", "2026-01-01T00:00:00Z"))
    state = {"running": True}

    async def go() -> list[bytes]:
        seen: list[bytes] = []
        async for record in read_logs(log, LogOptions(follow=True), lambda: state["running"]):
            seen.append(record.data)
            if record.data == b"before\n":
                write(log, ("stdout", "last in old\n", "2026-01-01T00:00:01Z"))
                log.rename(tmp_path / f"{log.name}.1")
                write(log, ("stdout", "after\n", "2026-01-01T00:00:02Z"))
            if record.data == b"after\n":
                state["running"] = False
        return seen

    assert asyncio.run(asyncio.wait_for(go(), 10)) == [b"before\n", b"last in old\n", b"after\n"]
