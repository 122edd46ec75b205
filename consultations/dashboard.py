"""What waits for staff, counted for the top of the admin index.

Here because consultations is the one app above all the others (directory,
matching, the outbox): the dashboard reads each of them.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from consultations.models import Consultation
from directory.models import ListingReport, PendingPhoto, PendingProfile, Therapist
from matching.models import Offer
from outbox.models import Email

# "About to expire": within this much of its deadline (or past it, until the expiry job runs).
EXPIRY_WARNING = datetime.timedelta(hours=24)


@dataclass(frozen=True)
class Waiting:
    """One count on the dashboard, and the admin list that shows exactly those rows."""

    label: str
    count: int
    url: str


def _admin_list(model: type, **filters: str) -> str:
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def waiting_for_staff(now: datetime.datetime) -> list[Waiting]:
    """Each kind of work waiting for staff with its count and its filtered admin list: seven queries, always."""
    # An open offer expires OFFER_EXPIRY_DAYS after it was made (matching.services.offer_reply_by).
    offers_made_before = (now + EXPIRY_WARNING - datetime.timedelta(days=settings.OFFER_EXPIRY_DAYS)).isoformat()
    requests_due_before = (now + EXPIRY_WARNING).isoformat()
    open_offer, open_request = Offer.Status.OPEN, Consultation.Status.OPEN
    return [
        Waiting(
            "Profiles waiting for review",
            Therapist.objects.awaiting_review().count(),
            _admin_list(PendingProfile),
        ),
        Waiting(
            "Photos to approve",
            Therapist.objects.photo_awaiting_review().count(),
            _admin_list(PendingPhoto),
        ),
        Waiting(
            "Open listing reports",
            ListingReport.objects.open().count(),
            _admin_list(ListingReport, resolved_at__isempty="1"),
        ),
        Waiting(
            "Referral offers expiring within 24 hours",
            Offer.objects.filter(status=open_offer, created_at__lt=offers_made_before).count(),
            _admin_list(Offer, status__exact=open_offer, created_at__lt=offers_made_before),
        ),
        Waiting(
            "Consultation requests expiring within 24 hours",
            Consultation.objects.filter(status=open_request, reply_by__lt=requests_due_before).count(),
            _admin_list(Consultation, status__exact=open_request, reply_by__lt=requests_due_before),
        ),
        Waiting(
            "Emails that failed",
            Email.objects.failed().count(),
            _admin_list(Email, status__exact=Email.Status.FAILED),
        ),
        Waiting(
            "Therapists silenced for unanswered requests",
            Therapist.objects.silenced().count(),
            _admin_list(Therapist, silenced="yes"),
        ),
    ]
