"""daemon/events.py: ``docker events``: past events since a time, live ones until a time, and filters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Iterator
from typing import Any

import pytest
from wharf_engine.daemon.daemon import Daemon
from wharf_engine.daemon.events import HISTORY, EventBus

from .fakes_daemon import create_container, events, import_image, new_daemon, run


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    with new_daemon(monkeypatch) as d:
        run(import_image(d, "base"))
        yield d


def test_container_operations_are_events_in_order(daemon: Daemon) -> None:
    cid = run(create_container(daemon, "web", {"Image": "base", "Labels": {"app": "shop"}}))["Id"]
    daemon.container_rename("web", "front")
    run(daemon.container_remove("front", force=False, volumes=False))
    seen = run(events(daemon))
    assert [(e["Type"], e["Action"]) for e in seen] == [
        ("container", "create"),
        ("container", "rename"),
        ("container", "destroy"),
    ]
    create = seen[0]
    assert create["Actor"] == {"ID": cid, "Attributes": {"app": "shop", "image": "base", "name": "web"}}
    assert (create["status"], create["id"], create["from"]) == ("create", cid, "base")  # for 1.x clients
    assert create["scope"] == "local" and create["time"] == create["timeNano"] // 1_000_000_000


def test_filters_by_type_event_container_and_label(daemon: Daemon) -> None:
    web = run(create_container(daemon, "web", {"Image": "base", "Labels": {"app": "shop"}}))["Id"]
    run(create_container(daemon, "db", {"Image": "base"}))
    daemon.events.emit("volume", "create", "data", {"driver": "local"})

    def actors(**filters: list[str]) -> list[str]:
        return [e["Actor"]["ID"] for e in run(events(daemon, **filters))]

    assert actors(type=["volume"]) == ["data"]
    assert actors(type=["container"], container=[web[:10]]) == [web]
    assert actors(label=["app=shop"]) == [web]
    assert actors(label=["app"]) == [web]
    assert actors(event=["destroy"]) == []


def test_a_name_filter_drops_other_types_and_image_keeps_its_containers(daemon: Daemon) -> None:
    """moby's Include: ``container=`` keeps only that container's events; ``image=`` also keeps the
    events of containers made from the image (their ``image`` attribute)."""
    web = run(create_container(daemon, "web", {"Image": "base"}))["Id"]
    daemon.events.emit("volume", "create", "data", {"driver": "local"})
    daemon.events.emit("image", "tag", "sha256:" + "a" * 64, {"name": "other:latest"})

    def actors(**filters: list[str]) -> list[str]:
        return [e["Actor"]["ID"] for e in run(events(daemon, **filters))]

    assert actors(container=["web"]) == [web]
    assert actors(volume=["data"]) == ["data"]
    assert actors(image=["base"]) == [web]
    assert actors(image=["other"]) == ["sha256:" + "a" * 64]  # the tag stripped, as moby's stripTag
    assert actors(image=["other:latest"]) == ["sha256:" + "a" * 64]


def test_since_leaves_out_older_events_and_until_ends_the_stream() -> None:
    bus = EventBus()
    bus.emit("container", "create", "old")
    middle = time.time()
    time.sleep(0.002)
    bus.emit("container", "create", "new")

    async def collect(**kwargs: Any) -> list[str]:
        return [e["Actor"]["ID"] async for e in bus.stream(filters={}, **kwargs)]

    assert run(collect(since=middle, until=time.time() + 0.001)) == ["new"]
    assert run(collect(since=0, until=time.time() + 0.001)) == []  # no since: live events only


def test_a_live_subscriber_gets_events_as_they_happen() -> None:
    bus = EventBus()

    async def go() -> list[str]:
        stream = bus.stream(since=0, until=time.time() + 5, filters={"event": ["start"]})
        assert isinstance(stream, AsyncGenerator)
        first = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0)
        bus.emit("container", "create", "c1")
        bus.emit("container", "start", "c1")
        got = [(await first)["Actor"]["ID"]]
        await stream.aclose()
        return got

    assert run(go()) == ["c1"]
    assert bus.subscribers == set()  # the subscriber is gone once its stream is


def test_history_keeps_only_the_latest_events() -> None:
    bus = EventBus()
    for i in range(HISTORY + 10):
        bus.emit("volume", "create", f"v{i}")
    assert len(bus.history) == HISTORY and bus.history[0]["Actor"]["ID"] == "v10"
