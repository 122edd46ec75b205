"""Matching and the referral loop: the one place that knows both the ORM and the engine.

Reads turn database rows into engine inputs (`matching.ranking`); writes run
inside `transaction.atomic`, and every referral status change goes through
`_transition`, which holds the status machine of API.md.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Now
from django.utils import timezone

from directory import geo
from directory.models import (
    AGE_GROUPS,
    FORMATS,
    Concern,
    FocusArea,
    Insurer,
    Language,
    LicensedState,
    Office,
    Therapist,
    TherapistInsurer,
    offers_any_format,
)
from matching import notifications, ranking
from matching.models import Match, Offer, PHIAccess, Referral, ReferralEvent

Status = Referral.Status

# The referral status machine (API.md): from a status, the statuses it may move to.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.MATCHED: frozenset({Status.OFFERED, Status.WITHDRAWN}),
    Status.NO_MATCH: frozenset({Status.WITHDRAWN}),
    Status.OFFERED: frozenset({Status.ACCEPTED, Status.DECLINED, Status.WITHDRAWN, Status.EXPIRED}),
    Status.DECLINED: frozenset({Status.OFFERED, Status.WITHDRAWN}),
    Status.EXPIRED: frozenset({Status.OFFERED, Status.WITHDRAWN}),
    Status.ACCEPTED: frozenset({Status.SCHEDULED, Status.CLOSED}),
    Status.SCHEDULED: frozenset({Status.CLOSED}),
    Status.CLOSED: frozenset(),
    Status.WITHDRAWN: frozenset(),
}
OFFERABLE = frozenset({Status.MATCHED, Status.OFFERED, Status.DECLINED, Status.EXPIRED})
PHI_FIELDS = ("patient_name", "patient_birth_date", "patient_phone", "patient_email", "notes")


class ReferralConflict(Exception):
    """The request is valid but the referral's or offer's state forbids it now (HTTP 409)."""

    def __init__(self, message: str, field: str = "status") -> None:
        super().__init__(message)
        self.field = field


class ReferralInvalid(Exception):
    """The request names something it may not (HTTP 400), e.g. a therapist not among the matches."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


# --- Ranking -----------------------------------------------------------------


def match_weights() -> ranking.Weights:
    return ranking.Weights.from_mapping(settings.MATCH_WEIGHTS)


def match_policy() -> ranking.Policy:
    return ranking.Policy(freshness_days=settings.AVAILABILITY_FRESHNESS_DAYS)


def reference_labels() -> ranking.Labels:
    return ranking.Labels(
        insurers=dict(Insurer.objects.values_list("slug", "name")),
        focus_areas=dict(FocusArea.objects.values_list("slug", "name")),
        concerns=dict(Concern.objects.values_list("slug", "name")),
        languages=dict(Language.objects.values_list("code", "name")),
    )


def build_need(
    *,
    place: geo.Place,
    formats: Iterable[str],
    insurance: str | None = None,
    max_fee: int | None = None,
    focus_areas: Iterable[str] = (),
    concerns: Iterable[str] = (),
    language: str | None = None,
    language_required: bool = False,
    age_group: str | None = None,
    max_distance_miles: float | None = None,
) -> ranking.Need:
    return ranking.Need(
        latitude=place.latitude,
        longitude=place.longitude,
        state=place.state,
        formats=frozenset(formats),
        insurance=insurance or None,
        max_fee=max_fee,
        focus_areas=frozenset(focus_areas),
        concerns=frozenset(concerns),
        language=language or None,
        language_required=language_required,
        age_group=age_group or None,
        max_distance_miles=float(max_distance_miles or settings.MATCH_MAX_DISTANCE_MILES),
    )


def _has(through: type, **lookups: object) -> Exists:
    return Exists(through.objects.filter(therapist=OuterRef("pk"), **lookups))


