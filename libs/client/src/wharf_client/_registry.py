"""Registry endpoints of the Engine API: pull, push, ``POST /auth`` and search.

Credentials travel as ``X-Registry-Auth``: base64url of the JSON ``AuthConfig``
(``{"username","password","serveraddress"}``; ``{}`` is anonymous), as docker's client sends it.
"""

from __future__ import annotations

from . import lean as json
from ._base import BaseClient, JSONObject, path_segment
from ._images import iter_messages

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see lean)
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from typing import Any

if TYPE_CHECKING:
    AuthConfig = Mapping[str, str]


def encode_registry_auth(auth: AuthConfig | None) -> str:
    """The ``X-Registry-Auth`` value for ``auth`` (base64url JSON; ``e30=`` for anonymous)."""
    import base64  # imports re: only the commands that talk to a registry pay for it

    payload = json.dumps(dict(auth or {}), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode("ascii")


def _auth_headers(auth: AuthConfig | None) -> dict[str, str]:
    return {"X-Registry-Auth": encode_registry_auth(auth)}


class RegistryAPI(BaseClient):
    def image_pull(
        self,
        name: str,
        tag: str | None = None,
        *,
        auth: AuthConfig | None = None,
        platform: str | None = None,
    ) -> Iterator[JSONObject]:
        """``POST /images/create?fromImage=&tag=``; yields the JSON progress messages.

        A failure before the stream starts raises here; an ``error`` message in the stream
        raises :class:`EngineError` while iterating.
        """
        query: dict[str, Any] = {"fromImage": name, "tag": tag, "platform": platform}
        response = self._open("POST", "/images/create", query, headers=_auth_headers(auth))
        return iter_messages(response)

    def image_push(
        self, name: str, tag: str | None = None, *, auth: AuthConfig | None = None
    ) -> Iterator[JSONObject]:
        """``POST /images/{name}/push?tag=``; yields the JSON progress messages (errors as for pull)."""
        response = self._open(
            "POST", f"/images/{path_segment(name)}/push", {"tag": tag}, headers=_auth_headers(auth)
        )
        return iter_messages(response)

    def registry_login(self, username: str, password: str, serveraddress: str) -> JSONObject:
        """``POST /auth``: ``{"Status": "Login Succeeded", ...}``; wrong credentials raise (401)."""
        body = {"username": username, "password": password, "serveraddress": serveraddress}
        with self._open("POST", "/auth", json_body=body) as response:
            data = response.read()
        result: JSONObject = json.loads(data) if data.strip() else {}
        return result

    def image_search(
        self, term: str, *, limit: int | None = None, auth: AuthConfig | None = None
    ) -> list[JSONObject]:
        """``GET /images/search?term=&limit=``: ``[{name, description, star_count, is_official, ...}]``."""
        with self._open(
            "GET", "/images/search", {"term": term, "limit": limit}, headers=_auth_headers(auth)
        ) as response:
            data = response.read()
        result: list[JSONObject] = json.loads(data) if data.strip() else []
        return result
