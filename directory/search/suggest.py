"""A search that found nobody, explained: what each parameter left out, a larger radius, online, the nearest match.

Asked for only when a search's count is 0, so that a search with results
costs what it did. Three queries at most, whatever the number of parameters
or of therapists:

- one pass over the entries the search starts from (the offices within the
  radius and the licences for online sessions near a place, else every
  profile) computes, for each entry, the bitmask of the conditions it fails.
  A variant of the search (without one parameter, or with online sessions
  added) needs some of those conditions: it finds a therapist when one of the
  therapist's entries fails none of them. Every variant is counted in that pass;
- the nearest office, anywhere, that passes every condition;
- the number found within the smallest larger radius that reaches it (the
  search's own query).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField, Case, Q, QuerySet, Value, When
from django.utils import timezone

from directory import geo
from directory.models import Office
from directory.search.models import SearchEntry, SquaredChord, text_conditions
from directory.search.query import Query, page, parameter_conditions, union_all

# The parameters a search can be relaxed by, as `Query` fields, in the order the page lists them.
REMOVABLE = (
    "text", "formats", "insurer_ids", "focus_area_ids", "concern_ids", "language_ids", "age_groups", "state",
    "accepting",
)  # fmt: skip
DEFAULTS = {field.name: field.default for field in dataclasses.fields(Query)}
# The conditions that skip an entry soonest first: the rarer vocabularies, then the common ones, the text last.
PRUNING_ORDER = (
    "language_ids", "concern_ids", "focus_area_ids", "insurer_ids", "age_groups", "state", "formats", "accepting",
    "text",
)  # fmt: skip
# The bit of a LICENCE entry that put the therapist in reach for online sessions (in the pass's `fails`).
ONLINE_LICENCE = 1


@dataclass(frozen=True)
class Nearest:
    """The office nearest the place among those passing every other condition, and where it is."""

    miles: float  # to a tenth, as a result's distance_miles (`query.miles_from_chord`)
    city: str
    state: str


@dataclass(frozen=True)
class Suggestions:
    # (Query field, therapists found without it), one per parameter applied, most found first.
    removals: list[tuple[str, int]]
    # (miles, therapists found): the smallest of the radius steps that reaches the nearest match.
    larger_radius: tuple[int, int] | None
    # Therapists found with online sessions added to the formats, in the state of the place (or of `state`);
    # None when online sessions are asked for already or no state is known.
    online: int | None
    online_state: str
    nearest: Nearest | None


def suggest(query: Query, *, radius_steps: Sequence[int], now: datetime.datetime | None = None) -> Suggestions:
    """What would find someone, for a search that found nobody: at most three queries.

    Each count is the count of a search of its own (the same search without
    that parameter, at that radius, with online sessions), not an estimate.
    """
    now = now or timezone.now()
    removals = [field for field in REMOVABLE if _is_applied(query, field)]
    variants = [without(query, field) for field in removals]
    online_state = query.place.state if query.place else query.state
    online = with_online(query) if online_state and "online" not in query.formats else None
    counts = variant_counts(query, [*variants, *([online] if online else [])], now=now)
    found = sorted(zip(removals, counts[: len(removals)], strict=True), key=lambda removal: -removal[1])
    nearest, radius = (None, None) if query.place is None else _nearest(query, query.place, radius_steps, now=now)
    return Suggestions(
        removals=found,
        larger_radius=radius,
        online=counts[-1] if online else None,
        online_state=online_state if online else "",
        nearest=nearest,
    )


def without(query: Query, field: str) -> Query:
    """The same search without one parameter (accepting: "any")."""
    return dataclasses.replace(query, **{field: DEFAULTS[field]})


def with_online(query: Query) -> Query:
    """The same search with online sessions among the formats asked for."""
    return dataclasses.replace(query, formats=(*query.formats, "online"))


def _is_applied(query: Query, field: str) -> bool:
    return query.has_text if field == "text" else getattr(query, field) != DEFAULTS[field]


def variant_counts(query: Query, variants: Sequence[Query], *, now: datetime.datetime) -> list[int]:
    """How many therapists each variant of `query` finds: one query, however many variants and conditions.

    The variants keep the query's place and radius. The entries are those any
    variant starts from; each gets the bitmask of the distinct conditions it
    fails (`fails`), and a variant finds a therapist when one of the
    therapist's entries fails none of the variant's conditions.
    """
    if not variants:
        return []
    # The text tested through the matching profiles' ids even on profile entries: the entries' own text (and, on
    # PostgreSQL, its words) is in no index, and reading it made the database read every profile's row.
    text = text_conditions(query.text, profiles=False, vendor=connection.vendor) if query.has_text else None
    bits: dict[Q, int] = {}
    fields: dict[Q, str] = {}
    needs = []
    for variant in variants:
        need = 0
        for field, condition in parameter_conditions(variant, profiles=False, state_entries=False, now=now, text=text):
            need |= bits.setdefault(condition, 1 << (len(bits) + 1))  # bit 0 is ONLINE_LICENCE
            fields[condition] = field
        if query.place is not None and "online" not in variant.formats:
            need |= ONLINE_LICENCE
        needs.append(need)
    parts = _entries_in_reach(query, online=any("online" in variant.formats for variant in variants))
    necessary = _necessary(sorted(bits.items(), key=lambda item: PRUNING_ORDER.index(fields[item[0]])), needs)
    if necessary is not None:
        parts = [part.filter(necessary) for part in parts]
    fails = sum((Case(When(condition, then=Value(0)), default=Value(bit)) for condition, bit in bits.items()), Value(0))
    # The licences for online sessions, when read, come second (`_entries_in_reach`).
    parts = [part.annotate(fails=fails + ONLINE_LICENCE if index else fails) for index, part in enumerate(parts)]
    union, params = union_all(parts, ["therapist_id", "fails"])
    if query.place is not None:
        # A therapist's entries carry the same masks (`index.build_entries`), so they fail the same conditions
        # and differ at most by the online-licence bit: the smallest is the therapist's.
        therapists = f"SELECT MIN(fails) AS fails FROM ({union}) AS entries GROUP BY therapist_id"
    else:
        # One profile per therapist. The fence keeps the database from copying `fails` into the outer
        # query's test and grouping, which computed each entry's conditions three times.
        therapists = union + (" LIMIT -1" if connection.vendor == "sqlite" else " OFFSET 0")
    # Therapists counted by the conditions they fail, among those that some variant finds: each entry's
    # conditions are tested once whatever the number of variants, and few patterns are left to group.
    counted = " OR ".join(f"(fails & {int(need)}) = 0" for need in needs)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT fails, COUNT(*) FROM ({therapists}) AS therapists WHERE {counted} GROUP BY fails", params
        )
        patterns = cursor.fetchall()
    return [sum(count for pattern, count in patterns if not pattern & need) for need in needs]


def _necessary(conditions: list[tuple[Q, int]], needs: list[int]) -> Q | None:
    """A condition that every entry some variant finds passes, to skip the others before testing them all.

    One of `conditions` that every variant needs, else the first two of
    which every variant needs one (without one parameter, a variant needs all the others).
    """
    for first, (condition, bit) in enumerate(conditions):
        if all(need & bit for need in needs):
            return condition
        for other, other_bit in conditions[first + 1 :]:
            if all(need & (bit | other_bit) for need in needs):
                return condition | other
    return None


def _entries_in_reach(query: Query, *, online: bool) -> list[QuerySet]:
    """What the variants start from: every profile without a place; else the offices within the radius,
    then, with `online`, the licences of the place's state for online sessions (see `query._starting_entries`)."""
    if query.place is None:
        return [SearchEntry.objects.profiles()]
    parts = [SearchEntry.objects.near(query.place, query.radius_miles)]
    if online:
        parts.append(SearchEntry.objects.online_in(query.place.state))
    return parts


