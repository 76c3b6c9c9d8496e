"""Rate limits kept in the database, so every hub process sees the same counts.

* :class:`LoginThrottle` counts wrong passwords per (account, source address) and answers
  with an exponential backoff there, never with a lockout of the account: an attacker's
  failures from one address do not keep the owner out from another.
* :class:`MailLimiter` caps sign-up and reset mails per e-mail address and per source.
"""

from __future__ import annotations

import math
import secrets
from datetime import datetime, timedelta

import structlog
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import Database
from ..db.base import utcnow
from ..db.models import LoginThrottle as ThrottleRow
from ..db.models import MailQuota
from ..settings import MailLimitSettings, RateLimitSettings
from .errors import TooManyAttempts

log = structlog.get_logger(__name__)

PRUNE_EVERY = 100
"""About one failure in this many also deletes the rows of long-quiet (account, address) pairs."""


class TooManyMails(TooManyAttempts):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.message = "Too many mails asked for; try again later"


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


class LoginThrottle:
    def __init__(self, db: Database, limit: RateLimitSettings) -> None:
        self.db = db
        self.limit = limit

    @staticmethod
    def key(account: str, address: str | None) -> str:
        return f"{account.lower()[:40]}|{(address or '-')[:59]}"

    def check(self, s: Session, account: str, address: str | None) -> ThrottleRow | None:
        """:class:`TooManyAttempts` while this account must wait at this address; else the
        account's count of failures here, if there is one (for :meth:`clear`)."""
        row = s.get(ThrottleRow, self.key(account, address))
        if row is not None:
            self.refuse_while_blocked(row.blocked_until)
        return row

    @staticmethod
    def refuse_while_blocked(blocked_until: datetime | None) -> None:
        """:class:`TooManyAttempts` until ``blocked_until`` (a throttle row's, read by the caller)."""
        now = utcnow()
        if blocked_until is not None and blocked_until > now:
            raise TooManyAttempts(_seconds(blocked_until - now))

    def fail(self, account: str, address: str | None) -> None:
        """Count a failure, in a transaction of its own (the request's rolls back with the
        error); a concurrent first failure from another process is retried once."""
        key = self.key(account, address)
        for attempt in (1, 2):
            try:
                with self.db.session() as s:
                    self._count(s, key)
                break
            except IntegrityError:
                if attempt == 2:
                    raise
        log.info("account.login_failed", key=key)

    def _count(self, s: Session, key: str) -> None:
        now = utcnow()
        if secrets.randbelow(PRUNE_EVERY) == 0:  # counts nobody will look at again
            stale = now - timedelta(seconds=self.limit.window + self.limit.max_backoff)
            s.execute(delete(ThrottleRow).where(ThrottleRow.last_failure_at < stale))
        row = s.get(ThrottleRow, key, with_for_update=True)
        if row is None:
            row = ThrottleRow(key=key, failures=0, last_failure_at=now)
            s.add(row)
        elif row.last_failure_at + timedelta(seconds=self.limit.window) < now:
            row.failures, row.blocked_until = 0, None
        row.failures += 1
        row.last_failure_at = now
        over = row.failures - self.limit.max_failures
        if over >= 0:
            wait = min(self.limit.max_backoff, self.limit.backoff * 2.0 ** min(over, 40))
            row.blocked_until = now + timedelta(seconds=wait)

    def clear(self, s: Session, row: ThrottleRow | None) -> None:
        """Forget the failures :meth:`check` found; nothing to write when there were none (the
        common case: a correct password would otherwise cost every request a write)."""
        if row is not None:
            s.execute(delete(ThrottleRow).where(ThrottleRow.key == row.key))


class MailLimiter:
    def __init__(self, limit: MailLimitSettings) -> None:
        self.limit = limit

    def take(self, s: Session, email: str, address: str | None) -> bool:
        """Count one mail to ``email`` asked for from ``address``: :class:`TooManyMails` when
        that source asked for too many; False (send nothing) when the address got enough."""
        if address and not self._take(s, f"from:{address}"[:300], self.limit.per_source, spend=False):
            raise TooManyMails(self.limit.window)
        if not self._take(s, f"to:{email.strip().lower()}"[:300], self.limit.per_address, spend=False):
            log.info("mail.quota_reached", to=email)
            return False
        if address:
            self._take(s, f"from:{address}"[:300], self.limit.per_source, spend=True)
        self._take(s, f"to:{email.strip().lower()}"[:300], self.limit.per_address, spend=True)
        return True

    def _take(self, s: Session, key: str, most: int, *, spend: bool) -> bool:
        now = utcnow()
        if spend and secrets.randbelow(PRUNE_EVERY) == 0:
            stale = now - timedelta(seconds=self.limit.window)
            s.execute(delete(MailQuota).where(MailQuota.window_start < stale, MailQuota.key != key))
        row = s.get(MailQuota, key, with_for_update=True)
        if row is None or row.window_start + timedelta(seconds=self.limit.window) < now:
            if not spend:
                return True
            if row is None:
                row = MailQuota(key=key, count=0, window_start=now)
                s.add(row)
            row.count, row.window_start = 0, now
        if not spend:
            return row.count < most
        row.count += 1
        s.flush()
        return True


__all__ = ["LoginThrottle", "MailLimiter", "TooManyMails"]
