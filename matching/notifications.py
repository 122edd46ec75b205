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

logger = logging.getLogger(__name__)


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


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
    referral = Referral.objects.select_related("referrer").get(pk=referral_id)
    if not referral.referrer.email:
        return
    label = Referral.Status(status).label
    send_mail(
        subject=f"Referral {str(referral.pk)[:8]}: {label.lower()}",
        message=(
            f"The referral {str(referral.pk)[:8]} you submitted is now: {label}.\n\n"
            f"See its history and next steps: {_absolute(reverse('matching:referral-detail', args=[referral.pk]))}"
        ),
        from_email=None,
        recipient_list=[referral.referrer.email],
    )


def offer_withdrawn(referral_id: object) -> None:
    """Tell the referrer an offer was withdrawn because its therapist can no longer take referrals."""
    referral = Referral.objects.select_related("referrer").get(pk=referral_id)
    if not referral.referrer.email:
        return
    short_id = str(referral.pk)[:8]
    if referral.status == Referral.Status.OFFERED:
        next_step = "Your other offers for it are still waiting for an answer."
    else:
        next_step = "No offer is waiting now: offer it to another of its matches."
    link = _absolute(reverse("matching:referral-detail", args=[referral.pk]))
    send_mail(
        subject=f"Referral {short_id}: an offer was withdrawn",
        message=(
            f"A therapist you offered the referral {short_id} to is no longer taking referrals, so that offer "
            f"was withdrawn.\n\n{next_step}\n\nSee its matches and history: {link}"
        ),
        from_email=None,
        recipient_list=[referral.referrer.email],
    )
