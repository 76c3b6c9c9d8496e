"""Server-rendered pages (Jinja2, no JavaScript needed) over the same services as the API.

:func:`router` gathers every page under one CSRF guard; :func:`error_page` renders errors
raised below a page (installed with ``api.errors.install(app, page=...)``).
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from ..api.errors import PageRenderer
from ..hub import Hub
from .csrf import Csrf
from .pages import Pages
from .routes import auth, builds, explore, repos, webhooks

CSS = files(__package__).joinpath("static", "hub.css")
AREAS = (auth, explore, repos, webhooks, builds)
"""Every module of pages; each has ``router(hub, pages)``."""


def pages(hub: Hub) -> Pages:
    return Pages(hub, Csrf(hub))


def router(hub: Hub, rendering: Pages | None = None) -> APIRouter:
    rendering = rendering or pages(hub)
    r = APIRouter(dependencies=[Depends(rendering.csrf.guard)], include_in_schema=False)
    css = CSS.read_bytes()

    @r.get("/static/hub.css")
    def stylesheet() -> Response:
        return Response(css, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})

    for area in AREAS:
        r.include_router(area.router(hub, rendering))
    return r


def error_page(hub: Hub, rendering: Pages | None = None) -> PageRenderer:
    return (rendering or pages(hub)).error


__all__ = ["AREAS", "error_page", "pages", "router"]
