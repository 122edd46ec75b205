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
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Case, Count, F, Q, QuerySet, Value, When
from django.db.models.functions import Now
from django.utils import timezone

from directory import geo
from directory.filters import reference_rows
from directory.models import (
    AGE_GROUP_BITS,
    FORMAT_BITS,
    STATE_BITS,
    Concern,
    FocusArea,
    Insurer,
    Language,
    SearchEntry,
    Therapist,
    has_any,
)
from directory.search import union_all
from matching import notifications, ranking
from matching.models import Match, Offer, PHIAccess, Referral, ReferralEvent
from matching.requests import ClientNeed, ReferralRequest

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
SCHEDULE_PAST_DAYS = 30
OLDEST_PATIENT_YEARS = 120
# The code of the crisis refusal, so that a page can show its crisis page rather than the form.
CRISIS = "crisis"
CRISIS_GUIDANCE = (
    "This service is not for emergencies and cannot take crisis referrals. If the patient is in immediate "
    "danger, call 911. For a suicidal or mental-health crisis, call or text 988 (Suicide & Crisis Lifeline) "
    "or chat at 988lifeline.org, or go to the nearest emergency department."
)


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
        insurers={slug: row.name for slug, row in reference_rows(Insurer, "slug").items()},
        focus_areas={slug: row.name for slug, row in reference_rows(FocusArea, "slug").items()},
        concerns={slug: row.name for slug, row in reference_rows(Concern, "slug").items()},
        languages={code: row.name for code, row in reference_rows(Language, "code").items()},
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


# Row codes of the SQL pre-filter: the index of the first hard constraint an entry fails,
# in the engine's order, or ELIGIBLE. A therapist's code is the best (highest) of its entries'.
REASONS = list(ranking.EXCLUSION_REASONS)
ELIGIBLE = len(REASONS)
ALWAYS = Q(pk__isnull=False)


def _failures(need: ranking.Need, now: datetime.datetime) -> list[tuple[str, Q]]:
    """The engine's hard constraints as conditions an entry fails, in the engine's order, on the index's masks."""
    cutoff = now - datetime.timedelta(days=settings.AVAILABILITY_FRESHNESS_DAYS)
    if need.insurance:
        insurer = reference_rows(Insurer, "slug").get(need.insurance)
        unaffordable = ~Q(has_any("open_insurers", [insurer.pk])) if insurer else ALWAYS
    elif need.max_fee is not None:
        unaffordable = ~(Q(sliding_scale=True) | Q(fee_min__isnull=True) | Q(fee_min__lte=need.max_fee))
    else:
        unaffordable = None
    in_person_formats = need.formats & ranking.IN_PERSON_FORMATS
    delivers = Q(pk__in=[])
    if in_person_formats:
        in_person = [FORMAT_BITS[slug] for slug in in_person_formats]
        delivers |= Q(has_any("formats", in_person), kind=SearchEntry.Kind.OFFICE)
    if "online" in need.formats:
        delivers |= Q(has_any("formats", [FORMAT_BITS["online"]]), kind=SearchEntry.Kind.LICENCE)
    language = reference_rows(Language, "code").get(need.language) if need.language else None
    failures = [
        ("not_accepting", Q(accepting_since__isnull=True)),
        ("availability_stale", Q(accepting_since__lt=cutoff)),
        ("no_capacity", Q(capacity__lte=0)),
        ("insurance", unaffordable),
        ("format", ~Q(has_any("formats", [FORMAT_BITS[slug] for slug in need.formats]))),
        ("distance" if in_person_formats else "license", ~delivers),
        ("age_group", ~Q(has_any("age_groups", [AGE_GROUP_BITS[need.age_group]])) if need.age_group else None),
        (
            "language",
            (~Q(has_any("languages", [language.pk])) if language else ALWAYS)
            if need.language_required and need.language
            else None,
        ),
    ]
    return [(key, condition) for key, condition in failures if condition is not None]


