"""Reads for matching and referrals, shaped for the API and the pages alike."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.db.models import Case, IntegerField, Prefetch, QuerySet, Value, When
from django.utils import timezone

from directory import search
from directory.models import FORMATS, Therapist
from matching import ranking
from matching.models import COMMON_DIAGNOSES, Match, Offer, Referral
from matching.services import (
    PHI_FIELDS,
    accepted_offer,
    first_session_words,
    log_phi_reads,
    offer_reply_by,
    offered_candidates,
    read_patient_details,
    referral_need,
)


def match_items(result: ranking.Ranking) -> list[dict]:
    """Ranked results as `{"therapist", "score", "reasons", "components", ...}`, best first, for the pages.

    Each therapist is loaded with all its card shows, in a fixed number of queries.
    """
    therapists = Therapist.objects.for_listing().in_bulk([item.candidate.id for item in result.results])
    items = []
    for item in result.results:
        items.append(_match_item(item, _with_distance(therapists[item.candidate.id], item.distance_miles)))
    return items


def match_results(
    result: ranking.Ranking, *, url_of: Callable[[str], str], origin: str, now: datetime.datetime
) -> list[dict]:
    """Ranked results as the API shows them: like `match_items`, each therapist a search result from its card.

    `origin` ("https://example.org") makes a stored photo path absolute.
    """
    cards = search.cards_of([item.candidate.id for item in result.results])
    items = []
    for item in result.results:
        card = cards[item.candidate.id]
        card.distance_miles = item.distance_miles
        items.append(
            _match_item(item, search.result(card, card.listing_card, url=url_of(card.slug), origin=origin, now=now))
        )
    return items


def _with_distance(therapist: Therapist, distance: float | None) -> Therapist:
    therapist.distance_miles = distance
    return therapist


def _match_item(item: ranking.RankedCandidate, therapist: object) -> dict:
    return {
        "therapist": therapist,
        "score": item.score,
        "reasons": list(item.reasons),
        "components": dict(item.components),
        "delivery": item.delivery,
        "distance_miles": item.distance_miles,
        "unmet": list(item.unmet),
    }


def referrals_of(user: object) -> QuerySet:
    """The user's own referrals, newest first; nobody else's."""
    return Referral.objects.filter(referrer=user).order_by("-created_at")


def referral_detail(referral_id: object, user: object) -> Referral | None:
    """One of the user's referrals with everything its page shows, in a fixed number of queries."""
    return (
        referrals_of(user)
        .select_related("insurance")
        .prefetch_related(
            "events",
            Prefetch("offers", queryset=Offer.objects.select_related("therapist").order_by("created_at")),
            Prefetch(
                "matches",
                queryset=Match.objects.order_by("rank").prefetch_related(
                    Prefetch("therapist", queryset=Therapist.objects.for_listing())
                ),
            ),
        )
        .filter(pk=referral_id)
        .first()
    )


def referral_payload(referral: Referral, *, user: object, channel: str) -> dict:
    """The referral as its referrer sees it, PHI included (the read is logged)."""
    offered = {offer.therapist_id for offer in referral.offers.all()}
    payload = {
        **{
            name: getattr(referral, name)
            for name in (
                "id",
                "status",
                "urgency",
                "place_label",
                "created_at",
                "updated_at",
                "postal_code",
                "insurance",
                "max_fee",
                "formats",
                "focus_areas",
                "concerns",
                "language",
                "age_group",
                "events",
                "offers",
            )
        },
        "matches": [
            {
                "therapist": _with_distance(match.therapist, match.distance_miles),
                "score": match.score,
                "reasons": match.reasons,
                "components": match.components,
                "delivery": match.delivery,
                "distance_miles": match.distance_miles,
                "rank": match.rank,
                "offered": match.therapist_id in offered,
            }
            for match in referral.matches.all()
        ],
    }
    for offer in referral.offers.all():
        offer.answer = offer_answer_label(offer)
    for event in referral.events.all():
        event.status_label = Referral.Status(event.to_status).label
    details = read_patient_details(user=user, referral=referral, channel=channel)
    payload["patient"] = details
    payload["patient_name"] = details["patient_name"]
    payload["clinician"] = referring_clinician(referral)
    payload["patient_contact_consent"] = referral.patient_contact_consent
    payload["diagnosis_label"] = COMMON_DIAGNOSES.get(details["diagnosis_code"], "")
    offer = accepted_offer(referral)
    payload["accepted_therapist"] = accepted_therapist(offer) if offer else None
    return payload


def referring_clinician(referral: Referral) -> dict[str, str]:
    """Who referred, for those allowed to see the patient's details (the caller logs the read)."""
    return {
        "name": referral.clinician_name,
        "npi": referral.clinician_npi,
        "phone": referral.clinician_phone,
        "practice": referral.practice_name,
    }


def accepted_therapist(offer: Offer) -> dict:
    """Who took the patient on and how to reach them: what the referrer sees once an offer is accepted."""
    therapist = offer.therapist
    return {
        "id": therapist.pk,
        "name": therapist.full_name,
        "credentials": therapist.credentials,
        "phone": therapist.phone,
        "email": therapist.email,
        "url": therapist.get_absolute_url(),
        "first_session_date": offer.first_session_date,
        "first_session_at": offer.first_session_at,
        "first_session": (
            first_session_words(offer.first_session_date, offer.first_session_at) if offer.first_session_date else ""
        ),
    }


