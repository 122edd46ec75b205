"""Mail servers for the outbox tests: a real SMTP server (aiosmtpd), a closed port, one that never answers."""

from __future__ import annotations

import datetime
import email
import email.message
import signal
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.core.management import call_command
from django.utils import timezone


def free_port() -> int:
    """A port nobody listens on (until a test starts a server there)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps every message it accepts, and refuses the addresses in `refused`."""

    messages: list[email.message.Message] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:  # fmt: skip
        if address in self.refused:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.original_content or b""))
        return "250 Message accepted for delivery"


@dataclass
class MailServer:
    """Where EMAIL_HOST/EMAIL_PORT point; nothing listens until start()."""

    port: int
    recorder: Recorder = field(default_factory=Recorder)
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[email.message.Message]:
        return self.recorder.messages


@pytest.fixture
def mail_server(settings: object) -> Iterator[MailServer]:
    """Django sends through the outbox, and the worker delivers by SMTP to a server that is down until started."""
    server = MailServer(port=free_port())
    settings.EMAIL_BACKEND = "outbox.backends.QueuedEmailBackend"
    settings.OUTBOX_DELIVERY_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 2
    settings.EMAIL_GIVE_UP_HOURS = 24
    yield server
    server.stop()


@pytest.fixture
def hanging_mail_server(mail_server: MailServer) -> Iterator[MailServer]:
    """A socket that accepts connections (the kernel's backlog) and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", mail_server.port))
        listener.listen(16)
        yield mail_server


class Clock:
    """django.utils.timezone.now, moved forward by the test (the worker reads the time there too)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def travel_to(self, moment: datetime.datetime) -> None:
        self.now = moment

    def advance(self, **delta: float) -> None:
        self.now += datetime.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def run_worker() -> None:
    """`manage.py db_worker --batch`: run every task that is due, then return (its signal handlers put back)."""
    signals = [signal.SIGINT, signal.SIGTERM, signal.SIGQUIT]
    handlers = {number: signal.getsignal(number) for number in signals}
    try:
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0", verbosity=0)
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