def _nearest(
    query: Query, place: geo.Place, radius_steps: Sequence[int], *, now: datetime.datetime
) -> tuple[Nearest | None, tuple[int, int] | None]:
    """The nearest office passing every condition of `query`, at any distance, and the smallest larger step of
    `radius_steps` reaching it with the number it finds there: two queries.

    The nearest reads every office entry that passes the conditions (no
    index narrows a distance without a bound), in one query joined to its
    office for the place's name.
    """
    entries = SearchEntry.objects.filter(kind=SearchEntry.Kind.OFFICE)
    conditions = parameter_conditions(query, profiles=False, state_entries=False, now=now)
    # Tested in the order written (SQLite): the bitmasks first, so that the text's matches are read only if needed.
    for field, condition in sorted(conditions, key=lambda named: PRUNING_ORDER.index(named[0])):
        if field == "text":
            # Tested entry by entry against the matches, read once (PostgreSQL: a hashed subplan), not joined:
            # misjudging how many profiles a word matches, the planner looked up each match's entries in turn.
            condition = Case(When(condition, then=Value(True)), default=Value(False), output_field=BooleanField())
        entries = entries.filter(condition)
    closest = (
        entries.annotate(squared_distance=SquaredChord(geo.unit_vector(place.latitude, place.longitude)))
        .order_by("squared_distance", "therapist_id")
        .values("therapist_id", "latitude", "longitude", "squared_distance")[:1]
    )
    inner, params = closest.query.sql_with_params()
    sql = (
        f"SELECT nearest.squared_distance, office.city, office.state FROM ({inner}) AS nearest "
        f"LEFT JOIN {Office._meta.db_table} AS office ON office.therapist_id = nearest.therapist_id "
        "AND office.latitude = nearest.latitude AND office.longitude = nearest.longitude "
        "ORDER BY office.id LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None, None
    squared, city, state = row
    nearest = Nearest(miles=round(geo.chord_miles(squared), 1), city=city or "", state=state or "")
    step = next(
        (step for step in sorted(radius_steps) if step > query.radius_miles and geo.squared_chord(step) >= squared),
        None,
    )
    if step is None:
        return nearest, None
    count = page(dataclasses.replace(query, radius_miles=float(step)), size=1).count
    return nearest, ((step, count) if count else None)
