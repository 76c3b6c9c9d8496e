"""daemon/userns.py: ``--userns-remap`` as the daemon applies it: what a host must give, what
create refuses, and the owners of files that cross the boundary."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator

import pytest
from wharf_common.errors import InvalidArgument
from wharf_engine.daemon import userns
from wharf_engine.daemon.daemon import Daemon
from wharf_engine.idmap import IdMap, IdRange, RemapUnavailable

from .fakes_daemon import create_container, import_image, new_daemon, run

REMAP = IdMap("dockremap", "dockremap", IdRange(100_000, 65_536), IdRange(200_000, 65_536))


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    with new_daemon(monkeypatch) as d:
        run(import_image(d, "base"))
        yield d


@pytest.fixture
def remapped(daemon: Daemon) -> Daemon:
    """The daemon as ``--userns-remap`` with an idmapped overlay leaves it: layers as the image has
    them, containers run under ``REMAP`` (set here: resolving a real remap reads /etc/subuid)."""
    daemon.remap = REMAP
    return daemon


def create(daemon: Daemon, **host_config: object) -> None:
    run(create_container(daemon, "web", {"Image": "base", "HostConfig": host_config}))


def test_an_unknown_remap_user_stops_the_engine_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    with (
        pytest.raises(RemapUnavailable, match="no such user 'no-such-remap-user'"),
        new_daemon(monkeypatch, userns_remap="no-such-remap-user"),
    ):
        pass


def test_a_data_root_the_remapped_root_cannot_reach_stops_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(userns, "resolve", lambda _value: REMAP)
    with (  # the data root's parent is a fresh temporary directory: 0700
        pytest.raises(RemapUnavailable, match=r"wharf-unit-\w+ \(a parent of the data root .* does not let"),
        new_daemon(monkeypatch, userns_remap="dockremap"),
    ):
        pass


def test_only_the_host_user_namespace_mode_is_accepted(daemon: Daemon) -> None:
    with pytest.raises(InvalidArgument, match="invalid USER mode: 'private'"):
        create(daemon, UsernsMode="private")
    create(daemon, UsernsMode="host")


def test_privileged_under_remap_needs_the_host_user_namespace(remapped: Daemon) -> None:
    with pytest.raises(InvalidArgument, match="privileged mode is incompatible with user namespaces"):
        create(remapped, Privileged=True)
    create(remapped, Privileged=True, UsernsMode="host")
    assert remapped.container_inspect("web")["HostConfig"]["Privileged"] is True


def test_privileged_without_remap_is_accepted(daemon: Daemon) -> None:
    create(daemon, Privileged=True)


def test_info_says_userns_only_under_remap(daemon: Daemon) -> None:
    assert daemon.info()["SecurityOptions"] == []
    daemon.remap = REMAP
    assert daemon.info()["SecurityOptions"] == ["name=userns"]


def test_shift_tar_moves_every_owner_and_keeps_the_content() -> None:
    source = io.BytesIO()
    with tarfile.open(fileobj=source, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, uid, gid in (("root-file", 0, 0), ("www-file", 33, 33)):
            info = tarfile.TarInfo(name)
            info.size, info.uid, info.gid, info.uname = 4, uid, gid, "someone"
            tar.addfile(info, io.BytesIO(b"data"))
        link = tarfile.TarInfo("link")
        link.type, link.linkname = tarfile.SYMTYPE, "root-file"
        tar.addfile(link)
    source.seek(0)
    shifted = io.BytesIO()
    userns.shift_tar(source, shifted, REMAP.host_uid, REMAP.host_gid)
    shifted.seek(0)
    with tarfile.open(fileobj=shifted) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert (members["root-file"].uid, members["root-file"].gid) == (100_000, 200_000)
        assert (members["www-file"].uid, members["www-file"].gid) == (100_033, 200_033)
        assert members["www-file"].uname == "" and members["link"].linkname == "root-file"
        data = tar.extractfile("www-file")
        assert data is not None and data.read() == b"data"
