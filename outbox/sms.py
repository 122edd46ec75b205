"""Text messages: a pluggable backend (SMS_BACKEND, like Django's EMAIL_BACKEND), sent through the task queue.

`queue_sms` only enqueues a task, in the caller's transaction, as `queue_emails` does: a
rolled-back change sends nothing, and a backend that fails never undoes the change that
asked for the message. The worker delivers it, retrying with the outbox's back-off until
EMAIL_GIVE_UP_HOURS have passed. Nothing about a message is logged but its failure's type.
"""

from __future__ import annotations

import datetime
import logging
import sys

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from outbox import tasks
from outbox.services import describe, retry_delay

logger = logging.getLogger(__name__)

# What LocmemSmsBackend sent, for tests (as django.core.mail.outbox is for email).
sent: list[dict[str, str]] = []


class ConsoleSmsBackend:
    """Prints each message (the default: development and the demo)."""

    def send(self, *, to: str, body: str) -> None:
        sys.stdout.write(f"SMS to {to}\n{body}\n{'-' * 40}\n")
        sys.stdout.flush()


class LocmemSmsBackend:
    """Keeps each message in `outbox.sms.sent`, for tests."""

    def send(self, *, to: str, body: str) -> None:
        sent.append({"to": to, "body": body})


def backend() -> object:
    """The backend SMS_BACKEND names: any class with `send(*, to, body)` that raises when it fails."""
    return import_string(settings.SMS_BACKEND)()


def queue_sms(*, to: str, body: str) -> None:
    """Enqueue a text message to `to`, inside the caller's transaction."""
    tasks.deliver_sms.enqueue(to=to, body=body, attempts=0, queued_at=timezone.now().isoformat())


def deliver_sms(*, to: str, body: str, attempts: int, queued_at: str) -> None:
    """One delivery attempt; on failure the next is enqueued, until EMAIL_GIVE_UP_HOURS after queueing."""
    try:
        backend().send(to=to, body=body)
    except Exception as error:
        attempts += 1
        now = timezone.now()
        if now - datetime.datetime.fromisoformat(queued_at) >= datetime.timedelta(hours=settings.EMAIL_GIVE_UP_HOURS):
            logger.warning("SMS given up after %d attempt(s): %s", attempts, describe(error))
            return
        logger.info("SMS attempt %d failed (%s)", attempts, describe(error))
        tasks.deliver_sms.using(run_after=now + retry_delay(attempts)).enqueue(
            to=to, body=body, attempts=attempts, queued_at=queued_at
        )
