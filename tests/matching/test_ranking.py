"""The pure ranking engine: tables of (need, candidates, expected order) and properties."""

from __future__ import annotations

import dataclasses
import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching import ranking
from matching.responsiveness import Measure

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.UTC)
BROOKLYN = (40.6620, -73.9860)
WEIGHTS = ranking.Weights()


def need(**overrides: object) -> ranking.Need:
    values = {"latitude": BROOKLYN[0], "longitude": BROOKLYN[1], "state": "NY",
              "formats": frozenset({"individual", "online"})}  # fmt: skip
    values.update(overrides)
    return ranking.Need(**values)


def office(miles_north: float = 1.0) -> ranking.Office:
    return ranking.Office(BROOKLYN[0] + miles_north / 69.05, BROOKLYN[1], "Brooklyn", "NY")


def candidate(id: int = 1, **overrides: object) -> ranking.Candidate:
    values = {
        "id": id, "name": f"Therapist {id}", "is_published": True, "accepts_new_clients": True, "capacity": 3,
        "availability_confirmed_at": NOW - datetime.timedelta(days=5),
        "formats": frozenset({"individual", "online"}), "offices": (office(),),
        "licensed_states": frozenset({"NY"}), "insurers": frozenset({"medicaid", "aetna"}),
        "fee_min": 120, "fee_max": 160, "age_groups": frozenset({"adults"}), "languages": frozenset({"en"}),
        "focus_areas": frozenset({"grief-loss"}), "concerns": frozenset({"depression"}),
    }  # fmt: skip
    values.update(overrides)
    return ranking.Candidate(**values)


# How a therapist answered requests (requests, answered, in time, median hours, never heard back).
PROMPT = Measure(10, 10, 9, 3.0, 0)
SLOW = Measure(8, 5, 2, 70.0, 1)
TOO_FEW = Measure(4, 4, 4, 1.0, 0)


def rank(need_: ranking.Need, candidates: list[ranking.Candidate]) -> ranking.Ranking:
    return ranking.rank(need_, candidates, now=NOW, weights=WEIGHTS)


@pytest.mark.parametrize(
    ("overrides", "need_overrides", "reason"),
    [
        ({"is_published": False}, {}, "not_accepting"),
        ({"accepts_new_clients": False}, {}, "not_accepting"),
        ({"availability_confirmed_at": NOW - datetime.timedelta(days=61)}, {}, "availability_stale"),
        ({"availability_confirmed_at": None}, {}, "availability_stale"),
        ({"capacity": 0}, {}, "no_capacity"),
        ({"insurers": frozenset({"aetna"})}, {"insurance": "medicaid"}, "insurance"),
        ({"fee_min": 200}, {"max_fee": 100}, "insurance"),
        ({"formats": frozenset({"group"})}, {}, "format"),
        ({"formats": frozenset({"individual"}), "offices": (office(40),)}, {}, "distance"),
        ({"formats": frozenset({"online"}), "offices": (), "licensed_states": frozenset({"NJ"})}, {}, "license"),
        ({"age_groups": frozenset({"adults"})}, {"age_group": "children"}, "age_group"),
        ({"languages": frozenset({"en"})}, {"language": "es", "language_required": True}, "language"),
    ],
)
def test_each_hard_constraint_excludes_and_is_counted(overrides: dict, need_overrides: dict, reason: str) -> None:
    qualified = candidate(
        id=2, fee_min=None, languages=frozenset({"en", "es"}),
        age_groups=frozenset({"children", "adolescents", "adults", "older-adults"}),
    )  # fmt: skip
    result = rank(need(**need_overrides), [candidate(**overrides), qualified])
    assert [item.candidate.id for item in result.results] == [2]
    assert result.excluded == {reason: 1}


def test_sliding_scale_admits_a_fee_above_the_budget() -> None:
    result = rank(need(max_fee=80), [candidate(fee_min=150, sliding_scale=True)])
    assert len(result.results) == 1
    assert "Sliding-scale fees" in result.results[0].reasons


def test_online_only_match_needs_a_licence_in_the_clients_state() -> None:
    online = candidate(formats=frozenset({"online"}), offices=(), licensed_states=frozenset({"NY"}))
    result = rank(need(formats=frozenset({"online"})), [online])
    assert result.results[0].delivery == "online"
    assert result.results[0].distance_miles is None
    assert "Online: licensed in NY" in result.results[0].reasons


