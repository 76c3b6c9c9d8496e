"""Docker 1.x links: ``--link name:alias`` environment variables and /etc/hosts lines."""

from __future__ import annotations

import re
from collections.abc import Iterable


def link_env(alias: str, linker: str, ip: str, exposed: Iterable[str], env: Iterable[str]) -> list[str]:
    """``ALIAS_PORT``, ``ALIAS_PORT_<p>_<proto>[_ADDR|_PORT|_PROTO]``, ``ALIAS_NAME``, ``ALIAS_ENV_*``.

    ``linker`` is the name of the container that has the link (``DB_NAME=/web/db``).
    """
    prefix = re.sub(r"[^A-Za-z0-9_]", "_", alias).upper()
    ports = sorted(exposed, key=lambda p: (int(p.split("/")[0]), p))
    out: list[str] = []
    if ports:
        port, _, proto = ports[0].partition("/")
        proto = proto or "tcp"
        out.append(f"{prefix}_PORT={proto}://{ip}:{port}")
    for spec in ports:
        port, _, proto = spec.partition("/")
        proto = proto or "tcp"
        base = f"{prefix}_PORT_{port}_{proto.upper()}"
        out += [
            f"{base}={proto}://{ip}:{port}",
            f"{base}_ADDR={ip}",
            f"{base}_PORT={port}",
            f"{base}_PROTO={proto}",
        ]
    out.append(f"{prefix}_NAME=/{linker}/{alias}")
    skip = ("HOME=", "PATH=", "HOSTNAME=")
    out += [f"{prefix}_ENV_{e}" for e in env if "=" in e and not e.startswith(skip)]
    return out
