"""Matching's read of the index: the therapists in reach of a client, and the conditions that exclude them.

Matching declares its hard constraints (`matching.ranking.HARD_CONSTRAINTS`)
and maps each to a condition of `conditions`, in the same order; here each
entry in reach gets the position of the first condition it fails, a therapist
the best of its entries' (an office may be out of reach where a licence is
not), and the therapists that fail none are read as candidates.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from django.db import connection, models
from django.db.models import Case, F, Q, QuerySet, Value, When

import geometry
from directory import geo
from directory.models import Concern, FocusArea, Insurer, Language
from directory.search.conditions import Condition
from directory.search.models import (
    AGE_GROUP_BITS,
    FORMAT_BITS,
    NEVER_CONFIRMED,
    REPLY_FIGURES,
    STATE_BITS,
    SearchEntry,
    has_any,
)
from directory.search.query import union_all
from directory.vocabularies import reference_rows


class CandidateRow(NamedTuple):
    """A therapist in reach, as the index has it: the vocabularies decoded to slugs (codes for languages).

    A named tuple: a match reads hundreds, and a frozen dataclass costs several times as much to build.
    """

    therapist_id: int
    name: str
    accepts_new_clients: bool
    availability_confirmed_at: datetime.datetime | None
    capacity: int
    formats: frozenset[str]
    age_groups: frozenset[str]
    open_insurers: frozenset[str]
    focus_areas: frozenset[str]
    concerns: frozenset[str]
    languages: frozenset[str]
    licensed_states: frozenset[str]
    fee_min: int | None
    sliding_scale: bool
    training_level: str
    offices: tuple[tuple[float, float], ...]  # those in reach, as (latitude, longitude)
    # How the therapist answers requests: requests, answered, answered in time, median reply hours,
    # never heard back (the fields of `matching.responsiveness.Measure`, in its order); all None in an
    # entry built before the index held them.
    replies: tuple[int | None, int | None, int | None, float | None, int | None] = (0, 0, 0, None, 0)


@dataclass(frozen=True)
class InReach:
    candidates: list[CandidateRow]  # failing no condition
    excluded: dict[str, int]  # by the key of the first condition failed


def candidates_in_reach(
    place: geo.Place, miles: float, *, online: bool, failures: Sequence[tuple[str, Condition]]
) -> InReach:
    """The therapists with an office within `miles` of `place` (or, with `online`, licensed in its state
    and offering online sessions), each excluded under the first of `failures` it fails, or read as a candidate.

    Three queries: the exclusions counted, the candidates' entries read.
    """
    parts = _entries_in_reach(place, miles, online=online, failures=failures)
    keys = [key for key, _ in failures]
    excluded = _exclusion_counts(parts, keys)
    eligible = len(keys)
    return InReach(candidates=_candidate_rows([part.filter(code=eligible) for part in parts]), excluded=excluded)


class ScoreTerms(Protocol):
    """An upper bound of matching's score as a sum of terms on an entry's columns (`matching.ranking.ScoreBound`).

    Points: `fixed`; each of `focus_areas`, `concerns` (by slug) and
    `languages` (by code) the entry lists; `per_opening` per unit of capacity up
    to `full_capacity`; `recency` times what is left of `freshness_days` since
    availability was confirmed; `training` by level; `responsiveness` times the
    share of requests answered in time from `min_requests` requests
    (`unmeasured_share` below); and the best of `online` (a licence entry)
    and `in_person`, falling linearly from an office at the place to 0 at
    `max_distance_miles`.
    """

    fixed: float
    focus_areas: Mapping[str, float]
    concerns: Mapping[str, float]
    languages: Mapping[str, float]
    per_opening: float
    full_capacity: int
    recency: float
    freshness_days: int
    training: Mapping[str, float]
    responsiveness: float
    min_requests: int
    unmeasured_share: float
    in_person: float
    online: float
    max_distance_miles: float


@dataclass(frozen=True)
class BoundedReach:
    """The therapists in reach: exclusions counted, candidates to read best bound first, a batch at a time."""

    excluded: dict[str, int]  # by the key of the first condition failed
    # Batches of (bound, candidate), highest bound first, then by id; each read by its own queries, when asked for.
    batches: Iterator[list[tuple[float, CandidateRow]]]


def candidates_by_bound(
    place: geo.Place,
    miles: float,
    *,
    online: bool,
    failures: Sequence[tuple[str, Condition]],
    terms: ScoreTerms,
    now: datetime.datetime,
    first_batch: int,
) -> BoundedReach:
    """`candidates_in_reach`, with the candidates read in order of `terms` (a therapist's best entry), highest first.

    One query reads the entries in reach once (`_by_code`), counts the
    exclusions and ranks the first `first_batch` candidates by bound; each
    later batch, twice as large as the one before, is one more query, run
    only when asked for. Each batch's rows are one query per kind of entry.
    """
    parts = _entries_in_reach(place, miles, online=online, failures=failures)
    eligible = len(failures)
    by_code, params = _by_code(parts, place.state, online=online, eligible=eligible, terms=terms, now=now)
    candidates = f"SELECT therapist_id, bound FROM by_code WHERE code = {eligible}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH by_code AS ({by_code}) "
            f"SELECT code, SUM(CASE WHEN therapist_id IS NULL THEN entries ELSE 1 END), NULL FROM by_code "
            f"WHERE code < {eligible} GROUP BY code "
            f"UNION ALL SELECT {eligible}, therapist_id, bound FROM "
            f"({candidates} ORDER BY bound DESC, therapist_id LIMIT %s) AS first_batch",
            [*params, first_batch],
        )
        rows = cursor.fetchall()
    keys = [key for key, _ in failures]
    excluded = {keys[code]: int(count) for code, count, _ in rows if code < eligible}
    first = sorted(((int(therapist_id), bound) for code, therapist_id, bound in rows if code == eligible),
                   key=_bound_order)  # fmt: skip
    batches = _batches(
        [part.filter(code=eligible) for part in parts], f"WITH by_code AS ({by_code}) {candidates}", params,
        first, first_batch,
    )  # fmt: skip
    return BoundedReach(excluded=excluded, batches=batches)


def _by_code(
    parts: list[QuerySet], state: str, *, online: bool, eligible: int, terms: ScoreTerms, now: datetime.datetime
) -> tuple[str, list]:
    """The therapists in reach by the code of the first failure, the candidates each with its bound: SQL and params.

    Rows of (`code`, `therapist_id`, `bound`, `entries`). A therapist's code
    is the best of its entries' (`_exclusion_counts`), and only the conditions
    of delivery differ between them: one reached online fails none of those on
    its licence entry, so that entry alone (one per state) gives its code, and
    those excluded are counted in one row per code (`therapist_id` null,
    `entries` of them). Only the others' offices are grouped by therapist (a
    row each), and every candidate's entries (its bound the best of them):
    around Brooklyn at a million, 22,000 groups instead of 90,000, and a match
    in 0.55 to 0.75 of the time it took grouping every entry by therapist.
    """
    passes = Q(code=eligible)
    offices = parts[0]
    if online and (reached_online := reached_online_in(state)) is not None:
        offices = offices.filter(~reached_online | passes)
    ids = [F("therapist_id")] + [Case(When(passes, then=F("therapist_id")))] * (len(parts) - 1)
    scored = [
        part.annotate(
            counted_as=counted_as, points=Case(When(passes, then=EntryPoints(terms, now=now, nearness=index == 0)))
        )
        for index, (part, counted_as) in enumerate(zip([offices, *parts[1:]], ids, strict=True))
    ]
    union, params = union_all(scored, ["code", "counted_as", "points"])
    return (
        f"SELECT code, counted_as AS therapist_id, MAX(points) AS bound, COUNT(*) AS entries "
        f"FROM ({union}) AS entries GROUP BY code, counted_as",
        params,
    )


def reached_online_in(state: str) -> Q | None:
    """An entry's therapist is reached online in `state` (has its LICENCE entry there offering online sessions),
    from the entry's own masks; None for a state the masks do not hold (no licence entry is there)."""
    if state not in STATE_BITS:
        return None
    return has_any("states", [STATE_BITS[state]]) & has_any("formats", [FORMAT_BITS["online"]])


