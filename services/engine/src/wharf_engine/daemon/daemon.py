"""The Daemon facade: one object every router talks to; each operation lives in its own module."""

from __future__ import annotations

import asyncio
import contextvars
import os
import socket
import uuid
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any, BinaryIO

import structlog
from wharf_common.errors import SystemFault
from wharf_common.tarfiles import ExtractLimits

from wharf_engine.build.output import BuildOutput
from wharf_engine.containers.container import Container, Stdio
from wharf_engine.containers.store import ContainerStore
from wharf_engine.distribution import AuthConfig, RegistryService, V1IdStore
from wharf_engine.distribution.progress import ProgressStream
from wharf_engine.distribution.v2meta import BlobMetadataStore
from wharf_engine.idmap import IdMap
from wharf_engine.images.digests import RepoDigestStore
from wharf_engine.images.references import ReferenceStore
from wharf_engine.images.store import ImageStore
from wharf_engine.layers.idmapped import IdmappedOverlay
from wharf_engine.layers.store import LayerStore
from wharf_engine.logs.jsonfile import LogBell, LogOptions, LogRecord
from wharf_engine.network.pool import AddressPool
from wharf_engine.runtime.base import OCIRuntime
from wharf_engine.settings import Settings
from wharf_engine.shapes import (
    BuildOptions,
    CommitOptions,
    ContainerInspect,
    ContainerSummary,
    CreateOptions,
    CreateResponse,
    HistoryResponseItem,
    ImageInspect,
    ImageSummary,
    StopOptions,
)
from wharf_engine.volumes.store import VolumeStore

from . import (
    archive,
    attach,
    build,
    changes,
    commit,
    cp,
    create,
    df,
    discovery,
    images,
    inspect,
    lifecycle,
    logs,
    monitor,
    network_connect,
    networks,
    pull,
    push,
    remove,
    rename,
    restore,
    search,
    start,
    stats,
    top,
    update,
    userns,
    volumes,
    wait,
)
from . import auth as registry_auth
from . import exec as execs
from . import image_delete as rmi
from .events import EventBus
from .health import HealthMonitors
from .network import Networks

log = structlog.get_logger(__name__)


