"""FHIR R4 Plan-Net under /fhir/: the CapabilityStatement, read by id, and search as searchset Bundles.

Views parse (`parameters`), read (`selectors`) and display (`resources`);
every error is an OperationOutcome, 400 for a bad parameter and 404 for an
unknown id or resource type, never an HTML page.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from directory.throttles import AnonymousThrottle, SignedInThrottle
from interop.plannet import resources, selectors
from interop.plannet import vocabulary as v
from interop.plannet.parameters import (
    INCLUDES,
    PARAMETERS,
    RESULT_PARAMETERS,
    ParameterError,
    Search,
    check_read_parameters,
    parse,
)

CONTENT_TYPE = "application/fhir+json"
# When this CapabilityStatement last changed: the date of the code that states it.
CAPABILITY_DATE = "2026-12-02"


def fhir_response(body: dict, status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(body, separators=(",", ":")), status=status, content_type=CONTENT_TYPE)


def outcome(status: int, code: str, message: str, expression: str | None = None) -> HttpResponse:
    issue: dict = {"severity": "error", "code": code, "diagnostics": message}
    if expression:
        issue["expression"] = [expression]
    return fhir_response({"resourceType": "OperationOutcome", "issue": [issue]}, status)


def base_url(request: HttpRequest) -> str:
    """The service base, ending in a slash: `http://host/fhir/`."""
    return request.build_absolute_uri(reverse("fhir:metadata")).removesuffix("metadata")


def throttled(request: HttpRequest) -> HttpResponse | None:
    """The API's shared limits (THROTTLE_ANON_RATE per address, THROTTLE_USER_RATE per user), as a FHIR 429."""
    for throttle in (AnonymousThrottle(), SignedInThrottle()):
        if not throttle.allow_request(request, None):
            wait = max(1, round(throttle.wait() or 1))
            response = outcome(429, "throttled", f"Too many requests: try again in {wait} seconds.")
            response["Retry-After"] = str(wait)
            return response
    return None


def fhir_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """GET and HEAD only, within the API's rate limits; a `_format` other than JSON, a bad parameter and an
    unknown type are OperationOutcomes."""

    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            response = outcome(405, "not-supported", f"{request.method} is not served: this server only reads.")
            response["Allow"] = "GET, HEAD"
            return response
        if refused := throttled(request):
            return refused
        try:
            return view(request, *args, **kwargs)
        except ParameterError as error:
            return outcome(400, "invalid", str(error), error.parameter)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    # Nothing here writes, so a POST needs no CSRF token to be told so in FHIR's own terms.
    return csrf_exempt(wrapped)


@fhir_view
def metadata(request: HttpRequest) -> HttpResponse:
    check_read_parameters(request.GET)
    return fhir_response(capability_statement(base_url(request)))


@fhir_view
def read(request: HttpRequest, resource_type: str, resource_id: str) -> HttpResponse:
    if resource_type not in PARAMETERS:
        return unsupported(resource_type)
    check_read_parameters(request.GET)
    found = READERS[resource_type](resource_id)
    if found is None:
        return outcome(404, "not-found", f"No {resource_type} with id {resource_id}.")
    return fhir_response(found)


@fhir_view
def search(request: HttpRequest, resource_type: str) -> HttpResponse:
    if resource_type not in PARAMETERS:
        return unsupported(resource_type)
    query = parse(resource_type, request.GET)
    matches, included, total, extras = SEARCHES[resource_type](query)
    return fhir_response(bundle(request, query, matches, included, total, extras))


@fhir_view
def unknown(request: HttpRequest, path: str) -> HttpResponse:
    return outcome(404, "not-found", f"Nothing is served at /fhir/{path}; see /fhir/metadata.")


def unsupported(resource_type: str) -> HttpResponse:
    return outcome(404, "not-supported", f"Resource type {resource_type} is not served here; see /fhir/metadata.")


# --- reads by id ---


def _read_practitioner(resource_id: str) -> dict | None:
    profile = selectors.profile_by_public_id(resource_id)
    return None if profile is None else resources.practitioner(profile)


def _read_role(resource_id: str) -> dict | None:
    profile = selectors.profile_by_public_id(resource_id)
    return None if profile is None else resources.practitioner_role(profile, now=timezone.now())


def _read_location(resource_id: str) -> dict | None:
    office = selectors.office_by_public_id(resource_id)
    return None if office is None else resources.location(office, office.therapist)


def _first(found: list[dict]) -> dict | None:
    return found[0] if found else None


READERS: dict[str, Callable[[str], dict | None]] = {
    "Practitioner": _read_practitioner,
    "PractitionerRole": _read_role,
    "Location": _read_location,
    "Organization": lambda resource_id: _first([r for r in organizations() if r["id"] == resource_id]),
    "HealthcareService": lambda resource_id: _first([r for r in services() if r["id"] == resource_id]),
    "InsurancePlan": lambda resource_id: _first([r for r in plans() if r["id"] == resource_id]),
}


# --- searches: (matches, included, total, {id: search extension}) ---

Found = tuple[list[dict], list[dict], int, dict[str, list[dict]]]


def _search_practitioners(query: Search) -> Found:
    profiles, total = selectors.therapist_page(query)
    return [resources.practitioner(profile) for profile in profiles], [], total, {}