@pytest.mark.parametrize(
    ("need_overrides", "candidates", "expected"),
    [
        # Focus fit beats everything else being equal.
        ({"focus_areas": frozenset({"grief-loss"})},
         [candidate(1, focus_areas=frozenset({"role-disputes"})), candidate(2)], [2, 1]),
        # Closer is better in person.
        ({}, [candidate(1, offices=(office(10),)), candidate(2, offices=(office(1),))], [2, 1]),
        # More openings and a fresher confirmation rank higher.
        ({}, [candidate(1, capacity=1), candidate(2, capacity=5)], [2, 1]),
        # Training level: supervisor > certified > trained.
        ({}, [candidate(1), candidate(2, training_level="supervisor"), candidate(3, training_level="certified")],
         [2, 3, 1]),
        # Preferred language spoken.
        ({"language": "es"}, [candidate(1), candidate(2, languages=frozenset({"en", "es"}))], [2, 1]),
        # Load balancing: a therapist offered much lately ranks below an idle one.
        ({}, [candidate(1, recent_offers=8), candidate(2)], [2, 1]),
        # Responsiveness: answering in time beats no history, which beats often slow; under 5 requests is no history.
        ({}, [candidate(1), candidate(2, responsiveness=PROMPT), candidate(3, responsiveness=SLOW)], [2, 1, 3]),
        ({}, [candidate(2, responsiveness=TOO_FEW), candidate(1)], [1, 2]),
        # Ties are broken by id.
        ({}, [candidate(3), candidate(1), candidate(2)], [1, 2, 3]),
    ],
)  # fmt: skip
def test_ranks_follow_the_stated_rules(need_overrides: dict, candidates: list, expected: list[int]) -> None:
    assert [item.candidate.id for item in rank(need(**need_overrides), candidates).results] == expected


def test_every_result_says_why() -> None:
    labels = ranking.Labels(insurers={"medicaid": "Medicaid"}, focus_areas={"grief-loss": "Grief and loss"})
    result = ranking.rank(
        need(insurance="medicaid", focus_areas=frozenset({"grief-loss"})),
        [candidate(training_level="certified")], now=NOW, weights=WEIGHTS, labels=labels,
    )  # fmt: skip
    item = result.results[0]
    assert item.reasons[:3] == ("Accepts Medicaid", "1.0 mi away", "Focus: Grief and loss")
    assert "Certified in IPT" in item.reasons
    assert set(item.components) == set(ranking.COMPONENTS)


@pytest.mark.parametrize(
    ("measure", "component", "reason"),
    [
        (PROMPT, 0.9, "Usually replies within a day"),
        (Measure(6, 6, 5, 30.0, 0), 0.833, "Usually replies within 2 days"),
        (SLOW, 0.25, None),  # "Often slow to reply" is no reason to choose them
        (TOO_FEW, ranking.NEUTRAL, None),
        (Measure(), ranking.NEUTRAL, None),
    ],
)
def test_responsiveness_is_the_share_answered_in_time_and_says_so(
    measure: Measure, component: float, reason: str | None
) -> None:
    """The component is the published measure's share in time (`Measure.share_in_time`), neutral below 5."""
    [item] = rank(need(), [candidate(responsiveness=measure)]).results
    assert item.components["responsiveness"] == component
    replies = [text for text in item.reasons if text.startswith(("Usually", "Often"))]
    assert replies == ([reason] if reason else [])


def test_weights_refuse_unknown_or_negative_values() -> None:
    with pytest.raises(ValueError, match="unknown"):
        ranking.Weights.from_mapping({"charisma": 5})
    with pytest.raises(ValueError, match="negative"):
        ranking.Weights.from_mapping({"focus": -1})


# --- Properties ----------------------------------------------------------------


@st.composite
def replies_strategy(draw: st.DrawFn) -> Measure:
    """A measure as `responsiveness.measure` can give it: in time within answered within requests."""
    requests = draw(st.integers(0, 20))
    answered = draw(st.integers(0, requests))
    in_time = draw(st.integers(0, answered))
    median = round(draw(st.floats(0.1, 300)), 1) if answered else None
    return Measure(requests, answered, in_time, median, draw(st.integers(0, answered)))


slugs = st.frozensets(st.sampled_from(["grief-loss", "role-disputes", "life-transitions", "social-functioning"]))
candidates_strategy = st.builds(
    candidate,
    id=st.integers(min_value=1, max_value=10_000),
    is_published=st.booleans(),
    accepts_new_clients=st.booleans(),
    capacity=st.integers(min_value=0, max_value=8),
    availability_confirmed_at=st.one_of(st.none(), st.integers(0, 120).map(lambda d: NOW - datetime.timedelta(days=d))),
    formats=st.frozensets(st.sampled_from(["individual", "family", "group", "online"]), min_size=1),
    offices=st.lists(st.floats(min_value=0, max_value=60).map(office), max_size=2).map(tuple),
    licensed_states=st.frozensets(st.sampled_from(["NY", "NJ", "CT"])),
    insurers=st.frozensets(st.sampled_from(["medicaid", "aetna", "cigna"])),
    fee_min=st.one_of(st.none(), st.integers(40, 250)),
    sliding_scale=st.booleans(),
    age_groups=st.frozensets(st.sampled_from(["children", "adolescents", "adults", "older-adults"])),
    languages=st.frozensets(st.sampled_from(["en", "es", "zh"]), min_size=1),
    focus_areas=slugs,
    training_level=st.sampled_from(["trained", "certified", "supervisor"]),
    responsiveness=replies_strategy(),
    recent_offers=st.integers(0, 20),
)
needs_strategy = st.builds(
    need,
    formats=st.frozensets(st.sampled_from(["individual", "family", "group", "online"]), min_size=1),
    insurance=st.one_of(st.none(), st.sampled_from(["medicaid", "aetna"])),
    max_fee=st.one_of(st.none(), st.integers(50, 200)),
    focus_areas=slugs,
    language=st.one_of(st.none(), st.sampled_from(["en", "es"])),
    language_required=st.booleans(),
    age_group=st.one_of(st.none(), st.sampled_from(["adults", "children"])),
)


