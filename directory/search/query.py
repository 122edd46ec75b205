"""Reading the index: a search's conditions planned over `SearchEntry`, and one page of results.

A page of results is two queries at most: the matching therapist ids of the
page with the total (one grouped query when a place is given; else a count
and the page of ids), with each therapist's stored card when asked for.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet

from directory import geo
from directory.models import Therapist, is_accepting
from directory.search.models import (
    AGE_GROUP_BITS,
    STATE_BITS,
    SearchEntry,
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


def page(query: Query, *, number: int = 1, size: int = 20, cards: bool = False) -> ResultPage:
    """Page `number` of the therapists `query` finds, with their stored cards if `cards`.

    Raises PageNotFound past the last page (the first page always exists).
    """
    parts = _starting_entries(_conditions(SearchEntry.objects.all(), query), query)
    return result_page(
        parts,
        ordering=query.sort_order,
        grouped=query.place is not None,
        page=number,
        page_size=size,
        cards=cards,
        count=_text_only_count(query),
    )


def _conditions(entries: QuerySet, query: Query) -> QuerySet:
    """Every parameter's condition on `entries`, before those the search starts from.

    SQLite tests what its index range leaves in the order written, and the
    bitmask tests are cheaper and more selective than the distance, so they come first.
    """
    conditions = parameter_conditions(query, profiles=query.starts_from_profiles, state_entries=query.place is None)
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


def _starting_entries(entries: QuerySet, query: Query) -> list[QuerySet]:
    """`entries` narrowed to those a search starts from, each set answered by one index.

    Near a place: the offices within the radius and, when online sessions
    are asked for, the licences in the place's state. Else the licences in
    the state asked for (see `_conditions`), else one profile entry per therapist.
    """
    if query.place is None:
        return [entries.profiles() if query.starts_from_profiles else entries]
    starts = [entries.near(query.place, query.radius_miles)]
    if "online" in query.formats:
        starts.append(entries.online_in(query.place.state))
    return starts


def _text_only_count(query: Query) -> int | None:
    """The number of results when free text is the only condition and the text index can count alone."""
    alone = Query(text=query.text, accepting="any", ordering=query.ordering, radius_miles=query.radius_miles)
    if not query.has_text or query != alone:
        return None
    return SearchEntry.objects.count_matching_text(query.text)


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
    count: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.count / self.page_size))

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


def result_page(
    parts: list[QuerySet],
    *,
    ordering: str,
    grouped: bool,
    page: int,
    page_size: int,
    cards: bool = False,
    count: int | None = None,
) -> ResultPage:
    """One page of the therapists these entries match, in `ordering` ("distance", "name" or "-updated").

    `parts` are sets of matching entries, each answered by one index. `grouped`
    says they may hold several entries per therapist (a search near a place:
    offices, and licences for online sessions); they are then grouped by
    therapist, each at its nearest office, and counted in the same query.
    Else `parts` is one set with one entry per therapist, counted first.
    With `cards`, the page's query also reads each therapist's stored listing
    card and availability (`Hit.card`): what the API shows, in no further
    query. `count`, when the caller knows it (see `_text_only_count`),
    spares counting the one set. Raises PageNotFound past the last page (the
    first page always exists).
    """
    start = (page - 1) * page_size
    if grouped:
        hits, count = _grouped_page(parts, ordering, start, page_size, cards=cards)
        if not hits and page > 1:
            count = _grouped_page(parts, ordering, 0, 1, cards=False)[1]
    else:
        [entries] = parts
        count = entries.count() if count is None else count
        if start >= count and page > 1:
            hits = []
        else:
            hits = _ordered_page(entries, ordering, start, page_size, cards=cards)
    if not hits and page > 1:
        raise PageNotFound(page, max(1, math.ceil(count / page_size)))
    return ResultPage(hits=hits, count=count, page=page, page_size=page_size)


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


def union_all(parts: list[QuerySet], columns: list[str]) -> tuple[str, list]:
    """These columns of every part as one `UNION ALL` (SQL and parameters), to wrap in a grouping query.

    The ORM cannot group or count over a union; joined this way, each part
    keeps its own index, where an `OR` of their conditions makes SQLite read every row.
    """
    selects = [part.values(*columns).query.sql_with_params() for part in parts]
    names = ", ".join(columns)
    sql = " UNION ALL ".join(f"SELECT {names} FROM ({select}) AS part{n}" for n, (select, _) in enumerate(selects))
    return sql, [param for _, params in selects for param in params]


def _grouped_page(parts: list[QuerySet], ordering: str, start: int, size: int, *, cards: bool) -> tuple[list[Hit], int]:
    """A page of therapists from their entries, nearest entry first, with the number of therapists: one query.

    The parts are joined with UNION ALL, so that each keeps its index; the
    columns read are in the covering indexes, so SQLite reads no table row
    (updated_at only when sorting by it).
    """
    sort_columns = SORT_COLUMNS[ordering]
    union, params = union_all(parts, ["therapist_id", "squared_distance", *sort_columns])
    sort_keys = "".join(f", MAX({column}) AS {column}" for column in sort_columns)
    # The groups are counted from the materialized set rather than by `COUNT(*) OVER ()`: the window made
    # SQLite carry every group through one more pass before its top-20 sort.
    query = (
        f"WITH grouped AS (SELECT therapist_id, MIN(squared_distance) AS distance{sort_keys} "
        f"FROM ({union}) AS entries GROUP BY therapist_id) "
        f"SELECT *, (SELECT COUNT(*) FROM grouped) AS total FROM grouped "
        f"ORDER BY {ORDER_BY[ordering].format(p='')} LIMIT %s OFFSET %s"
    )
    params = [*params, size, start]
    if cards:
        cards_read, count = _read_cards(_with_cards(query, "page.distance, page.total", ordering), params)
        return [Hit(card.pk, squared, card) for card, squared in cards_read], count or 0
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    count = rows[0][-1] if rows else 0
    return [Hit(row[0], row[1]) for row in rows], count


def _ordered_page(entries: QuerySet, ordering: str, start: int, size: int, *, cards: bool) -> list[Hit]:
    """The therapists of one page of entries (one per therapist), without distances."""
    page = entries.order_by(*ORDER_FIELDS[ordering])[start : start + size]
    if not cards:
        return [Hit(therapist_id) for therapist_id in page.values_list("therapist_id", flat=True)]
    query, params = page.values("therapist_id", *SORT_COLUMNS[ordering]).query.sql_with_params()
    cards_read, _ = _read_cards(_with_cards(query, "NULL, NULL", ordering), params)
    return [Hit(card.pk, None, card) for card, _ in cards_read]


def _with_cards(page_query: str, extra_columns: str, ordering: str) -> str:
    """The page query joined with its therapists' cards, in the page's order: CARD_COLUMNS, then `extra_columns`."""
    table = Therapist._meta.db_table
    columns = ", ".join(f"t.{column}" for column in CARD_COLUMNS)
    return (
        f"SELECT {columns}, {extra_columns} FROM ({page_query}) AS page "
        f"JOIN {table} AS t ON t.id = page.therapist_id ORDER BY {ORDER_BY[ordering].format(p='page.')}"
    )


def _read_cards(query: str, params: list) -> tuple[list[tuple[ResultCard, float | None]], int | None]:
    """The cards a `_with_cards` query reads, each with its squared distance, and the number its last column carries.

    Its first extra column is the squared distance to sort by; the number is None without rows. CARD_COLUMNS are
    converted as the ORM converts them (SQLite gives datetimes as text and
    booleans as 0 or 1), without building model instances.
    """
    table = Therapist._meta.db_table
    columns = [Therapist._meta.get_field(name).get_col(table) for name in CARD_COLUMNS]
    converters = [connection.ops.get_db_converters(column) + column.get_db_converters(connection) for column in columns]
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    cards = []
    for row in rows:
        values = list(row[: len(CARD_COLUMNS)])
        for index, (column, functions) in enumerate(zip(columns, converters, strict=True)):
            for convert in functions:
                values[index] = convert(values[index], column, connection)
        squared = row[len(CARD_COLUMNS)]
        cards.append((ResultCard(*values, distance_miles=miles_from_chord(squared)), squared))
    return cards, rows[0][-1] if rows else None


def cards_of(therapist_ids: list[int]) -> dict[int, ResultCard]:
    """The stored cards and live availability of these therapists, by id: one query."""
    rows = Therapist.objects.filter(pk__in=therapist_ids).values_list(*CARD_COLUMNS)
    return {row[0]: ResultCard(*row) for row in rows}