class Daemon:
    """Holds the stores and the runtime; methods are named after Docker's API operations."""

    def __init__(self, settings: Settings, *, runtime: OCIRuntime) -> None:
        self.settings = settings
        self.root = settings.data_root
        self.root.mkdir(parents=True, exist_ok=True)
        self.run_dir = settings.run_dir
        if len(str(self.run_dir)) > 60:  # sun_path holds 108 bytes: <run_dir>/<24 hex>.sock
            raise SystemFault(f"exec root {self.run_dir} is too long for unix sockets: set --exec-root")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        remap = userns.setup(settings, self.root / "tmp" / "userns-probe")
        self.remap: IdMap | None = remap[0] if remap is not None else None
        self.idmapped: IdmappedOverlay | None = remap[1] if remap is not None else None
        chowned = self.remap if self.remap is not None and self.idmapped is None else None
        if chowned is not None:  # as dockerd: layers chowned into a range get a data root of their own
            self.root = userns.range_root(settings.data_root, chowned)
        self.layers = LayerStore(
            self.root, ExtractLimits(settings.layer_max_bytes, settings.layer_max_files), shift=chowned
        )
        self.images = ImageStore(self.root)
        self.references = ReferenceStore(self.root)
        self.containers = ContainerStore(self.root)
        self.volumes = VolumeStore(self.root)
        self.networks = Networks(
            settings.data_root,
            settings.bridge,
            settings.subnet,
            icc=settings.icc,
            masquerade=settings.masquerade,
            pools=tuple(AddressPool.parse(p.base, p.size) for p in settings.default_address_pools),
        )
        self.dns = discovery.dns_server(self)  # answers on user networks' gateways
        self.events = EventBus()
        self.log_bells: dict[str, LogBell] = {}  # container id -> its log followers' bell (logs.py)
        self.runtime = runtime
        self.id = self._engine_id()
        self.image_lock = asyncio.Lock()
        self.v1ids = V1IdStore(self.root)
        self.repo_digests = RepoDigestStore(self.root)  # name@sha256:… of v2 pulls and pushes
        self.blob_metadata = BlobMetadataStore(self.root)  # layer → registry blobs (v2 push)
        self.registries = RegistryService.from_settings(settings)  # names → index/registry, pings
        self._tasks: set[asyncio.Task[None]] = set()
        self.execs: dict[str, execs.Exec] = {}
        self.health = HealthMonitors(self)

    def container_event(self, container: Container, action: str, **extra: str) -> None:
        attrs = {
            **(container.config.get("Labels") or {}),
            "image": str(container.config.get("Image") or ""),
            "name": container.name,
            **extra,
        }
        self.events.emit("container", action, container.id, attrs)

    def background(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` as a task of the daemon's own, outside any request's context."""
        task = asyncio.get_running_loop().create_task(coro, context=contextvars.Context())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def on_exit(self, container: Container) -> None:
        """A shim has gone: settle its container in the background."""
        self.health.stop(container.id)
        # a fresh context: the exit belongs to no request (not the start that armed the watch)
        task = asyncio.get_running_loop().create_task(
            monitor.handle_exit(self, container), context=contextvars.Context()
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _engine_id(self) -> str:
        path = self.settings.data_root / "engine-id"
        if not path.exists():
            path.write_text(str(uuid.uuid4()))
        return path.read_text().strip()

    @property
    def hostname(self) -> str:
        return socket.gethostname()

    async def restore(self) -> None:
        await restore.restore(self)
        for container in self.containers.all():
            if container.state.running:  # probes begin again, as after Docker's restart
                self.health.start(container)

    async def shutdown(self) -> None:
        """Leave containers running: their shims own them. Nothing to tear down."""
        self.runtime.close()
        self.health.close()
        if self.idmapped is not None:
            self.idmapped.close()
        await self.dns.close_all()
        self.networks.teardown()
        log.info("engine.shutdown", containers=len(self.containers.all()))

    # -- containers ---------------------------------------------------------
    async def container_create(self, options: CreateOptions) -> CreateResponse:
        return await create.container_create(self, options)

    async def container_start(self, ref: str) -> None:
        await start.container_start(self, ref)

    async def container_stop(self, ref: str, options: StopOptions) -> None:
        await lifecycle.container_stop(self, ref, options)

    async def container_kill(self, ref: str, signal: str | None) -> None:
        await lifecycle.container_kill(self, ref, signal)

    async def container_pause(self, ref: str) -> None:
        await lifecycle.container_pause(self, ref)

    async def container_unpause(self, ref: str) -> None:
        await lifecycle.container_unpause(self, ref)

    async def container_commit(self, ref: str, options: CommitOptions) -> str:
        return await commit.container_commit(self, ref, options)

    def container_changes(self, ref: str) -> list[dict[str, Any]]:
        return changes.container_changes(self, self.containers.get(ref))

    async def container_export(self, ref: str, out: BinaryIO) -> None:
        await changes.container_export(self, self.containers.get(ref), out)

    async def container_restart(self, ref: str, timeout: int | None) -> None:
        await lifecycle.container_restart(self, ref, timeout)

    async def container_remove(self, ref: str, *, force: bool, volumes: bool) -> None:
        await remove.container_remove(self, ref, force=force, volumes=volumes)

    def container_remove_link(self, name: str) -> None:
        remove.container_remove_link(self, name)

    async def container_prune(self) -> dict[str, Any]:
        return await remove.container_prune(self)

    async def container_wait(self, ref: str, condition: str) -> int:
        return await wait.container_wait(self, ref, condition)

    def container_get(self, ref: str) -> Container:
        return self.containers.get(ref)

    def container_inspect(self, ref: str, *, size: bool = False) -> ContainerInspect:
        return inspect.container_inspect(self, self.containers.get(ref), size=size)

    def container_list(
        self, *, all: bool, limit: int, size: bool, filters: dict[str, list[str]]
    ) -> list[ContainerSummary]:
        return inspect.container_list(self, all=all, limit=limit, size=size, filters=filters)

    def container_logs(self, ref: str, opts: LogOptions) -> AsyncIterator[LogRecord]:
        return logs.container_logs(self, self.containers.get(ref), opts)

    async def container_attach(
        self, container: Container
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await attach.container_attach(self, container)

    async def container_resize(self, ref: str, height: int, width: int) -> None:
        await attach.container_resize(self, self.containers.get(ref), height, width)

    # -- images -------------------------------------------------------------
    def image_list(self, *, all: bool, filters: dict[str, list[str]]) -> list[ImageSummary]:
        return images.image_list(self, all=all, filters=filters)

    def image_inspect(self, ref: str) -> ImageInspect:
        return images.image_inspect(self, ref)

    def image_history(self, ref: str) -> list[HistoryResponseItem]:
        return images.image_history(self, ref)

    async def image_tag(self, ref: str, repo: str, tag: str | None) -> None:
        await images.image_tag(self, ref, repo, tag)

    async def image_delete(self, ref: str, *, force: bool, prune: bool) -> list[dict[str, str]]:
        return await rmi.image_delete(self, ref, force=force, prune=prune)

    async def image_prune(self, *, dangling_only: bool) -> dict[str, Any]:
        return await rmi.image_prune(self, dangling_only=dangling_only)

    async def image_import(
        self, stream: BinaryIO, *, repo: str | None, tag: str | None, changes: list[str], message: str
    ) -> str:
        return await archive.image_import(self, stream, repo=repo, tag=tag, changes=changes, message=message)

    async def image_import_url(
        self, url: str, *, repo: str | None, tag: str | None, changes: list[str], message: str
    ) -> str:
        return await archive.image_import_url(self, url, repo=repo, tag=tag, changes=changes, message=message)

    async def image_save(self, names: list[str], out: BinaryIO) -> None:
        await archive.image_save(self, names, out)

    async def image_load(self, stream: BinaryIO, *, quiet: bool = True) -> list[dict[str, Any]]:
        return await archive.image_load(self, stream, quiet=quiet)

    # -- distribution -------------------------------------------------------
    def image_pull(
        self, name: str, tag: str | None, auth: AuthConfig, platform: str | None = None
    ) -> ProgressStream:
        return pull.image_pull(self, name, tag, auth, platform)

    def image_push(self, name: str, tag: str | None, auth: AuthConfig) -> ProgressStream:
        return push.image_push(self, name, tag, auth)

    async def registry_login(self, auth: AuthConfig) -> dict[str, str]:
        return await registry_auth.registry_login(self, auth)

    async def image_search(self, term: str, limit: int, auth: AuthConfig) -> list[dict[str, Any]]:
        return await search.image_search(self, term, limit, auth)

    def container_rename(self, ref: str, name: str) -> None:
        rename.container_rename(self, ref, name)

    async def container_update(self, ref: str, update_config: dict[str, Any]) -> dict[str, Any]:
        return await update.container_update(self, ref, update_config)

    async def container_top(self, ref: str, ps_args: str) -> dict[str, Any]:
        return await top.container_top(self, ref, ps_args)

    def container_stats(self, ref: str, *, stream: bool) -> AsyncIterator[dict[str, Any]]:
        return stats.container_stats(self, ref, stream=stream)

    async def container_path_stat(self, ref: str, path: str) -> dict[str, Any]:
        return await cp.path_stat(self, ref, path)

    async def container_archive_get(self, ref: str, path: str, out: BinaryIO) -> None:
        await cp.read_archive(self, ref, path, out)

    async def container_archive_put(self, ref: str, path: str, stream: BinaryIO) -> None:
        await cp.write_archive(self, ref, path, stream)

    def system_events(
        self, *, since: float, until: float, filters: dict[str, list[str]]
    ) -> AsyncIterator[dict[str, Any]]:
        return self.events.stream(since=since, until=until, filters=filters)

    # -- volumes ------------------------------------------------------------
    def volume_create(
        self,
        name: str | None,
        labels: dict[str, str],
        *,
        driver: str = "",
        driver_opts: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        volumes.check_driver(driver, driver_opts)
        return volumes.volume_inspect(self, self.volumes.create(name, labels=labels)["Name"])

    def volume_list(self, filters: dict[str, list[str]]) -> dict[str, Any]:
        return volumes.volume_list(self, filters)

    def volume_inspect(self, name: str) -> dict[str, Any]:
        return volumes.volume_inspect(self, name)

    def volume_remove(self, name: str, *, force: bool) -> None:
        volumes.volume_remove(self, name, force=force)

    def volume_prune(self, *, all_volumes: bool = False) -> dict[str, Any]:
        return volumes.volume_prune(self, all_volumes=all_volumes)

    # -- networks -----------------------------------------------------------
    async def network_create(self, body: dict[str, Any]) -> dict[str, Any]:
        return await networks.network_create(self, body)

    def network_inspect(self, ref: str) -> dict[str, Any]:
        return networks.network_inspect(self, ref)

    def network_list(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        return networks.network_list(self, filters)

    async def network_connect(self, ref: str, container: str, config: dict[str, Any] | None) -> None:
        await network_connect.network_connect(self, ref, container, config)

    async def network_disconnect(self, ref: str, container: str, *, force: bool) -> None:
        await network_connect.network_disconnect(self, ref, container, force=force)

    async def network_remove(self, ref: str) -> None:
        await networks.network_remove(self, ref)

    async def network_prune(self, filters: dict[str, list[str]]) -> dict[str, Any]:
        return await networks.network_prune(self, filters)

    # -- exec ---------------------------------------------------------------
    def exec_create(self, ref: str, config: dict[str, Any]) -> str:
        return execs.exec_create(self, ref, config)

    def exec_inspect(self, exec_id: str) -> dict[str, Any]:
        return execs.exec_get(self, exec_id).to_api()

    async def exec_start(
        self, exec_id: str, *, detach: bool, console_size: tuple[int, int] | None = None
    ) -> Stdio | None:
        return await execs.exec_start(self, exec_id, detach=detach, console_size=console_size)

    async def exec_resize(self, exec_id: str, height: int, width: int) -> None:
        await execs.exec_resize(self, exec_id, height, width)

    def exec_check(self, exec_id: str) -> None:
        execs.exec_check(self, exec_id)

    async def exec_wait(self, exec_id: str) -> None:
        await execs.exec_wait(self, exec_id)

    # -- build --------------------------------------------------------------
    async def build_receive_context(self, stream: BinaryIO) -> Path:
        return await asyncio.to_thread(build.receive_context, self, stream)

    async def build_fetch_remote(self, url: str) -> Path:
        return await build.fetch_remote(self, url)

    def build_check(self, context: Path, dockerfile: str) -> None:
        build.load_dockerfile(context, dockerfile)

    async def image_build(self, context: Path, options: BuildOptions, output: BuildOutput) -> str:
        return await build.image_build(self, context, options, output)

    def build_cleanup(self, context: Path) -> None:
        build.cleanup_context(context)

    # -- system -------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        return inspect.system_info(self)

    def system_df(self, kinds: list[str]) -> dict[str, Any]:
        return df.system_df(self, kinds)

    def ncpu(self) -> int:
        return os.cpu_count() or 1
