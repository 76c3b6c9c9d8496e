"""daemon/inspect.py: ``docker inspect``, ``docker ps`` (with its filters) and ``docker info``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from wharf_common.errors import InvalidArgument, NotFound
from wharf_engine.daemon.daemon import Daemon

from .fakes_daemon import create_container, fake_runtime, import_image, new_daemon, run, settle, start


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    with new_daemon(monkeypatch) as d:
        run(import_image(d, "base"))
        run(import_image(d, "other", files={"bin/sh": b"other"}))
        yield d


def create(daemon: Daemon, name: str, image: str = "base", **config: object) -> str:
    return str(run(create_container(daemon, name, {"Image": image, **config}))["Id"])


def names(daemon: Daemon, *, all: bool = True, limit: int = 0, **filters: list[str]) -> list[str]:
    listed = daemon.container_list(all=all, limit=limit, size=False, filters=dict(filters))
    return [c["Names"][0] for c in listed]


def test_inspect_shows_the_containers_paths_and_links_in_dockers_form(daemon: Daemon) -> None:
    create(daemon, "db")
    cid = create(daemon, "web", HostConfig={"Links": ["db:database"]})
    shown = daemon.container_inspect("web")
    directory = daemon.container_get(cid).dir
    assert shown["Name"] == "/web" and shown["RestartCount"] == 0 and shown["Driver"] == "overlay2"
    assert shown["HostsPath"] == str(directory / "hosts")
    assert shown["GraphDriver"]["Data"]["UpperDir"] == str(directory / "fs" / "upper")
    assert shown["HostConfig"]["Links"] == ["/db:/web/database"]
    assert "SizeRw" not in shown


def test_inspect_with_size_counts_the_containers_own_files(daemon: Daemon) -> None:
    cid = create(daemon, "web")
    upper = daemon.container_get(cid).dir / "fs" / "upper"
    upper.mkdir(parents=True)
    (upper / "ten").write_bytes(b"0123456789")
    shown = daemon.container_inspect("web", size=True)
    assert shown["SizeRw"] == 10
    assert shown["SizeRootFs"] == 10 + daemon.image_inspect("base")["Size"]


def test_inspect_by_id_prefix_and_the_errors_for_unknown_or_ambiguous_ones(daemon: Daemon) -> None:
    cid = create(daemon, "web")
    assert daemon.container_inspect(cid[:6])["Id"] == cid
    with pytest.raises(NotFound, match="No such container: ghost"):
        daemon.container_inspect("ghost")
    while True:  # a second container sharing the first hex digit makes that prefix ambiguous
        other = create(daemon, f"c{len(names(daemon))}")
        if other[0] == cid[0]:
            break
    with pytest.raises(InvalidArgument, match="multiple containers found"):
        daemon.container_inspect(cid[0])


def test_ps_lists_running_containers_unless_all(daemon: Daemon) -> None:
    create(daemon, "idle")
    run(start(daemon, "busy"))
    assert names(daemon, all=False) == ["/busy"]
    assert sorted(names(daemon)) == ["/busy", "/idle"]
    [busy] = daemon.container_list(all=False, limit=0, size=False, filters={})
    assert busy["State"] == "running" and busy["Status"].startswith("Up ")
    assert busy["Command"] == "/bin/sh" and busy["Image"] == "base"


def test_ps_newest_first_and_limit(daemon: Daemon) -> None:
    for name in ("first", "second", "third"):
        create(daemon, name)
    assert names(daemon, all=False, limit=2) == ["/third", "/second"]


def test_ps_filters(daemon: Daemon) -> None:
    create(daemon, "web-1", Labels={"tier": "front"})
    create(daemon, "web-2", image="other", Labels={"tier": "back"})

    async def exits() -> None:
        cid = await start(daemon, "db")
        fake_runtime(daemon).exit(cid, 3)
        await settle(lambda: daemon.container_get("db").state.status == "exited")

    run(exits())
    assert sorted(names(daemon, name=["^web"])) == ["/web-1", "/web-2"]
    assert names(daemon, label=["tier=back"]) == ["/web-2"]
    assert sorted(names(daemon, label=["tier"])) == ["/web-1", "/web-2"]
    assert names(daemon, ancestor=["other"]) == ["/web-2"]
    assert names(daemon, status=["exited"]) == ["/db"]
    assert names(daemon, exited=["3"]) == ["/db"] and names(daemon, exited=["0"]) == []
    assert sorted(names(daemon, status=["created"])) == ["/web-1", "/web-2"]
    [db] = daemon.container_list(all=True, limit=0, size=False, filters={"name": ["db"]})
    assert db["Status"].startswith("Exited (3) ")


def test_ps_with_a_broken_name_pattern_is_refused(daemon: Daemon) -> None:
    create(daemon, "web")
    with pytest.raises(InvalidArgument, match=r"invalid filter 'name=\('"):
        names(daemon, name=["("])


def test_info_counts_containers_by_state_and_images(daemon: Daemon) -> None:
    create(daemon, "idle")

    async def go() -> None:
        await start(daemon, "busy")
        await start(daemon, "frozen")
        await daemon.container_pause("frozen")

    run(go())
    info = daemon.info()
    assert (
        info["Containers"],
        info["ContainersRunning"],
        info["ContainersPaused"],
        info["ContainersStopped"],
    ) == (
        3,
        1,
        1,
        1,
    )
    assert info["Images"] == 2 and info["ID"] == daemon.id and info["DockerRootDir"] == str(daemon.root)
    assert info["Driver"] == "overlay2" and info["DefaultRuntime"] == "runc"
