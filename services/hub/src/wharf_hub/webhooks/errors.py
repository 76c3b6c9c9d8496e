"""Webhook errors, each a kind from ``wharf_common.errors`` (rendered by ``api/errors.py``)."""

from __future__ import annotations

from wharf_common.errors import InvalidArgument, NotFound


class TargetRefused(InvalidArgument):
    """The URL is malformed or its address is one webhooks may not reach (the policy said no)."""


class HostNotFound(InvalidArgument):
    """The host of a webhook URL does not resolve (a retry may succeed; it is not refused)."""

    def __init__(self, host: str) -> None:
        super().__init__(f"Cannot resolve the host {host}")
        self.host = host


class NoSuchWebhook(NotFound):
    def __init__(self, webhook_id: int) -> None:
        super().__init__(f"No such webhook: {webhook_id}")


class NoSuchCallback(NotFound):
    """An unknown callback secret, or one whose chain step was already validated."""

    def __init__(self) -> None:
        super().__init__("No such callback: unknown or already used")


class InvalidCallback(InvalidArgument):
    """A callback body that is not ``{"state": "success|failure|error", ...}`` within the limits."""


__all__ = ["HostNotFound", "InvalidCallback", "NoSuchCallback", "NoSuchWebhook", "TargetRefused"]
