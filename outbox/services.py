"""Queueing and delivering email: every write of the outbox.

An email is a row plus a task, written in the sender's transaction (queue_emails). The
worker runs `deliver` for it: one attempt, the next one already scheduled, until it is
sent or EMAIL_GIVE_UP_HOURS have passed.
"""

from __future__ import annotations

import datetime
import logging
import smtplib
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.db import transaction
from django.utils import timezone

from outbox import tasks
from outbox.models import Email

logger = logging.getLogger(__name__)

FIRST_RETRY = datetime.timedelta(seconds=30)
LONGEST_WAIT = datetime.timedelta(hours=1)


def queue_emails(*, messages: Sequence[EmailMessage]) -> int:
    """Store each message and enqueue its delivery, inside the caller's transaction.

    A rolled-back change therefore sends nothing, and a committed one is never lost.
    Returns how many messages were queued (those without a recipient are skipped).
    """
    queued, now = 0, timezone.now()
    with transaction.atomic():
        for message in messages:
            if not message.recipients():
                continue
            email = Email.objects.create(created_at=now, next_attempt_at=now, **_stored_fields(message))
            tasks.deliver.enqueue(email.pk)
            queued += 1
    return queued


def _stored_fields(message: EmailMessage) -> dict[str, object]:
    """What the outbox keeps of a message; what it cannot keep is refused, never silently dropped."""
    alternatives = list(getattr(message, "alternatives", []))
    if message.attachments or message.content_subtype != "plain":
        raise ValueError("The outbox queues plain-text emails, with at most an HTML alternative and no attachments.")
    if len(alternatives) > 1 or any(mimetype != "text/html" for _, mimetype in alternatives):
        raise ValueError("The outbox queues at most one alternative, in text/html.")
    return {
        "from_email": str(message.from_email),
        "to": [str(address) for address in message.to],
        "cc": [str(address) for address in message.cc],
        "bcc": [str(address) for address in message.bcc],
        "reply_to": [str(address) for address in message.reply_to],
        "headers": {str(name): str(value) for name, value in message.extra_headers.items()},
        "subject": str(message.subject),
        "body": str(message.body),
        "html_body": str(alternatives[0][0]) if alternatives else "",
    }


def retry_delay(attempts: int) -> datetime.timedelta:
    """How long after attempt number `attempts` the next one comes: 30 s, 2 min, 8 min, 32 min, then hourly.

    Never shorter than three EMAIL_TIMEOUTs (connect, then replies), so that two attempts
    at one email do not overlap even with several workers.
    """
    backoff = min(FIRST_RETRY * 4 ** min(attempts - 1, 8), LONGEST_WAIT)
    return max(backoff, datetime.timedelta(seconds=3 * settings.EMAIL_TIMEOUT))


def deliver(*, email_id: int) -> None:
    """One delivery attempt, if the email is queued and due; any other email is left alone.

    The next attempt is scheduled before this one sends, in the same transaction as the
    claim, so a worker that dies mid-send loses nothing. A sent email is never sent again.
    Errors of the mail server or of the email are recorded on the row, never raised.
    """
    now = timezone.now()
    email = _claim(email_id, now)
    if email is None:
        return
    # Outside the try: a backend that cannot load is the worker's error (the task fails), not the email's.
    connection = get_connection(settings.OUTBOX_DELIVERY_BACKEND)
    try:
        with connection:
            connection.send_messages([_message(email)])
    except Exception as error:
        _record_failure(email, error, now)
        return
    Email.objects.filter(pk=email.pk, status=Email.Status.QUEUED).update(
        status=Email.Status.SENT, sent_at=timezone.now(), last_error="", body="", html_body=""
    )


def _claim(email_id: int, now: datetime.datetime) -> Email | None:
    """Count an attempt and schedule the next one; None when the email is not queued or not due.

    "Not due" covers an attempt in progress elsewhere: it moved next_attempt_at ahead.
    """
    with transaction.atomic():
        email = Email.objects.select_for_update().filter(pk=email_id).first()
        if email is None or email.status != Email.Status.QUEUED or email.next_attempt_at > now:
            return None
        email.attempts += 1
        email.next_attempt_at = now + retry_delay(email.attempts)
        email.save(update_fields=["attempts", "next_attempt_at"])
        tasks.deliver.using(run_after=email.next_attempt_at).enqueue(email.pk)
    return email


def _message(email: Email) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=email.subject, body=email.body, from_email=email.from_email, to=email.to, cc=email.cc,
        bcc=email.bcc, reply_to=email.reply_to, headers=email.headers,
    )  # fmt: skip
    if email.html_body:
        message.attach_alternative(email.html_body, "text/html")
    return message


def _record_failure(email: Email, error: Exception, now: datetime.datetime) -> None:
    reason = describe(error)
    too_old = now - email.created_at >= datetime.timedelta(hours=settings.EMAIL_GIVE_UP_HOURS)
    given_up = too_old or is_permanent(error)
    Email.objects.filter(pk=email.pk, status=Email.Status.QUEUED).update(
        last_error=reason, status=Email.Status.FAILED if given_up else Email.Status.QUEUED
    )
    if given_up:
        logger.warning("Email %s given up after %d attempt(s): %s", email.pk, email.attempts, reason)
    else:
        logger.info("Email %s attempt %d failed (%s); next at %s", email.pk, email.attempts, reason,
                    email.next_attempt_at.isoformat())  # fmt: skip


def is_permanent(error: Exception) -> bool:
    """Whether retrying cannot help: a 5xx refusal of the email's recipients or content, or a malformed email.

    Every network and SMTP error is an OSError; anything else comes from the message. A
    refused login or sender is the configuration's fault, fixed for every email at once:
    those keep being retried.
    """
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPDataError):
        return error.smtp_code >= 500
    return not isinstance(error, OSError)


def describe(error: Exception) -> str:
    """The exception's type and a reason that cannot quote the email: an SMTP code, smtplib's or the OS's text.

    A server's reply text is left out: a spam filter may quote the message.
    """
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in error.recipients.values()})
        detail = f"{len(error.recipients)} recipient(s) refused, SMTP {', '.join(map(str, codes))}"
    elif isinstance(error, smtplib.SMTPResponseException):
        detail = f"SMTP {error.smtp_code}"
    elif isinstance(error, smtplib.SMTPServerDisconnected):
        detail = str(error)  # smtplib's own words ("Connection unexpectedly closed: timed out")
    elif isinstance(error, OSError) and error.strerror:
        detail = error.strerror
    else:
        detail = ""
    name = type(error).__name__
    return f"{name}: {detail}"[:200] if detail else name


def retry_now(*, email_ids: Iterable[int], now: datetime.datetime) -> int:
    """Staff's "retry now": each failed email is queued again for an immediate attempt.

    Only failed emails: a queued one may have an attempt in progress, a sent one is done.
    An email past EMAIL_GIVE_UP_HOURS gets this one attempt. Returns how many were queued.
    """
    with transaction.atomic():
        chosen = Email.objects.failed().filter(pk__in=list(email_ids)).select_for_update()
        failed = list(chosen.values_list("pk", flat=True))
        Email.objects.filter(pk__in=failed).update(status=Email.Status.QUEUED, next_attempt_at=now)
        for email_id in failed:
            tasks.deliver.enqueue(email_id)
    return len(failed)
