"""``wharf cp``: copy files and directories between a container and the local filesystem.

The rules are docker's (``pkg/archive/copy.go``): a source is sent as a tar whose top entry is renamed
so that extracting it in the destination's directory gives the wanted name. A destination directory
receives the source under its own name (its contents with ``SRC/.``); a missing destination takes the
source's content under the new name; an existing file is overwritten by a file, never by a directory.
"""

from __future__ import annotations

import io
import posixpath
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated

import typer
from wharf_client import ClientError, EngineClient, NotFoundError
from wharf_common.humanize import human_size

from ...output import err, fail, fail_client
from ...session import client
from ...terminal import is_terminal

MODE_DIR = 1 << 31
MODE_SYMLINK = 1 << 27
CHUNK = 1 << 16


class CopyError(Exception):
    """A local condition that stops the copy, with docker's wording."""


@dataclass(frozen=True, slots=True)
class CopyInfo:
    path: str
    exists: bool
    is_dir: bool
    rebase_name: str = ""


def split_cp_arg(arg: str) -> tuple[str, str]:
    """docker's ``splitCpArg``: ``CONTAINER:PATH``, unless absolute or an explicit ``./x:y`` local path."""
    if arg.startswith("/"):
        return "", arg
    container, sep, path = arg.partition(":")
    if not sep or container.startswith("."):
        return "", arg
    return container, path


def specifies_current_dir(path: str) -> bool:
    return path == "." or path.endswith("/.")


def asserts_directory(path: str) -> bool:
    return path.endswith("/") or specifies_current_dir(path)


def split_dir_entry(path: str) -> tuple[str, str]:
    """``SplitPathDirEntry``: ``/a/b/`` -> (``/a``, ``b``); ``/a/b/.`` -> (``/a/b``, ``.``)."""
    cleaned = posixpath.normpath(path) if path else "."
    if specifies_current_dir(path):
        cleaned = posixpath.join(cleaned, ".")
    return posixpath.dirname(cleaned) or ".", posixpath.basename(cleaned) or "/"


def resolve_local(path: str) -> str:
    """An absolute path that keeps a trailing ``/`` or ``/.`` (they change the meaning of a copy)."""
    absolute = posixpath.normpath(posixpath.join(str(Path.cwd()), path))
    if specifies_current_dir(path):
        return absolute.rstrip("/") + "/."
    if path.endswith("/") and not absolute.endswith("/"):
        return absolute + "/"
    return absolute


def prepare(src: CopyInfo, dst: CopyInfo) -> tuple[str, str]:
    """``PrepareArchiveCopy``: (directory to extract into, name the source's top entry must take).

    A source ending in ``/.`` copied into an existing directory keeps no name of its own: ``.``.
    """
    dst_dir, dst_base = split_dir_entry(dst.path)
    src_base = src.rebase_name or split_dir_entry(src.path)[1]
    if src_base == "/":
        src_base = "."
    if dst.exists and dst.is_dir:
        return dst.path, "." if specifies_current_dir(src.path) else src_base
    if dst.exists and src.is_dir:
        raise CopyError("cannot copy directory")
    if not dst.exists and not src.is_dir and asserts_directory(dst.path):
        raise CopyError("no such directory")
    return dst_dir, dst_base


def rebase(name: str, old: str, new: str) -> str | None:
    """``RebaseArchiveEntries`` for one name: ``old`` -> ``new`` as the first path component."""
    stripped = name[2:] if name.startswith("./") else name
    if stripped == old or stripped.rstrip("/") == old:
        return new
    if old in (".", "") or stripped.startswith(old + "/"):
        rest = stripped if old in (".", "") else stripped[len(old) + 1 :]
        return f"{new}/{rest}" if rest else new
    return None


class _LocalTar(tarfile.TarFile):
    """Extraction without chown, as docker extracts locally (``NoLchown``)."""

    def chown(self, tarinfo: tarfile.TarInfo, targetpath: object, numeric_owner: bool) -> None:
        pass


