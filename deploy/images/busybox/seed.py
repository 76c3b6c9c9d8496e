#!/usr/bin/env python3
"""Import the busybox rootfs tar into a running engine as ``busybox:latest``, unless it is there.

Usage: seed.py --host unix:///run/wharf/engine.sock --image .cache/images/busybox.tar
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import sys
import urllib.parse
from pathlib import Path


class UnixConnection(http.client.HTTPConnection):
    """HTTP over a unix socket (the engine's API), stdlib only."""

    def __init__(self, path: str, timeout: float = 120.0) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


def seed(socket_path: str, image: Path, ref: str = "busybox:latest") -> str:
    """Returns the image id (existing or new)."""
    conn = UnixConnection(socket_path)
    conn.request("GET", f"/images/{ref}/json")
    resp = conn.getresponse()
    body = resp.read()
    if resp.status == 200:
        return str(json.loads(body)["Id"])
    meta_path = image.with_name(image.name + ".json")
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {"Cmd": ["sh"]}
    changes = [f"CMD {json.dumps(meta.get('Cmd', ['sh']))}"]
    changes += [f"ENV {e}" for e in meta.get("Env", [])]
    repo, _, tag = ref.rpartition(":")
    query = urllib.parse.urlencode(
        [("fromSrc", "-"), ("repo", repo), ("tag", tag)] + [("changes", c) for c in changes]
    )
    with open(image, "rb") as f:
        conn = UnixConnection(socket_path)
        conn.request("POST", f"/images/create?{query}", body=f, headers={"Content-Type": "application/x-tar"})
        resp = conn.getresponse()
        body = resp.read()
    if resp.status != 200:
        raise SystemExit(f"import failed ({resp.status}): {body.decode(errors='replace')}")
    return str(json.loads(body.splitlines()[-1])["status"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="unix:///run/wharf/engine.sock")
    p.add_argument("--image", type=Path, default=Path(".cache/images/busybox.tar"))
    p.add_argument("--ref", default="busybox:latest")
    args = p.parse_args()
    image_id = seed(args.host.removeprefix("unix://"), args.image, args.ref)
    sys.stderr.write(f"seeded {args.ref} ({image_id[:19]})\n")


if __name__ == "__main__":
    main()
