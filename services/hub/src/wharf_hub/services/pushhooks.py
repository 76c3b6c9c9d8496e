"""Push webhooks from git forges, in their own formats and signature schemes, as build triggers.

* GitHub: ``X-GitHub-Event: push``, ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>``;
* GitLab: ``X-Gitlab-Event: Push Hook`` (``Tag Push Hook``), ``X-Gitlab-Token``: the secret itself;
* Gitea, Forgejo: ``X-Gitea-Event`` / ``X-Forgejo-Event: push``, ``X-Gitea-Signature`` /
  ``X-Forgejo-Signature``: the hex HMAC without a prefix.

Gitea and Forgejo also send GitHub's headers, so they are recognised first. A delivery whose secret
does not check is refused before anything is read from it; an event that is not a push of a branch
or tag (a ping, a deleted branch) is acknowledged and ignored. See docs/protocols.md D.
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wharf_common import jsonsafe
from wharf_common.errors import InvalidArgument, Unauthorized

ZERO = "0" * 40
SKIP_MARKERS = ("[skip build]", "[build skip]", "[skip ci]")


class BadSignature(Unauthorized):
    def __init__(self, sender: str) -> None:
        super().__init__(f"{sender} webhook: missing or wrong signature")


@dataclass(frozen=True, slots=True)
class PushEvent:
    sender: str
    source_type: str
    """``branch`` or ``tag``."""
    ref: str
    commit: str
    message: str


def _hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.strip().encode(), expected.encode())


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> tuple[str, str]:
    """The sender and its event name, once the delivery's secret checks; raises otherwise."""
    h = {k.lower(): v for k, v in headers.items()}
    for sender in ("forgejo", "gitea"):
        if f"x-{sender}-event" in h:
            if not _same(h.get(f"x-{sender}-signature"), _hmac_hex(secret, body)):
                raise BadSignature(sender.capitalize())
            return sender, h[f"x-{sender}-event"].lower()
    if "x-gitlab-event" in h:
        if not _same(h.get("x-gitlab-token"), secret):
            raise BadSignature("GitLab")
        return "gitlab", h["x-gitlab-event"].lower()
    if "x-github-event" in h:
        if not _same(h.get("x-hub-signature-256"), "sha256=" + _hmac_hex(secret, body)):
            raise BadSignature("GitHub")
        return "github", h["x-github-event"].lower()
    raise InvalidArgument("not a push webhook from GitHub, GitLab, Gitea or Forgejo")


def _payload(headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    raw: bytes | str = body
    if content_type.startswith("application/x-www-form-urlencoded"):
        raw = urllib.parse.parse_qs(body.decode(errors="replace")).get("payload", [""])[0]
    try:
        data = jsonsafe.loads(raw)
    except ValueError:
        raise InvalidArgument("the webhook body is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidArgument("the webhook body is not a JSON object")
    return data


def parse_push(headers: Mapping[str, str], body: bytes, secret: str) -> PushEvent | None:
    """The push to build, or None for a delivery to acknowledge and ignore."""
    sender, event = verify(headers, body, secret)
    if event not in ("push", "push hook", "tag push hook"):
        return None
    data = _payload(headers, body)
    ref = data.get("ref")
    after = data.get("checkout_sha") or data.get("after") if sender == "gitlab" else data.get("after")
    if (
        not isinstance(ref, str)
        or not isinstance(after, str)
        or after.strip("0") == ""
        or data.get("deleted")
    ):
        return None
    if ref.startswith("refs/heads/"):
        source_type, name = "branch", ref.removeprefix("refs/heads/")
    elif ref.startswith("refs/tags/"):
        source_type, name = "tag", ref.removeprefix("refs/tags/")
    else:
        return None
    message = _message(data, after)
    if any(marker in message for marker in SKIP_MARKERS):
        return None
    return PushEvent(sender, source_type, name, after.lower(), message)


def _message(data: dict[str, Any], sha: str) -> str:
    head = data.get("head_commit")
    if isinstance(head, dict) and isinstance(head.get("message"), str):
        return str(head["message"])
    for commit in data.get("commits") or []:
        if isinstance(commit, dict) and commit.get("id") == sha and isinstance(commit.get("message"), str):
            return str(commit["message"])
    return ""


__all__ = ["BadSignature", "PushEvent", "parse_push", "verify"]
