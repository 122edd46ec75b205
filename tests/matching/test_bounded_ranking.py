"""A match reads its candidates best bound first and scores only those that could be among its results
(`services.rank_therapists`); it must give exactly what ranking every therapist in reach gives
(`services.rank_every_therapist`): the same therapists in the same order, scores, reasons and counts."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from directory import search
from directory.models import FORMATS, Therapist
from matching import ranking, services
from matching.models import Offer, Referral
from matching.responsiveness import Measure
from tests.drawn import CENTER, CONCERNS, FOCUS_AREAS, INSURERS, LANGUAGES, create, therapist_specs

pytestmark = pytest.mark.django_db

needs = st.fixed_dictionaries(
    {
        "formats": st.one_of(
            st.just({"individual"}),
            st.just({"online"}),
            st.just({"individual", "online"}),
            st.sets(st.sampled_from(list(FORMATS)), min_size=1),
        ),
        "insurance": st.sampled_from([None, None, None, *INSURERS]),
        "max_fee": st.sampled_from([None, 100]),
        "focus_areas": st.sets(st.sampled_from(FOCUS_AREAS)),
        "concerns": st.sets(st.sampled_from(CONCERNS)),
        "language": st.sampled_from([None, *LANGUAGES]),
        "language_required": st.sampled_from([False, False, True]),
        "max_distance_miles": st.sampled_from([10, 25, 50]),
    }
)


def offer_recently(therapists_with_counts: list[tuple[Therapist, int]], referrals: list[Referral]) -> None:
    """Each therapist offered that many referrals lately (the engine's `load`)."""
    Offer.objects.bulk_create(
        Offer(referral=referrals[index], therapist=therapist, score=50)
        for therapist, count in therapists_with_counts
        for index in range(count)
    )


def referrals_to_offer(count: int) -> list[Referral]:
    referrer = User.objects.create_user(username="drawn-referrer", password="correct-horse-battery")
    return Referral.objects.bulk_create(
        Referral(referrer=referrer, status=Referral.Status.OFFERED, postal_code="59101", latitude=CENTER.latitude,
                 longitude=CENTER.longitude, state="MT", place_label="Billings, MT", patient_name="Drawn Patient",
                 patient_birth_date=datetime.date(1980, 1, 1), consent_confirmed_at=timezone.now())
        for _ in range(count)
    )  # fmt: skip


def as_compared(result: ranking.Ranking) -> tuple:
    return (
        [
            (item.candidate.id, item.score, item.distance_miles, item.delivery, item.reasons, item.unmet,
             dict(item.components))
            for item in result.results
        ],
        dict(result.excluded),
    )  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    specs=st.lists(therapist_specs, min_size=2, max_size=10),
    need_spec=needs,
    limit=st.sampled_from([1, 1, 2, 3, 5, 20]),
    margin=st.sampled_from([0, 1, 20]),
)
def test_bounded_ranking_equals_ranking_every_therapist(
    specs: list[dict], need_spec: dict, limit: int, margin: int
) -> None:
    assert_bounded_equals_exhaustive(specs, need_spec, limit=limit, margin=margin)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    specs=st.lists(therapist_specs, min_size=15, max_size=25),
    need_spec=needs,
    limit=st.sampled_from([1, 2, 3, 5]),
    margin=st.sampled_from([0, 1]),
)
def test_bounded_ranking_equals_ranking_every_therapist_when_it_reads_several_batches(
    specs: list[dict], need_spec: dict, limit: int, margin: int
) -> None:
    assert_bounded_equals_exhaustive(specs, need_spec, limit=limit, margin=margin)


