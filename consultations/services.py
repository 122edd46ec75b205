"""The consultation loop: a client asks, confirms their email, therapists answer or the clock runs out.

Every write runs in `transaction.atomic`, and every change of a consultation's
status is a compare-and-set on the status it had (`_claim`), so a therapist's
answer, the client's withdrawal and the expiry job never both win. Emails are
queued in the same transaction (outbox) and carry no client details.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from consultations import measures, notifications, silence
from consultations.models import PREFERRED_TIMES, Consultation, ConsultationRequest, reply_by
from directory.models import FORMATS, Insurer, Therapist
from directory.security import is_rate_limited

Status = Consultation.Status
RATE_WINDOW = datetime.timedelta(days=1)


class ConsultationConflict(Exception):
    """The request is valid but the consultation's state forbids it now (HTTP 409)."""


class ConsultationLimited(Exception):
    """Too many requests from this address or to this email today (HTTP 429)."""


@dataclass(frozen=True)
class Ask:
    """What a client asks, as parsed by the page's form or the API's serializer."""

    therapist_ids: tuple[int, ...]
    first_name: str
    email: str
    consent: bool
    phone: str = ""
    preferred_times: tuple[str, ...] = ()
    insurance: str | None = None  # a slug, or None for self-pay
    formats: tuple[str, ...] = ()
    message: str = ""


def link_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def therapists_error(therapist_ids: tuple[int, ...]) -> ValidationError | None:
    """What is wrong with this choice of therapists: none, too many, or one not taking requests."""
    ids = list(dict.fromkeys(therapist_ids))
    most = settings.CONSULTATION_MAX_THERAPISTS
    if not ids:
        return ValidationError("Choose at least one therapist.", code="required")
    if len(ids) > most:
        return ValidationError(f"Choose at most {most} therapists at once.", code="max_length")
    if Therapist.objects.taking_referrals().filter(pk__in=ids).count() != len(ids):
        return ValidationError("One of these therapists is not listed any more.", code="invalid")
    return None


def ask_errors(ask: Ask) -> dict[str, ValidationError]:
    """What is wrong with a request, by the name of the field the page and the API show it under."""
    errors: dict[str, ValidationError] = {}
    if error := therapists_error(ask.therapist_ids):
        errors["therapists"] = error
    if not ask.first_name.strip():
        errors["first_name"] = ValidationError("Give your first name.", code="required")
    if not ask.consent:
        errors["consent"] = ValidationError(
            "Agree to share these details with the therapists you chose.", code="consent"
        )
    if unknown := set(ask.preferred_times) - set(PREFERRED_TIMES):
        errors["preferred_times"] = ValidationError(f"Unknown time: {', '.join(sorted(unknown))}.", code="invalid")
    if unknown := set(ask.formats) - set(FORMATS):
        errors["formats"] = ValidationError(f"Unknown format: {', '.join(sorted(unknown))}.", code="invalid")
    if ask.insurance and not Insurer.objects.filter(slug=ask.insurance).exists():
        errors["insurance"] = ValidationError("Unknown insurance plan.", code="invalid")
    return errors


def _email_key(email: str) -> str:
    # The cache key names no address.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def is_limited(*, client_address: str, email: str) -> bool:
    """Count one request for the address and the email; True when either had its day's share."""
    by_address = is_rate_limited(
        scope="consultation-address", key=client_address, limit=settings.CONSULTATION_LIMIT_PER_ADDRESS,
        window=RATE_WINDOW,
    )  # fmt: skip
    by_email = is_rate_limited(
        scope="consultation-email", key=_email_key(email), limit=settings.CONSULTATION_LIMIT_PER_EMAIL,
        window=RATE_WINDOW,
    )  # fmt: skip
    return by_address or by_email


