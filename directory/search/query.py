"""Reading the index: a search's conditions planned over `SearchEntry`, and one page of results.

A page of results is three queries at most, and its work is bounded by the
page, not by how many therapists match: the count is exact up to
`COUNT_THRESHOLD` and past it an honest lower bound (`ResultPage.count_is_exact`),
read with a limit; the page comes from an index in name order with a limit,
or near a place from the entries nearest the place (see `_page_near`). Each
therapist's stored card is read with the page when asked for.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet

from directory import geo
from directory.models import Therapist, is_accepting
from directory.search import statements
from directory.search.models import (
    AGE_GROUP_BITS,
    STATE_BITS,
    SearchEntry,
    StripByStrip,
    accepting_at,
    has_any,
    licence_in,
    not_accepting_at,
    offers_any,
    text_conditions,
)


@dataclass(frozen=True)
class Query:
    """A search, parsed: what `directory.filters.TherapistFilter` makes of the page's or the API's parameters.

    Vocabularies are given by row id (each a bit of the index's masks), formats
    and age groups by slug. `accepting` is "true", "false" or "any".
    `ordering` None sorts nearest first near a place, else by name.
    """

    text: str = ""
    place: geo.Place | None = None
    radius_miles: float = 25.0
    formats: tuple[str, ...] = ()
    insurer_ids: tuple[int, ...] = ()
    focus_area_ids: tuple[int, ...] = ()
    concern_ids: tuple[int, ...] = ()
    language_ids: tuple[int, ...] = ()
    age_groups: tuple[str, ...] = ()
    state: str = ""
    accepting: str = "any"
    ordering: str | None = None

    @property
    def sort_order(self) -> str:
        return self.ordering or ("distance" if self.place else "name")

    @property
    def starts_from_profiles(self) -> bool:
        """Neither a place nor a state asked for: the search reads one PROFILE entry per therapist."""
        return self.place is None and not self.state

    @property
    def has_text(self) -> bool:
        return bool(self.text.strip())

    @property
    def reaches_online(self) -> bool:
        """Near a place, online sessions asked for: the licences in the place's state are in reach too."""
        return self.place is not None and "online" in self.formats


# A search counts the therapists it finds exactly up to this many; past it the count is this lower bound
# ("500 or more", `count_is_exact` False): counting every match in a dense metro costs more than the page,
# and past 25 pages a number helps no one choose. Counting to 1,000 was half the database's time per search.
COUNT_THRESHOLD = 500
# Near a place a therapist may have several entries (offices, and a licence for online sessions): the
# entries read to count before the count becomes a lower bound, per therapist counted. Offices are read
# first, and within a radius a therapist has about one (1,945 therapists in 2,001 entries around Brooklyn).
ENTRIES_PER_COUNTED = 1.1
# Free text found by at least this many therapists is common: a page in name order finds its matches by
# testing each entry's text as the names are read (`text_conditions`), rather than from the text index.
COMMON_TEXT = 5000
# Near a place past the threshold, the page is read from the offices within a smaller radius holding about
# this many times the therapists the page needs, by the density the count saw (see `_ring_miles`).
RING_MARGIN = 4


def page(
    query: Query, *, number: int = 1, size: int = 20, cards: bool = False, exact_up_to: int | None = None
) -> ResultPage:
    """Page `number` of the therapists `query` finds, with their stored cards if `cards`.

    The count is exact up to `exact_up_to` therapists (COUNT_THRESHOLD), then
    that lower bound (`ResultPage.count_is_exact`). Raises PageNotFound past
    the last page (the first page always exists).
    """
    exact_up_to = COUNT_THRESHOLD if exact_up_to is None else exact_up_to
    text_matches = _text_matches(query, max(COMMON_TEXT, exact_up_to) + 1)
    common = None if text_matches is None else text_matches > COMMON_TEXT
    entries = _conditions(SearchEntry.objects.all(), query, common_text=common)
    start = (number - 1) * size
    if query.place is not None:
        hits, count, exact = _page_near(entries, query, start, size, cards=cards, exact_up_to=exact_up_to)
        if not hits and number > 1:
            if not exact:
                count = _grouped_page(_starting_entries(entries, query), query.sort_order, 0, 1, cards=False)[1]
            raise PageNotFound(number, max(1, math.ceil(count / size)))
    else:
        [entries] = _starting_entries(entries, query)
        count, exact = _bounded_count(entries, query, exact_up_to, text_matches=text_matches)
        hits = [] if exact and start >= count else _ordered_page(entries, query.sort_order, start, size, cards=cards)
        if not hits and number > 1:
            count = count if exact else entries.count()
            raise PageNotFound(number, max(1, math.ceil(count / size)))
    return ResultPage(hits=hits, count=count, page=number, page_size=size, count_is_exact=exact)


def _page_near(
    entries: QuerySet, query: Query, start: int, size: int, *, cards: bool, exact_up_to: int
) -> tuple[list[Hit], int, bool]:
    """A page near a place, the number of therapists found and whether that number is exact.

    First the page and the count from the entries in reach, read up to a
    limit, the strips of longitude nearest the place first (`_starting_entries`):
    when they are all read (a town, a sparse search) that one query answers
    exactly. Past the limit the count is the lower bound it reached, and a
    page in distance order comes from the offices within a smaller radius
    (`_ring_miles`; the same compiled query, `StripByStrip.within`): whoever
    is within it is nearer than anyone outside it, so when it holds the
    page's therapists its page is the page. Else
    (another ordering, or too few within it) every entry in reach is grouped,
    and counted exactly.
    """
    parts, ordering = _starting_entries(entries, query), query.sort_order
    limit = math.ceil(exact_up_to * ENTRIES_PER_COUNTED)
    hits, found, read = _grouped_page(parts, ordering, start, size, cards=cards, entry_limit=limit + 1)
    if read <= limit:
        return hits, found, True
    count = min(found, exact_up_to)
    if ordering == "distance":
        miles = _ring_miles(query.radius_miles, found, start + size, hits if len(hits) == size else [])
        [strips, *_] = parts  # near a place the search starts from its offices, strip by strip
        hits, within = _grouped_page([strips.within(miles)], ordering, start, size, cards=cards)[:2]
        if miles >= query.radius_miles and not query.reaches_online:  # the circle was the whole search's: all counted
            return hits, within, True
        if within >= start + size:
            return hits, count, False
    hits, found = _grouped_page(parts, ordering, start, size, cards=cards)[:2]
    return hits, found, True


def _ring_miles(radius: float, found: int, needed: int, nearest: list[Hit]) -> float:
    """A radius within which `needed` therapists are likely (or, given `nearest`, sure) to be found.

    `found` therapists are in reach at least: were they spread evenly, a
    circle holding RING_MARGIN times `needed` of them has this radius. `nearest`,
    when given, is a full page of therapists from a part of the entries in reach,
    nearest first: at least `needed` therapists are within its last one's
    distance, so that radius is sure to hold the page.
    """
    miles = radius * min(1.0, math.sqrt(RING_MARGIN * needed / max(found, 1)))
    if nearest and nearest[-1].squared_distance is not None:
        # A hair more than the last one's distance: the circle must hold it after the round trip through miles.
        miles = min(miles, geo.chord_miles(nearest[-1].squared_distance) * (1 + 1e-9) + 1e-6)
    return miles


def _bounded_count(entries: QuerySet, query: Query, exact_up_to: int, *, text_matches: int | None) -> tuple[int, bool]:
    """How many therapists these entries (one per therapist) are, exactly up to `exact_up_to`, and whether exact.

    When free text is the only condition, its `text_matches` (counted by the
    text index alone, past `exact_up_to`) are the count.
    """
    alone = Query(text=query.text, accepting="any", ordering=query.ordering, radius_miles=query.radius_miles)
    counted = text_matches if query == alone else None
    if counted is None:
        counted = entries.values("therapist_id")[: exact_up_to + 1].count()
    return min(counted, exact_up_to), counted <= exact_up_to


def _conditions(entries: QuerySet, query: Query, *, common_text: bool | None = None) -> QuerySet:
    """Every parameter's condition on `entries`, before those the search starts from.

    SQLite tests what its index range leaves in the order written, and the
    bitmask tests are cheaper and more selective than the distance, so they
    come first. `common_text`: see `text_conditions`.
    """
    profiles = query.starts_from_profiles
    text = None
    if query.has_text:
        text = text_conditions(query.text, profiles=profiles, vendor=connection.vendor, common=common_text)
    conditions = parameter_conditions(query, profiles=profiles, state_entries=query.place is None, text=text)
    for _, condition in conditions:
        entries = entries.filter(condition)
    return entries


def parameter_conditions(
    query: Query,
    *,
    profiles: bool,
    state_entries: bool,
    now: datetime.datetime | None = None,
    text: list[Q] | None = None,
) -> list[tuple[str, Q]]:
    """Each condition the query's parameters set on an entry, named by its `Query` field, in the order to test them.

    The one statement of what each parameter means. `profiles` says the
    entries tested are PROFILE entries (free text is tested on them
    directly); `state_entries` that a state is met by the LICENCE entry of
    that state (a search without a place starts from them) rather than by the
    mask of licensed states. `text`, when given, are the text's conditions
    built already (`text_conditions`), so that several variants of a search
    share them.
    """
    conditions: list[tuple[str, Q]] = []
    if query.has_text:
        if text is None:
            text = text_conditions(query.text, profiles=profiles, vendor=connection.vendor)
        conditions += [("text", condition) for condition in text]
    if query.formats:
        conditions.append(("formats", offers_any(query.formats)))
    if query.insurer_ids:
        # "Accepting" is per plan too: a therapist may stay in a network but close it to new clients.
        column = "open_insurers" if query.accepting == "true" else "insurers"
        conditions.append(("insurer_ids", has_any(column, query.insurer_ids)))
    if query.focus_area_ids:
        conditions.append(("focus_area_ids", has_any("focus_areas", query.focus_area_ids)))
    if query.concern_ids:
        conditions.append(("concern_ids", has_any("concerns", query.concern_ids)))
    if query.language_ids:
        conditions.append(("language_ids", has_any("languages", query.language_ids)))
    if query.age_groups:
        conditions.append(("age_groups", has_any("age_groups", (AGE_GROUP_BITS[slug] for slug in query.age_groups))))
    if query.state:
        state = licence_in(query.state) if state_entries else has_any("states", [STATE_BITS[query.state]])
        conditions.append(("state", state))
    if query.accepting == "true":
        conditions.append(("accepting", accepting_at(now)))
    elif query.accepting == "false":
        conditions.append(("accepting", not_accepting_at(now)))
    return conditions


def _starting_entries(entries: QuerySet, query: Query) -> list[QuerySet | StripByStrip]:
    """`entries` narrowed to those a search starts from, each set answered by one index, in the order to read them.

    Near a place: the offices within the radius, strip by strip of longitude
    from the place's own (`near_by_band`), then, when online sessions are
    asked for, the licences in the place's state. Else the licences in the
    state asked for (see `_conditions`), else one profile entry per therapist.
    """
    if query.place is None:
        return [entries.profiles() if query.starts_from_profiles else entries]
    starts: list[QuerySet | StripByStrip] = [entries.near_by_band(query.place, query.radius_miles)]
    if query.reaches_online:
        starts.append(entries.online_in(query.place.state))
    return starts


def _text_matches(query: Query, limit: int) -> int | None:
    """How many therapists the query's free text finds alone (up to `limit`), for a search without a place.

    None with a place, without text, or for a word the text index cannot count (`count_matching_text`).
    """
    if query.place is not None or not query.has_text:
        return None
    return SearchEntry.objects.count_matching_text(query.text, limit=limit)


@dataclass
class ResultCard:
    """What the API shows of one therapist of a page: the stored listing card and the live availability.

    Read as plain rows with the page (`page(..., cards=True)`): building
    Therapist instances for these six columns cost more than the rest of the
    page's Python. Its attributes are named as Therapist's, so either can be shown.
    """

    pk: int
    slug: str
    listing_card: str
    accepts_new_clients: bool
    availability_confirmed_at: datetime.datetime | None
    silenced_at: datetime.datetime | None
    # Great-circle miles to the nearest matching office, to a tenth (None: matched without one).
    distance_miles: float | None = None

    def is_accepting(self, now: datetime.datetime | None = None) -> bool:
        return is_accepting(self.accepts_new_clients, self.availability_confirmed_at, now, silenced_at=self.silenced_at)


@dataclass(frozen=True)
class Hit:
    therapist_id: int
    # Squared chord (models.SquaredChord) to the nearest matching office; None when
    # the therapist matched without one (online in the client's state) or no place was given.
    squared_distance: float | None = None
    # With `page(..., cards=True)`: the therapist's stored card and live availability.
    card: ResultCard | None = None

    @property
    def distance_miles(self) -> float | None:
        """Great-circle miles to the nearest matching office, to a tenth: exact, from the squared chord."""
        return miles_from_chord(self.squared_distance)


def miles_from_chord(squared: float | None) -> float | None:
    return None if squared is None else round(geo.chord_miles(squared), 1)


@dataclass(frozen=True)
class ResultPage:
    hits: list[Hit]
    # Exact when `count_is_exact`; else a lower bound (there are at least this many, see COUNT_THRESHOLD).
    count: int
    page: int
    page_size: int
    count_is_exact: bool = True

    @property
    def pages(self) -> int:
        """The number of pages: a lower bound when the count is (never below this page's number)."""
        counted = max(1, math.ceil(self.count / self.page_size))
        return counted if self.count_is_exact else max(counted, self.page)

    @property
    def has_next(self) -> bool:
        """Whether a next page exists (or may: past the threshold, after a full page)."""
        return self.page < self.pages or (not self.count_is_exact and len(self.hits) == self.page_size)

    @property
    def start(self) -> int:
        return (self.page - 1) * self.page_size

    @property
    def therapist_ids(self) -> list[int]:
        return [hit.therapist_id for hit in self.hits]

    @property
    def cards(self) -> list[ResultCard]:
        """The page's cards (read with `cards=True`), in its order."""
        return [hit.card for hit in self.hits if hit.card is not None]


class PageNotFound(LookupError):
    def __init__(self, page: int, pages: int) -> None:
        super().__init__(f"Page {page} is past the last page ({pages}).")
        self.page, self.pages = page, pages


# Sort keys of a page, by ordering: the columns a page query selects, then its ORDER BY.
SORT_COLUMNS = {
    "distance": ["last_name", "first_name"],
    "name": ["last_name", "first_name"],
    "-updated": ["updated_at"],
}
ORDER_BY = {
    "distance": "{p}distance ASC NULLS LAST, {p}last_name, {p}first_name, {p}therapist_id",
    "name": "{p}last_name, {p}first_name, {p}therapist_id",
    "-updated": "{p}updated_at DESC, {p}therapist_id",
}
ORDER_FIELDS = {
    "name": ("last_name", "first_name", "therapist_id"),
    "-updated": ("-updated_at", "therapist_id"),
}
# What the API shows of each therapist on a page (`Therapist.objects.for_result_cards()`), in ResultCard's order.
CARD_COLUMNS = ("id", "slug", "listing_card", "accepts_new_clients", "availability_confirmed_at", "silenced_at")


def union_all(parts: list[QuerySet | StripByStrip], columns: list[str]) -> tuple[str, list]:
    """These columns of every part as one `UNION ALL` (SQL and parameters), to wrap in a grouping query.

    The ORM cannot group or count over a union; joined this way, each part
    keeps its own index, where an `OR` of their conditions makes SQLite read
    every row. Offices read strip by strip are a part per strip, in their order.
    """
    selects = [
        select
        for part in parts
        for select in (
            part.compiled(columns)
            if isinstance(part, StripByStrip)
            else [part.values(*columns).query.sql_with_params()]
        )
    ]
    names = ", ".join(columns)
    sql = " UNION ALL ".join(f"SELECT {names} FROM ({select}) AS part{n}" for n, (select, _) in enumerate(selects))
    return sql, [param for _, params in selects for param in params]


def _grouped_page(
    parts: list[QuerySet | StripByStrip],
    ordering: str,
    start: int,
    size: int,
    *,
    cards: bool,
    entry_limit: int | None = None,
) -> tuple[list[Hit], int, int]:
    """A page of therapists from their entries, nearest entry first, the number of therapists and of entries: one query.

    The parts are joined with UNION ALL, so that each keeps its index; the
    columns read are in the covering indexes, so SQLite reads no table row
    (updated_at only when sorting by it). With `entry_limit`, only that many
    entries are read (part by part, each in its index order): the page and the
    numbers are then of those entries alone.
    """
    sort_columns = SORT_COLUMNS[ordering]
    union, params = union_all(parts, ["therapist_id", "squared_distance", *sort_columns])
    if entry_limit is not None:
        union, params = f"SELECT * FROM ({union}) AS limited LIMIT %s", [*params, entry_limit]
    sort_keys = "".join(f", MAX({column}) AS {column}" for column in sort_columns)
    # The groups are counted from the materialized set rather than by `COUNT(*) OVER ()`: the window made
    # SQLite carry every group through one more pass before its top-20 sort. The entries are counted
    # beside them (each group knows its own), and the numbers come in a row of their own when the page is empty.
    query = (
        f"WITH grouped AS (SELECT therapist_id, MIN(squared_distance) AS distance{sort_keys}, COUNT(*) AS entries "
        f"FROM ({union}) AS entries GROUP BY therapist_id), "
        f"numbers AS (SELECT COUNT(*) AS total, SUM(entries) AS entries_read FROM grouped), "
        f"ranked AS (SELECT * FROM grouped ORDER BY {ORDER_BY[ordering].format(p='')} LIMIT %s OFFSET %s) "
        f"SELECT ranked.*, numbers.total, numbers.entries_read FROM numbers LEFT JOIN ranked ON 1 = 1 "
        f"ORDER BY {ORDER_BY[ordering].format(p='ranked.')}"
    )
    params = [*params, size, start]
    if cards:
        # Limited, the page is the search's only when every entry was read: its cards are read only then.
        cards_if, cards_params = ("page.entries_read < %s", [entry_limit]) if entry_limit is not None else ("", [])
        rows, numbers = _read_cards(
            _with_cards(query, "page.distance, page.total, page.entries_read", ordering, cards_if=cards_if),
            [*params, *cards_params],
            prepared=True,
        )
        hits = [Hit(therapist_id, squared, card) for therapist_id, squared, card in rows]
    else:
        with statements.cursor() as cursor:
            cursor.execute(query, params)
            rows = cursor.fetchall()
        hits = [Hit(row[0], row[1]) for row in rows if row[0] is not None]
        numbers = rows[0][-2:] if rows else None
    found, read = numbers if numbers else (0, 0)
    return hits, found, read or 0


def _ordered_page(entries: QuerySet, ordering: str, start: int, size: int, *, cards: bool) -> list[Hit]:
    """The therapists of one page of entries (one per therapist), without distances."""
    page = entries.order_by(*ORDER_FIELDS[ordering])[start : start + size]
    if not cards:
        return [Hit(therapist_id) for therapist_id in page.values_list("therapist_id", flat=True)]
    query, params = page.values("therapist_id", *SORT_COLUMNS[ordering]).query.sql_with_params()
    rows, _ = _read_cards(_with_cards(query, "NULL", ordering), params)
    return [Hit(therapist_id, None, card) for therapist_id, _, card in rows]


def _with_cards(page_query: str, extra_columns: str, ordering: str, *, cards_if: str = "") -> str:
    """The page query joined with its therapists' cards, in its order: CARD_COLUMNS, the therapist, `extra_columns`.

    A row of the page without a therapist (the numbers of an empty page) is
    kept, its card columns null; so are they where the page's row fails `cards_if` (SQL), when given.
    """
    table = Therapist._meta.db_table
    columns = ", ".join(f"t.{column}" for column in CARD_COLUMNS)
    join = f"t.id = page.therapist_id AND {cards_if}" if cards_if else "t.id = page.therapist_id"
    return (
        f"SELECT {columns}, page.therapist_id, {extra_columns} FROM ({page_query}) AS page "
        f"LEFT JOIN {table} AS t ON {join} ORDER BY {ORDER_BY[ordering].format(p='page.')}"
    )


def _read_cards(
    query: str, params: list, *, prepared: bool = False
) -> tuple[list[tuple[int, float | None, ResultCard | None]], tuple | None]:
    """Each therapist a `_with_cards` query reads, its squared distance and card (None if not read), and the numbers.

    The first extra column is the squared distance to sort by; the numbers (the
    extra columns after it) are None without rows. CARD_COLUMNS are
    converted as the ORM converts them (SQLite gives datetimes as text and
    booleans as 0 or 1), without building model instances. `prepared`: read
    through `statements.cursor()` (a page near a place, whose plan the indexes decide).
    """
    table = Therapist._meta.db_table
    columns = [Therapist._meta.get_field(name).get_col(table) for name in CARD_COLUMNS]
    converters = [connection.ops.get_db_converters(column) + column.get_db_converters(connection) for column in columns]
    with statements.cursor() if prepared else connection.cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    read = []
    width = len(CARD_COLUMNS)
    for row in rows:
        therapist_id, squared = row[width], row[width + 1]
        if therapist_id is None:
            continue
        card = None
        if row[0] is not None:
            values = list(row[:width])
            for index, (column, functions) in enumerate(zip(columns, converters, strict=True)):
                for convert in functions:
                    values[index] = convert(values[index], column, connection)
            card = ResultCard(*values, distance_miles=miles_from_chord(squared))
        read.append((therapist_id, squared, card))
    return read, tuple(rows[0][width + 2 :]) if rows else None


def cards_of(therapist_ids: list[int]) -> dict[int, ResultCard]:
    """The stored cards and live availability of these therapists, by id: one query."""
    rows = Therapist.objects.filter(pk__in=therapist_ids).values_list(*CARD_COLUMNS)
    return {row[0]: ResultCard(*row) for row in rows}
