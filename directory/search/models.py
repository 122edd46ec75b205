"""The search index's tables: `SearchEntry`, its bitmask vocabulary, and the SQL it needs.

Internal to the search package: code outside it goes through `directory.search`.
"""

from __future__ import annotations

import datetime
import functools
import json
import math
from collections.abc import Iterable

from django.db import connections, models
from django.db.models import F, Lookup, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.db.models.lookups import Contains
from django.db.models.sql.where import WhereNode

from directory import geo
from directory.models import AGE_GROUPS, FORMATS, MAX_VOCABULARY_ID, freshness_cutoff

# `accepting_since` of a therapist who accepts new clients but never confirmed it: older than any freshness cutoff.
NEVER_CONFIRMED = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)

STATE_BITS = {code: index for index, code in enumerate(sorted(geo.US_STATES))}
FORMAT_BITS = {slug: index for index, slug in enumerate(FORMATS)}
AGE_GROUP_BITS = {slug: index for index, slug in enumerate(AGE_GROUPS)}


def mask(bits: Iterable[int]) -> int:
    """The bitmask with these bit positions set."""
    value = 0
    for bit in bits:
        if not 0 <= bit <= MAX_VOCABULARY_ID:
            raise ValueError(f"bit {bit} does not fit the search index's 63-bit masks")
        value |= 1 << bit
    return value


@models.IntegerField.register_lookup
class HasAnyBit(Lookup):
    """`<mask column>__has_any_bit=<mask>`: the two share at least one set bit.

    A lookup rather than an expression tree (`F(column).bitand(m) > 0`): the
    ORM builds and compiles it in about half the time, and a search applies several.
    """

    lookup_name = "has_any_bit"

    def as_sql(self, compiler: object, connection: object) -> tuple[str, list]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"({lhs} & {rhs}) > 0", [*lhs_params, *rhs_params]


@models.IntegerField.register_lookup
@models.ForeignKey.register_lookup
class InIds(Lookup):
    """`<column>__in_ids=[...]`: `IN`, with the ids bound as one parameter (a PostgreSQL array, JSON on SQLite).

    The `in` lookup prepares and binds each value on its own, which for the
    hundreds of ids of a match costs more than the query.
    """

    lookup_name = "in_ids"
    prepare_rhs = False

    def as_sql(self, compiler: object, connection: object) -> tuple[str, list]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        ids = [int(value) for value in self.rhs]
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, ids]
        return f"{lhs} IN (SELECT value FROM json_each(%s))", [*lhs_params, json.dumps(ids)]


class WordContains(Contains):
    """`SearchEntry.text__word_contains=<word>`: `contains`, answered on PostgreSQL by the word index (0009).

    The word holds no whitespace, so it is in the text exactly when it is in
    one of the text's whitespace-delimited words: the entry's `words` overlap
    the ids of the vocabulary's words that contain it (pg_trgm finds those).
    Only PROFILE entries carry words (the others have no text). Elsewhere, plain `contains`.
    """

    lookup_name = "word_contains"

    def get_rhs_op(self, connection: object, rhs: str) -> str:
        return connection.operators["contains"] % rhs

    def as_postgresql(self, compiler: object, connection: object) -> tuple[str, list]:
        # The lhs is the text column itself (the lookup is registered on that field only): its table's words.
        words_column = f"{compiler.quote_name_unless_alias(self.lhs.alias)}.{connection.ops.quote_name(WORDS_COLUMN)}"
        pattern, pattern_params = self.process_rhs(compiler, connection)
        return words_overlap(words_column, pattern), pattern_params


def words_overlap(words_column: str, pattern: str) -> str:
    """PostgreSQL: the word ids in `words_column` include one of a vocabulary word that is `LIKE` the pattern."""
    return f"{words_column} && ARRAY(SELECT id FROM {WORD_TABLE} WHERE word LIKE {pattern})"


