"""FHIR R4 Plan-Net under /fhir/: valid resources, the same answers as the search API, strict parameters."""

from __future__ import annotations

import datetime
import json
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class

from directory.models import Insurer, Office, Therapist, TherapistInsurer
from interop.plannet import selectors, vocabulary
from tests.conftest import make_therapist, valid_npi

pytestmark = pytest.mark.django_db

RESOURCE_TYPES = ("Practitioner", "PractitionerRole", "Location", "Organization", "HealthcareService", "InsurancePlan")
PARK_SLOPE = (40.6721, -73.9777)


def fhir(client: Client, url: str, status: int = 200) -> dict:
    response = client.get(url)
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/fhir+json"
    return json.loads(response.content)


def validated(resource: dict) -> dict:
    """The resource, once the fhir.resources R4B model of its type accepted it (unknown fields included)."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resource


def walk(client: Client, url: str) -> list[dict]:
    """Every entry of a search, following `next` links to the end."""
    entries = []
    while url:
        bundle = validated(fhir(client, url))
        entries += bundle.get("entry", [])
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
        if url:
            parts = urlsplit(url)
            url = f"{parts.path}?{parts.query}"
    return entries


def api_pages(client: Client, query: str) -> list[dict]:
    results, page = [], 1
    while True:
        body = client.get(f"/api/therapists/?{query}&page_size=100&page={page}").json()
        results += body["results"]
        if not body["next"]:
            return results
        page += 1


def public_ids(therapist_ids: list[int]) -> list[str]:
    by_id = dict(Therapist.objects.filter(pk__in=therapist_ids).values_list("pk", "public_id"))
    return [str(by_id[therapist_id]) for therapist_id in therapist_ids]


def test_every_resource_type_validates_with_fhir_resources(client: Client) -> None:
    validated(fhir(client, "/fhir/metadata"))
    for resource_type in RESOURCE_TYPES:
        url = f"/fhir/{resource_type}?_count=5"
        if resource_type == "PractitionerRole":
            url += "&_include=PractitionerRole:practitioner&_include=PractitionerRole:location"
        bundle = validated(fhir(client, url))
        assert bundle["type"] == "searchset" and bundle["total"] > 0
        for entry in bundle["entry"]:
            resource = validated(entry["resource"])
            assert resource["meta"]["profile"][0].startswith(vocabulary.PLAN_NET)
            read = fhir(client, f"/fhir/{resource['resourceType']}/{resource['id']}")
            assert read == resource
            assert entry["fullUrl"] == f"http://testserver/fhir/{resource['resourceType']}/{resource['id']}"
    near = validated(fhir(client, "/fhir/Location?near=40.6721|-73.9777|5|mi"))
    assert near["entry"][0]["search"]["extension"][0]["url"] == vocabulary.LOCATION_DISTANCE
    validated(fhir(client, "/fhir/Practitioner?_count=abc", status=400))


def test_capability_statement_lists_exactly_what_is_served(client: Client) -> None:
    statement = fhir(client, "/fhir/metadata")
    assert statement["fhirVersion"] == "4.0.1"
    [rest] = statement["rest"]
    assert [resource["type"] for resource in rest["resource"]] == list(RESOURCE_TYPES)
    probe = {"token": "x", "reference": "x", "string": "1", "date": "ge2000-01-01", "special": "40.6|-73.9|5|mi"}
    for resource in rest["resource"]:
        assert {interaction["code"] for interaction in resource["interaction"]} == {"read", "search-type"}
        for parameter in resource["searchParam"]:
            fhir(client, f"/fhir/{resource['type']}?{parameter['name']}={probe[parameter['type']]}")
        # A standard parameter not listed is refused rather than ignored.
        outcome = fhir(client, f"/fhir/{resource['type']}?name=x", status=400)
        assert outcome["issue"][0]["expression"] == ["name"]
        for include in resource.get("searchInclude", []):
            fhir(client, f"/fhir/{resource['type']}?_include={include}")
    fhir(client, "/fhir/Patient", status=404)
    fhir(client, "/fhir/Endpoint?_count=1", status=404)


def test_practitioner_roles_are_the_search_apis_therapists_in_the_same_order(client: Client) -> None:
    aetna = Insurer.objects.get(slug="aetna")
    network = vocabulary.derived_id("network", "aetna")
    roles = walk(client, f"/fhir/PractitionerRole?network=Organization/{network}&_count=100")
    expected = public_ids([result["id"] for result in api_pages(client, "insurance=aetna&ordering=name")])
    assert [entry["resource"]["id"] for entry in roles] == expected
    assert len(expected) == Therapist.objects.published().filter(insurers=aetna).count() > 20
    everyone = walk(client, "/fhir/PractitionerRole?_count=100")
    assert [entry["resource"]["id"] for entry in everyone] == public_ids(
        [result["id"] for result in api_pages(client, "ordering=name")]
    )


def test_near_finds_the_search_apis_therapists_at_the_directorys_distance(client: Client) -> None:
    latitude, longitude = PARK_SLOPE
    locations = walk(client, f"/fhir/Location?near={latitude}|{longitude}|10|mi&_count=100")
    results = api_pages(client, f"near={latitude},{longitude}&radius=10")
    assert len(results) > 10
    office_of = {str(office.public_id): office.therapist_id for office in Office.objects.all()}
    nearest: dict[int, float] = {}
    distances = []
    for entry in locations:
        miles = entry["search"]["extension"][0]["valueDistance"]["value"]
        distances.append(miles)
        therapist_id = office_of[entry["resource"]["id"]]
        nearest[therapist_id] = min(miles, nearest.get(therapist_id, miles))
    assert distances == sorted(distances) and max(distances) <= 10
    assert nearest == {result["id"]: result["distance_miles"] for result in results}


def test_paging_walks_every_published_role_once_with_the_search_in_the_next_link(client: Client) -> None:
    first = fhir(client, "/fhir/PractitionerRole?specialty=1041C0700X,106H00000X&_count=7")
    next_link = next(link["url"] for link in first["link"] if link["relation"] == "next")
    assert "specialty=1041C0700X%2C106H00000X" in next_link and "_count=7" in next_link and "_offset=7" in next_link
    roles = walk(client, "/fhir/PractitionerRole?_count=37")
    ids = [entry["resource"]["id"] for entry in roles]
    assert len(ids) == len(set(ids)) == first["total"] + (Therapist.objects.published().count() - first["total"])
    assert set(ids) == {
        str(public_id) for public_id in Therapist.objects.published().values_list("public_id", flat=True)
    }
    past_end = fhir(client, "/fhir/PractitionerRole?_offset=100000")
    assert "entry" not in past_end and past_end["total"] == len(ids)
    for resource_type in ("Practitioner", "Location", "Organization"):
        far = fhir(client, f"/fhir/{resource_type}?_offset=99999999999999999999999")
        assert "entry" not in far and far["total"] > 0


def test_include_adds_each_roles_practitioner_and_offices_once(client: Client) -> None:
    includes = "_include=PractitionerRole:practitioner&_include=PractitionerRole:location"
    bundle = fhir(client, f"/fhir/PractitionerRole?_count=10&{includes}")
    matches = [entry["resource"] for entry in bundle["entry"] if entry["search"]["mode"] == "match"]
    included = [entry["resource"] for entry in bundle["entry"] if entry["search"]["mode"] == "include"]
    assert len(matches) == 10
    practitioners = {resource["id"] for resource in included if resource["resourceType"] == "Practitioner"}
    assert practitioners == {role["practitioner"]["reference"].split("/")[1] for role in matches}
    locations = [resource["id"] for resource in included if resource["resourceType"] == "Location"]
    referenced = [reference["reference"].split("/")[1] for role in matches for reference in role.get("location", [])]
    assert sorted(locations) == sorted(set(referenced)) and locations
    plain = fhir(client, "/fhir/PractitionerRole?_count=10")
    assert all(entry["search"]["mode"] == "match" for entry in plain["entry"])


def test_a_page_of_roles_costs_the_same_queries_whatever_its_size(client: Client, django_assert_num_queries) -> None:
    url = "/fhir/PractitionerRole?_include=PractitionerRole:practitioner&_include=PractitionerRole:location&_count="
    client.get(url + "1")  # the reference tables, cached per process
    with django_assert_num_queries(5):
        small = client.get(url + "3")
    with django_assert_num_queries(5):
        large = client.get(url + "100")
    assert len(json.loads(large.content)["entry"]) > len(json.loads(small.content)["entry"])
    with django_assert_num_queries(6):  # and the credential texts a specialty names
        client.get(url + "100&specialty=1041C0700X")
    with django_assert_num_queries(2):  # the offices in the circle's box, then the page's offices
        client.get("/fhir/Location?near=40.6721|-73.9777|25|mi&_count=100")


def accepting_codes(role: dict) -> dict[str | None, str]:
    """The role's newpatients codes: None for the general one, else by network id."""
    codes = {}
    for extension in role["extension"]:
        if extension["url"] != vocabulary.NEW_PATIENTS:
            continue
        parts = {part["url"]: part for part in extension["extension"]}
        network = parts.get("fromNetwork", {}).get("valueReference", {}).get("reference")
        codes[network and network.split("/")[1]] = parts["acceptingPatients"]["valueCodeableConcept"]["coding"][0][
            "code"
        ]
    return codes


