"""Emails of the consultation loop. None carries what the client wrote or their contact details.

The client's emails name therapists and link to public profiles; the therapist's
links to their signed-in inbox; staff's names the therapist. Called inside the
service's transaction: send_mail only queues the email (outbox).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import mail_managers, send_mail
from django.urls import reverse
from django.utils import timezone

from consultations import selectors
from consultations.models import Consultation, ConsultationRequest
from directory.models import Therapist
from outbox.links import absolute_url

logger = logging.getLogger(__name__)


def _absolute(path: str) -> str:
    return absolute_url(path)


def _names(therapists: list[Therapist]) -> str:
    return "\n".join(f"- {therapist.full_name}, {therapist.credentials}" for therapist in therapists)


def confirm_email(request: ConsultationRequest, token: str) -> None:
    """Ask the client to confirm their address; the link is also their private status page."""
    chosen = list(Therapist.objects.filter(pk__in=request.therapist_ids).order_by("last_name", "first_name"))
    link = _absolute(reverse("consultations:status", args=[token]))
    send_mail(
        subject="Confirm your consultation request",
        message=(
            "You asked for a consultation with:\n"
            f"{_names(chosen)}\n\n"
            "Nothing has been sent to them yet. Open this link to confirm it was you and send your request:\n"
            f"{link}\n\n"
            f"The link works for {settings.CONSULTATION_VERIFY_HOURS} hours; after that the request is deleted "
            "unsent. Keep this email: the same link shows, later, who answered, and lets you withdraw.\n\n"
            "If you did not ask for this, ignore this email."
        ),
        from_email=None,
        recipient_list=[request.email],
    )


def request_waiting(consultation_id: int) -> None:
    """Tell a therapist a client waits for their answer: a link to the inbox, no client details."""
    consultation = Consultation.objects.select_related("therapist__user").get(pk=consultation_id)
    therapist = consultation.therapist
    recipient = therapist.user.email if therapist.user_id else therapist.email
    if not recipient:
        logger.warning("consultation %s: therapist %s has no email address", consultation.pk, therapist.pk)
        return
    due = timezone.localtime(consultation.reply_by)
    link = _absolute(reverse("consultations:detail", args=[consultation.pk]))
    send_mail(
        subject="A client asked you for a consultation",
        message=(
            "Someone who found you in the IPT directory asked for a consultation.\n\n"
            f"See their request and accept or decline it: {link}\n\n"
            f"Please answer by {due:%A, %B} {due.day} at {due:%I:%M %p}. Requests without an answer in "
            f"{settings.CONSULTATION_REPLY_BUSINESS_DAYS} business days expire, and the client is sent to others."
        ),
        from_email=None,
        recipient_list=[recipient],
    )


def accepted(consultation_id: int) -> None:
    """Tell the client who accepted, and how they will get in touch."""
    consultation = Consultation.objects.select_related("therapist", "request").get(pk=consultation_id)
    therapist = consultation.therapist
    ways = [
        f"phone {therapist.phone}" if therapist.phone else "",
        f"email {therapist.email}" if therapist.email else "",
    ]
    reach = " or ".join(way for way in ways if way)
    send_mail(
        subject=f"{therapist.full_name} accepted your consultation request",
        message=(
            f"{therapist.full_name}, {therapist.credentials}, accepted your request and will contact you "
            "by the phone number or email you gave, usually within two business days.\n\n"
            + (f"You can also reach them by {reach}.\n\n" if reach else "")
            + f"Their profile: {_absolute(therapist.get_absolute_url())}\n\n"
            "Your other requests stay open. Use the link in our first email to withdraw them, or to tell us "
            "whether the therapist got in touch."
        ),
        from_email=None,
        recipient_list=[consultation.request.email],
    )


def not_taken(consultation_id: int) -> None:
    """Tell the client a therapist declined or did not answer in time, with up to 3 others to ask."""
    consultation = Consultation.objects.select_related("therapist", "request").get(pk=consultation_id)
    therapist = consultation.therapist
    if consultation.status == Consultation.Status.DECLINED:
        what = f"{therapist.full_name} cannot take your consultation request"
        why = f"{therapist.full_name} answered that they cannot take new clients like you at the moment."
    else:
        what = f"{therapist.full_name} did not answer in time"
        why = (
            f"{therapist.full_name} did not answer your request within "
            f"{settings.CONSULTATION_REPLY_BUSINESS_DAYS} business days, so we closed it for them."
        )
    others = selectors.alternatives(consultation)
    if others:
        listing = "\n".join(
            f"- {other.full_name}, {other.credentials}: {_absolute(other.get_absolute_url())}" for other in others
        )
        suggestion = f"These therapists also fit what you asked for and are accepting new clients:\n{listing}"
    else:
        suggestion = f"Search the directory for others: {_absolute(reverse('directory:therapist-list'))}"
    send_mail(
        subject=what,
        message=f"{why}\n\n{suggestion}\n\nYour other requests, if any, are still open.",
        from_email=None,
        recipient_list=[consultation.request.email],
    )


def never_heard_back(consultation_id: int) -> None:
    """Tell staff a client never heard from a therapist who accepted them (MANAGERS)."""
    consultation = Consultation.objects.select_related("therapist").get(pk=consultation_id)
    link = _absolute(reverse("admin:consultations_consultation_change", args=[consultation.pk]))
    mail_managers(
        subject=f"Never heard back: {consultation.therapist.full_name}",
        message=(
            f"A client reports that {consultation.therapist.full_name} (therapist {consultation.therapist_id}) "
            f"accepted their consultation request and never got in touch.\n\n{link}"
        ),
    )


# --- Silence (consultations.silence) ----------------------------------------------------------------------


def _tell_therapist(therapist: Therapist, subject: str, body: str) -> bool:
    """Email a therapist about their listing; False when they have no address. No client details."""
    recipient = (therapist.user.email if therapist.user_id else "") or therapist.email
    if not recipient:
        logger.warning("therapist %s has no email address", therapist.pk)
        return False
    send_mail(subject=subject, message=body, from_email=None, recipient_list=[recipient])
    return True


def _confirm_hint() -> str:
    return (
        f"Confirm your availability in one click on your profile page: {_absolute(reverse('directory:my-profile'))}\n"
        "If you cannot take new clients for now, untick “I am accepting new clients” there instead: clients "
        "then know not to wait for you."
    )


def silence_warning(therapist: Therapist, run: int) -> bool:
    """Warn a therapist one expiry short of CONSULTATION_SILENCE_LIMIT in a row."""
    return _tell_therapist(
        therapist,
        "Consultation requests are expiring without an answer",
        f"The last {run} consultation requests clients sent you expired without an answer: each client was "
        f"sent to other therapists after {settings.CONSULTATION_REPLY_BUSINESS_DAYS} business days.\n\n"
        "If the next request expires too, your listing leaves searches and matches for therapists accepting "
        "new clients until you confirm your availability. Answering a request, yes or no, resets the count.\n\n"
        + _confirm_hint(),
    )


def silenced(therapist: Therapist, run: int) -> bool:
    """Tell a therapist their listing left accepting searches for silence, and how to come back."""
    return _tell_therapist(
        therapist,
        "Your listing no longer shows you as accepting new clients",
        f"The last {run} consultation requests clients sent you expired without an answer, so from today your "
        "listing no longer appears in searches and matches for therapists accepting new clients. It stays "
        "listed otherwise.\n\n" + _confirm_hint(),
    )


def silence_reminder(therapist: Therapist) -> bool:
    """Remind a therapist still silenced a week later."""
    since = timezone.localtime(therapist.silenced_at)
    return _tell_therapist(
        therapist,
        "Your listing is still hidden from clients looking for an accepting therapist",
        f"Since {since:%B} {since.day}, after consultation requests expired without an answer, your listing "
        "has not appeared in searches and matches for therapists accepting new clients.\n\n" + _confirm_hint(),
    )