WORD_TABLE = "directory_searchword"  # PostgreSQL only, with WORDS_COLUMN: see migration 0009
PROFILE_WORDS_TABLE = "directory_profilewords"  # PostgreSQL only: the profiles' words to count, migration 0011
WORDS_COLUMN = "words"


def has_any(column: str, bits: Iterable[int]) -> Q:
    """The condition "this mask column has at least one of these bits"."""
    return Q(**{f"{column}__has_any_bit": mask(bits)})


class SquaredChord(models.Func):
    """The squared chord from a point to an entry's office, on the unit sphere (see `geo.unit_vector`).

    `(x - x₀)² + (y - y₀)² + (z - z₀)²` over the entry's stored unit vector:
    plain arithmetic, no trigonometry in SQL, and it grows with the
    great-circle distance, so it filters (against `geo.squared_chord(miles)`)
    and sorts exactly. One node for the ORM to build and compile.
    """

    output_field = models.FloatField()

    def __init__(self, origin: tuple[float, float, float]) -> None:
        """`origin`: the point on the unit sphere (`geo.unit_vector`)."""
        super().__init__(F("unit_x"), F("unit_y"), F("unit_z"))
        self.origin = origin

    def as_sql(self, compiler: object, connection: object, **extra: object) -> tuple[str, list]:
        columns = [compiler.compile(column)[0] for column in self.get_source_expressions()]
        sql = " + ".join(f"({column} - %s) * ({column} - %s)" for column in columns)
        return f"({sql})", [value for value in self.origin for _ in range(2)]


class WithinDistance(models.Expression):
    """Entries of one kind within a squared distance of a point, looked up by its bounding box: one condition.

    The same as filtering `kind`, `longitude_band__in`, `latitude__range`,
    `longitude__range` and the distance one by one, in the order of the
    coordinates index; built as one node, the ORM resolves and compiles it in
    a fraction of the time, and every search near a place applies it.
    """

    output_field = models.BooleanField()
    conditional = True

    def __init__(
        self, kind: int, box: geo.BoundingBox, distance: SquaredChord, limit: float, *, bands: list[int]
    ) -> None:
        super().__init__()
        self.kind, self.box, self.limit, self.bands = int(kind), box, limit, bands
        self.operands = [F("kind"), F("longitude_band"), F("latitude"), F("longitude"), distance]

    def get_source_expressions(self) -> list:
        return self.operands

    def set_source_expressions(self, expressions: list) -> None:
        self.operands = list(expressions)

    def as_sql(self, compiler: object, connection: object, **extra: object) -> tuple[str, list]:
        (kind, _), (band, _), (latitude, _), (longitude, _), (distance, distance_params) = (
            compiler.compile(operand) for operand in self.operands
        )
        box, bands = self.box, self.bands
        sql = (
            f"{kind} = %s AND {band} IN ({', '.join(['%s'] * len(bands))}) AND {latitude} BETWEEN %s AND %s "
            f"AND {longitude} BETWEEN %s AND %s AND {distance} <= %s"
        )
        params = [self.kind, *bands, box.min_latitude, box.max_latitude, box.min_longitude, box.max_longitude]
        return sql, [*params, *distance_params, self.limit]


# What a search filters and sorts on, copied into each index so that it answers alone;
# matching's hard constraints also read capacity and fees near a place or in a state.
COVERED = ["formats", "age_groups", "insurers", "open_insurers", "focus_areas", "concerns", "languages", "states",
           "accepting_since", "last_name", "first_name"]  # fmt: skip
REPLY_FIGURES = ["reply_requests", "reply_answered", "reply_answered_in_time", "reply_median_hours",
                 "reply_never_heard_back"]  # fmt: skip
COVERED_FOR_MATCHING = [*COVERED, "capacity", "fee_min", "sliding_scale", "training_level", *REPLY_FIGURES]
BY_STATE_COVERED = [*(name for name in COVERED_FOR_MATCHING if name not in ("last_name", "first_name")),
                    "latitude", "longitude"]  # fmt: skip