def _exclusion_conditions(need: ranking.Need, now: datetime.datetime) -> list[tuple[str, Q]]:
    """The engine's hard constraints as SQL conditions that fail, in the engine's order."""
    cutoff = now - datetime.timedelta(days=settings.AVAILABILITY_FRESHNESS_DAYS)
    if need.insurance:
        affordable = Q(_has(TherapistInsurer, insurer__slug=need.insurance, accepting_new_clients=True))
    elif need.max_fee is not None:
        affordable = Q(sliding_scale=True) | Q(fee_min__isnull=True) | Q(fee_min__lte=need.max_fee)
    else:
        affordable = None
    shared = offers_any_format(need.formats)
    in_person_formats = need.formats & ranking.IN_PERSON_FORMATS
    in_person = (
        Q(distance_sort__isnull=False) & offers_any_format(in_person_formats) if in_person_formats else Q(pk__in=[])
    )
    online = (
        Q(offers_online=True) & Q(_has(LicensedState, state=need.state)) if "online" in need.formats else Q(pk__in=[])
    )
    conditions = [
        ("not_accepting", Q(accepts_new_clients=False)),
        ("availability_stale", Q(availability_confirmed_at__isnull=True) | Q(availability_confirmed_at__lt=cutoff)),
        ("no_capacity", Q(capacity__lte=0)),
        ("insurance", ~affordable if affordable is not None else None),
        ("format", ~shared),
        ("distance" if in_person_formats else "license", ~(in_person | online)),
    ]
    if need.age_group:
        conditions.append(("age_group", ~Q(**{f"serves_{need.age_group.replace('-', '_')}": True})))
    if need.language_required and need.language:
        conditions.append(("language", ~Q(_has(Therapist.languages.through, language__code=need.language))))
    return [(key, condition) for key, condition in conditions if condition is not None]


def therapists_in_reach(need: ranking.Need, now: datetime.datetime) -> QuerySet:
    """Published therapists within reach, each annotated with its first failed constraint (or None)."""
    place = geo.Place(need.latitude, need.longitude, need.state, "")
    reach = Therapist.objects.published().near(place, need.max_distance_miles, online_in_state="online" in need.formats)
    reason = Case(
        *[When(condition, then=Value(key)) for key, condition in _exclusion_conditions(need, now)],
        default=Value(""),
    )
    return reach.annotate(exclusion=reason)


def load_candidates(therapist_ids: list[int], *, now: datetime.datetime) -> list[ranking.Candidate]:
    """Engine inputs for these therapists, in a fixed number of queries."""
    offices: dict[int, list[ranking.Office]] = defaultdict(list)
    for row in Office.objects.filter(therapist_id__in=therapist_ids, latitude__isnull=False).values_list(
        "therapist_id", "latitude", "longitude", "city", "state"
    ):
        offices[row[0]].append(ranking.Office(*row[1:]))
    related = {
        "licensed_states": LicensedState.objects.filter(therapist_id__in=therapist_ids).values_list(
            "therapist_id", "state"
        ),
        "insurers": TherapistInsurer.objects.filter(
            therapist_id__in=therapist_ids, accepting_new_clients=True
        ).values_list("therapist_id", "insurer__slug"),
        "focus_areas": Therapist.focus_areas.through.objects.filter(therapist_id__in=therapist_ids).values_list(
            "therapist_id", "focusarea__slug"
        ),
        "concerns": Therapist.concerns.through.objects.filter(therapist_id__in=therapist_ids).values_list(
            "therapist_id", "concern__slug"
        ),
        "languages": Therapist.languages.through.objects.filter(therapist_id__in=therapist_ids).values_list(
            "therapist_id", "language__code"
        ),
    }
    sets: dict[str, dict[int, set[str]]] = {name: defaultdict(set) for name in related}
    for name, rows in related.items():
        for therapist_id, value in rows:
            sets[name][therapist_id].add(value)
    history = offer_history(therapist_ids, now=now)
    candidates = []
    columns = [
        "id", "first_name", "last_name", "status", "accepts_new_clients", "capacity", "availability_confirmed_at",
        "fee_min", "fee_max", "sliding_scale", "training_level",
        *[f"offers_{slug}" for slug in FORMATS], *[f"serves_{group.replace('-', '_')}" for group in AGE_GROUPS],
    ]  # fmt: skip
    for row in Therapist.objects.filter(pk__in=therapist_ids).values(*columns):
        therapist_id = row["id"]
        answered, quickly, recent = history.get(therapist_id, (0, 0, 0))
        candidates.append(
            ranking.Candidate(
                id=therapist_id,
                name=f"{row['first_name']} {row['last_name']}",
                is_published=row["status"] == Therapist.Status.PUBLISHED,
                accepts_new_clients=row["accepts_new_clients"],
                capacity=row["capacity"],
                availability_confirmed_at=row["availability_confirmed_at"],
                formats=frozenset(
                    slug for slug in ("individual", "family", "group", "online") if row[f"offers_{slug}"]
                ),
                offices=tuple(offices[therapist_id]),
                age_groups=frozenset(
                    group
                    for group in ("children", "adolescents", "adults", "older-adults")
                    if row[f"serves_{group.replace('-', '_')}"]
                ),
                fee_min=row["fee_min"],
                fee_max=row["fee_max"],
                sliding_scale=row["sliding_scale"],
                training_level=row["training_level"],
                offers_answered=answered,
                offers_answered_quickly=quickly,
                recent_offers=recent,
                **{name: frozenset(values[therapist_id]) for name, values in sets.items()},
            )
        )
    return candidates


