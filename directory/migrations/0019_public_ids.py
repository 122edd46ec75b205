"""Stable public ids for therapists and offices (the ids HSDS and FHIR publish).

Added nullable, filled with a fresh UUID per row, then made unique and required:
the recipe of Django's "Migrations that add unique fields".
"""

import uuid

from django.db import migrations, models

BATCH = 2000


def fill(apps, schema_editor):
    for name in ("Therapist", "Office"):
        model = apps.get_model("directory", name)
        rows = list(model.objects.filter(public_id__isnull=True).only("pk"))
        for row in rows:
            row.public_id = uuid.uuid4()
        model.objects.bulk_update(rows, ["public_id"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [("directory", "0018_listingreport_staff_note")]

    operations = [
        migrations.AddField("therapist", "public_id", models.UUIDField(null=True, editable=False)),
        migrations.AddField("office", "public_id", models.UUIDField(null=True, editable=False)),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            "therapist", "public_id", models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
        ),
        migrations.AlterField("office", "public_id", models.UUIDField(default=uuid.uuid4, unique=True, editable=False)),
    ]
