"""The reads behind /fhir/: published therapists and their offices only, a page in a fixed number of queries.

Therapists come from `Therapist.objects.published()`, the rule of the search
API, in the API's name order; `near` measures with `directory.geo`, the
directory's own great-circle miles, so a distance here is the search API's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from directory import geo
from directory.models import FORMATS, Insurer, Language, Office, Therapist, TherapistInsurer
from directory.vocabularies import reference_rows
from interop.plannet import vocabulary as v
from interop.plannet.parameters import Interval, Search, as_uuids

# The search API's `ordering=name`: the same therapists come out in the same order.
NAME_ORDER = ("last_name", "first_name", "id")


@dataclass
class Profile:
    """A published therapist with what their Practitioner, PractitionerRole and Locations show."""

    therapist: Therapist
    offices: list[Office] = field(default_factory=list)
    # Each insurer whose network the therapist is in, by name, with whether that panel takes new clients.
    networks: list[tuple[Insurer, bool]] = field(default_factory=list)
    languages: list[Language] = field(default_factory=list)


# The columns the resources show (and `is_accepting` reads): a page reads no other.
SHOWN = (
    "id", "public_id", "npi", "first_name", "last_name", "credentials", "training_level", "phone", "email",
    "website", "offers_individual", "offers_family", "offers_group", "offers_online", "accepts_new_clients",
    "availability_confirmed_at", "silenced_at", "updated_at",
)  # fmt: skip


def public_therapists() -> QuerySet[Therapist]:
    """Published therapists, with only the columns their resources show."""
    return Therapist.objects.published().only(*SHOWN)


def profiles_of(therapists: list[Therapist]) -> list[Profile]:
    """These therapists' profiles, in their order: 3 queries whatever their number.

    Insurers and languages come from the cached reference tables, the links as
    plain rows: building two model instances per link cost more than the rest of a page.
    """
    profiles = {therapist.pk: Profile(therapist) for therapist in therapists}
    for office in Office.objects.filter(therapist__in=list(profiles)).order_by("id"):
        profiles[office.therapist_id].offices.append(office)
    insurer_of = {insurer.pk: insurer for insurer in reference_rows(Insurer, "slug").values()}
    links = TherapistInsurer.objects.filter(therapist__in=list(profiles))
    for therapist_id, insurer_id, accepting in links.values_list("therapist_id", "insurer_id", "accepting_new_clients"):
        profiles[therapist_id].networks.append((insurer_of[insurer_id], accepting))
    language_of = {language.pk: language for language in reference_rows(Language, "code").values()}
    spoken = Therapist.languages.through.objects.filter(therapist__in=list(profiles))
    for therapist_id, language_id in spoken.values_list("therapist_id", "language_id"):
        profiles[therapist_id].languages.append(language_of[language_id])
    for profile in profiles.values():
        profile.networks.sort(key=lambda network: network[0].name)
        profile.languages.sort(key=lambda language: language.name)
    return list(profiles.values())


def _updated(column: str, intervals: list[Interval]) -> Q:
    """`_lastUpdated`: every interval met (a repeated parameter is all-of)."""
    condition = Q()
    for interval in intervals:
        if interval.start is not None:
            condition &= Q(**{f"{column}__gte": interval.start})
        if interval.end is not None:
            condition &= Q(**{f"{column}__lt": interval.end})
    return condition


def matching_therapists(search: Search) -> QuerySet[Therapist]:
    """The published therapists a Practitioner or PractitionerRole search finds, in name order.

    With `specialty`, the published credential texts are read here, once (one query)."""
    therapists = Therapist.objects.published().filter(_updated("updated_at", search.updated))
    for values in search.values.get("_id", []) + search.values.get("practitioner", []):
        therapists = therapists.filter(public_id__in=as_uuids(values))
    for values in search.values.get("location", []):
        therapists = therapists.filter(pk__in=Office.objects.filter(public_id__in=as_uuids(values)).values("therapist"))
    for values in search.values.get("network", []):
        insurers = [insurer.pk for insurer in insurers_of(values, "network")]
        therapists = therapists.filter(pk__in=TherapistInsurer.objects.filter(insurer__in=insurers).values("therapist"))
    specialties = search.values.get("specialty", [])
    texts = published_credentials() if specialties else None
    for codes in specialties:
        therapists = therapists.filter(_specialty(codes, texts))
    return therapists.order_by(*NAME_ORDER)


# Past this many distinct published credential texts, a specialty search tests its keywords in SQL instead of
# listing the texts it matches: a list that long would cost more than it saves (and SQLite bounds its parameters).
LISTED_CREDENTIALS = 1000


def published_credentials() -> list[str] | None:
    """The published therapists' distinct credential texts, in order; None past `LISTED_CREDENTIALS`.

    A loose index scan: each text is the least above the one before, one seek in the index, so the read grows
    with the texts, not the therapists (PostgreSQL's DISTINCT would read every published therapist's entry).
    """
    published = Therapist.objects.published().order_by("credentials").values("credentials")
    first, first_params = published[:1].query.sql_with_params()
    after = published.filter(credentials__gt=RawSQL("texts.credentials", ()))[:1]
    following, following_params = after.query.sql_with_params()
    query = (
        f"WITH RECURSIVE texts(credentials) AS (SELECT * FROM ({first}) AS lowest UNION ALL "
        f"SELECT ({following}) FROM texts WHERE texts.credentials IS NOT NULL) "
        "SELECT credentials FROM texts WHERE credentials IS NOT NULL LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [*first_params, *following_params, LISTED_CREDENTIALS + 1])
        texts = [text for (text,) in cursor.fetchall()]
    return texts if len(texts) <= LISTED_CREDENTIALS else None


def _specialty(codes: list[str], texts: list[str] | None) -> Q:
    """`specialty`: credentials naming any of these codes. The texts that do are listed (`specialties_of`, the
    one rule), so the count reads only their therapists' index entries, not every therapist's credentials."""
    if texts is not None:
        return Q(credentials__in=v.credentials_naming(codes, texts))
    condition = Q(pk__in=[])
    for code in codes:
        condition |= v.specialty_condition(code)
    return condition


def therapist_page(search: Search) -> tuple[list[Profile], int]:
    """One page of `matching_therapists` with what their resources show, and how many match: 5 queries
    (and the credential texts first with `specialty`)."""
    matching = matching_therapists(search)
    total = matching.count()
    if search.offset >= total:
        return [], total
    page = public_therapists().filter(pk__in=matching.values("pk")[search.offset : search.offset + search.count])
    return profiles_of(
        sorted(page, key=lambda therapist: (therapist.last_name, therapist.first_name, therapist.pk))
    ), total


def profile_by_public_id(public_id: str) -> Profile | None:
    found = as_uuids([public_id])
    therapist = public_therapists().filter(public_id__in=found).first() if found else None
    return None if therapist is None else profiles_of([therapist])[0]


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
    for name, column in (("address-postalcode", "postal_code"), ("address-state", "state")):
        for values in search.values.get(name, []):
            condition = Q()
            for value in values:
                condition |= Q(**{f"{column}__istartswith": value})
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
        if search.offset >= total:
            return [], total
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
