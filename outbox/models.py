"""One row per email: what to send, and where its delivery stands."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class EmailQuerySet(models.QuerySet):
    def failed(self) -> EmailQuerySet:
        return self.filter(status=Email.Status.FAILED)


class Email(models.Model):
    """An email queued by QueuedEmailBackend; the `deliver` task sends it and records the outcome.

    The body is kept only until the email is sent: it may hold a password-reset link.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (given up)"

    from_email = models.CharField(max_length=500)
    to = models.JSONField(default=list)
    cc = models.JSONField(default=list, blank=True)
    bcc = models.JSONField(default=list, blank=True)
    reply_to = models.JSONField(default=list, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    subject = models.TextField()
    body = models.TextField(blank=True)
    html_body = models.TextField(blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    # Exception type and a short reason (an SMTP code, an OS error's text): never the message's content.
    last_error = models.CharField(max_length=200, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = EmailQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Email {self.pk} ({self.status})"