def _stream(chunks: Iterable[bytes]) -> IO[bytes]:
    """A file-like reader over the tar chunks, for tarfile's stream mode."""
    iterator = iter(chunks)

    class Reader(io.RawIOBase):
        pending = b""

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
            while not self.pending:
                self.pending = next(iterator, b"")
                if not self.pending:
                    return 0
            size = min(len(buffer), len(self.pending))
            buffer[:size] = self.pending[:size]
            self.pending = self.pending[size:]
            return size

    return io.BufferedReader(Reader(), CHUNK)


def inside(root: str, member: tarfile.TarInfo) -> tarfile.TarInfo:
    """Extraction filter: entries stay under ``root`` (symlinks followed); modes are kept, as docker's."""
    name = member.name.lstrip("/")
    real_root = Path(root).resolve()
    parent, base = posixpath.split(name)
    targets = [(real_root / parent).resolve() / base]
    if member.islnk():
        targets.append((real_root / member.linkname.lstrip("/")).resolve())
    for target in targets:
        if not target.is_relative_to(real_root):
            raise tarfile.OutsideDestinationError(member, str(target))
    return member.replace(name=name, deep=False)


def _top(name: str) -> str:
    stripped = name[2:] if name.startswith("./") else name.lstrip("/")
    return stripped.split("/", 1)[0] or "."


def extract(chunks: Iterable[bytes], directory: str, new: str) -> None:
    """Extract the engine's tar into ``directory``, its top entry renamed ``new``."""

    def members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
        old = None
        for member in tar:
            old = _top(member.name) if old is None else old
            renamed = rebase(member.name, old, new)
            if renamed is None:
                continue
            member.name = renamed
            if member.islnk():
                member.linkname = rebase(member.linkname, old, new) or member.linkname
            yield member

    with _LocalTar.open(fileobj=_stream(chunks), mode="r|") as tar:
        tar.extractall(directory, members=members(tar), filter=lambda member, _: inside(directory, member))


def copy_from_container(api: EngineClient, container: str, src_path: str, dst_path: str, follow: bool) -> int:
    rebase_name = ""
    if follow:
        try:
            stat = api.container_stat_path(container, src_path)
        except NotFoundError:
            stat = {}
        if int(stat.get("mode") or 0) & MODE_SYMLINK:
            target = str(stat.get("linkTarget") or "")
            if not target.startswith("/"):
                target = posixpath.join(split_dir_entry(src_path)[0], target)
            rebase_name = split_dir_entry(src_path)[1]
            src_path = target
    if dst_path == "-":  # the tar as the engine sends it
        size = 0
        for chunk in api.container_archive_get(container, src_path)[1]:
            sys.stdout.buffer.write(chunk)
            size += len(chunk)
        sys.stdout.buffer.flush()
        return size
    dst = local_destination(resolve_local(dst_path))
    stat, chunks = api.container_archive_get(container, src_path)
    size = 0

    def counted() -> Iterator[bytes]:
        nonlocal size
        for chunk in chunks:
            size += len(chunk)
            yield chunk

    src = CopyInfo(src_path, True, bool(int(stat.get("mode") or 0) & MODE_DIR), rebase_name)
    extract(counted(), *prepare(src, dst))
    return size


def local_destination(path: str) -> CopyInfo:
    """``CopyInfoDestinationPath``: the destination's state; its parent directory must exist."""
    target = Path(path)
    if target.exists():  # symlinks followed
        return CopyInfo(path, True, target.is_dir())
    parent = Path(split_dir_entry(path)[0])
    if not parent.exists():
        raise CopyError(f"stat {parent}: no such file or directory")
    if not parent.is_dir():
        raise CopyError(f"stat {parent}: not a directory")
    return CopyInfo(path, False, False)


