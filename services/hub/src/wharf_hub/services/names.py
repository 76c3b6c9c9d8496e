"""Name rules (protocols.md A.2): usernames, namespaces, repository names, tags, passwords."""

from __future__ import annotations

import re

from .errors import InvalidName, WeakPassword

USERNAME_RE = re.compile(r"[a-z0-9_]{4,30}")
REPO_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
TAG_RE = re.compile(r"[\w][\w.-]{0,127}")
EMAIL_RE = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
MIN_PASSWORD = 8
COMMON_PASSWORDS = frozenset(
    [
        "password",
        "password1",
        "12345678",
        "123456789",
        "1234567890",
        "qwertyuiop",
        "qwerty123",
        "iloveyou",
        "11111111",
        "00000000",
        "abcdefgh",
        "abc12345",
        "letmein1",
        "welcome1",
        "admin123",
        "dockerhub",
        "passw0rd",
        "changeme",
        "sunshine",
        "football",
        "baseball",
        "trustno1",
        "superman",
        "princess",
    ]
)


RESERVED_NAMES = frozenset(
    [
        "library",  # official images
        "admin",
        "root",
        "v1",
        "v2",
        "api",
        "_",
        "_ping",
        # the first path segments of the hub's pages and API
        "account",
        "activate",
        "explore",
        "login",
        "logout",
        "new",
        "orgs",
        "repositories",
        "reset",
        "search",
        "settings",
        "signup",
        "static",
        "u",
        "user",
        "users",
    ]
)
"""Names no user or organisation may take: ``library`` holds the official images, the rest
would be confused with the hub's own paths or with its administrators."""


def check_username(name: str, *, allow_reserved: bool = False) -> str:
    """A new user's or organisation's name (``allow_reserved`` only for ``wharf-hub bootstrap``)."""
    if not USERNAME_RE.fullmatch(name):
        raise InvalidName(
            "Invalid username: use 4 to 30 lowercase letters, digits or underscores ([a-z0-9_])"
        )
    if name in RESERVED_NAMES and not allow_reserved:
        raise InvalidName(f"The name {name} is reserved")
    return name


def check_repository_name(name: str) -> str:
    if not REPO_NAME_RE.fullmatch(name) or ".." in name:
        raise InvalidName(
            f"Invalid repository name ({name}), only [a-z0-9-_.] are allowed, starting with a letter or digit"
        )
    return name


def check_namespace(namespace: str) -> str:
    if namespace == "library":
        return namespace
    if not USERNAME_RE.fullmatch(namespace):
        raise InvalidName(f"Invalid namespace name ({namespace}), only [a-z0-9_] are allowed, size 4 to 30")
    return namespace


def check_email(email: str) -> str:
    email = email.strip()
    if not EMAIL_RE.fullmatch(email) or len(email) > 254:
        raise InvalidName("Invalid e-mail address")
    return email


def check_password(password: str, username: str = "") -> str:
    if not password:
        raise WeakPassword("A password is required")
    if len(password) < MIN_PASSWORD:
        raise WeakPassword(f"Password is too short: use at least {MIN_PASSWORD} characters")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(password)) < 4 or (username and username in lowered):
        raise WeakPassword("Password is too easy to guess: avoid common words, repeats and your username")
    return password


def split_repository(path: str) -> tuple[str, str]:
    """``alice/web`` → (alice, web); ``busybox`` → (library, busybox)."""
    namespace, slash, name = path.strip("/").partition("/")
    if not slash:
        namespace, name = "library", namespace
    return check_namespace(namespace), check_repository_name(name)


__all__ = [
    "RESERVED_NAMES",
    "check_email",
    "check_namespace",
    "check_password",
    "check_repository_name",
    "check_username",
    "split_repository",
]
