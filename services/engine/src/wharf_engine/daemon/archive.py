"""ImageImport (``create?fromSrc=``), ImageSave and ImageLoad (the docker-archive format)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import platform
import tarfile
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from wharf_common import jsonsafe
from wharf_common.errors import InvalidArgument
from wharf_common.reference import InvalidReference, parse_reference
from wharf_common.tarfiles import extract_archive

from wharf_engine.containers.container import now_rfc3339
from wharf_engine.images.changes import apply_changes

from .create import DEFAULT_PATH
from .images import resolve_image

if TYPE_CHECKING:
    from .daemon import Daemon


def arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def target_ref(repo: str | None, tag: str | None) -> str | None:
    if not repo:
        return None
    try:
        ref = parse_reference(repo if not tag else f"{repo}:{tag}")
    except InvalidReference as exc:
        raise InvalidArgument(str(exc)) from None
    return str(ref.with_default_tag())


async def image_import(
    daemon: Daemon, stream: BinaryIO, *, repo: str | None, tag: str | None, changes: list[str], message: str
) -> str:
    ref = target_ref(repo, tag)
    config = apply_changes({"Env": [DEFAULT_PATH]}, changes)  # refuse bad changes before reading
    layer = await asyncio.to_thread(daemon.layers.register, stream)
    created = now_rfc3339()
    comment = message or "Imported from -"
    image = {
        "architecture": arch(),
        "os": "linux",
        "created": created,
        "comment": comment,
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
        "history": [{"created": created, "created_by": "", "comment": comment}],
    }
    async with daemon.image_lock:
        image_id = daemon.images.create(image)
        if ref:
            daemon.references.add(ref, image_id)
    return image_id


async def image_import_url(
    daemon: Daemon, url: str, *, repo: str | None, tag: str | None, changes: list[str], message: str
) -> str:
    """``docker import URL``: fetch the tarball over HTTP(S), streaming it into the layer store."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https"):
        raise InvalidArgument(f"unsupported import source {url!r}: use -, http:// or https://")
    apply_changes({}, changes)  # refuse bad changes before fetching

    def fetch_and_import() -> Any:
        try:
            response = urllib.request.urlopen(url, timeout=60)
        except (OSError, ValueError) as exc:
            raise InvalidArgument(f"error downloading {url}: {exc}") from None
        return response

    response = await asyncio.to_thread(fetch_and_import)
    with response:
        return await image_import(
            daemon, response, repo=repo, tag=tag, changes=changes, message=message or f"Imported from {url}"
        )


def _chain_ids(diff_ids: list[str]) -> list[str]:
    chain: list[str] = []
    for diff_id in diff_ids:
        if not chain:
            chain.append(diff_id)
        else:
            chain.append("sha256:" + hashlib.sha256(f"{chain[-1]} {diff_id}".encode()).hexdigest())
    return chain