def test_accepting_is_newpatients_and_false_once_availability_is_stale(client: Client) -> None:
    fresh = make_therapist(npi=valid_npi("197000001"), last_name="Fresh", insurers=("aetna", "cigna"))
    stale = make_therapist(npi=valid_npi("197000002"), last_name="Stale", confirmed_days_ago=90)
    TherapistInsurer.objects.filter(therapist=fresh, insurer__slug="cigna").update(accepting_new_clients=False)
    aetna, cigna = vocabulary.derived_id("network", "aetna"), vocabulary.derived_id("network", "cigna")
    # In general, and per network only where that network's answer differs: Cigna's panel is closed.
    assert accepting_codes(fhir(client, f"/fhir/PractitionerRole/{fresh.public_id}")) == {None: "newpt", cigna: "nopt"}
    stale_role = fhir(client, f"/fhir/PractitionerRole/{stale.public_id}")
    assert accepting_codes(stale_role) == {None: "nopt"}
    networks = [
        ext["valueReference"]["reference"]
        for ext in stale_role["extension"]
        if ext["url"] == vocabulary.NETWORK_REFERENCE
    ]
    assert networks == [f"Organization/{aetna}"]
    stale_api = client.get(f"/api/therapists/{stale.pk}/").json()
    assert stale_api["accepting_new_clients"] is False


