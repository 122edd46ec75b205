"""Bulk loading of generated records into an emptied directory (benchmarks only).

`directory.services.load_directory` saves one profile at a time, which is right
for the demo and for imports; here up to a million therapists go in through
each database's bulk path, a batch at a time: every table's rows are built as
plain tuples (the listing cards and search entries by `directory.search`'s own
`build_card` and `build_entry_rows`), then written with `COPY ... FROM STDIN`
on PostgreSQL and, on SQLite, with one prepared INSERT per table run over the
batch (`executemany`). The therapists' ids are given here, counted up from the
highest, so the rows that point at them need no round trip. What a database
does row by row for each insert (the loaded tables' own indexes, the search
entries' triggers, PostgreSQL's foreign key checks) is set aside for the load
and done once at the end, over whole tables.
"""

from __future__ import annotations

import datetime
import functools
import operator
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice

from django.core.management import call_command
from django.core.management.color import no_style
from django.db import DatabaseError, connection, transaction
from django.db.models import (
    BooleanField,
    CharField,
    Field,
    FloatField,
    ForeignKey,
    IntegerField,
    Max,
    Model,
    TextField,
)
from django.utils.text import slugify

from config.sqlite import file_not_mapped
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
from directory.search import ProfileWordIds, build_card, build_entry_rows
from directory.services import _therapist_fields

BATCH_SIZE = 5000
DIRECTORY_MODELS = [Therapist, Office, LicensedState, TherapistInsurer, SearchEntry]
THROUGH_MODELS = {name: getattr(Therapist, name).through for name in ("focus_areas", "concerns", "languages")}
LOADED_MODELS = [*DIRECTORY_MODELS, *THROUGH_MODELS.values()]


def empty_directory() -> None:
    """Delete every therapist and what hangs off them, fast, keeping reference data."""
    tables = [model._meta.db_table for model in LOADED_MODELS]
    statements = connection.ops.sql_flush(no_style(), tables, reset_sequences=True, allow_cascade=True)
    connection.ops.execute_sql_flush(statements)


def batches(records: Iterable[dict], size: int) -> Iterator[list[dict]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


# Fields whose values the database drivers take as a model holds them (str, int, float, bool or None; a choice
# of `IntegerChoices` is an int); any other goes through its field's `get_db_prep_save`, as `bulk_create` would.
STORED_AS_IS = (CharField, TextField, IntegerField, FloatField, BooleanField, ForeignKey)
PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})


@functools.lru_cache(maxsize=4096)
def prepared_value(field: Field, value: object) -> object:
    """A value as the database stores it; cached, as the load's datetimes repeat (its clock, and a few hundred
    days of availability confirmations) and each preparation costs about as much as building the rest of a row."""
    return field.get_db_prep_save(value, connection)


class Table:
    """A table as the loader writes it: the fields of its columns, in order, and each row's values as the
    database stores them, without building model instances where the loader has none."""

    def __init__(
        self, model: type[Model], names: list[str] | None = None, *, with_id: bool = False, extra: tuple = ()
    ) -> None:
        self.model = model
        if names is None:
            names = [field.attname for field in model._meta.concrete_fields if with_id or not field.primary_key]
        self.fields = fields = [model._meta.get_field(name) for name in names]  # by name or attname
        self.extra = extra  # columns that are no model field, after the fields, their values as they are
        self.prepared_columns = [index for index, field in enumerate(fields) if not isinstance(field, STORED_AS_IS)]
        self.values_of = operator.attrgetter(*names)
        self.values_from = operator.itemgetter(*names)
        # Entries leave out the fields their kind has not; none has a default to call per row.
        self.defaults = {
            field.attname: field.get_default()
            for field in self.fields
            if not (field.has_default() and callable(field.default))
        }

    def prepared(self, values: tuple) -> tuple:
        if not self.prepared_columns:
            return values
        row = list(values)
        for index in self.prepared_columns:
            if type(row[index]) not in PLAIN_TYPES:
                row[index] = prepared_value(self.fields[index], row[index])
        return tuple(row)

    def row_of(self, instance: Model) -> tuple:
        return self.prepared(self.values_of(instance))

    def row_from(self, values: dict, *extra: object) -> tuple:
        """A row from field values by attribute name, a field left out taking its default."""
        return (*self.prepared(self.values_from({**self.defaults, **values})), *extra)

    def write(self, rows: list[tuple]) -> None:
        """PostgreSQL: one COPY of the rows. SQLite: one prepared INSERT run over them."""
        quote = connection.ops.quote_name
        table = quote(self.model._meta.db_table)
        columns = ", ".join(quote(column) for column in [*(field.column for field in self.fields), *self.extra])
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                placeholders = ", ".join(["%s"] * (len(self.fields) + len(self.extra)))
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)