def _bound_order(ranked: tuple[int, float]) -> tuple[float, int]:
    therapist_id, bound = ranked
    return -bound, therapist_id


def _batches(
    eligible: list[QuerySet], candidates: str, params: list, ranked: list[tuple[int, float]], size: int
) -> Iterator[list[tuple[float, CandidateRow]]]:
    """The candidates' rows, batch after batch: `ranked` first, then each next batch by bound when asked for."""
    while ranked:
        ids = [therapist_id for therapist_id, _ in ranked]
        rows = {
            row.therapist_id: row for row in _candidate_rows(part.filter(therapist_id__in_ids=ids) for part in eligible)
        }
        yield [(bound, rows[therapist_id]) for therapist_id, bound in ranked if therapist_id in rows]
        if len(ranked) < size:
            return
        # After the last one read (keyset): the order holds even if the entries change between batches.
        last_id, last_bound = ranked[-1]
        size *= 2
        with connection.cursor() as cursor:
            cursor.execute(
                f"{candidates} AND (bound < %s OR (bound = %s AND therapist_id > %s)) "
                f"ORDER BY bound DESC, therapist_id LIMIT %s",
                [*params, last_bound, last_bound, last_id, size],
            )
            ranked = [(int(therapist_id), bound) for therapist_id, bound in cursor.fetchall()]


