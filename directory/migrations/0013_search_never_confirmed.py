"""Entries of therapists who accept new clients but never confirmed it store 1970-01-01 in `accepting_since`
(`directory.search.models.NEVER_CONFIRMED`) instead of null, so that matching counts them as unconfirmed,
not as not accepting."""

import datetime

from django.db import migrations

NEVER_CONFIRMED = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def mark_never_confirmed(apps, schema_editor):
    SearchEntry = apps.get_model("directory", "SearchEntry")
    SearchEntry.objects.filter(
        accepting_since__isnull=True,
        therapist__accepts_new_clients=True,
        therapist__availability_confirmed_at__isnull=True,
    ).update(accepting_since=NEVER_CONFIRMED)


def unmark(apps, schema_editor):
    SearchEntry = apps.get_model("directory", "SearchEntry")
    SearchEntry.objects.filter(accepting_since=NEVER_CONFIRMED).update(accepting_since=None)


class Migration(migrations.Migration):
    dependencies = [("directory", "0012_search_by_unit_vectors")]

    operations = [migrations.RunPython(mark_never_confirmed, unmark)]
