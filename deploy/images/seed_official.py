#!/usr/bin/env python3
"""Seed the official images made from Debian packages (``debian``, ``python``, ``redis``) into an engine.

Each image is built by ``deploy/images/rootfs.py`` unless its cache already holds it (the usual case: a
machine builds each image once), imported into the engine as ``<name>:latest`` unless the engine's
``<name>:latest`` already has that layer (after a rebuild, the tag moves to the new import), and, with
``--push-to-hub``, pushed to the hub (the engine's default index) as the official image
``library/<name>``. One image failing does not stop the others; the exit status says whether all went in.

Usage: seed_official.py --host unix:///run/wharf/engine.sock
       [--push-to-hub http://127.0.0.1:8080 --hub-credentials /var/lib/wharf-hub/initial-admin.json]
       [--images debian,python,redis] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOTFS = HERE / "rootfs.py"
IMAGES = ("debian", "python", "redis")

sys.path.insert(0, str(HERE / "busybox"))
from seed import UnixConnection, push_to_hub, seed  # noqa: E402


def _call(socket_path: str, method: str, path: str) -> tuple[int, bytes]:
    conn = UnixConnection(socket_path)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def import_image(socket_path: str, name: str, tar: Path) -> str:
    """``<name>:latest`` made of ``tar`` alone (its layer digest is the tar's sha256); returns its id."""
    ref = f"{name}:latest"
    status, body = _call(socket_path, "GET", f"/images/{ref}/json")
    if status == 404:
        return seed(socket_path, tar, ref)
    if status != 200:
        raise RuntimeError(f"inspecting {ref} failed ({status}): {body[:300]!r}")
    current = json.loads(body)
    if current.get("RootFS", {}).get("Layers") == [_sha256(tar)]:
        return str(current["Id"])
    staging = f"{name}:seeding"  # import beside the old image, then move the tag
    _call(socket_path, "DELETE", f"/images/{staging}")
    image_id = seed(socket_path, tar, staging)
    for method, path in (
        ("POST", f"/images/{staging}/tag?repo={name}&tag=latest"),
        ("DELETE", f"/images/{staging}"),
    ):
        status, body = _call(socket_path, method, path)
        if status >= 300:
            raise RuntimeError(f"{method} {path} failed ({status}): {body[:300]!r}")
    return image_id


def build_if_missing(name: str, cache_dir: Path | None) -> Path:
    """The cached tar of image ``name``, built first if the cache lacks it."""
    args = [sys.executable, str(ROOTFS), name, "--if-missing", "--quiet"]
    if cache_dir is not None:
        args += ["--cache-dir", str(cache_dir)]
    proc = subprocess.run(args, stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"building {name} failed (exit {proc.returncode})")
    return Path(proc.stdout.strip().splitlines()[-1])


def seed_one(name: str, args: argparse.Namespace) -> None:
    socket_path = args.host.removeprefix("unix://")
    ref = f"{name}:latest"
    tar = build_if_missing(name, args.cache_dir)
    image_id = import_image(socket_path, name, tar)
    sys.stderr.write(f"seeded {ref} ({image_id[:19]}) from {tar}\n")
    if args.push_to_hub and args.hub_credentials:
        push_to_hub(socket_path, ref, args.hub_credentials, args.push_to_hub)
        sys.stderr.write(f"pushed {ref} to {args.push_to_hub} (official image)\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    p.add_argument("--host", default="unix:///run/wharf/engine.sock")
    p.add_argument("--push-to-hub", metavar="URL", help="then push each to this hub (the default index)")
    p.add_argument("--hub-credentials", type=Path, help="the hub's initial-admin.json")
    p.add_argument("--images", default=",".join(IMAGES), help="comma-separated (default: %(default)s)")
    p.add_argument("--cache-dir", type=Path, help="where the built images are cached (see rootfs.py)")
    args = p.parse_args(argv)
    if bool(args.push_to_hub) != bool(args.hub_credentials):
        p.error("--push-to-hub and --hub-credentials go together")
    failed = []
    for name in filter(None, (n.strip() for n in args.images.split(","))):
        try:
            seed_one(name, args)
        except (RuntimeError, OSError, SystemExit) as exc:  # seed() and push_to_hub() exit on failure
            sys.stderr.write(f"official image {name}: {exc}\n")
            failed.append(name)
    if failed:
        sys.stderr.write(f"not seeded: {', '.join(failed)}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