@transaction.atomic
def submit_request(
    *, ask: Ask, client_address: str, now: datetime.datetime | None = None
) -> tuple[ConsultationRequest, str]:
    """Store a request, unsent, and email the client the private link that confirms and follows it.

    Raises ValidationError keyed by field, or ConsultationLimited. Returns the
    request and the link's token, which is stored only as its digest.
    """
    now = now or timezone.now()
    errors = ask_errors(ask)
    if errors:
        raise ValidationError(errors)
    if is_limited(client_address=client_address, email=ask.email):
        raise ConsultationLimited("Too many consultation requests today; try again tomorrow.")
    token = secrets.token_urlsafe(32)
    request = ConsultationRequest.objects.create(
        first_name=ask.first_name.strip(),
        email=ask.email.strip(),
        phone=ask.phone.strip(),
        preferred_times=sorted(set(ask.preferred_times)),
        insurance=Insurer.objects.filter(slug=ask.insurance).first() if ask.insurance else None,
        formats=sorted(set(ask.formats)),
        message=ask.message.strip(),
        therapist_ids=list(dict.fromkeys(ask.therapist_ids)),
        link_digest=link_digest(token),
        consent_at=now,
        created_at=now,
    )
    notifications.confirm_email(request, token)
    return request, token


def request_for_link(token: str, *, now: datetime.datetime | None = None) -> ConsultationRequest | None:
    """The request a private link opens, or None (unknown, or unconfirmed past CONSULTATION_VERIFY_HOURS)."""
    request = ConsultationRequest.objects.filter(link_digest=link_digest(token)).first()
    if request is None or (request.verified_at is None and _confirmation_lapsed(request, now or timezone.now())):
        return None
    return request


def _confirmation_lapsed(request: ConsultationRequest, now: datetime.datetime) -> bool:
    return request.created_at < now - datetime.timedelta(hours=settings.CONSULTATION_VERIFY_HOURS)


@transaction.atomic
def confirm_request(*, request: ConsultationRequest, now: datetime.datetime | None = None) -> list[Consultation]:
    """The client opened their link and confirmed: each chosen therapist still listed gets the request.

    Confirming twice does nothing the second time. A therapist unlisted since is
    skipped; when none is left the request ends at once.
    """
    now = now or timezone.now()
    if _confirmation_lapsed(request, now) and request.verified_at is None:
        raise ConsultationConflict("This link has expired; send your request again.")
    if not ConsultationRequest.objects.filter(pk=request.pk, verified_at__isnull=True).update(verified_at=now):
        return []
    request.verified_at = now
    listed = Therapist.objects.taking_referrals().filter(pk__in=request.therapist_ids).values_list("pk", flat=True)
    due = reply_by(now)
    listed = set(listed)
    consultations = Consultation.objects.bulk_create(
        Consultation(request=request, therapist_id=therapist_id, sent_at=now, reply_by=due)
        for therapist_id in request.therapist_ids
        if therapist_id in listed
    )
    for consultation in consultations:
        notifications.request_waiting(consultation.pk)
    if not consultations:
        _end_if_settled(request, now)
    return consultations


def _claim(consultation: Consultation, from_status: str, to_status: str, **fields: object) -> None:
    """Move one consultation from `from_status`, or raise ConsultationConflict when someone moved it first."""
    if not Consultation.objects.filter(pk=consultation.pk, status=from_status).update(status=to_status, **fields):
        raise ConsultationConflict("This request is no longer waiting for an answer.")
    consultation.status = to_status
    for name, value in fields.items():
        setattr(consultation, name, value)


def _end_if_settled(request: ConsultationRequest, now: datetime.datetime) -> None:
    """A request ends when none of its consultations waits any more; retention counts from then."""
    if not request.consultations.filter(status=Status.OPEN).exists():
        ConsultationRequest.objects.filter(pk=request.pk, ended_at__isnull=True).update(ended_at=now)


@transaction.atomic
def accept(*, consultation: Consultation, now: datetime.datetime | None = None) -> Consultation:
    """The therapist will reach out: their copy shows the client's contact, and the client is told who."""
    now = now or timezone.now()
    _claim(consultation, Status.OPEN, Status.ACCEPTED, responded_at=now)
    _end_if_settled(consultation.request, now)
    notifications.accepted(consultation.pk)
    _measure_again([consultation.therapist_id], now)
    return consultation


