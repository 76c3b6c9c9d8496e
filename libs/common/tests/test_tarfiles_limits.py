"""Expansion limits and sparse files in layer extraction: a bomb stops at the limit and leaves
nothing behind; sparse members and zero runs cost no disk; a forged header is not read whole."""

from __future__ import annotations

import gzip
import io
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import pytest
from wharf_common.tarfiles import (
    ArchiveTooLarge,
    ExtractLimits,
    InvalidArchive,
    extract_archive,
    extract_layer,
)

MiB = 1 << 20
GiB = 1 << 30
SMALL = ExtractLimits(max_bytes=16 * MiB, max_files=50)
needs_gnu_tar = pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar is not installed")


def zeros_tar(size: int, name: str = "bomb", *, extra: dict[str, bytes] | None = None) -> bytes:
    """A gzip layer with ``extra`` small files, then one member of ``size`` zeros, streamed
    through gzip: 256 MiB compress to about 1 MiB, so the test never holds it whole."""
    out = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1) as gz,
        tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT) as tar,
    ):
        for extra_name, data in (extra or {}).items():
            info = tarfile.TarInfo(extra_name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo(name)
        info.size = size
        tar.addfile(info, _Zeros(size))
    return out.getvalue()


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        self.left -= size
        return bytes(size)


def test_a_gzip_bomb_stops_at_the_limit_and_leaves_nothing(tmp_path: Path) -> None:
    bomb = zeros_tar(256 * MiB, extra={"etc/hostname": b"x\n"})
    assert len(bomb) * 100 < 256 * MiB  # a hundredth of what it expands to
    dest = tmp_path / "layer"
    started = time.monotonic()
    with pytest.raises(ArchiveTooLarge, match=r"expands to more than 16\.8MB"):
        extract_layer(io.BytesIO(bomb), dest, limits=SMALL)
    assert time.monotonic() - started < 5  # refused on the header, not after inflating it all
    assert list(dest.iterdir()) == []


def test_the_default_limit_is_the_documented_one() -> None:
    assert ExtractLimits() == ExtractLimits(max_bytes=64 * GiB, max_files=1_000_000)


def test_too_many_files_stop_the_extraction(tmp_path: Path) -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for index in range(60):
            tar.addfile(tarfile.TarInfo(f"d/f{index}"), io.BytesIO())
    with pytest.raises(ArchiveTooLarge, match="more than 50 files"):
        extract_layer(io.BytesIO(out.getvalue()), tmp_path / "layer", limits=SMALL)
    assert list((tmp_path / "layer").iterdir()) == []


def test_into_an_existing_tree_only_what_the_extraction_created_is_removed(tmp_path: Path) -> None:
    dest = tmp_path / "root"
    (dest / "etc").mkdir(parents=True)
    (dest / "etc" / "passwd").write_text("root:x:0:0\n")
    bomb = zeros_tar(64 * MiB, "etc/new/bomb", extra={"etc/added": b"a", "opt/app/x": b"b"})
    with pytest.raises(ArchiveTooLarge):
        extract_layer(io.BytesIO(bomb), dest, limits=SMALL)
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*")) == ["etc", "etc/passwd"]
    assert (dest / "etc" / "passwd").read_text() == "root:x:0:0\n"


def test_a_pax_header_claiming_a_gigabyte_is_not_read_into_memory(tmp_path: Path) -> None:
    header = tarfile.TarInfo("././@PaxHeader")
    header.type = tarfile.XHDTYPE
    header.size = GiB
    stream = io.BytesIO()
    with gzip.GzipFile(fileobj=stream, mode="wb") as gz:
        gz.write(header.tobuf(tarfile.USTAR_FORMAT))
        gz.write(bytes(4 * MiB))  # the rest is never asked for
    stream.seek(0)
    with pytest.raises(InvalidArchive, match="a header of"):
        extract_layer(stream, tmp_path / "layer")


def test_zero_runs_in_a_regular_member_are_holes(tmp_path: Path) -> None:
    data = b"head" + bytes(8 * MiB) + b"middle" + bytes(4 * MiB) + b"tail" + bytes(MiB)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo("image.raw")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    stats = extract_layer(io.BytesIO(out.getvalue()), tmp_path / "layer")
    extracted = tmp_path / "layer" / "image.raw"
    assert extracted.read_bytes() == data and stats.size == len(data)
    assert extracted.stat().st_blocks * 512 < MiB  # 13 MiB apparent, a few blocks on disk


def _sparse_source(path: Path, size: int) -> dict[int, bytes]:
    pieces = {300 * GiB: b"middle" * 1000, size - 4: b"end!"}  # a hole first, as disk images start
    with path.open("wb") as f:
        f.truncate(size)
        for offset, data in pieces.items():
            f.seek(offset)
            f.write(data)
    return pieces


@needs_gnu_tar
@pytest.mark.parametrize(
    "flags",
    [["--format=gnu"], ["--format=pax", "--sparse-version=1.0"], ["--format=pax", "--sparse-version=0.1"]],
)
def test_a_one_tebibyte_sparse_file_round_trips_sparsely(tmp_path: Path, flags: list[str]) -> None:
    source = tmp_path / "src"
    source.mkdir()
    size = 1 << 40
    pieces = _sparse_source(source / "disk.img", size)
    archive = tmp_path / "layer.tar"
    command = ["tar", "--sparse", *flags, "-cf", str(archive), "-C", str(source), "disk.img"]
    subprocess.run(command, check=True)
    assert archive.stat().st_size < MiB
    with archive.open("rb") as f:
        extract_layer(f, tmp_path / "layer", limits=SMALL)  # the holes do not count
    extracted = tmp_path / "layer" / "disk.img"
    assert extracted.stat().st_size == size
    assert extracted.stat().st_blocks * 512 < MiB
    with extracted.open("rb") as f:
        for offset, data in pieces.items():
            f.seek(offset)
            assert f.read(len(data)) == data
        f.seek(100 * GiB)
        assert f.read(4096) == bytes(4096)


def test_a_forged_sparse_map_is_refused(tmp_path: Path) -> None:
    info = tarfile.TarInfo("s")
    info.type = tarfile.GNUTYPE_SPARSE
    info.size = 10
    buf = bytearray(info.tobuf(tarfile.GNU_FORMAT))
    # old GNU sparse header: map at 386 (offset, numbytes as octal), real size at 483
    buf[386:398] = b"%011o\0" % (1 << 40)
    buf[398:410] = b"%011o\0" % 10
    buf[483:495] = b"%011o\0" % 100
    buf[148:156] = b"        "
    buf[148:156] = b"%06o\0 " % sum(buf[:512])
    archive = bytes(buf) + b"x" * 10 + bytes(502) + bytes(1024)
    with pytest.raises(InvalidArchive, match="sparse map"):
        extract_layer(io.BytesIO(archive), tmp_path / "layer")


def test_a_plain_archive_is_limited_too(tmp_path: Path) -> None:
    with pytest.raises(ArchiveTooLarge):
        extract_archive(io.BytesIO(zeros_tar(256 * MiB)), tmp_path, limits=SMALL)
    ok = zeros_tar(MiB, "layer.tar")
    extract_archive(io.BytesIO(ok), tmp_path / "ok", limits=SMALL)
    assert (tmp_path / "ok" / "layer.tar").stat().st_size == MiB
