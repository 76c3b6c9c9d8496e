"""ImageSearch (``GET /images/search?term=``): protocols.md A.9.

``127.0.0.1:5000/web`` searches that registry for ``web``; a bare term (or ``docker.io/web``)
searches the default index. Indexes and standalone registries answer the same
``GET /v1/search?q=&n=``; the caller's credentials go along, so a hub can include the
caller's private repositories.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wharf_engine.distribution import AuthConfig
from wharf_engine.distribution.index import search_results
from wharf_engine.distribution.names import split_search_term

if TYPE_CHECKING:
    from .daemon import Daemon


async def image_search(daemon: Daemon, term: str, limit: int, auth: AuthConfig) -> list[dict[str, Any]]:
    domain, query = split_search_term(term)
    registries = daemon.registries
    endpoint = registries.endpoint(domain)
    await registries.standalone(endpoint)  # the ping: a host that is down says so plainly
    async with registries.client(endpoint, auth) as client:
        found = await client.search(query, limit)
    return search_results(found, limit)