def assert_bounded_equals_exhaustive(specs: list[dict], need_spec: dict, *, limit: int, margin: int) -> None:
    now = timezone.now()
    with transaction.atomic():
        therapists = [create(number, spec, now) for number, spec in enumerate(specs)]
        offer_recently(
            [(therapist, spec["recent_offers"]) for therapist, spec in zip(therapists, specs, strict=True)],
            referrals_to_offer(max(spec["recent_offers"] for spec in specs)),
        )
        search.refresh([therapist.pk for therapist in therapists])
        need = services.build_need(place=CENTER, **need_spec)

        # A small first batch (`margin` 0: as many as the results) makes the match read several batches.
        with mock.patch.object(services, "FIRST_BATCH_MARGIN", margin), CaptureQueriesContext(connection) as queries:
            bounded = services.rank_therapists(need, now=now, limit=limit)
        exhaustive = services.rank_every_therapist(need, now=now, limit=limit)

        assert as_compared(bounded) == as_compared(exhaustive)
        assert bounded.scored <= exhaustive.scored
        event("some results" if bounded.results else "no result")
        event("fewer scored than in reach" if bounded.scored < exhaustive.scored else "all in reach scored")
        batches = sum("WITH by_code AS" in query["sql"] for query in queries.captured_queries)
        event(f"{batches if batches < 3 else '3 or more'} batches read")
        transaction.set_rollback(True)


@settings(max_examples=300, deadline=None)
@given(spec=therapist_specs, need_spec=needs, miles=st.floats(0, 60))
def test_the_bound_is_never_below_the_score(spec: dict, need_spec: dict, miles: float) -> None:
    """The engine alone: for any candidate, `bound_points` of `score_bound` is at least its score."""
    now = datetime.datetime(2026, 12, 3, 12, tzinfo=datetime.UTC)
    need = ranking.Need(
        latitude=CENTER.latitude, longitude=CENTER.longitude, state="MT",
        formats=frozenset(need_spec["formats"]), focus_areas=frozenset(need_spec["focus_areas"]),
        concerns=frozenset(need_spec["concerns"]), language=need_spec["language"],
        max_distance_miles=need_spec["max_distance_miles"],
    )  # fmt: skip
    requests, in_time = spec["replies"]
    candidate = ranking.Candidate(
        id=1, name="Drawn", is_published=True, accepts_new_clients=True, capacity=max(1, spec["capacity"]),
        availability_confirmed_at=now - datetime.timedelta(days=spec["confirmed_days_ago"] or 0),
        formats=frozenset(spec["formats"]), licensed_states=frozenset(spec["states"]),
        languages=frozenset(spec["languages"]), focus_areas=frozenset(spec["focus_areas"]),
        concerns=frozenset(spec["concerns"]), training_level=spec["training_level"],
        responsiveness=Measure(requests, in_time, in_time, 12.0, 0), recent_offers=spec["recent_offers"],
    )  # fmt: skip
    weights, policy = ranking.Weights(), ranking.Policy()
    options = ranking.delivery_options(need, candidate, miles)
    distance = miles if "in_person" in options else None
    components = ranking.score_components(need, candidate, now=now, policy=policy, options=options, distance=distance)
    bound = ranking.score_bound(need, weights=weights, policy=policy)

    points = ranking.bound_points(bound, candidate, now=now, options=options, miles=distance)

    assert ranking.weighted_score(components, weights) <= points + ranking.BOUND_SLACK
    if not spec["recent_offers"]:  # every other component is counted exactly: the bound is the score
        assert ranking.weighted_score(components, weights) == pytest.approx(points, abs=ranking.BOUND_SLACK)


def dense_directory(count: int) -> list[Therapist]:
    """`count` therapists who all qualify for the need below, offices spread within 20 miles of the center."""
    now = timezone.now()
    spec = {"accepts": True, "confirmed_days_ago": 1, "capacity": 3, "formats": {"individual", "online"},
            "insurers": {"aetna"}, "fee_min": 100, "sliding_scale": False, "languages": {"en"},
            "focus_areas": {"grief-loss"}, "concerns": set(), "training_level": "certified", "replies": (0, 0),
            "recent_offers": 0, "states": {"MT"}}  # fmt: skip
    therapists = [
        create(number, {**spec, "offices": [((number * 7) % 40 - 20, (number * 11) % 40 - 20)],
                        "confirmed_days_ago": number % 30, "capacity": 1 + number % 5}, now)
        for number in range(count)
    ]  # fmt: skip
    search.refresh([therapist.pk for therapist in therapists])
    return therapists


