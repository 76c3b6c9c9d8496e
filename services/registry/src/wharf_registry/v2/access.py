"""Who may do what over v2: the seam between the routes and an authority.

The routes ask a :class:`V2Authority` for every request, naming the repository (``ns/repo``;
None for ``/v2/`` itself and the catalog) and the actions it needs (``pull``, ``push``,
``delete``; the catalog asks for ``catalog``). The authority answers with the user (None:
anonymous) or raises :class:`~wharf_registry.v2.errors.ChallengeRequired` (401 with its
``WWW-Authenticate`` challenge) or :class:`~wharf_registry.v2.errors.Denied` (403 ``DENIED``).

Standalone mode uses :class:`BasicAuthority` (the users file, as the Go registry's htpasswd
mode); index mode the hub's Bearer tokens (:mod:`wharf_registry.v2.bearer`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from wharf_common.errors import Forbidden
from wharf_common.tokens import Access

from ..access import AuthenticationRequired, Authenticator
from .errors import ChallengeRequired, Denied

PULL, PUSH, DELETE, CATALOG = "pull", "push", "delete", "catalog"


class V2Authority(Protocol):
    async def authorize(
        self, request_headers: Mapping[str, str], repository: str | None, actions: frozenset[str]
    ) -> str | None: ...


def v1_access(actions: frozenset[str]) -> Access:
    if DELETE in actions:
        return "delete"
    if PUSH in actions:
        return "write"
    return "read"


class BasicAuthority:
    """Standalone: anyone when there is no users file; else Basic credentials of a user in it.

    ``/v2/`` and the catalog always want credentials (a client's ``login`` checks them on
    ``/v2/``); with ``auth.anonymous_read`` pulls need none.
    """

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator
        self.challenge = f'Basic realm="{authenticator.settings.realm}"'

    async def authorize(
        self, request_headers: Mapping[str, str], repository: str | None, actions: frozenset[str]
    ) -> str | None:
        if not self.authenticator.enabled:
            return None
        authorization = request_headers.get("authorization")
        if not authorization and repository is None:
            raise ChallengeRequired(self.challenge)
        try:
            identity = await self.authenticator.authenticate(authorization, v1_access(actions), repository)
        except AuthenticationRequired as exc:
            raise ChallengeRequired(self.challenge, exc.message) from None
        except Forbidden as exc:
            raise Denied(exc.message) from None
        return identity.user


class OpenAuthority:
    """Everyone may do everything (tests, and a registry with no users file)."""

    async def authorize(
        self, request_headers: Mapping[str, str], repository: str | None, actions: frozenset[str]
    ) -> str | None:
        return None
