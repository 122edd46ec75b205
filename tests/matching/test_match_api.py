"""POST /api/match/ and the services behind it, on the demo directory."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from directory import search
from directory.models import FocusArea, Language, Therapist
from matching import services
from tests.conftest import make_therapist

pytestmark = pytest.mark.django_db

MATCH = "/api/match/"
BROOKLYN_MEDICAID_GRIEF = {
    "postal_code": "11215",
    "insurance": "medicaid",
    "formats": ["individual", "online"],
    "focus_areas": ["grief-loss"],
    "concerns": ["grief"],
}


@pytest.fixture
def brooklyn_therapists(db: None) -> dict[str, Therapist]:
    """Five therapists around Park Slope, differing in one thing each."""

    def grief(therapist: Therapist) -> Therapist:
        therapist.focus_areas.add(FocusArea.objects.get(slug="grief-loss"))
        therapist.concerns.add(*services.Concern.objects.filter(slug="grief"))
        search.refresh([therapist.pk])
        return therapist

    return {
        "best": grief(make_therapist(npi="1000000004", last_name="Best", insurers=("medicaid",), capacity_override=5,
                                     training_level="supervisor")),
        "no_focus": make_therapist(npi="1000000012", last_name="Nofocus", insurers=("medicaid",)),
        "far": grief(make_therapist(npi="1000000020", last_name="Far", postal_code="10463", insurers=("medicaid",))),
        "out_of_network": grief(make_therapist(npi="1000000038", last_name="Aetnaonly", insurers=("aetna",))),
        "online": grief(make_therapist(npi="1000000046", last_name="Online", postal_code=None, insurers=("medicaid",),
                                       offers_online=True, offers_individual=False)),
    }  # fmt: skip


def test_brooklyn_medicaid_grief_referral_ranks_in_network_nearby_grief_first(
    api_client: APIClient, brooklyn_therapists: dict[str, Therapist]
) -> None:
    response = api_client.post(MATCH, BROOKLYN_MEDICAID_GRIEF, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    ids = [item["therapist"]["id"] for item in results]
    position = {name: ids.index(therapist.pk) for name, therapist in brooklyn_therapists.items() if therapist.pk in ids}
    assert position["best"] == 0
    assert position["best"] < position["no_focus"]
    assert position["best"] < position["far"]
    assert "out_of_network" not in position
    assert "online" in position
    best = results[0]
    assert best["reasons"][:3] == ["Accepts Medicaid (state fee-for-service)", "0.0 mi away", "Focus: Grief and loss"]
    assert best["components"]["focus"] == 1.0
    assert all("medicaid" in {plan["slug"] for plan in item["therapist"]["insurance"]} for item in results)
    online = results[position["online"]]
    assert online["delivery"] == "online" and online["distance_miles"] is None
    assert "Online: licensed in NY" in online["reasons"]
    assert response.json()["excluded"]["insurance"] >= 1


def test_match_results_satisfy_every_hard_constraint(api_client: APIClient) -> None:
    body = {"postal_code": "10001", "insurance": "aetna", "formats": ["individual"], "age_group": "adults",
            "language": "en", "language_required": True, "max_distance_miles": 60}  # fmt: skip
    results = api_client.post(MATCH, body, format="json").json()["results"]
    assert results
    for item in results:
        therapist = item["therapist"]
        assert "aetna" in {plan["slug"] for plan in therapist["insurance"]}
        assert "individual" in therapist["formats"]
        assert "en" in {language["code"] for language in therapist["languages"]}
        assert "adults" in therapist["age_groups"]
        assert therapist["accepting_new_clients"]
        assert item["distance_miles"] <= 60
    scores = [item["score"] for item in results]
    assert scores == sorted(scores, reverse=True)


def test_match_stores_nothing(api_client: APIClient) -> None:
    from matching.models import Match, Referral

    api_client.post(MATCH, BROOKLYN_MEDICAID_GRIEF, format="json")
    assert not Referral.objects.exists() and not Match.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "postal_code"),
        ({"postal_code": "00000"}, "postal_code"),
        ({"postal_code": "11215", "insurance": "acme"}, "insurance"),
        ({"postal_code": "11215", "formats": ["telepathy"]}, "formats[0]"),
        ({"postal_code": "11215", "focus_areas": ["astrology"]}, "focus_areas"),
        ({"postal_code": "11215", "language": "xx"}, "language"),
        ({"postal_code": "11215", "age_group": "toddlers"}, "age_group"),
        ({"postal_code": "11215", "max_fee": -5}, "max_fee"),
        ({"postal_code": "11215", "max_distance_miles": 0}, "max_distance_miles"),
    ],
)
def test_bad_match_input_is_a_400_naming_the_field(api_client: APIClient, body: dict, field: str) -> None:
    response = api_client.post(MATCH, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_match_runs_a_constant_number_of_queries(api_client: APIClient, django_assert_max_num_queries: object) -> None:
    body = {"postal_code": "10001", "formats": ["individual", "online"], "max_distance_miles": 100}
    with django_assert_max_num_queries(25):
        response = api_client.post(MATCH, body, format="json")
    assert len(response.json()["results"]) == 20


def test_language_preference_without_requirement_is_soft(api_client: APIClient) -> None:
    spanish = Language.objects.get(code="es")
    body = {"postal_code": "10001", "formats": ["individual", "online"], "language": "es", "max_distance_miles": 50}
    results = api_client.post(MATCH, body, format="json").json()["results"]
    speakers = [item for item in results if "es" in {lang["code"] for lang in item["therapist"]["languages"]}]
    assert len(speakers) < len(results), "non-speakers still rank when the language is only preferred"
    assert all(f"Speaks {spanish.name}" in item["reasons"] for item in speakers)


def test_a_new_insurer_is_matched_after_earlier_matches(api_client: APIClient) -> None:
    """The engine's mask decoder lives as long as the process, but learns of a reference row added since."""
    assert api_client.post(MATCH, {**BROOKLYN_MEDICAID_GRIEF, "insurance": "aetna"}, format="json").status_code == 200
    services.Insurer.objects.create(slug="harbor-health", name="Harbor Health")
    therapist = make_therapist(npi="1000000053", last_name="Harbor", insurers=("harbor-health",))
    response = api_client.post(MATCH, {**BROOKLYN_MEDICAID_GRIEF, "insurance": "harbor-health"}, format="json")
    assert response.status_code == 200
    # Excluded under "insurance" if the decoder did not know the new insurer's bit.
    assert therapist.pk in [item["therapist"]["id"] for item in response.json()["results"]]


