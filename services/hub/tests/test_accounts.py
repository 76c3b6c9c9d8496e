"""Accounts on both databases: sign-up and activation by mail, the rules for names and
passwords, same answer for unknown users and wrong passwords, the login rate limit, tokens,
password reset and account deletion."""

from __future__ import annotations

import base64
import re
from email import message_from_bytes
from pathlib import Path

import pytest
from wharf_common.errors import WharfError
from wharf_hub.factories import Factory
from wharf_hub.hub import Hub
from wharf_hub.services.errors import (
    AccountNotActive,
    AlreadyExists,
    InvalidName,
    TooManyAttempts,
    WeakPassword,
    WrongCredentials,
)


def outbox_links(outbox: Path, kind: str) -> list[str]:
    links = []
    for path in sorted(outbox.glob("*.eml")):
        body = message_from_bytes(path.read_bytes()).get_payload(decode=True)
        assert isinstance(body, bytes)
        links += re.findall(rf"http://hub\.test/{kind}/[\w-]+", body.decode())
    return links


def test_signup_mails_an_activation_link_that_activates_once(hub: Hub, factory: Factory) -> None:
    with hub.db.session() as s:
        user = hub.accounts.signup(s, "alice", "Alice@Example.test", factory.password)
        assert not user.is_active
    with hub.db.session() as s, pytest.raises(AccountNotActive):
        hub.accounts.authenticate(s, "alice", factory.password)
    [link] = outbox_links(hub.settings.outbox, "activate")
    secret = link.rsplit("/", 1)[1]
    with hub.db.session() as s:
        assert hub.accounts.activate(s, secret).username == "alice"
    with hub.db.session() as s:
        assert hub.accounts.authenticate(s, "alice", factory.password).is_active
    with hub.db.session() as s, pytest.raises(InvalidName, match="invalid or has expired"):
        hub.accounts.activate(s, secret)


@pytest.mark.parametrize(
    ("username", "email"),
    [("alice", "other@example.test"), ("bob_1", "ALICE@example.test"), ("bob_2", "alice@EXAMPLE.TEST")],
)
def test_duplicate_usernames_and_emails_are_refused_case_insensitively(
    hub: Hub, factory: Factory, username: str, email: str
) -> None:
    factory.user("alice")
    with hub.db.session() as s, pytest.raises(AlreadyExists, match="Username or email already exists"):
        hub.accounts.create_user(s, username, email, factory.password)


@pytest.mark.parametrize(
    "name", ["Alice", "abc", "a" * 31, "al-ice", "al ice", "", "../x", "library", "admin", "users"]
)
def test_bad_usernames_are_refused(hub: Hub, factory: Factory, name: str) -> None:
    with hub.db.session() as s, pytest.raises(InvalidName):
        hub.accounts.signup(s, name, "x@example.test", factory.password)


@pytest.mark.parametrize("password", ["", "short", "password", "aaaaaaaaaaaa", "xxalicexx123"])
def test_weak_or_empty_passwords_are_refused(hub: Hub, factory: Factory, password: str) -> None:
    with hub.db.session() as s, pytest.raises(WeakPassword):
        hub.accounts.signup(s, "alice", "alice@example.test", password)


def test_wrong_password_and_unknown_user_get_the_same_answer(hub: Hub, factory: Factory) -> None:
    factory.user("alice")
    answers = []
    for username, password in [("alice", "wrong-password-1"), ("nobody_here", factory.password)]:
        with hub.db.session() as s, pytest.raises(WrongCredentials) as caught:
            hub.accounts.authenticate(s, username, password)
        answers.append((type(caught.value), caught.value.message, caught.value.status))
    assert answers[0] == answers[1]


