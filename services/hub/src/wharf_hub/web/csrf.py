"""CSRF protection for every form the web pages post.

A form carries ``csrf_token = HMAC-SHA256(hub.secret_key, binding)`` in a hidden field, where
the binding is the browser's session secret (``wharf_session``) or, before sign-in, a random
pre-session cookie (``wharf_csrf``, set by the first page that shows a form). Another site
can make a browser post a form, but it can neither read our cookies nor compute the HMAC, so
:meth:`Csrf.guard`, a dependency of every web route, refuses any POST whose field does not
match with a 403 page. Tokens change when the session does (sign-in, sign-out).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response
from wharf_common.errors import Forbidden

from ..hub import Hub
from .sessions import session_secret, set_cookie

FIELD = "csrf_token"
COOKIE = "wharf_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfFailed(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "This form has expired or was not sent from this site. Go back, reload the page and try again."
        )


class Csrf:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def _mac(self, binding: str) -> str:
        return hmac.new(self.hub.secret_key, b"wharf-csrf\0" + binding.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def _binding(request: Request) -> str | None:
        return session_secret(request) or request.cookies.get(COOKIE) or None

    def token(self, request: Request) -> str:
        """The token for forms on this page; starts a pre-session binding when there is none
        (:meth:`issue_cookie` then puts it on the response)."""
        binding = self._binding(request) or getattr(request.state, "csrf_binding", None)
        if binding is None:
            binding = request.state.csrf_binding = secrets.token_urlsafe(32)
        return self._mac(binding)

    def issue_cookie(self, request: Request, response: Response) -> None:
        fresh = getattr(request.state, "csrf_binding", None)
        if fresh is not None and self._binding(request) is None:
            set_cookie(self.hub, response, COOKIE, fresh)

    async def guard(self, request: Request) -> None:
        """Every unsafe request to a web route must carry the token of its binding."""
        if request.method in SAFE_METHODS:
            return
        binding = self._binding(request)
        given = (await request.form()).get(FIELD)
        if (
            binding is None
            or not isinstance(given, str)
            or not hmac.compare_digest(given, self._mac(binding))
        ):
            raise CsrfFailed()


__all__ = ["COOKIE", "FIELD", "Csrf", "CsrfFailed"]