def test_match_reaches_an_office_just_inside_the_distance_east_of_the_client(api_client: APIClient) -> None:
    """The reach is a great-circle distance, exactly: 24.90 miles due east is within 25 (and not within 24)."""
    therapist = make_therapist(npi="1000000061", last_name="Eastward", insurers=("optum",), postal_code=None)
    therapist.offices.create(address="1 Test St", city="Brooklyn", state="NY", postal_code="11215",
                             latitude=40.6669, longitude=-73.9828)  # fmt: skip
    search.refresh([therapist.pk])
    body = {"near": "40.6669,-74.45792", "insurance": "optum", "formats": ["individual"]}
    within = api_client.post(MATCH, {**body, "max_distance_miles": 25}, format="json").json()
    assert therapist.pk in {item["therapist"]["id"] for item in within["results"]}
    beyond = api_client.post(MATCH, {**body, "max_distance_miles": 24}, format="json").json()
    assert therapist.pk not in {item["therapist"]["id"] for item in beyond["results"]}


@pytest.mark.parametrize(
    ("page_insurance", "api_insurance"),
    [("self-pay", None), ("self-pay", "self-pay"), ("", ""), ("aetna", "aetna")],
)
def test_the_page_and_the_api_return_the_same_therapists_in_the_same_order(
    api_client: APIClient, client: Client, settings: object, page_insurance: str, api_insurance: str | None
) -> None:
    settings.MATCH_RESULT_LIMIT = 15
    need = {"postal_code": "10001", "formats": ["individual", "online"], "focus_areas": ["grief-loss"],
            "max_fee": 150, "max_distance_miles": 50}  # fmt: skip
    page = client.get("/match/", {**need, "insurance": page_insurance})
    api = api_client.post(MATCH, {**need, "insurance": api_insurance}, format="json")
    assert page.status_code == api.status_code == 200
    page_ranking = [(item["therapist"].pk, item["score"]) for item in page.context["results"]]
    api_ranking = [(item["therapist"]["id"], item["score"]) for item in api.json()["results"]]
    assert page_ranking and len(page_ranking) <= 15
    assert page_ranking == api_ranking
    assert page.context["excluded"] == api.json()["excluded"]


def test_the_page_shows_as_many_results_as_the_api(client: Client) -> None:
    """Both read MATCH_RESULT_LIMIT (20 by default); the page used to stop at 10."""
    need = {"postal_code": "10001", "insurance": "self-pay", "formats": ["individual", "online"],
            "max_distance_miles": 100}  # fmt: skip
    assert len(client.get("/match/", need).context["results"]) == 20
