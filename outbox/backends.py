"""Django's EMAIL_BACKEND: sending an email queues it (outbox.services.queue_emails)."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from outbox import services


class QueuedEmailBackend(BaseEmailBackend):
    """Each message becomes an outbox.Email row and a delivery task, in the caller's transaction.

    Sending never touches the network, so no request waits for, or fails with, the mail
    server; the worker delivers through OUTBOX_DELIVERY_BACKEND.
    """

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        return services.queue_emails(messages=email_messages)
