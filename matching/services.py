"""Matching and the referral loop: the one place that knows both the ORM and the engine.

Reads turn database rows into engine inputs (`matching.ranking`); writes run
inside `transaction.atomic`, and every referral status change goes through
`_transition`, which holds the status machine of docs/api.md.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.db.models import Count, F
from django.db.models.functions import Now
from django.utils import timezone

from directory import geo, search
from directory.models import FORMATS, Concern, FocusArea, Insurer, Language, Therapist
from directory.search import Condition, conditions
from directory.vocabularies import reference_rows
from matching import notifications, ranking
from matching.models import Match, Offer, PHIAccess, Referral, ReferralEvent
from matching.requests import ReferralRequest
from matching.responsiveness import Measure
from matching.signals import offers_answered

Status = Referral.Status

# The referral status machine (docs/api.md): from a status, the statuses it may move to.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.MATCHED: frozenset({Status.OFFERED, Status.WITHDRAWN}),
    Status.NO_MATCH: frozenset({Status.WITHDRAWN}),
    # Back to `matched` when the only offers waiting were to a therapist who can no longer answer.
    Status.OFFERED: frozenset({Status.ACCEPTED, Status.DECLINED, Status.WITHDRAWN, Status.EXPIRED, Status.MATCHED}),
    Status.DECLINED: frozenset({Status.OFFERED, Status.WITHDRAWN}),
    Status.EXPIRED: frozenset({Status.OFFERED, Status.WITHDRAWN}),
    Status.ACCEPTED: frozenset({Status.SCHEDULED, Status.CLOSED}),
    Status.SCHEDULED: frozenset({Status.CLOSED}),
    Status.CLOSED: frozenset(),
    Status.WITHDRAWN: frozenset(),
}
OFFERABLE = frozenset({Status.MATCHED, Status.OFFERED, Status.DECLINED, Status.EXPIRED})
PATIENT_FIELDS = (
    "patient_name", "patient_birth_date", "patient_phone", "patient_email", "notes", "reason", "diagnosis_code",
    "insurance_member_id",
)  # fmt: skip
# Who referred is kept with the patient's details: together they say where the patient is treated.
CLINICIAN_FIELDS = ("clinician_name", "clinician_npi", "clinician_phone", "practice_name")
PHI_FIELDS = PATIENT_FIELDS + CLINICIAN_FIELDS
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
        formats=FORMATS,
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


def _unaffordable(need: ranking.Need, policy: ranking.Policy, now: datetime.datetime) -> Condition | None:
    if need.insurance:
        return conditions.panel_closed_to(need.insurance)
    return conditions.fee_above(need.max_fee) if need.max_fee is not None else None


def _out_of_reach_in_person(need: ranking.Need, policy: ranking.Policy, now: datetime.datetime) -> Condition | None:
    if not need.formats & ranking.IN_PERSON_FORMATS:
        return None
    return conditions.cannot_deliver(need.formats) & conditions.offers_in_person(need.formats)


# What each hard constraint of the engine (`ranking.HARD_CONSTRAINTS`) means on the search index, by key:
# the condition an entry fails, or None when the need does not ask for it. The engine gives the order.
SQL_CONSTRAINTS: dict[str, Callable[[ranking.Need, ranking.Policy, datetime.datetime], Condition | None]] = {
    "not_accepting": lambda need, policy, now: conditions.not_accepting(),
    "availability_stale": lambda need, policy, now: conditions.confirmed_before(policy.freshness_cutoff(now)),
    "no_capacity": lambda need, policy, now: conditions.no_capacity(),
    "insurance": _unaffordable,
    "format": lambda need, policy, now: conditions.offers_none_of(need.formats),
    "distance": _out_of_reach_in_person,
    "license": lambda need, policy, now: conditions.cannot_deliver(need.formats),
    "age_group": lambda need, policy, now: conditions.serves_not(need.age_group) if need.age_group else None,
    "language": lambda need, policy, now: (
        conditions.speaks_not(need.language) if need.language_required and need.language else None
    ),
}


def check_sql_constraints(table: dict[str, object]) -> None:
    """Every hard constraint of the engine has its SQL condition in `table`, and only those (checked at import)."""
    if mismatched := set(table) ^ set(ranking.EXCLUSION_REASONS):
        raise ImproperlyConfigured(
            f"Every hard constraint of matching.ranking needs its SQL condition, and only those: {sorted(mismatched)}"
        )


check_sql_constraints(SQL_CONSTRAINTS)


def sql_failures(need: ranking.Need, policy: ranking.Policy, now: datetime.datetime) -> list[tuple[str, Condition]]:
    """The hard constraints that apply to this need, in the engine's order, as conditions on the index."""
    failures = [(rule.key, SQL_CONSTRAINTS[rule.key](need, policy, now)) for rule in ranking.HARD_CONSTRAINTS]
    return [(key, condition) for key, condition in failures if condition is not None]


