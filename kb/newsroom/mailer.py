"""Sending the newsroom's e-mails through the SMTP server its settings name (none set: no mail).

Every message leaves in a thread of its own, with a time budget: a slow or unreachable mail server
never holds the request that triggered it; a failure is logged, never shown to the person acting.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any, Mapping

log = logging.getLogger(__name__)

TLS_MODES = ("none", "starttls", "ssl")
TIMEOUT_SECONDS = 10


def masked(address: str) -> str:
    """An address as the logs write it: its domain only (a follower's address is kept for their e-mails, not in logs)."""
    return "…@" + str(address).rpartition("@")[2]


@dataclass(frozen=True)
class Mailer:
    """An SMTP server and the sender of the newsroom's mail."""

    host: str
    port: int
    tls: str
    user: str | None
    password: str | None
    sender: str
    site_name: str

    @classmethod
    def from_settings(cls, values: Mapping[str, Any]) -> "Mailer | None":
        """The mailer the settings describe; None when SMTP_HOST is not set (no mail)."""
        if not values.get("SMTP_HOST"):
            return None
        tls = values.get("SMTP_TLS") or "starttls"
        default_port = {"ssl": 465, "starttls": 587, "none": 25}[tls]
        return cls(
            host=values["SMTP_HOST"], port=int(values.get("SMTP_PORT") or default_port), tls=tls, user=values.get("SMTP_USER"),
            password=values.get("SMTP_PASSWORD"), sender=values.get("MAIL_FROM") or f"kb@{values['SMTP_HOST']}",
            site_name=values.get("SITE_NAME") or "kb",
        )  # fmt: skip

    def message(self, to: str, subject: str, text: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = formataddr((self.site_name, self.sender))
        message["To"] = to
        # A header is one line: a title typed with a line break (or U+2028) would make the message unsendable.
        message["Subject"] = " ".join(subject.split())
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text)
        return message

    def send(self, message: EmailMessage) -> None:
        """Send one message now (in the calling thread); raises on failure."""
        if self.tls == "ssl":
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_SECONDS)
        try:
            if self.tls == "starttls":
                client.starttls(context=ssl.create_default_context())
            if self.user:
                client.login(self.user, self.password or "")
            client.send_message(message)
        finally:
            # The message is sent once the server accepted it: a QUIT that fails or times out after that
            # must not make the caller believe otherwise (and send it again).
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()

    def send_later(self, messages: list[EmailMessage]) -> threading.Thread | None:
        """Send messages in a thread of their own; failures are logged. The thread (tests wait for it)."""
        if not messages:
            return None

        def run() -> None:
            for message in messages:
                try:
                    self.send(message)
                    log.info("e-mail envoyé à %s : %s", masked(message["To"]), message["Subject"])
                except (OSError, smtplib.SMTPException) as error:
                    log.warning("e-mail non envoyé à %s (%s:%s) : %s", masked(message["To"]), self.host, self.port, error)

        thread = threading.Thread(target=run, name="kb-mail", daemon=True)
        thread.start()
        return thread
