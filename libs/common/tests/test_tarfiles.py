"""Tests for wharf_common.tarfiles: round trips, compression, digests, whiteouts, devices.

These run as root (mknod, chown, trusted.* xattrs), as the engine does.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import stat
import struct
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from wharf_common.errors import InvalidArgument
from wharf_common.tarfiles import (
    OPAQUE_XATTR,
    InvalidArchive,
    LayerStats,
    extract_layer,
    write_tar,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: mknod, chown, trusted.* xattrs")

Member = tuple[tarfile.TarInfo, bytes]


def entry(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", **attrs: object) -> Member:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(data)
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    info.mtime = 1_600_000_000
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, data


def make_tar(*members: Member) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data else None)
    return buf.getvalue()


def extract(data: bytes, dest: Path, *, allow_devices: bool = False) -> LayerStats:
    return extract_layer(io.BytesIO(data), dest, allow_devices=allow_devices)


def snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """Everything write_tar preserves about a tree, keyed by relative path."""
    result: dict[str, tuple[object, ...]] = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        mode = st.st_mode
        if stat.S_ISLNK(mode):
            detail: object = str(path.readlink())
        elif stat.S_ISREG(mode):
            detail = path.read_bytes()
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            detail = st.st_rdev
        else:
            detail = None
        kind, perm = stat.S_IFMT(mode), stat.S_IMODE(mode)
        result[str(path.relative_to(root))] = (kind, perm, st.st_uid, st.st_gid, int(st.st_mtime), detail)
    return result


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "etc" / "ssl").mkdir(parents=True)
    (src / "bin").mkdir()
    (src / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (src / "bin" / "busybox").write_bytes(os.urandom(300_000))
    (src / "bin" / "busybox").chmod(0o4755)
    (src / "etc" / "shadow").write_text("secret")
    (src / "etc" / "shadow").chmod(0o600)
    os.chown(src / "etc" / "shadow", 1000, 42)
    (src / "etc" / "ssl").chmod(0o700)
    (src / "empty").write_bytes(b"")
    os.link(src / "bin" / "busybox", src / "bin" / "sh")
    (src / "bin" / "ls").symlink_to("busybox")
    (src / "etc" / "mtab").symlink_to("/proc/mounts")
    (src / "ünïcode name").write_text("x")
    os.mkfifo(src / "fifo")
    for path in [*src.rglob("*"), src]:
        os.utime(path, (1_500_000_000, 1_500_000_000), follow_symlinks=False)
    return src


def test_write_tar_then_extract_layer_round_trips(tree: Path, tmp_path: Path) -> None:
    out = io.BytesIO()
    diff_id = write_tar(tree, out)
    stats = extract(out.getvalue(), tmp_path / "dest", allow_devices=True)
    assert snapshot(tmp_path / "dest") == snapshot(tree)
    assert stats.diff_id == diff_id
    dest = tmp_path / "dest"
    assert (dest / "bin" / "sh").stat().st_ino == (dest / "bin" / "busybox").stat().st_ino
    assert stats.size == 300_000 + len("root:x:0:0::/root:/bin/sh\n") + len("secret") + 1


def test_write_tar_returns_sha256_of_written_bytes(tree: Path) -> None:
    out = io.BytesIO()
    assert write_tar(tree, out) == "sha256:" + hashlib.sha256(out.getvalue()).hexdigest()


def test_write_tar_is_deterministic_and_lexically_ordered(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    (src / "a" / "b").write_text("b")
    (src / "a.txt").write_text("a")
    (src / "Z").write_text("z")
    first, second = io.BytesIO(), io.BytesIO()
    assert write_tar(src, first) == write_tar(src, second)
    assert first.getvalue() == second.getvalue()
    with tarfile.open(fileobj=io.BytesIO(first.getvalue())) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["Z", "a", "a/b", "a.txt"]
    assert all(m.uname == "" and m.gname == "" for m in members)


def test_extract_layer_digest_covers_trailing_padding(tmp_path: Path) -> None:
    data = make_tar(entry("hello", data=b"hi"))
    assert len(data) % tarfile.RECORDSIZE == 0  # python pads to a full record
    stats = extract(data, tmp_path / "dest")
    assert stats == LayerStats(diff_id="sha256:" + hashlib.sha256(data).hexdigest(), size=2)
    assert (tmp_path / "dest" / "hello").read_bytes() == b"hi"


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress])
def test_extract_layer_accepts_compressed_streams(compress: Callable[[bytes], bytes], tmp_path: Path) -> None:
    data = make_tar(entry("dir", tarfile.DIRTYPE), entry("dir/file", data=b"content"))
    stats = extract(compress(data), tmp_path / "dest")
    assert stats.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert (tmp_path / "dest" / "dir" / "file").read_bytes() == b"content"


def test_extract_layer_accepts_an_empty_archive(tmp_path: Path) -> None:
    stats = extract(b"\0" * 1024, tmp_path / "dest")
    assert stats.size == 0
    assert list((tmp_path / "dest").iterdir()) == []


def test_extract_layer_refuses_zstd(tmp_path: Path) -> None:
    with pytest.raises(InvalidArchive, match="zstd"):
        extract(b"\x28\xb5\x2f\xfd" + b"\0" * 100, tmp_path / "dest")


def test_extract_layer_applies_metadata(tmp_path: Path) -> None:
    data = make_tar(
        entry("d", tarfile.DIRTYPE, mode=0o1777, uid=7, gid=8, mtime=1_000_000_000),
        entry("d/f", data=b"x", mode=0o2750, uid=5, gid=6, mtime=1_200_000_000),
        entry("d/l", tarfile.SYMTYPE, linkname="f", uid=3, gid=4, mtime=1_100_000_000),
    )
    extract(data, tmp_path / "dest")
    d, f, link = (
        (tmp_path / "dest" / "d").lstat(),
        (tmp_path / "dest/d/f").lstat(),
        (tmp_path / "dest/d/l").lstat(),
    )
    assert (stat.S_IMODE(d.st_mode), d.st_uid, d.st_gid, d.st_mtime) == (0o1777, 7, 8, 1_000_000_000)
    assert (stat.S_IMODE(f.st_mode), f.st_uid, f.st_gid, f.st_mtime) == (0o2750, 5, 6, 1_200_000_000)
    assert (link.st_uid, link.st_gid, link.st_mtime) == (3, 4, 1_100_000_000)


def test_extract_layer_creates_missing_parents_and_merges_directories(tmp_path: Path) -> None:
    data = make_tar(
        entry("a/b/c", data=b"1"),
        entry("a", tarfile.DIRTYPE, mode=0o711),
        entry("a/b/c", data=b"2"),
    )
    extract(data, tmp_path / "dest")
    assert (tmp_path / "dest" / "a" / "b").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "dest" / "a").stat().st_mode & 0o777 == 0o711
    assert (tmp_path / "dest" / "a" / "b" / "c").read_bytes() == b"2"


def test_extract_layer_applies_xattrs_but_not_overlay_ones(tmp_path: Path) -> None:
    data = make_tar(
        entry(
            "f", pax_headers={"SCHILY.xattr.user.note": "hello", "SCHILY.xattr.trusted.overlay.opaque": "y"}
        ),
        entry("d", tarfile.DIRTYPE, pax_headers={"SCHILY.xattr.trusted.overlay.redirect": "/etc"}),
    )
    extract(data, tmp_path / "dest")
    assert os.getxattr(tmp_path / "dest" / "f", "user.note") == b"hello"
    assert "trusted.overlay.opaque" not in os.listxattr(tmp_path / "dest" / "f")
    assert "trusted.overlay.redirect" not in os.listxattr(tmp_path / "dest" / "d")


def test_write_tar_records_file_capabilities(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "ping").write_bytes(b"elf")
    cap = struct.pack("<5I", 0x02000001, 1 << 13, 0, 0, 0)  # VFS_CAP_REVISION_2, effective, CAP_NET_RAW
    try:
        os.setxattr(src / "ping", "security.capability", cap)
    except OSError as exc:
        pytest.skip(f"file capabilities unsupported here: {exc}")
    out = io.BytesIO()
    write_tar(src, out)
    extract(out.getvalue(), tmp_path / "dest")
    assert os.getxattr(tmp_path / "dest" / "ping", "security.capability") == cap


def test_extract_layer_converts_whiteouts_to_overlay(tmp_path: Path) -> None:
    data = make_tar(
        entry("etc", tarfile.DIRTYPE),
        entry("etc/.wh.motd", uid=0, gid=0),
        entry(".wh.tmp"),
        entry("var/.wh..wh..opq"),
        entry("var/new", data=b"n"),
        entry(".wh..wh..opq"),
    )
    stats = extract(data, tmp_path / "dest")
    dest = tmp_path / "dest"
    for whiteout in (dest / "etc" / "motd", dest / "tmp"):
        st = whiteout.lstat()
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(0, 0)
    assert not (dest / "etc" / ".wh.motd").exists()
    assert os.getxattr(dest / "var", OPAQUE_XATTR) == b"y"
    assert os.getxattr(dest, OPAQUE_XATTR) == b"y"
    assert sorted(p.name for p in (dest / "var").iterdir()) == ["new"]
    assert stats.size == 1


def test_extract_layer_skips_aufs_metadata(tmp_path: Path) -> None:
    data = make_tar(entry(".wh..wh.plnk", tarfile.DIRTYPE), entry(".wh..wh.plnk/123", data=b"x"))
    extract(data, tmp_path / "dest")
    assert list((tmp_path / "dest").iterdir()) == []


def test_write_tar_converts_overlay_whiteouts_to_docker(tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    (upper / "etc").mkdir(parents=True)
    (upper / "var").mkdir()
    (upper / "var" / "kept").write_text("k")
    os.mknod(upper / "etc" / "motd", stat.S_IFCHR, os.makedev(0, 0))
    os.mknod(upper / "gone", stat.S_IFCHR, os.makedev(0, 0))
    os.setxattr(upper / "var", OPAQUE_XATTR, b"y")
    out = io.BytesIO()
    write_tar(upper, out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert list(members) == ["etc", "etc/.wh.motd", ".wh.gone", "var", "var/.wh..wh..opq", "var/kept"]
    for name in ("etc/.wh.motd", ".wh.gone", "var/.wh..wh..opq"):
        assert members[name].isreg() and members[name].size == 0
    back = tmp_path / "back"
    extract(out.getvalue(), back)
    assert snapshot(back) == snapshot(upper)
    assert os.getxattr(back / "var", OPAQUE_XATTR) == b"y"


@pytest.mark.parametrize("allow_devices", [False, True])
def test_extract_layer_creates_devices_only_when_allowed(allow_devices: bool, tmp_path: Path) -> None:
    data = make_tar(
        entry("dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3, mode=0o666),
        entry("dev/loop0", tarfile.BLKTYPE, devmajor=7, devminor=0, mode=0o660),
        entry("run/pipe", tarfile.FIFOTYPE, mode=0o600),
    )
    extract(data, tmp_path / "dest", allow_devices=allow_devices)
    dest = tmp_path / "dest"
    names = [p.name for p in (dest / "dev").iterdir()] + [p.name for p in (dest / "run").iterdir()]
    if not allow_devices:
        assert names == []
        return
    null, loop, pipe = (dest / "dev/null").lstat(), (dest / "dev/loop0").lstat(), (dest / "run/pipe").lstat()
    assert stat.S_ISCHR(null.st_mode) and null.st_rdev == os.makedev(1, 3)
    assert stat.S_IMODE(null.st_mode) == 0o666
    assert stat.S_ISBLK(loop.st_mode) and loop.st_rdev == os.makedev(7, 0)
    assert stat.S_ISFIFO(pipe.st_mode)


def test_extract_layer_rejects_unknown_member_types(tmp_path: Path) -> None:
    with pytest.raises(InvalidArchive, match="unhandled tar header type"):
        extract(make_tar(entry("weird", b"Z")), tmp_path / "dest")


def test_invalid_archive_is_invalid_argument() -> None:
    assert issubclass(InvalidArchive, InvalidArgument)


def test_write_tar_owner_maps_every_entrys_ids(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    (src / "d" / "f").write_text("x")
    (src / "l").symlink_to("d/f")
    st = (src / "d").stat()
    plain, mapped = io.BytesIO(), io.BytesIO()
    write_tar(src, plain)
    write_tar(src, mapped, owner=lambda uid, gid: (uid + 5, gid + 7))
    with tarfile.open(fileobj=io.BytesIO(mapped.getvalue())) as tar:
        owners = {m.name: (m.uid, m.gid) for m in tar.getmembers()}
    assert owners == {name: (st.st_uid + 5, st.st_gid + 7) for name in ("d", "d/f", "l")}
    identity = io.BytesIO()
    write_tar(src, identity, owner=lambda uid, gid: (uid, gid))
    assert identity.getvalue() == plain.getvalue()  # the same ids give the same bytes
