"""Full descriptions: CommonMark (plus tables and strikethrough) rendered safely.

Raw HTML is off, so ``<script>`` in a description is shown as text; links and images may
only point at ``http``, ``https`` or ``mailto`` (``javascript:`` and ``data:`` stay text);
links get ``rel="nofollow ugc noopener"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup

ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})


def allowed_link(url: str) -> bool:
    scheme = urlsplit(url.strip()).scheme.lower()
    return scheme in ALLOWED_SCHEMES


def _link_open(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    tokens[idx].attrSet("rel", "nofollow ugc noopener")
    return renderer.renderToken(tokens, idx, options, env)


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = allowed_link  # type: ignore[method-assign]
    md.add_render_rule("link_open", _link_open)
    return md


_MD = _parser()


def render(text: str) -> Markup:
    """HTML for ``text``; safe to put in a page as it is."""
    html: Any = _MD.render(text)
    return Markup(str(html))


__all__ = ["ALLOWED_SCHEMES", "allowed_link", "render"]
