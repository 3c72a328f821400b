"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message it accepts."""

from __future__ import annotations

import email
import logging
import socket
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class _Keep:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: int | None = None  # answer DATA with this code instead (e.g. 451, 550)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse is not None:
            return f"{self.refuse} refused by the test server"
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)  # type: ignore[arg-type]  # policy.default makes EmailMessage
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:  # aiosmtpd's readiness check connects to the port it is given
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpServer:
    def __init__(self) -> None:
        self._handler = _Keep()
        self.port = _free_port()
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self._handler.messages)

    def refuse(self, code: int | None) -> None:
        self._handler.refuse = code

    def __enter__(self) -> SmtpServer:
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
