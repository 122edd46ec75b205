"""Consultation requests from clients, and each chosen therapist's copy of one.

A `ConsultationRequest` holds what the client gave (first name, email, phone,
wishes, message): protected health information, deleted
CONSULTATION_RETENTION_DAYS after it ends. A `Consultation` is one therapist's
copy, made when the client confirms their email; it holds no client details,
and stays when its request is deleted, as the anonymous record the
responsiveness measure counts. The rules live in `consultations.services`.
"""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from consultations import clock
from directory.models import FORMATS, Insurer, Therapist
from matching.models import Offer

# The times a client may prefer, as checkboxes.
PREFERRED_TIMES = {
    "weekday-mornings": "Weekday mornings",
    "weekday-afternoons": "Weekday afternoons",
    "weekday-evenings": "Weekday evenings",
    "weekends": "Weekends",
}
FIRST_NAME_MAX = 60
PHONE_MAX = 30
MESSAGE_MAX = 1000


def reply_by(sent_at: datetime.datetime) -> datetime.datetime:
    """When an answer to a request sent at `sent_at` is due: CONSULTATION_REPLY_BUSINESS_DAYS business days on.

    The one reply window: a consultation's deadline, and what "answered in time" means for offers too.
    """
    return clock.add_business_days(timezone.localtime(sent_at), settings.CONSULTATION_REPLY_BUSINESS_DAYS)


class ConsultationRequest(models.Model):
    """What one client sent to up to CONSULTATION_MAX_THERAPISTS therapists."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Protected health information.
    first_name = models.CharField(max_length=FIRST_NAME_MAX)
    email = models.EmailField()
    phone = models.CharField(max_length=PHONE_MAX, blank=True)
    preferred_times = models.JSONField(default=list)
    insurance = models.ForeignKey(Insurer, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    formats = models.JSONField(default=list)
    message = models.TextField(max_length=MESSAGE_MAX, blank=True)

    # The therapists chosen; each gets a Consultation once the client confirms their email.
    therapist_ids = models.JSONField(default=list)
    # The SHA-256 of the client's private link (a random token only the emailed link holds).
    link_digest = models.CharField(max_length=64, unique=True)
    consent_at = models.DateTimeField()
    created_at = models.DateTimeField(db_index=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    # When its last consultation stopped waiting; retention counts from here.
    ended_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        # No client details: this string appears in the admin, logs and error pages.
        return f"Consultation request {str(self.id)[:8]}"

    @property
    def format_labels(self) -> list[str]:
        return [FORMATS.get(slug, slug) for slug in self.formats]

    @property
    def preferred_time_labels(self) -> list[str]:
        return [PREFERRED_TIMES.get(slug, slug) for slug in self.preferred_times]


class Consultation(models.Model):
    """One therapist's copy of a confirmed request: what they did with it, and when."""

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for an answer"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        EXPIRED = "expired", "No answer in time"
        WITHDRAWN = "withdrawn", "Withdrawn by the client"

    class Outcome(models.TextChoices):
        NONE = "", "Not reported"
        CONTACTED = "contacted", "The therapist got in touch"
        NEVER_HEARD = "never_heard", "Never heard back"

    DeclineReason = Offer.DeclineReason

    # Null once the request was deleted: the row stays, anonymous, for the responsiveness counts.
    request = models.ForeignKey(
        ConsultationRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="consultations"
    )
    therapist = models.ForeignKey(Therapist, on_delete=models.PROTECT, related_name="consultations")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    decline_reason = models.CharField(max_length=16, blank=True, choices=Offer.DeclineReason.choices)
    outcome = models.CharField(max_length=12, blank=True, choices=Outcome.choices)
    sent_at = models.DateTimeField(help_text="When the client confirmed, and the therapist was told")
    reply_by = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)
    outcome_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        indexes = [
            models.Index(fields=["therapist", "status", "sent_at"]),
            models.Index(fields=["status", "reply_by"]),
        ]

    def __str__(self) -> str:
        return f"Consultation {self.pk} to therapist {self.therapist_id} ({self.status})"