class EntryPoints(models.Expression):
    """`ScoreTerms` summed on an entry, in plain SQL arithmetic: one node for the ORM to build and compile.

    `nearness` says the entries are offices near the place (`SearchEntry.near`),
    whose squared chord gives the miles' lower bound (the chord times the
    Earth's radius is never more than the arc); otherwise licence entries, reached online.
    """

    output_field = models.FloatField()
    COLUMNS = ("focus_areas", "concerns", "languages", "capacity", "accepting_since", "training_level",
               "reply_requests", "reply_answered_in_time")  # fmt: skip

    def __init__(self, terms: ScoreTerms, *, now: datetime.datetime, nearness: bool) -> None:
        super().__init__()
        self.terms, self.now, self.nearness = terms, now, nearness
        self.operands = [F(column) for column in self.COLUMNS] + ([F("squared_distance")] if nearness else [])

    def get_source_expressions(self) -> list:
        return self.operands

    def set_source_expressions(self, expressions: list) -> None:
        self.operands = list(expressions)

    def as_sql(self, compiler: object, connection: object, **extra: object) -> tuple[str, list]:
        compiled = [compiler.compile(operand) for operand in self.operands]
        column = dict(zip(self.COLUMNS, (sql for sql, _ in compiled), strict=False))
        terms = self.terms
        number = "CAST(%s AS DOUBLE PRECISION)"  # a float literal is NUMERIC to PostgreSQL: far slower arithmetic
        sql, params = [number], [terms.fixed]
        vocabularies = {
            "focus_areas": (FocusArea, "slug"),
            "concerns": (Concern, "slug"),
            "languages": (Language, "code"),
        }
        for name, (model, key) in vocabularies.items():
            rows = reference_rows(model, key)
            for slug, points in getattr(terms, name).items():
                if slug in rows:  # one the index does not know no entry lists
                    sql.append(f"(({column[name]} >> {int(rows[slug].pk)}) & 1) * {number}")
                    params.append(points)
        capacity, full = column["capacity"], int(terms.full_capacity)
        sql.append(f"(CASE WHEN {capacity} < {full} THEN {capacity} ELSE {full} END) * {number}")
        params.append(terms.per_opening)
        sql.append(f"{self._recency(column['accepting_since'], terms.freshness_days, connection)} * {number}")
        params.append(terms.recency)
        levels = " ".join(f"WHEN %s THEN {number}" for _ in terms.training)
        sql.append(f"(CASE {column['training_level']} {levels} ELSE 0.0 END)" if terms.training else "0.0")
        params += [value for level, points in terms.training.items() for value in (level, points)]
        requests, in_time = column["reply_requests"], column["reply_answered_in_time"]
        sql.append(
            f"(CASE WHEN {requests} >= %s THEN CAST({in_time} AS DOUBLE PRECISION) / {requests} ELSE {number} END)"
            f" * {number}"
        )
        params += [terms.min_requests, terms.unmeasured_share, terms.responsiveness]
        if self.nearness:
            distance, distance_params = compiled[-1]
            sql.append(f"{number} * (1.0 - {number} * SQRT({distance}))")
            params += [terms.in_person, geometry.EARTH_RADIUS_MILES / terms.max_distance_miles, *distance_params]
        else:
            sql.append(number)
            params.append(terms.online)
        return f"({' + '.join(sql)})", params

    def _recency(self, column: str, days: int, connection: object) -> str:
        """What is left of `days` since the entry's confirmation, clamped to [0, 1], as SQL (`now` inlined as a number).

        Each database has its own date arithmetic: seconds since the epoch on PostgreSQL, Julian days on SQLite.
        """
        if connection.vendor == "postgresql":
            left = f"1.0 - ({self.now.timestamp()!r} - EXTRACT(EPOCH FROM {column})::float8) / {float(days * 86400)!r}"
            return f"GREATEST(0.0, LEAST(1.0, {left}))"
        julian_now = self.now.timestamp() / 86400 + JULIAN_DAY_OF_EPOCH
        left = f"1.0 - ({julian_now!r} - julianday({column})) / {float(days)!r}"
        return f"MAX(0.0, MIN(1.0, {left}))"