def _search_roles(query: Search) -> Found:
    profiles, total = selectors.therapist_page(query)
    now = timezone.now()
    roles = [resources.practitioner_role(profile, now=now) for profile in profiles]
    included: list[dict] = []
    if "PractitionerRole:practitioner" in query.includes:
        included += [resources.practitioner(profile) for profile in profiles]
    if "PractitionerRole:location" in query.includes:
        included += [
            resources.location(office, profile.therapist) for profile in profiles for office in profile.offices
        ]
    return roles, included, total, {}


def _search_locations(query: Search) -> Found:
    hits, total = selectors.office_page(query)
    extras = {}
    for hit in hits:
        if hit.miles is not None:
            extras[str(hit.office.public_id)] = [distance_extension(hit.miles)]
    return [resources.location(hit.office, hit.office.therapist) for hit in hits], [], total, extras


def distance_extension(miles: float) -> dict:
    """FHIR's `location-distance` on a `near` match: the directory's distance, to a tenth of a mile as it shows it."""
    return {
        "url": v.LOCATION_DISTANCE,
        "valueDistance": {
            "value": round(miles, 1),
            "unit": "mi",
            "system": "http://unitsofmeasure.org",
            "code": "[mi_i]",
        },
    }


def organizations() -> list[dict]:
    return [
        built for insurer in selectors.insurers() for built in (resources.payer(insurer), resources.network(insurer))
    ]


def services() -> list[dict]:
    return [resources.healthcare_service(slug) for slug in selectors.formats()]


def plans() -> list[dict]:
    return [resources.insurance_plan(insurer) for insurer in selectors.insurers()]


def _listed(build: Callable[[], list[dict]]) -> Callable[[Search], Found]:
    """A search over a short list built from the reference data (no paging in the database)."""

    def found(query: Search) -> Found:
        matches = build()
        for values in query.values.get("_id", []):
            matches = [resource for resource in matches if resource["id"] in values]
        return matches[query.offset : query.offset + query.count], [], len(matches), {}

    return found


SEARCHES: dict[str, Callable[[Search], Found]] = {
    "Practitioner": _search_practitioners,
    "PractitionerRole": _search_roles,
    "Location": _search_locations,
    "Organization": _listed(organizations),
    "HealthcareService": _listed(services),
    "InsurancePlan": _listed(plans),
}


def bundle(
    request: HttpRequest,
    query: Search,
    matches: list[dict],
    included: list[dict],
    total: int,
    extras: dict[str, list[dict]],
) -> dict:
    """A searchset Bundle: `self`, and `next`/`previous` links carrying the same search at another `_offset`."""
    base = base_url(request)
    links = [{"relation": "self", "url": page_url(request, query.offset)}]
    if query.offset + query.count < total:
        links.append({"relation": "next", "url": page_url(request, query.offset + query.count)})
    if query.offset > 0:
        links.append({"relation": "previous", "url": page_url(request, max(0, query.offset - query.count))})
    entries = []
    for resource in matches:
        search_part: dict = {"mode": "match"}
        if resource["id"] in extras:
            search_part["extension"] = extras[resource["id"]]
        entries.append(
            {
                "fullUrl": f"{base}{resource['resourceType']}/{resource['id']}",
                "resource": resource,
                "search": search_part,
            }
        )
    seen = set()
    for resource in included:
        key = (resource["resourceType"], resource["id"])
        if key not in seen:
            seen.add(key)
            entries.append({"fullUrl": f"{base}{key[0]}/{key[1]}", "resource": resource, "search": {"mode": "include"}})
    body: dict = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": resources.instant(timezone.now()),
        "total": total,
        "link": links,
    }
    if entries:
        body["entry"] = entries
    return body


def page_url(request: HttpRequest, offset: int) -> str:
    query = request.GET.copy()
    query["_offset"] = str(offset)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def capability_statement(base: str) -> dict:
    """What this server does, built from the same tables the parser and the views use."""
    rest_resources = []
    for resource_type, parameters in PARAMETERS.items():
        entry: dict = {
            "type": resource_type,
            "profile": v.PROFILES[resource_type],
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [
                {
                    "name": parameter.name,
                    "definition": parameter.definition,
                    "type": parameter.type,
                    "documentation": parameter.documentation,
                }
                for parameter in parameters
            ],
        }
        if resource_type == "Organization":
            entry["supportedProfile"] = [v.PROFILES["Network"]]
        if resource_type in INCLUDES:
            entry["searchInclude"] = list(INCLUDES[resource_type])
        rest_resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": CAPABILITY_DATE,
        "publisher": "IPT Directory",
        "kind": "instance",
        "software": {"name": "IPT Directory"},
        "implementation": {
            "description": f"The published IPT therapist directory as Da Vinci PDex Plan-Net {v.PLAN_NET_VERSION} "
            "resources, read only",
            "url": base,
        },
        "fhirVersion": v.FHIR_VERSION,
        "format": ["json", CONTENT_TYPE],
        "rest": [
            {
                "mode": "server",
                "documentation": "Read by id and search only; no history, no writes, no XML. Result parameters: "
                + ", ".join(RESULT_PARAMETERS)
                + " (_count 1 to 100, default 20; next links carry _offset).",
                "resource": rest_resources,
            }
        ],
    }