def offer_history(therapist_ids: list[int], *, now: datetime.datetime) -> dict[int, tuple[int, int, int]]:
    """Per therapist: offers answered, answered within 3 days, offers received in the last 30 days."""
    quick = datetime.timedelta(days=3)
    rows = (
        Offer.objects.filter(therapist_id__in=therapist_ids)
        .values("therapist_id")
        .annotate(
            answered=Count("pk", filter=Q(responded_at__isnull=False)),
            quickly=Count("pk", filter=Q(responded_at__isnull=False, responded_at__lte=F("created_at") + quick)),
            recent=Count("pk", filter=Q(created_at__gte=now - datetime.timedelta(days=30))),
        )
    )
    return {row["therapist_id"]: (row["answered"], row["quickly"], row["recent"]) for row in rows}


@dataclass(frozen=True)
class MatchResult:
    ranking: ranking.Ranking
    therapists: dict[int, Therapist]


def rank_therapists(
    need: ranking.Need, *, now: datetime.datetime | None = None, limit: int | None = None
) -> MatchResult:
    """Rank every therapist in reach for a need; hard constraints SQL can check run in SQL.

    Exclusions counted in SQL and by the engine are merged, so the counts cover
    every published therapist in reach. The top `limit` results come with their
    therapists loaded for display (`for_listing()`).
    """
    now = now or timezone.now()
    limit = limit or settings.MATCH_RESULT_LIMIT
    reach = therapists_in_reach(need, now)
    excluded: dict[str, int] = {}
    eligible_ids: list[int] = []
    for therapist_id, reason in reach.values_list("pk", "exclusion"):
        if reason:
            excluded[reason] = excluded.get(reason, 0) + 1
        else:
            eligible_ids.append(therapist_id)
    result = ranking.rank(
        need,
        load_candidates(eligible_ids, now=now),
        now=now,
        weights=match_weights(),
        policy=match_policy(),
        labels=reference_labels(),
        limit=limit,
    )
    for reason, count in result.excluded.items():
        excluded[reason] = excluded.get(reason, 0) + count
    ids = [item.candidate.id for item in result.results]
    therapists = {therapist.pk: therapist for therapist in Therapist.objects.filter(pk__in=ids).for_listing()}
    return MatchResult(ranking.Ranking(results=result.results, excluded=excluded), therapists)


# --- Referrals -----------------------------------------------------------------


def _locked(referral_id: object) -> Referral:
    """The referral, row-locked on PostgreSQL; every write locks the referral first, so no deadlock."""
    return Referral.objects.select_for_update().get(pk=referral_id)


