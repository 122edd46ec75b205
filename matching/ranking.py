"""Rank therapists for one person's needs, and say why.

Pure Python: frozen dataclasses in, a `Ranking` out. No ORM, no settings, no
clock: the caller passes `now`, the weights and the policy. Two stages:

1. Hard constraints exclude a candidate, and each exclusion is counted under
   the first that applies (`HARD_CONSTRAINTS`, declared once, in checking order).
2. Every remaining candidate gets components in [0, 1], a weighted mean of
   them scaled to a 0-100 score, and short human reasons. Results sort by
   score, then distance, then id, so equal inputs always give equal order.
"""

from __future__ import annotations

import datetime
import heapq
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from geometry import miles_between
from matching.responsiveness import MIN_REQUESTS, Measure, headline

IN_PERSON_FORMATS = frozenset({"individual", "family", "group"})
TRAINING_SCORES = {"trained": 1 / 3, "certified": 2 / 3, "supervisor": 1.0}
NEUTRAL = 0.5

COMPONENTS = ("focus", "concern", "distance", "availability", "language", "training", "responsiveness", "load")


@dataclass(frozen=True)
class Need:
    """What the client needs. `insurance` None means self-pay, with `max_fee` if any."""

    latitude: float
    longitude: float
    state: str
    formats: frozenset[str]
    insurance: str | None = None
    max_fee: int | None = None
    focus_areas: frozenset[str] = frozenset()
    concerns: frozenset[str] = frozenset()
    language: str | None = None
    language_required: bool = False
    age_group: str | None = None
    max_distance_miles: float = 25.0


@dataclass(frozen=True)
class Office:
    latitude: float
    longitude: float
    city: str = ""
    state: str = ""


@dataclass(frozen=True)
class Candidate:
    """A therapist as the engine sees it. `insurers` holds plans open to new clients."""

    id: int
    name: str
    is_published: bool
    accepts_new_clients: bool
    capacity: int
    availability_confirmed_at: datetime.datetime | None
    formats: frozenset[str]
    offices: tuple[Office, ...] = ()
    licensed_states: frozenset[str] = frozenset()
    insurers: frozenset[str] = frozenset()
    fee_min: int | None = None
    fee_max: int | None = None
    sliding_scale: bool = False
    age_groups: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    focus_areas: frozenset[str] = frozenset()
    concerns: frozenset[str] = frozenset()
    training_level: str = "trained"
    # How the therapist answers clients' requests and physicians' offers (the one definition: `responsiveness`).
    responsiveness: Measure = field(default_factory=Measure)
    recent_offers: int = 0


@dataclass(frozen=True)
class Weights:
    focus: float = 30
    concern: float = 15
    distance: float = 15
    availability: float = 15
    language: float = 5
    training: float = 10
    responsiveness: float = 5
    load: float = 5

    @classmethod
    def from_mapping(cls, values: Mapping[str, float]) -> Weights:
        unknown = set(values) - set(COMPONENTS)
        if unknown:
            raise ValueError(f"unknown weight(s): {', '.join(sorted(unknown))}")
        if any(value < 0 for value in values.values()):
            raise ValueError("weights cannot be negative")
        return cls(**values)

    def total(self) -> float:
        return sum(getattr(self, name) for name in COMPONENTS)


@dataclass(frozen=True)
class Policy:
    freshness_days: int = 60
    full_capacity: int = 5
    busy_offer_count: int = 10

    def freshness_cutoff(self, now: datetime.datetime) -> datetime.datetime:
        """The oldest availability confirmation still believed: a candidate confirmed before it is stale."""
        return now - datetime.timedelta(days=self.freshness_days)


@dataclass(frozen=True)
class Labels:
    """Display names for reasons: slugs to names."""

    insurers: Mapping[str, str] = field(default_factory=dict)
    focus_areas: Mapping[str, str] = field(default_factory=dict)
    concerns: Mapping[str, str] = field(default_factory=dict)
    languages: Mapping[str, str] = field(default_factory=dict)
    formats: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RankedCandidate:
    candidate: Candidate
    score: float
    components: Mapping[str, float]
    reasons: tuple[str, ...]
    delivery: str  # "in_person" or "online"
    distance_miles: float | None
    unmet: tuple[str, ...] = ()  # the client's wishes this result does not meet, in plain words


