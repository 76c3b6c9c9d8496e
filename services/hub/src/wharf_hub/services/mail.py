"""Outgoing mail: SMTP when configured, otherwise one ``.eml`` file per message in the outbox.

The outbox lets one machine run the hub with no mail server: the log says where each
message went, and tests read the activation and reset links from it.
"""

from __future__ import annotations

import secrets
import smtplib
import time
from email.message import EmailMessage
from pathlib import Path

import structlog

from ..settings import MailSettings

log = structlog.get_logger(__name__)


class Mailer:
    def __init__(self, settings: MailSettings, outbox: Path) -> None:
        self.settings = settings
        self.outbox = outbox

    def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        if self.settings.smtp_host:
            self._smtp(message)
            log.info("mail.sent", to=to, subject=subject, via=self.settings.smtp_host)
            return
        self.outbox.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{secrets.token_hex(4)}.eml"
        tmp = self.outbox / f".{name}"
        tmp.write_bytes(bytes(message))
        tmp.replace(self.outbox / name)
        log.info("mail.outbox", to=to, subject=subject, path=str(self.outbox / name))

    def _smtp(self, message: EmailMessage) -> None:
        s = self.settings
        assert s.smtp_host is not None
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=30) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_user and s.smtp_password:
                smtp.login(s.smtp_user, s.smtp_password.get_secret_value())
            smtp.send_message(message)


__all__ = ["Mailer"]
