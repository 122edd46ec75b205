"""Bulk loading of generated records into an emptied directory (benchmarks only).

`directory.services.load_directory` saves one profile at a time, which is right
for the demo and for imports; here hundreds of thousands of rows go in with
`bulk_create` per batch: therapists first (their ids come back), then offices
with their coordinates already set, licences, and the through tables.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from itertools import islice

from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils.text import slugify

from directory import geo
from directory.models import Concern, FocusArea, Insurer, Language, LicensedState, Office, Therapist, TherapistInsurer
from directory.services import _therapist_fields

BATCH_SIZE = 2000
DIRECTORY_MODELS = [Therapist, Office, LicensedState, TherapistInsurer]


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
        self.insurers = dict(Insurer.objects.values_list("slug", "pk"))
        self.focus_areas = dict(FocusArea.objects.values_list("slug", "pk"))
        self.concerns = dict(Concern.objects.values_list("slug", "pk"))
        self.languages = dict(Language.objects.values_list("code", "pk"))
        self.slugs: set[str] = set()
        self.index = geo.zip_index()

    def slug(self, therapist: Therapist) -> str:
        slug = therapist.build_slug()
        if slug in self.slugs:
            slug = slugify(f"{therapist.first_name} {therapist.last_name} {therapist.npi}")
        self.slugs.add(slug)
        return slug

    @transaction.atomic
    def load(self, records: list[dict]) -> list[int]:
        therapists = [Therapist(npi=record["npi"], **_therapist_fields(record, self.now)) for record in records]
        for therapist in therapists:
            therapist.slug = self.slug(therapist)
            therapist.created_at = therapist.updated_at = self.now
        Therapist.objects.bulk_create(therapists)
        offices, licences, insurer_links = [], [], []
        focus_links, concern_links, language_links = [], [], []
        for therapist, record in zip(therapists, records, strict=True):
            for office in record["offices"]:
                zip_record = self.index.by_zip[office["postal_code"]]
                offices.append(
                    Office(therapist=therapist, latitude=zip_record.latitude, longitude=zip_record.longitude, **office)
                )
            licences += [LicensedState(therapist=therapist, **licence) for licence in record["licensed_states"]]
            insurer_links += [
                TherapistInsurer(
                    therapist=therapist,
                    insurer_id=self.insurers[link["slug"]],
                    accepting_new_clients=link["accepting_new_clients"],
                )
                for link in record["insurers"]
            ]
            focus_links += [
                Therapist.focus_areas.through(therapist_id=therapist.pk, focusarea_id=self.focus_areas[slug])
                for slug in record["focus_areas"]
            ]
            concern_links += [
                Therapist.concerns.through(therapist_id=therapist.pk, concern_id=self.concerns[slug])
                for slug in record["concerns"]
            ]
            language_links += [
                Therapist.languages.through(therapist_id=therapist.pk, language_id=self.languages[code])
                for code in record["languages"]
            ]
        for rows in (offices, licences, insurer_links, focus_links, concern_links, language_links):
            if rows:
                type(rows[0]).objects.bulk_create(rows, batch_size=BATCH_SIZE)
        return [therapist.pk for therapist in therapists]


def load_national_directory(records: Iterable[dict], *, now: datetime.datetime) -> int:
    """Empty the directory, then bulk-load the records; returns how many were loaded."""
    call_command("loaddata", "reference", verbosity=0)
    empty_directory()
    loader = BulkLoader(now)
    loaded = 0
    for batch in batches(records, BATCH_SIZE):
        loader.load(batch)
        loaded += len(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return loaded
