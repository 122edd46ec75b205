"""Reads of consultations: a therapist's inbox, and alternatives for a client not taken."""

from __future__ import annotations

import datetime

from django.db.models import Case, QuerySet, When
from django.utils import timezone

from consultations import phi
from consultations.models import Consultation, ConsultationRequest
from directory import geo, search
from directory.models import Therapist
from matching import selectors as offers
from matching import services as matching
from matching.models import Offer
from matching.selectors import time_left

ALTERNATIVES = 3
# The most offers, and the most consultations, an inbox lists: the waiting ones first, so only answered ones drop.
INBOX_LIMIT = 200
# What a therapist sees of a request before answering, and what accepting adds.
SHOWN = ("first_name", "message", "insurance", "formats", "preferred_times")
CONTACT = ("email", "phone")
# A client who named no format is open to seeing someone in person or online.
ANY_FORMAT = ("individual", "online")


def inbox(therapist: Therapist) -> QuerySet[Consultation]:
    """The therapist's consultations whose request is still kept: waiting ones first, then the newest."""
    return (
        Consultation.objects.filter(therapist=therapist, request__isnull=False)
        .select_related("request__insurance")
        .order_by(Case(When(status=Consultation.Status.OPEN, then=0), default=1), "-sent_at", "-id")
    )


def waiting_for(user: object) -> int:
    """How many offers and consultation requests wait for the answer of the therapist `user` is (two COUNTs)."""
    open_offers = Offer.objects.filter(therapist__user=user.pk, status=Offer.Status.OPEN).count()
    return open_offers + Consultation.objects.filter(therapist__user=user.pk, status=Consultation.Status.OPEN).count()


def inbox_items(therapist: Therapist, *, user: object, now: datetime.datetime, channel: str) -> list[dict]:
    """Physicians' offers and clients' consultation requests in one list, without anyone's contact details.

    Those waiting for an answer come first, the one due soonest first; then the
    others, the newest first. Each item is `kind` ("offer" or "consultation"),
    `is_waiting`, `sent_at`, `reply_by`, `time_left` (in words, at `now`) and the
    `item` as its own page shows it.
    The consultations' details shown are logged as read (one INSERT); offers
    show a de-identified summary only. A constant number of queries.
    """
    offer_rows = list(offers.inbox_offers(therapist)[:INBOX_LIMIT])
    offer_views = offers.offer_payloads(
        offer_rows, user=user, labels=matching.reference_labels(), now=now, channel=channel, patients=False
    )
    consultation_views = therapist_views(
        list(inbox(therapist)[:INBOX_LIMIT]), user=user, channel=channel, contact=False
    )
    items = [
        {"kind": "offer", "is_waiting": view["is_waiting"], "sent_at": view["created_at"],
         "reply_by": view["reply_by"], "time_left": view["time_left"], "item": view}
        for view in offer_views
    ] + [
        {"kind": "consultation", "is_waiting": view["status"] == Consultation.Status.OPEN, "sent_at": view["sent_at"],
         "reply_by": view["reply_by"], "time_left": time_left(view["reply_by"], now=now), "item": view}
        for view in consultation_views
    ]  # fmt: skip
    waiting = sorted((item for item in items if item["is_waiting"]), key=lambda item: item["reply_by"])
    answered = sorted(
        (item for item in items if not item["is_waiting"]), key=lambda item: item["sent_at"], reverse=True
    )
    return waiting + answered


def alternatives(consultation: Consultation, *, now: datetime.datetime | None = None) -> list[Therapist]:
    """Up to ALTERNATIVES therapists the matching engine ranks best for the client's wishes.

    The wishes are the request's formats and insurance; the place is the office of
    the therapist who did not take it (the client chose them as near enough). None
    when that therapist has no office, or the request is gone.
    """
    request = consultation.request
    office = consultation.therapist.offices.exclude(latitude=None).first()
    if request is None or office is None:
        return []
    place = geo.Place(office.latitude, office.longitude, office.state, office.city)
    need = matching.build_need(
        place=place,
        formats=request.formats or ANY_FORMAT,
        insurance=request.insurance.slug if request.insurance_id else None,
    )
    asked = set(request.therapist_ids)
    ranked = matching.rank_therapists(need, now=now or timezone.now(), limit=ALTERNATIVES + len(asked))
    ids = [item.candidate.id for item in ranked.results if item.candidate.id not in asked][:ALTERNATIVES]
    by_id = Therapist.objects.in_bulk(ids)
    return [by_id[therapist_id] for therapist_id in ids if therapist_id in by_id]


