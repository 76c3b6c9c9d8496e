#!/usr/bin/env python3
"""Build the ``busybox`` base image rootfs as a deterministic tar, from Debian's ``busybox-static``.

No network is needed beyond apt. The busybox binary is taken from, in order:

1. ``--deb PATH`` when given;
2. ``/var/cache/apt/archives/busybox-static_*.deb`` (the newest by name, if several);
3. ``apt-get download busybox-static`` into a temporary directory;
4. the installed package: ``/bin/busybox`` with its version from ``dpkg-query``.

The rootfs holds ``bin/busybox``, one relative symlink per applet from ``busybox --list-full`` (only under
``bin/``, ``sbin/``, ``usr/bin/`` and ``usr/sbin/``), the official image's ``etc/passwd``, ``etc/group`` and
``etc/shadow``, and its empty directories (``tmp`` is 1777, ``root`` 0700). ``etc/hostname``, ``etc/hosts``
and ``etc/resolv.conf`` are left out: the engine bind-mounts them.

The tar is uncompressed PAX, entries sorted, uid/gid 0 with no user/group names, and every mtime set to
``SOURCE_DATE_EPOCH`` if set, else the date of the package's newest changelog entry, else 0, so two runs give
byte-identical output. Beside it, ``<output>.json`` carries the image config the engine's import uses::

    {"Cmd": ["sh"], "Env": ["PATH=..."], "created": "<RFC 3339 of the mtime>", "version": "<package version>"}

Usage: ``deploy/images/busybox/build.py [--output PATH] [--if-missing] [--deb PATH]``; the default output is
``.cache/images/busybox.tar`` under the repository root.
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import gzip
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger("busybox.build")

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_OUTPUT = REPO_ROOT / ".cache" / "images" / "busybox.tar"
APT_ARCHIVES = Path("/var/cache/apt/archives")
PACKAGE = "busybox-static"
INSTALLED_BUSYBOX = Path("/bin/busybox")
INSTALLED_DOCS = Path("/usr/share/doc") / PACKAGE

APPLET_DIRS = ("bin", "sbin", "usr/bin", "usr/sbin")
ENV_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# As in the official busybox image (buildroot's skeleton).
PASSWD = """\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
"""

GROUP = """\
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
users:x:100:
staff:x:50:
nogroup:x:65534:
"""

SHADOW = "".join(f"{line.split(':', 1)[0]}:*:10933:0:99999:7:::\n" for line in PASSWD.splitlines())

# Directories beyond those implied by files; everything else is 0755.
DIRECTORY_MODES = {
    "dev": 0o755,
    "etc": 0o755,
    "home": 0o755,
    "proc": 0o555,
    "root": 0o700,
    "sys": 0o555,
    "tmp": 0o1777,
    "usr/sbin": 0o755,
    "var/spool/mail": 0o755,
    "var/www": 0o755,
}


class BuildError(Exception):
    """The busybox package could not be found or used."""


@dataclass(frozen=True, slots=True)
class Busybox:
    """A busybox binary and what is known about the package it came from."""

    binary: Path
    version: str
    docs: Path  # the package's /usr/share/doc directory (changelogs)


@dataclass(frozen=True, slots=True)
class Entry:
    """One member of the rootfs tar."""

    name: str
    type: bytes
    mode: int
    data: bytes = b""
    linkname: str = ""


def _run(args: Sequence[str], *, cwd: Path | None = None) -> str:
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def _find_deb(workdir: Path) -> Path | None:
    cached = sorted(APT_ARCHIVES.glob(f"{PACKAGE}_*.deb"))
    if cached:
        return cached[-1]
    if shutil.which("apt-get") is None:
        return None
    try:
        _run(["apt-get", "download", PACKAGE], cwd=workdir)
    except BuildError as exc:
        log.warning("apt-get download failed: %s", exc)
        return None
    downloaded = sorted(workdir.glob(f"{PACKAGE}_*.deb"))
    return downloaded[-1] if downloaded else None


def _from_deb(deb: Path, workdir: Path) -> Busybox:
    root = workdir / "deb"
    _run(["dpkg-deb", "-x", str(deb), str(root)])
    version = _run(["dpkg-deb", "-f", str(deb), "Version"]).strip()
    binary = root / "bin" / "busybox"
    if not binary.is_file():
        raise BuildError(f"{deb} has no bin/busybox")
    return Busybox(binary=binary, version=version, docs=root / "usr" / "share" / "doc" / PACKAGE)


def _from_installed() -> Busybox:
    if not INSTALLED_BUSYBOX.is_file():
        raise BuildError(f"no {PACKAGE} .deb found and {INSTALLED_BUSYBOX} is not installed")
    try:
        version = _run(["dpkg-query", "-W", "-f", "${Version}", PACKAGE]).strip()
    except (BuildError, FileNotFoundError):
        version = "unknown"
    return Busybox(binary=INSTALLED_BUSYBOX, version=version, docs=INSTALLED_DOCS)


@contextlib.contextmanager
def locate_busybox(deb: Path | None = None) -> Iterator[Busybox]:
    """Yield the busybox to package, following the order in the module docstring."""
    with tempfile.TemporaryDirectory(prefix="busybox-build-") as tmp:
        workdir = Path(tmp)
        found = deb or _find_deb(workdir)
        if found is not None:
            log.info("using %s", found)
            yield _from_deb(found, workdir)
        else:
            log.info("no .deb available; using the installed %s", INSTALLED_BUSYBOX)
            yield _from_installed()


def _changelog_epoch(docs: Path) -> int | None:
    """The date of the newest entry across the package's changelogs (the binNMU one included)."""
    newest: int | None = None
    for changelog in sorted(docs.glob("changelog.Debian*.gz")):
        with gzip.open(changelog, "rt", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith(" -- ") and "  " in line[4:]:
                    stamp = email.utils.parsedate_to_datetime(line.rsplit("  ", 1)[1].strip())
                    epoch = int(stamp.timestamp())
                    newest = epoch if newest is None else max(newest, epoch)
                    break  # the first entry is the newest
    return newest


def source_date_epoch(busybox: Busybox) -> int:
    """SOURCE_DATE_EPOCH, else the changelog date, else 0."""
    env = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if env:
        return int(env)
    try:
        return _changelog_epoch(busybox.docs) or 0
    except (OSError, ValueError) as exc:
        log.warning("cannot read the changelog date: %s", exc)
        return 0


def applets(binary: Path) -> list[str]:
    """The applet paths (``usr/bin/awk`` …) busybox lists under the directories an image keeps."""
    listed = _run([str(binary), "--list-full"]).split()
    return sorted({path for path in listed if path.rpartition("/")[0] in APPLET_DIRS} - {"bin/busybox"})


def rootfs_entries(busybox: Busybox) -> list[Entry]:
    """Every member of the rootfs, parents before children."""
    files: list[Entry] = [
        Entry("bin/busybox", tarfile.REGTYPE, 0o755, busybox.binary.read_bytes()),
        Entry("etc/passwd", tarfile.REGTYPE, 0o644, PASSWD.encode()),
        Entry("etc/group", tarfile.REGTYPE, 0o644, GROUP.encode()),
        Entry("etc/shadow", tarfile.REGTYPE, 0o600, SHADOW.encode()),
    ]
    for path in applets(busybox.binary):
        target = os.path.relpath("bin/busybox", start=Path(path).parent)
        files.append(Entry(path, tarfile.SYMTYPE, 0o777, linkname=target))

    directories: dict[str, int] = {}
    for name in [*DIRECTORY_MODES, *(entry.name for entry in files)]:
        parts = name.split("/")
        depth = len(parts) if name in DIRECTORY_MODES else len(parts) - 1
        for i in range(1, depth + 1):
            parent = "/".join(parts[:i])
            directories.setdefault(parent, DIRECTORY_MODES.get(parent, 0o755))
    entries = [Entry(name, tarfile.DIRTYPE, mode) for name, mode in directories.items()] + files
    return sorted(entries, key=lambda entry: entry.name)


def write_tar(entries: Sequence[Entry], mtime: int, output: Path) -> None:
    """Write the entries as a deterministic PAX tar, atomically."""
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for entry in entries:
                info = tarfile.TarInfo(entry.name + ("/" if entry.type == tarfile.DIRTYPE else ""))
                info.type = entry.type
                info.mode = entry.mode
                info.mtime = mtime
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.linkname = entry.linkname
                info.size = len(entry.data)
                tar.addfile(info, io.BytesIO(entry.data) if entry.type == tarfile.REGTYPE else None)
        tmp.chmod(0o644)
        tmp.replace(output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def config_path(output: Path) -> Path:
    return output.with_name(output.name + ".json")


def write_config(output: Path, mtime: int, version: str) -> None:
    created = datetime.fromtimestamp(mtime, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    config = {"Cmd": ["sh"], "Env": [ENV_PATH], "created": created, "version": version}
    path = config_path(output)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def build(output: Path, *, deb: Path | None = None) -> None:
    """Build the busybox rootfs tar at ``output`` and its config beside it."""
    with locate_busybox(deb) as busybox:
        mtime = source_date_epoch(busybox)
        entries = rootfs_entries(busybox)
        write_tar(entries, mtime, output)
        write_config(output, mtime, busybox.version)
    log.info("wrote %s (%d entries, busybox %s, mtime %d)", output, len(entries), busybox.version, mtime)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="tar to write (default: %(default)s)"
    )
    parser.add_argument("--if-missing", action="store_true", help="do nothing if the output already exists")
    parser.add_argument("--deb", type=Path, help="use this busybox-static .deb")
    parser.add_argument("-q", "--quiet", action="store_true", help="only report errors")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")

    output: Path = args.output.resolve()
    if args.if_missing and output.is_file() and config_path(output).is_file():
        log.info("%s exists; nothing to do", output)
        return 0
    try:
        build(output, deb=args.deb)
    except BuildError as exc:
        log.error("error: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
