"""A hub and a registry in index mode (it trusts the hub's token-signing key) on loopback,
for the tests of the hub flows; engines started inside see the hub as their default index."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from wharf_hub.testing import HubProcess
from wharf_registry.testing import RegistryProcess, free_port


@dataclass
class Stack:
    hub: HubProcess
    registry: RegistryProcess


@contextmanager
def hub_stack(
    prefix: str,
    users: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    registry_env: dict[str, str] | None = None,
    *,
    forward_index: bool = False,
    bearer: bool = False,
) -> Iterator[Stack]:
    """Both processes stopped by pid and their roots removed on the way out, whatever happened.

    ``forward_index``: the registry knows the hub's address (``index.url``) and passes the index
    calls engines send to it (login, push and pull of ``<registry>/ns/name``) on to the hub.
    ``bearer``: that, and v2 with the hub's bearer tokens (its ``bearer-signing.crt``)."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    port = free_port()
    hub = HubProcess(
        root / "hub", registry_url=f"http://127.0.0.1:{port}", registry_endpoint=f"127.0.0.1:{port}", env=env
    )
    registry = RegistryProcess(root=root / "registry", port=port)
    try:
        hub.start()
        for name, password in (users or {}).items():
            hub.create_user(name, password)
        registry.index_public_key = hub.public_key_path
        registry.root.mkdir()
        extra = {"WHARF_REGISTRY_INDEX__URL": hub.url} if forward_index or bearer else {}
        if bearer:
            extra["WHARF_REGISTRY_BEARER__CERTIFICATE"] = str(hub.root / "bearer-signing.crt")
        registry.start(env={**extra, **(registry_env or {})})
        with pytest.MonkeyPatch.context() as environment:
            environment.setenv("WHARF_ENGINE_DEFAULT_INDEX", hub.url)
            yield Stack(hub, registry)
    finally:
        registry.stop()
        hub.stop()
        shutil.rmtree(root, ignore_errors=True)


__all__ = ["Stack", "hub_stack"]
