"""daemon/df.py: ``docker system df``: what images, containers and volumes take, shared layers once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from wharf_common.errors import InvalidArgument
from wharf_engine.daemon.daemon import Daemon

from .fakes_daemon import commit_container, create_container, import_image, new_daemon, run


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    with new_daemon(monkeypatch) as d:
        yield d


def test_an_empty_engine_uses_nothing(daemon: Daemon) -> None:
    assert daemon.system_df([]) == {
        "Images": [],
        "LayersSize": 0,
        "Containers": [],
        "Volumes": [],
        "BuildCache": [],
    }


def test_shared_layers_are_counted_once_and_shown_as_shared(daemon: Daemon) -> None:
    async def go() -> None:
        await import_image(daemon, "base", files={"ten": b"0123456789"})
        await create_container(daemon, "maker", {"Image": "base"})
        upper = daemon.container_get("maker").dir / "fs" / "upper"
        upper.mkdir(parents=True)
        (upper / "five").write_bytes(b"01234")
        await commit_container(daemon, "maker", repo="child", tag=None, comment="", author="", pause=False)

    run(go())
    df = daemon.system_df([])
    images = {i["RepoTags"][0]: i for i in df["Images"]}
    assert df["LayersSize"] == 15
    assert (images["base:latest"]["Size"], images["base:latest"]["SharedSize"]) == (10, 10)
    assert (images["child:latest"]["Size"], images["child:latest"]["SharedSize"]) == (15, 10)
    [maker] = df["Containers"]
    assert maker["Names"] == ["/maker"] and maker["SizeRw"] == 5 and maker["SizeRootFs"] == 15


def test_volumes_show_their_size_and_how_many_containers_use_them(daemon: Daemon) -> None:
    run(import_image(daemon, "base"))
    made = daemon.volume_create("data", {})
    (Path(made["Mountpoint"]) / "f").write_bytes(b"abc")
    daemon.volume_create("spare", {})
    for name in ("one", "two"):
        run(create_container(daemon, name, {"Image": "base", "HostConfig": {"Binds": ["data:/data"]}}))
    usage = {v["Name"]: v["UsageData"] for v in daemon.system_df(["volume"])["Volumes"]}
    assert usage == {"data": {"Size": 3, "RefCount": 2}, "spare": {"Size": 0, "RefCount": 0}}


def test_type_asks_for_one_kind_only(daemon: Daemon) -> None:
    assert set(daemon.system_df(["image"])) == {"Images", "LayersSize"}
    assert set(daemon.system_df(["container", "build-cache"])) == {"Containers", "BuildCache"}


def test_an_unknown_type_is_refused(daemon: Daemon) -> None:
    with pytest.raises(InvalidArgument, match="unknown object type: network"):
        daemon.system_df(["network"])
