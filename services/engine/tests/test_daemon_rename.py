"""daemon/rename.py: ``docker rename``; the new name is the container's, the old one is free again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from wharf_common.errors import Conflict, InvalidArgument, NotFound
from wharf_engine.containers.store import ContainerStore
from wharf_engine.daemon.daemon import Daemon

from .fakes_daemon import create_container, events, import_image, new_daemon, run


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    with new_daemon(monkeypatch) as d:
        run(import_image(d, "base"))
        run(create_container(d, "web", {"Image": "base"}))
        run(create_container(d, "db", {"Image": "base"}))
        yield d


def test_rename_moves_the_name_and_frees_the_old_one(daemon: Daemon) -> None:
    cid = daemon.container_get("web").id
    daemon.container_rename("web", "/front")
    assert daemon.container_inspect("front")["Id"] == cid
    with pytest.raises(NotFound, match="No such container: web"):
        daemon.container_inspect("web")
    run(create_container(daemon, "web", {"Image": "base"}))  # the old name is free


def test_rename_is_kept_on_disk(daemon: Daemon) -> None:
    cid = daemon.container_get("web").id
    daemon.container_rename(cid[:8], "front")
    reloaded = ContainerStore(daemon.root)
    reloaded.load()
    assert reloaded.get("front").id == cid


def test_rename_is_an_event_with_the_old_name(daemon: Daemon) -> None:
    daemon.container_rename("web", "front")
    [event] = run(events(daemon, event=["rename"]))
    assert event["Actor"]["Attributes"]["name"] == "front"
    assert event["Actor"]["Attributes"]["oldName"] == "/web"


def test_rename_to_a_name_in_use_is_a_conflict(daemon: Daemon) -> None:
    with pytest.raises(Conflict, match='"/db" is already in use'):
        daemon.container_rename("web", "db")
    assert daemon.container_inspect("web")["Name"] == "/web"


@pytest.mark.parametrize(
    ("new_name", "message"),
    [
        ("", "Neither old nor new names may be empty"),
        ("/", "Neither old nor new names may be empty"),
        ("web", "same name as its current name"),
        ("bad name", "Invalid container name"),
        ("-x", "Invalid container name"),
    ],
)
def test_rename_refuses_bad_names(daemon: Daemon, new_name: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        daemon.container_rename("web", new_name)
    assert daemon.container_inspect("web")["Name"] == "/web"


def test_rename_of_an_unknown_container_is_not_found(daemon: Daemon) -> None:
    with pytest.raises(NotFound, match="No such container: ghost"):
        daemon.container_rename("ghost", "spirit")
