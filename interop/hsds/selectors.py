"""The reads behind /api/hsds/: published profiles only, the rule of the public search.

Each list is a QuerySet that the API counts and slices; the relations a page
shows are prefetched, so a page costs the same number of queries at any size.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet

from directory.models import Concern, FocusArea, Insurer, Language, LicensedState, Office, Therapist, TherapistInsurer
from interop.hsds import vocabulary as terms

# What a published profile shows; nothing else is read (no status, note, capacity, user, reply figures).
# `silenced_at` is read only to decide "accepting", as the public search does.
PUBLIC_FIELDS = [
    "id", "public_id", "slug", "first_name", "last_name", "credentials", "bio", "email", "phone", "website",
    "npi", "training_level", "offers_individual", "offers_family", "offers_group", "offers_online",
    "serves_children", "serves_adolescents", "serves_adults", "serves_older_adults", "fee_min", "fee_max",
    "sliding_scale", "accepts_new_clients", "availability_confirmed_at", "silenced_at", "is_demo", "updated_at",
]  # fmt: skip
OFFICE_FIELDS = ["id", "public_id", "therapist_id", "label", "address", "city", "state", "postal_code", "latitude",
                 "longitude", "wheelchair_accessible"]  # fmt: skip
NAME_ORDER = ["last_name", "first_name", "id"]  # the index `therapist_published_name`
MAX_SEARCH_WORDS = 8


@dataclass(frozen=True)
class Filters:
    search: str = ""
    term: terms.Term | None = None
    modified_after: datetime.datetime | None = None


def published_therapists(filters: Filters, *, now: datetime.datetime) -> QuerySet[Therapist]:
    """Published therapists matching the filters, by name, with their public fields only."""
    return (
        Therapist.objects.published()
        .filter(therapist_filter(filters, now=now))
        .only(*PUBLIC_FIELDS)
        .order_by(*NAME_ORDER)
    )


def published_offices(filters: Filters, *, now: datetime.datetime) -> QuerySet[Office]:
    """Offices of published therapists matching the filters, each with its therapist, in a stable order."""
    therapist_fields = [f"therapist__{name}" for name in PUBLIC_FIELDS]
    return (
        Office.objects.filter(therapist__status=Therapist.Status.PUBLISHED)
        .filter(therapist_filter(filters, now=now, prefix="therapist__"))
        .select_related("therapist")
        .only(*OFFICE_FIELDS, *therapist_fields)
        .order_by("id")
    )


def with_service_relations(therapists: QuerySet[Therapist], *, full: bool) -> QuerySet[Therapist]:
    """What a service shows: licences always; with `full`, offices and every vocabulary too."""
    if not full:
        return therapists.prefetch_related("licensed_states")
    return therapists.prefetch_related(
        "licensed_states",
        Prefetch("offices", queryset=Office.objects.only(*OFFICE_FIELDS)),
        "focus_areas",
        "concerns",
        "languages",
        Prefetch(
            "insurer_links", queryset=TherapistInsurer.objects.select_related("insurer").order_by("insurer__name")
        ),
    )


def with_organization_relations(therapists: QuerySet[Therapist], *, full: bool) -> QuerySet[Therapist]:
    if not full:
        return therapists
    return therapists.prefetch_related(Prefetch("offices", queryset=Office.objects.only(*OFFICE_FIELDS)))


def therapist_filter(filters: Filters, *, now: datetime.datetime, prefix: str = "") -> Q:
    """The filters as one condition on a therapist; `prefix` names the therapist from a related row."""
    condition = Q()
    for word in filters.search.split()[:MAX_SEARCH_WORDS]:
        condition &= (
            Q(**{f"{prefix}first_name__icontains": word})
            | Q(**{f"{prefix}last_name__icontains": word})
            | Q(**{f"{prefix}credentials__icontains": word})
            | Q(**{f"{prefix}bio__icontains": word})
        )
    if filters.modified_after is not None:
        condition &= Q(**{f"{prefix}updated_at__gte": filters.modified_after})
    if filters.term is not None:
        condition &= term_filter(filters.term, now=now, prefix=prefix)
    return condition


def term_filter(term: terms.Term, *, now: datetime.datetime, prefix: str = "") -> Q:
    """Therapists whose service carries an attribute with this term."""
    key, code = term.taxonomy.key, term.code
    having = {
        terms.FOCUS_AREA.key: lambda: Therapist.objects.filter(focus_areas__in=FocusArea.objects.filter(slug=code)),
        terms.CONCERN.key: lambda: Therapist.objects.filter(concerns__in=Concern.objects.filter(slug=code)),
        terms.INSURANCE.key: lambda: Therapist.objects.filter(insurers__in=Insurer.objects.filter(slug=code)),
        terms.LANGUAGE.key: lambda: Therapist.objects.filter(languages__in=Language.objects.filter(code=code)),
    }
    if key in having:
        return Q(**{f"{prefix}id__in": having[key]().values("id")})
    if key == terms.FORMAT.key:
        return Q(**{f"{prefix}offers_{code}": True})
    if key == terms.AGE_GROUP.key:
        return Q(**{f"{prefix}serves_{code.replace('-', '_')}": True})
    if key == terms.TRAINING_LEVEL.key:
        return Q(**{f"{prefix}training_level": code})
    if term == terms.LICENSED_STATE:
        return Q(**{f"{prefix}id__in": LicensedState.objects.values("therapist_id")})
    if term == terms.ACCEPTING:
        return Q(**{f"{prefix}id__in": Therapist.objects.accepting(now).values("id")})
    if term == terms.DEMO:
        return Q(**{f"{prefix}is_demo": True})
    return Q()  # every listing carries an NPI


def published_therapist(public_id: uuid.UUID, *, full: bool, now: datetime.datetime) -> Therapist | None:
    """One published therapist by public id, with what its full service shows; None when not published."""
    therapists = published_therapists(Filters(), now=now).filter(public_id=public_id)
    return with_service_relations(therapists, full=full).first()


def published_office(public_id: uuid.UUID, *, now: datetime.datetime) -> Office | None:
    return published_offices(Filters(), now=now).filter(public_id=public_id).first()