def offer_answer_label(offer: Offer) -> str:
    """An offer's outcome as its referrer reads it, saying who did what."""
    if offer.status == Offer.Status.WITHDRAWN and offer.withdrawn_because:
        return offer.get_withdrawn_because_display()
    if offer.status == Offer.Status.DECLINED and offer.decline_reason:
        return f"Declined by the therapist ({offer.get_decline_reason_display().lower()})"
    if offer.status == Offer.Status.EXPIRED:
        return "Expired: no answer in time"
    if offer.status == Offer.Status.ACCEPTED:
        return "Accepted by the therapist"
    return offer.get_status_display()


def needs_as_sent(referral: Referral, *, labels: ranking.Labels) -> list[tuple[str, str]]:
    """The need the referrer sent, as (what, answer) rows in words, for the referral's page."""
    if referral.insurance_id:
        insurance = referral.insurance.name
    else:
        insurance = f"Self-pay, up to ${referral.max_fee} a session" if referral.max_fee else "Self-pay"
    rows = [
        ("Place", referral.place_label),
        ("Insurance", insurance),
        ("Formats", ", ".join(FORMATS.get(slug, slug) for slug in referral.formats)),
        ("IPT focus areas", "; ".join(labels.focus_areas.get(slug, slug) for slug in referral.focus_areas)),
        ("Concerns", ", ".join(labels.concerns.get(slug, slug) for slug in referral.concerns)),
        ("Language", labels.languages.get(referral.language, referral.language) if referral.language else ""),
        ("Age group", referral.get_age_group_display() if referral.age_group else ""),
        ("Urgency", referral.get_urgency_display()),
    ]
    return [(name, value or "—") for name, value in rows]


def offer_summary(offer: Offer, *, labels: ranking.Labels, now: datetime.datetime) -> dict:
    """The de-identified summary a therapist decides on: no name, birth date, contact or notes."""
    referral = offer.referral
    if referral.insurance_id:
        insurance = referral.insurance.name
    else:
        insurance = f"Self-pay, up to ${referral.max_fee} a session" if referral.max_fee else "Self-pay"
    return {
        "age_band": referral.age_band(timezone.localdate(now)),
        "area": referral.area,
        "concerns": [labels.concerns.get(slug, slug) for slug in referral.concerns],
        "focus_areas": [labels.focus_areas.get(slug, slug) for slug in referral.focus_areas],
        "insurance": insurance,
        "formats": [FORMATS.get(slug, slug) for slug in referral.formats],
        "language": labels.languages.get(referral.language, "") if referral.language else "",
        "age_group": referral.get_age_group_display() if referral.age_group else "",
        "urgency": referral.get_urgency_display(),
        "waiting_days": (now - offer.created_at).days,
    }


def inbox_offers(therapist: Therapist) -> QuerySet:
    """Offers made to this therapist: open ones first, best fit first, then the longest waiting."""
    open_first = Case(When(status=Offer.Status.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField())
    return (
        Offer.objects.filter(therapist=therapist)
        .select_related("referral__insurance", "therapist")
        .annotate(open_first=open_first)
        .order_by("open_first", "-score", "created_at", "id")
    )


def offer_payloads(offers: list[Offer], *, user: object, labels: ranking.Labels, now: datetime.datetime,
                   channel: str, patients: bool = True) -> list[dict]:  # fmt: skip
    """Offers for their therapist; a patient's details only on offers they accepted (each read logged).

    Without `patients` (a page that shows none), no offer carries them and no read is logged.
    """
    accepted = [offer.referral for offer in offers if patients and offer.status == Offer.Status.ACCEPTED]
    log_phi_reads(user=user, referrals=accepted, fields=PHI_FIELDS, channel=channel)
    candidates = offered_candidates(offer.therapist_id for offer in offers)
    return [
        {
            "id": offer.pk,
            "referral_id": offer.referral_id,
            "status": offer.status,
            "status_label": offer_status_label(offer),
            "is_waiting": offer.status == Offer.Status.OPEN,
            "score": offer.score,
            "created_at": offer.created_at,
            "reply_by": offer_reply_by(offer),
            "time_left": time_left(offer_reply_by(offer), now=now),
            "first_session_date": offer.first_session_date,
            "first_session_at": offer.first_session_at,
            "first_session": (
                first_session_words(offer.first_session_date, offer.first_session_at)
                if offer.first_session_date
                else ""
            ),
            "referral_status": offer.referral.status,
            "summary": offer_summary(offer, labels=labels, now=now),
            "unmet": list(
                ranking.unmet_by_offer(referral_need(offer.referral), candidates[offer.therapist_id], labels=labels)
            ),
            "patient": (
                {name: getattr(offer.referral, name) for name in PHI_FIELDS}
                if patients and offer.status == Offer.Status.ACCEPTED
                else None
            ),
            "clinician": (
                referring_clinician(offer.referral) if patients and offer.status == Offer.Status.ACCEPTED else None
            ),
        }
        for offer in offers
    ]


def offer_status_label(offer: Offer) -> str:
    """The offer's status as its therapist reads it: "Scheduled" once an accepted offer has its first session."""
    if offer.status == Offer.Status.ACCEPTED and offer.first_session_date:
        return "Scheduled"
    return offer.get_status_display()


def time_left(due: datetime.datetime, *, now: datetime.datetime) -> str:
    """The time before `due` in plain words: "1 day 4 hours left", "3 hours left", "20 minutes left", "Overdue"."""
    seconds = int((due - now).total_seconds())
    if seconds <= 0:
        return "Overdue"
    days, hours, minutes = seconds // 86400, seconds % 86400 // 3600, seconds % 3600 // 60
    if days:
        return f"{_count(days, 'day')} {_count(hours, 'hour')} left" if hours else f"{_count(days, 'day')} left"
    if hours:
        return f"{_count(hours, 'hour')} left"
    return f"{_count(max(minutes, 1), 'minute')} left"


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}{'' if number == 1 else 's'}"