def in_reach(need: ranking.Need, *, policy: ranking.Policy, now: datetime.datetime) -> search.InReach:
    """The therapists in reach of the need: those SQL excludes, counted by reason, and the rest as rows."""
    place = geo.Place(need.latitude, need.longitude, need.state, "")
    failures = sql_failures(need, policy, now)
    online = "online" in need.formats
    return search.candidates_in_reach(place, need.max_distance_miles, online=online, failures=failures)


def candidate(row: search.CandidateRow, recent_offers: int = 0) -> ranking.Candidate:
    """The engine's view of a therapist in reach, with the offers it received in the last 30 days."""
    return ranking.Candidate(
        id=row.therapist_id,
        name=row.name,
        is_published=True,  # only published therapists are in the index
        accepts_new_clients=row.accepts_new_clients,
        capacity=row.capacity,
        availability_confirmed_at=row.availability_confirmed_at,
        formats=row.formats,
        offices=tuple(ranking.Office(latitude, longitude) for latitude, longitude in row.offices),
        age_groups=row.age_groups,
        insurers=row.open_insurers,
        focus_areas=row.focus_areas,
        concerns=row.concerns,
        languages=row.languages,
        licensed_states=row.licensed_states,
        fee_min=row.fee_min,
        sliding_scale=row.sliding_scale,
        training_level=row.training_level,
        responsiveness=reply_measure(row.replies),
        recent_offers=recent_offers,
    )


def offered_candidates(therapist_ids: Iterable[int]) -> dict[int, ranking.Candidate]:
    """The engine's view of therapists offered referrals, as their profiles stand now: what `unmet_by_offer` reads.

    Three queries whatever the number of therapists.
    """
    therapists = Therapist.objects.filter(pk__in=set(therapist_ids)).prefetch_related(
        "languages", "insurer_links__insurer"
    )
    return {
        therapist.pk: ranking.Candidate(
            id=therapist.pk,
            name=therapist.full_name,
            is_published=therapist.status == Therapist.Status.PUBLISHED,
            accepts_new_clients=therapist.accepts_new_clients,
            capacity=0,
            availability_confirmed_at=therapist.availability_confirmed_at,
            formats=frozenset(therapist.formats),
            languages=frozenset(language.code for language in therapist.languages.all()),
            insurers=frozenset(
                link.insurer.slug for link in therapist.insurer_links.all() if link.accepting_new_clients
            ),
        )
        for therapist in therapists
    }


def reply_measure(replies: tuple[int | None, int | None, int | None, float | None, int | None]) -> Measure:
    """The responsiveness measure as the index stores it (none in an entry built before it held one)."""
    requests, answered, answered_in_time, median_reply_hours, never_heard_back = replies
    if requests is None:
        return Measure()
    return Measure(requests, answered, answered_in_time, median_reply_hours, never_heard_back)


def recent_offers(therapist_ids: list[int], *, now: datetime.datetime) -> dict[int, int]:
    """Per therapist: the offers received in the last 30 days (the engine's `load`); none are left out."""
    rows = (
        Offer.objects.filter(therapist_id__in_ids=therapist_ids, created_at__gte=now - datetime.timedelta(days=30))
        .values("therapist_id")
        .annotate(recent=Count("pk"))
    )
    return {row["therapist_id"]: row["recent"] for row in rows}


