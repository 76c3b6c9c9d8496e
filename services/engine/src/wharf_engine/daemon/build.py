"""ImageBuild: the daemon's side of the classic builder (step containers, images, tags)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import structlog
from wharf_common.dockerfile import Dockerfile, DockerfileSyntaxError, parse
from wharf_common.dockerignore import DockerIgnore
from wharf_common.errors import InvalidArgument
from wharf_common.tarfiles import ExtractLimits, extract_layer

from wharf_engine.build.backend import Output
from wharf_engine.build.cache import BuildCache
from wharf_engine.build.copy import looks_like_archive
from wharf_engine.build.executor import BuildExecutor, BuildFailed, short
from wharf_engine.build.output import BuildOutput
from wharf_engine.build.paths import OutsideContext, inside_context
from wharf_engine.distribution.endpoint import AuthConfig
from wharf_engine.layers.mounts import is_mounted
from wharf_engine.shapes import BuildOptions, CreateOptions, HostConfig, Image

from .attach import pending_attach
from .images import SCRATCH_COMMENT, resolve_image
from .remove import remove_stopped
from .rootfs import mount_rootfs, rootfs, unmount_rootfs

if TYPE_CHECKING:
    from .daemon import Daemon

log = structlog.get_logger(__name__)

RED, RESET = "\x1b[91m", "\x1b[0m"

SCRATCH_CONFIG: dict[str, Any] = {
    "architecture": "amd64",
    "os": "linux",
    "created": "1970-01-01T00:00:00Z",
    "config": {},
    "rootfs": {"type": "layers", "diff_ids": []},
    "history": [],
    "comment": SCRATCH_COMMENT,
}


class DaemonBuildBackend:
    """The daemon as seen by the builder: step containers that live only for one step."""

    def __init__(
        self, daemon: Daemon, *, network_mode: str = "", extra_hosts: list[str] | None = None
    ) -> None:
        self.daemon = daemon
        # RUN steps on the default bridge unless the request said otherwise, as Docker's
        self.host_config: HostConfig = {"NetworkMode": network_mode or "default"}
        if extra_hosts:
            self.host_config["ExtraHosts"] = list(extra_hosts)

    @property
    def extract_limits(self) -> ExtractLimits:
        return self.daemon.layers.limits

    def resolve_image(self, ref: str) -> str:
        return resolve_image(self.daemon, ref)

    def image_config(self, image_id: str) -> Image:
        return self.daemon.images.get(image_id)

    async def pull_image(self, name: str, progress: Callable[[dict[str, Any]], None]) -> str:
        async for message in self.daemon.image_pull(name, None, AuthConfig()):
            progress(message)
        return resolve_image(self.daemon, name)

    async def create_image(self, config: dict[str, Any]) -> str:
        async with self.daemon.image_lock:
            return self.daemon.images.create(config)

    async def tag_image(self, image_id: str, ref: str) -> None:
        async with self.daemon.image_lock:
            self.daemon.references.add(ref, image_id)

    async def create_step(self, image_id: str | None, config: dict[str, Any]) -> str:
        if image_id is None:
            image_id = self.daemon.images.create(SCRATCH_CONFIG)
        step = CreateOptions(
            config={
                "Image": image_id,
                "Cmd": config.get("Cmd") or ["/bin/sh"],
                "Entrypoint": [""],
                "Env": config.get("Env") or [],
                "WorkingDir": config.get("WorkingDir") or "",
                "User": config.get("User") or "",
                "Labels": {"wharf.build.step": "true"},
            },
            host_config=self.host_config.copy(),
        )
        result = await self.daemon.container_create(step)
        return result["Id"]

    async def mount_step(self, step: str) -> Path:
        container = self.daemon.containers.get(step)
        return await asyncio.to_thread(mount_rootfs, self.daemon, container)

    async def run_step(self, step: str, output: Output) -> int:
        container = self.daemon.containers.get(step)
        waiter = pending_attach(container)
        if is_mounted(rootfs(container)):
            unmount_rootfs(container)
        await self.daemon.container_start(step)
        reader, writer = await waiter
        try:
            decoders = {1: _Utf8Stream(), 2: _Utf8Stream()}
            while True:
                try:
                    header = await reader.readexactly(8)
                    payload = await reader.readexactly(int.from_bytes(header[4:8], "big"))
                except asyncio.IncompleteReadError:
                    break
                stderr = header[0] == 2
                text = decoders[2 if stderr else 1].feed(payload)
                if text:  # stderr in the classic builder's red, as Docker's StderrFormatter
                    await output(f"{RED}{text}{RESET}" if stderr else text)
        finally:
            writer.close()
        return await self.daemon.container_wait(step, "not-running")

    async def commit_step(self, step: str) -> str:
        container = self.daemon.containers.get(step)
        if is_mounted(rootfs(container)):
            unmount_rootfs(container)
        upper = container.dir / "fs" / "upper"
        upper.mkdir(parents=True, exist_ok=True)
        layer = await asyncio.to_thread(self.daemon.layers.register_dir, upper, move=True)
        await remove_stopped(self.daemon, container)
        return layer.diff_id

    async def remove_step(self, step: str) -> None:
        try:
            container = self.daemon.containers.get(step)
        except InvalidArgument:
            return
        except Exception:  # gone already
            return
        await self.daemon.container_remove(container.id, force=True, volumes=True)


class _Utf8Stream:
    """Decode output chunks that may split a UTF-8 character."""

    def __init__(self) -> None:
        import codecs

        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes) -> str:
        return str(self.decoder.decode(data))


def receive_context(daemon: Daemon, stream: BinaryIO) -> Path:
    """Extract the build context (tar, optionally compressed) into a fresh directory."""
    work = Path(tempfile.mkdtemp(prefix="build-", dir=daemon.layers.tmp))
    try:
        extract_layer(stream, work / "context", limits=daemon.layers.limits)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return work / "context"


def is_git_url(url: str) -> bool:
    location = url.split("#", 1)[0]
    return url.startswith(("git://", "git@")) or location.endswith(".git")


async def fetch_remote(daemon: Daemon, url: str) -> Path:
    """``remote=``: a git repository (``url#ref:subdir``) or a tarball / Dockerfile over HTTP(S)."""
    work = Path(tempfile.mkdtemp(prefix="build-", dir=daemon.layers.tmp))
    try:
        if is_git_url(url):
            return await _clone(url, work)
        if not url.startswith(("http://", "https://")):
            raise InvalidArgument(f"unable to prepare context: unsupported remote {url!r}")
        return await asyncio.to_thread(_download_context, url, work, daemon.layers.limits)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


async def _git(*args: str, cwd: Path | None = None) -> None:
    proc = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={"GIT_TERMINAL_PROMPT": "0", "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 300)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise InvalidArgument(f"git {args[0]} timed out") from None
    if proc.returncode != 0:
        raise InvalidArgument(
            f"unable to prepare context: git {args[0]}: {out.decode(errors='replace').strip()}"
        )


async def _clone(url: str, work: Path) -> Path:
    location, _, fragment = url.partition("#")
    ref, _, subdir = fragment.partition(":")
    checkout = work / "context"
    await _git("clone", "--recurse-submodules", "--quiet", "--", location, str(checkout))
    if ref:
        await _git("checkout", "--quiet", ref, cwd=checkout)
    shutil.rmtree(checkout / ".git", ignore_errors=True)
    if subdir:
        try:
            inner = inside_context(checkout, subdir)
        except OutsideContext:
            raise InvalidArgument(
                f"unable to prepare context: subdirectory {subdir} is outside the repository"
            ) from None
        if not inner.is_dir():
            raise InvalidArgument(f"unable to prepare context: subdirectory {subdir} not found")
        inner.rename(work / "sub")
        shutil.rmtree(checkout)
        (work / "sub").rename(checkout)
    return checkout


def _download_context(url: str, work: Path, limits: ExtractLimits) -> Path:
    import urllib.request

    spool = work / "remote"
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(spool, "wb") as out:
            shutil.copyfileobj(response, out)
    except (OSError, ValueError) as exc:
        raise InvalidArgument(f"unable to prepare context: error downloading {url}: {exc}") from None
    context = work / "context"
    with open(spool, "rb") as f:
        head = f.read(512)
        f.seek(0)
        if looks_like_archive(head):
            extract_layer(f, context, limits=limits)
        else:  # a plain file is the Dockerfile itself, as Docker does
            context.mkdir()
            shutil.copyfile(spool, context / "Dockerfile")
    spool.unlink()
    return context


def read_dockerfile(context: Path, name: str) -> str:
    try:
        path = inside_context(context, name or "Dockerfile")
    except OutsideContext:
        raise InvalidArgument(f"the Dockerfile ({name}) must be within the build context") from None
    if not path.is_file():
        raise InvalidArgument(f"Cannot locate specified Dockerfile: {name or 'Dockerfile'}")
    return path.read_text(errors="replace")


def remove_ignored_build_files(context: Path, dockerfile_name: str) -> None:
    """Once read, the Dockerfile and ``.dockerignore`` leave the context if ``.dockerignore``
    excludes them (the CLI always sends them), as Docker's ``removeDockerfile``: ``ADD .`` then
    leaves them out."""
    ignore_file = context / ".dockerignore"
    if not ignore_file.is_file() or ignore_file.is_symlink():
        return
    ignore = DockerIgnore.from_text(ignore_file.read_text(errors="replace"))
    for name in (dockerfile_name, ".dockerignore"):
        if not ignore.matches(name):
            continue
        try:
            path = inside_context(context, name)
        except OutsideContext:
            continue
        if path.is_file() or path.is_symlink():
            path.unlink()


def load_dockerfile(context: Path, name: str) -> Dockerfile:
    """The parsed Dockerfile; a bad one is refused before the build starts streaming."""
    try:
        return parse(read_dockerfile(context, name))
    except DockerfileSyntaxError as exc:
        raise InvalidArgument(str(exc)) from None


async def image_build(daemon: Daemon, context: Path, options: BuildOptions, output: BuildOutput) -> str:
    """Run the build, streaming to ``output``; tags only when every step succeeded."""
    dockerfile = load_dockerfile(context, options.dockerfile)
    remove_ignored_build_files(context, options.dockerfile or "Dockerfile")
    backend = DaemonBuildBackend(daemon, network_mode=options.networkmode, extra_hosts=options.extrahosts)
    executor = BuildExecutor(backend, BuildCache(daemon.root), output, context, options)
    image_id = await executor.build(dockerfile)
    output.aux({"ID": image_id})
    await output.stream(f"Successfully built {short(image_id)}\n")
    for tag in options.tags:
        await DaemonBuildBackend(daemon).tag_image(image_id, tag)
        await output.stream(f"Successfully tagged {tag}\n")
    output.result(image_id)
    return image_id


def cleanup_context(context: Path) -> None:
    shutil.rmtree(context.parent, ignore_errors=True)


__all__ = ["BuildFailed", "DaemonBuildBackend", "cleanup_context", "image_build", "receive_context"]