def _add_bytes(out: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    out.addfile(info, io.BytesIO(data))


def _save(daemon: Daemon, names: list[str], fileobj: BinaryIO) -> None:
    manifest: list[dict[str, Any]] = []
    repositories: dict[str, dict[str, str]] = {}
    written: set[str] = set()
    with (
        tempfile.TemporaryDirectory(dir=daemon.layers.tmp) as tmp,
        tarfile.open(fileobj=fileobj, mode="w|") as out,
    ):
        for name in names:
            image_id = resolve_image(daemon, name)
            raw = daemon.images.raw(image_id)
            config = json.loads(raw)
            diff_ids = config.get("rootfs", {}).get("diff_ids", [])
            layers = []
            for diff_id, chain_id in zip(diff_ids, _chain_ids(diff_ids), strict=True):
                v1 = chain_id[7:]
                layers.append(f"{v1}/layer.tar")
                if v1 in written:
                    continue
                written.add(v1)
                layer_file = Path(tmp) / v1
                with open(layer_file, "wb") as f:
                    daemon.layers.export(diff_id, f)
                dirinfo = tarfile.TarInfo(v1)
                dirinfo.type = tarfile.DIRTYPE
                dirinfo.mode = 0o755
                out.addfile(dirinfo)
                _add_bytes(out, f"{v1}/VERSION", b"1.0")
                _add_bytes(
                    out, f"{v1}/json", json.dumps({"id": v1, "created": config.get("created")}).encode()
                )
                out.add(str(layer_file), arcname=f"{v1}/layer.tar")
                layer_file.unlink()
            if f"{image_id[7:]}.json" not in written:
                written.add(f"{image_id[7:]}.json")
                _add_bytes(out, f"{image_id[7:]}.json", raw)
            key = None
            try:
                key = str(parse_reference(name).with_default_tag())
            except InvalidReference:
                pass
            tags = (
                [key]
                if key and daemon.references.get(key) == image_id
                else daemon.references.refs_for(image_id)
            )
            manifest.append({"Config": f"{image_id[7:]}.json", "RepoTags": tags or None, "Layers": layers})
            for tag in tags:
                repo, _, t = tag.rpartition(":")
                if layers:
                    repositories.setdefault(repo, {})[t] = layers[-1].split("/")[0]
        _add_bytes(out, "manifest.json", json.dumps(manifest).encode())
        _add_bytes(out, "repositories", json.dumps(repositories).encode())


async def image_save(daemon: Daemon, names: list[str], out: BinaryIO) -> None:
    for name in names:
        resolve_image(daemon, name)  # 404 before anything is written
    await asyncio.to_thread(_save, daemon, names, out)


def _load(daemon: Daemon, stream: BinaryIO) -> tuple[list[tuple[str, list[str]]], list[tuple[str, int]]]:
    """(image id and tags, per image), (diff id and size, per layer not held before)."""
    with tempfile.TemporaryDirectory(dir=daemon.layers.tmp) as tmp:
        try:
            extract_archive(stream, Path(tmp), limits=daemon.layers.limits)
        except OSError as exc:
            raise InvalidArgument(f"invalid archive: {exc}") from None
        root = Path(tmp)
        try:
            manifest = jsonsafe.loads((root / "manifest.json").read_text())
        except (OSError, ValueError):
            raise InvalidArgument("invalid archive: no valid manifest.json") from None
        loaded = []
        layers: list[tuple[str, int]] = []
        for entry in manifest:
            raw = _inside(root, entry["Config"]).read_bytes()
            config = jsonsafe.loads(raw)
            want = config.get("rootfs", {}).get("diff_ids", [])
            if len(want) != len(entry.get("Layers", [])):
                raise InvalidArgument("invalid manifest, layers length mismatch")
            for expected, layer_path in zip(want, entry["Layers"], strict=True):
                if daemon.layers.has(expected):
                    continue
                with open(_inside(root, layer_path), "rb") as f:
                    layer = daemon.layers.register(f)
                if layer.diff_id != expected:
                    raise InvalidArgument(
                        f"invalid diffID for layer: expected {expected}, got {layer.diff_id}"
                    )
                layers.append((layer.diff_id, layer.size))
            image_id = daemon.images.put_raw(raw)
            loaded.append((image_id, list(entry.get("RepoTags") or [])))
        return loaded, layers


def _inside(root: Path, name: str) -> Path:
    path = (root / name).resolve()
    if not path.is_relative_to(root.resolve()):
        raise InvalidArgument(f"invalid archive: path {name} escapes the archive")
    return path


async def image_load(daemon: Daemon, stream: BinaryIO, *, quiet: bool = True) -> list[dict[str, Any]]:
    """The load's JSON messages: "Loading layer" progress unless ``quiet``, then what was loaded."""
    loaded, layers = await asyncio.to_thread(_load, daemon, stream)
    messages: list[dict[str, Any]] = []
    if not quiet:
        messages += [
            {
                "status": "Loading layer",
                "progressDetail": {"current": size, "total": size},
                "id": diff_id.removeprefix("sha256:")[:12],
            }
            for diff_id, size in layers
        ]
    async with daemon.image_lock:
        for image_id, tags in loaded:
            for tag in tags:
                ref = target_ref(tag, None)
                if ref:
                    daemon.references.add(ref, image_id)
                    messages.append({"stream": f"Loaded image: {ref}\n"})
            if not tags:
                messages.append({"stream": f"Loaded image ID: {image_id}\n"})
    return messages
