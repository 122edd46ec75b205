"""The search index (`SearchEntry`): building a therapist's entries, and reading a page of results from them.

A page of results is two queries at most here: the matching therapist ids of
the page with the total (one windowed, grouped query when a place is given;
else a count and the page of ids), before the caller loads what it shows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet

from directory.models import (
    AGE_GROUP_BITS,
    FORMAT_BITS,
    STATE_BITS,
    TEXT_TABLE,
    Office,
    SearchEntry,
    Therapist,
    mask,
)

ORDER_FIELDS = {
    "name": ("last_name", "first_name"),
    "-updated": ("-updated_at",),
}


@dataclass(frozen=True)
class Hit:
    therapist_id: int
    # Squared equirectangular distance to the nearest matching office; None when
    # the therapist matched without one (online in the client's state) or no place was given.
    squared_distance: float | None = None


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


class PageNotFound(LookupError):
    def __init__(self, page: int, pages: int) -> None:
        super().__init__(f"Page {page} is past the last page ({pages}).")
        self.page, self.pages = page, pages


def result_page(parts: list[QuerySet], *, ordering: str, grouped: bool, page: int, page_size: int) -> ResultPage:
    """One page of the therapists these entries match, in `ordering` ("distance", "name" or "-updated").

    `parts` are sets of matching entries, each answered by one index. `grouped`
    says they may hold several entries per therapist (a search near a place:
    offices, and licences for online sessions); they are then grouped by
    therapist, each at its nearest office, and counted in the same query.
    Else `parts` is one set with one entry per therapist. Raises PageNotFound
    past the last page (the first page always exists).
    """
    start = (page - 1) * page_size
    if grouped:
        hits, count = _grouped_page(parts, ordering, start, page_size)
        if not hits and page > 1:
            count = _grouped_page(parts, ordering, 0, 1)[1]
    else:
        [entries] = parts
        count = entries.count()
        if start >= count and page > 1:
            hits = []
        else:
            order = [*ORDER_FIELDS[ordering], "therapist_id"]
            ids = entries.order_by(*order).values_list("therapist_id", flat=True)[start : start + page_size]
            hits = [Hit(therapist_id) for therapist_id in ids]
    if not hits and page > 1:
        raise PageNotFound(page, max(1, math.ceil(count / page_size)))
    return ResultPage(hits=hits, count=count, page=page, page_size=page_size)


GROUPED_ORDER = {
    "distance": "distance ASC NULLS LAST, last_name, first_name, therapist_id",
    "name": "last_name, first_name, therapist_id",
    "-updated": "updated_at DESC, therapist_id",
}


def union_all(parts: list[QuerySet], columns: list[str]) -> tuple[str, list]:
    """These columns of every part as one `UNION ALL` (SQL and parameters), to wrap in a grouping query.

    The ORM cannot group or count over a union; joined this way, each part
    keeps its own index, where an `OR` of their conditions makes SQLite read every row.
    """
    selects = [part.values(*columns).query.sql_with_params() for part in parts]
    names = ", ".join(columns)
    sql = " UNION ALL ".join(f"SELECT {names} FROM ({select}) AS part{n}" for n, (select, _) in enumerate(selects))
    return sql, [param for _, params in selects for param in params]


def _grouped_page(parts: list[QuerySet], ordering: str, start: int, size: int) -> tuple[list[Hit], int]:
    """A page of therapists from their entries, nearest entry first, with the number of therapists: one query.

    The parts are joined with UNION ALL, so that each keeps its index; the
    columns read are in the covering indexes, so SQLite reads no table row
    (updated_at only when sorting by it).
    """
    columns = ["therapist_id", "squared_distance", "last_name", "first_name"]
    if ordering == "-updated":
        columns.append("updated_at")
    union, params = union_all(parts, columns)
    sort_keys = "".join(f", MAX({column}) AS {column}" for column in columns[2:])
    query = (
        f"SELECT therapist_id, MIN(squared_distance) AS distance{sort_keys}, COUNT(*) OVER () AS total "
        f"FROM ({union}) AS entries GROUP BY therapist_id ORDER BY {GROUPED_ORDER[ordering]} LIMIT %s OFFSET %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [*params, size, start])
        rows = cursor.fetchall()
    count = rows[0][-1] if rows else 0
    return [Hit(row[0], row[1]) for row in rows], count


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
    entries += [
        SearchEntry(kind=SearchEntry.Kind.OFFICE, latitude=office.latitude, longitude=office.longitude, **common)
        for office in offices
        if office.latitude is not None and office.longitude is not None
    ]
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


def store_texts(therapist_ids: list[int], entries: Iterable[SearchEntry]) -> None:
    """Keep SQLite's FTS5 table in step with these therapists' PROFILE entries (PostgreSQL indexes the column)."""
    if connection.vendor != "sqlite":
        return
    texts = [(entry.therapist_id, entry.text) for entry in entries if entry.kind == SearchEntry.Kind.PROFILE]
    with connection.cursor() as cursor:
        for start in range(0, len(therapist_ids), 500):
            batch = therapist_ids[start : start + 500]
            cursor.execute(f"DELETE FROM {TEXT_TABLE} WHERE rowid IN ({', '.join(['%s'] * len(batch))})", batch)
        cursor.executemany(f"INSERT INTO {TEXT_TABLE} (rowid, text) VALUES (%s, %s)", texts)
