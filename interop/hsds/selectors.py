"""The reads behind /api/hsds/: published profiles only, the rule of the public search.

Each list is a QuerySet that the API counts and slices; the relations a page
shows are prefetched, so a page costs the same number of queries at any size.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q, QuerySet

from directory.models import Concern, FocusArea, Insurer, Language, LicensedState, Office, Therapist, TherapistInsurer
from directory.vocabularies import reference_rows
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
    therapist_public_id: uuid.UUID | None = None  # from `organization_id`: the practice's own therapist


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


@dataclass(frozen=True)
class Related:
    """What a service shows beside the therapist's own fields, read in one query per relation."""

    licences: list[tuple[str, str]] = field(default_factory=list)  # (state, basis)
    offices: list[Office] = field(default_factory=list)
    focus_areas: list[FocusArea] = field(default_factory=list)
    concerns: list[Concern] = field(default_factory=list)
    languages: list[Language] = field(default_factory=list)
    insurers: list[Insurer] = field(default_factory=list)


def related(therapist_ids: list[int], *, full: bool) -> dict[int, Related]:
    """Each therapist's licences; with `full`, their offices and vocabularies too.

    The vocabularies come from the through tables and the per-process reference
    rows (`directory.vocabularies`), not as model rows per link: a page of 100
    services reads a few thousand small tuples, not a few thousand models.
    """
    found: dict[int, dict[str, list]] = {therapist_id: {} for therapist_id in therapist_ids}
    licences = LicensedState.objects.filter(therapist_id__in=therapist_ids).order_by("state")
    for therapist_id, state, basis in licences.values_list("therapist_id", "state", "basis"):
        found[therapist_id].setdefault("licences", []).append((state, basis))
    if full:
        for office in Office.objects.filter(therapist_id__in=therapist_ids).only(*OFFICE_FIELDS).order_by("id"):
            found[office.therapist_id].setdefault("offices", []).append(office)
        for name, through, column, model, key in VOCABULARY_LINKS:
            rows = {row.pk: row for row in reference_rows(model, key).values()}
            links = through().objects.filter(therapist_id__in=therapist_ids).values_list("therapist_id", column)
            for therapist_id, row_id in links:
                found[therapist_id].setdefault(name, []).append(rows[row_id])
        for lists in found.values():
            for name, *_ in VOCABULARY_LINKS:
                lists.get(name, []).sort(key=lambda row: row.name)
    return {therapist_id: Related(**lists) for therapist_id, lists in found.items()}


VOCABULARY_LINKS = [
    ("focus_areas", lambda: Therapist.focus_areas.through, "focusarea_id", FocusArea, "slug"),
    ("concerns", lambda: Therapist.concerns.through, "concern_id", Concern, "slug"),
    ("languages", lambda: Therapist.languages.through, "language_id", Language, "code"),
    ("insurers", lambda: TherapistInsurer, "insurer_id", Insurer, "slug"),
]


def with_organization_relations(therapists: QuerySet[Therapist], *, full: bool) -> QuerySet[Therapist]:
    """An organization shown `full` lists its offices: one query more."""
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
    if filters.therapist_public_id is not None:
        condition &= Q(**{f"{prefix}public_id": filters.therapist_public_id})
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


def published_therapist(public_id: uuid.UUID, *, now: datetime.datetime) -> Therapist | None:
    return published_therapists(Filters(), now=now).filter(public_id=public_id).first()


def published_office(public_id: uuid.UUID, *, now: datetime.datetime) -> Office | None:
    return published_offices(Filters(), now=now).filter(public_id=public_id).first()
