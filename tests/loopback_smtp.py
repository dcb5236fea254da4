"""A real SMTP server on loopback (aiosmtpd) that keeps every mail it receives, and the
XLTOOLS_SMTP_* settings that point xltools at it: one helper for every test that sends mail."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class Mailbox:
    def __init__(self):
        self.received: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(
            email.message_from_bytes(envelope.original_content, policy=policy.default)
        )
        return "250 OK"

    def to(self) -> list[str]:
        return [m["To"].addresses[0].addr_spec for m in self.received]

    def summary(self) -> list[tuple[str, str]]:
        return [(m["To"].addresses[0].addr_spec, str(m["Subject"])) for m in self.received]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def loopback_smtp() -> Iterator[tuple[Mailbox, dict[str, str]]]:
    """The running server's mailbox and the environment that sends to it, without login."""
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield (
            box,
            {
                "XLTOOLS_SMTP_HOST": "127.0.0.1",
                "XLTOOLS_SMTP_PORT": str(port),
                "XLTOOLS_SMTP_SECURITY": "none",
                "XLTOOLS_MAIL_FROM": "gkb@example.gov.cn",
                "XLTOOLS_SMTP_USER": "",
                "XLTOOLS_SMTP_PASSWORD": "",
            },
        )
    finally:
        controller.stop()
