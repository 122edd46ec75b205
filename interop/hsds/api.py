"""HSDS 3.1 under /api/hsds/: the directory's published profiles as services, organizations and locations.

Read-only JSON views: parse the parameters (`params`), read (`selectors`),
shape (`objects`), page in HSDS's envelope. The OpenAPI description served at
`/api/hsds/openapi.json` is Open Referral's own, with its template filled in.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view

from directory.models import Therapist
from directory.serializers import profile_urls
from interop.hsds import ids, objects, selectors
from interop.hsds import vocabulary as terms
from interop.hsds.params import InvalidParameters, ListQuery, parse_list_query

HSDS_VERSION = "3.1"
# This API follows HSDS 3.1 itself, no published profile; the directory's extensions are attribute taxonomies.
PROFILE_URL = "https://docs.openreferral.org/en/latest/hsds/"
SCHEMA_DIRECTORY = Path(__file__).resolve().parent / "schemas"


def get_only(view: Callable[..., JsonResponse]) -> Callable[..., JsonResponse]:
    """A GET view under DRF, for the API's shared throttles (429 with Retry-After) and its JSON errors
    (404, 405); left out of /api/schema/, since /api/hsds/openapi.json describes these paths."""
    return extend_schema(exclude=True)(api_view(["GET"])(view))


def context(request: HttpRequest) -> objects.Context:
    return objects.Context(now=timezone.now(), profile_url=profile_urls(request))


def listing(view: Callable[[HttpRequest, ListQuery], JsonResponse]) -> Callable[[HttpRequest], JsonResponse]:
    """A GET list view: its parameters parsed first, a bad one answered with a 400 naming it."""

    def parsed(request: HttpRequest) -> JsonResponse:
        try:
            query = parse_list_query(request.GET)
        except InvalidParameters as invalid:
            return JsonResponse({"errors": invalid.errors}, status=400)
        return view(request, query)

    parsed.__name__ = view.__name__
    return get_only(parsed)


def page_of(rows: QuerySet | list, query: ListQuery, shape: Callable[[list], list[dict]]) -> JsonResponse:
    """One page in HSDS's envelope, `shape` turning its rows into objects; a page past the end is empty."""
    total = rows.count() if isinstance(rows, QuerySet) else len(rows)
    start = (query.page - 1) * query.per_page
    contents = shape(page_rows(rows, start, query.per_page)) if start < total else []
    total_pages = math.ceil(total / query.per_page)
    return JsonResponse(
        {
            "total_items": total,
            "total_pages": total_pages,
            "page_number": query.page,
            "size": len(contents),
            "first_page": query.page == 1,
            "last_page": query.page >= total_pages,
            "empty": not contents,
            "contents": contents,
        }
    )


def page_rows(rows: QuerySet | list, start: int, size: int) -> list:
    """The rows of one page. A QuerySet's page is found by id first, which its ordering's index answers alone
    (`therapist_published_name`), then only those rows are read: a middle page of 100,000 skips index
    entries, not table rows."""
    if not isinstance(rows, QuerySet):
        return rows[start : start + size]
    page_ids = list(rows.values_list("pk", flat=True)[start : start + size])
    by_id = rows.in_bulk(page_ids)
    return [by_id[row_id] for row_id in page_ids if row_id in by_id]


@get_only
def root(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "version": HSDS_VERSION,
            "profile": PROFILE_URL,
            "openapi_url": request.build_absolute_uri(reverse("hsds:openapi")),
        }
    )


@get_only
def openapi(request: HttpRequest) -> JsonResponse:
    """Open Referral's OpenAPI description of the HSDS API, limited to the GET operations served here."""
    document = json.loads(openapi_template())
    document["info"] = {
        "title": "IPT Directory: HSDS 3.1 API",
        "version": "1.0",
        "summary": "Published profiles of therapists trained in interpersonal therapy (IPT), in HSDS 3.1.",
        "description": "Read only. Services are therapists' IPT services, organizations their practices, "
        "locations their offices; the directory's vocabularies are attribute taxonomies (see /taxonomies).",
        "license": {"name": "HSDS schemas: CC BY-SA 4.0, Open Referral",
                    "url": "https://creativecommons.org/licenses/by-sa/4.0/"},
    }  # fmt: skip
    document["servers"] = [{"url": request.build_absolute_uri(reverse("hsds:root")).rstrip("/")}]
    document["paths"] = {path: served_operations(path, item) for path, item in document["paths"].items()}
    return JsonResponse(document)


# The query parameters of Open Referral's description that these views read; the others
# (`format`, `minimal`, `postcode`, `proximity`, `full_service`, ...) are left out of what is served.
SERVED_PARAMETERS = {"search", "page", "per_page", "full", "taxonomy_term_id", "modified_after", "organization_id"}


