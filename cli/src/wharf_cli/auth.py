"""The credential store: ``config.json`` in docker's format, ``{"auths": {"<server>": {"auth": b64}}}``.

The file lives in ``$WHARF_CONFIG`` (a directory, like ``DOCKER_CONFIG``) or ``~/.wharf``; it is
written with mode 0600 in a 0700 directory. Reading falls back to docker's own
``$DOCKER_CONFIG/config.json`` (``~/.docker``) so a ``docker login`` is honoured too.

Bare names (``alice/web``) and ``docker.io`` names live on the engine's *default hub*; their
credentials are kept under the key docker uses for its default index, ``DEFAULT_SERVER``
(docker's ``registry.IndexServer``, also the engine's ``/info`` ``IndexServerAddress``). The
engine maps that address to whichever hub it is configured with.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from pathlib import Path
from typing import Any

DEFAULT_SERVER = "https://index.docker.io/v1/"
"""Docker's key for its default index: ``docker login`` with no server stores under it."""
DEFAULT_DOMAINS = ("docker.io", "index.docker.io", "registry-1.docker.io")
CONFIG_FILE = "config.json"


def config_dir() -> Path:
    configured = os.environ.get("WHARF_CONFIG")
    return Path(configured) if configured else Path.home() / ".wharf"


def docker_config_dir() -> Path:
    configured = os.environ.get("DOCKER_CONFIG")
    return Path(configured) if configured else Path.home() / ".docker"


def server_key(server: str | None) -> str:
    """The key credentials are stored under: docker's ``ConvertToHostname``, the hub keeps its URL."""
    if not server:
        return DEFAULT_SERVER
    host = server
    for scheme in ("http://", "https://"):
        if host.startswith(scheme):
            host = host[len(scheme) :]
    host = host.split("/", 1)[0]
    return DEFAULT_SERVER if host in DEFAULT_DOMAINS else host


def registry_of(reference: str) -> str:
    """The registry a reference lives on (``127.0.0.1:5000/user/web:v1`` → ``127.0.0.1:5000``)."""
    first, slash, _ = reference.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return server_key(first)
    return DEFAULT_SERVER


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _decode(entry: Any) -> tuple[str, str] | None:
    if not isinstance(entry, dict):
        return None
    if entry.get("username") and entry.get("password") is not None:
        return str(entry["username"]), str(entry["password"])
    try:
        user, colon, password = base64.b64decode(str(entry.get("auth") or "")).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if colon and user else None


def _lookup(auths: Any, key: str) -> tuple[str, str] | None:
    if not isinstance(auths, dict):
        return None
    for name, entry in auths.items():
        if server_key(str(name)) == key and (found := _decode(entry)):
            return found
    return None


def credentials(server: str | None) -> tuple[str, str] | None:
    """``(username, password)`` stored for ``server`` (wharf's file first, then docker's)."""
    key = server_key(server)
    for directory in (config_dir(), docker_config_dir()):
        found = _lookup(_read(directory / CONFIG_FILE).get("auths"), key)
        if found:
            return found
    return None


def auth_config(server: str | None) -> dict[str, str]:
    """The ``X-Registry-Auth`` payload for ``server``: empty (anonymous) without stored credentials."""
    found = credentials(server)
    if found is None:
        return {}
    return {"username": found[0], "password": found[1], "serveraddress": server_key(server)}


def _write(config: dict[str, Any]) -> None:
    directory = config_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    fd, temp = tempfile.mkstemp(prefix=".config-", dir=directory)  # created with mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(config, f, indent="\t")
            f.write("\n")
        Path(temp).replace(directory / CONFIG_FILE)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def store(server: str | None, username: str, password: str) -> None:
    config = _read(config_dir() / CONFIG_FILE)
    auths = config.get("auths")
    if not isinstance(auths, dict):
        auths = config["auths"] = {}
    key = server_key(server)
    for name in [name for name in auths if server_key(str(name)) == key]:
        del auths[name]
    auths[key] = {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}
    _write(config)


def erase(server: str | None) -> bool:
    """Remove the credentials for ``server`` from wharf's file; ``False`` if there were none."""
    path = config_dir() / CONFIG_FILE
    config = _read(path)
    auths = config.get("auths")
    if not isinstance(auths, dict):
        return False
    key = server_key(server)
    names = [name for name in auths if server_key(str(name)) == key]
    for name in names:
        del auths[name]
    if names:
        _write(config)
    return bool(names)