def _transition(referral: Referral, to_status: str, *, actor: object | None, note: str = "") -> None:
    """Move a referral along the status machine, compare-and-set on the status it had.

    Raises ReferralConflict when the move is not allowed from the current
    status, or when someone else changed the status first.
    """
    from_status = referral.status
    if to_status not in TRANSITIONS[from_status]:
        raise ReferralConflict(
            f"A referral that is {Status(from_status).label.lower()} cannot become {Status(to_status).label.lower()}."
        )
    changed = Referral.objects.filter(pk=referral.pk, status=from_status).update(status=to_status, updated_at=Now())
    if not changed:
        raise ReferralConflict("This referral was changed by someone else; reload it.")
    referral.status = to_status
    ReferralEvent.objects.create(
        referral=referral, from_status=from_status, to_status=to_status, actor=actor, note=note[:200]
    )
    transaction.on_commit(lambda: notifications.referral_status_changed(referral.pk, to_status))


@transaction.atomic
def create_referral(*, referrer: object, need: ranking.Need, place_label: str, postal_code: str, patient: dict,
                    urgency: str, now: datetime.datetime | None = None) -> Referral:  # fmt: skip
    """Store a referral with its ranked matches; status `matched`, or `no_match` when nobody qualifies."""
    now = now or timezone.now()
    result = rank_therapists(need, now=now)
    referral = Referral.objects.create(
        referrer=referrer,
        status=Status.MATCHED if result.ranking.results else Status.NO_MATCH,
        urgency=urgency,
        postal_code=postal_code,
        latitude=need.latitude,
        longitude=need.longitude,
        state=need.state,
        place_label=place_label,
        insurance=Insurer.objects.filter(slug=need.insurance).first() if need.insurance else None,
        max_fee=need.max_fee,
        formats=sorted(need.formats),
        focus_areas=sorted(need.focus_areas),
        concerns=sorted(need.concerns),
        language=need.language or "",
        age_group=need.age_group or "",
        max_distance_miles=int(need.max_distance_miles),
        consent_confirmed_at=now,
        **{name: patient.get(name) or "" for name in PHI_FIELDS if name != "patient_birth_date"},
        patient_birth_date=patient["patient_birth_date"],
    )
    Match.objects.bulk_create(
        Match(
            referral=referral,
            therapist_id=item.candidate.id,
            rank=position,
            score=item.score,
            components=dict(item.components),
            reasons=list(item.reasons),
            delivery=item.delivery,
            distance_miles=item.distance_miles,
        )
        for position, item in enumerate(result.ranking.results, start=1)
    )
    ReferralEvent.objects.create(referral=referral, to_status=referral.status, actor=referrer, note="Submitted")
    return referral


def referral_need(referral: Referral) -> ranking.Need:
    place = geo.Place(referral.latitude, referral.longitude, referral.state, referral.place_label)
    return build_need(
        place=place,
        formats=referral.formats,
        insurance=referral.insurance.slug if referral.insurance_id else None,
        max_fee=referral.max_fee,
        focus_areas=referral.focus_areas,
        concerns=referral.concerns,
        language=referral.language,
        age_group=referral.age_group,
        max_distance_miles=referral.max_distance_miles,
    )


@transaction.atomic
def offer_referral(*, referral: Referral, therapist_id: int, actor: object) -> Offer:
    """Offer the referral to one of its ranked candidates; at most MAX_OPEN_OFFERS open at once."""
    referral = _locked(referral.pk)
    if referral.status not in OFFERABLE:
        raise ReferralConflict(f"A referral that is {referral.get_status_display().lower()} cannot be offered.")
    match = referral.matches.filter(therapist_id=therapist_id).first()
    if match is None:
        raise ReferralInvalid("Offer only to a therapist among this referral's matches.", "therapist")
    if referral.offers.filter(therapist_id=therapist_id).exists():
        raise ReferralConflict("This referral was already offered to that therapist.", "therapist")
    if referral.offers.filter(status=Offer.Status.OPEN).count() >= settings.MAX_OPEN_OFFERS:
        raise ReferralConflict(
            f"At most {settings.MAX_OPEN_OFFERS} offers can wait for an answer at once.", "therapist"
        )
    offer = Offer.objects.create(referral=referral, therapist_id=therapist_id, score=match.score)
    if referral.status != Status.OFFERED:
        _transition(referral, Status.OFFERED, actor=actor, note=f"Offered to {match.therapist.full_name}")
    else:
        ReferralEvent.objects.create(
            referral=referral, from_status=Status.OFFERED, to_status=Status.OFFERED, actor=actor,
            note=f"Also offered to {match.therapist.full_name}",
        )  # fmt: skip
    transaction.on_commit(lambda: notifications.offer_made(offer.pk))
    return offer