@dataclass(frozen=True)
class Ranking:
    results: tuple[RankedCandidate, ...]
    excluded: Mapping[str, int]
    scored: int = 0  # candidates scored exactly (checked against the hard constraints, then scored)


def nearest_office_miles(need: Need, candidate: Candidate) -> float | None:
    distances = [miles_between((need.latitude, need.longitude), (office.latitude, office.longitude))
                 for office in candidate.offices]  # fmt: skip
    return min(distances) if distances else None


def delivery_options(need: Need, candidate: Candidate, distance: float | None) -> frozenset[str]:
    """How the candidate can see this client: "in_person" (an office within reach), "online" (licensed)."""
    shared = need.formats & candidate.formats
    options = set()
    if shared & IN_PERSON_FORMATS and distance is not None and distance <= need.max_distance_miles:
        options.add("in_person")
    if "online" in shared and need.state in candidate.licensed_states:
        options.add("online")
    return frozenset(options)


@dataclass(frozen=True)
class Facts:
    """What the hard constraints read besides the need and the candidate, worked out once per candidate."""

    cutoff: datetime.datetime  # the oldest availability confirmation still believed (`Policy.freshness_cutoff`)
    options: frozenset[str]  # how the candidate can see this client (`delivery_options`)


@dataclass(frozen=True)
class Constraint:
    key: str
    label: str
    fails: Callable[[Need, Candidate, Facts], bool]


def _stale(need: Need, candidate: Candidate, facts: Facts) -> bool:
    confirmed = candidate.availability_confirmed_at
    return confirmed is None or confirmed < facts.cutoff


def _shares_in_person(need: Need, candidate: Candidate) -> bool:
    return bool(need.formats & candidate.formats & IN_PERSON_FORMATS)


# The hard constraints, in the order they are checked: a candidate is excluded, and counted,
# under the first it fails. The one declaration: `matching.services` maps each key to its SQL.
HARD_CONSTRAINTS: tuple[Constraint, ...] = (
    Constraint(
        "not_accepting",
        "Not published or not accepting new clients",
        lambda need, candidate, facts: not (candidate.is_published and candidate.accepts_new_clients),
    ),
    Constraint("availability_stale", "Availability not confirmed recently", _stale),
    Constraint("no_capacity", "No open capacity", lambda need, candidate, facts: candidate.capacity <= 0),
    Constraint(
        "insurance",
        "Insurance not accepted, or fee above the budget",
        lambda need, candidate, facts: not _affordable(need, candidate),
    ),
    Constraint(
        "format",
        "None of the acceptable formats offered",
        lambda need, candidate, facts: not need.formats & candidate.formats,
    ),
    Constraint(
        "distance",
        "In person only, and no office within reach",
        lambda need, candidate, facts: _shares_in_person(need, candidate) and not facts.options,
    ),
    Constraint(
        "license",
        "Online only, and not licensed in the client's state",
        lambda need, candidate, facts: not facts.options,
    ),
    Constraint(
        "age_group",
        "Age group not served",
        lambda need, candidate, facts: bool(need.age_group) and need.age_group not in candidate.age_groups,
    ),
    Constraint(
        "language",
        "Required language not spoken",
        lambda need, candidate, facts: (
            need.language_required and bool(need.language) and need.language not in candidate.languages
        ),
    ),
)
EXCLUSION_REASONS = {constraint.key: constraint.label for constraint in HARD_CONSTRAINTS}


def exclusion_reason(
    need: Need, candidate: Candidate, *, now: datetime.datetime, policy: Policy, distance: float | None
) -> str | None:
    """The first hard constraint the candidate fails, or None when it qualifies."""
    facts = Facts(cutoff=policy.freshness_cutoff(now), options=delivery_options(need, candidate, distance))
    return first_failure(need, candidate, facts)


