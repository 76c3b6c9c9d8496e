"""ContainerStore: every container in memory, each persisted in ``<root>/containers/<id>/``."""

from __future__ import annotations

import secrets
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import structlog

from .container import Container
from .errors import AmbiguousContainer, NameConflict, NoSuchContainer

log = structlog.get_logger(__name__)


class ContainerStore:
    def __init__(self, root: Path) -> None:
        self.root = root / "containers"
        self.root.mkdir(parents=True, exist_ok=True)
        self.trash = root / "containers-trash"  # removed containers' directories, deleted in the background
        self.by_id: dict[str, Container] = {}
        self.by_name: dict[str, str] = {}
        self._sweeper = ThreadPoolExecutor(1, thread_name_prefix="container-trash")

    def load(self) -> list[Container]:
        """Read every container from disk; a directory without a record is a leftover and goes."""
        shutil.rmtree(self.trash, ignore_errors=True)  # what an engine that stopped had no time to delete
        for d in sorted(self.root.iterdir()):
            record = d / "container.json"
            if not record.exists():
                shutil.rmtree(d, ignore_errors=True)
                continue
            try:
                container = Container.from_json(record.read_bytes(), d)
            except (ValueError, TypeError, KeyError) as exc:
                log.error("container.load_failed", dir=str(d), error=str(exc))
                continue
            self.by_id[container.id] = container
            self.by_name[container.name] = container.id
        return list(self.by_id.values())

    def directory(self, cid: str) -> Path:
        return self.root / cid

    def reserve_name(self, name: str, cid: str) -> None:
        owner = self.by_name.get(name)
        if owner is not None and owner != cid:
            raise NameConflict(name, owner)
        self.by_name[name] = cid

    def release_name(self, name: str) -> None:
        self.by_name.pop(name, None)

    def add(self, container: Container) -> None:
        container.save()
        self.by_id[container.id] = container

    def remove(self, container: Container) -> None:
        self.by_id.pop(container.id, None)
        if self.by_name.get(container.name) == container.id:
            del self.by_name[container.name]
        # out of sight at once (a rename), deleted off the request's path, so --rm does not wait
        trash = self.trash / f"{container.id}.{secrets.token_hex(4)}"
        try:
            self.trash.mkdir(exist_ok=True)
            container.dir.rename(trash)
        except OSError:
            shutil.rmtree(container.dir, ignore_errors=True)
        else:
            self._sweeper.submit(shutil.rmtree, trash, ignore_errors=True)

    def get(self, ref: str) -> Container:
        """By full id, by name (with or without ``/``), then by unique id prefix, as Docker."""
        if ref in self.by_id:
            return self.by_id[ref]
        cid = self.by_name.get(ref.removeprefix("/"))
        if cid is not None:
            return self.by_id[cid]
        if ref:
            matches = [c for i, c in self.by_id.items() if i.startswith(ref)]
            if len(matches) > 1:
                raise AmbiguousContainer(ref)
            if matches:
                return matches[0]
        raise NoSuchContainer(ref)

    def all(self) -> list[Container]:
        return list(self.by_id.values())