@transaction.atomic
def offer_to_therapists(*, referral: Referral, therapist_ids: list[int], actor: object) -> list[Offer]:
    """Offer to several candidates at once: all of them, or none when one is refused."""
    return [offer_referral(referral=referral, therapist_id=therapist_id, actor=actor) for therapist_id in therapist_ids]


@transaction.atomic
def withdraw_referral(*, referral: Referral, actor: object) -> Referral:
    referral = _locked(referral.pk)
    _transition(referral, Status.WITHDRAWN, actor=actor, note="Withdrawn by the referrer")
    referral.offers.filter(status=Offer.Status.OPEN).update(status=Offer.Status.WITHDRAWN)
    return referral


@transaction.atomic
def close_referral(*, referral: Referral, actor: object) -> Referral:
    referral = _locked(referral.pk)
    _transition(referral, Status.CLOSED, actor=actor, note="Loop closed")
    return referral


def _claim_open_offer(offer: Offer, to_status: str, now: datetime.datetime, **fields: object) -> None:
    claimed = Offer.objects.filter(pk=offer.pk, status=Offer.Status.OPEN).update(
        status=to_status, responded_at=now, **fields
    )
    if not claimed:
        raise ReferralConflict("This offer is no longer open.")
    offer.status, offer.responded_at = to_status, now
    for name, value in fields.items():
        setattr(offer, name, value)


@transaction.atomic
def accept_offer(*, offer: Offer, actor: object, now: datetime.datetime | None = None) -> Offer:
    """The first acceptance wins; capacity goes down by one; other open offers are withdrawn.

    Every step is a conditional UPDATE (compare-and-set): the referral moves
    from `offered` only once, the offer from `open` only once, and capacity
    only while above zero. Two therapists accepting at the same moment cannot
    both win, and nobody accepts more referrals than open slots, on SQLite
    (where select_for_update does nothing) and PostgreSQL alike.
    """
    now = now or timezone.now()
    referral = _locked(offer.referral_id)
    if referral.status != Status.OFFERED or offer.status != Offer.Status.OPEN:
        raise ReferralConflict("This referral has already been taken, withdrawn or closed.")
    _transition(referral, Status.ACCEPTED, actor=actor, note=f"Accepted by {offer.therapist.full_name}")
    _claim_open_offer(offer, Offer.Status.ACCEPTED, now)
    has_slot = Therapist.objects.filter(pk=offer.therapist_id, capacity__gt=0).update(capacity=F("capacity") - 1)
    if not has_slot:
        raise ReferralConflict("You have no open capacity; update your capacity before accepting.", "capacity")
    referral.offers.filter(status=Offer.Status.OPEN).exclude(pk=offer.pk).update(
        status=Offer.Status.WITHDRAWN, responded_at=now
    )
    offer.referral = referral
    return offer


@transaction.atomic
def decline_offer(
    *, offer: Offer, reason: str, note: str, actor: object, now: datetime.datetime | None = None
) -> Offer:
    """Record the reason; when no offer is left open, the referral is `declined`."""
    if reason not in Offer.DeclineReason.values:
        raise ReferralInvalid(f"Choose one of: {', '.join(Offer.DeclineReason.values)}.", "reason")
    if reason == Offer.DeclineReason.OTHER and not note.strip():
        raise ReferralInvalid("Say why when the reason is “other”.", "note")
    referral = _locked(offer.referral_id)
    _claim_open_offer(
        offer, Offer.Status.DECLINED, now or timezone.now(), decline_reason=reason, decline_note=note[:300]
    )
    if referral.status == Status.OFFERED and not referral.offers.filter(status=Offer.Status.OPEN).exists():
        _transition(referral, Status.DECLINED, actor=actor, note="Every therapist offered declined")
    return offer