@transaction.atomic
def decline(*, consultation: Consultation, reason: str, now: datetime.datetime | None = None) -> Consultation:
    """The therapist cannot take it: the client is emailed up to 3 alternatives."""
    if reason not in Consultation.DeclineReason.values:
        raise ValidationError(
            {"reason": ValidationError(f"Choose one of: {', '.join(Consultation.DeclineReason.values)}.")}
        )
    now = now or timezone.now()
    _claim(consultation, Status.OPEN, Status.DECLINED, responded_at=now, decline_reason=reason)
    _end_if_settled(consultation.request, now)
    notifications.not_taken(consultation.pk)
    _measure_again([consultation.therapist_id], now)
    return consultation


@transaction.atomic
def withdraw(*, request: ConsultationRequest, consultation_id: int, now: datetime.datetime | None = None) -> None:
    """The client closes one of their requests still waiting (found someone, changed their mind)."""
    consultation = _own(request, consultation_id)
    _claim(consultation, Status.OPEN, Status.WITHDRAWN)
    _end_if_settled(request, now or timezone.now())


@transaction.atomic
def report_outcome(
    *, request: ConsultationRequest, consultation_id: int, outcome: str, now: datetime.datetime | None = None
) -> None:
    """After an acceptance, the client says whether the therapist got in touch; "never heard" reaches staff."""
    if outcome not in (Consultation.Outcome.CONTACTED, Consultation.Outcome.NEVER_HEARD):
        raise ValidationError({"outcome": ValidationError("Say whether the therapist got in touch.")})
    consultation = _own(request, consultation_id)
    if consultation.status != Status.ACCEPTED:
        raise ConsultationConflict("Only a request a therapist accepted can be reported on.")
    now = now or timezone.now()
    Consultation.objects.filter(pk=consultation.pk).update(outcome=outcome, outcome_at=now)
    if consultation.outcome != outcome:
        _measure_again([consultation.therapist_id], now)
    if outcome == Consultation.Outcome.NEVER_HEARD and consultation.outcome != outcome:
        notifications.never_heard_back(consultation.pk)


def _measure_again(therapist_ids: list[int], now: datetime.datetime) -> None:
    """How these therapists answer requests changed: store their measure again (`consultations.measures`)."""
    measures.refresh_measures(therapist_ids, now=now)


def _own(request: ConsultationRequest, consultation_id: int) -> Consultation:
    consultation = request.consultations.filter(pk=consultation_id).first()
    if consultation is None:
        raise Consultation.DoesNotExist
    return consultation


@transaction.atomic
def expire_unanswered(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Expire each consultation past its reply-by time; the client is told and offered alternatives.

    A therapist who let too many expire in a row is warned, then silenced (`consultations.silence`).
    """
    now = now or timezone.now()
    due = list(Consultation.objects.filter(status=Status.OPEN, reply_by__lt=now).select_related("request"))
    expired = [consultation for consultation in due if _expired(consultation)]
    for request in {consultation.request_id: consultation.request for consultation in expired}.values():
        _end_if_settled(request, now)
    for consultation in expired:
        notifications.not_taken(consultation.pk)
    _measure_again([consultation.therapist_id for consultation in expired], now)
    return {"expired": len(expired), **silence.after_expiries(expired=expired, now=now)}


def _expired(consultation: Consultation) -> bool:
    try:
        _claim(consultation, Status.OPEN, Status.EXPIRED)
    except ConsultationConflict:
        return False  # answered meanwhile
    return True


def purge(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Delete unconfirmed requests past CONSULTATION_VERIFY_HOURS and ended ones past the retention period.

    Their consultations stay, anonymous (no request), for the counts.
    """
    now = now or timezone.now()
    confirm_by = now - datetime.timedelta(hours=settings.CONSULTATION_VERIFY_HOURS)
    unconfirmed = Q(verified_at__isnull=True, created_at__lt=confirm_by)
    ended = Q(ended_at__lt=now - datetime.timedelta(days=settings.CONSULTATION_RETENTION_DAYS))
    _, by_model = ConsultationRequest.objects.filter(unconfirmed | ended).delete()
    return {"deleted_requests": by_model.get(ConsultationRequest._meta.label, 0)}
