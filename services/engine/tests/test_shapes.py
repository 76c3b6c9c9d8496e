"""The JSON the engine writes has exactly the keys its shapes declare (``wharf_engine.shapes``).

mypy checks the keys the builders write; these tests check the other direction at run time: no
declared key is missing from what a client reads, and nothing is written that the shape omits.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from wharf_engine.containers.container import Container
from wharf_engine.daemon import endpoints, images, inspect
from wharf_engine.images.digests import RepoDigestStore
from wharf_engine.images.references import ReferenceStore
from wharf_engine.images.store import ImageStore
from wharf_engine.network.model import Network
from wharf_engine.network.store import NetworkStore
from wharf_engine.shapes import (
    BuildOptions,
    CommitOptions,
    ContainerInspect,
    ContainerState,
    ContainerSummary,
    CreateOptions,
    EndpointSettings,
    ImageInspect,
    ImageSummary,
    NetworkSettings,
    StopOptions,
)
from wharf_engine.shapes.images import HistoryResponseItem


def keys(shape: Any) -> set[str]:
    return set(shape.__required_keys__) | set(shape.__optional_keys__)


@pytest.fixture
def daemon(tmp_path: Path) -> Any:
    store = NetworkStore(tmp_path)
    store.add(
        Network(
            id="a" * 64,
            name="back",
            created="t",
            bridge="br-a",
            subnet="10.7.0.0/24",
            gateway="10.7.0.1",
        )
    )
    image_store = ImageStore(tmp_path)
    image_id = image_store.create(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "2026-01-01T00:00:00Z",
            "config": {"Cmd": ["sh"], "Labels": {"a": "b"}},
            "rootfs": {"type": "layers", "diff_ids": []},
            "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "sh", "empty_layer": True}],
        }
    )
    references = ReferenceStore(tmp_path)
    references.add("busybox:latest", image_id)
    d: Any = SimpleNamespace(
        id="e" * 32,
        networks=SimpleNamespace(store=store),
        images=image_store,
        references=references,
        repo_digests=RepoDigestStore(tmp_path),
        layers=SimpleNamespace(has=lambda _: False),
    )
    container = Container(
        id="c" * 64,
        name="web",
        created="2026-01-01T00:00:01.000000000Z",
        image_id=image_id,
        config={"Image": "busybox", "ExposedPorts": {"80/tcp": {}}, "Labels": {}},
        host_config={"NetworkMode": "back"},
        path="sh",
        args=[],
        dir=tmp_path / "containers" / ("c" * 64),
    )
    container.state.set_running(pid=42)
    endpoints.record(d, endpoints.plan(d, container.id, container.name, container.host_config, {}, None))
    d.containers = SimpleNamespace(all=lambda: [container], get=lambda _: container)
    d.container = container
    return d


def test_container_inspect_has_the_keys_of_container_inspect(daemon: Any) -> None:
    shown = inspect.container_inspect(daemon, daemon.container, size=True)
    assert set(shown) == keys(ContainerInspect)
    assert set(shown["State"]) == set(ContainerState.__required_keys__)  # no healthcheck: no Health
    assert set(shown["NetworkSettings"]) == keys(NetworkSettings)
    assert set(shown["NetworkSettings"]["Networks"]) == {"back"}
    assert set(shown["NetworkSettings"]["Networks"]["back"]) == keys(EndpointSettings)


def test_container_list_entries_have_the_keys_of_container_summary(daemon: Any) -> None:
    [entry] = inspect.container_list(daemon, all=True, limit=0, size=False, filters={})
    assert set(entry) == set(ContainerSummary.__required_keys__)  # without ?size=1: no sizes
    assert set(entry["NetworkSettings"]["Networks"]["back"]) == keys(EndpointSettings)


def test_image_inspect_list_and_history_have_their_shapes_keys(daemon: Any) -> None:
    assert set(images.image_inspect(daemon, "busybox")) == keys(ImageInspect)
    [summary] = images.image_list(daemon, all=True, filters={})
    assert set(summary) == keys(ImageSummary)
    [step] = images.image_history(daemon, "busybox")
    assert set(step) == keys(HistoryResponseItem)


def test_options_are_frozen_records_with_docker_defaults() -> None:
    assert CommitOptions().pause is True  # Docker pauses a container while committing it
    assert StopOptions() == StopOptions(timeout=None, signal=None)
    assert BuildOptions().dockerfile == "Dockerfile" and BuildOptions().rm is True
    options = CreateOptions(config={"Image": "busybox"})
    assert options.host_config == {} and options.name is None
    with pytest.raises(AttributeError):
        options.name = "web"  # type: ignore[misc]
