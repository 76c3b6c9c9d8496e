"""daemon/commit.py and daemon/changes.py: ``docker diff``, ``export`` and ``commit`` of a stopped
container, whose changes are written straight into its upper directory (as a process in it would)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from typing import Any

import pytest
from wharf_common.errors import InvalidArgument, NotFound
from wharf_engine.containers.errors import ContainerNotRunning
from wharf_engine.daemon.daemon import Daemon
from wharf_engine.runtime.errors import NotRunning

from .fakes_daemon import (
    commit_container,
    create_container,
    fake_runtime,
    import_image,
    new_daemon,
    run,
    start,
)

ADDED, MODIFIED = 1, 0


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    with new_daemon(monkeypatch) as d:
        run(import_image(d, "base", changes=['CMD ["/bin/sh"]', "ENV KEEP=1"]))
        run(create_container(d, "web", {"Image": "base", "Env": ["MODE=test"], "Labels": {"a": "b"}}))
        yield d


def write(daemon: Daemon, ref: str, files: dict[str, str]) -> None:
    """What a process in the container would leave in its upper directory."""
    upper = daemon.container_get(ref).dir / "fs" / "upper"
    for name, text in files.items():
        (upper / name).parent.mkdir(parents=True, exist_ok=True)
        (upper / name).write_text(text)


def commit(daemon: Daemon, ref: str = "web", **options: Any) -> str:
    return str(run(commit_container(daemon, ref, **options)))


def test_diff_lists_added_and_modified_paths(daemon: Daemon) -> None:
    assert daemon.container_changes("web") == []
    write(daemon, "web", {"etc/motd": "changed\n", "srv/new/file": "x"})
    assert daemon.container_changes("web") == [
        {"Path": "/etc", "Kind": MODIFIED},
        {"Path": "/etc/motd", "Kind": MODIFIED},
        {"Path": "/srv", "Kind": ADDED},
        {"Path": "/srv/new", "Kind": ADDED},
        {"Path": "/srv/new/file", "Kind": ADDED},
    ]


def test_diff_of_an_unknown_container_is_not_found(daemon: Daemon) -> None:
    with pytest.raises(NotFound, match="No such container: ghost"):
        daemon.container_changes("ghost")


def test_export_is_the_image_and_the_changes_in_one_tar(daemon: Daemon) -> None:
    write(daemon, "web", {"etc/motd": "changed\n", "added": "new"})
    out = io.BytesIO()
    run(daemon.container_export("web", out))
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        names = {m.name.removeprefix("./") for m in tar.getmembers()}
        motd = tar.extractfile(next(m for m in tar.getmembers() if m.name.endswith("etc/motd")))
        assert motd is not None and motd.read() == b"changed\n"
    assert {"bin/sh", "etc/passwd", "added"} <= names
    assert {".dockerenv", "proc", "sys", "dev", "etc/hostname"} <= names  # the runtime's mount points
    assert {c["Path"] for c in daemon.container_changes("web")} == {"/etc", "/etc/motd", "/added"}


def test_commit_makes_an_image_of_the_changes_on_top_of_the_containers_image(daemon: Daemon) -> None:
    write(daemon, "web", {"srv/data": "kept"})
    image_id = commit(daemon, repo="snap", tag="v1", comment="a snapshot", author="Alice <a@x>")
    shown = daemon.image_inspect("snap:v1")
    base = daemon.image_inspect("base")
    assert shown["Id"] == image_id and shown["Parent"] == base["Id"]
    assert shown["Author"] == "Alice <a@x>" and shown["Comment"] == "a snapshot"
    assert shown["RootFS"]["Layers"][:1] == base["RootFS"]["Layers"] and len(shown["RootFS"]["Layers"]) == 2
    assert shown["Container"] == daemon.container_get("web").id
    assert shown["Config"]["Env"] == [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "KEEP=1",
        "MODE=test",
    ]
    assert shown["Config"]["Labels"] == {"a": "b"}
    newest = daemon.image_history("snap:v1")[0]
    assert newest["Comment"] == "a snapshot" and newest["CreatedBy"] == "/bin/sh" and newest["Size"] == 4

    run(create_container(daemon, "again", {"Image": "snap:v1"}))  # the committed file is in its layers
    layer = daemon.layers.get(shown["RootFS"]["Layers"][1]).path
    assert (layer / "srv" / "data").read_text() == "kept"


def test_commit_applies_changes_and_the_given_config(daemon: Daemon) -> None:
    commit(
        daemon,
        repo="snap",
        changes=['CMD ["/bin/serve"]', "EXPOSE 8080", "WORKDIR /srv"],
        config={"User": "www"},
    )
    config = daemon.image_inspect("snap")["Config"]
    assert config["Cmd"] == ["/bin/serve"] and config["ExposedPorts"] == {"8080/tcp": {}}
    assert config["WorkingDir"] == "/srv" and config["User"] == "www"


def test_commit_without_a_repository_is_an_untagged_image(daemon: Daemon) -> None:
    image_id = commit(daemon)
    assert daemon.image_inspect(image_id)["RepoTags"] == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"repo": "Bad Repo"}, "invalid reference format"),
        ({"repo": "ok", "tag": "bad tag"}, "invalid reference format"),
        ({"repo": "ok", "changes": ["RUN rm -rf /"]}, "RUN"),
    ],
)
def test_commit_refuses_bad_input_without_making_an_image(
    daemon: Daemon, options: dict[str, Any], message: str
) -> None:
    before = daemon.image_list(all=True, filters={})
    with pytest.raises(InvalidArgument, match=message):
        commit(daemon, **options)
    assert daemon.image_list(all=True, filters={}) == before


def test_commit_of_an_unknown_container_is_not_found(daemon: Daemon) -> None:
    with pytest.raises(NotFound, match="No such container: ghost"):
        commit(daemon, "ghost")


def test_commit_of_a_running_container_pauses_it_for_the_copy(daemon: Daemon) -> None:
    async def go() -> list[str]:
        cid = await start(daemon, "live")
        write(daemon, "live", {"state": "during"})
        image_id = await commit_container(
            daemon, "live", repo="snap", tag=None, comment="", author="", pause=True
        )
        assert daemon.image_inspect("snap")["Id"] == image_id
        await commit_container(daemon, "live", repo="nopause", tag=None, comment="", author="", pause=False)
        return fake_runtime(daemon).verbs(cid)

    verbs = run(go())
    assert verbs[-2:] == ["pause", "resume"]  # once, for the commit that asked for it
    assert daemon.container_inspect("live")["State"]["Running"] is True


def test_commit_of_a_container_that_exits_meanwhile_is_not_running(daemon: Daemon) -> None:
    async def go() -> None:
        cid = await start(daemon, "live")
        fake_runtime(daemon).fail("pause", NotRunning("container not running"))
        with pytest.raises(ContainerNotRunning, match=f"Container {cid} is not running"):
            await commit_container(daemon, "live", repo="snap", tag=None, comment="", author="", pause=True)

    run(go())
    with pytest.raises(NotFound):
        daemon.image_inspect("snap")
