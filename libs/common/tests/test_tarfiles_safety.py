"""Tests for wharf_common.tarfiles: hostile and broken layers never write outside dest."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest
from wharf_common.tarfiles import InvalidArchive, UnsafeArchive, extract_layer

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: chown of extracted files")

Member = tuple[tarfile.TarInfo, bytes]


def entry(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", linkname: str = "") -> Member:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(data)
    info.linkname = linkname
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    return info, data


def make_tar(*members: Member) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data else None)
    return buf.getvalue()


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A sentinel directory next to dest that no layer may touch."""
    sentinel = tmp_path / "outside"
    sentinel.mkdir()
    (sentinel / "passwd").write_text("original")
    return sentinel


def assert_untouched(outside: Path) -> None:
    assert sorted(p.name for p in outside.iterdir()) == ["passwd"]
    assert (outside / "passwd").read_text() == "original"
    assert sorted(p.name for p in outside.parent.iterdir()) == ["dest", "outside"]


def extract(data: bytes, dest: Path) -> None:
    extract_layer(io.BytesIO(data), dest)


@pytest.mark.parametrize(
    "name", ["../evil", "../outside/passwd", "a/../../evil", "./../evil", "a/b/../../../evil"]
)
def test_extract_layer_refuses_parent_escapes(name: str, tmp_path: Path, outside: Path) -> None:
    with pytest.raises(UnsafeArchive, match=r"outside the destination") as info:
        extract(make_tar(entry(name, data=b"pwned")), tmp_path / "dest")
    assert repr(name) in str(info.value)
    assert_untouched(outside)


def test_extract_layer_keeps_dotdot_inside_dest(tmp_path: Path) -> None:
    extract(make_tar(entry("a/../b", data=b"ok")), tmp_path / "dest")
    assert (tmp_path / "dest" / "b").read_bytes() == b"ok"


@pytest.mark.parametrize("name", ["/etc/passwd", "//etc/passwd", "/./etc/passwd"])
def test_extract_layer_makes_absolute_paths_relative(name: str, tmp_path: Path) -> None:
    extract(make_tar(entry(name, data=b"root")), tmp_path / "dest")
    assert (tmp_path / "dest" / "etc" / "passwd").read_bytes() == b"root"


@pytest.mark.parametrize("target", ["/", "OUTSIDE", "../outside"])
def test_extract_layer_refuses_writing_through_symlink(target: str, tmp_path: Path, outside: Path) -> None:
    target = str(outside) if target == "OUTSIDE" else target
    data = make_tar(entry("lnk", tarfile.SYMTYPE, linkname=target), entry("lnk/etc/x", data=b"pwned"))
    if target.startswith(".."):
        with pytest.raises(UnsafeArchive, match="symlink target"):
            extract(data, tmp_path / "dest")
    else:
        with pytest.raises(UnsafeArchive, match=r"'lnk/etc/x'.*'lnk' is a symlink"):
            extract(data, tmp_path / "dest")
    assert_untouched(outside)
    assert not Path("/etc/x").exists()


def test_extract_layer_refuses_deep_symlinked_parent(tmp_path: Path, outside: Path) -> None:
    data = make_tar(
        entry("usr/lib", tarfile.SYMTYPE, linkname=str(outside)),
        entry("usr/lib/passwd", data=b"pwned"),
    )
    with pytest.raises(UnsafeArchive, match="'usr/lib' is a symlink"):
        extract(data, tmp_path / "dest")
    assert_untouched(outside)


def test_extract_layer_creates_absolute_symlinks_without_following(tmp_path: Path, outside: Path) -> None:
    data = make_tar(
        entry("passwd", tarfile.SYMTYPE, linkname=str(outside / "passwd")),
        entry("passwd", data=b"replaced"),
        entry("mtab", tarfile.SYMTYPE, linkname="/proc/mounts"),
    )
    extract(data, tmp_path / "dest")
    assert (tmp_path / "dest" / "passwd").read_bytes() == b"replaced"
    assert str((tmp_path / "dest" / "mtab").readlink()) == "/proc/mounts"
    assert_untouched(outside)


def test_extract_layer_allows_relative_symlinks_inside(tmp_path: Path) -> None:
    data = make_tar(entry("usr/bin/sh", tarfile.SYMTYPE, linkname="../../bin/busybox"))
    extract(data, tmp_path / "dest")
    assert str((tmp_path / "dest" / "usr" / "bin" / "sh").readlink()) == "../../bin/busybox"


def test_extract_layer_refuses_escaping_relative_symlink(tmp_path: Path) -> None:
    data = make_tar(entry("a/lnk", tarfile.SYMTYPE, linkname="../../outside"))
    with pytest.raises(UnsafeArchive, match=r"'a/lnk'.*symlink target '../../outside'"):
        extract(data, tmp_path / "dest")


@pytest.mark.parametrize("target", ["../../etc/passwd", "../outside/passwd"])
def test_extract_layer_refuses_escaping_hardlink(target: str, tmp_path: Path, outside: Path) -> None:
    with pytest.raises(UnsafeArchive, match=r"hardlink target .* outside the destination"):
        extract(make_tar(entry("x", tarfile.LNKTYPE, linkname=target)), tmp_path / "dest")
    assert_untouched(outside)


