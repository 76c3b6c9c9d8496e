"""Decompression bombs through every way an archive enters a real engine (pull, load, import,
build context, ADD, docker cp) are refused at the engine's expansion limit with a clear error,
leaving no temporary files; a legitimate 1 TiB sparse file goes in sparsely."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import tarfile
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from engines import Engine, make_engine, wait_for
from seed import seed
from wharf_registry.testing import RegistryProcess, image_json, payload_checksum, random_image_id

MiB = 1 << 20
LIMIT = 16 * MiB
REFUSAL = "archive expands to more than 16.8MB (the limit)"


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        self.left -= size
        return bytes(size)


def tar_of(files: dict[str, bytes | int], *, compress: bool = False) -> bytes:
    """A tar of ``files``: bytes, or an int for that many zeros (streamed, never held)."""
    out = io.BytesIO()
    sink = gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1) if compress else out
    with tarfile.open(fileobj=sink, mode="w|") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.mode = 0o644
            if isinstance(content, int):
                info.size = content
                tar.addfile(info, _Zeros(content))
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    if compress:
        sink.close()
    return out.getvalue()


def bomb() -> bytes:
    """A gzip layer of about 1 MiB: a small file, then 256 MiB of zeros."""
    return tar_of({"added-by-bomb": b"x\n", "bomb": 256 * MiB}, compress=True)


def leftovers(engine: Engine) -> list[str]:
    return [p.name for p in (engine.root / "data" / "tmp").iterdir()]


def no_leftovers(engine: Engine) -> None:
    wait_for(lambda: not leftovers(engine))
    assert not leftovers(engine)


def messages(body: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in body.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def engine(busybox_tar: Path) -> Iterator[Engine]:
    """An engine whose archives may expand to 16 MiB of data, with busybox."""
    if os.geteuid() != 0:
        pytest.skip("the engine needs root")
    eng = make_engine()
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("WHARF_ENGINE_LAYER_MAX_BYTES", str(LIMIT))
            eng.start()
        seed(str(eng.socket), busybox_tar)
        yield eng
    finally:
        eng.cleanup()


@pytest.fixture(scope="module")
def registry() -> Iterator[RegistryProcess]:
    process = RegistryProcess()
    try:
        process.start()
        yield process
    finally:
        process.cleanup()


def test_pull_of_a_bomb_layer(engine: Engine, registry: RegistryProcess) -> None:
    image_id, layer = random_image_id(), bomb()
    raw = image_json(image_id)
    with httpx.Client(base_url=registry.url, timeout=60) as http:
        assert http.put(f"/v1/images/{image_id}/json", content=raw).status_code == 200
        assert http.put(f"/v1/images/{image_id}/layer", content=layer).status_code == 200
        checksum = {"X-Docker-Checksum-Payload": payload_checksum(raw, layer)}
        assert http.put(f"/v1/images/{image_id}/checksum", headers=checksum).status_code == 200
        assert http.put("/v1/repositories/bomb/pull/tags/v1", content=json.dumps(image_id)).status_code == 200
    name = f"127.0.0.1:{registry.port}/bomb/pull"
    query = urllib.parse.urlencode({"fromImage": name, "tag": "v1"})
    status, body = engine.request("POST", f"/images/create?{query}")
    assert status == 200
    assert REFUSAL in json.dumps(messages(body)[-1]["errorDetail"])
    assert engine.request("GET", f"/images/{name}:v1/json")[0] == 404
    no_leftovers(engine)


def test_import_of_a_bomb(engine: Engine) -> None:
    status, body = engine.request("POST", "/images/create?fromSrc=-&repo=bomb/import", bomb())
    assert status == 400 and json.loads(body) == {"message": REFUSAL}
    no_leftovers(engine)


def test_load_of_a_bomb_layer_and_of_a_bomb_archive(engine: Engine) -> None:
    rootfs = {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]}
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {}, "rootfs": rootfs}).encode()
    manifest = json.dumps([{"Config": "c.json", "RepoTags": ["bomb/load:v1"], "Layers": ["l/layer.tar"]}])
    saved = tar_of({"manifest.json": manifest.encode(), "c.json": config, "l/layer.tar": bomb()})
    refused = {"errorDetail": {"message": REFUSAL}, "error": REFUSAL}  # Docker's load stream: a 200
    status, body = engine.request("POST", "/images/load", saved)
    assert status == 200 and json.loads(body) == refused
    no_leftovers(engine)
    status, body = engine.request("POST", "/images/load", bomb())  # the saved archive itself
    assert status == 200 and json.loads(body) == refused
    no_leftovers(engine)
    assert engine.request("GET", "/images/bomb/load:v1/json")[0] == 404


def test_build_context_bomb_and_add_of_a_bomb(engine: Engine) -> None:
    status, body = engine.request("POST", "/build?t=bomb/context", bomb())
    assert status == 400 and json.loads(body) == {"message": REFUSAL}
    no_leftovers(engine)
    context = tar_of({"Dockerfile": b"FROM busybox\nADD bomb.tar.gz /opt/\n", "bomb.tar.gz": bomb()})
    status, body = engine.request("POST", "/build?t=bomb/add", context)
    assert status == 200
    assert REFUSAL in json.dumps(messages(body)[-1])
    assert engine.request("GET", "/images/bomb/add/json")[0] == 404
    no_leftovers(engine)


def test_docker_cp_of_a_bomb(engine: Engine) -> None:
    container = engine.json("POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"]})["Id"]
    try:
        status, body = engine.request("PUT", f"/containers/{container}/archive?path=/tmp", bomb())
        assert status == 400 and json.loads(body) == {"message": REFUSAL}
        for left in ("/tmp/bomb", "/tmp/added-by-bomb"):  # what it wrote before the limit is gone
            assert engine.request("HEAD", f"/containers/{container}/archive?path={left}")[0] == 404
        assert engine.request("HEAD", f"/containers/{container}/archive?path=/tmp")[0] == 200
        no_leftovers(engine)
    finally:
        engine.request("DELETE", f"/containers/{container}?force=1")


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar is not installed")
def test_a_one_tebibyte_sparse_file_is_imported_sparsely(engine: Engine, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    with (source / "disk.img").open("wb") as f:
        f.truncate(1 << 40)
        f.seek(1 << 39)
        f.write(b"data in the middle")
    layer = tmp_path / "layer.tar"
    subprocess.run(["tar", "--sparse", "-cf", str(layer), "-C", str(source), "disk.img"], check=True)
    status, body = engine.request("POST", "/images/create?fromSrc=-&repo=sparse/img", layer.read_bytes())
    assert status == 200, body
    found = list((engine.root / "data").glob("layers/*/diff/disk.img"))
    assert len(found) == 1
    assert found[0].stat().st_size == 1 << 40 and found[0].stat().st_blocks * 512 < MiB
    with found[0].open("rb") as f:
        f.seek(1 << 39)
        assert f.read(18) == b"data in the middle"
