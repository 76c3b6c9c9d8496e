"""daemon/cp.py and daemon/inroot.py: ``docker cp`` into and out of a stopped container, and links in
the container that point outside it, which must resolve inside it."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from wharf_common.errors import InvalidArgument, NotFound
from wharf_engine.daemon.cp import GO_MODE_DIR, GO_MODE_SYMLINK
from wharf_engine.daemon.daemon import Daemon

from .fakes_daemon import BASE_FILES, create_container, import_image, layer_tar, new_daemon, run

FILES: dict[str, bytes | str] = {
    **BASE_FILES,
    "up": "/",  # on the host, the host's root
    "hostetc": "/etc",
    "etc/motd.link": "motd",
}


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    with new_daemon(monkeypatch) as d:
        run(import_image(d, "base", files=FILES))
        run(create_container(d, "web", {"Image": "base"}))
        yield d


def get(daemon: Daemon, path: str) -> dict[str, bytes | str]:
    """The archive ``docker cp web:path -`` writes: member names to file bytes or link targets."""
    out = io.BytesIO()
    run(daemon.container_archive_get("web", path, out))
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        found: dict[str, bytes | str] = {}
        for member in tar.getmembers():
            if member.issym():
                found[member.name] = member.linkname
            elif member.isfile():
                data = tar.extractfile(member)
                assert data is not None
                found[member.name] = data.read()
            else:
                found[member.name + "/"] = b""
        return found


def put(daemon: Daemon, path: str, files: dict[str, bytes | str]) -> None:
    run(daemon.container_archive_put("web", path, layer_tar(files)))


def test_stat_of_a_file_a_directory_and_a_link(daemon: Daemon) -> None:
    motd = run(daemon.container_path_stat("web", "/etc/motd"))
    assert (motd["name"], motd["size"], motd["mode"], motd["linkTarget"]) == ("motd", 8, 0o755, "")
    etc = run(daemon.container_path_stat("web", "/etc/"))
    assert etc["name"] == "etc" and etc["mode"] & GO_MODE_DIR
    link = run(daemon.container_path_stat("web", "etc/motd.link"))
    assert link["mode"] & GO_MODE_SYMLINK and link["linkTarget"] == "motd"


def test_get_of_a_directory_is_a_tar_named_after_it(daemon: Daemon) -> None:
    got = get(daemon, "/etc")
    assert got["etc/motd"] == b"welcome\n" and got["etc/passwd"] == BASE_FILES["etc/passwd"]
    assert got["etc/motd.link"] == "motd"
    assert get(daemon, "/etc/motd") == {"motd": b"welcome\n"}


def test_put_lands_in_the_container_and_in_its_changes(daemon: Daemon) -> None:
    put(daemon, "/etc", {"app/config.ini": b"[main]\n"})
    assert get(daemon, "/etc/app/config.ini") == {"config.ini": b"[main]\n"}
    changed = {c["Path"] for c in daemon.container_changes("web")}
    assert {"/etc/app", "/etc/app/config.ini"} <= changed


@pytest.mark.parametrize("link", ["/up", "/up/etc", "/hostetc"])
def test_links_out_of_the_root_resolve_inside_the_container(daemon: Daemon, link: str) -> None:
    put(daemon, link, {"planted": b"inside"})
    where = "/etc/planted" if link != "/up" else "/planted"
    assert get(daemon, where) == {"planted": b"inside"}
    assert not Path("/planted").exists() and not Path("/etc/planted").exists()
    assert get(daemon, "/up/etc/passwd") == {"passwd": BASE_FILES["etc/passwd"]}


@pytest.mark.parametrize("path", ["/nope", "/etc/nope", "/nope/deeper", "/etc/motd/inside"])
def test_a_missing_path_is_not_found_naming_it(daemon: Daemon, path: str) -> None:
    with pytest.raises(NotFound, match=f"Could not find the file {path} in container web"):
        run(daemon.container_path_stat("web", path))
    with pytest.raises(NotFound, match="Could not find the file"):
        get(daemon, path)


def test_put_into_a_missing_directory_is_not_found(daemon: Daemon) -> None:
    with pytest.raises(NotFound, match="Could not find the file /srv in container web"):
        put(daemon, "/srv", {"a": b"1"})


def test_put_onto_a_file_is_refused(daemon: Daemon) -> None:
    with pytest.raises(InvalidArgument, match="extraction point is not a directory: /etc/motd"):
        put(daemon, "/etc/motd", {"a": b"1"})


def test_an_empty_path_is_refused(daemon: Daemon) -> None:
    with pytest.raises(InvalidArgument, match="path is required"):
        run(daemon.container_path_stat("web", ""))


def test_a_path_with_a_nul_byte_is_refused(daemon: Daemon) -> None:
    """Found by the engine's fuzzing: ``?path=%00`` was a ValueError, a 500."""
    for path in ("\x00", "/etc/\x00motd", "/etc\x00/"):
        with pytest.raises(InvalidArgument, match="NUL byte"):
            run(daemon.container_path_stat("web", path))
        with pytest.raises(InvalidArgument, match="NUL byte"):
            get(daemon, path)


def test_cp_with_an_unknown_container_is_not_found(daemon: Daemon) -> None:
    with pytest.raises(NotFound, match="No such container: ghost"):
        run(daemon.container_path_stat("ghost", "/etc"))
    with pytest.raises(NotFound, match="No such container: ghost"):
        run(daemon.container_archive_put("ghost", "/etc", layer_tar({"a": b"1"})))
