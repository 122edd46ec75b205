"""HSDS 3.1 under /api/hsds/: every object validates, the envelope pages, the parameters filter or are refused."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from directory import search
from directory.models import Insurer, Therapist
from interop.hsds import ids
from interop.hsds import vocabulary as terms
from tests.conftest import make_therapist, valid_npi
from tests.interop.hsds_schemas import errors

pytestmark = pytest.mark.django_db
ENVELOPE = ["total_items", "total_pages", "page_number", "size", "first_page", "last_page", "empty", "contents"]
LISTS = {
    "services": "service.json",
    "organizations": "organization.json",
    "service_at_locations": "service_at_location.json",
    "taxonomies": "taxonomy.json",
    "taxonomy_terms": "taxonomy_term.json",
}
DETAILS = LISTS


def get(path: str, **params: str) -> dict:
    response = Client().get(f"/api/hsds/{path}", params)
    assert response.status_code == 200, response.content[:500]
    return response.json()


def every_item(path: str, **params: str) -> list[dict]:
    """All the contents of a list, page after page."""
    items, page = [], 1
    while True:
        body = get(path, page=str(page), per_page="500", **params)
        items.extend(body["contents"])
        if body["last_page"]:
            return items
        page += 1


def test_root_gives_the_version_the_profile_and_an_openapi_description_that_is_served() -> None:
    root = get("")
    assert root["version"] == "3.1"
    assert root["profile"].startswith("https://")
    assert root["openapi_url"] == "http://testserver/api/hsds/openapi.json"
    description = get("openapi.json")
    assert description["info"]["title"] == "IPT Directory: HSDS 3.1 API"
    assert "/services/{id}" in description["paths"]
    assert all(set(item) <= {"get", "parameters"} for item in description["paths"].values())
    services = [
        parameter.get("name") or parameter["$ref"].rsplit("/", 1)[-1]
        for parameter in description["paths"]["/services"]["get"]["parameters"]
    ]
    assert sorted(services) == sorted(
        ["search", "page", "per_page", "taxonomy_term_id", "organization_id", "modified_after", "full"]
    )  # what the view reads; `format`, `minimal`, `taxonomy_id` are not served


@pytest.mark.parametrize("full", ["false", "true"])
@pytest.mark.parametrize("path", LISTS)
def test_every_object_of_every_list_validates_against_the_hsds_schemas(path: str, full: str) -> None:
    items = every_item(path, full=full)
    assert items
    problems = {item["id"]: found for item in items if (found := errors(item, LISTS[path]))}
    assert problems == {}


@pytest.mark.parametrize("path", DETAILS)
def test_every_object_read_by_its_id_validates_and_is_fully_nested(path: str) -> None:
    items = every_item(path)
    for item in items:
        detail = get(f"{path}/{item['id']}")
        assert detail["id"] == item["id"]
        assert errors(detail, DETAILS[path]) == []
    nested = {"services": "attributes", "organizations": "locations", "service_at_locations": "location"}
    assert nested.get(path, "id") in detail


def test_a_therapist_maps_onto_service_organization_locations_costs_and_attributes() -> None:
    therapist = make_therapist(
        npi=valid_npi("199000101"), first_name="Hana", last_name="Mapped", fee_min=90, fee_max=150,
        sliding_scale=True, offers_online=True, email="hana@practice.example", phone="212-555-0101",
        website="https://hana.example", bio="Grief and role transitions.", insurers=("aetna", "cigna"),
        licensed=("NY", "NJ"),
    )  # fmt: skip
    service = get(f"services/{therapist.public_id}")
    assert service["name"] == "Interpersonal therapy (IPT) with Hana Mapped, LCSW"
    assert service["url"] == f"http://testserver/therapists/{therapist.slug}/"
    assert service["wait_time"].startswith("Accepting new clients")
    assert service["fees_description"] == "Self-pay: $90 to $150 per session; sliding scale available."
    assert [(option["option"], option.get("amount")) for option in service["cost_options"]] == [
        ("Self-pay, per session", 90),
        ("Sliding scale", None),
    ]
    assert [area["extent"] for area in service["service_areas"]] == ["NJ", "NY"]
    assert service["phones"][0]["number"] == "212-555-0101"
    office = therapist.offices.get()
    [at_location] = service["service_at_locations"]
    assert at_location["location"]["id"] == str(office.public_id)
    assert at_location["location"]["addresses"][0]["postal_code"] == "11215"
    codes = {str(term.id): term.code for term in terms.all_terms()}
    values = {(item["link_type"], codes[item["taxonomy_term_id"]]): item.get("value") for item in service["attributes"]}
    assert values[("listing", "npi")] == therapist.npi
    assert values[("listing", "accepting-new-clients")] == "true"
    assert ("insurance", "aetna") in values and ("insurance", "cigna") in values
    assert ("format", "online") in values and ("format", "individual") in values
    by_organization = every_item("services", organization_id=service["organization_id"])
    assert [item["id"] for item in by_organization] == [service["id"]]
    organization = get(f"organizations/{service['organization_id']}")
    assert organization["name"] == "Hana Mapped's practice"
    assert organization["locations"][0]["id"] == str(office.public_id)
    assert get(f"service_at_locations/{at_location['id']}")["service_id"] == str(therapist.public_id)


def test_derived_ids_are_pinned_and_reversible() -> None:
    """Published ids must never change between releases: these values are what harvesters already hold."""
    assert str(terms.term_id("insurance", "aetna")) == "8cd84127-16a3-504d-a5f4-628bc12ca75b"
    assert str(terms.LISTING.id) == "f4eecf6b-73a0-53d0-b899-1677441de59b"
    public_id = uuid.UUID("5b0d5c36-6f1e-4d4e-9c7b-1f1b1f0e2a11")
    organization = ids.linked(public_id, ids.ORGANIZATION)
    assert str(organization) == ids.linked_text(public_id, ids.ORGANIZATION) == "a18853ec-d258-4a40-af18-5f541c4e6227"
    assert organization.version == 4 and organization != public_id
    assert ids.unlinked(organization, ids.ORGANIZATION) == public_id
    assert ids.linked(public_id, ids.SERVICE_AT_LOCATION) != organization


def test_ids_are_stable_uuids_from_one_request_to_the_next() -> None:
    first, second = get("services", full="true", per_page="20"), get("services", full="true", per_page="20")
    assert first == second
    assert all(uuid.UUID(item["id"]).version == 4 for item in first["contents"])
    term_ids = [term["id"] for term in get("taxonomy_terms", per_page="500")["contents"]]
    assert len(term_ids) == len(set(term_ids))


def test_the_envelope_pages_through_every_published_service_exactly_once() -> None:
    published = Therapist.objects.published().count()
    pages, page = [], 1
    while True:
        body = get("services", page=str(page), per_page="37")
        assert list(body) == ENVELOPE
        pages.append(body)
        if body["last_page"]:
            break
        page += 1
    assert pages[0]["first_page"] and not pages[1]["first_page"]
    assert {body["total_items"] for body in pages} == {published}
    assert len(pages) == pages[0]["total_pages"] == -(-published // 37)
    ids = [item["id"] for body in pages for item in body["contents"]]
    assert len(ids) == len(set(ids)) == published
    assert [body["size"] for body in pages] == [37] * (len(pages) - 1) + [published - 37 * (len(pages) - 1)]
    beyond = get("services", page=str(len(pages) + 1), per_page="37")
    assert beyond["empty"] and beyond["contents"] == [] and beyond["last_page"]


def test_modified_after_returns_only_what_changed_since() -> None:
    long_ago = timezone.now() - datetime.timedelta(days=400)
    Therapist.objects.update(updated_at=long_ago)
    changed = make_therapist(npi=valid_npi("199000102"), first_name="Rita", last_name="Recent")
    since = (timezone.now() - datetime.timedelta(days=1)).date().isoformat()
    assert [item["id"] for item in every_item("services", modified_after=since)] == [str(changed.public_id)]
    moment = (long_ago - datetime.timedelta(seconds=1)).isoformat()
    assert len(every_item("services", modified_after=moment)) == Therapist.objects.published().count()
    assert len(every_item("service_at_locations", modified_after=since)) == 1
    assert every_item("services", modified_after="2999-01-01T00:00:00Z") == []


def test_taxonomy_term_id_keeps_the_services_carrying_that_term() -> None:
    term = next(term for term in terms.all_terms() if term.taxonomy == terms.INSURANCE and term.code == "aetna")
    services = every_item("services", taxonomy_term_id=str(term.id), full="true")
    expected = Therapist.objects.published().filter(insurers=Insurer.objects.get(slug="aetna")).count()
    assert len(services) == expected > 0
    for service in services:
        assert str(term.id) in {attribute["taxonomy_term_id"] for attribute in service["attributes"]}
    online = next(term for term in terms.all_terms() if term.taxonomy == terms.FORMAT and term.code == "online")
    organizations = every_item("organizations", taxonomy_term_id=str(online.id))
    assert len(organizations) == Therapist.objects.published().filter(offers_online=True).count()


def test_search_finds_a_service_by_name_and_terms_by_name() -> None:
    therapist = make_therapist(npi=valid_npi("199000103"), first_name="Zebulon", last_name="Quayle")
    assert [item["id"] for item in every_item("services", search="zebulon quayle")] == [str(therapist.public_id)]
    names = [term["name"] for term in every_item("taxonomy_terms", search="grief")]
    assert names and all("grief" in name.lower() for name in names)


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("page", "0"), ("page", "two"), ("page", "-1"), ("per_page", "0"), ("per_page", "501"),
        ("per_page", "1e2"), ("modified_after", "yesterday"), ("modified_after", "2026-02-30"),
        ("taxonomy_term_id", "not-a-uuid"), ("taxonomy_term_id", str(uuid.uuid4())), ("full", "yes"),
        ("search", "x" * 201), ("organization_id", "12"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("path", ["services", "organizations", "service_at_locations"])
def test_a_bad_parameter_is_a_400_naming_it(path: str, parameter: str, value: str) -> None:
    response = Client().get(f"/api/hsds/{path}", {parameter: value})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [parameter]


def test_an_unknown_taxonomy_id_for_terms_is_a_400() -> None:
    response = Client().get("/api/hsds/taxonomy_terms", {"taxonomy_id": str(uuid.uuid4())})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["taxonomy_id"]
    listing = str(terms.LISTING.id)
    codes = [term["code"] for term in get("taxonomy_terms", taxonomy_id=listing)["contents"]]
    assert codes == ["npi", "licensed-state", "accepting-new-clients", "demo-listing"]


@pytest.mark.parametrize("path", ["services", "organizations", "service_at_locations", "taxonomies", "taxonomy_terms"])
def test_an_unknown_id_is_a_json_404(path: str) -> None:
    response = Client().get(f"/api/hsds/{path}/{uuid.uuid4()}")
    assert response.status_code == 404
    assert "errors" in response.json()


@pytest.mark.parametrize(
    ("path", "params", "queries"),
    [
        ("services", {}, 4),  # count, the page's ids, its rows, licences
        ("services", {"full": "true"}, 9),  # + offices, focus areas, concerns, languages, insurers
        ("organizations", {"full": "true"}, 4),  # count, ids, rows, offices
        ("service_at_locations", {"full": "true"}, 3),  # count, ids, rows with the therapists joined
    ],
)
def test_a_page_costs_the_same_queries_whatever_its_size(
    path: str, params: dict, queries: int, django_assert_num_queries: object
) -> None:
    terms.all_terms()  # the reference tables, read once per process
    for per_page in ("5", "200"):
        with django_assert_num_queries(queries):
            assert Client().get(f"/api/hsds/{path}", {"per_page": per_page, **params}).status_code == 200


def test_a_post_is_refused() -> None:
    assert Client().post("/api/hsds/services", {}).status_code == 405


def test_an_unpublished_profile_is_not_served_by_its_id() -> None:
    hidden = make_therapist(npi=valid_npi("199000104"), status=Therapist.Status.PENDING)
    search.refresh([hidden.pk])
    assert Client().get(f"/api/hsds/services/{hidden.public_id}").status_code == 404


def test_the_api_throttle_applies_to_anonymous_harvesters(settings: object) -> None:
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "anon": "2/min"}
    client = Client()
    assert [client.get("/api/hsds/services").status_code for _ in range(3)] == [200, 200, 429]
    refused = client.get("/api/hsds/taxonomies")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "errors" in refused.json()
