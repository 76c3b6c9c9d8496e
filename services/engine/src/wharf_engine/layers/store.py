"""LayerStore: one directory per layer, named by its diff id, written atomically."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from wharf_common.errors import NotFound
from wharf_common.tarfiles import ExtractLimits, extract_layer, open_decompressed, write_tar

from wharf_engine.idmap import IdMap

from .shift import shift_tree, unshifted


@dataclass(frozen=True, slots=True)
class Layer:
    diff_id: str  # "sha256:<hex>"
    size: int
    path: Path  # the extracted diff


class NoSuchLayer(NotFound):
    def __init__(self, diff_id: str) -> None:
        super().__init__(f"No such layer: {diff_id}")


class LayerStore:
    """``<root>/layers/<hex>/diff`` plus ``meta.json``; a layer appears only when complete."""

    def __init__(
        self, root: Path, limits: ExtractLimits | None = None, *, shift: IdMap | None = None
    ) -> None:
        self.limits = limits or ExtractLimits()
        """How far any archive the engine extracts may expand (layers, contexts, ``cp``)."""
        self.shift = shift  # layers kept chowned into this range (--userns-remap without idmapped roots)
        self._owner = unshifted(shift) if shift is not None else None
        self.root = root / "layers"
        self.links = root / "l"
        self.links.mkdir(parents=True, exist_ok=True)
        self.tmp = root / "tmp"
        self.root.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self._publishing = threading.Lock()

    def _dir(self, diff_id: str) -> Path:
        return self.root / diff_id.removeprefix("sha256:")

    def has(self, diff_id: str) -> bool:
        return (self._dir(diff_id) / "meta.json").exists()

    def get(self, diff_id: str) -> Layer:
        d = self._dir(diff_id)
        try:
            meta = json.loads((d / "meta.json").read_text())
        except FileNotFoundError:
            raise NoSuchLayer(diff_id) from None
        return Layer(diff_id=diff_id, size=int(meta["size"]), path=d / "diff")

    def short_path(self, diff_id: str) -> Path:
        """A short link to the layer's diff for overlay's lowerdir, which must fit in one page (4 KiB):
        with ``<root>/l/<16 hex>`` an image can have over 100 layers (Docker allows 128)."""
        hexid = diff_id.removeprefix("sha256:")
        link = self.links / hexid[:16]
        if not link.is_symlink():
            self.get(diff_id)  # NotFound for a layer that is not there
            tmp = self.links / f".{hexid[:16]}.{os.getpid()}"
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(Path("..") / "layers" / hexid / "diff")
            tmp.replace(link)
        return link

    def register(self, stream: BinaryIO) -> Layer:
        """Extract a (possibly compressed) layer tar; blocking, so call it in a thread."""
        work = Path(tempfile.mkdtemp(prefix="layer-", dir=self.tmp))
        try:
            # the bytes as received are kept: a tar rebuilt from the extracted files would not hash
            # to the diff id again, and `save`/push must hand out exactly what the id names
            with open(work / "source", "wb") as source:
                tee = cast(BinaryIO, _Tee(stream, source))
                stats = extract_layer(tee, work / "diff", allow_devices=True, limits=self.limits)
                while tee.read(1 << 20):  # to the very end: the source is kept whole, and a
                    pass  # streamed input says there (end of file) that it was verified
            if self.shift is not None:
                shift_tree(work / "diff", self.shift)
            return self._publish(work, stats.diff_id, stats.size)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise

    def register_dir(self, src: Path, *, move: bool) -> Layer:
        """A directory in overlay format (an upper dir) as a layer; blocking.

        With ``move`` the directory itself becomes the layer (a build step's container is
        going away); otherwise its content is copied (commit of a container that lives on).
        """
        work = Path(tempfile.mkdtemp(prefix="layer-", dir=self.tmp))
        try:
            if move:
                with open(os.devnull, "wb") as sink:
                    diff_id = write_tar(src, sink, owner=self._owner)
                if self.shift is not None:
                    shift_tree(src, self.shift)  # what the engine wrote in (COPY) has container ids
                src.rename(work / "diff")
                size = _regular_size(work / "diff")
            else:
                spool = work / "source"  # kept: export hands out these very bytes
                with open(spool, "wb") as out:
                    write_tar(src, out, owner=self._owner)
                with open(spool, "rb") as f:
                    stats = extract_layer(f, work / "diff", allow_devices=True)
                if self.shift is not None:
                    shift_tree(work / "diff", self.shift)
                diff_id, size = stats.diff_id, stats.size
            return self._publish(work, diff_id, size)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise

    def _publish(self, work: Path, diff_id: str, size: int) -> Layer:
        """Make the layer prepared in ``work`` visible under its diff id (or drop it if known);
        one at a time, so two registrations of the same content never race."""
        (work / "meta.json").write_text(json.dumps({"diff_id": diff_id, "size": size}))
        with self._publishing:
            return self._publish_locked(work, diff_id)

    def _publish_locked(self, work: Path, diff_id: str) -> Layer:
        final = self._dir(diff_id)
        if self.has(diff_id):
            shutil.rmtree(work)
        else:
            if final.exists() and not self.has(diff_id):  # a leftover without meta.json: never completed
                shutil.rmtree(final, ignore_errors=True)
            try:
                work.rename(final)
            except OSError:
                if not self.has(diff_id):  # not a concurrent registration of the same layer
                    raise
                shutil.rmtree(work)  # the same content landed first from another registration
        return self.get(diff_id)

    def export(self, diff_id: str, out: BinaryIO) -> str:
        """Write the layer's uncompressed tar, byte for byte the one its diff id names."""
        source = self._dir(diff_id) / "source"
        if not source.exists():  # a layer made from a directory: its tar is rebuilt the same way
            return write_tar(self.get(diff_id).path, out, owner=self._owner)
        with open(source, "rb") as raw:
            shutil.copyfileobj(open_decompressed(raw), out, 1 << 20)
        return diff_id

    def gzip_source(self, diff_id: str) -> Path | None:
        """The layer's bytes as they came, when they are a gzip stream (a pulled layer, one loaded
        from a compressed archive): a push can send them as they are. None otherwise."""
        source = self._dir(diff_id) / "source"
        try:
            with open(source, "rb") as f:
                head = f.read(2)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return source if head == b"\x1f\x8b" else None

    def remove(self, diff_id: str) -> None:
        (self.links / diff_id.removeprefix("sha256:")[:16]).unlink(missing_ok=True)
        d = self._dir(diff_id)
        if d.exists():
            trash = Path(tempfile.mkdtemp(prefix="rm-", dir=self.tmp))
            d.rename(trash / "layer")
            shutil.rmtree(trash, ignore_errors=True)

    def all(self) -> list[str]:
        return ["sha256:" + p.name for p in self.root.iterdir() if (p / "meta.json").exists()]

    def clean_tmp(self) -> None:
        """Remove what an interrupted import or removal left behind (called at start-up)."""
        for p in self.tmp.iterdir():
            shutil.rmtree(p, ignore_errors=True)


def _regular_size(root: Path) -> int:
    """Bytes in regular files (whiteouts, links and devices weigh nothing), as LayerStats.size."""
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            st = Path(dirpath, name).lstat()
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
    return total


class _Tee:
    """Reads from ``source`` and keeps a copy of every byte in ``copy``."""

    def __init__(self, source: BinaryIO, copy: BinaryIO) -> None:
        self.source = source
        self.copy = copy

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.copy.write(data)
        return data
