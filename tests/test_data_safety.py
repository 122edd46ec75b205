"""Backups that restore: dumpdata then loaddata gives back the same demo directory."""

from __future__ import annotations

import datetime
import io
import json

import pytest
from django.core.management import call_command

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

pytestmark = pytest.mark.django_db

MODELS = [Therapist, Office, LicensedState, TherapistInsurer, SearchEntry, Insurer, FocusArea, Concern, Language]


def _milliseconds(row: dict) -> dict:
    # Django's JSON serializer writes times to the millisecond; finer digits are not data anyone reads.
    return {key: value.replace(microsecond=value.microsecond // 1000 * 1000) if isinstance(value, datetime.datetime)
            else value for key, value in row.items()}  # fmt: skip


def snapshot() -> dict[str, list]:
    """Every row of the directory, with its many-to-many links, as plain sorted data."""
    rows = {
        model.__name__: sorted(repr(_milliseconds(row)) for row in model.objects.order_by("pk").values())
        for model in MODELS
    }
    for name in ("focus_areas", "concerns", "languages"):
        through = Therapist._meta.get_field(name).remote_field.through
        # The through rows' own ids are not part of a backup; the links are.
        rows[name] = sorted(through.objects.values_list(*[field.attname for field in through._meta.fields[1:]]))
    return rows


def test_dumpdata_loaddata_round_trip_loses_nothing(tmp_path: object) -> None:
    before = snapshot()
    assert len(before["Therapist"]) >= 300
    dump = io.StringIO()
    call_command("dumpdata", "directory", "--natural-foreign", stdout=dump)
    backup = tmp_path / "directory.json"
    backup.write_text(dump.getvalue())
    assert json.loads(backup.read_text())

    rows_before_what_they_link = (SearchEntry, TherapistInsurer, LicensedState, Office, Therapist)
    for model in (*rows_before_what_they_link, Insurer, FocusArea, Concern, Language):
        model.objects.all().delete()
    assert not Therapist.objects.exists()

    call_command("loaddata", str(backup), verbosity=0)
    assert snapshot() == before