def first_failure(need: Need, candidate: Candidate, facts: Facts) -> str | None:
    for rule in HARD_CONSTRAINTS:
        if rule.fails(need, candidate, facts):
            return rule.key
    return None


def _affordable(need: Need, candidate: Candidate) -> bool:
    if need.insurance is not None:
        return need.insurance in candidate.insurers
    if need.max_fee is None or candidate.sliding_scale or candidate.fee_min is None:
        return True
    return candidate.fee_min <= need.max_fee


def _overlap(wanted: frozenset[str], offered: frozenset[str]) -> float:
    return len(wanted & offered) / len(wanted) if wanted else NEUTRAL


def nearness(need: Need, options: frozenset[str], distance: float | None) -> float:
    """Closer offices score higher; online counts as NEUTRAL, so a client open to both gets the better."""
    in_person = (
        max(0.0, 1.0 - distance / need.max_distance_miles) if "in_person" in options and distance is not None else 0.0
    )
    return max(in_person, NEUTRAL if "online" in options else 0.0)


def best_delivery(need: Need, options: frozenset[str], distance: float | None) -> str:
    if "online" in options and nearness(need, options - {"online"}, distance) < NEUTRAL:
        return "online"
    return "in_person"


def score_components(
    need: Need,
    candidate: Candidate,
    *,
    now: datetime.datetime,
    policy: Policy,
    options: frozenset[str],
    distance: float | None,
) -> dict[str, float]:
    """Each component in [0, 1]; NEUTRAL where the need or the history says nothing."""
    age_days = (now - candidate.availability_confirmed_at).total_seconds() / 86400
    recency = min(1.0, max(0.0, 1.0 - age_days / policy.freshness_days))
    openings = min(candidate.capacity, policy.full_capacity) / policy.full_capacity
    if need.language:
        language = 1.0 if need.language in candidate.languages else 0.0
    else:
        language = NEUTRAL
    share_in_time = candidate.responsiveness.share_in_time
    return {
        "focus": _overlap(need.focus_areas, candidate.focus_areas),
        "concern": _overlap(need.concerns, candidate.concerns),
        "distance": nearness(need, options, distance),
        "availability": (openings + recency) / 2,
        "language": language,
        "training": TRAINING_SCORES.get(candidate.training_level, 0.0),
        "responsiveness": NEUTRAL if share_in_time is None else share_in_time,
        "load": 1.0 - min(candidate.recent_offers, policy.busy_offer_count) / policy.busy_offer_count,
    }


def weighted_score(components: Mapping[str, float], weights: Weights) -> float:
    """The weighted mean of the components, on 0-100, to one decimal."""
    total = weights.total()
    if total == 0:
        return 0.0
    value = sum(getattr(weights, name) * components[name] for name in COMPONENTS) / total
    return round(100 * min(1.0, max(0.0, value)), 1)


# What an exact score may exceed its bound by: the score's rounding to a tenth, and float arithmetic.
BOUND_SLACK = 0.05 + 1e-4


@dataclass(frozen=True)
class ScoreBound:
    """An upper bound of the score (points, 0-100) as a sum an index can compute on each candidate's row.

    Derived from the same weights as `weighted_score` (`score_bound`): every
    component but `load` is counted exactly, from facts the index stores;
    `load` (offers received lately, not in the index) at its best, in `fixed`.
    `in_person` is earned at the office and falls linearly to 0 at
    `max_distance_miles`: a bound holds it with any lower bound of the miles
    (the index uses its chord times the Earth's radius, never more than the arc).
    """

    fixed: float  # what every candidate gets at most from what the index does not tell apart
    focus_areas: Mapping[str, float]  # per asked focus area the candidate lists
    concerns: Mapping[str, float]  # per asked concern the candidate treats
    languages: Mapping[str, float]  # if the candidate speaks it (the asked language)
    per_opening: float  # per opening, up to `full_capacity`
    full_capacity: int
    recency: float  # times what is left of the freshness window since availability was confirmed
    freshness_days: int
    training: Mapping[str, float]  # by training level
    responsiveness: float  # times the share answered in time, from `min_requests` requests
    min_requests: int
    unmeasured_share: float  # the share counted below `min_requests`
    in_person: float  # an office at the place; 0 at `max_distance_miles`
    online: float  # reached online
    max_distance_miles: float