class StripByStrip:
    """Offices within `miles` of a place, a query per strip of longitude, the place's own first (`near_by_band`).

    The strips' queries differ in their strip, and the same offices within
    another radius (`within`) or of another place in their box, distance and
    place: `entries` are compiled once with placeholders for these, and the
    SQL repeated with each strip's values. The compiled SQL is kept for the
    conditions of `entries` (`templates_for`), so that a search repeating
    another's conditions near any place reuses it. Compiling the offices
    cost more than reading them.
    """

    def __init__(
        self, entries: SearchEntryQuerySet, place: geo.Place, miles: float, *, templates: dict | None = None
    ) -> None:
        self.entries, self.place, self.miles = entries, place, miles
        self.box = geo.bounding_box(place.latitude, place.longitude, miles)
        self.bands = geo.nearest_bands_first(self.box.longitude_bands, place.longitude)
        # By the columns selected: the SQL, its parameters, and each placeholder's position among them.
        self._templates = templates_for(entries) if templates is None else templates

    def within(self, miles: float) -> StripByStrip:
        """The same offices within `miles` of the place, read from the same compiled query."""
        return StripByStrip(self.entries, self.place, miles, templates=self._templates)

    def compiled(self, columns: list[str]) -> list[tuple[str, list]]:
        """These columns of each strip's offices, strip by strip: each a SELECT and its parameters."""
        key = tuple(columns)
        if key not in self._templates:
            box = geo.BoundingBox(SOUTH, NORTH, WEST, EAST)
            strip = self.entries.within_distance(ORIGIN, box, REACH, bands=[STRIP])
            sql, params = strip.values(*columns).query.sql_with_params()
            slots = [(at, param) for at, param in enumerate(params) if isinstance(param, Placeholder)]
            self._templates[key] = sql, params, slots
        sql, params, slots = self._templates[key]
        box = self.box
        origin = geo.unit_vector(self.place.latitude, self.place.longitude)
        values = {WEST: box.min_longitude, EAST: box.max_longitude, REACH: geo.squared_chord(self.miles),
                  **dict(zip(ORIGIN, origin, strict=True))}  # fmt: skip
        return [
            (sql, _filled(params, slots, values | {STRIP: band, SOUTH: south, NORTH: north}))
            for band, south, north in self.ranges()
        ]

    def ranges(self) -> list[tuple[int, float, float]]:
        """The ranges of the coordinates index read, in order: each a strip and its southern and northern latitude.

        The place's own strip is read from the place's latitude north, then
        south of it (the largest latitude below the place's, so no office is
        read twice): up to a limit, the offices read are those nearest the
        place in it, rather than those nearest the box's southern edge.
        """
        box, latitude = self.box, self.place.latitude
        own, *others = self.bands
        return [
            (own, latitude, box.max_latitude),
            (own, box.min_latitude, math.nextafter(latitude, -math.inf)),
            *((band, box.min_latitude, box.max_latitude) for band in others),
        ]


