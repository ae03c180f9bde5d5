"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the notification tests, and its mailbox."""
from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Mailbox:
    """What the server received; `refuse` (addresses) are refused at RCPT, `fail_next` DATA commands
    answer 451 (a mail server that is briefly unavailable)."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    fail_next: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's name)
        if address in self.refuse:
            return "550 5.1.1 Destinataire inconnu"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.fail_next:
            self.fail_next -= 1
            return "451 4.3.0 Reessayez plus tard"
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if str(m["To"]) == address]

    def texts(self) -> list[str]:
        """Every received mail whole: headers, text and HTML parts."""
        out = []
        for message in self.messages:
            parts = [str(message[h]) for h in ("Subject", "To", "From")]
            parts += [part.get_content() for part in message.walk() if part.get_content_maintype() == "text"]
            out.append("\n".join(parts))
        return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(app) -> Iterator[Mailbox]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    saved = {k: app.config.get(k) for k in ("MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS", "MAIL_USERNAME",
                                            "PUBLIC_BASE_URL")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_USE_TLS=False, MAIL_USERNAME="",
                      PUBLIC_BASE_URL="https://parcours.example.fr")
    try:
        yield mailbox
    finally:
        app.config.update(saved)
        controller.stop()