def rank_therapists(
    need: ranking.Need, *, now: datetime.datetime | None = None, limit: int | None = None
) -> ranking.Ranking:
    """Rank the therapists in reach for a need: the first `limit`, scoring only those that could be among them.

    The hard constraints SQL can check run in SQL, and the exclusions it
    counts are merged with the engine's, so the counts cover every published
    therapist in reach. The candidates are read best bound of their score
    first (`ranking.score_bound`, computed by the index), in batches, and the
    engine stops reading once no bound can reach its results: the same results
    as `rank_every_therapist`. At most four queries when one batch is read (as
    it is unless many tie with the last result), three or four more per later batch.
    """
    now = now or timezone.now()
    policy = match_policy()
    limit = limit or settings.MATCH_RESULT_LIMIT
    weights = match_weights()
    place = geo.Place(need.latitude, need.longitude, need.state, "")
    reach = search.candidates_by_bound(
        place,
        need.max_distance_miles,
        online="online" in need.formats,
        failures=sql_failures(need, policy, now),
        terms=ranking.score_bound(need, weights=weights, policy=policy),
        now=now,
        first_batch=limit + FIRST_BATCH_MARGIN,
    )
    result = ranking.rank_bounded(
        need, _bounded_candidates(reach, now=now), now=now, weights=weights, policy=policy,
        labels=reference_labels(), limit=limit,
    )  # fmt: skip
    return _with_sql_exclusions(result, reach.excluded)


# Read with the first batch beyond the results asked for: ties with the last result, and the few
# whose bound (load at its best) overstates their score, are then read without a second batch.
FIRST_BATCH_MARGIN = 20


def _bounded_candidates(
    reach: search.BoundedReach, *, now: datetime.datetime
) -> Iterator[tuple[float, ranking.Candidate]]:
    """The engine's candidates with their bounds, a batch read (with its recent offers) only when reached."""
    for batch in reach.batches:
        recent = recent_offers([row.therapist_id for _, row in batch], now=now)
        for bound, row in batch:
            yield bound, candidate(row, recent.get(row.therapist_id, 0))


def rank_every_therapist(
    need: ranking.Need, *, now: datetime.datetime | None = None, limit: int | None = None
) -> ranking.Ranking:
    """The reference for `rank_therapists`: every therapist in reach read and scored. Four queries."""
    now = now or timezone.now()
    policy = match_policy()
    reach = in_reach(need, policy=policy, now=now)
    recent = recent_offers([row.therapist_id for row in reach.candidates], now=now)
    candidates = [candidate(row, recent.get(row.therapist_id, 0)) for row in reach.candidates]
    result = ranking.rank(
        need,
        candidates,
        now=now,
        weights=match_weights(),
        policy=policy,
        labels=reference_labels(),
        limit=limit or settings.MATCH_RESULT_LIMIT,
    )
    return _with_sql_exclusions(result, reach.excluded)


def _with_sql_exclusions(result: ranking.Ranking, sql_excluded: dict[str, int]) -> ranking.Ranking:
    excluded = dict(sql_excluded)
    for reason, count in result.excluded.items():
        excluded[reason] = excluded.get(reason, 0) + count
    return ranking.Ranking(results=result.results, excluded=excluded, scored=result.scored)


# --- Referrals -----------------------------------------------------------------


def _locked(referral_id: object) -> Referral:
    """The referral, row-locked on PostgreSQL; every write locks the referral first, so no deadlock."""
    return Referral.objects.select_for_update().get(pk=referral_id)


