"""Bulk loading of generated records into an emptied directory (benchmarks only).

`directory.services.load_directory` saves one profile at a time, which is right
for the demo and for imports; here hundreds of thousands of rows go in with
`bulk_create` per batch: therapists first (their ids come back), then offices
with their coordinates already set, licences, and the through tables.
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice

from django.core.management import call_command
from django.core.management.color import no_style
from django.db import DatabaseError, connection, transaction
from django.db.models import Model
from django.utils.text import slugify

from directory import geo
from directory.models import (
    Concern,
    FocusArea,
    Insurer,
    Language,
    LicensedState,
    Office,
    SearchEntry,
    Therapist,
    TherapistInsurer,
)
from directory.search import build_card, build_entries
from directory.services import _therapist_fields

BATCH_SIZE = 2000
DIRECTORY_MODELS = [Therapist, Office, LicensedState, TherapistInsurer, SearchEntry]


def empty_directory() -> None:
    """Delete every therapist and what hangs off them, fast, keeping reference data."""
    models = [*DIRECTORY_MODELS, *(field.remote_field.through for field in Therapist._meta.many_to_many)]
    tables = [model._meta.db_table for model in models]
    statements = connection.ops.sql_flush(no_style(), tables, reset_sequences=True, allow_cascade=True)
    connection.ops.execute_sql_flush(statements)


def batches(records: Iterable[dict], size: int) -> Iterator[list[dict]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


class BulkLoader:
    """Turns plain records into rows, a batch at a time."""

    def __init__(self, now: datetime.datetime) -> None:
        self.now = now
        self.insurers = {row.slug: row for row in Insurer.objects.all()}
        self.focus_areas = {row.slug: row for row in FocusArea.objects.all()}
        self.concerns = {row.slug: row for row in Concern.objects.all()}
        self.languages = {row.code: row for row in Language.objects.all()}
        self.slugs: set[str] = set()
        self.index = geo.zip_index()

    def slug(self, therapist: Therapist) -> str:
        slug = therapist.build_slug()
        if slug in self.slugs:
            slug = slugify(f"{therapist.first_name} {therapist.last_name} {therapist.npi}")
        self.slugs.add(slug)
        return slug

    def office(self, office: dict) -> Office:
        zip_record = self.index.by_zip[office["postal_code"]]
        return Office(latitude=zip_record.latitude, longitude=zip_record.longitude, **office)

    def entries(self, therapist: Therapist, record: dict, links: dict) -> list[SearchEntry]:
        plans = [(self.insurers[link["slug"]].pk, link["accepting_new_clients"]) for link in record["insurers"]]
        return build_entries(
            therapist,
            offices=links["offices"],
            licensed_states=[licence.state for licence in links["licences"]],
            insurers=plans,
            focus_area_ids=[row.pk for row in links["focus_areas"]],
            concern_ids=[row.pk for row in links["concerns"]],
            language_ids=[row.pk for row in links["languages"]],
        )

    @transaction.atomic
    def load(self, records: list[dict]) -> list[int]:
        """Insert one batch; the listing cards and search entries are built in memory, as `search.refresh` would."""
        therapists, related = [], []
        for record in records:
            therapist = Therapist(npi=record["npi"], **_therapist_fields(record, self.now))
            therapist.slug = self.slug(therapist)
            therapist.created_at = therapist.updated_at = self.now
            links = {
                "offices": [self.office(office) for office in record["offices"]],
                "licences": [LicensedState(**licence) for licence in record["licensed_states"]],
                "insurers": [self.insurers[link["slug"]] for link in record["insurers"]],
                "focus_areas": [self.focus_areas[slug] for slug in record["focus_areas"]],
                "concerns": [self.concerns[slug] for slug in record["concerns"]],
                "languages": [self.languages[code] for code in record["languages"]],
            }
            therapist.listing_card = build_card(therapist, **links)
            therapists.append(therapist)
            related.append((record, links))
        Therapist.objects.bulk_create(therapists)
        entries = [
            entry
            for therapist, (record, links) in zip(therapists, related, strict=True)
            for entry in self.entries(therapist, record, links)
        ]
        SearchEntry.objects.bulk_create(entries, batch_size=BATCH_SIZE)
        rows: dict[type[Model], list[tuple]] = {}
        for therapist, (record, links) in zip(therapists, related, strict=True):
            rows.setdefault(Office, []).extend((therapist.pk, *office_values(office)) for office in links["offices"])
            rows.setdefault(LicensedState, []).extend(
                (therapist.pk, licence.state, licence.basis, licence.license_number) for licence in links["licences"]
            )
            rows.setdefault(TherapistInsurer, []).extend(
                (therapist.pk, self.insurers[link["slug"]].pk, link["accepting_new_clients"])
                for link in record["insurers"]
            )
            for name in ("focus_areas", "concerns", "languages"):
                through = getattr(Therapist, name).through
                rows.setdefault(through, []).extend((therapist.pk, row.pk) for row in links[name])
        for model, values in rows.items():
            insert_rows(model, values)
        return [therapist.pk for therapist in therapists]


OFFICE_COLUMNS = ["therapist_id", "public_id", "label", "address", "city", "state", "postal_code", "latitude",
                  "longitude", "wheelchair_accessible"]  # fmt: skip
PUBLIC_ID = Office._meta.get_field("public_id")


def office_values(office: Office) -> list:
    """An office's columns after `therapist_id`, the UUID as the database stores it (SQLite: 32 hex digits)."""
    values = [getattr(office, name) for name in OFFICE_COLUMNS[1:]]
    values[0] = PUBLIC_ID.get_db_prep_value(office.public_id, connection)
    return values