def test_repeated_failures_are_rate_limited_even_with_the_right_password(hub: Hub, factory: Factory) -> None:
    factory.user("alice")
    for _ in range(hub.settings.login_limit.max_failures):
        with hub.db.session() as s, pytest.raises(WrongCredentials):
            hub.accounts.authenticate(s, "alice", "wrong-password-1", "10.9.9.9")
    with hub.db.session() as s, pytest.raises(TooManyAttempts) as caught:
        hub.accounts.authenticate(s, "alice", factory.password, "10.9.9.9")
    assert caught.value.status == 429 and caught.value.retry_after > 0
    with hub.db.session() as s:  # only that account from that address waits
        assert hub.accounts.authenticate(s, "alice", factory.password, "10.9.9.8").username == "alice"


def test_access_tokens_work_as_passwords_until_deleted(hub: Hub, factory: Factory) -> None:
    alice = factory.user("alice")
    with hub.db.session() as s:
        new = hub.accounts.create_token(s, factory.reload(s, alice), "ci")
    assert new.secret.startswith("wharf_pat_")
    with hub.db.session() as s:
        basic = "Basic " + base64.b64encode(f"alice:{new.secret}".encode()).decode()
        assert hub.accounts.authenticate_basic(s, basic).user.id == alice.id
        assert hub.accounts.user_for_token(s, new.secret).id == alice.id
    with hub.db.session() as s:
        hub.accounts.delete_token(s, factory.reload(s, alice), new.token.id)
    with hub.db.session() as s, pytest.raises(WrongCredentials):
        hub.accounts.user_for_token(s, new.secret)


def test_password_reset_by_mail_and_change(hub: Hub, factory: Factory) -> None:
    factory.user("alice")
    with hub.db.session() as s:
        hub.accounts.request_reset(s, "ALICE@example.test")
        hub.accounts.request_reset(s, "nobody@example.test")  # silent
    [link] = outbox_links(hub.settings.outbox, "reset")
    with hub.db.session() as s, pytest.raises(WeakPassword):
        hub.accounts.reset_password(s, link.rsplit("/", 1)[1], "short")
    with hub.db.session() as s:
        hub.accounts.reset_password(s, link.rsplit("/", 1)[1], "a-new-long-secret")
    with hub.db.session() as s:
        user = hub.accounts.authenticate(s, "alice", "a-new-long-secret")
        with pytest.raises(WrongCredentials):
            hub.accounts.change_password(s, user, "not-the-old-one", "another-long-secret")
        hub.accounts.change_password(s, user, "a-new-long-secret", "another-long-secret")
    with hub.db.session() as s:
        assert hub.accounts.authenticate(s, "alice", "another-long-secret").username == "alice"


def test_deleting_an_account_needs_the_password_and_removes_its_repositories(
    hub: Hub, factory: Factory
) -> None:
    alice = factory.user("alice")
    with hub.db.session() as s:
        hub.repos.create(s, factory.reload(s, alice), "alice", "web")
    with hub.db.session() as s, pytest.raises(WrongCredentials):
        hub.accounts.delete_account(s, factory.reload(s, alice), "wrong-password-1")
    with hub.db.session() as s:
        hub.accounts.delete_account(s, factory.reload(s, alice), factory.password)
    with hub.db.session() as s:
        assert hub.accounts.find(s, "alice") is None
        assert hub.repos.find(s, "alice", "web") is None


def test_sessions_open_resolve_and_close(hub: Hub, factory: Factory) -> None:
    alice = factory.user("alice")
    with hub.db.session() as s:
        secret = hub.accounts.open_session(s, factory.reload(s, alice), 60)
    with hub.db.session() as s:
        found = hub.accounts.session_user(s, secret)
        assert found is not None and found.id == alice.id
        assert hub.accounts.session_user(s, secret + "x") is None
        hub.accounts.close_session(s, secret)
    with hub.db.session() as s:
        assert hub.accounts.session_user(s, secret) is None


def test_errors_are_domain_kinds(hub: Hub, factory: Factory) -> None:
    assert issubclass(TooManyAttempts, WharfError) and issubclass(AlreadyExists, WharfError)