def _transition(
    referral: Referral, to_status: str, *, actor: object | None, note: str = "", notify: bool = True
) -> None:
    """Move a referral along the status machine, compare-and-set on the status it had.

    Raises ReferralConflict when the move is not allowed from the current
    status, or when someone else changed the status first. The referrer is
    emailed the new status unless `notify` is false (the caller sends its own).
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
    if notify:
        notifications.referral_status_changed(referral.pk, to_status)


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
    if not geo.nearest_postal_code(request.place):
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
    need = request.need
    patient = request.patient
    result = rank_therapists(need, now=now)
    referral = Referral.objects.create(
        referrer=referrer,
        status=Status.MATCHED if result.results else Status.NO_MATCH,
        urgency=request.urgency,
        postal_code=geo.nearest_postal_code(request.place),
        latitude=need.latitude,
        longitude=need.longitude,
        state=need.state,
        place_label=request.place.label,
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
        reason=patient.reason,
        diagnosis_code=patient.diagnosis_code,
        insurance_member_id=patient.insurance_member_id,
        patient_contact_consent=request.patient_contact_consent,
        clinician_name=request.clinician.name,
        clinician_npi=request.clinician.npi,
        clinician_phone=request.clinician.phone,
        practice_name=request.clinician.practice,
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
        for position, item in enumerate(result.results, start=1)
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
    if not Therapist.objects.taking_referrals().filter(pk=therapist_id).exists():
        raise ReferralConflict("This therapist is no longer taking referrals; offer it to another match.", "therapist")
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
    notifications.offer_made(offer.pk)
    return offer


@transaction.atomic
def offer_to_therapists(*, referral: Referral, therapist_ids: list[int], actor: object) -> list[Offer]:
    """Offer to several candidates at once: all of them, or none when one is refused."""
    open_offers = Offer.objects.filter(referral_id=referral.pk, status=Offer.Status.OPEN).count()
    slots = max(0, settings.MAX_OPEN_OFFERS - open_offers)
    if len(set(therapist_ids)) > slots:
        raise ReferralConflict(
            f"You chose {len(set(therapist_ids))} therapists, but at most {settings.MAX_OPEN_OFFERS} offers can wait "
            f"for an answer at once ({slots} more now): untick {len(set(therapist_ids)) - slots}.",
            "therapist",
        )
    return [offer_referral(referral=referral, therapist_id=therapist_id, actor=actor) for therapist_id in therapist_ids]


@transaction.atomic
def withdraw_referral(*, referral: Referral, actor: object) -> Referral:
    referral = _locked(referral.pk)
    _transition(referral, Status.WITHDRAWN, actor=actor, note="Withdrawn by the referring office")
    referral.offers.filter(status=Offer.Status.OPEN).update(
        status=Offer.Status.WITHDRAWN, withdrawn_because=Offer.WithdrawnBecause.REFERRER
    )
    return referral


def accepted_offer(referral: Referral) -> Offer | None:
    """The offer its therapist accepted, from the prefetched offers when there are some."""
    return next((offer for offer in referral.offers.all() if offer.status == Offer.Status.ACCEPTED), None)


def first_session_held(offer: Offer | None, *, now: datetime.datetime) -> bool:
    """Whether the first session is recorded and has begun: its time passed, or its day came when no time was given."""
    if offer is None or offer.first_session_date is None:
        return False
    if offer.first_session_at is not None:
        return offer.first_session_at <= now
    return offer.first_session_date <= timezone.localdate(now)


@transaction.atomic
def close_referral(*, referral: Referral, actor: object, now: datetime.datetime | None = None) -> Referral:
    """Close the loop: only once the first session was recorded and its time has come (ReferralInvalid otherwise)."""
    now = now or timezone.now()
    referral = _locked(referral.pk)
    if Status.CLOSED not in TRANSITIONS[referral.status]:
        raise ReferralConflict(f"A referral that is {referral.get_status_display().lower()} cannot be closed.")
    offer = referral.offers.filter(status=Offer.Status.ACCEPTED).select_related("therapist").first()
    if offer is None or offer.first_session_date is None:
        raise ReferralInvalid(
            "No first session is recorded yet: close the loop once the therapist has recorded it and the patient "
            "was seen.",
            "first_session_date",
        )
    when = first_session_words(offer.first_session_date, offer.first_session_at)
    if not first_session_held(offer, now=now):
        raise ReferralInvalid(
            f"The first session is on {when}, still to come: close the loop once the patient was seen.",
            "first_session_date",
        )
    note = f"Closed by the referring office: patient seen by {offer.therapist.full_name} (first session {when})"
    _transition(referral, Status.CLOSED, actor=actor, note=note)
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
    others = referral.offers.filter(status=Offer.Status.OPEN).exclude(pk=offer.pk)
    closed = list(others.values_list("therapist_id", "therapist__first_name", "therapist__last_name"))
    note = f"Accepted by {offer.therapist.full_name}"
    if closed:
        names = ", ".join(f"{first} {last}" for _, first, last in closed)
        note += f". Offer to {names} closed: another therapist accepted first"
    _transition(referral, Status.ACCEPTED, actor=actor, note=note)
    _claim_open_offer(offer, Offer.Status.ACCEPTED, now)
    has_slot = Therapist.objects.filter(pk=offer.therapist_id, capacity__gt=0).update(capacity=F("capacity") - 1)
    if not has_slot:
        raise ReferralConflict("You have no open capacity; update your capacity before accepting.", "capacity")
    search.refresh([offer.therapist_id])  # capacity is in the index
    others.update(
        status=Offer.Status.WITHDRAWN, responded_at=now, withdrawn_because=Offer.WithdrawnBecause.OTHER_ACCEPTED
    )
    offers_answered.send(sender=Offer, therapist_ids=[offer.therapist_id, *(row[0] for row in closed)], now=now)
    if referral.patient_contact_consent:
        notifications.patient_accepted(offer.pk)
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
    now = now or timezone.now()
    referral = _locked(offer.referral_id)
    _claim_open_offer(offer, Offer.Status.DECLINED, now, decline_reason=reason, decline_note=note[:300])
    if referral.status == Status.OFFERED and not referral.offers.filter(status=Offer.Status.OPEN).exists():
        _transition(referral, Status.DECLINED, actor=actor, note="Every therapist offered declined")
    offers_answered.send(sender=Offer, therapist_ids=[offer.therapist_id], now=now)
    return offer


@transaction.atomic
def schedule_first_session(
    *,
    offer: Offer,
    first_session_date: datetime.date,
    first_session_time: datetime.time | None = None,
    actor: object,
    now: datetime.datetime | None = None,
) -> Offer:
    """Record the first session's date, and its time when given, at most SCHEDULE_PAST_DAYS ago.

    A session already held may be noted late. The time is local (settings.TIME_ZONE);
    the referrer is emailed the date and time.
    """
    earliest = timezone.localdate(now or timezone.now()) - datetime.timedelta(days=SCHEDULE_PAST_DAYS)
    if first_session_date < earliest:
        raise ReferralInvalid(
            f"The first session date cannot be more than {SCHEDULE_PAST_DAYS} days ago.", "first_session_date"
        )
    referral = _locked(offer.referral_id)
    if offer.status != Offer.Status.ACCEPTED:
        raise ReferralConflict("Only an accepted offer can have its first session scheduled.")
    first_session_at = (
        timezone.make_aware(datetime.datetime.combine(first_session_date, first_session_time))
        if first_session_time is not None
        else None
    )
    when = first_session_words(first_session_date, first_session_at)
    _transition(referral, Status.SCHEDULED, actor=actor, note=f"First session on {when}", notify=False)
    Offer.objects.filter(pk=offer.pk).update(first_session_date=first_session_date, first_session_at=first_session_at)
    offer.first_session_date, offer.first_session_at = first_session_date, first_session_at
    notifications.first_session_scheduled(referral.pk, when)
    if referral.patient_contact_consent:
        notifications.patient_scheduled(offer.pk, when)
    return offer


def first_session_words(date: datetime.date, at: datetime.datetime | None) -> str:
    """The first session as people say it: "Tue, Dec 8, 2026, 10:00 AM", or the day alone without a time."""
    day = f"{date:%a, %b} {date.day}, {date.year}"
    if at is None:
        return day
    local = timezone.localtime(at)
    return f"{day}, {local.hour % 12 or 12}:{local:%M %p}"


def offer_reply_by(offer: Offer) -> datetime.datetime:
    """When an open offer expires unanswered (`expire_stale_offers`): OFFER_EXPIRY_DAYS after it was made."""
    return offer.created_at + datetime.timedelta(days=settings.OFFER_EXPIRY_DAYS)


@transaction.atomic
def expire_stale_offers(*, now: datetime.datetime | None = None, days: int | None = None) -> dict[str, int]:
    """Expire offers unanswered for `days`; re-offer to the next candidate or mark the referral expired."""
    now = now or timezone.now()
    withdrawn = withdraw_unanswerable_offers()
    cutoff = now - datetime.timedelta(days=days if days is not None else settings.OFFER_EXPIRY_DAYS)
    stale = list(Offer.objects.filter(status=Offer.Status.OPEN, created_at__lt=cutoff).select_related("referral"))
    summary = {"withdrawn_offers": withdrawn, "expired_offers": 0, "reoffered": 0, "expired_referrals": 0}
    for offer in stale:
        Offer.objects.filter(pk=offer.pk, status=Offer.Status.OPEN).update(status=Offer.Status.EXPIRED)
        summary["expired_offers"] += 1
    if stale:
        offers_answered.send(sender=Offer, therapist_ids=[offer.therapist_id for offer in stale], now=now)
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
        notifications.offer_made(offer.pk)
        summary["reoffered"] += 1
    return summary


@transaction.atomic
def withdraw_offers_to(*, therapist: Therapist) -> int:
    """Withdraw the open offers to a therapist who can no longer answer (suspended, account deactivated).

    Each referral left with no offer waiting goes back to `matched`, from where
    its referrer offers it to another of its matches, as after a decline; its
    history says why, without naming a reason staff may keep to themselves, and
    the referrer is emailed (no PHI). Accepted offers stay: that patient is in care.
    Returns how many offers were withdrawn.
    """
    referral_ids = sorted(
        set(Offer.objects.filter(therapist=therapist, status=Offer.Status.OPEN).values_list("referral_id", flat=True))
    )
    withdrawn = 0
    for referral_id in referral_ids:  # in a fixed order, so two of these never wait on each other
        referral = _locked(referral_id)
        if not referral.offers.filter(therapist=therapist, status=Offer.Status.OPEN).update(
            status=Offer.Status.WITHDRAWN, withdrawn_because=Offer.WithdrawnBecause.UNAVAILABLE
        ):
            continue  # answered meanwhile
        withdrawn += 1
        note = f"Offer to {therapist.full_name} withdrawn: no longer taking referrals"
        if referral.status == Status.OFFERED and not referral.offers.filter(status=Offer.Status.OPEN).exists():
            _transition(referral, Status.MATCHED, actor=None, note=note, notify=False)
        else:
            ReferralEvent.objects.create(
                referral=referral, from_status=referral.status, to_status=referral.status, note=note
            )
        notifications.offer_withdrawn(referral_id)  # queued in this transaction (outbox)
    return withdrawn


def withdraw_unanswerable_offers() -> int:
    """Withdraw open offers to therapists who cannot answer, whatever made them so (a bulk UPDATE sends no signal)."""
    unanswerable = (
        Therapist.objects.filter(offers__status=Offer.Status.OPEN)
        .exclude(pk__in=Therapist.objects.taking_referrals().values("pk"))
        .distinct()
    )
    return sum(withdraw_offers_to(therapist=therapist) for therapist in unanswerable)


def _next_candidate(referral: Referral, now: datetime.datetime) -> Match | None:
    """The best-ranked match not offered yet whose therapist still accepts new clients."""
    offered = referral.offers.values("therapist_id")
    return (
        referral.matches.exclude(therapist_id__in=offered)
        .filter(therapist__in=Therapist.objects.taking_referrals().accepting(now).filter(capacity__gt=0))
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