def chosen(request: ConsultationRequest) -> list[Therapist]:
    """The therapists the client chose, in the order chosen."""
    by_id = Therapist.objects.in_bulk(request.therapist_ids)
    return [by_id[therapist_id] for therapist_id in request.therapist_ids if therapist_id in by_id]


def therapist_views(
    consultations: list[Consultation], *, user: object, channel: str, contact: bool = True
) -> list[dict]:
    """What the therapist sees of each request: the client's wishes, and their contact once accepted.

    The reads are logged first (one INSERT), with the fields each shows. Without
    `contact` (a list, which shows nobody's), no view carries it and none is logged.
    """
    reads = [(item.request, SHOWN + CONTACT if contact and _reveals_contact(item) else SHOWN) for item in consultations]
    phi.log_each(user=user, reads=reads, channel=channel)
    return [_view(item, contact=contact) for item in consultations]


def _reveals_contact(consultation: Consultation) -> bool:
    return consultation.status == Consultation.Status.ACCEPTED


def therapist_view(consultation: Consultation, *, user: object, channel: str) -> dict:
    return therapist_views([consultation], user=user, channel=channel)[0]


def _view(consultation: Consultation, *, contact: bool = True) -> dict:
    """Labels for the pages (`insurance`, `formats`, `preferred_times`), slugs for the API (`*_slug(s)`)."""
    request = consultation.request
    view = {
        "id": consultation.pk,
        "status": consultation.status,
        "status_label": consultation.get_status_display(),
        "first_name": request.first_name,
        "message": request.message,
        "insurance": request.insurance.name if request.insurance_id else "Self-pay",
        "insurance_slug": request.insurance.slug if request.insurance_id else None,
        "formats": request.format_labels,
        "format_slugs": list(request.formats),
        "preferred_times": request.preferred_time_labels,
        "preferred_time_slugs": list(request.preferred_times),
        "sent_at": consultation.sent_at,
        "reply_by": consultation.reply_by,
        "contact": None,
    }
    if contact and _reveals_contact(consultation):
        view["contact"] = {"email": request.email, "phone": request.phone}
    return view


def requestable(therapist_ids: tuple[int, ...]) -> list[Therapist]:
    """Those of these therapists who take requests, in the order given, with their offices."""
    by_id = Therapist.objects.taking_referrals().prefetch_related("offices").in_bulk(therapist_ids)
    return [by_id[therapist_id] for therapist_id in therapist_ids if therapist_id in by_id]


def search_results(query: search.Query, *, page: int, page_size: int) -> list[Therapist]:
    """The therapists on that page of that search who take requests, in its order, with `distance_miles`.

    Three queries at most, whatever the page's size: the search, the therapists, their offices.
    """
    try:
        result = search.page(query, number=page, size=page_size)
    except search.PageNotFound:
        return []
    therapists = requestable(tuple(result.therapist_ids))
    distances = {hit.therapist_id: hit.distance_miles for hit in result.hits}
    for therapist in therapists:
        therapist.distance_miles = distances.get(therapist.pk)
    return therapists


# The client's status page: what needs them first (accepted, then waiting), then what is over.
CLIENT_ORDER = [Consultation.Status.ACCEPTED, Consultation.Status.OPEN]


def for_client(request: ConsultationRequest) -> list[Consultation]:
    """A request's consultations as the client's page lists them, with each therapist's public contact."""
    first = Case(
        *(When(status=status, then=rank) for rank, status in enumerate(CLIENT_ORDER)), default=len(CLIENT_ORDER)
    )
    return list(request.consultations.select_related("therapist").order_by(first, "therapist__last_name", "id"))
