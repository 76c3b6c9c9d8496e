"""daemon/create.py: ``docker create`` merges the image's config, names the container, makes its
volumes and refuses bad input without leaving anything behind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from wharf_common.errors import Conflict, InvalidArgument, NotFound
from wharf_engine.daemon.daemon import Daemon

from .fakes_daemon import create_container, events, import_image, new_daemon, run


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    with new_daemon(monkeypatch) as d:
        run(
            import_image(
                d,
                "base",
                changes=[
                    "ENV PATH=/bin LANG=C",
                    'CMD ["/bin/sh", "-c", "serve"]',
                    "WORKDIR /srv",
                    "LABEL from=image",
                    "EXPOSE 80",
                    "VOLUME /data",
                ],
            )
        )
        yield d


def create(daemon: Daemon, name: str | None = None, **config: Any) -> str:
    return str(run(create_container(daemon, name, {"Image": "base", **config}))["Id"])


def test_container_gets_the_image_config_under_its_own(daemon: Daemon) -> None:
    cid = create(daemon, "web", Env=["LANG=en", "DEBUG=1"], Labels={"role": "web"})
    shown = daemon.container_inspect("web")
    assert shown["Id"] == cid and shown["Name"] == "/web" and shown["State"]["Status"] == "created"
    assert shown["Path"] == "/bin/sh" and shown["Args"] == ["-c", "serve"]
    assert shown["Config"]["Env"] == ["PATH=/bin", "LANG=en", "DEBUG=1"]
    assert shown["Config"]["Labels"] == {"from": "image", "role": "web"}
    assert shown["Config"]["WorkingDir"] == "/srv" and shown["Config"]["ExposedPorts"] == {"80/tcp": {}}
    assert shown["Config"]["Hostname"] == cid[:12]
    assert shown["HostConfig"]["NetworkMode"] == "default"
    assert shown["HostConfig"]["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert shown["Image"] == daemon.image_inspect("base")["Id"]


def test_an_entrypoint_given_at_create_drops_the_images_cmd(daemon: Daemon) -> None:
    create(daemon, "one", Entrypoint=["/bin/echo"])
    assert (daemon.container_inspect("one")["Path"], daemon.container_inspect("one")["Args"]) == (
        "/bin/echo",
        [],
    )
    create(daemon, "two", Cmd="echo hi")  # a string Cmd runs through the shell
    assert daemon.container_inspect("two")["Args"] == ["-c", "echo hi"]


def test_a_name_is_generated_when_none_is_given(daemon: Daemon) -> None:
    cid = create(daemon)
    name = daemon.container_inspect(cid)["Name"]
    assert name.startswith("/") and "_" in name


def test_the_images_volume_becomes_an_anonymous_volume(daemon: Daemon) -> None:
    create(daemon, "db", HostConfig={"Binds": ["named:/named", "/srv/host:/host:ro"]})
    mounts = {m["Destination"]: m for m in daemon.container_inspect("db")["Mounts"]}
    assert mounts["/data"]["Type"] == "volume" and len(mounts["/data"]["Name"]) == 64
    assert mounts["/named"]["Name"] == "named" and mounts["/named"]["RW"] is True
    assert mounts["/host"] == {
        "Type": "bind",
        "Source": "/srv/host",
        "Destination": "/host",
        "Mode": "ro",
        "RW": False,
        "Propagation": "rprivate",
    }
    names = {v["Name"] for v in daemon.volume_list({})["Volumes"]}
    assert names == {"named", mounts["/data"]["Name"]}


def test_volumes_from_copies_the_other_containers_mounts(daemon: Daemon) -> None:
    create(daemon, "db")
    create(daemon, "backup", HostConfig={"VolumesFrom": ["db:ro"]})
    [data] = [m for m in daemon.container_inspect("backup")["Mounts"] if m["Destination"] == "/data"]
    [original] = [m for m in daemon.container_inspect("db")["Mounts"] if m["Destination"] == "/data"]
    assert data["Name"] == original["Name"] and data["RW"] is False


def test_create_is_announced_as_an_event(daemon: Daemon) -> None:
    cid = create(daemon, "web")
    [event] = run(events(daemon, type=["container"]))
    assert (event["Action"], event["Actor"]["ID"]) == ("create", cid)
    assert event["Actor"]["Attributes"]["name"] == "web" and event["Actor"]["Attributes"]["from"] == "image"


def test_a_name_in_use_is_a_conflict_naming_the_owner(daemon: Daemon) -> None:
    cid = create(daemon, "web")
    with pytest.raises(Conflict, match=f'"/web" is already in use by container "{cid}"'):
        create(daemon, "/web")
    assert len(daemon.container_list(all=True, limit=0, size=False, filters={})) == 1


@pytest.mark.parametrize(
    ("config", "error", "message"),
    [
        ({"Image": ""}, InvalidArgument, "config.Image is required"),
        ({"Image": "ghost"}, NotFound, "No such image: ghost:latest"),
        ({"Cmd": [], "Entrypoint": [""]}, InvalidArgument, "No command specified"),
        ({"HostConfig": {"RestartPolicy": {"Name": "sometimes"}}}, InvalidArgument, "invalid restart policy"),
        (
            {"HostConfig": {"RestartPolicy": {"Name": "always"}, "AutoRemove": True}},
            InvalidArgument,
            "AutoRemove",
        ),
        ({"HostConfig": {"PidMode": "host"}}, InvalidArgument, "HostConfig.PidMode"),
        ({"HostConfig": {"Links": ["ghost:db"]}}, InvalidArgument, "No such container: ghost"),
        ({"HostConfig": {"VolumesFrom": ["ghost"]}}, InvalidArgument, "No such container: ghost"),
        ({"HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": "http"}]}}}, InvalidArgument, "http"),
        ({"ExposedPorts": {"eighty/tcp": {}}}, InvalidArgument, "eighty"),
        ({"HostConfig": {"Binds": ["relative:dir:/x"]}}, InvalidArgument, ""),
        ({"Volumes": {"data": {}}}, InvalidArgument, "must be absolute"),
        ({"HostConfig": {"NetworkMode": "ghostnet"}}, InvalidArgument, "network ghostnet not found"),
        ({"Healthcheck": {"Test": ["CMD"], "Interval": 1}}, InvalidArgument, ""),
    ],
)
def test_bad_config_is_refused_and_the_name_stays_free(
    daemon: Daemon, config: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message or None):
        run(create_container(daemon, "web", {"Image": "base", **config}))
    assert daemon.container_list(all=True, limit=0, size=False, filters={}) == []
    create(daemon, "web")  # the name was released


@pytest.mark.parametrize("name", ["-web", "we b", "web!", "a/b"])
def test_an_invalid_name_is_refused(daemon: Daemon, name: str) -> None:
    with pytest.raises(InvalidArgument, match="Invalid container name"):
        create(daemon, name)