def test_extract_layer_resolves_absolute_hardlink_inside_dest(tmp_path: Path, outside: Path) -> None:
    with pytest.raises(UnsafeArchive, match="does not exist"):
        extract(make_tar(entry("x", tarfile.LNKTYPE, linkname="/etc/passwd")), tmp_path / "dest")
    data = make_tar(entry("etc/passwd", data=b"inside"), entry("x", tarfile.LNKTYPE, linkname="/etc/passwd"))
    extract(data, tmp_path / "dest2")
    dest = tmp_path / "dest2"
    assert (dest / "x").stat().st_ino == (dest / "etc" / "passwd").stat().st_ino


def test_extract_layer_refuses_hardlink_through_symlink(tmp_path: Path, outside: Path) -> None:
    data = make_tar(
        entry("lnk", tarfile.SYMTYPE, linkname=str(outside)),
        entry("x", tarfile.LNKTYPE, linkname="lnk/passwd"),
    )
    with pytest.raises(UnsafeArchive, match="'lnk' is a symlink"):
        extract(data, tmp_path / "dest")
    assert (outside / "passwd").stat().st_nlink == 1
    assert_untouched(outside)


def test_extract_layer_hardlinks_a_symlink_itself(tmp_path: Path, outside: Path) -> None:
    data = make_tar(
        entry("lnk", tarfile.SYMTYPE, linkname=str(outside / "passwd")),
        entry("x", tarfile.LNKTYPE, linkname="lnk"),
    )
    extract(data, tmp_path / "dest")
    assert str((tmp_path / "dest" / "x").readlink()) == str(outside / "passwd")
    assert (outside / "passwd").stat().st_nlink == 1


@pytest.mark.parametrize("target", ["missing", "dir", "."])
def test_extract_layer_refuses_bad_hardlink_targets(target: str, tmp_path: Path) -> None:
    data = make_tar(entry("dir", tarfile.DIRTYPE), entry("x", tarfile.LNKTYPE, linkname=target))
    with pytest.raises(UnsafeArchive, match="hardlink target"):
        extract(data, tmp_path / "dest")


def test_extract_layer_refuses_non_directory_root(tmp_path: Path) -> None:
    with pytest.raises(UnsafeArchive, match="root must be a directory"):
        extract(make_tar(entry("./", tarfile.SYMTYPE, linkname="/")), tmp_path / "dest")


@pytest.mark.parametrize("name", ["a/.wh..", "a/.wh."])
def test_extract_layer_refuses_bogus_whiteouts(name: str, tmp_path: Path) -> None:
    with pytest.raises(UnsafeArchive, match="invalid whiteout"):
        extract(make_tar(entry(name)), tmp_path / "dest")


def test_extract_layer_refuses_file_as_parent(tmp_path: Path) -> None:
    data = make_tar(entry("a", data=b"file"), entry("a/b", data=b"x"))
    with pytest.raises(InvalidArchive, match="'a' is not a directory"):
        extract(data, tmp_path / "dest")


def test_unsafe_archive_is_invalid_archive() -> None:
    assert issubclass(UnsafeArchive, InvalidArchive)


def layer() -> bytes:
    return make_tar(
        entry("dir", tarfile.DIRTYPE), entry("dir/a", data=b"a" * 5000), entry("dir/b", data=b"b")
    )


@pytest.mark.parametrize(
    "cut",
    [
        pytest.param(2000, id="inside-file-data"),
        pytest.param(512 * 12, id="at-header-boundary"),
        pytest.param(512 * 12 + 100, id="inside-header"),
        pytest.param(512 * 13 + 1, id="inside-last-padding"),
        pytest.param(512 * 14, id="before-end-marker"),
        pytest.param(512 * 14 + 100, id="inside-end-marker"),
    ],
)
def test_extract_layer_refuses_truncated_tar(cut: int, tmp_path: Path) -> None:
    data = layer()
    # blocks: dir header, a header, 10 of a's data, b header, b's data, then the end marker
    assert data[512 * 14 : 512 * 16] == b"\0" * 1024
    with pytest.raises(InvalidArchive):
        extract(data[:cut], tmp_path / "dest")


def test_extract_layer_refuses_truncated_gzip(tmp_path: Path) -> None:
    data = gzip.compress(layer())
    with pytest.raises(InvalidArchive, match="compressed"):
        extract(data[: len(data) - 10], tmp_path / "dest")


def test_extract_layer_refuses_corrupt_gzip(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(layer()))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(InvalidArchive):
        extract(bytes(data), tmp_path / "dest")


def test_extract_layer_refuses_garbage_after_members(tmp_path: Path) -> None:
    data = bytearray(layer())
    data[512 * 14 : 512 * 15] = b"x" * 512
    with pytest.raises(InvalidArchive, match="invalid header"):
        extract(bytes(data), tmp_path / "dest")


@pytest.mark.parametrize("data", [b"", b"not a tar at all", b"x" * 4096])
def test_extract_layer_refuses_non_tar(data: bytes, tmp_path: Path) -> None:
    with pytest.raises(InvalidArchive):
        extract(data, tmp_path / "dest")