COLUMNS = {
    Office: OFFICE_COLUMNS,
    LicensedState: ["therapist_id", "state", "basis", "license_number"],
    TherapistInsurer: ["therapist_id", "insurer_id", "accepting_new_clients"],
    Therapist.focus_areas.through: ["therapist_id", "focusarea_id"],
    Therapist.concerns.through: ["therapist_id", "concern_id"],
    Therapist.languages.through: ["therapist_id", "language_id"],
}


def insert_rows(model: type[Model], values: list[tuple]) -> None:
    """Plain rows (ints, strings, floats, booleans) in multi-row INSERTs within the database's parameter limit:
    the million link rows skip model instances, which made up most of the load time."""
    columns = COLUMNS[model]
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    size = max(1, (connection.features.max_query_params or 20_000) // len(columns))
    with connection.cursor() as cursor:
        for start in range(0, len(values), size):
            chunk = values[start : start + size]
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES {', '.join([row] * len(chunk))}",
                [value for line in chunk for value in line],
            )


# The free text indexes of PostgreSQL, as migrations 0009 and 0011 create them (triggers fill their columns
# as rows arrive).
TEXT_INDEXES = {
    "search_words": "CREATE INDEX search_words ON directory_searchentry USING gin (words) WHERE kind = 0",
    "profile_words_gin": "CREATE INDEX profile_words_gin ON directory_profilewords USING gin (words)",
}


@contextmanager
def search_indexes_dropped() -> Iterator[None]:
    """Bulk-load practice: the search index's own indexes are built once at the end, not row by row."""
    quote, table = connection.ops.quote_name, SearchEntry._meta.db_table
    drops, creates = [], []
    for index in SearchEntry._meta.indexes:
        columns = ", ".join(
            f"{quote(SearchEntry._meta.get_field(name.lstrip('-')).column)}{' DESC' if name.startswith('-') else ''}"
            for name in index.fields
        )
        drops.append(f"DROP INDEX IF EXISTS {quote(index.name)}")
        creates.append(f"CREATE INDEX {quote(index.name)} ON {quote(table)} ({columns})")
    if connection.vendor == "postgresql":
        drops += [f"DROP INDEX IF EXISTS {name}" for name in TEXT_INDEXES]
        # Inside a transaction, the rows' deferred foreign key checks must run before an index is built.
        creates = ["SET CONSTRAINTS ALL IMMEDIATE", *creates, *TEXT_INDEXES.values()]
    with connection.cursor() as cursor:
        for statement in drops:
            cursor.execute(statement)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for statement in creates:
                cursor.execute(statement)


def load_national_directory(records: Iterable[dict], *, now: datetime.datetime) -> int:
    """Empty the directory, then bulk-load the records; returns how many were loaded."""
    call_command("loaddata", "reference", verbosity=0)
    empty_directory()
    loader = BulkLoader(now)
    loaded = 0
    with search_indexes_dropped():
        for batch in batches(records, BATCH_SIZE):
            loader.load(batch)
            loaded += len(batch)
    # Planner statistics, and on PostgreSQL the visibility map that index-only
    # scans need (autovacuum would get there, later): a loaded directory, not a fresh one.
    vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if vacuum else "ANALYZE")
        if vacuum:
            checkpoint(cursor)
    return loaded


def checkpoint(cursor: object) -> None:
    """Write the load's dirty pages now: else a checkpoint spread over minutes (checkpoint_completion_target)
    writes them back while the measurements run, and its CPU is counted against the searches."""
    try:
        cursor.execute("CHECKPOINT")
    except DatabaseError as error:  # needs superuser or the pg_checkpoint role
        print(f"no CHECKPOINT after the load ({error}): the measurements share the machine with it", file=sys.stderr)