def served_operations(path: str, item: dict) -> dict:
    """A path of the template as served: its GET only, with only the parameters these views read."""
    served = SERVED_PARAMETERS | ({"taxonomy_id"} if path == "/taxonomy_terms" else set())

    def is_served(parameter: dict) -> bool:
        name = parameter.get("name") or parameter.get("$ref", "").rsplit("/", 1)[-1]
        return parameter.get("in") == "path" or name in served

    operations = {key: value for key, value in item.items() if key in ("get", "parameters")}
    if "get" in operations:
        get = operations["get"]
        operations["get"] = {**get, "parameters": [p for p in get.get("parameters", []) if is_served(p)]}
    return operations


@lru_cache(maxsize=1)
def openapi_template() -> str:
    return (SCHEMA_DIRECTORY / "openapi.json").read_text()


@listing
def services(request: HttpRequest, query: ListQuery) -> JsonResponse:
    shape_context = context(request)

    def shape(therapists: list[Therapist]) -> list[dict]:
        related = selectors.related([therapist.id for therapist in therapists], full=query.full)
        return [objects.service(therapist, related[therapist.id], shape_context, full=query.full)
                for therapist in therapists]  # fmt: skip

    return page_of(selectors.published_therapists(query.filters, now=shape_context.now), query, shape)


@get_only
def service(request: HttpRequest, object_id: uuid.UUID) -> JsonResponse:
    shape_context = context(request)
    therapist = selectors.published_therapist(object_id, now=shape_context.now)
    if therapist is None:
        raise Http404("No published service has this id.")
    related = selectors.related([therapist.id], full=True)[therapist.id]
    return JsonResponse(objects.service(therapist, related, shape_context, full=True))


@listing
def organizations(request: HttpRequest, query: ListQuery) -> JsonResponse:
    therapists = selectors.published_therapists(query.filters, now=timezone.now())
    therapists = selectors.with_organization_relations(therapists, full=query.full)
    return page_of(
        therapists, query, lambda page: [objects.organization(therapist, full=query.full) for therapist in page]
    )


@get_only
def organization(request: HttpRequest, object_id: uuid.UUID) -> JsonResponse:
    public_id = ids.unlinked(object_id, ids.ORGANIZATION)
    therapists = selectors.published_therapists(selectors.Filters(), now=timezone.now()).filter(public_id=public_id)
    therapist = selectors.with_organization_relations(therapists, full=True).first()
    if therapist is None:
        raise Http404("No published organization has this id.")
    return JsonResponse(objects.organization(therapist, full=True))


@listing
def service_at_locations(request: HttpRequest, query: ListQuery) -> JsonResponse:
    offices = selectors.published_offices(query.filters, now=timezone.now())
    return page_of(
        offices,
        query,
        lambda page: [objects.service_at_location(office, office.therapist, full=query.full) for office in page],
    )


@get_only
def service_at_location(request: HttpRequest, object_id: uuid.UUID) -> JsonResponse:
    office = selectors.published_office(ids.unlinked(object_id, ids.SERVICE_AT_LOCATION), now=timezone.now())
    if office is None:
        raise Http404("No published service_at_location has this id.")
    return JsonResponse(objects.service_at_location(office, office.therapist, full=True))


def vocabulary_page(request: HttpRequest, items: Iterable) -> JsonResponse:
    """Taxonomies and terms are small and held in memory: `search` matches their names."""
    try:
        query = parse_list_query(request.GET, filterable=False)
    except InvalidParameters as invalid:
        return JsonResponse({"errors": invalid.errors}, status=400)
    needle = query.filters.search.casefold()
    matching = [item for item in items if needle in item.name.casefold()]
    return page_of(matching, query, lambda page: [item.as_hsds() for item in page])


@get_only
def taxonomies(request: HttpRequest) -> JsonResponse:
    return vocabulary_page(request, terms.TAXONOMIES)


@get_only
def taxonomy(request: HttpRequest, object_id: uuid.UUID) -> JsonResponse:
    found = next((item for item in terms.TAXONOMIES if item.id == object_id), None)
    if found is None:
        raise Http404("No taxonomy has this id.")
    return JsonResponse(found.as_hsds())


@get_only
def taxonomy_terms(request: HttpRequest) -> JsonResponse:
    taxonomy_id = request.GET.get("taxonomy_id", "")
    items = terms.all_terms()
    if taxonomy_id:
        known = {str(item.id) for item in terms.TAXONOMIES}
        if taxonomy_id not in known:
            return JsonResponse(
                {"errors": {"taxonomy_id": ["Unknown taxonomy: see /api/hsds/taxonomies."]}}, status=400
            )
        items = [item for item in items if str(item.taxonomy.id) == taxonomy_id]
    return vocabulary_page(request, items)


@get_only
def taxonomy_term(request: HttpRequest, object_id: uuid.UUID) -> JsonResponse:
    found = terms.terms_by_id().get(object_id)
    if found is None:
        raise Http404("No taxonomy term has this id.")
    return JsonResponse(found.as_hsds())
