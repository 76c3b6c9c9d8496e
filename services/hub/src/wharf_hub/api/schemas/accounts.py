"""Accounts and personal access tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from ...db.models import AccessToken, User
from ...services.accounts import NewToken as CreatedToken
from ...services.tokens import scope_list
from .common import Input


class SignUp(Input):
    username: str = Field(
        description="4 to 30 lowercase letters, digits or underscores.", examples=["alice"], max_length=100
    )
    email: str = Field(examples=["alice@example.com"], max_length=300)
    password: str = Field(description="At least 8 characters, not easy to guess.", max_length=1000)


class PasswordChange(Input):
    old: str = Field(max_length=1000)
    new: str = Field(description="At least 8 characters, not easy to guess.", max_length=1000)


class PasswordConfirmation(Input):
    password: str = Field(description="The account's password (not a token).", max_length=1000)


class Profile(BaseModel):
    """What anyone may see of an account."""

    username: str
    full_name: str
    date_joined: datetime

    @classmethod
    def of(cls, user: User) -> Profile:
        return cls(username=user.username, full_name=user.full_name, date_joined=user.created_at)


class Account(Profile):
    """The caller's own account."""

    email: str
    is_active: bool = Field(description="False until the e-mail address is confirmed.")
    is_admin: bool
    last_login: datetime | None

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(
            username=user.username,
            full_name=user.full_name,
            date_joined=user.created_at,
            email=user.email,
            is_active=user.is_active,
            is_admin=user.is_admin,
            last_login=user.last_login_at,
        )


ScopeName = Literal["read", "write", "delete", "admin"]


class TokenRequest(Input):
    name: str = Field(description="What the token is for.", examples=["ci"], max_length=100)
    scopes: list[ScopeName] = Field(
        default=["read", "write", "delete"],
        description="`read` (pull, `docker login`, reading the API), `write` (push, changes), "
        "`delete` (deleting repositories), `admin` (the account: e-mail and tokens). "
        "`write` and `delete` bring `read`.",
        min_length=1,
        max_length=4,
    )
    expires_in_days: int | None = Field(
        default=None, ge=1, le=3650, description="Days until the token stops working; none: never."
    )


class Token(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="The start of the secret, to tell tokens apart.")
    scopes: list[ScopeName]
    created_at: datetime
    expires_at: datetime | None
    last_used: datetime | None

    @classmethod
    def of(cls, token: AccessToken) -> Token:
        return cls(
            id=token.id,
            name=token.name,
            prefix=token.prefix,
            scopes=scope_list(token),  # type: ignore[arg-type]
            created_at=token.created_at,
            expires_at=token.expires_at,
            last_used=token.last_used_at,
        )


class NewToken(Token):
    token: str = Field(
        description="The secret: `Authorization: Bearer <token>`, or the password for `docker login`. "
        "Shown only in this answer."
    )

    @classmethod
    def created(cls, new: CreatedToken) -> NewToken:
        return cls(**Token.of(new.token).model_dump(), token=new.secret)


__all__ = [
    "Account",
    "NewToken",
    "PasswordChange",
    "PasswordConfirmation",
    "Profile",
    "SignUp",
    "Token",
    "TokenRequest",
]