def score_bound(need: Need, *, weights: Weights, policy: Policy) -> ScoreBound:
    """The bound of `weighted_score(score_components(...))` for this need, component by component.

    Each component's weight, in points of the 0-100 score, times what
    `score_components` computes from it: a share of the asked focus areas and
    concerns, the language, half openings and half recency, the training
    level, the share answered in time, the nearness; `load` at its best (1).
    """
    total = weights.total()
    points = {name: 100 * getattr(weights, name) / total if total else 0.0 for name in COMPONENTS}
    fixed = points["load"]

    def per_item(name: str, wanted: frozenset[str]) -> dict[str, float]:
        return {slug: points[name] / len(wanted) for slug in wanted}

    fixed += 0.0 if need.focus_areas else points["focus"] * NEUTRAL
    fixed += 0.0 if need.concerns else points["concern"] * NEUTRAL
    fixed += 0.0 if need.language else points["language"] * NEUTRAL
    return ScoreBound(
        fixed=fixed,
        focus_areas=per_item("focus", need.focus_areas),
        concerns=per_item("concern", need.concerns),
        languages={need.language: points["language"]} if need.language else {},
        per_opening=points["availability"] / 2 / policy.full_capacity,
        full_capacity=policy.full_capacity,
        recency=points["availability"] / 2,
        freshness_days=policy.freshness_days,
        training={level: points["training"] * value for level, value in TRAINING_SCORES.items()},
        responsiveness=points["responsiveness"],
        min_requests=MIN_REQUESTS,
        unmeasured_share=NEUTRAL,
        in_person=points["distance"],
        online=points["distance"] * NEUTRAL,
        max_distance_miles=need.max_distance_miles,
    )


def bound_points(
    bound: ScoreBound, candidate: Candidate, *, now: datetime.datetime, options: frozenset[str], miles: float | None
) -> float:
    """The bound of one candidate, as the index computes it: the reference for its SQL (and for tests).

    `miles` is any lower bound of the distance to the nearest office in reach.
    """
    age_days = (now - candidate.availability_confirmed_at).total_seconds() / 86400
    measure = candidate.responsiveness
    nearness = [bound.online] if "online" in options else []
    if "in_person" in options and miles is not None:
        nearness.append(bound.in_person * max(0.0, 1 - miles / bound.max_distance_miles))
    return (
        bound.fixed
        + sum(value for slug, value in bound.focus_areas.items() if slug in candidate.focus_areas)
        + sum(value for slug, value in bound.concerns.items() if slug in candidate.concerns)
        + sum(value for code, value in bound.languages.items() if code in candidate.languages)
        + bound.per_opening * min(candidate.capacity, bound.full_capacity)
        + bound.recency * min(1.0, max(0.0, 1 - age_days / bound.freshness_days))
        + bound.training.get(candidate.training_level, 0.0)
        + bound.responsiveness * (bound.unmeasured_share if measure.share_in_time is None else measure.share_in_time)
        + max(nearness, default=0.0)
    )


def could_reach(bound: float, score: float) -> bool:
    """Whether a candidate whose bound is `bound` could score `score` or more (and so tie, or beat, it)."""
    return bound + BOUND_SLACK >= score


def _names(slugs: Iterable[str], names: Mapping[str, str]) -> str:
    return ", ".join(names.get(slug, slug).lower() if index else names.get(slug, slug)
                     for index, slug in enumerate(sorted(slugs, key=lambda slug: names.get(slug, slug))))  # fmt: skip


