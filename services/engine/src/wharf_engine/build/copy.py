"""COPY and ADD: resolve sources in the context, checksum them for the cache, copy into a root."""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
import stat
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path, PurePosixPath

from wharf_common.errors import InvalidArgument
from wharf_common.tarfiles import ExtractLimits, InvalidArchive, extract_layer

from .paths import OutsideContext, inside_context, scoped

ARCHIVE_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")


@dataclass(frozen=True, slots=True)
class Ownership:
    uid: int = 0
    gid: int = 0


class SourceNotFound(InvalidArgument):
    def __init__(self, source: str) -> None:
        super().__init__(f"file not found in build context or excluded by .dockerignore: stat {source}")


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def resolve_sources(context: Path, patterns: tuple[str, ...]) -> list[Path]:
    """Every context path the patterns name (``*``/``?``/``[]`` globs per path component)."""
    found: list[Path] = []
    for pattern in patterns:
        if not any(c in pattern for c in "*?["):
            path = inside_context(context, pattern)
            if not path.exists() and not path.is_symlink():
                raise SourceNotFound(pattern)
            found.append(path)
            continue
        matches = _glob(context, pattern)
        if not matches:
            raise SourceNotFound(pattern)
        found.extend(inside_context(context, str(m.relative_to(context))) for m in matches)
    return found


def _glob(context: Path, pattern: str) -> list[Path]:
    cleaned = os.path.normpath(pattern.lstrip("/"))
    if cleaned.startswith(".."):
        raise OutsideContext(pattern)
    current = [context]
    for part in cleaned.split("/"):
        nxt = []
        for base in current:
            if not base.is_dir():
                continue
            nxt.extend(sorted(p for p in base.iterdir() if fnmatch.fnmatchcase(p.name, part)))
        current = nxt
    return current


def checksum(paths: list[Path]) -> str:
    """Content, names, modes and link targets of the sources: what makes a COPY step differ."""
    digest = hashlib.sha256()
    for top in paths:
        for path in [top, *sorted(_walk(top))]:
            st = path.lstat()
            digest.update(f"{path.relative_to(top.parent)}\0{st.st_mode:o}\0".encode())
            if stat.S_ISLNK(st.st_mode):
                digest.update(str(path.readlink()).encode())
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    while chunk := f.read(1 << 16):
                        digest.update(chunk)
    return digest.hexdigest()


def _walk(top: Path) -> list[Path]:
    if top.is_symlink() or not top.is_dir():
        return []
    out: list[Path] = []
    for dirpath, dirs, files in os.walk(top):
        out.extend(Path(dirpath, n) for n in [*dirs, *files])
    return out


def destination(root: Path, dest: str, workdir: str, *, many: bool) -> tuple[Path, bool]:
    """(path inside ``root``, whether it is a directory to copy into)."""
    absolute = dest if dest.startswith("/") else str(PurePosixPath(workdir or "/", dest))
    as_dir = many or dest.endswith("/") or dest in (".", "./")
    target = scoped(root, absolute)
    if target.is_dir() and not target.is_symlink():
        as_dir = True
    return target, as_dir


def copy_into(
    root: Path,
    sources: list[Path],
    dest: str,
    workdir: str,
    owner: Ownership | None,
    chmod: int | None,
    *,
    extract_archives: bool,
    limits: ExtractLimits | None = None,
) -> None:
    """Docker's copy rules: a directory's contents go into dest; files into dest or dest/name."""
    target, as_dir = destination(root, dest, workdir, many=len(sources) > 1)
    owner = owner or Ownership()
    if as_dir:
        _mkdirs(root, target, owner)
    else:
        _mkdirs(root, target.parent, owner)
    for source in sources:
        if source.is_dir() and not source.is_symlink():
            _mkdirs(root, target, owner)
            _copy_tree(source, target, owner, chmod)
        elif extract_archives and _is_archive(source):
            _mkdirs(root, target, owner)
            try:
                with open(source, "rb") as f:
                    extract_layer(f, target, allow_devices=False, limits=limits)
            except InvalidArchive:  # not a tar after all: copied as a file, as Docker
                _copy_file(source, target / source.name if as_dir else target, owner, chmod)
        else:
            _copy_file(source, target / source.name if as_dir else target, owner, chmod)


def _mkdirs(root: Path, path: Path, owner: Ownership) -> None:
    missing = []
    current = path
    while not current.exists() and current != root:
        missing.append(current)
        current = current.parent
    for d in reversed(missing):
        d.mkdir(mode=0o755)
        os.chown(d, owner.uid, owner.gid)


def _copy_file(source: Path, target: Path, owner: Ownership, chmod: int | None) -> None:
    if target.is_dir() and not target.is_symlink():
        target = target / source.name
    if target.is_symlink() or target.exists():
        target.unlink()
    if source.is_symlink():
        target.symlink_to(source.readlink())
    else:
        shutil.copy2(source, target)
        if chmod is not None:
            target.chmod(chmod)
    os.chown(target, owner.uid, owner.gid, follow_symlinks=False)


def _copy_tree(source: Path, target: Path, owner: Ownership, chmod: int | None) -> None:
    for entry in sorted(source.iterdir()):
        out = target / entry.name
        if entry.is_dir() and not entry.is_symlink():
            if not out.is_dir() or out.is_symlink():
                if out.exists() or out.is_symlink():
                    out.unlink()
                out.mkdir()
            shutil.copystat(entry, out)
            if chmod is not None:
                out.chmod(chmod)
            os.chown(out, owner.uid, owner.gid)
            _copy_tree(entry, out, owner, chmod)
        else:
            _copy_file(entry, out, owner, chmod)


def looks_like_archive(head: bytes) -> bool:
    """gzip, bzip2, xz or a plain tar, from the first 512 bytes."""
    return head.startswith(ARCHIVE_MAGIC) or (len(head) >= 262 and head[257:262] == b"ustar")


def _is_archive(path: Path) -> bool:
    if path.is_symlink() or not path.is_file():
        return False
    with open(path, "rb") as f:
        return looks_like_archive(f.read(512))


def download(url: str, dest_dir: Path) -> Path:
    """ADD <url>: fetch into ``dest_dir`` under the URL's file name, mode 0600, its Last-Modified time."""
    name = Path(urllib.parse.urlsplit(url).path).name or "download"
    target = dest_dir / name
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(target, "wb") as out:
            shutil.copyfileobj(response, out)
            modified = response.headers.get("Last-Modified")
    except (OSError, ValueError) as exc:
        raise InvalidArgument(f"failed to download {url}: {exc}") from None
    target.chmod(0o600)
    if modified:
        try:
            ts = parsedate_to_datetime(modified).timestamp()
            os.utime(target, (ts, ts))
        except (TypeError, ValueError):
            pass
    return target
