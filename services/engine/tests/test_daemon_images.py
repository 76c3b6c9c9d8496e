"""daemon/images.py: ``docker images``, ``image inspect``, ``history`` and ``tag`` on a real image store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from wharf_common.errors import InvalidArgument, NotFound
from wharf_engine.daemon.daemon import Daemon

from .fakes_daemon import commit_container, create_container, import_image, new_daemon, run


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    with new_daemon(monkeypatch) as d:
        yield d


async def _child(daemon: Daemon, base: str, repo: str) -> str:
    """An image made on top of ``base`` by a commit, as ``docker commit`` makes one."""
    await create_container(daemon, "maker", {"Image": base})
    (daemon.container_get("maker").dir / "fs" / "upper" / "new").parent.mkdir(parents=True)
    (daemon.container_get("maker").dir / "fs" / "upper" / "new").write_text("x")
    return await commit_container(daemon, "maker", repo=repo, tag=None, comment="", author="", pause=False)


def test_imported_image_is_listed_with_its_tag_and_size(daemon: Daemon) -> None:
    image_id = run(import_image(daemon, "base"))
    [listed] = daemon.image_list(all=False, filters={})
    assert listed["Id"] == image_id and listed["RepoTags"] == ["base:latest"]
    assert listed["Size"] > 0 and listed["Containers"] == 0 and listed["ParentId"] == ""


def test_untagged_parent_is_listed_only_with_all(daemon: Daemon) -> None:
    async def go() -> tuple[str, str]:
        base = await import_image(daemon, None)
        return base, await _child(daemon, base, "child")

    base, child = run(go())
    assert [i["Id"] for i in daemon.image_list(all=False, filters={})] == [child]
    assert {i["Id"] for i in daemon.image_list(all=True, filters={})} == {base, child}


def test_list_filters_dangling_reference_and_label(daemon: Daemon) -> None:
    async def go() -> tuple[str, str, str]:
        web = await import_image(daemon, "web", changes=["LABEL tier=front"])
        db = await import_image(daemon, "db", files={"db": b"1"}, changes=["LABEL tier=back"])
        loose = await import_image(daemon, None, files={"loose": b"1"})
        return web, db, loose

    web, db, loose = run(go())

    def ids(**filters: list[str]) -> set[str]:
        return {i["Id"] for i in daemon.image_list(all=False, filters=filters)}

    assert ids(dangling=["true"]) == {loose}
    assert ids(dangling=["false"]) == {web, db}
    assert ids(reference=["w*"]) == {web}
    assert ids(label=["tier=back"]) == {db}
    assert ids(label=["tier"]) == {web, db}


def test_a_reference_filter_lists_only_the_matching_tags(daemon: Daemon) -> None:
    """As Docker: an image tagged ``web:1`` and ``other:2`` shows only ``web:1`` under ``reference=web``."""

    async def go() -> str:
        image_id = await import_image(daemon, "web:1")
        await daemon.image_tag(image_id, "other", "2")
        await daemon.image_tag(image_id, "web", "2")
        return image_id

    run(go())
    [listed] = daemon.image_list(all=False, filters={"reference": ["web"]})
    assert sorted(listed["RepoTags"]) == ["web:1", "web:2"]
    [listed] = daemon.image_list(all=False, filters={"reference": ["other:*", "web:1"]})
    assert sorted(listed["RepoTags"]) == ["other:2", "web:1"]
    assert daemon.image_list(all=False, filters={"reference": ["nope"]}) == []
    [listed] = daemon.image_list(all=False, filters={})
    assert len(listed["RepoTags"]) == 3


def test_inspect_by_name_full_id_and_short_id(daemon: Daemon) -> None:
    image_id = run(import_image(daemon, "base", changes=["ENV A=1", 'CMD ["/bin/sh"]']))
    for ref in ("base", "base:latest", image_id, image_id[7:19]):
        shown = daemon.image_inspect(ref)
        assert shown["Id"] == image_id
    assert shown["RepoTags"] == ["base:latest"]
    assert shown["Config"]["Cmd"] == ["/bin/sh"] and "A=1" in (shown["Config"]["Env"] or [])
    assert shown["RootFS"]["Type"] == "layers" and len(shown["RootFS"]["Layers"]) == 1


@pytest.mark.parametrize("ref", ["nope", "base:other", "sha256:" + "0" * 64, "Bad Name!"])
def test_inspect_of_an_unknown_image_is_not_found(daemon: Daemon, ref: str) -> None:
    run(import_image(daemon, "base"))
    with pytest.raises(NotFound, match="No such image"):
        daemon.image_inspect(ref)


def test_history_lists_the_newest_step_first(daemon: Daemon) -> None:
    async def go() -> str:
        base = await import_image(daemon, "base")
        return await _child(daemon, base, "child")

    child = run(go())
    newest, oldest = daemon.image_history("child")
    assert newest["Id"] == child and newest["Tags"] == ["child:latest"] and newest["Size"] == 1
    assert newest["CreatedBy"] == "/bin/sh"
    assert oldest["Id"] == "<missing>" and oldest["Comment"] == "Imported from -"


def test_history_of_an_unknown_image_is_not_found(daemon: Daemon) -> None:
    with pytest.raises(NotFound, match="No such image: nope:latest"):
        daemon.image_history("nope")


def test_tag_adds_a_name_with_latest_by_default(daemon: Daemon) -> None:
    image_id = run(import_image(daemon, "base"))
    run(daemon.image_tag("base", "localhost:5000/team/app", None))
    run(daemon.image_tag(image_id[7:19], "app", "v1"))
    assert sorted(daemon.image_inspect("base")["RepoTags"]) == [
        "app:v1",
        "base:latest",
        "localhost:5000/team/app:latest",
    ]


def test_tag_moves_a_name_from_another_image(daemon: Daemon) -> None:
    async def go() -> tuple[str, str]:
        old = await import_image(daemon, "app")
        new = await import_image(daemon, "new", files={"v2": b"2"})
        await daemon.image_tag("new", "app", None)
        return old, new

    old, new = run(go())
    assert daemon.image_inspect("app")["Id"] == new
    assert daemon.image_inspect(old)["RepoTags"] == []


@pytest.mark.parametrize(
    ("repo", "tag", "message"),
    [
        ("app", "bad tag", "invalid tag format"),
        ("app", "-dash", "invalid tag format"),
        ("UPPER", None, "must be lowercase"),
        ("app@sha256:" + "a" * 64, None, "digest"),
    ],
)
def test_tag_refuses_a_malformed_reference(daemon: Daemon, repo: str, tag: str | None, message: str) -> None:
    run(import_image(daemon, "base"))
    with pytest.raises(InvalidArgument, match=message):
        run(daemon.image_tag("base", repo, tag))
    assert daemon.image_inspect("base")["RepoTags"] == ["base:latest"]


def test_tag_of_an_unknown_image_is_not_found(daemon: Daemon) -> None:
    with pytest.raises(NotFound, match="No such image: ghost:latest"):
        run(daemon.image_tag("ghost", "app", "v1"))
