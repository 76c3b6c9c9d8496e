"""ContainerStore on a real directory: records survive a reload, removals go at once and leave nothing."""

from __future__ import annotations

import time
from pathlib import Path

from wharf_engine.containers.container import Container
from wharf_engine.containers.store import ContainerStore


def make(store: ContainerStore, cid: str, name: str) -> Container:
    directory = store.directory(cid)
    (directory / "fs" / "upper" / "etc").mkdir(parents=True)
    (directory / "fs" / "upper" / "etc" / "written").write_text("data")
    container = Container(
        id=cid,
        name=name,
        created="",
        image_id="sha256:x",
        config={},
        host_config={},
        path="true",
        args=[],
        dir=directory,
    )
    store.add(container)
    store.reserve_name(name, cid)
    return container


def wait_empty(path: Path) -> bool:
    deadline = time.monotonic() + 10
    while path.exists() and any(path.iterdir()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_removed_container_is_gone_at_once_and_its_files_soon_after(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path)
    kept, removed = make(store, "a" * 64, "kept"), make(store, "b" * 64, "removed")
    store.remove(removed)
    assert not removed.dir.exists()
    assert "removed" not in store.by_name and removed.id not in store.by_id
    assert wait_empty(store.trash)
    again = ContainerStore(tmp_path)
    assert [c.id for c in again.load()] == [kept.id]


def test_load_clears_what_a_stopped_engine_left_in_the_trash(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path)
    leftover = store.trash / ("c" * 64 + ".0000")
    (leftover / "fs").mkdir(parents=True)
    (leftover / "container.json").write_text("{}")
    make(store, "d" * 64, "alive")
    assert [c.name for c in ContainerStore(tmp_path).load()] == ["alive"]
    assert not store.trash.exists()


def test_a_removal_that_cannot_rename_deletes_in_place(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path)
    container = make(store, "e" * 64, "blocked")
    store.trash.write_text("not a directory")  # the rename has nowhere to go
    store.remove(container)
    assert not container.dir.exists()
