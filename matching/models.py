"""Referrals from physicians' offices, their ranked matches, offers and the PHI access log.

A referral carries protected health information (the `patient_*` fields and
`notes`): only its referrer, staff and a therapist who accepted it may see
them, and every read is recorded in `PHIAccess`. The status machine lives in
`matching.services`; models hold data, not rules.
"""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from directory.models import AGE_GROUPS, FORMATS, Insurer, Therapist, validate_npi

# ICD-10-CM: a letter, two characters (digit, then digit or letter), and up to four more after a dot.
ICD10CM_PATTERN = r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$"
validate_icd10cm = RegexValidator(
    ICD10CM_PATTERN, "Enter an ICD-10-CM code such as F32.1: a letter, two characters, then a dot and up to four.",
    code="icd10cm",
)  # fmt: skip
# The codes a referral for IPT most often carries, offered as suggestions (any valid code is accepted).
COMMON_DIAGNOSES: dict[str, str] = {
    "F32.0": "Major depressive disorder, single episode, mild",
    "F32.1": "Major depressive disorder, single episode, moderate",
    "F32.9": "Major depressive disorder, single episode, unspecified",
    "F33.1": "Major depressive disorder, recurrent, moderate",
    "F34.1": "Dysthymic disorder",
    "F41.0": "Panic disorder without agoraphobia",
    "F41.1": "Generalized anxiety disorder",
    "F40.10": "Social phobia, unspecified",
    "F43.21": "Adjustment disorder with depressed mood",
    "F43.23": "Adjustment disorder with mixed anxiety and depressed mood",
    "F53.0": "Postpartum depression",
    "Z63.4": "Disappearance and death of family member",
}
PHONE_PATTERN = r"^[0-9 ()+.\-]{7,30}$"
validate_phone = RegexValidator(PHONE_PATTERN, "Enter a phone number: digits, spaces and ( ) + . - only.")
# An insurance member ID as printed on the card: letters and digits, with dashes or spaces between.
validate_member_id = RegexValidator(
    r"^[A-Za-z0-9](?:[A-Za-z0-9 \-]{0,28}[A-Za-z0-9])?$",
    "Enter the member ID as printed on the card: letters and digits (dashes and spaces between), at most 30.",
    code="member_id",
)


class Referral(models.Model):
    class Status(models.TextChoices):
        MATCHED = "matched", "Matched"
        NO_MATCH = "no_match", "No match"
        OFFERED = "offered", "Offered"
        ACCEPTED = "accepted", "Accepted"
        SCHEDULED = "scheduled", "First session scheduled"
        CLOSED = "closed", "Closed"
        DECLINED = "declined", "Declined by every therapist offered"
        WITHDRAWN = "withdrawn", "Withdrawn"
        EXPIRED = "expired", "Expired"

    class Urgency(models.TextChoices):
        ROUTINE = "routine", "Routine"
        SOON = "soon", "Soon (within two weeks)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    referrer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referrals")
    status = models.CharField(max_length=12, choices=Status.choices, db_index=True)
    urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.ROUTINE)

    # The need, as matched: no PHI here.
    postal_code = models.CharField(max_length=10)
    latitude = models.FloatField()
    longitude = models.FloatField()
    state = models.CharField(max_length=2)
    place_label = models.CharField(max_length=120)
    insurance = models.ForeignKey(Insurer, null=True, blank=True, on_delete=models.PROTECT)
    max_fee = models.PositiveIntegerField(null=True, blank=True)
    formats = models.JSONField(default=list)
    focus_areas = models.JSONField(default=list)
    concerns = models.JSONField(default=list)
    language = models.CharField(max_length=3, blank=True)
    age_group = models.CharField(max_length=12, blank=True, choices=list(AGE_GROUPS.items()))
    max_distance_miles = models.PositiveSmallIntegerField(default=25)

    # Protected health information.
    patient_name = models.CharField(max_length=160)
    patient_birth_date = models.DateField()
    patient_phone = models.CharField(max_length=30, blank=True)
    patient_email = models.EmailField(blank=True)
    notes = models.TextField(blank=True)
    reason = models.TextField("Reason for referral", blank=True)
    diagnosis_code = models.CharField("ICD-10-CM code", max_length=8, blank=True, validators=[validate_icd10cm])
    insurance_member_id = models.CharField(max_length=30, blank=True, validators=[validate_member_id])
    consent_confirmed_at = models.DateTimeField()
    # The patient agreed to be emailed or texted (no clinical content) when a therapist accepts and schedules.
    patient_contact_consent = models.BooleanField(default=False)

    # Who referred: the clinician and practice to call back (blank on referrals made before these were asked).
    clinician_name = models.CharField("Referring clinician", max_length=160, blank=True)
    clinician_npi = models.CharField("Clinician's NPI", max_length=10, blank=True, validators=[validate_npi])
    clinician_phone = models.CharField("Callback phone", max_length=30, blank=True, validators=[validate_phone])
    practice_name = models.CharField("Practice", max_length=160, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["referrer", "-created_at"])]

    def __str__(self) -> str:
        # No PHI: this string appears in the admin, logs and error pages.
        return f"Referral {str(self.id)[:8]} ({self.get_status_display()})"

    @property
    def format_labels(self) -> list[str]:
        return [FORMATS.get(slug, slug) for slug in self.formats]

    def age_band(self, today: datetime.date) -> str:
        """A de-identified age: the decade, or "under 18" / "65 and over"."""
        birth = self.patient_birth_date
        age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
        if age < 18:
            return "under 18"
        if age >= 65:
            return "65 and over"
        decade = age // 10 * 10
        return f"{max(decade, 18)}-{decade + 9}"

    @property
    def area(self) -> str:
        """Where the patient is, coarsened to the ZIP's first three digits and the state."""
        return f"ZIP {self.postal_code[:3]}xx, {self.state}"


