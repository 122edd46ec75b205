"""The reads behind /fhir/: published therapists and their offices only, a page in a fixed number of queries.

Therapists come from `Therapist.objects.published()`, the rule of the search
API, in the API's name order; `near` measures with `directory.geo`, the
directory's own great-circle miles, so a distance here is the search API's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet

from directory import geo
from directory.models import FORMATS, Insurer, Office, Therapist, TherapistInsurer
from directory.vocabularies import reference_rows
from interop.plannet import vocabulary as v
from interop.plannet.parameters import Interval, Search, as_uuids

# The search API's `ordering=name`: the same therapists come out in the same order.
NAME_ORDER = ("last_name", "first_name", "id")


def therapists_for_resources() -> QuerySet[Therapist]:
    """Published therapists with what their Practitioner, PractitionerRole and Locations show: 4 queries a page."""
    return (
        Therapist.objects.published()
        .defer("listing_card", "bio", "approach")
        .prefetch_related(
            "offices",
            "languages",
            Prefetch(
                "insurer_links", queryset=TherapistInsurer.objects.select_related("insurer").order_by("insurer__name")
            ),
        )
    )


def _updated(field: str, intervals: list[Interval]) -> Q:
    condition = Q()
    for interval in intervals:
        if interval.start is not None:
            condition &= Q(**{f"{field}__gte": interval.start})
        if interval.end is not None:
            condition &= Q(**{f"{field}__lt": interval.end})
    return condition


def matching_therapists(search: Search) -> QuerySet[Therapist]:
    """The published therapists a Practitioner or PractitionerRole search finds, in name order."""
    therapists = Therapist.objects.published().filter(_updated("updated_at", search.updated))
    for values in search.values.get("_id", []) + search.values.get("practitioner", []):
        therapists = therapists.filter(public_id__in=as_uuids(values))
    for values in search.values.get("location", []):
        therapists = therapists.filter(pk__in=Office.objects.filter(public_id__in=as_uuids(values)).values("therapist"))
    for values in search.values.get("network", []):
        insurers = [insurer.pk for insurer in insurers_of(values, "network")]
        therapists = therapists.filter(pk__in=TherapistInsurer.objects.filter(insurer__in=insurers).values("therapist"))
    for values in search.values.get("specialty", []):
        condition = Q(pk__in=[])
        for code in values:
            condition |= v.specialty_condition(code)
        therapists = therapists.filter(condition)
    return therapists.order_by(*NAME_ORDER)


def therapist_page(search: Search) -> tuple[list[Therapist], int]:
    """One page of `matching_therapists` with what their resources show, and how many match: 5 queries."""
    matching = matching_therapists(search)
    total = matching.count()
    if search.offset >= total:
        return [], total
    page = therapists_for_resources().filter(pk__in=matching.values("pk")[search.offset : search.offset + search.count])
    return sorted(page, key=lambda therapist: (therapist.last_name, therapist.first_name, therapist.pk)), total


def therapist_by_public_id(public_id: str) -> Therapist | None:
    found = as_uuids([public_id])
    return therapists_for_resources().filter(public_id__in=found).first() if found else None


@dataclass
class OfficeHit:
    office: Office
    miles: float | None = None  # with `near`: great-circle miles from the place


def published_offices() -> QuerySet[Office]:
    return Office.objects.filter(therapist__in=Therapist.objects.published())


def matching_offices(search: Search) -> QuerySet[Office]:
    offices = published_offices().filter(_updated("therapist__updated_at", search.updated))
    for values in search.values.get("_id", []):
        offices = offices.filter(public_id__in=as_uuids(values))
    for name, field in (("address-postalcode", "postal_code"), ("address-state", "state")):
        for values in search.values.get(name, []):
            condition = Q()
            for value in values:
                condition |= Q(**{f"{field}__istartswith": value})
            offices = offices.filter(condition)
    return offices


def office_page(search: Search) -> tuple[list[OfficeHit], int]:
    """One page of the offices a Location search finds, and how many: by id, or nearest first with `near`.

    With `near`: the offices in the bounding box of the circle, then the exact
    great-circle distance (`geo.miles_between`, the directory's measure), in Python.
    """
    offices = matching_offices(search)
    if search.near is None:
        total = offices.count()
        page = offices.select_related("therapist").order_by("id")[search.offset : search.offset + search.count]
        return [OfficeHit(office) for office in page], total
    near = search.near
    box = geo.bounding_box(near.latitude, near.longitude, near.miles)
    candidates = offices.filter(
        latitude__gte=box.min_latitude,
        latitude__lte=box.max_latitude,
        longitude__gte=box.min_longitude,
        longitude__lte=box.max_longitude,
    ).values_list("id", "latitude", "longitude")
    distances = sorted(
        (geo.miles_between((near.latitude, near.longitude), (latitude, longitude)), office_id)
        for office_id, latitude, longitude in candidates
    )
    within = [(miles, office_id) for miles, office_id in distances if miles <= near.miles]
    chosen = within[search.offset : search.offset + search.count]
    by_id = Office.objects.select_related("therapist").in_bulk([office_id for _, office_id in chosen])
    return [OfficeHit(by_id[office_id], miles) for miles, office_id in chosen], len(within)


def office_by_public_id(public_id: str) -> Office | None:
    found = as_uuids([public_id])
    return published_offices().select_related("therapist").filter(public_id__in=found).first() if found else None


def insurers() -> list[Insurer]:
    """Every insurer, by name (the cached reference table: no query after the first)."""
    return sorted(reference_rows(Insurer, "slug").values(), key=lambda insurer: insurer.name)


def insurers_of(ids: Iterable[str], kind: str) -> list[Insurer]:
    """The insurers whose `kind` resource ("payer", "network" or "plan") has one of these ids."""
    wanted = set(ids)
    return [insurer for insurer in insurers() if v.derived_id(kind, insurer.slug) in wanted]


def formats() -> list[str]:
    return list(FORMATS)
