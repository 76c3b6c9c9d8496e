"""daemon/image_delete.py: ``docker rmi`` (untag, delete, conflicts with containers) and ``image prune``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from wharf_common.errors import Conflict, NotFound
from wharf_engine.daemon.daemon import Daemon

from .fakes_daemon import commit_container, create_container, import_image, new_daemon, run, start


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    with new_daemon(monkeypatch) as d:
        yield d


def layers_on_disk(daemon: Daemon) -> int:
    return len(list(daemon.layers.all()))


def test_rmi_of_the_only_tag_untags_and_deletes_image_and_layer(daemon: Daemon) -> None:
    image_id = run(import_image(daemon, "base"))
    [layer] = daemon.image_inspect("base")["RootFS"]["Layers"]
    deleted = run(daemon.image_delete("base", force=False, prune=True))
    assert deleted == [{"Untagged": "base:latest"}, {"Deleted": image_id}, {"Deleted": layer}]
    assert daemon.image_list(all=True, filters={}) == [] and layers_on_disk(daemon) == 0
    with pytest.raises(NotFound):
        daemon.image_inspect(image_id)


def test_rmi_of_one_of_two_tags_only_untags(daemon: Daemon) -> None:
    image_id = run(import_image(daemon, "base"))
    run(daemon.image_tag("base", "other", None))
    assert run(daemon.image_delete("other", force=False, prune=True)) == [{"Untagged": "other:latest"}]
    assert daemon.image_inspect(image_id)["RepoTags"] == ["base:latest"]


def test_rmi_by_id_of_an_image_in_two_repositories_must_be_forced(daemon: Daemon) -> None:
    image_id = run(import_image(daemon, "base"))
    run(daemon.image_tag("base", "other", None))
    with pytest.raises(Conflict, match="referenced in multiple repositories"):
        run(daemon.image_delete(image_id, force=False, prune=True))
    deleted = run(daemon.image_delete(image_id, force=True, prune=True))
    assert {"Untagged": "base:latest"} in deleted and {"Untagged": "other:latest"} in deleted
    assert {"Deleted": image_id} in deleted


def test_image_of_a_stopped_container_must_be_forced_and_is_then_only_untagged(daemon: Daemon) -> None:
    image_id = run(import_image(daemon, "base"))
    created = run(create_container(daemon, "user", {"Image": "base"}))
    cid = created["Id"]
    with pytest.raises(Conflict, match=f"container {cid[:12]} is using its referenced image"):
        run(daemon.image_delete("base", force=False, prune=True))
    with pytest.raises(Conflict, match=f"being used by stopped container {cid[:12]}"):
        run(daemon.image_delete(image_id, force=False, prune=True))
    assert run(daemon.image_delete("base", force=True, prune=True)) == [{"Untagged": "base:latest"}]
    assert daemon.image_inspect(image_id)["RepoTags"] == []  # the container still needs it


def test_image_of_a_running_container_cannot_be_deleted_even_forced(daemon: Daemon) -> None:
    async def go() -> str:
        image_id = await import_image(daemon, "base")
        await start(daemon, "user")
        with pytest.raises(Conflict, match=r"cannot be forced.*running container"):
            await daemon.image_delete(image_id, force=True, prune=True)
        return image_id

    image_id = run(go())
    assert daemon.image_inspect(image_id)["Id"] == image_id


def test_parent_with_a_child_cannot_be_deleted(daemon: Daemon) -> None:
    async def go() -> str:
        base = await import_image(daemon, "base")
        await create_container(daemon, "maker", {"Image": "base"})
        await commit_container(daemon, "maker", repo="child", tag=None, comment="", author="", pause=False)
        await daemon.container_remove("maker", force=False, volumes=False)
        return base

    base = run(go())
    with pytest.raises(Conflict, match="image has dependent child images"):
        run(daemon.image_delete(base, force=True, prune=True))


def test_rmi_of_a_child_prunes_its_untagged_parent_unless_no_prune(daemon: Daemon) -> None:
    async def make_child() -> str:
        base = await import_image(daemon, None)
        await create_container(daemon, "maker", {"Image": base})
        await commit_container(daemon, "maker", repo="child", tag=None, comment="", author="", pause=False)
        await daemon.container_remove("maker", force=False, volumes=False)
        return base

    base = run(make_child())
    deleted = run(daemon.image_delete("child", force=False, prune=False))
    assert {"Deleted": base} not in deleted and daemon.image_inspect(base)["Id"] == base
    run(daemon.image_delete(base, force=False, prune=True))

    base = run(make_child())
    deleted = run(daemon.image_delete("child", force=False, prune=True))
    assert {"Deleted": base} in deleted
    assert daemon.image_list(all=True, filters={}) == [] and layers_on_disk(daemon) == 0


def test_rmi_of_an_unknown_image_is_not_found(daemon: Daemon) -> None:
    with pytest.raises(NotFound, match="No such image: ghost:latest"):
        run(daemon.image_delete("ghost", force=True, prune=True))


def test_prune_removes_dangling_images_only_by_default(daemon: Daemon) -> None:
    async def go() -> tuple[str, str, str]:
        kept = await import_image(daemon, "kept")
        dangling = await import_image(daemon, None, files={"a": b"1"})
        used = await import_image(daemon, None, files={"b": b"2"})
        await create_container(daemon, "user", {"Image": used})
        return kept, dangling, used

    kept, dangling, used = run(go())
    report = run(daemon.image_prune(dangling_only=True))
    deleted = report["ImagesDeleted"]
    assert {"Deleted": dangling} in deleted and report["SpaceReclaimed"] == 1
    assert {d.get("Deleted") for d in deleted}.isdisjoint({kept, used})
    assert {i["Id"] for i in daemon.image_list(all=True, filters={})} == {kept, used}

    report = run(daemon.image_prune(dangling_only=False))  # `image prune -a`: tagged unused ones too
    assert {"Untagged": "kept:latest"} in report["ImagesDeleted"]
    assert [i["Id"] for i in daemon.image_list(all=True, filters={})] == [used]


def test_prune_with_nothing_to_remove_reports_none(daemon: Daemon) -> None:
    run(import_image(daemon, "kept"))
    assert run(daemon.image_prune(dangling_only=True)) == {"ImagesDeleted": None, "SpaceReclaimed": 0}
