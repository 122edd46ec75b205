"""Directory reads and writes that the page, the API and commands share."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from directory import geo, search
from directory.models import (
    AGE_GROUPS,
    FORMATS,
    Concern,
    FocusArea,
    Insurer,
    Language,
    LicensedState,
    Office,
    SearchEntry,
    Therapist,
    TherapistInsurer,
    is_ascii_digits,
)
from directory.serializers import listing_card

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def parse_page_parameters(query: Mapping[str, str]) -> tuple[int, int]:
    """`page` (from 1) and `page_size` (1 to 100), or a ValidationError naming the field."""
    errors: dict[str, list[str]] = {}
    values = {}
    for name, default, maximum in (("page", 1, None), ("page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)):
        raw = query.get(name)
        if raw in (None, ""):
            values[name] = default
            continue
        if not is_ascii_digits(str(raw)) or int(raw) < 1:
            errors[name] = [f"{name} must be a whole number from 1."]
        elif maximum is not None and int(raw) > maximum:
            errors[name] = [f"{name} must be at most {maximum}."]
        else:
            values[name] = int(raw)
    if errors:
        raise ValidationError(errors)
    return values["page"], values["page_size"]


def attach_distances(therapists: Iterable[Therapist] | Iterable[search.ResultCard]) -> None:
    """Set `distance_miles` on therapists of one page: great-circle miles to their nearest office, to a tenth.

    Read from `distance_sort`, the squared chord the search sorted by (exact,
    see `SquaredChord`); a therapist found without an office (online only, or
    no place given) gets None.
    """
    for therapist in therapists:
        squared = getattr(therapist, "distance_sort", None)
        therapist.distance_miles = None if squared is None else round(geo.chord_miles(squared), 1)


REFRESH_BATCH_SIZE = 1000


def refresh_listing(therapist_ids: Iterable[int]) -> dict[int, str]:
    """Rebuild what search reads of these therapists: the listing card and the search entries.

    Search finds therapists through their `SearchEntry` rows and shows their
    stored cards (`Therapist.listing_card`), not the related tables: every
    service that changes a profile (its status, availability, offices,
    licences, insurer links, focus areas, concerns or languages), or the name
    of a reference row, must call this for the therapists it touched, after its
    writes. Returns the new cards by id.
    """
    ids = list(dict.fromkeys(therapist_ids))
    cards = {}
    for start in range(0, len(ids), REFRESH_BATCH_SIZE):
        batch = ids[start : start + REFRESH_BATCH_SIZE]
        with transaction.atomic():
            therapists = list(Therapist.objects.filter(pk__in=batch).for_listing())
            for therapist in therapists:
                therapist.listing_card = cards[therapist.pk] = listing_card(therapist)
            Therapist.objects.bulk_update(therapists, ["listing_card"], batch_size=500)
            entries = [entry for therapist in therapists for entry in search.entries_of(therapist)]
            SearchEntry.objects.filter(therapist_id__in=batch).delete()
            SearchEntry.objects.bulk_create(entries, batch_size=1000)
    return cards


def page_therapists(result: search.ResultPage, therapists: QuerySet) -> list[Therapist]:
    """The therapists of a page of results, in its order, each with its `distance_sort` (None without an office)."""
    by_id = therapists.order_by().in_bulk(result.therapist_ids)
    page = []
    for hit in result.hits:
        therapist = by_id.get(hit.therapist_id)
        if therapist is not None:  # unless unpublished between the two queries
            therapist.distance_sort = hit.squared_distance
            page.append(therapist)
    return page


def page_card_texts(therapists: list[Therapist] | list[search.ResultCard]) -> list[str]:
    """The listing cards of one page of results as stored (JSON text), with `distance_miles` set on each therapist.

    A card that was never built (a profile written without `refresh_listing`) is built now.
    """
    missing = [therapist.pk for therapist in therapists if not therapist.listing_card]
    rebuilt = refresh_listing(missing) if missing else {}
    attach_distances(therapists)
    return [therapist.listing_card or rebuilt[therapist.pk] for therapist in therapists]


def page_cards(therapists: list[Therapist]) -> list[dict]:
    """The parsed listing cards of one page of results, with `distance_miles` set on each therapist."""
    return [json.loads(text) for text in page_card_texts(therapists)]


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
    refresh_listing(loaded)
    return len(records)
