"""Rendering: the Jinja environment (autoescape on for every template), the values every page
gets (the signed-in user, the CSRF token, a notice), security headers, and the error page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import structlog
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined

from ..db.models import Repository, User
from ..db.models.repositories import LIBRARY
from ..hub import Hub
from . import markdown
from .csrf import FIELD, Csrf
from .sessions import current_user

log = structlog.get_logger(__name__)

HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; object-src 'none'; "
    "img-src 'self' https: http:; style-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

NOTICES = {
    "activated": "Your account is active. Log in to start.",
    "password_changed": "Your password was changed; other browsers were signed out.",
    "password_reset": "Your password was set. Log in with it.",
    "account_deleted": "Your account and its repositories were deleted.",
    "logged_out": "You are logged out.",
    "created": "Repository created. Push to it with the command below.",
    "saved": "Settings saved.",
    "deleted": "Repository deleted.",
    "collaborator_added": "Collaborator added.",
    "collaborator_removed": "Collaborator removed.",
    "webhook_removed": "Webhook removed.",
    "webhook_test": "A test delivery was queued; reload to see it below.",
    "token_deleted": "Access token deleted.",
}

UNITS = ("B", "kB", "MB", "GB", "TB")


def filesize(size: int | None) -> str:
    """Bytes the way ``docker images`` counts them (powers of 1000): ``5.6 MB``."""
    value = float(size or 0)
    for unit in UNITS:
        if value < 1000 or unit == UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.3g} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return "never"
    seconds = int(((now or datetime.now(UTC)) - moment).total_seconds())
    for limit, size, unit in ((3600, 60, "minute"), (86400, 3600, "hour"), (30 * 86400, 86400, "day")):
        if seconds < limit:
            count = seconds // size
            if count < 1:
                return "just now"
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return moment.strftime("%Y-%m-%d")


def isotime(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else ""


def repo_url(repo: Repository) -> str:
    """``/_/busybox/`` for official images, ``/u/alice/web/`` for the rest."""
    if repo.namespace == LIBRARY:
        return f"/_/{quote(repo.name)}/"
    return f"/u/{quote(repo.namespace)}/{quote(repo.name)}/"


def settings_url(repo: Repository, part: str = "") -> str:
    return f"/u/{quote(repo.namespace)}/{quote(repo.name)}/settings/{part}"


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site, never another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def redirect(url: str, notice: str | None = None) -> RedirectResponse:
    """Post/Redirect/Get: 303 so the browser follows with a GET."""
    if notice is not None:
        url += ("&" if "?" in url else "?") + f"notice={notice}"
    return RedirectResponse(url, status_code=303)


class Pages:
    def __init__(self, hub: Hub, csrf: Csrf) -> None:
        self.hub = hub
        self.csrf = csrf
        self.env = Environment(
            loader=PackageLoader("wharf_hub.web", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(filesize=filesize, ago=ago, isotime=isotime, markdown=markdown.render)
        self.env.globals.update(repo_url=repo_url, settings_url=settings_url, csrf_field=FIELD)

    def render(
        self,
        request: Request,
        template: str,
        *,
        user: User | None,
        status: int = 200,
        error: str | None = None,
        **context: Any,
    ) -> HTMLResponse:
        notice = NOTICES.get(request.query_params.get("notice", ""))
        html = self.env.get_template(template).render(
            user=user,
            csrf_token=self.csrf.token(request),
            notice=notice,
            error=error,
            path=request.url.path,
            **context,
        )
        response = HTMLResponse(html, status_code=status, headers=HEADERS)
        self.csrf.issue_cookie(request, response)
        return response

    def error(self, request: Request, status: int, message: str) -> Response:
        """The page for an error raised below a web route (the ``page`` of ``errors.install``);
        "log in first" becomes a redirect to the login form."""
        if status == 401:
            target = request.url.path if request.method == "GET" else "/"
            return redirect(f"/login?next={quote(safe_next(target))}")
        user = None
        try:
            with self.hub.db.session() as s:
                user = current_user(self.hub, s, request)
        except Exception as exc:  # the error page must render even when the database does not
            log.warning("web.error_page_user", error=str(exc))
        return self.render(request, "error.html", user=user, status=status, message=message, code=status)


__all__ = ["NOTICES", "Pages", "ago", "filesize", "redirect", "repo_url", "safe_next", "settings_url"]
