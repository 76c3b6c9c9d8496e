#!/usr/bin/env python3
"""Import the busybox rootfs tar into a running engine as ``busybox:latest``, unless it is there.

Usage: seed.py --host unix:///run/wharf/engine.sock --image .cache/images/busybox.tar
       [--push-to-hub http://127.0.0.1:8080 --hub-credentials /var/lib/wharf-hub/initial-admin.json]
"""

from __future__ import annotations

import argparse
import base64
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
    changes += [f"EXPOSE {port}" for port in meta.get("ExposedPorts", [])]
    changes += [f"WORKDIR {meta['WorkingDir']}"] if meta.get("WorkingDir") else []
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


def push_to_hub(socket_path: str, ref: str, credentials: Path, hub: str) -> None:
    """Push ``ref`` (a bare name: the engine's default index) as the hub's first administrator."""
    account = json.loads(credentials.read_text())
    auth = {"username": account["username"], "password": account["password"], "serveraddress": hub}
    header = base64.urlsafe_b64encode(json.dumps(auth).encode()).decode()
    name, _, tag = ref.rpartition(":")
    conn = UnixConnection(socket_path, timeout=300)
    conn.request("POST", f"/images/{name}/push?tag={tag}", headers={"X-Registry-Auth": header})
    resp = conn.getresponse()
    body = resp.read().decode(errors="replace")
    failed = [json.loads(line) for line in body.splitlines() if line.strip().startswith('{"error"')]
    if resp.status != 200 or failed:
        raise SystemExit(f"push of {ref} to {hub} failed ({resp.status}): {failed or body[:500]}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="unix:///run/wharf/engine.sock")
    p.add_argument("--image", type=Path, default=Path(".cache/images/busybox.tar"))
    p.add_argument("--ref", default="busybox:latest")
    p.add_argument(
        "--push-to-hub", metavar="URL", help="then push it to this hub (the engine's default index)"
    )
    p.add_argument("--hub-credentials", type=Path, help="the hub's initial-admin.json")
    args = p.parse_args()
    socket_path = args.host.removeprefix("unix://")
    image_id = seed(socket_path, args.image, args.ref)
    sys.stderr.write(f"seeded {args.ref} ({image_id[:19]})\n")
    if args.push_to_hub and args.hub_credentials:
        push_to_hub(socket_path, args.ref, args.hub_credentials, args.push_to_hub)
        sys.stderr.write(f"pushed {args.ref} to {args.push_to_hub} (official image)\n")


if __name__ == "__main__":
    main()
