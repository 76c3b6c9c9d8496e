"""Login (``POST /auth``): protocols.md A.10, and v2 registries first.

A registry that answers ``GET /v2/`` is asked ``GET /v2/`` again with the credentials: through
a bearer token its token server hands out for them (no scope), or as Basic (moby's ``loginV2``).
A token server's refresh token comes back as ``IdentityToken`` (the CLI keeps it, not the password).

An empty ``serveraddress`` and Docker's hub names (``https://index.docker.io/v1/``) mean the
default index. A standalone registry checks the credentials with ``GET /v1/users/``; an index
is first offered the account (``POST /v1/users/``), which tells a new account from an existing
one (then checked with ``GET /v1/users/``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from wharf_engine.distribution import AuthConfig
from wharf_engine.distribution.index import LOGIN_SUCCEEDED

if TYPE_CHECKING:
    from .daemon import Daemon

log = structlog.get_logger(__name__)


async def registry_login(daemon: Daemon, auth: AuthConfig) -> dict[str, str]:
    registries = daemon.registries
    endpoint = registries.login_endpoint(auth.server)
    v2 = await registries.negotiate_v2(endpoint)
    if v2 is not None:
        async with registries.v2_client(v2.endpoint, auth, v2.challenges, ()) as client:
            identity = await client.login()
        answer = {**LOGIN_SUCCEEDED, "IdentityToken": identity}
    elif await registries.standalone(endpoint):
        async with registries.client(endpoint, auth) as client:
            await client.login()
        answer = LOGIN_SUCCEEDED
    else:
        async with registries.index(endpoint, auth) as index:
            answer = await index.login()
    log.info("registry.login", endpoint=endpoint.url, username=auth.username, status=answer["Status"])
    return answer