JULIAN_DAY_OF_EPOCH = 2440587.5  # 1970-01-01T00:00:00Z as a Julian day (SQLite's `julianday`)


def _entries_in_reach(
    place: geo.Place, miles: float, *, online: bool, failures: Sequence[tuple[str, Condition]]
) -> list[QuerySet]:
    """Offices within the distance and, for online sessions, licences in the client's state, each with `code`.

    Two querysets, each answered from its covering index (an OR of the two
    makes SQLite read every row). `code` is the position of the first failure,
    or the number of failures when the entry fails none.
    """
    parts = [SearchEntry.objects.near(place, miles)]
    if online:
        parts.append(SearchEntry.objects.licensed_here(place.state).offering_formats(["online"]))
    code = Case(
        *[When(condition, then=Value(position)) for position, (_, condition) in enumerate(failures)],
        default=Value(len(failures)),
    )
    return [part.annotate(code=code) for part in parts]


def _exclusion_counts(parts: list[QuerySet], keys: list[str]) -> dict[str, int]:
    """How many therapists in reach each failure excludes, each under its therapist's best code: one query."""
    union, params = union_all(parts, ["therapist_id", "code"])
    per_therapist = f"SELECT MAX(code) AS best FROM ({union}) AS entries GROUP BY therapist_id"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT best, COUNT(*) FROM ({per_therapist}) AS therapists GROUP BY best", params)
        return {keys[code]: count for code, count in cursor.fetchall() if code < len(keys)}


CANDIDATE_COLUMNS = [
    "therapist_id", "kind", "latitude", "longitude", "first_name", "last_name", "accepting_since", "capacity",
    "formats", "age_groups", "open_insurers", "focus_areas", "concerns", "languages", "states", "fee_min",
    "sliding_scale", "training_level", *REPLY_FIGURES,
]  # fmt: skip


def _candidate_rows(parts: Iterable[QuerySet]) -> list[CandidateRow]:
    """The candidates of these entries, from the entries alone: a query per part.

    A candidate's offices are its OFFICE entries among them: those in reach, where its nearest office is.
    """
    rows = [row for part in parts for row in part.values_list(*CANDIDATE_COLUMNS)]
    offices: dict[int, list[tuple[float, float]]] = defaultdict(list)
    first_rows: dict[int, tuple] = {}
    for row in rows:
        first_rows.setdefault(row[0], row)
        if row[1] == SearchEntry.Kind.OFFICE:
            offices[row[0]].append((row[2], row[3]))
    decode = mask_decoder()
    return [
        CandidateRow(
            therapist_id=therapist_id,
            name=f"{row[4]} {row[5]}",
            accepts_new_clients=row[6] is not None,
            availability_confirmed_at=None if row[6] == NEVER_CONFIRMED else row[6],
            capacity=row[7],
            formats=decode("formats", row[8]),
            age_groups=decode("age_groups", row[9]),
            open_insurers=decode("insurers", row[10]),
            focus_areas=decode("focus_areas", row[11]),
            concerns=decode("concerns", row[12]),
            languages=decode("languages", row[13]),
            licensed_states=decode("states", row[14]),
            fee_min=row[15],
            sliding_scale=row[16],
            training_level=row[17],
            offices=tuple(offices[therapist_id]),
            replies=row[18:23],
        )
        for therapist_id, row in first_rows.items()
    ]


class MaskDecoder:
    """Masks back to slugs (codes for languages and states), each distinct mask decoded once."""

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
