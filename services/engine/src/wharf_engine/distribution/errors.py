"""What can go wrong talking to a registry, as wharf error kinds (messages in Docker's wording)."""

from __future__ import annotations

from wharf_common.errors import (
    Forbidden,
    InvalidArgument,
    NotFound,
    SystemFault,
    Unauthorized,
    Unavailable,
)


class RegistryUnreachable(Unavailable):
    """The registry did not answer (refused, reset, timed out, TLS failure)."""

    def __init__(self, method: str, url: str, reason: str) -> None:
        super().__init__(f'{method.capitalize()} "{url}": {reason}')


class RegistryUnauthorized(Unauthorized):
    def __init__(self, method: str, url: str, *, anonymous: bool = False, reason: str | None = None) -> None:
        self.reason = reason or ("authentication required" if anonymous else "incorrect username or password")
        super().__init__(f'{method.capitalize()} "{url}": unauthorized: {self.reason}')


class AccessDenied(Forbidden):
    """The index refused the caller this repository (403): Docker's wording."""

    reason = "denied: requested access to the resource is denied"

    def __init__(self) -> None:
        super().__init__(self.reason)


class RepositoryUnknown(NotFound):
    """The index has no such repository (404 on ``GET …/images``)."""

    def __init__(self, repository: str) -> None:
        super().__init__(f"repository {repository} not found")


class AccountInactive(Forbidden):
    """``GET /v1/users/`` answered 403: the account exists but is not activated (A.10)."""

    def __init__(self, server: str) -> None:
        super().__init__(
            f"Account is not Active. Please see the documentation of the registry {server} "
            "for instructions how to activate it."
        )


class RegistrationFailed(InvalidArgument):
    """``POST /v1/users/`` refused a new account for another reason than an existing name."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Registration: {reason}")


class TagNotFound(NotFound):
    def __init__(self, reference: str, tag: str, repository: str) -> None:
        super().__init__(
            f"manifest for {reference} not found: Tag {tag} not found in repository {repository}"
        )


class PullAccessDenied(NotFound):
    """moby answers a refused pull as not found (and the CLI then does not prompt for a login)."""

    def __init__(self, repository: str, cause: str) -> None:
        super().__init__(
            f"pull access denied for {repository}, repository does not exist or may require "
            f"'docker login': {cause}"
        )


class RegistryError(SystemFault):
    """The registry answered with a status the protocol does not expect here."""

    def __init__(self, method: str, url: str, status: int, detail: str) -> None:
        super().__init__(f'{method.capitalize()} "{url}": registry answered {status}: {detail}')


class LayerVerificationFailed(SystemFault):
    """A downloaded layer or image JSON is not what the registry announced."""


class InvalidRegistryAuth(InvalidArgument):
    def __init__(self) -> None:
        super().__init__("invalid X-Registry-Auth header: expected base64url-encoded JSON")


__all__ = [
    "AccessDenied",
    "AccountInactive",
    "InvalidRegistryAuth",
    "LayerVerificationFailed",
    "PullAccessDenied",
    "RegistrationFailed",
    "RegistryError",
    "RegistryUnauthorized",
    "RegistryUnreachable",
    "RepositoryUnknown",
    "TagNotFound",
]