def test_specialties_are_nucc_codes_from_the_credentials(client: Client) -> None:
    social_worker = make_therapist(npi=valid_npi("197000003"), last_name="Worker")
    family = make_therapist(npi=valid_npi("197000004"), last_name="Family")
    Therapist.objects.filter(pk=family.pk).update(credentials="PhD, LMFT")
    role = fhir(client, f"/fhir/PractitionerRole/{family.public_id}")
    assert role["specialty"] == [{"coding": [{"system": vocabulary.NUCC_SYSTEM, "code": "106H00000X",
                                              "display": "Marriage & Family Therapist"}]}]  # fmt: skip
    for value in ("1041C0700X", "http://nucc.org/provider-taxonomy|1041C0700X"):
        found = {
            entry["resource"]["id"] for entry in walk(client, f"/fhir/PractitionerRole?specialty={value}&_count=100")
        }
        assert str(social_worker.public_id) in found and str(family.public_id) not in found
        assert len(found) == Therapist.objects.published().filter(credentials__icontains="LCSW").count()
    assert fhir(client, "/fhir/PractitionerRole?specialty=207Q00000X")["total"] == 0  # a NUCC code nobody here has
    fhir(client, "/fhir/PractitionerRole?specialty=http://snomed.info/sct|123", status=400)


