"""Signatures on deliveries and the secrets of callback URLs.

Every delivery carries ``X-Wharf-Signature-256: sha256=<hex HMAC-SHA256(webhook secret, raw
body)>``, GitHub's scheme, so a receiver can check that the hub sent it::

    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    hmac.compare_digest(expected, request.headers["X-Wharf-Signature-256"])

Callback URLs (``<hub>/u/<ns>/<name>/hook/<secret>/``) get a secret per chain step derived
from the hub's secret key, so the database holds only its SHA-256 (``HookChain.callback_hash``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-Wharf-Signature-256"
EVENT_HEADER = "X-Wharf-Event"
DELIVERY_HEADER = "X-Wharf-Delivery"
USER_AGENT = "wharf-hub-webhooks/0.1"
PREFIX = "sha256="


def new_secret() -> str:
    """A webhook's signing secret: 32 random bytes as hex, shown to the owner once."""
    return secrets.token_hex(32)


def sign(secret: str, body: bytes) -> str:
    """The signature header value for ``body``: ``sha256=<hex>``."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """True when ``signature`` (the header value) was made with ``secret`` over ``body``."""
    return signature.startswith(PREFIX) and hmac.compare_digest(sign(secret, body), signature)


def callback_key(secret_key: bytes) -> bytes:
    """The key for callback secrets, kept apart from the other uses of the hub's secret key."""
    return hmac.new(secret_key, b"wharf-hub/webhook-callback", hashlib.sha256).digest()


def callback_secret(key: bytes, chain_id: int, position: int, nonce: str) -> str:
    """The secret in the callback URL of one chain step (the same for every retry of the step)."""
    return hmac.new(key, f"{chain_id}:{position}:{nonce}".encode(), hashlib.sha256).hexdigest()


def secret_hash(secret: str) -> str:
    """What the database keeps of a callback secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def unusable_hash() -> str:
    """A ``callback_hash`` no secret matches: a finished chain accepts no more callbacks."""
    return secret_hash("closed:" + secrets.token_hex(32))


__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "USER_AGENT",
    "callback_key",
    "callback_secret",
    "new_secret",
    "secret_hash",
    "sign",
    "unusable_hash",
    "verify",
]