def entries_in_reach(need: ranking.Need, now: datetime.datetime) -> list[QuerySet]:
    """The search entries that put a therapist in reach of the need, each with `code` (see ELIGIBLE).

    Offices within the distance and, for online sessions, licences in the
    client's state: two querysets, each answered from its covering index (an OR
    of the two makes SQLite read every row).
    """
    place = geo.Place(need.latitude, need.longitude, need.state, "")
    parts = [SearchEntry.objects.near(place, need.max_distance_miles)]
    if "online" in need.formats:
        parts.append(SearchEntry.objects.licensed_here(need.state).offering_formats(["online"]))
    code = Case(
        *[When(condition, then=Value(REASONS.index(key))) for key, condition in _failures(need, now)],
        default=Value(ELIGIBLE),
    )
    return [part.annotate(code=code) for part in parts]


def exclusion_counts(reach: list[QuerySet]) -> dict[str, int]:
    """How many therapists in reach each hard constraint excludes, each under its first failure: one query.

    A therapist's code is the best of its entries' (an office may be out of
    reach where a licence is not).
    """
    union, params = union_all(reach, ["therapist_id", "code"])
    per_therapist = f"SELECT MAX(code) AS best FROM ({union}) AS entries GROUP BY therapist_id"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT best, COUNT(*) FROM ({per_therapist}) AS therapists GROUP BY best", params)
        return {REASONS[code]: count for code, count in cursor.fetchall() if code != ELIGIBLE}


CANDIDATE_COLUMNS = [
    "therapist_id", "kind", "latitude", "longitude", "first_name", "last_name", "accepting_since", "capacity",
    "formats", "age_groups", "open_insurers", "focus_areas", "concerns", "languages", "states", "fee_min",
    "sliding_scale", "training_level",
]  # fmt: skip


def load_candidates(entries: Iterable[QuerySet], *, now: datetime.datetime) -> list[ranking.Candidate]:
    """Engine inputs for the therapists of these search entries, from the entries alone.

    A query per queryset, and one for the therapists' offer history. A
    candidate's offices are its OFFICE entries among `entries`: those in
    reach, where its nearest office is.
    """
    rows = [row for part in entries for row in part.values_list(*CANDIDATE_COLUMNS)]
    offices: dict[int, list[ranking.Office]] = defaultdict(list)
    first_rows: dict[int, tuple] = {}
    for row in rows:
        first_rows.setdefault(row[0], row)
        if row[1] == SearchEntry.Kind.OFFICE:
            offices[row[0]].append(ranking.Office(row[2], row[3]))
    history = offer_history(list(first_rows), now=now)
    decode = mask_decoder()
    candidates = []
    for therapist_id, row in first_rows.items():
        answered, quickly, recent = history.get(therapist_id, (0, 0, 0))
        candidates.append(
            ranking.Candidate(
                id=therapist_id,
                name=f"{row[4]} {row[5]}",
                is_published=True,  # only published therapists have entries
                accepts_new_clients=row[6] is not None,
                capacity=row[7],
                availability_confirmed_at=row[6],
                formats=decode("formats", row[8]),
                offices=tuple(offices[therapist_id]),
                age_groups=decode("age_groups", row[9]),
                insurers=decode("insurers", row[10]),
                focus_areas=decode("focus_areas", row[11]),
                concerns=decode("concerns", row[12]),
                languages=decode("languages", row[13]),
                licensed_states=decode("states", row[14]),
                fee_min=row[15],
                sliding_scale=row[16],
                training_level=row[17],
                offers_answered=answered,
                offers_answered_quickly=quickly,
                recent_offers=recent,
            )
        )
    return candidates


class MaskDecoder:
    """Masks back to the slugs the engine speaks, each distinct mask decoded once."""

    MAX_DECODED = 100_000  # distinct masks kept per vocabulary; then it starts afresh

    def __init__(self) -> None:
        self.sources = tuple(reference_rows(model, key) for model, key in REFERENCE_VOCABULARIES)
        self.names = {
            "formats": {bit: slug for slug, bit in FORMAT_BITS.items()},
            "age_groups": {bit: slug for slug, bit in AGE_GROUP_BITS.items()},
            "insurers": {row.pk: slug for slug, row in reference_rows(Insurer, "slug").items()},
            "focus_areas": {row.pk: slug for slug, row in reference_rows(FocusArea, "slug").items()},
            "concerns": {row.pk: slug for slug, row in reference_rows(Concern, "slug").items()},
            "languages": {row.pk: code for code, row in reference_rows(Language, "code").items()},
            "states": {bit: code for code, bit in STATE_BITS.items()},
        }
        self.decoded: dict[str, dict[int, frozenset[str]]] = {vocabulary: {} for vocabulary in self.names}

    def __call__(self, vocabulary: str, value: int) -> frozenset[str]:
        decoded = self.decoded[vocabulary]
        found = decoded.get(value)
        if found is None:
            if len(decoded) >= self.MAX_DECODED:
                decoded.clear()
            names = self.names[vocabulary]
            found = decoded[value] = frozenset(names[bit] for bit in set_bits(value) if bit in names)
        return found