def test_a_specialty_finds_the_same_roles_however_many_credential_texts_there_are(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    worded = make_therapist(npi=valid_npi("197000005"), last_name="Worded")
    Therapist.objects.filter(pk=worded.pk).update(credentials="PhD, licensed clinical social worker")
    codes = {"1041C0700X", "103TC0700X"}
    url = f"/fhir/PractitionerRole?specialty={','.join(sorted(codes))}&_count=40"
    listed = [entry["resource"]["id"] for entry in walk(client, url)]
    monkeypatch.setattr(selectors, "LISTED_CREDENTIALS", 1)  # too many texts to list: the keywords, tested in SQL
    assert [entry["resource"]["id"] for entry in walk(client, url)] == listed
    named = [
        therapist
        for therapist in Therapist.objects.published()
        if codes & {specialty.code for specialty in vocabulary.specialties_of(therapist.credentials)}
    ]
    assert str(worded.public_id) in listed and len(listed) == len(named) > 40


def test_languages_are_bcp47_and_offices_have_positions(client: Client) -> None:
    therapist = Therapist.objects.published().filter(languages__code="es").first()
    practitioner = fhir(client, f"/fhir/Practitioner/{therapist.public_id}")
    codings = [item["coding"][0] for item in practitioner["communication"]]
    assert {"system": "urn:ietf:bcp:47", "code": "es", "display": "Spanish"} in codings
    assert practitioner["identifier"] == [{"use": "official", "system": vocabulary.NPI_SYSTEM, "value": therapist.npi}]
    office = therapist.offices.first()
    location = fhir(client, f"/fhir/Location/{office.public_id}")
    assert location["position"] == {"longitude": office.longitude, "latitude": office.latitude}
    assert location["address"]["postalCode"] == office.postal_code


def test_location_searches_by_postal_code_and_state(client: Client) -> None:
    brooklyn = walk(client, "/fhir/Location?address-postalcode=112&_count=100")
    assert brooklyn and all(entry["resource"]["address"]["postalCode"].startswith("112") for entry in brooklyn)
    expected = Office.objects.filter(therapist__status="published", postal_code__startswith="112").count()
    assert len(brooklyn) == expected
    both = walk(client, "/fhir/Location?address-state=ny&address-postalcode=11215,10001&_count=100")
    assert {entry["resource"]["address"]["postalCode"][:5] for entry in both} <= {"11215", "10001"}
    assert all(entry["resource"]["address"]["state"] == "NY" for entry in both) and both


def test_last_updated_selects_by_the_profiles_last_change(client: Client) -> None:
    recent = make_therapist(npi=valid_npi("197000005"), last_name="Recent")
    long_ago = timezone.now() - datetime.timedelta(days=400)
    Therapist.objects.exclude(pk=recent.pk).update(updated_at=long_ago)
    since = (timezone.now() - datetime.timedelta(days=1)).date().isoformat()
    found = fhir(client, f"/fhir/Practitioner?_lastUpdated=ge{since}")
    assert [entry["resource"]["id"] for entry in found["entry"]] == [str(recent.public_id)]
    before = fhir(client, f"/fhir/PractitionerRole?_lastUpdated=lt{since}&_count=1")
    assert before["total"] == Therapist.objects.published().count() - 1
    window = f"_lastUpdated=ge{long_ago.year - 1}&_lastUpdated=le{long_ago.date().isoformat()}"
    assert fhir(client, f"/fhir/Location?{window}&_count=1")["total"] > 0
    instant = recent.updated_at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert fhir(client, f"/fhir/Practitioner?_lastUpdated=gt{instant}")["total"] == 0


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/fhir/PractitionerRole?_count=0", "_count"),
        ("/fhir/PractitionerRole?_count=101", "_count"),
        ("/fhir/PractitionerRole?_count=ten", "_count"),
        ("/fhir/PractitionerRole?_offset=-1", "_offset"),
        ("/fhir/Practitioner?_lastUpdated=yesterday", "_lastUpdated"),
        ("/fhir/Practitioner?_lastUpdated=2026-02-30", "_lastUpdated"),
        ("/fhir/Practitioner?_lastUpdated=ge2026-01-01T10:00:00", "_lastUpdated"),
        ("/fhir/Practitioner?_lastUpdated=sa2026-01-01", "_lastUpdated"),
        ("/fhir/Practitioner?_lastUpdated=le9999-12-31T23:59:59Z", "_lastUpdated"),
        ("/fhir/Practitioner?_lastUpdated=0000-01-01", "_lastUpdated"),
        ("/fhir/Location?near=brooklyn", "near"),
        ("/fhir/Location?near=91|0|5|mi", "near"),
        ("/fhir/Location?near=40|-73|5|furlongs", "near"),
        ("/fhir/Location?near=40|-73|501|mi", "near"),
        ("/fhir/Location?near=40|-73|0|mi", "near"),
        ("/fhir/PractitionerRole?colour=blue", "colour"),
        ("/fhir/PractitionerRole?specialty:text=social", "specialty:text"),
        ("/fhir/PractitionerRole?specialty=", "specialty"),
        ("/fhir/PractitionerRole?_include=PractitionerRole:organization", "_include"),
        ("/fhir/Practitioner?_include=PractitionerRole:practitioner", "_include"),
        ("/fhir/PractitionerRole?location=Practitioner/abc", "location"),
        ("/fhir/PractitionerRole?_format=xml", "_format"),
        ("/fhir/metadata?mode=full", "mode"),
        ("/fhir/Location?near=40|-73|5|mi&near=41|-73|5|mi", "near"),
    ],
)
def test_a_bad_parameter_is_a_400_operation_outcome_naming_it(client: Client, url: str, parameter: str) -> None:
    outcome = validated(fhir(client, url, status=400))
    assert outcome["resourceType"] == "OperationOutcome"
    [issue] = outcome["issue"]
    assert issue["severity"] == "error" and issue["code"] == "invalid"
    assert issue["expression"] == [parameter] and issue["diagnostics"].startswith(f"{parameter}: ")