THERAPISTS = Table(Therapist, with_id=True)
OFFICES = Table(Office)
LICENCES = Table(LicensedState, ["therapist_id", "state", "basis", "license_number"])
INSURER_LINKS = Table(TherapistInsurer, ["therapist_id", "insurer_id", "accepting_new_clients"])
THROUGH_TABLES = {name: Table(through) for name, through in THROUGH_MODELS.items()}  # therapist, then the other


class BulkLoader:
    """Turns plain records into every table's rows, a batch at a time; the therapists numbered from `first_id`."""

    def __init__(self, now: datetime.datetime, *, first_id: int) -> None:
        self.now = now
        self.next_id = first_id
        self.insurers = {row.slug: row for row in Insurer.objects.all()}
        self.focus_areas = {row.slug: row for row in FocusArea.objects.all()}
        self.concerns = {row.slug: row for row in Concern.objects.all()}
        self.languages = {row.code: row for row in Language.objects.all()}
        self.slugs: set[str] = set()
        self.index = geo.zip_index()
        # PostgreSQL: the entries' word ids, written with them (the trigger that would is off for the load).
        self.word_ids = ProfileWordIds() if connection.vendor == "postgresql" else None
        self.entries = Table(SearchEntry, extra=(WORDS_COLUMN,) if self.word_ids else ())

    def slug(self, therapist: Therapist) -> str:
        slug = therapist.build_slug()
        if slug in self.slugs:
            slug = slugify(f"{therapist.first_name} {therapist.last_name} {therapist.npi}")
        self.slugs.add(slug)
        return slug

    def office(self, therapist: Therapist, office: dict) -> Office:
        zip_record = self.index.by_zip[office["postal_code"]]
        return Office(therapist=therapist, latitude=zip_record.latitude, longitude=zip_record.longitude, **office)

    def therapist(self, record: dict) -> Therapist:
        therapist = Therapist(pk=self.next_id, npi=record["npi"], **_therapist_fields(record, self.now))
        self.next_id += 1
        therapist.slug = self.slug(therapist)
        therapist.created_at = therapist.updated_at = self.now
        return therapist

    def rows(self, records: list[dict]) -> dict[Table, list[tuple]]:
        """One batch's rows, table by table, the therapists' first."""
        tables = [THERAPISTS, OFFICES, LICENCES, INSURER_LINKS, *THROUGH_TABLES.values(), self.entries]
        rows: dict[Table, list[tuple]] = {table: [] for table in tables}
        for record in records:
            self.add(rows, record)
        return rows

    def add(self, rows: dict[Table, list[tuple]], record: dict) -> None:
        """One therapist's rows; the listing card and search entries built in memory, as `search.refresh` would."""
        therapist = self.therapist(record)
        offices = [self.office(therapist, office) for office in record["offices"]]
        states = [licence["state"] for licence in record["licensed_states"]]
        links = {
            "insurers": [self.insurers[link["slug"]] for link in record["insurers"]],
            "focus_areas": [self.focus_areas[slug] for slug in record["focus_areas"]],
            "concerns": [self.concerns[slug] for slug in record["concerns"]],
            "languages": [self.languages[code] for code in record["languages"]],
        }
        therapist.listing_card = build_card(therapist, offices=offices, licensed_states=states, **links)
        rows[THERAPISTS].append(THERAPISTS.row_of(therapist))
        rows[OFFICES] += [OFFICES.row_of(office) for office in offices]
        licences = record["licensed_states"]
        rows[LICENCES] += [LICENCES.row_from({"therapist_id": therapist.pk, **licence}) for licence in licences]
        plans = [(self.insurers[link["slug"]].pk, link["accepting_new_clients"]) for link in record["insurers"]]
        rows[INSURER_LINKS] += [(therapist.pk, *plan) for plan in plans]
        for name, table in THROUGH_TABLES.items():
            rows[table] += [(therapist.pk, row.pk) for row in links[name]]
        entries = build_entry_rows(
            therapist,
            offices=offices,
            licensed_states=states,
            insurers=plans,
            focus_area_ids=[row.pk for row in links["focus_areas"]],
            concern_ids=[row.pk for row in links["concerns"]],
            language_ids=[row.pk for row in links["languages"]],
        )
        rows[self.entries] += [self.entry_row(entry) for entry in entries]

    def entry_row(self, entry: dict) -> tuple:
        if self.word_ids is None:
            return self.entries.row_from(entry)
        is_profile = entry["kind"] == SearchEntry.Kind.PROFILE
        return self.entries.row_from(entry, self.word_ids.of(entry["text"]) if is_profile else None)