def test_a_match_runs_as_many_queries_and_scores_as_few_in_a_denser_directory() -> None:
    need = services.build_need(place=CENTER, formats=["individual", "online"], insurance="aetna",
                               focus_areas=["grief-loss"])  # fmt: skip
    services.rank_therapists(need)  # the reference tables read once per process
    counts, scored = [], []
    for count in (40, 200):
        with transaction.atomic():
            dense_directory(count)
            with CaptureQueriesContext(connection) as queries:
                result = services.rank_therapists(need)
            counts.append(len(queries))
            scored.append(result.scored)
            assert len(result.results) == 20
            assert result.results == services.rank_every_therapist(need).results
            transaction.set_rollback(True)

    assert counts[0] == counts[1] <= 4
    assert scored[1] < 200 and scored[1] <= 20 + services.FIRST_BATCH_MARGIN


def test_a_denser_directory_costs_a_match_no_more_queries(django_assert_max_num_queries: object) -> None:
    need = services.build_need(place=CENTER, formats=["individual"], insurance="aetna", focus_areas=["grief-loss"])
    dense_directory(150)
    services.rank_therapists(need)  # the reference tables read once per process
    with django_assert_max_num_queries(4):
        result = services.rank_therapists(need)
    assert [item.candidate.id for item in result.results] == [
        item.candidate.id for item in services.rank_every_therapist(need).results
    ]


def test_therapists_tied_with_the_last_result_are_all_read_and_the_lowest_ids_kept() -> None:
    """Ten equal therapists at one office: every one could tie the last result, so every batch is read."""
    now = timezone.now()
    spec = {"accepts": True, "confirmed_days_ago": 1, "capacity": 3, "formats": {"individual"}, "insurers": {"aetna"},
            "fee_min": 100, "sliding_scale": False, "languages": {"en"}, "focus_areas": {"grief-loss"},
            "concerns": set(), "training_level": "trained", "replies": (0, 0), "recent_offers": 0,
            "states": {"MT"}, "offices": [(3, 4)]}  # fmt: skip
    therapists = [create(number, spec, now) for number in range(10)]
    search.refresh([therapist.pk for therapist in therapists])
    need = services.build_need(place=CENTER, formats=["individual"], insurance="aetna")

    with mock.patch.object(services, "FIRST_BATCH_MARGIN", 0), CaptureQueriesContext(connection) as queries:
        result = services.rank_therapists(need, now=now, limit=3)

    assert [item.candidate.id for item in result.results] == sorted(therapist.pk for therapist in therapists)[:3]
    assert len({item.score for item in result.results}) == 1
    assert as_compared(result) == as_compared(services.rank_every_therapist(need, now=now, limit=3))
    assert result.scored == 10
    assert sum("WITH by_code AS" in query["sql"] for query in queries.captured_queries) == 3  # 3, 6, then 1 left


def test_each_therapist_in_reach_is_counted_once_whether_reached_at_offices_online_or_both() -> None:
    """One reached online is counted from its licence entry alone, the others from their offices: never twice."""
    now = timezone.now()
    spec = {"accepts": True, "confirmed_days_ago": 1, "capacity": 3, "formats": {"individual", "online"},
            "insurers": {"aetna"}, "fee_min": 100, "sliding_scale": False, "languages": {"en"},
            "focus_areas": set(), "concerns": set(), "training_level": "trained", "replies": (0, 0),
            "recent_offers": 0, "states": {"MT"}, "offices": [(3, 4), (-3, 0)]}  # fmt: skip
    therapists = [
        create(0, {**spec, "formats": {"online"}}, now),  # its offices deliver nothing asked; its licence does
        create(1, {**spec, "insurers": {"cigna"}}, now),  # two offices and a licence in reach, not in network
        create(2, {**spec, "insurers": {"cigna"}, "states": {"WY"}}, now),  # two offices, licensed elsewhere
        create(3, {**spec, "formats": {"individual"}, "confirmed_days_ago": 90}, now),  # offices only, stale
    ]
    search.refresh([therapist.pk for therapist in therapists])
    need = services.build_need(place=CENTER, formats=["individual", "online"], insurance="aetna")

    result = services.rank_therapists(need, now=now)

    assert [item.candidate.id for item in result.results] == [therapists[0].pk]
    assert result.results[0].delivery == "online"
    assert result.excluded == {"insurance": 2, "availability_stale": 1}
    assert as_compared(result) == as_compared(services.rank_every_therapist(need, now=now))