def test_unknown_ids_and_unpublished_profiles_are_404_operation_outcomes(client: Client) -> None:
    draft = make_therapist(npi=valid_npi("197000006"), last_name="Draft", status=Therapist.Status.DRAFT)
    for url in (
        f"/fhir/Practitioner/{draft.public_id}",
        f"/fhir/PractitionerRole/{draft.public_id}",
        f"/fhir/Location/{draft.offices.get().public_id}",
        "/fhir/Practitioner/not-a-uuid",
        f"/fhir/Organization/{vocabulary.derived_id('network', 'no-such-insurer')}",
        "/fhir/Patient/123",
        "/fhir/Practitioner/123/_history",
    ):
        outcome = validated(fhir(client, url, status=404))
        assert outcome["issue"][0]["code"] in ("not-found", "not-supported")
    assert fhir(client, f"/fhir/PractitionerRole?practitioner={draft.public_id}")["total"] == 0
    refused = Client(enforce_csrf_checks=True).post("/fhir/Practitioner", {})
    assert refused.status_code == 405 and refused["Allow"] == "GET, HEAD"
    validated(json.loads(refused.content))


def test_json_is_served_as_fhir_json_and_format_json_is_accepted(client: Client) -> None:
    for url in ("/fhir/metadata?_format=json", "/fhir/InsurancePlan?_format=application/fhir%2Bjson"):
        fhir(client, url)
    plan = fhir(client, "/fhir/InsurancePlan?_count=100")
    assert plan["total"] == Insurer.objects.count()
    aetna = fhir(client, f"/fhir/InsurancePlan/{vocabulary.derived_id('plan', 'aetna')}?_format=json")
    assert aetna["name"] == "Aetna"
    assert aetna["network"][0]["reference"] == f"Organization/{vocabulary.derived_id('network', 'aetna')}"
    network = fhir(client, f"/fhir/{aetna['network'][0]['reference']}")
    assert network["partOf"]["reference"] == f"Organization/{vocabulary.derived_id('payer', 'aetna')}"
    services = fhir(client, "/fhir/HealthcareService")
    assert {entry["resource"]["name"] for entry in services["entry"]} >= {
        "Interpersonal therapy (IPT), online sessions (telehealth)"
    }


def test_derived_ids_are_the_same_on_every_deployment() -> None:
    # Pinned: a change here would break every client holding a link to the plan.
    assert vocabulary.derived_id("plan", "aetna") == "bde6496e-0ea1-5a61-aff0-a536a997de0e"
    assert vocabulary.derived_id("plan", "aetna") != vocabulary.derived_id("network", "aetna")


def test_the_api_throttle_applies_to_anonymous_harvesters(settings: object) -> None:
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "anon": "2/min"}
    client = Client()
    assert [client.get("/fhir/Location").status_code for _ in range(3)] == [200, 200, 429]
    refused = client.get("/fhir/metadata")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert refused["Content-Type"] == "application/fhir+json"
    assert refused.json()["resourceType"] == "OperationOutcome"
