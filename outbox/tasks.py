"""The outbox's background task, run by the worker (`manage.py db_worker`)."""

from __future__ import annotations

from django_tasks import task


@task()
def deliver(email_id: int) -> None:
    """One delivery attempt of an outbox.Email (outbox.services.deliver)."""
    # The services enqueue this task, so they are imported when it runs, not when it is defined.
    from outbox import services

    services.deliver(email_id=email_id)


@task()
def deliver_sms(to: str, body: str, attempts: int, queued_at: str) -> None:
    """One delivery attempt of a text message (outbox.sms.deliver_sms)."""
    from outbox import sms

    sms.deliver_sms(to=to, body=body, attempts=attempts, queued_at=queued_at)