def load_batch(loader: BulkLoader, records: list[dict]) -> None:
    with transaction.atomic():
        for table, rows in loader.rows(records).items():
            table.write(rows)


WORDS_COLUMN = "words"  # PostgreSQL: the PROFILE entries' word ids (migration 0009), no model field
# What the search entries' triggers write, row by row, in one statement each (their migrations' own):
# SQLite's free text table (0007), PostgreSQL's narrow table of the profiles' word ids (0011).
TEXT_TABLE_FILLS = {
    "sqlite": "INSERT INTO directory_searchtext (rowid, text) "
    "SELECT therapist_id, text FROM directory_searchentry WHERE kind = 0",
    "postgresql": "INSERT INTO directory_profilewords (entry_id, words) "
    "SELECT id, words FROM directory_searchentry WHERE kind = 0 AND words IS NOT NULL",
}


@contextmanager
def entry_triggers_off() -> Iterator[None]:
    """The search entries' triggers off for the load, their tables filled at the end in one statement.

    Row by row they took most of the entries' insert time: SQLite's free text table three times as long
    as one INSERT ... SELECT at the end; PostgreSQL's word ids (filled by the loader instead,
    `ProfileWordIds`) and its narrow copy of them about three quarters of the entries' COPY.
    """
    table = SearchEntry._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            restore = [f"ALTER TABLE {table} ENABLE TRIGGER USER"]
        else:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table])
            triggers = cursor.fetchall()
            for name, _ in triggers:
                cursor.execute(f"DROP TRIGGER {name}")
            restore = [sql for _, sql in triggers]  # as the migration created them
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(TEXT_TABLE_FILLS[connection.vendor])
            for statement in restore:
                cursor.execute(statement)


@contextmanager
def foreign_keys_dropped() -> Iterator[None]:
    """PostgreSQL: the loaded tables' foreign keys dropped for the load and added back at the end, as
    pg_restore does: each then checks its table in one join, where row by row its checks took a fifth of the
    load (at each commit, being deferred). Re-created from the catalogue's own definitions."""
    if connection.vendor != "postgresql":
        yield
        return
    quote, tables = connection.ops.quote_name, [model._meta.db_table for model in LOADED_MODELS]
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no checks left pending on a table to alter
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) ORDER BY conrelid, conname",
            [tables],
        )
        keys = cursor.fetchall()
        for table, name, _ in keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for table, name, definition in keys:
                cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")


# The free text indexes of PostgreSQL, as migrations 0009 and 0011 create them.
TEXT_INDEXES = {
    "search_words": "CREATE INDEX search_words ON directory_searchentry USING gin (words) WHERE kind = 0",
    "profile_words_gin": "CREATE INDEX profile_words_gin ON directory_profilewords USING gin (words)",
}


@contextmanager
def indexes_dropped() -> Iterator[None]:
    """Bulk-load practice: the loaded tables' own indexes (`Meta.indexes`, and on PostgreSQL the free text
    indexes) are built once at the end, not row by row. Unique constraints and foreign key indexes stay."""
    editor = connection.schema_editor()
    indexes = [(model, index) for model in DIRECTORY_MODELS for index in model._meta.indexes]
    drops = [f"DROP INDEX IF EXISTS {connection.ops.quote_name(index.name)}" for _, index in indexes]
    creates = [str(index.create_sql(model, editor)) for model, index in indexes]
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
    loader = BulkLoader(now, first_id=(Therapist.objects.aggregate(highest=Max("pk"))["highest"] or 0) + 1)
    loaded = 0
    with file_not_mapped():
        with indexes_dropped(), foreign_keys_dropped(), entry_triggers_off():
            for batch in batches(records, BATCH_SIZE):
                load_batch(loader, batch)
                loaded += len(batch)
        settle()
    return loaded


def settle() -> None:
    """After the load: the therapists' id sequence past the loaded ids (PostgreSQL), planner statistics, and
    on PostgreSQL the visibility map that index-only scans need (autovacuum would get there, later): a
    loaded directory, not a fresh one."""
    vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [Therapist]):
            cursor.execute(statement)
        cursor.execute("VACUUM ANALYZE" if vacuum else "ANALYZE")
        if vacuum:
            checkpoint(cursor)


def checkpoint(cursor: object) -> None:
    """Write the load's dirty pages now: else a checkpoint spread over minutes (checkpoint_completion_target)
    writes them back while the measurements run, and its CPU is counted against the searches."""
    try:
        cursor.execute("CHECKPOINT")
    except DatabaseError as error:  # needs superuser or the pg_checkpoint role
        print(f"no CHECKPOINT after the load ({error}): the measurements share the machine with it", file=sys.stderr)