REFERENCE_VOCABULARIES = ((Insurer, "slug"), (FocusArea, "slug"), (Concern, "slug"), (Language, "code"))
_decoders: list[MaskDecoder] = []


def mask_decoder() -> MaskDecoder:
    """The process's decoder, so that masks seen by earlier matches are not decoded again.

    Built anew when a reference table changed: its per-process copy (`reference_rows`) is then a new one.
    """
    current = tuple(reference_rows(model, key) for model, key in REFERENCE_VOCABULARIES)
    if not _decoders or any(old is not new for old, new in zip(_decoders[0].sources, current, strict=True)):
        _decoders[:] = [MaskDecoder()]
    return _decoders[0]


def set_bits(value: int) -> list[int]:
    """The positions of the bits set in `value`, lowest first."""
    bits = []
    while value:
        lowest = value & -value
        bits.append(lowest.bit_length() - 1)
        value ^= lowest
    return bits


def offer_history(therapist_ids: list[int], *, now: datetime.datetime) -> dict[int, tuple[int, int, int]]:
    """Per therapist: offers answered, answered within 3 days, offers received in the last 30 days."""
    quick = datetime.timedelta(days=3)
    rows = (
        Offer.objects.filter(therapist_id__in_ids=therapist_ids)
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
    need: ranking.Need,
    *,
    now: datetime.datetime | None = None,
    limit: int | None = None,
    therapists: QuerySet | None = None,
) -> MatchResult:
    """Rank every therapist in reach for a need; hard constraints SQL can check run in SQL.

    Exclusions counted in SQL and by the engine are merged, so the counts cover
    every published therapist in reach. The top `limit` results come with their
    therapists loaded from `therapists` (default: `for_listing()`, what pages show).
    """
    now = now or timezone.now()
    limit = limit or settings.MATCH_RESULT_LIMIT
    reach = entries_in_reach(need, now)
    excluded = exclusion_counts(reach)
    result = ranking.rank(
        need,
        load_candidates([part.filter(code=ELIGIBLE) for part in reach], now=now),
        now=now,
        weights=match_weights(),
        policy=match_policy(),
        labels=reference_labels(),
        limit=limit,
    )
    for reason, count in result.excluded.items():
        excluded[reason] = excluded.get(reason, 0) + count
    ids = [item.candidate.id for item in result.results]
    therapists = (Therapist.objects.for_listing() if therapists is None else therapists).in_bulk(ids)
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


def urgency_error(urgency: str) -> ValidationError | None:
    """A crisis is refused with the crisis guidance (code CRISIS), never queued; so is an unknown urgency."""
    if urgency == CRISIS:
        return ValidationError(CRISIS_GUIDANCE, code=CRISIS)
    if urgency not in Referral.Urgency.values:
        return ValidationError(f"Choose one of: {', '.join(Referral.Urgency.values)}.", code="invalid_choice")
    return None


def is_plausible_birth_date(birth_date: datetime.date, *, today: datetime.date) -> bool:
    """Not in the future, and at most OLDEST_PATIENT_YEARS back."""
    try:
        oldest = today.replace(year=today.year - OLDEST_PATIENT_YEARS)
    except ValueError:  # February 29th, and that year has none
        oldest = today.replace(year=today.year - OLDEST_PATIENT_YEARS, day=28)
    return oldest <= birth_date <= today