class Placeholder:
    """A parameter of a compiled query, given its value as the query's SQL is repeated (`StripByStrip`)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


# The strip of longitude, the box's edges and the squared chord of the radius of `StripByStrip.entries`,
# and the place on the unit sphere.
STRIP, SOUTH, NORTH, WEST, EAST, REACH = map(Placeholder, ["strip", "south", "north", "west", "east", "reach"])
ORIGIN = tuple(map(Placeholder, ["x", "y", "z"]))
# The sets of conditions whose offices' compiled SQL a process keeps, the most recently used.
TEMPLATES_KEPT = 256


def templates_for(entries: SearchEntryQuerySet) -> dict:
    """The compiled SQL of `StripByStrip` for the conditions of `entries` (filtered `SearchEntry`s, nothing else).

    Shared by every search with equal conditions (their values included:
    a clock-dependent condition is compiled anew), by the columns selected.
    """
    return _templates_by_conditions(entries.db, entries.query.where)


@functools.lru_cache(maxsize=TEMPLATES_KEPT)
def _templates_by_conditions(database: str, conditions: WhereNode) -> dict:
    return {}


def _filled(params: list, slots: list[tuple[int, Placeholder]], values: dict[Placeholder, object]) -> list:
    filled = list(params)
    for at, placeholder in slots:
        filled[at] = values[placeholder]
    return filled


class SearchEntryQuerySet(models.QuerySet):
    """Search conditions over the index; each holds on every kind of entry, since all carry the masks."""

    def profiles(self) -> SearchEntryQuerySet:
        return self.filter(kind=SearchEntry.Kind.PROFILE)

    def licensed_here(self, state: str) -> SearchEntryQuerySet:
        """One entry per therapist licensed in `state` (use instead of profiles() to start from the state)."""
        return self.filter(licence_in(state))

    def offering_formats(self, formats: Iterable[str]) -> SearchEntryQuerySet:
        return self.filter(offers_any(formats))

    def near(self, place: geo.Place, miles: float) -> SearchEntryQuerySet:
        """Office entries within `miles` of `place`, annotated with `squared_distance`.

        A bounding box on the indexed coordinates narrows the entries: the
        index is read once per whole degree of longitude the box crosses, over
        the box's latitudes. The squared chord to each office on the unit
        sphere (plain arithmetic over stored coordinates, no trigonometry in
        SQL) keeps those within the great-circle distance, exactly, and sorts them.
        """
        box = geo.bounding_box(place.latitude, place.longitude, miles)
        origin = geo.unit_vector(place.latitude, place.longitude)
        return self.within_distance(origin, box, geo.squared_chord(miles), bands=box.longitude_bands)

    def within_distance(
        self, origin: tuple[float, float, float], box: geo.BoundingBox, reach: float, *, bands: list[int]
    ) -> SearchEntryQuerySet:
        """Office entries within the squared chord `reach` of `origin` (a place on the unit sphere), in these
        strips of `box`: see `near`."""
        distance = SquaredChord(origin)
        within = WithinDistance(SearchEntry.Kind.OFFICE, box, distance, reach, bands=bands)
        return self.annotate(squared_distance=distance).filter(within)

    def near_by_band(self, place: geo.Place, miles: float) -> StripByStrip:
        """`near(place, miles)` read one strip of longitude after another, the strip holding the place first.

        Read in this order up to a limit (`UNION ALL`), the entries read are
        those of the strips nearest the place, rather than of the westernmost.
        """
        return StripByStrip(self, place, miles)

    def online_in(self, state: str) -> SearchEntryQuerySet:
        """Licence entries of therapists who offer online sessions in `state`: in reach with no distance."""
        online = self.licensed_here(state).offering_formats(["online"])
        return online.annotate(squared_distance=Cast(Value(None), models.FloatField()))

    def count_matching_text(self, text: str, *, limit: int | None = None) -> int | None:
        """How many published therapists `text_conditions(text, ...)` find, from the text index alone, up to `limit`.

        SQLite: its FTS5 table, which holds exactly the PROFILE entries' texts
        (migration 0007's triggers). PostgreSQL: the PROFILE entries' word ids
        in their narrow table (migration 0011), every word overlapping the ids
        of the vocabulary's words that contain it, as `word_contains` tests.
        None for a word of fewer than three letters (matched on the text itself).
        """
        words = text_words(text)
        if not words or any(len(word) < 3 for word in words):
            return None
        connection = connections[self.db]
        if connection.vendor == "sqlite":
            matches, params = f"FROM {TEXT_TABLE} WHERE {TEXT_TABLE} MATCH %s", [text_index_phrase(words)]
        else:
            overlaps = " AND ".join([words_overlap(WORDS_COLUMN, "%s")] * len(words))
            matches = f"FROM {PROFILE_WORDS_TABLE} WHERE {overlaps}"
            params = [f"%{connection.ops.prep_for_like_query(word)}%" for word in words]  # as `contains` escapes
        sql = f"SELECT COUNT(*) {matches}"
        if limit is not None:
            sql, params = f"SELECT COUNT(*) FROM (SELECT 1 {matches} LIMIT %s) AS found", [*params, limit]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]


def text_words(text: str) -> list[str]:
    """The words free text searches for: lowercased, split on whitespace, the first eight."""
    return text.lower().split()[:8]


def text_index_phrase(words: list[str]) -> str:
    """SQLite FTS5 query for the words of three letters or more, each as a quoted string ("" if none)."""
    return " AND ".join('"{}"'.format(word.replace('"', '""')) for word in words if len(word) >= 3)


TEXT_TABLE = "directory_searchtext"  # SQLite only: see text_conditions and migration 0007


class SearchEntry(models.Model):
    """One way a published therapist is found by search: a denormalized, index-only read model.

    Every published therapist has one PROFILE entry (search without a place:
    name order, counts, free text), one OFFICE entry per located office
    (distance), and one LICENCE entry per licensed state (the state filter,
    and online sessions for a client in that state). Every entry carries the
    therapist's vocabularies as bitmasks (a reference row's id is its bit), so
    any filter is a bitwise test on the entry itself, answered from one
    covering index per kind, with no join. Rebuilt by
    `directory.search.refresh()`; unpublished therapists have none.
    """

    class Kind(models.IntegerChoices):
        PROFILE = 0, "Profile"
        OFFICE = 1, "Office"
        LICENCE = 2, "Licensed state"

    therapist = models.ForeignKey("directory.Therapist", on_delete=models.CASCADE, related_name="search_entries")
    kind = models.PositiveSmallIntegerField(choices=Kind.choices)
    latitude = models.FloatField(null=True)
    longitude = models.FloatField(null=True)
    # Office entries: the whole degrees of longitude (floor), leading the coordinates index, so
    # that a search reads the strips of longitude its box crosses, not the box's whole band of latitude.
    longitude_band = models.SmallIntegerField(null=True)
    # Office entries: the office on the unit sphere (`geo.unit_vector`), for exact distances in plain arithmetic.
    unit_x = models.FloatField(null=True)
    unit_y = models.FloatField(null=True)
    unit_z = models.FloatField(null=True)
    state = models.CharField(max_length=2, blank=True)
    last_name = models.CharField(max_length=80)
    first_name = models.CharField(max_length=80)
    updated_at = models.DateTimeField()
    # Availability confirmed at, when accepting new clients (else null; NEVER_CONFIRMED if never
    # confirmed): accepting now is `accepting_since >= the freshness cutoff`, no clock in the stored row.
    accepting_since = models.DateTimeField(null=True)
    formats = models.PositiveSmallIntegerField(default=0)
    age_groups = models.PositiveSmallIntegerField(default=0)
    insurers = models.BigIntegerField(default=0)
    open_insurers = models.BigIntegerField(default=0, help_text="Insurers whose panel takes new clients")
    focus_areas = models.BigIntegerField(default=0)
    concerns = models.BigIntegerField(default=0)
    languages = models.BigIntegerField(default=0)
    states = models.BigIntegerField(default=0)
    text = models.TextField(blank=True, help_text="Lowercased name, credentials and bio (PROFILE entries only)")
    # What matching's engine reads besides the masks (see `reach.candidates_in_reach`).
    capacity = models.PositiveSmallIntegerField(default=0)
    fee_min = models.PositiveIntegerField(null=True)
    sliding_scale = models.BooleanField(default=False)
    training_level = models.CharField(max_length=20)
    # How the therapist answers requests (the therapist's `reply_*` figures), for the engine's responsiveness.
    # Null only in entries built before migration 0017, until `manage.py refresh_listings` (nullable, so that
    # SQLite adds the columns in place, keeping the table and its triggers).
    reply_requests = models.PositiveIntegerField(null=True)
    reply_answered = models.PositiveIntegerField(null=True)
    reply_answered_in_time = models.PositiveIntegerField(null=True)
    reply_median_hours = models.FloatField(null=True)
    reply_never_heard_back = models.PositiveIntegerField(null=True)

    objects = SearchEntryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "search entries"
        indexes = [
            models.Index(
                fields=[
                    "kind",
                    "longitude_band",
                    "latitude",
                    "longitude",
                    "unit_x",
                    "unit_y",
                    "unit_z",
                    "therapist",
                    *COVERED_FOR_MATCHING,
                ],
                name="search_by_coordinates",
            ),
            # Licence entries have no coordinates; listed so that loading candidates reads the index alone.
            # In name order within a state, so that a page of a state's therapists reads that page's entries.
            models.Index(
                fields=["kind", "state", "last_name", "first_name", "therapist", *BY_STATE_COVERED],
                name="search_by_state_name",
            ),
            models.Index(
                fields=["kind", "last_name", "first_name", "therapist", *COVERED[:-2], "updated_at"],
                name="search_by_name",
            ),
            models.Index(fields=["kind", "-updated_at", "therapist"], name="search_by_update"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} entry of therapist {self.therapist_id}"


SearchEntry._meta.get_field("text").register_lookup(WordContains)  # the only text with a word index


# Conditions on an entry, one per search parameter (`query.parameter_conditions` applies them in order);
# each holds on every kind of entry, since all carry the masks.


def offers_any(formats: Iterable[str]) -> Q:
    return has_any("formats", (FORMAT_BITS[slug] for slug in formats))


def accepting_at(now: datetime.datetime | None = None) -> Q:
    """Accepting new clients, with availability confirmed within the freshness window."""
    return Q(accepting_since__gte=freshness_cutoff(now))


def not_accepting_at(now: datetime.datetime | None = None) -> Q:
    cutoff = freshness_cutoff(now)
    return Q(accepting_since__isnull=True) | Q(accepting_since__lt=cutoff)


def licence_in(state: str) -> Q:
    """The LICENCE entry for `state`: one per therapist licensed there (a search without a place starts from them)."""
    return Q(kind=SearchEntry.Kind.LICENCE, state=state)


def text_conditions(text: str, *, profiles: bool, vendor: str, common: bool | None = None) -> list[Q]:
    """Every word appears in the name, credentials or bio (case-insensitive), by the text index: the conditions.

    Words of three letters or more are looked up in the text index (SQLite:
    the FTS5 trigram table `directory_searchtext`; PostgreSQL: the words of
    the vocabulary `directory_searchword` that contain it, then the profile
    entries holding any of them, migration 0009); shorter ones are matched
    on the text itself. `profiles` says the entries tested are PROFILE
    entries, which carry the text and its words: they are tested themselves
    rather than through the therapist's profile entry. Applied one after the other.

    `common`, for PROFILE entries read in name order up to a page, says how
    many the text finds (`count_matching_text`): True, so many that the page
    comes soonest by testing each entry's own text as the names are read
    (the index would hand over every match first); False, so few that each
    match is best looked up by its id. None when not known.
    """
    words = text_words(text)
    if profiles and common:
        return [Q(text__contains=word) for word in words]
    sqlite = vendor == "sqlite"
    phrase = text_index_phrase(words) if sqlite else ""
    found = []
    if phrase:
        # The unary + keeps SQLite from looking up each matching id in the therapist index: a common
        # word matches tens of thousands, and a scan checking membership is then several times faster.
        column = f'{"" if common is False else "+"}"{SearchEntry._meta.db_table}"."therapist_id"'
        matches = f"{column} IN (SELECT rowid FROM {TEXT_TABLE} WHERE {TEXT_TABLE} MATCH %s)"
        found.append(Q(RawSQL(matches, [phrase], output_field=models.BooleanField())))
    conditions = [Q(text__contains=word) for word in words if len(word) < 3]
    if not sqlite:
        conditions += [Q(text__word_contains=word) for word in words if len(word) >= 3]
    if not conditions:
        return found
    if profiles:
        return [*found, Q(*conditions)]
    with_text = SearchEntry.objects.profiles().filter(*conditions)
    return [*found, Q(therapist_id__in=with_text.values("therapist_id"))]
