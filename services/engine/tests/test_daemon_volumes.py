"""daemon/volumes.py: ``docker volume create|ls|inspect|rm|prune``, and volumes in use by containers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from wharf_common.errors import Conflict, InvalidArgument, NotFound
from wharf_engine.daemon.daemon import Daemon

from .fakes_daemon import create_container, import_image, new_daemon, run


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    with new_daemon(monkeypatch) as d:
        run(import_image(d, "base", changes=['CMD ["/bin/sh"]', "VOLUME /data"]))
        yield d


def listed(daemon: Daemon, **filters: list[str]) -> list[str]:
    return sorted(v["Name"] for v in daemon.volume_list(dict(filters))["Volumes"])


def test_create_then_inspect_a_named_volume(daemon: Daemon) -> None:
    made = daemon.volume_create("cache", {"purpose": "tests"})
    assert made["Name"] == "cache" and made["Driver"] == "local" and made["Labels"] == {"purpose": "tests"}
    assert Path(made["Mountpoint"]).is_dir()
    assert daemon.volume_inspect("cache") == made
    assert "Anonymous" not in made


def test_create_without_a_name_gives_a_random_one(daemon: Daemon) -> None:
    made = daemon.volume_create(None, {})
    assert len(made["Name"]) == 64 and listed(daemon) == [made["Name"]]


def test_create_of_an_existing_volume_keeps_it(daemon: Daemon) -> None:
    first = daemon.volume_create("cache", {})
    (Path(first["Mountpoint"]) / "kept").write_text("x")
    assert daemon.volume_create("cache", {}) == first
    assert (Path(first["Mountpoint"]) / "kept").exists()


@pytest.mark.parametrize(
    ("name", "driver", "opts", "message"),
    [
        ("bad/name", "", None, "includes invalid characters"),
        ("x", "convoy", None, 'plugin "convoy" not found'),
        ("x", "local", {"type": "nfs"}, "DriverOpts"),
    ],
)
def test_create_refuses_bad_names_drivers_and_options(
    daemon: Daemon, name: str, driver: str, opts: dict[str, str] | None, message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message):
        daemon.volume_create(name, {}, driver=driver, driver_opts=opts)
    assert listed(daemon) == []


def test_list_filters(daemon: Daemon) -> None:
    daemon.volume_create("web-cache", {"tier": "front"})
    daemon.volume_create("db-data", {"tier": "back"})
    run(create_container(daemon, "db", {"Image": "base", "HostConfig": {"Binds": ["db-data:/var/lib/db"]}}))
    anonymous = next(
        m["Name"] for m in daemon.container_inspect("db")["Mounts"] if m["Destination"] == "/data"
    )
    assert listed(daemon, name=["cache"]) == ["web-cache"]
    assert listed(daemon, label=["tier=back"]) == ["db-data"]
    assert listed(daemon, label=["tier"]) == ["db-data", "web-cache"]
    assert listed(daemon, dangling=["true"]) == ["web-cache"]
    assert listed(daemon, dangling=["false"]) == sorted(["db-data", anonymous])
    assert listed(daemon, driver=["local"]) == sorted(["db-data", "web-cache", anonymous])


def test_a_volume_in_use_cannot_be_removed_until_its_container_is(daemon: Daemon) -> None:
    daemon.volume_create("data", {})
    cid = run(create_container(daemon, "db", {"Image": "base", "HostConfig": {"Binds": ["data:/x"]}}))["Id"]
    with pytest.raises(Conflict, match=f"remove data: volume is in use - \\[{cid}\\]"):
        daemon.volume_remove("data", force=True)
    run(daemon.container_remove("db", force=False, volumes=False))
    daemon.volume_remove("data", force=False)
    assert "data" not in listed(daemon)


def test_remove_of_an_unknown_volume_is_not_found(daemon: Daemon) -> None:
    with pytest.raises(NotFound, match="no such volume"):
        daemon.volume_remove("ghost", force=False)
    with pytest.raises(NotFound, match="get ghost: no such volume"):
        daemon.volume_inspect("ghost")


def test_rm_v_removes_the_containers_anonymous_volumes_only(daemon: Daemon) -> None:
    daemon.volume_create("named", {})
    run(create_container(daemon, "db", {"Image": "base", "HostConfig": {"Binds": ["named:/named"]}}))
    assert len(listed(daemon)) == 2
    run(daemon.container_remove("db", force=False, volumes=True))
    assert listed(daemon) == ["named"]


def test_prune_removes_unused_anonymous_volumes_and_with_all_named_ones(daemon: Daemon) -> None:
    daemon.volume_create("named", {})
    run(create_container(daemon, "keeper", {"Image": "base"}))
    run(create_container(daemon, "gone", {"Image": "base"}))
    kept = next(m["Name"] for m in daemon.container_inspect("keeper")["Mounts"])
    dropped = next(m["Name"] for m in daemon.container_inspect("gone")["Mounts"])
    (Path(daemon.volume_inspect(dropped)["Mountpoint"]) / "f").write_bytes(b"12345")
    run(daemon.container_remove("gone", force=False, volumes=False))

    assert daemon.volume_prune() == {"VolumesDeleted": [dropped], "SpaceReclaimed": 5}
    assert listed(daemon) == sorted(["named", kept])
    assert daemon.volume_prune(all_volumes=True) == {"VolumesDeleted": ["named"], "SpaceReclaimed": 0}
    assert daemon.volume_prune(all_volumes=True) == {"VolumesDeleted": None, "SpaceReclaimed": 0}
