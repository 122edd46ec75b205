"""Emails about referrals. They carry no PHI: only a status and a link to the signed-in page.

Called inside the service's transaction: send_mail only queues the email (outbox), so it
is sent if and only if the change it reports is committed.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from matching.models import Offer, Referral
from outbox import sms
from outbox.links import absolute_url

logger = logging.getLogger(__name__)


def _absolute(path: str) -> str:
    return absolute_url(path)


def offer_made(offer_id: int) -> None:
    """Tell a therapist a referral waits in their inbox."""
    offer = Offer.objects.select_related("therapist__user", "therapist").get(pk=offer_id)
    recipient = offer.therapist.user.email if offer.therapist.user_id else offer.therapist.email
    if not recipient:
        logger.warning("offer %s: therapist %s has no email address", offer.pk, offer.therapist_id)
        return
    link = _absolute(reverse("matching:offer-detail", args=[offer.pk]))
    send_mail(
        subject="A new IPT referral is waiting for your answer",
        message=(
            "A physician's office has offered you a referral that matches your profile.\n\n"
            f"See the de-identified summary and accept or decline: {link}\n\n"
            f"Offers without an answer expire after {settings.OFFER_EXPIRY_DAYS} days."
        ),
        from_email=None,
        recipient_list=[recipient],
    )


def referral_status_changed(referral_id: object, status: str) -> None:
    """Tell the referrer where their referral stands."""
    label = Referral.Status(status).label
    _tell_referrer(
        _referral(referral_id),
        about=label.lower(),
        message="The referral {short_id} you submitted is now: "
        + label
        + ".\n\nSee its history and next steps: {link}",
    )


def first_session_scheduled(referral_id: object, when: str) -> None:
    """Tell the referrer the first session is booked, and when: the day and time, nobody's name."""
    _tell_referrer(
        _referral(referral_id),
        about=Referral.Status.SCHEDULED.label.lower(),
        message="The referral {short_id} you submitted is now: "
        + Referral.Status.SCHEDULED.label
        + f". The first session is on {when}.\n\nSee its history and next steps: {{link}}",
    )


def offer_withdrawn(referral_id: object) -> None:
    """Tell the referrer an offer was withdrawn because its therapist can no longer take referrals."""
    referral = _referral(referral_id)
    if referral.status == Referral.Status.OFFERED:
        next_step = "Your other offers for it are still waiting for an answer."
    else:
        next_step = "No offer is waiting now: offer it to another of its matches."
    _tell_referrer(
        referral,
        about="an offer was withdrawn",
        message=(
            "A therapist you offered the referral {short_id} to is no longer taking referrals, so that offer "
            "was withdrawn.\n\n" + next_step + "\n\nSee its matches and history: {link}"
        ),
    )


def _referral(referral_id: object) -> Referral:
    return Referral.objects.select_related("referrer").get(pk=referral_id)


def _tell_referrer(referral: Referral, *, about: str, message: str) -> None:
    """Email a referral's referrer, if they gave an address: its short id and a link to its page, nothing else.

    `message` may name `{short_id}` and `{link}`.
    """
    if not referral.referrer.email:
        return
    short_id = str(referral.pk)[:8]
    link = _absolute(reverse("matching:referral-detail", args=[referral.pk]))
    send_mail(
        subject=f"Referral {short_id}: {about}",
        message=message.format(short_id=short_id, link=link),
        from_email=None,
        recipient_list=[referral.referrer.email],
    )


# --- To the patient, who agreed to be told (Referral.patient_contact_consent) ---
# Only who will see them and how to reach that therapist, and when: never the reason, notes, diagnosis
# or anything else clinical, nor the patient's own details, since an email or a text may be read by others.

PATIENT_FOOTER = (
    "You receive this because you agreed, at your doctor's office, to be told how your referral for "
    "interpersonal therapy (IPT) goes. It holds no medical information."
)


def _therapist_contact(offer: Offer) -> str:
    therapist = offer.therapist
    ways = [
        f"phone {therapist.phone}" if therapist.phone else "",
        f"email {therapist.email}" if therapist.email else "",
    ]
    return " or ".join(way for way in ways if way) or "through your doctor's office"


def _tell_patient(offer: Offer, *, subject: str, email_text: str, sms_text: str) -> None:
    referral = offer.referral
    if referral.patient_email:
        send_mail(
            subject=subject,
            message=f"Hello,\n\n{email_text}\n\n{PATIENT_FOOTER}",
            from_email=None,
            recipient_list=[referral.patient_email],
        )
    if referral.patient_phone:
        sms.queue_sms(to=referral.patient_phone, body=f"{sms_text} (IPT Directory; no medical information)")


def _offer(offer_id: int) -> Offer:
    return Offer.objects.select_related("referral", "therapist").get(pk=offer_id)


def patient_accepted(offer_id: int) -> None:
    """Tell the patient which therapist accepted their referral and how to reach them."""
    offer = _offer(offer_id)
    name, contact = offer.therapist.full_name, _therapist_contact(offer)
    _tell_patient(
        offer,
        subject="A therapist accepted your referral",
        email_text=(
            f"{name} has accepted your referral and will contact you to book a first session. "
            f"You can also reach them: {contact}."
        ),
        sms_text=f"{name} accepted your therapy referral and will contact you. Reach them: {contact}.",
    )


def patient_scheduled(offer_id: int, when: str) -> None:
    """Tell the patient when their first session is, and with whom."""
    offer = _offer(offer_id)
    name, contact = offer.therapist.full_name, _therapist_contact(offer)
    _tell_patient(
        offer,
        subject="Your first session is booked",
        email_text=(f"Your first session with {name} is on {when}. To change it, contact {name}: {contact}."),
        sms_text=f"Your first session with {name} is on {when}. To change it: {contact}.",
    )