def explain(
    need: Need, candidate: Candidate, *, now: datetime.datetime, delivery: str, distance: float | None, labels: Labels
) -> tuple[str, ...]:
    """Short human reasons, most decisive first."""
    reasons = []
    if need.insurance:
        reasons.append(f"Accepts {labels.insurers.get(need.insurance, need.insurance)}")
    elif candidate.sliding_scale:
        reasons.append("Sliding-scale fees")
    elif candidate.fee_min is not None:
        reasons.append(f"Self-pay from ${candidate.fee_min} a session")
    if delivery == "in_person" and distance is not None:
        reasons.append(f"{distance:.1f} mi away")
    else:
        reasons.append(f"Online: licensed in {need.state}")
    if focus := need.focus_areas & candidate.focus_areas:
        reasons.append(f"Focus: {_names(focus, labels.focus_areas)}")
    if concerns := need.concerns & candidate.concerns:
        reasons.append(f"Treats {_names(concerns, labels.concerns).lower()}")
    if need.language and need.language in candidate.languages and need.language != "en":
        reasons.append(f"Speaks {labels.languages.get(need.language, need.language)}")
    days = max(0, math.floor((now - candidate.availability_confirmed_at).total_seconds() / 86400))
    when = "today" if days == 0 else f"{days} day{'s' if days != 1 else ''} ago"
    openings = f"{candidate.capacity} opening{'s' if candidate.capacity != 1 else ''}"
    reasons.append(f"{openings}, availability confirmed {when}")
    if candidate.training_level in ("certified", "supervisor"):
        reasons.append("Certified in IPT" if candidate.training_level == "certified" else "IPT supervisor or trainer")
    if candidate.responsiveness.usually_in_time:
        reasons.append(headline(candidate.responsiveness))
    return tuple(reasons)


def unmet_wishes(need: Need, candidate: Candidate, *, options: frozenset[str], labels: Labels) -> tuple[str, ...]:
    """What a client asked for and this result does not give, in plain words, so nothing is ignored silently.

    Only soft wishes: a hard constraint's failure excludes the candidate instead.
    """
    unmet = []
    if lacks_language(need, candidate):
        unmet.append(f"Does not speak {labels.languages.get(need.language, need.language)}")
    fee_min = candidate.fee_min
    if need.insurance is None and need.max_fee is not None and fee_min is not None and fee_min > need.max_fee:
        unmet.append(f"Over your fee limit: from ${candidate.fee_min} a session, sliding scale available")
    if need.formats & IN_PERSON_FORMATS and "in_person" not in options:
        unmet.append(f"No office within {need.max_distance_miles:g} miles: online sessions only")
    if missing := need.focus_areas - candidate.focus_areas:
        unmet.append(f"Does not list as a focus: {_names(missing, labels.focus_areas).lower()}")
    if missing := need.concerns - candidate.concerns:
        unmet.append(f"Does not list treating: {_names(missing, labels.concerns).lower()}")
    return tuple(unmet)


def lacks_language(need: Need, candidate: Candidate) -> bool:
    """The one language rule: a language was asked for and the candidate does not list it."""
    return bool(need.language) and need.language not in candidate.languages


def unmet_by_offer(need: Need, candidate: Candidate, *, labels: Labels) -> tuple[str, ...]:
    """What a referral asks for that the therapist it was offered to does not give, in words addressed to them.

    The language, each format asked for that they do not offer, and the insurance
    when it is not a plan they take new clients with (profiles change after a match).
    """
    unmet = []
    if lacks_language(need, candidate):
        language = labels.languages.get(need.language, need.language)
        unmet.append(f"Asks for sessions in {language}, which your profile does not list")
    if missing := need.formats - candidate.formats:
        unmet.append(f"Asks for {_names(missing, labels.formats).lower()}, which you do not offer")
    if need.insurance is not None and need.insurance not in candidate.insurers:
        insurer = labels.insurers.get(need.insurance, need.insurance)
        unmet.append(f"Insured with {insurer}, which you do not take new clients with")
    return tuple(unmet)