def source_tar(local: str, arcname: str, keep_owner: bool) -> IO[bytes]:
    """The source as a tar spooled to a temp file, its top entry named ``arcname``."""

    def owner(info: tarfile.TarInfo) -> tarfile.TarInfo:
        if not keep_owner:  # docker gives copied files to the container's root unless -a
            info.uid = info.gid = 0
            info.uname = info.gname = ""
        return info

    spool = tempfile.TemporaryFile()  # noqa: SIM115 - returned to the caller, who closes it
    with tarfile.open(fileobj=spool, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(local, arcname=arcname, recursive=True, filter=owner)
    spool.seek(0)
    return spool


def copy_to_container(
    api: EngineClient, container: str, src_path: str, dst_path: str, follow: bool, archive: bool
) -> int:
    dst_info = CopyInfo(dst_path, False, False)
    try:
        stat = api.container_stat_path(container, dst_path)
        if int(stat.get("mode") or 0) & MODE_SYMLINK:
            target = str(stat.get("linkTarget") or "")
            if not target.startswith("/"):
                target = posixpath.join(split_dir_entry(dst_path)[0], target)
            dst_info = CopyInfo(target, False, False)
            stat = api.container_stat_path(container, target)
        dst_info = CopyInfo(dst_info.path, True, bool(int(stat.get("mode") or 0) & MODE_DIR))
    except NotFoundError:
        pass  # the parent may exist: the upload says so if it does not
    if src_path == "-":
        if not dst_info.is_dir:
            raise CopyError(f'destination "{container}:{dst_path}" must be a directory')
        api.container_archive_put(container, dst_info.path, _chunks(sys.stdin.buffer), copy_uid_gid=archive)
        return 0
    src_path = resolve_local(src_path)
    local = (src_path[:-2] or "/") if specifies_current_dir(src_path) else (src_path.rstrip("/") or "/")
    if not Path(local).is_symlink() and not Path(local).exists():
        raise CopyError(f"lstat {local}: no such file or directory")
    rebase_name = ""
    if follow and Path(local).is_symlink():  # the link's target, under the link's name
        local, rebase_name = str(Path(local).resolve()), split_dir_entry(src_path)[1]
    src = CopyInfo(src_path, True, Path(local).is_dir() and not Path(local).is_symlink(), rebase_name)
    directory, name = prepare(src, dst_info)
    with source_tar(local, name, archive) as tar:
        size = tar.seek(0, 2)
        tar.seek(0)
        api.container_archive_put(container, directory, _chunks(tar), copy_uid_gid=archive)
    return size


def _chunks(f: IO[bytes]) -> Iterator[bytes]:
    while chunk := f.read(CHUNK):
        yield chunk


def cp(
    src: Annotated[str, typer.Argument(metavar="SRC_PATH")],
    dst: Annotated[str, typer.Argument(metavar="DEST_PATH")],
    archive: Annotated[
        bool, typer.Option("-a", "--archive", help="Archive mode (copy all uid/gid information)")
    ] = False,
    follow_link: Annotated[
        bool, typer.Option("-L", "--follow-link", help="Always follow symbol link in SRC_PATH")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("-q", "--quiet", help="Suppress progress output during copy")
    ] = False,
) -> None:
    """Copy files/folders between a container and the local filesystem.

    Use '-' as the source to read a tar archive from stdin and extract it to a directory destination in a
    container. Use '-' as the destination to stream a tar archive of a container source to stdout.
    """
    src_container, src_path = split_cp_arg(src)
    dst_container, dst_path = split_cp_arg(dst)
    if not src_path:
        fail("source can not be empty")
    if not dst_path:
        fail("destination can not be empty")
    if src_container and dst_container:
        fail("copying between containers is not supported")
    if not (src_container or dst_container):
        fail("must specify at least one container source")
    api = client()
    try:
        if src_container:
            size = copy_from_container(api, src_container, src_path, dst_path, follow_link)
            where = dst_path
        else:
            size = copy_to_container(api, dst_container, src_path, dst_path, follow_link, archive)
            where = f"{dst_container}:{dst_path}"
    except CopyError as error:
        fail(str(error))
    except ClientError as error:
        fail_client(error)
    except (OSError, tarfile.TarError) as error:
        filename = getattr(error, "filename", None)
        fail(f"{filename}: {error.strerror}" if filename and isinstance(error, OSError) else str(error))
    if not quiet and dst_path != "-" and is_terminal(2):
        err(f"Successfully copied {human_size(size, 4)} to {where}")


def register(app: typer.Typer) -> None:
    app.command("cp")(cp)
