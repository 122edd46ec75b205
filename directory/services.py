"""Directory writes that the pages, the API and commands share: loading therapists in bulk, demo accounts."""

from __future__ import annotations

import datetime

from django.db import transaction

from directory import search
from directory.models import (
    AGE_GROUPS,
    FORMATS,
    Concern,
    FocusArea,
    Insurer,
    Language,
    LicensedState,
    Office,
    Therapist,
    TherapistInsurer,
)


def _therapist_fields(record: dict, now: datetime.datetime) -> dict:
    days_ago = record.get("availability_confirmed_days_ago")
    fields = {
        name: record[name]
        for name in (
            "first_name", "last_name", "credentials", "pronouns", "bio", "approach", "email",
            "phone", "website", "training_level", "fee_min", "fee_max", "sliding_scale",
            "session_cadence", "accepts_new_clients", "capacity", "status", "is_demo",
        )
    }  # fmt: skip
    fields["availability_confirmed_at"] = None if days_ago is None else now - datetime.timedelta(days=days_ago)
    for format_slug in FORMATS:
        fields[f"offers_{format_slug}"] = format_slug in record["formats"]
    for age_group in AGE_GROUPS:
        fields[f"serves_{age_group.replace('-', '_')}"] = age_group in record["age_groups"]
    return fields


@transaction.atomic
def load_directory(records: list[dict], *, now: datetime.datetime) -> int:
    """Create or update therapists from plain records, keyed by NPI; idempotent.

    Dates in the records are relative to `now`. Offices, licences and insurer
    links are replaced by the record's, so loading twice duplicates nothing.
    """
    insurers = {insurer.slug: insurer for insurer in Insurer.objects.all()}
    focus_areas = {area.slug: area for area in FocusArea.objects.all()}
    concerns = {concern.slug: concern for concern in Concern.objects.all()}
    languages = {language.code: language for language in Language.objects.all()}
    loaded = []
    for record in records:
        therapist, _ = Therapist.objects.update_or_create(npi=record["npi"], defaults=_therapist_fields(record, now))
        therapist.focus_areas.set([focus_areas[slug] for slug in record["focus_areas"]])
        therapist.concerns.set([concerns[slug] for slug in record["concerns"]])
        therapist.languages.set([languages[code] for code in record["languages"]])
        therapist.insurer_links.all().delete()
        TherapistInsurer.objects.bulk_create(
            TherapistInsurer(
                therapist=therapist,
                insurer=insurers[link["slug"]],
                accepting_new_clients=link["accepting_new_clients"],
            )
            for link in record["insurers"]
        )
        therapist.offices.all().delete()
        for office in record["offices"]:
            Office.objects.create(therapist=therapist, **office)
        therapist.licensed_states.all().delete()
        LicensedState.objects.bulk_create(
            LicensedState(therapist=therapist, **licence) for licence in record["licensed_states"]
        )
        loaded.append(therapist.pk)
    search.refresh(loaded)
    return len(records)
