"""Webhooks: Docker Hub's push payload, signatures, the address policy, chains and delivery.

The use-cases (add, remove, history, the push listener, callbacks) are
:class:`wharf_hub.services.webhooks.WebhookService`; this package holds the parts it uses.
"""

from .chains import DELIVER, ChainSteps
from .delivery import Deliverer, Outcome, post
from .errors import HostNotFound, InvalidCallback, NoSuchCallback, NoSuchWebhook, TargetRefused
from .payloads import PushData, PushPayload, RepositoryData, push_payload, repo_url
from .policy import Target, TargetPolicy
from .signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, USER_AGENT, sign, verify

__all__ = [
    "DELIVER",
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "USER_AGENT",
    "ChainSteps",
    "Deliverer",
    "HostNotFound",
    "InvalidCallback",
    "NoSuchCallback",
    "NoSuchWebhook",
    "Outcome",
    "PushData",
    "PushPayload",
    "RepositoryData",
    "Target",
    "TargetPolicy",
    "TargetRefused",
    "post",
    "push_payload",
    "repo_url",
    "sign",
    "verify",
]