class Match(models.Model):
    """One ranked candidate, as ranked when the referral was created."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="matches")
    # PROTECT, here and on Offer: a therapist with referral history is suspended, never deleted (docs/operations.md).
    therapist = models.ForeignKey(Therapist, on_delete=models.PROTECT, related_name="referral_matches")
    rank = models.PositiveSmallIntegerField()
    score = models.FloatField()
    components = models.JSONField(default=dict)
    reasons = models.JSONField(default=list)
    delivery = models.CharField(max_length=10)
    distance_miles = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["referral", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["referral", "therapist"], name="unique_match_per_referral"),
        ]

    def __str__(self) -> str:
        return f"#{self.rank} {self.therapist_id} ({self.score})"


class ReferralEvent(models.Model):
    """A timestamped step of the referral's history, shown to the referrer."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    # Who acted is part of a health record's history: such a user is deactivated, never deleted.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or 'new'} → {self.to_status}"


class Offer(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Waiting for an answer"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"
        EXPIRED = "expired", "Expired"

    class DeclineReason(models.TextChoices):
        NO_CAPACITY = "no_capacity", "No capacity"
        INSURANCE = "insurance", "Insurance"
        OUTSIDE_FOCUS = "outside_focus", "Outside my focus"
        LOCATION = "location", "Location"
        OTHER = "other", "Other"

    class WithdrawnBecause(models.TextChoices):
        """Why an offer stopped waiting without its therapist's answer: the referrer's history says who did it."""

        OTHER_ACCEPTED = "other_accepted", "Closed: another therapist accepted first"
        REFERRER = "referrer", "Withdrawn by the referring office"
        UNAVAILABLE = "unavailable", "Withdrawn: the therapist is no longer taking referrals"

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="offers")
    therapist = models.ForeignKey(Therapist, on_delete=models.PROTECT, related_name="offers")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    score = models.FloatField()
    decline_reason = models.CharField(max_length=16, blank=True, choices=DeclineReason.choices)
    decline_note = models.CharField(max_length=300, blank=True)
    withdrawn_because = models.CharField(max_length=16, blank=True, choices=WithdrawnBecause.choices)
    first_session_date = models.DateField(null=True, blank=True)
    # The same day with its time, when the therapist gave one (the API's time is optional).
    first_session_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["referral", "therapist"], name="unique_offer_per_therapist"),
        ]
        indexes = [models.Index(fields=["therapist", "status", "created_at"])]

    def __str__(self) -> str:
        return f"Offer {self.pk} to therapist {self.therapist_id} ({self.status})"


class PHIAccess(models.Model):
    """Who read which referral's patient details, when, and through what."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="phi_accesses")
    # The log outlives nothing it records: a referral whose patient details were read cannot be deleted.
    referral = models.ForeignKey(Referral, null=True, blank=True, on_delete=models.PROTECT, related_name="phi_accesses")
    # Or a client's consultation request, by id only: the request is deleted after its retention
    # period (CONSULTATION_RETENTION_DAYS), and the record of who read it stays.
    consultation_request = models.UUIDField(null=True, blank=True, db_index=True)
    fields = models.CharField(max_length=200)
    channel = models.CharField(max_length=40, help_text="The page or API endpoint")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "PHI access"
        constraints = [
            models.CheckConstraint(
                condition=Q(referral__isnull=False) ^ Q(consultation_request__isnull=False),
                name="phi_access_of_one_record",
            )
        ]
        verbose_name_plural = "PHI access log"

    def __str__(self) -> str:
        return (
            f"{self.user_id} read {self.referral_id or self.consultation_request} at {self.created_at:%Y-%m-%d %H:%M}"
        )


class IdempotencyKey(models.Model):
    """A caller's `Idempotency-Key` on a write that creates, and what the first such request did.

    No PHI is kept here: the key (which a client might make of anything) and the
    request's fingerprint are keyed digests, and the answer is the referral it
    concerns, which a replay re-renders (and logs as a read) like any other.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key_digest = models.CharField(max_length=64)
    fingerprint = models.CharField(max_length=64, help_text="Digest of the method, path and canonical body")
    # Filled in the transaction that inserted the row: another request never sees it empty.
    referral = models.ForeignKey(Referral, null=True, on_delete=models.CASCADE, related_name="+")
    status_code = models.PositiveSmallIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key_digest"], name="unique_idempotency_key_per_user")]

    def __str__(self) -> str:
        return f"Idempotency key of user {self.user_id} at {self.created_at:%Y-%m-%d %H:%M}"


class TherapistResponses(Therapist):
    """Therapists by how they answer offers (accepted, declined by reason), for staff."""

    class Meta:
        proxy = True
        verbose_name = "therapist's answers to offers"
        verbose_name_plural = "therapists' answers to offers (decline reasons)"