def _unique(candidates: list[ranking.Candidate]) -> list[ranking.Candidate]:
    return list({item.id: item for item in candidates}.values())


@settings(max_examples=150, deadline=None)
@given(need_=needs_strategy, candidates=st.lists(candidates_strategy, max_size=12).map(_unique))
def test_no_excluded_candidate_ever_ranks(need_: ranking.Need, candidates: list[ranking.Candidate]) -> None:
    result = rank(need_, candidates)
    for item in result.results:
        distance = ranking.nearest_office_miles(need_, item.candidate)
        assert (
            ranking.exclusion_reason(need_, item.candidate, now=NOW, policy=ranking.Policy(), distance=distance) is None
        )
    assert len(result.results) + sum(result.excluded.values()) == len(candidates)


@settings(max_examples=150, deadline=None)
@given(need_=needs_strategy, candidates=st.lists(candidates_strategy, max_size=12).map(_unique))
def test_scores_lie_in_0_to_100_and_order_is_deterministic(
    need_: ranking.Need, candidates: list[ranking.Candidate]
) -> None:
    first = rank(need_, candidates)
    second = rank(need_, list(reversed(candidates)))
    assert [item.candidate.id for item in first.results] == [item.candidate.id for item in second.results]
    assert all(0 <= item.score <= 100 for item in first.results)
    assert all(0 <= value <= 1 for item in first.results for value in item.components.values())
    scores = [item.score for item in first.results]
    assert scores == sorted(scores, reverse=True)


@settings(max_examples=200, deadline=None)
@given(
    components=st.fixed_dictionaries({name: st.floats(0, 1) for name in ranking.COMPONENTS}),
    name=st.sampled_from(ranking.COMPONENTS),
    better=st.floats(0, 1),
    weights=st.builds(ranking.Weights, **{name: st.floats(0, 50) for name in ranking.COMPONENTS}),
)
def test_improving_one_component_never_lowers_the_score(
    components: dict[str, float], name: str, better: float, weights: ranking.Weights
) -> None:
    improved = {**components, name: max(components[name], better)}
    assert ranking.weighted_score(improved, weights) >= ranking.weighted_score(components, weights)


def halfway(far: ranking.Office) -> ranking.Office:
    """The same office moved half-way towards the client."""
    return dataclasses.replace(far, latitude=(far.latitude + BROOKLYN[0]) / 2)


@settings(max_examples=150, deadline=None)
@given(
    base=candidates_strategy,
    improvement=st.sampled_from(["closer", "capacity", "focus", "training", "fresher", "quieter", "answers in time"]),
)
def test_a_better_candidate_never_scores_lower(base: ranking.Candidate, improvement: str) -> None:
    need_ = need(focus_areas=frozenset({"grief-loss", "role-disputes"}))
    improved = {
        "closer": lambda item: dataclasses.replace(item, offices=tuple(halfway(office) for office in item.offices)),
        "capacity": lambda item: dataclasses.replace(item, capacity=item.capacity + 1),
        "focus": lambda item: dataclasses.replace(item, focus_areas=item.focus_areas | {"grief-loss"}),
        "training": lambda item: dataclasses.replace(item, training_level="supervisor"),
        "fresher": lambda item: dataclasses.replace(item, availability_confirmed_at=NOW),
        "quieter": lambda item: dataclasses.replace(item, recent_offers=0),
        "answers in time": lambda item: dataclasses.replace(
            item, responsiveness=dataclasses.replace(item.responsiveness, answered_in_time=item.responsiveness.requests)
        ),
    }[improvement](base)
    before, after = rank(need_, [base]).results, rank(need_, [improved]).results
    if before:
        assert after, "an improvement must not exclude a candidate"
        assert after[0].score >= before[0].score


def test_unmet_wishes_are_said_plainly_and_met_ones_are_not() -> None:
    labels = ranking.Labels(languages={"es": "Spanish"}, focus_areas={"role-disputes": "Role disputes"})
    wishes = need(language="es", max_fee=100, focus_areas=frozenset({"grief-loss", "role-disputes"}))
    far = candidate(fee_min=150, sliding_scale=True, offices=(office(40),))
    result = ranking.rank(wishes, [far], now=NOW, weights=WEIGHTS, labels=labels)
    assert result.results[0].unmet == (
        "Does not speak Spanish",
        "Over your fee limit: from $150 a session, sliding scale available",
        "No office within 25 miles: online sessions only",
        "Does not list as a focus: role disputes",
    )
    focus = frozenset({"grief-loss", "role-disputes"})
    met = candidate(languages=frozenset({"en", "es"}), fee_min=90, focus_areas=focus)
    assert ranking.rank(wishes, [met], now=NOW, weights=WEIGHTS, labels=labels).results[0].unmet == ()