@transaction.atomic
def schedule_first_session(*, offer: Offer, first_session_date: datetime.date, actor: object) -> Offer:
    referral = _locked(offer.referral_id)
    if offer.status != Offer.Status.ACCEPTED:
        raise ReferralConflict("Only an accepted offer can have its first session scheduled.")
    _transition(referral, Status.SCHEDULED, actor=actor, note=f"First session on {first_session_date:%b %d, %Y}")
    Offer.objects.filter(pk=offer.pk).update(first_session_date=first_session_date)
    offer.first_session_date = first_session_date
    return offer


@transaction.atomic
def expire_stale_offers(*, now: datetime.datetime | None = None, days: int | None = None) -> dict[str, int]:
    """Expire offers unanswered for `days`; re-offer to the next candidate or mark the referral expired."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=days if days is not None else settings.OFFER_EXPIRY_DAYS)
    stale = list(Offer.objects.filter(status=Offer.Status.OPEN, created_at__lt=cutoff).select_related("referral"))
    summary = {"expired_offers": 0, "reoffered": 0, "expired_referrals": 0}
    for offer in stale:
        Offer.objects.filter(pk=offer.pk, status=Offer.Status.OPEN).update(status=Offer.Status.EXPIRED)
        summary["expired_offers"] += 1
    for referral in {offer.referral_id: offer.referral for offer in stale}.values():
        referral = _locked(referral.pk)
        if referral.status != Status.OFFERED or referral.offers.filter(status=Offer.Status.OPEN).exists():
            continue
        next_match = _next_candidate(referral, now)
        if next_match is None:
            _transition(referral, Status.EXPIRED, actor=None, note="No answer in time and no other candidate")
            summary["expired_referrals"] += 1
            continue
        offer = Offer.objects.create(referral=referral, therapist=next_match.therapist, score=next_match.score)
        ReferralEvent.objects.create(
            referral=referral, from_status=Status.OFFERED, to_status=Status.OFFERED,
            note=f"No answer in time; offered to {next_match.therapist.full_name}",
        )  # fmt: skip
        transaction.on_commit(lambda offer_id=offer.pk: notifications.offer_made(offer_id))
        summary["reoffered"] += 1
    return summary


def _next_candidate(referral: Referral, now: datetime.datetime) -> Match | None:
    """The best-ranked match not offered yet whose therapist still accepts new clients."""
    offered = referral.offers.values("therapist_id")
    return (
        referral.matches.exclude(therapist_id__in=offered)
        .filter(therapist__in=Therapist.objects.published().accepting(now).filter(capacity__gt=0))
        .select_related("therapist")
        .order_by("rank")
        .first()
    )


# --- PHI -------------------------------------------------------------------------


def can_view_phi(user: object, referral: Referral) -> bool:
    """Only the referrer, staff, and a therapist who accepted this referral."""
    if not user.is_authenticated:
        return False
    if user.is_staff or referral.referrer_id == user.pk:
        return True
    return referral.offers.filter(therapist__user=user, status=Offer.Status.ACCEPTED).exists()


def read_patient_details(*, user: object, referral: Referral, channel: str) -> dict[str, object]:
    """The patient's details, for a user allowed to see them; the read is logged first."""
    if not can_view_phi(user, referral):
        raise PermissionError("not allowed to see this patient's details")
    log_phi_reads(user=user, referrals=[referral], fields=PHI_FIELDS, channel=channel)
    return {name: getattr(referral, name) for name in PHI_FIELDS}


def log_phi_reads(*, user: object, referrals: Iterable[Referral], fields: Iterable[str], channel: str) -> None:
    """Record that `user` saw these fields of these referrals (one INSERT for a whole list)."""
    names = ",".join(fields)
    PHIAccess.objects.bulk_create(
        PHIAccess(user=user, referral=referral, fields=names, channel=channel[:40]) for referral in referrals
    )
