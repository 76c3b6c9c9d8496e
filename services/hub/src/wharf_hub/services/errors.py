"""The hub's domain errors, each a kind from ``wharf_common.errors`` (mapped in ``api/errors.py``)."""

from __future__ import annotations

from wharf_common.errors import Conflict, Forbidden, InvalidArgument, NotFound, Unauthorized


class NoSuchUser(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"No such user: {name}")


class NoSuchRepository(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"No such repository: {name}")


class NoSuchToken(NotFound):
    def __init__(self, token_id: int) -> None:
        super().__init__(f"No such access token: {token_id}")


class AlreadyExists(Conflict):
    """A username, e-mail, repository, collaborator or webhook that is taken."""


class InvalidName(InvalidArgument):
    pass


class WeakPassword(InvalidArgument):
    pass


class WrongCredentials(Unauthorized):
    """Wrong password and unknown user get the same answer."""

    def __init__(self) -> None:
        super().__init__("Wrong login/password, please try again")


class AccountNotActive(Forbidden):
    def __init__(self) -> None:
        super().__init__("Account is not Active. Please check your e-mail for a confirmation link.")


class TooManyAttempts(Unauthorized):
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many failed login attempts; try again later")
        self.retry_after = retry_after


class AccessDenied(Forbidden):
    def __init__(self, message: str = "requested access to the resource is denied") -> None:
        super().__init__(message)


class LoginRequired(Unauthorized):
    def __init__(self, message: str = "authentication required") -> None:
        super().__init__(message)


__all__ = [
    "AccessDenied",
    "AccountNotActive",
    "AlreadyExists",
    "InvalidName",
    "LoginRequired",
    "NoSuchRepository",
    "NoSuchToken",
    "NoSuchUser",
    "TooManyAttempts",
    "WeakPassword",
    "WrongCredentials",
]
