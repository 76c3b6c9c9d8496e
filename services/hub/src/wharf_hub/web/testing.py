"""Drive the pages in tests the way a browser without JavaScript does: read a page, take the
CSRF token from its form, post the form. Mail links come from the outbox."""

from __future__ import annotations

import re
from email import message_from_bytes
from pathlib import Path

import httpx

from .csrf import FIELD

TOKEN_RE = re.compile(rf'name="{FIELD}" value="([^"]+)"')


def csrf_token(html: str) -> str:
    found = TOKEN_RE.search(html)
    if found is None:
        raise AssertionError(f"no CSRF field in the page: {html[:300]}")
    return found.group(1)


def mail_links(outbox: Path, kind: str) -> list[str]:
    """Every ``.../<kind>/<secret>`` link in the outbox's mails, oldest mail first."""
    links: list[str] = []
    for path in sorted(outbox.glob("*.eml")):
        body = message_from_bytes(path.read_bytes()).get_payload(decode=True)
        assert isinstance(body, bytes)
        links += re.findall(rf"https?://[^\s/]+/{kind}/[\w-]+", body.decode())
    return links


class Browser:
    """An ``httpx.Client`` (or Starlette ``TestClient``) with the page-and-form habits of a browser."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def submit(
        self, page: str, fields: dict[str, str] | dict[str, str | list[str]], action: str | None = None
    ) -> httpx.Response:
        """Open ``page``, then post ``fields`` with the page's CSRF token to ``action`` (default
        ``page``); redirects are not followed so the caller sees them."""
        opened = self.client.get(page)
        assert opened.status_code < 400, (page, opened.status_code, opened.text[:500])
        data: dict[str, str | list[str]] = {FIELD: csrf_token(opened.text), **fields}
        return self.client.post(action or page, data=data, follow_redirects=False)

    def login(self, username: str, password: str) -> httpx.Response:
        response = self.submit("/login", {"username": username, "password": password})
        assert response.status_code == 303, response.text[:500]
        return response


__all__ = ["Browser", "csrf_token", "mail_links"]
