"""Fixtures for the webhook tests, loaded with ``pytest_plugins`` by each ``test_webhooks_*``
module (helpers to call are in :mod:`webhook_helpers`).

``alice`` owns ``alice/web``; ``receiver`` is a real HTTP server on 127.0.0.1 (the hub under
test allows ``127.0.0.0/8``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from wharf_hub.db.models import Repository, User
from wharf_hub.factories import Factory
from wharf_hub.webhooks.testing import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
def alice(factory: Factory) -> User:
    return factory.user("alice")


@pytest.fixture
def web(factory: Factory, alice: User) -> Repository:
    return factory.repo(alice, "web")
