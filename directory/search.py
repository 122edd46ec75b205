"""The search index (`SearchEntry`): building a therapist's entries, and reading a page of results from them.

A page of results is two queries at most here: the matching therapist ids of
the page with the total (one windowed, grouped query when a place is given;
else a count and the page of ids), before the caller loads what it shows.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet

from directory import geo
from directory.models import (
    AGE_GROUP_BITS,
    FORMAT_BITS,
    STATE_BITS,
    Office,
    SearchEntry,
    Therapist,
    is_accepting,
    mask,
)


@dataclass
class ResultCard:
    """What the API shows of one therapist of a page: the stored listing card and the live availability.

    Read as plain rows with the page (`result_page(..., cards=True)`): building
    Therapist instances for these five columns cost more than the rest of the
    page's Python. Its attributes are named as Therapist's, so either can be shown.
    """

    pk: int
    slug: str
    listing_card: str
    accepts_new_clients: bool
    availability_confirmed_at: datetime.datetime | None
    # Squared chord (models.SquaredChord) to the nearest matching office (None: matched without one).
    distance_sort: float | None = None
    # Great-circle miles to that office, from `distance_sort` (`services.attach_distances`).
    distance_miles: float | None = None

    def is_accepting(self, now: datetime.datetime | None = None) -> bool:
        return is_accepting(self.accepts_new_clients, self.availability_confirmed_at, now)


@dataclass(frozen=True)
class Hit:
    therapist_id: int
    # Squared chord (models.SquaredChord) to the nearest matching office; None when
    # the therapist matched without one (online in the client's state) or no place was given.
    squared_distance: float | None = None
    # With `result_page(..., cards=True)`: the therapist's stored card and live availability.
    card: ResultCard | None = None


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
    query. `count`, when the caller knows it (see TherapistFilter.text_only_count),
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
CARD_COLUMNS = ("id", "slug", "listing_card", "accepts_new_clients", "availability_confirmed_at")


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
    # SQLite carry every group through one more pass before its top-20 sort (3.4 -> 2.8 ms; PostgreSQL unchanged).
    query = (
        f"WITH grouped AS (SELECT therapist_id, MIN(squared_distance) AS distance{sort_keys} "
        f"FROM ({union}) AS entries GROUP BY therapist_id) "
        f"SELECT *, (SELECT COUNT(*) FROM grouped) AS total FROM grouped "
        f"ORDER BY {ORDER_BY[ordering].format(p='')} LIMIT %s OFFSET %s"
    )
    params = [*params, size, start]
    if cards:
        cards_read, count = _read_cards(_with_cards(query, "page.distance, page.total", ordering), params)
        return [Hit(card.pk, card.distance_sort, card) for card in cards_read], count or 0
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
    return [Hit(card.pk, None, card) for card in cards_read]


def _with_cards(page_query: str, extra_columns: str, ordering: str) -> str:
    """The page query joined with its therapists' cards, in the page's order: CARD_COLUMNS, then `extra_columns`."""
    table = Therapist._meta.db_table
    columns = ", ".join(f"t.{column}" for column in CARD_COLUMNS)
    return (
        f"SELECT {columns}, {extra_columns} FROM ({page_query}) AS page "
        f"JOIN {table} AS t ON t.id = page.therapist_id ORDER BY {ORDER_BY[ordering].format(p='page.')}"
    )


def _read_cards(query: str, params: list) -> tuple[list[ResultCard], int | None]:
    """The cards a `_with_cards` query reads, with the number its last extra column carries (None without rows).

    Its first extra column is the distance to sort by. CARD_COLUMNS are
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
        cards.append(ResultCard(*values, distance_sort=row[len(CARD_COLUMNS)]))
    return cards, rows[0][-1] if rows else None


# --- Building entries ---------------------------------------------------------------


def build_entries(
    therapist: Therapist,
    *,
    offices: Iterable[Office],
    licensed_states: Iterable[str],
    insurers: Iterable[tuple[int, bool]],
    focus_area_ids: Iterable[int],
    concern_ids: Iterable[int],
    language_ids: Iterable[int],
) -> list[SearchEntry]:
    """The entries of one therapist (none unless published); `insurers` as (insurer id, panel open) pairs."""
    if therapist.status != Therapist.Status.PUBLISHED:
        return []
    insurers = list(insurers)
    states = sorted(set(licensed_states))
    common = {
        "therapist_id": therapist.pk,
        "last_name": therapist.last_name,
        "first_name": therapist.first_name,
        "updated_at": therapist.updated_at,
        "accepting_since": therapist.availability_confirmed_at if therapist.accepts_new_clients else None,
        "formats": mask(FORMAT_BITS[slug] for slug in therapist.formats),
        "age_groups": mask(AGE_GROUP_BITS[slug] for slug in therapist.age_groups),
        "insurers": mask(insurer_id for insurer_id, _ in insurers),
        "open_insurers": mask(insurer_id for insurer_id, is_open in insurers if is_open),
        "focus_areas": mask(focus_area_ids),
        "concerns": mask(concern_ids),
        "languages": mask(language_ids),
        "states": mask(STATE_BITS[state] for state in states),
        "capacity": therapist.capacity,
        "fee_min": therapist.fee_min,
        "sliding_scale": therapist.sliding_scale,
        "training_level": therapist.training_level,
    }
    text = " ".join([therapist.first_name, therapist.last_name, therapist.credentials, therapist.bio]).lower()
    entries = [SearchEntry(kind=SearchEntry.Kind.PROFILE, text=text, **common)]
    for office in offices:
        if office.latitude is None or office.longitude is None:
            continue
        unit_x, unit_y, unit_z = geo.unit_vector(office.latitude, office.longitude)
        entries.append(
            SearchEntry(
                kind=SearchEntry.Kind.OFFICE,
                latitude=office.latitude,
                longitude=office.longitude,
                longitude_band=geo.longitude_band(office.longitude),
                unit_x=unit_x,
                unit_y=unit_y,
                unit_z=unit_z,
                **common,
            )
        )
    entries += [SearchEntry(kind=SearchEntry.Kind.LICENCE, state=state, **common) for state in states]
    return entries


def entries_of(therapist: Therapist) -> list[SearchEntry]:
    """The entries of a therapist loaded with `Therapist.objects.for_listing()`."""
    return build_entries(
        therapist,
        offices=therapist.offices.all(),
        licensed_states=[licence.state for licence in therapist.licensed_states.all()],
        insurers=[(link.insurer_id, link.accepting_new_clients) for link in therapist.insurer_links.all()],
        focus_area_ids=[area.pk for area in therapist.focus_areas.all()],
        concern_ids=[concern.pk for concern in therapist.concerns.all()],
        language_ids=[language.pk for language in therapist.languages.all()],
    )