def referral_errors(request: ReferralRequest, *, today: datetime.date) -> dict[str, ValidationError]:
    """What is wrong with a referral request, by the name of the field the page and the API show it under."""
    patient = request.patient
    errors: dict[str, ValidationError] = {}
    if (error := urgency_error(request.urgency)) is not None:
        errors["urgency"] = error
    if not request.consent:
        errors["consent"] = ValidationError("Confirm that the patient consented to this referral.", code="consent")
    if not patient.name.strip():
        errors["patient_name"] = ValidationError("Give the patient's name.", code="required")
    if not (patient.phone.strip() or patient.email.strip()):
        errors["patient_phone"] = ValidationError("Give a phone number or an email for the patient.", code="contact")
    if not is_plausible_birth_date(patient.birth_date, today=today):
        errors["patient_birth_date"] = ValidationError("Enter the patient's real date of birth.", code="birth_date")
    if not geo.nearest_postal_code(request.need.place):
        errors["postal_code"] = ValidationError("No US ZIP code is near this place.", code="postal_code")
    return errors


@transaction.atomic
def create_referral(*, referrer: object, request: ReferralRequest, now: datetime.datetime | None = None) -> Referral:
    """Check a referral request, then store it with its ranked matches.

    Raises ValidationError keyed by field name, and stores nothing, when a rule
    refuses it: a crisis (code CRISIS, with the crisis guidance), an unknown
    urgency, no consent, no phone or email, an implausible birth date. The place
    is stored as its nearest 5-digit ZIP, what de-identified summaries coarsen.
    The status is `matched`, or `no_match` when nobody qualifies.
    """
    now = now or timezone.now()
    errors = referral_errors(request, today=timezone.localdate(now))
    if errors:
        raise ValidationError(errors)
    need = ranking_need(request.need)
    patient = request.patient
    result = rank_therapists(need, now=now)
    referral = Referral.objects.create(
        referrer=referrer,
        status=Status.MATCHED if result.ranking.results else Status.NO_MATCH,
        urgency=request.urgency,
        postal_code=geo.nearest_postal_code(request.need.place),
        latitude=need.latitude,
        longitude=need.longitude,
        state=need.state,
        place_label=request.need.place.label,
        insurance=Insurer.objects.filter(slug=need.insurance).first() if need.insurance else None,
        max_fee=need.max_fee,
        formats=sorted(need.formats),
        focus_areas=sorted(need.focus_areas),
        concerns=sorted(need.concerns),
        language=need.language or "",
        age_group=need.age_group or "",
        max_distance_miles=int(need.max_distance_miles),
        consent_confirmed_at=now,
        patient_name=patient.name,
        patient_birth_date=patient.birth_date,
        patient_phone=patient.phone,
        patient_email=patient.email,
        notes=patient.notes,
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


def ranking_need(need: ClientNeed) -> ranking.Need:
    """The engine's need for a client's need as asked (the default distance filled in)."""
    return build_need(
        place=need.place,
        formats=need.formats,
        insurance=need.insurance,
        max_fee=need.max_fee,
        focus_areas=need.focus_areas,
        concerns=need.concerns,
        language=need.language,
        language_required=need.language_required,
        age_group=need.age_group,
        max_distance_miles=need.max_distance_miles,
    )


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
    if offer.status == Offer.Status.DECLINED:
        raise ReferralConflict("You declined this offer; it can no longer be accepted.")
    if referral.status != Status.OFFERED or offer.status != Offer.Status.OPEN:
        raise ReferralConflict("This referral has already been taken, withdrawn or closed.")
    _transition(referral, Status.ACCEPTED, actor=actor, note=f"Accepted by {offer.therapist.full_name}")
    _claim_open_offer(offer, Offer.Status.ACCEPTED, now)
    has_slot = Therapist.objects.filter(pk=offer.therapist_id, capacity__gt=0).update(capacity=F("capacity") - 1)
    if not has_slot:
        raise ReferralConflict("You have no open capacity; update your capacity before accepting.", "capacity")
    # The search index's copy follows, in the same transaction (refresh_listing would rebuild every entry).
    SearchEntry.objects.filter(therapist_id=offer.therapist_id).update(capacity=F("capacity") - 1)
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
def schedule_first_session(
    *, offer: Offer, first_session_date: datetime.date, actor: object, now: datetime.datetime | None = None
) -> Offer:
    """Record the first session's date, at most SCHEDULE_PAST_DAYS ago (a session held, noted late)."""
    earliest = timezone.localdate(now or timezone.now()) - datetime.timedelta(days=SCHEDULE_PAST_DAYS)
    if first_session_date < earliest:
        raise ReferralInvalid(
            f"The first session date cannot be more than {SCHEDULE_PAST_DAYS} days ago.", "first_session_date"
        )
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
