"""OCI image layouts made by hand, for skopeo and podman to push (``oci:<dir>:<tag>``)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(files: dict[str, bytes]) -> bytes:
    """A tar of ``files`` (regular, mode 0644, fixed mtime)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1_600_000_000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def random_layer(size: int, name: str = "blob.bin") -> bytes:
    """A gzipped tar holding ``size`` random bytes (incompressible: the layer is ~``size``)."""
    return gzip.compress(layer_tar({name: os.urandom(size)}), compresslevel=1, mtime=0)


@dataclass(frozen=True)
class Layout:
    path: Path
    manifest_digest: str
    config: bytes
    layers: list[bytes]

    def ref(self, tag: str = "latest") -> str:
        return f"oci:{self.path}:{tag}"


def write_layout(path: Path, layers: list[bytes], tag: str = "latest", cmd: str = "sh") -> Layout:
    """An OCI layout at ``path`` with one image of gzipped ``layers``."""
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def put(data: bytes) -> str:
        digest = sha256(data)
        (blobs / digest[7:]).write_bytes(data)
        return digest

    diff_ids = [sha256(gzip.decompress(layer)) for layer in layers]
    env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    history = [{"created": "2024-01-01T00:00:00Z", "created_by": f"layer {i}"} for i in range(len(layers))]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "2024-01-01T00:00:00Z",
            "config": {"Cmd": [cmd], "Env": env},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": history,
        },
        sort_keys=True,
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": put(config), "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": put(x), "size": len(x)} for x in layers],
        }
    ).encode()
    digest = put(manifest)
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": digest,
                "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (path / "index.json").write_text(json.dumps(index))
    (path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return Layout(path, digest, config, layers)


def read_dir_image(path: Path) -> tuple[dict[str, object], bytes, list[bytes]]:
    """What ``skopeo copy ... dir:<path>`` wrote: the manifest, the config bytes, the layers' bytes."""
    manifest = json.loads((path / "manifest.json").read_bytes())
    config_digest = manifest["config"]["digest"]
    config = (path / config_digest[7:]).read_bytes()
    layers = [(path / layer["digest"][7:]).read_bytes() for layer in manifest["layers"]]
    return manifest, config, layers
