"""The bulk loader's bulk paths (PostgreSQL COPY, SQLite executemany with triggers and indexes off) store
what the services store: the same rows, listing cards, search entries and free text index."""

from __future__ import annotations

import enum

import pytest
from django.db import connection
from django.utils import timezone

from bench.generate import national_records
from bench.load import LOADED_MODELS, load_national_directory
from directory.models import SearchEntry, Therapist
from directory.services import load_directory

# Written by the clock or drawn at random, so not the same in two loads.
UNREPEATABLE = {"id", "public_id", "created_at", "updated_at"}


def values(row: object, model: type) -> tuple:
    fields = [field.attname for field in model._meta.concrete_fields if field.name not in UNREPEATABLE]
    found = (getattr(row, name) for name in fields if name != "therapist_id")
    return tuple(value.value if isinstance(value, enum.Enum) else value for value in found)


def free_text_index() -> dict[str, list]:
    """Per NPI, what the free text index holds of the therapist's profile entry (its words, on PostgreSQL)."""
    if connection.vendor == "sqlite":
        sql = """SELECT t.npi, s.text FROM directory_searchtext s JOIN directory_therapist t ON t.id = s.rowid"""
    else:
        sql = """SELECT t.npi, ARRAY(SELECT w.word FROM directory_searchword w WHERE w.id = ANY(p.words) ORDER BY w.id)
                 FROM directory_profilewords p JOIN directory_searchentry e ON e.id = p.entry_id
                 JOIN directory_therapist t ON t.id = e.therapist_id
                 WHERE e.words = p.words"""
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return {npi: sorted(text) if isinstance(text, list) else text for npi, text in cursor.fetchall()}


def directory_snapshot() -> dict[str, dict]:
    """Everything stored of each therapist, by NPI, but for ids, public ids and timestamps."""
    snapshot = {}
    for therapist in Therapist.objects.for_listing().prefetch_related("search_entries"):
        links = therapist.insurer_links.all()
        snapshot[therapist.npi] = {
            "therapist": values(therapist, Therapist),
            "offices": [values(office, type(office)) for office in therapist.offices.all()],
            "licences": sorted(values(licence, type(licence)) for licence in therapist.licensed_states.all()),
            "insurers": sorted((link.insurer.slug, link.accepting_new_clients) for link in links),
            "focus_areas": sorted(row.slug for row in therapist.focus_areas.all()),
            "concerns": sorted(row.slug for row in therapist.concerns.all()),
            "languages": sorted(row.code for row in therapist.languages.all()),
            "entries": sorted((values(entry, SearchEntry) for entry in therapist.search_entries.all()), key=repr),
        }
    return snapshot


@pytest.mark.django_db
def test_a_bulk_loaded_directory_is_stored_as_the_services_store_it() -> None:
    records, now = list(national_records(120, seed=11)), timezone.now()
    assert {record["status"] for record in records} > {"published"}  # unpublished ones too: cards, no entries
    load_national_directory([], now=now)  # an empty directory
    load_directory(records, now=now)
    saved, saved_text = directory_snapshot(), free_text_index()

    assert load_national_directory(records, now=now) == 120

    loaded = directory_snapshot()
    assert loaded.keys() == saved.keys()
    for npi, stored in saved.items():
        assert loaded[npi] == stored, npi
    assert free_text_index() == saved_text
    assert len(saved_text) == Therapist.objects.published().count()


def foreign_keys() -> set[tuple[str, str]]:
    tables = [model._meta.db_table for model in LOADED_MODELS]
    with connection.cursor() as cursor:
        return {
            (table, name)
            for table in tables
            for name, constraint in connection.introspection.get_constraints(cursor, table).items()
            if constraint["foreign_key"]
        }


def triggers() -> set[str]:
    sql = (
        "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        if connection.vendor == "sqlite"
        else "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'O'"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return {name for (name,) in cursor.fetchall()}


def index_names() -> set[str]:
    with connection.cursor() as cursor:
        return {
            name
            for model in LOADED_MODELS
            for name in connection.introspection.get_constraints(cursor, model._meta.db_table)
        }


@pytest.mark.django_db
def test_the_load_puts_back_the_indexes_triggers_and_keys_it_set_aside() -> None:
    before = foreign_keys(), triggers(), index_names()

    load_national_directory(national_records(50), now=timezone.now())

    assert (foreign_keys(), triggers(), index_names()) == before
    # Ids were given by the loader: the next profile saved the usual way gets the one after theirs.
    record = {**next(iter(national_records(51, seed=3))), "npi": "1234567893"}
    load_directory([record], now=timezone.now())
    assert Therapist.objects.get(npi="1234567893").pk == Therapist.objects.exclude(npi="1234567893").count() + 1
