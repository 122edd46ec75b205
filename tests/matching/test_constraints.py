"""The hard constraints are declared once (ranking.HARD_CONSTRAINTS); the SQL pre-filter derived from them
(services.SQL_CONSTRAINTS) must exclude exactly the therapists the engine excludes, for the same reasons."""

from __future__ import annotations

import datetime
from collections import Counter

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import geometry
from directory import geo, search
from directory.demo import make_npi
from directory.models import FORMATS, Insurer, Language, LicensedState, Office, Therapist, TherapistInsurer
from matching import ranking, services

pytestmark = pytest.mark.django_db

# Billings, Montana: far from every demo metro, so the drawn therapists are most of those in reach.
CENTER = geo.Place(45.7833, -108.5007, "MT", "Billings, MT")
INSURERS = ("aetna", "cigna", "medicaid")
LANGUAGES = ("en", "es")

therapist_specs = st.fixed_dictionaries(
    {
        "accepts": st.booleans(),
        "silenced": st.booleans(),  # consultation requests left to expire (consultations.silence)
        "confirmed_days_ago": st.sampled_from([None, 1, 59, 61, 300]),
        "capacity": st.sampled_from([0, 1, 3]),
        "formats": st.sets(st.sampled_from(list(FORMATS)), min_size=1),
        "insurers": st.dictionaries(st.sampled_from(INSURERS), st.booleans(), max_size=3),
        "fee_min": st.sampled_from([None, 80, 150]),
        "sliding_scale": st.booleans(),
        "age_groups": st.sets(st.sampled_from(["children", "adolescents", "adults", "older-adults"]), min_size=1),
        "languages": st.sets(st.sampled_from(LANGUAGES)),
        # Offices as (miles north, miles east) of the center; licences among Montana and Wyoming.
        "offices": st.lists(st.tuples(st.integers(-60, 60), st.integers(-60, 60)), max_size=2),
        "states": st.sets(st.sampled_from(["MT", "WY"])),
    }
)
needs = st.fixed_dictionaries(
    {
        "formats": st.sets(st.sampled_from(list(FORMATS)), min_size=1),
        "insurance": st.sampled_from([None, *INSURERS]),
        "max_fee": st.sampled_from([None, 100]),
        "age_group": st.sampled_from([None, "adults", "children"]),
        "language": st.sampled_from([None, *LANGUAGES]),
        "language_required": st.booleans(),
        "max_distance_miles": st.sampled_from([10, 25, 50]),
    }
)


def offset(north_miles: int, east_miles: int) -> tuple[float, float]:
    latitude = CENTER.latitude + north_miles / geometry.MILES_PER_DEGREE_LATITUDE
    longitude = CENTER.longitude + east_miles / (
        geometry.MILES_PER_DEGREE_LATITUDE * geometry.math.cos(geometry.math.radians(latitude))
    )
    return latitude, longitude


def create(number: int, spec: dict, now: datetime.datetime) -> None:
    confirmed = spec["confirmed_days_ago"]
    therapist = Therapist.objects.create(
        npi=make_npi(9_000_000 + number), first_name="Drawn", last_name=f"Therapist {number}", credentials="LCSW",
        status=Therapist.Status.PUBLISHED, accepts_new_clients=spec["accepts"], capacity=spec["capacity"],
        silenced_at=now - datetime.timedelta(days=3) if spec["silenced"] else None,
        availability_confirmed_at=None if confirmed is None else now - datetime.timedelta(days=confirmed),
        fee_min=spec["fee_min"], fee_max=None if spec["fee_min"] is None else 200,
        sliding_scale=spec["sliding_scale"],
        **{f"offers_{slug}": slug in spec["formats"] for slug in FORMATS},
        **{f"serves_{group.replace('-', '_')}": group in spec["age_groups"]
           for group in ("children", "adolescents", "adults", "older-adults")},
    )  # fmt: skip
    therapist.languages.set(Language.objects.filter(code__in=spec["languages"]))
    for slug, is_open in spec["insurers"].items():
        TherapistInsurer.objects.create(
            therapist=therapist, insurer=Insurer.objects.get(slug=slug), accepting_new_clients=is_open
        )
    for north, east in spec["offices"]:
        latitude, longitude = offset(north, east)
        Office.objects.create(therapist=therapist, address="1 Main St", city="Billings", state="MT",
                              postal_code="59101", latitude=latitude, longitude=longitude)  # fmt: skip
    for state in spec["states"]:
        LicensedState.objects.create(therapist=therapist, state=state)
    search.refresh([therapist.pk])


def engine_candidate(therapist: Therapist) -> ranking.Candidate:
    """The engine's view of a therapist read from the tables themselves, not from the index."""
    return ranking.Candidate(
        id=therapist.pk,
        name=therapist.full_name,
        is_published=therapist.status == Therapist.Status.PUBLISHED,
        accepts_new_clients=therapist.is_open_to_new_clients,
        capacity=therapist.capacity,
        availability_confirmed_at=therapist.availability_confirmed_at,
        formats=frozenset(therapist.formats),
        offices=tuple(ranking.Office(office.latitude, office.longitude) for office in therapist.offices.all()),
        licensed_states=frozenset(therapist.licensed_state_codes),
        insurers=frozenset(link.insurer.slug for link in therapist.insurer_links.all() if link.accepting_new_clients),
        fee_min=therapist.fee_min,
        fee_max=therapist.fee_max,
        sliding_scale=therapist.sliding_scale,
        age_groups=frozenset(therapist.age_groups),
        languages=frozenset(language.code for language in therapist.languages.all()),
    )


def in_reach(need: ranking.Need, candidate: ranking.Candidate) -> bool:
    """An office within the distance, or online sessions offered to a client in a state of the licences."""
    distance = ranking.nearest_office_miles(need, candidate)
    if distance is not None and distance <= need.max_distance_miles:
        return True
    return "online" in need.formats and "online" in candidate.formats and need.state in candidate.licensed_states


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(therapist_specs, min_size=1, max_size=6), need_spec=needs)
def test_sql_pre_filter_and_engine_exclude_the_same_therapists_for_the_same_reasons(
    specs: list[dict], need_spec: dict
) -> None:
    now = timezone.now()
    with transaction.atomic():
        for number, spec in enumerate(specs):
            create(number, spec, now)
        need = services.build_need(place=CENTER, **need_spec)
        policy = services.match_policy()

        reach = services.in_reach(need, policy=policy, now=now)

        expected: Counter[str] = Counter()
        eligible = set()
        for therapist in Therapist.objects.published().for_listing():
            candidate = engine_candidate(therapist)
            if not in_reach(need, candidate):
                continue
            distance = ranking.nearest_office_miles(need, candidate)
            reason = ranking.exclusion_reason(need, candidate, now=now, policy=policy, distance=distance)
            if reason is None:
                eligible.add(therapist.pk)
            else:
                expected[reason] += 1
        assert reach.excluded == dict(expected)
        assert {row.therapist_id for row in reach.candidates} == eligible
        transaction.set_rollback(True)


def test_a_hard_constraint_without_its_sql_condition_stops_start_up() -> None:
    services.check_sql_constraints(services.SQL_CONSTRAINTS)  # the real table is whole
    without_language = {key: value for key, value in services.SQL_CONSTRAINTS.items() if key != "language"}
    with pytest.raises(ImproperlyConfigured, match="language"):
        services.check_sql_constraints(without_language)
    with pytest.raises(ImproperlyConfigured, match="telepathy"):
        services.check_sql_constraints({**services.SQL_CONSTRAINTS, "telepathy": None})