def rank(
    need: Need,
    candidates: Iterable[Candidate],
    *,
    now: datetime.datetime,
    weights: Weights,
    policy: Policy | None = None,
    labels: Labels | None = None,
    limit: int | None = None,
) -> Ranking:
    """Exclude by hard constraints, score the rest, and order them best first: every candidate, exhaustively.

    Reasons are written only for the results returned (the first `limit`).
    """
    policy = policy or Policy()
    scoring = _Scoring(need, now=now, weights=weights, policy=policy)
    for candidate in candidates:
        scoring.add(candidate)
    return scoring.ranking(labels or Labels(), limit)


def rank_bounded(
    need: Need,
    bounded: Iterable[tuple[float, Candidate]],
    *,
    now: datetime.datetime,
    weights: Weights,
    policy: Policy | None = None,
    labels: Labels | None = None,
    limit: int,
) -> Ranking:
    """The first `limit` of `rank`, scoring only the candidates that could be among them.

    `bounded` gives each candidate with its bound (`bound_points` of
    `score_bound`), highest bound first. Once `limit` candidates are scored,
    one whose bound cannot reach the lowest score among the best `limit` can
    never enter them (nor tie them: a tie is settled by distance and id), and
    neither can any after it: the iteration stops there, so whoever supplies
    the candidates reads no more. Exclusions are counted among those read.
    """
    policy = policy or Policy()
    scoring = _Scoring(need, now=now, weights=weights, policy=policy)
    best: list[float] = []  # the best `limit` scores so far, lowest first (a heap)
    for bound, candidate in bounded:
        if len(best) >= limit and not could_reach(bound, best[0]):
            break
        score = scoring.add(candidate)
        if score is not None:
            (heapq.heappush if len(best) < limit else heapq.heappushpop)(best, score)
    return scoring.ranking(labels or Labels(), limit)


class _Scoring:
    """Candidates checked against the hard constraints and scored, one at a time; then ordered."""

    def __init__(self, need: Need, *, now: datetime.datetime, weights: Weights, policy: Policy) -> None:
        self.need, self.now, self.weights, self.policy = need, now, weights, policy
        self.cutoff = policy.freshness_cutoff(now)
        self.excluded: Counter[str] = Counter()
        self.scored: list[tuple] = []
        self.count = 0

    def add(self, candidate: Candidate) -> float | None:
        """Exclude or score one candidate: its score, or None when excluded."""
        need = self.need
        self.count += 1
        distance = nearest_office_miles(need, candidate)
        options = delivery_options(need, candidate, distance)
        reason = first_failure(need, candidate, Facts(cutoff=self.cutoff, options=options))
        if reason is not None:
            self.excluded[reason] += 1
            return None
        components = score_components(
            need, candidate, now=self.now, policy=self.policy, options=options, distance=distance
        )
        shown_distance = round(distance, 1) if "in_person" in options and distance is not None else None
        score = weighted_score(components, self.weights)
        sort_key = (-score, math.inf if shown_distance is None else shown_distance, candidate.id)
        delivery = best_delivery(need, options, distance)
        self.scored.append((sort_key, candidate, components, delivery, distance, shown_distance, options))
        return score

    def ranking(self, labels: Labels, limit: int | None) -> Ranking:
        """The scored candidates best first, the first `limit` with their reasons."""
        need, now = self.need, self.now
        self.scored.sort(key=lambda item: item[0])
        results = tuple(
            RankedCandidate(
                candidate=candidate,
                score=-sort_key[0],
                components={name: round(value, 3) for name, value in components.items()},
                reasons=explain(need, candidate, now=now, delivery=delivery, distance=distance, labels=labels),
                delivery=delivery,
                distance_miles=shown_distance,
                unmet=unmet_wishes(need, candidate, options=options, labels=labels),
            )
            for sort_key, candidate, components, delivery, distance, shown_distance, options in self.scored[:limit]
        )
        return Ranking(results=results, excluded=dict(self.excluded), scored=self.count)
