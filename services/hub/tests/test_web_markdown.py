"""The pure helpers of the pages: markdown rendering, sizes, times, the login redirect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from wharf_hub.web.markdown import allowed_link, render
from wharf_hub.web.pages import ago, filesize, safe_next

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_markdown_renders_commonmark_tables_and_strikethrough() -> None:
    html = render("# Title\n\n*a* ~~b~~\n\n| x | y |\n|---|---|\n| 1 | 2 |\n")
    assert "<h1>Title</h1>" in html and "<em>a</em>" in html and "<s>b</s>" in html
    assert "<table>" in html and "<td>1</td>" in html


@pytest.mark.parametrize(
    "source",
    ["<script>alert(1)</script>", "<iframe src=x></iframe>", '<a href="javascript:x">y</a>', "<!-- c -->"],
)
def test_markdown_shows_raw_html_as_text(source: str) -> None:
    html = render(source)
    assert "<script" not in html and "<iframe" not in html and "<a " not in html and "<!--" not in html
    assert "&lt;" in html


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://example.com", True),
        ("http://example.com/x", True),
        ("mailto:a@example.com", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,x", False),
        ("vbscript:x", False),
        ("/relative", False),
        ("file:///etc/passwd", False),
    ],
)
def test_only_web_and_mail_links_survive(url: str, allowed: bool) -> None:
    assert allowed_link(url) is allowed
    html = render(f"[link]({url}) ![img]({url})")
    assert ("href=" in html) is allowed


def test_links_do_not_pass_reputation_or_the_opener() -> None:
    assert 'rel="nofollow ugc noopener"' in render("[x](https://example.com)")


@pytest.mark.parametrize(
    ("size", "text"),
    [(None, "0 B"), (0, "0 B"), (999, "999 B"), (1000, "1 kB"), (2_345_678, "2.35 MB"), (5 * 10**9, "5 GB")],
)
def test_sizes_are_humanized_like_docker(size: int | None, text: str) -> None:
    assert filesize(size) == text


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=5), "just now"),
        (timedelta(minutes=1), "1 minute ago"),
        (timedelta(minutes=59), "59 minutes ago"),
        (timedelta(hours=2), "2 hours ago"),
        (timedelta(days=3), "3 days ago"),
        (timedelta(days=90), "2024-02-01"),
    ],
)
def test_times_are_relative_until_a_month(delta: timedelta, text: str) -> None:
    assert ago(NOW - delta, NOW) == text
    assert ago(None) == "never"


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/account", "/account"),
        ("", "/"),
        (None, "/"),
        ("//evil.test", "/"),
        ("https://evil.test", "/"),
        ("/\\evil.test", "/"),
        ("account", "/"),
    ],
)
def test_login_redirects_stay_on_this_site(target: str | None, safe: str) -> None:
    assert safe_next(target) == safe
