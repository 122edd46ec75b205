"""GET /api/therapists/: every filter on the demo directory, errors, paging, query counts."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from directory import geo
from directory.models import Insurer, Therapist, TherapistInsurer
from directory.search import refresh
from directory.serializers import TherapistSerializer
from tests.conftest import make_therapist

pytestmark = pytest.mark.django_db

SEARCH = "/api/therapists/"


def search(client: APIClient, **params: object) -> dict:
    response = client.get(SEARCH, {"page_size": 100, **params})
    assert response.status_code == 200, response.content
    return response.json()


def all_results(client: APIClient, **params: object) -> list[dict]:
    results, page = [], 1
    while True:
        payload = search(client, page=page, **params)
        results += payload["results"]
        if not payload["next"]:
            return results
        page += 1


def slugs(items: list[dict]) -> set[str]:
    return {item["slug"] if "slug" in item else item["code"] for item in items}


def test_only_published_profiles_are_listed(api_client: APIClient) -> None:
    listed = {row["id"] for row in all_results(api_client)}
    hidden = set(Therapist.objects.exclude(status=Therapist.Status.PUBLISHED).values_list("pk", flat=True))
    assert hidden, "the demo directory should hold drafts and pending profiles"
    assert listed == set(Therapist.objects.published().values_list("pk", flat=True))
    assert not listed & hidden


def test_result_carries_the_contract_fields(api_client: APIClient) -> None:
    result = search(api_client, near="11215", page_size=1)["results"][0]
    for field in (
        "id", "slug", "url", "name", "credentials", "training_level", "formats", "insurance",
        "focus_areas", "concerns", "languages", "accepting_new_clients", "availability_confirmed_at",
        "offices", "licensed_states", "fee_min", "fee_max", "sliding_scale", "distance_miles",
    ):  # fmt: skip
        assert field in result
    assert result["url"].endswith(f"/therapists/{result['slug']}/")
    assert set(result["offices"][0]) >= {"city", "state", "postal_code", "latitude", "longitude"}


@pytest.mark.parametrize("format_slug", ["individual", "family", "group", "online"])
def test_format_filter_returns_only_therapists_offering_it(api_client: APIClient, format_slug: str) -> None:
    results = all_results(api_client, format=format_slug)
    assert results
    assert all(format_slug in row["formats"] for row in results)
    assert len(results) == Therapist.objects.published().filter(**{f"offers_{format_slug}": True}).count()


def test_formats_are_any_of_whether_repeated_or_comma_separated(api_client: APIClient) -> None:
    family = search(api_client, format="family")["count"]
    group = search(api_client, format="group")["count"]
    comma = search(api_client, format="family,group")
    repeated = api_client.get(SEARCH, {"format": ["family", "group"], "page_size": 100}).json()
    assert comma["count"] == repeated["count"]
    assert max(family, group) <= comma["count"] <= family + group
    assert all({"family", "group"} & set(row["formats"]) for row in comma["results"])


@pytest.mark.parametrize(
    ("parameter", "value", "field"),
    [
        ("insurance", "aetna", "insurance"),
        ("insurance", "medicaid", "insurance"),
        ("focus", "grief-loss", "focus_areas"),
        ("concern", "social-anxiety", "concerns"),
        ("language", "es", "languages"),
    ],
)
def test_reference_filters_return_only_matching_therapists(
    api_client: APIClient, parameter: str, value: str, field: str
) -> None:
    results = all_results(api_client, **{parameter: value})
    assert results
    assert all(value in slugs(row[field]) for row in results)


def test_combining_filters_narrows_and_satisfies_each(api_client: APIClient) -> None:
    aetna = search(api_client, insurance="aetna")["count"]
    combined = all_results(api_client, insurance="aetna", format="online", focus="grief-loss")
    assert 0 < len(combined) < aetna
    for row in combined:
        assert "aetna" in slugs(row["insurance"])
        assert "online" in row["formats"]
        assert "grief-loss" in slugs(row["focus_areas"])


def test_near_returns_offices_within_radius_nearest_first(api_client: APIClient) -> None:
    origin = geo.locate("11215")
    results = all_results(api_client, near="11215", radius=10)
    assert len(results) >= 5
    distances = [row["distance_miles"] for row in results]
    assert distances == sorted(distances)
    for row in results:
        nearest = min(
            geo.miles_between(origin.point, (office["latitude"], office["longitude"])) for office in row["offices"]
        )
        assert nearest <= 10
        assert row["distance_miles"] == pytest.approx(nearest, abs=0.06)


@pytest.mark.parametrize(("near", "radius"), [("11215", 10), ("11215", 77), ("11215", 190), ("94110", 500)])
def test_near_finds_exactly_the_therapists_with_an_office_within_the_radius(
    api_client: APIClient, near: str, radius: int
) -> None:
    """Exactly, by great-circle distance: an office 24.9 miles due east must not fall out of a 25-mile search."""
    results = all_results(api_client, near=near, radius=radius, accepting="any")
    origin = geo.locate(near)
    within = set()
    for therapist in Therapist.objects.published().for_listing():
        offices = [(office.latitude, office.longitude) for office in therapist.offices.all()]
        distance = min((geo.miles_between(origin.point, office) for office in offices), default=None)
        if distance is not None and distance <= radius:
            within.add(therapist.pk)
    assert {row["id"] for row in results} == within
    distances = [row["distance_miles"] for row in results]
    assert distances == sorted(distances)


def test_near_keeps_an_office_just_inside_the_radius_east_of_the_place(api_client: APIClient) -> None:
    """East-west distances are not overestimated: the office is 24.90 miles due east, at Brooklyn's latitude."""
    therapist = make_therapist(npi="1234567893", postal_code=None)
    therapist.offices.create(address="1 Test St", city="Brooklyn", state="NY", postal_code="11215",
                             latitude=40.6669, longitude=-73.9828)  # fmt: skip
    refresh([therapist.pk])
    place = "40.6669,-74.45792"
    assert geo.miles_between((40.6669, -74.45792), (40.6669, -73.9828)) == pytest.approx(24.90, abs=0.01)
    assert therapist.pk in {row["id"] for row in all_results(api_client, near=place, radius=25)}
    assert therapist.pk not in {row["id"] for row in all_results(api_client, near=place, radius=24.8)}


def test_larger_radius_finds_more(api_client: APIClient) -> None:
    assert (
        search(api_client, near="Chicago, IL", radius=5)["count"]
        < search(api_client, near="Chicago, IL", radius=50)["count"]
    )


def test_online_matches_by_licence_in_the_state_of_near(api_client: APIClient) -> None:
    results = all_results(api_client, near="85004", radius=10, format="online")
    online_only = [row for row in results if row["distance_miles"] is None]
    assert online_only, "online therapists licensed in AZ without an office nearby should match"
    for row in online_only:
        assert "online" in row["formats"]
        assert "AZ" in row["licensed_states"]
    with_office = [row["distance_miles"] for row in results if row["distance_miles"] is not None]
    assert results[: len(with_office)] == [row for row in results if row["distance_miles"] is not None]


def test_state_filter_returns_therapists_licensed_there(api_client: APIClient) -> None:
    results = all_results(api_client, state="nj")
    assert results
    assert all("NJ" in row["licensed_states"] for row in results)


def test_accepting_true_hides_full_and_stale_profiles(
    api_client: APIClient, accepting_therapist: Therapist, full_therapist: Therapist
) -> None:
    stale = Therapist.objects.filter(pk=accepting_therapist.pk)
    ids = {row["id"] for row in all_results(api_client, accepting="true")}
    assert accepting_therapist.pk in ids
    assert full_therapist.pk not in ids
    assert all(row["accepting_new_clients"] for row in all_results(api_client, accepting="true"))
    not_accepting = {row["id"] for row in all_results(api_client, accepting="false")}
    assert full_therapist.pk in not_accepting and accepting_therapist.pk not in not_accepting
    stale.update(availability_confirmed_at=accepting_therapist.availability_confirmed_at.replace(year=2020))
    refresh([accepting_therapist.pk])  # what every service that writes a profile does
    assert accepting_therapist.pk not in {row["id"] for row in all_results(api_client, accepting="true")}


def test_free_text_searches_name_credentials_and_bio(api_client: APIClient, accepting_therapist: Therapist) -> None:
    results = search(api_client, q="Dana Accepting")["results"]
    assert [row["id"] for row in results] == [accepting_therapist.pk]
    assert all("LCSW" in row["credentials"] for row in all_results(api_client, q="lcsw"))


def test_ordering_by_name(api_client: APIClient) -> None:
    names = [
        (row["name"].split()[-1], row["name"].split()[0]) for row in search(api_client, ordering="name")["results"]
    ]
    assert names == sorted(names)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"format": "telepathy"}, "format"),
        ({"insurance": "acme-health"}, "insurance"),
        ({"near": "99999"}, "near"),
        ({"near": "Atlantis, ZZ"}, "near"),
        ({"near": "95.0,-200"}, "near"),
        ({"near": "11215", "radius": "0"}, "radius"),
        ({"near": "11215", "radius": "501"}, "radius"),
        ({"near": "11215", "radius": "far"}, "radius"),
        ({"state": "XX"}, "state"),
        ({"focus": "astrology"}, "focus"),
        ({"concern": "boredom"}, "concern"),
        ({"language": "klingon"}, "language"),
        ({"accepting": "maybe"}, "accepting"),
        ({"ordering": "price"}, "ordering"),
        ({"ordering": "distance"}, "ordering"),
        ({"page": "abc"}, "page"),
        ({"page": "0"}, "page"),
        ({"page_size": "1000"}, "page_size"),
        ({"age_group": "toddlers"}, "age_group"),
    ],
)
def test_bad_parameters_give_400_naming_the_field(api_client: APIClient, params: dict, field: str) -> None:
    response = api_client.get(SEARCH, params)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert field in errors
    assert all(isinstance(message, str) and message for message in errors[field])


def test_unknown_place_says_could_not_locate(api_client: APIClient) -> None:
    response = api_client.get(SEARCH, {"near": "00000"})
    assert "could not locate" in response.json()["errors"]["near"][0]


def test_page_past_the_end_is_404(api_client: APIClient) -> None:
    count = search(api_client)["count"]
    response = api_client.get(SEARCH, {"page": count // 20 + 2})
    assert response.status_code == 404


def test_pagination_walks_every_result_once(api_client: APIClient) -> None:
    first = api_client.get(SEARCH, {"page_size": 7}).json()
    second = api_client.get(first["next"]).json()
    assert second["previous"]
    assert not {row["id"] for row in first["results"]} & {row["id"] for row in second["results"]}


@pytest.mark.parametrize("page_size", [1, 20, 100])
@pytest.mark.parametrize(
    ("params", "queries"),
    [
        # Near a place: the page, its count and its cards in one query.
        ({"near": "10001", "radius": 50, "format": "individual,online", "insurance": "aetna,cigna",
          "focus": "grief-loss", "language": "en"}, 1),
        # Without: a count, then the page with its cards.
        ({"state": "NY", "focus": "grief-loss", "ordering": "-updated"}, 2),
        # Free text with another condition: the text index's count (is the text common?), the count, the page.
        ({"q": "grief", "accepting": "true"}, 3),
        # Free text alone: the text index's count is the count.
        ({"q": "grief"}, 2),
    ],
)  # fmt: skip
def test_search_runs_a_constant_number_of_queries(
    api_client: APIClient, django_assert_max_num_queries: object, page_size: int, params: dict, queries: int
) -> None:
    api_client.get(SEARCH, params)  # reads the reference tables into the per-process cache
    with django_assert_max_num_queries(queries):
        response = api_client.get(SEARCH, {**params, "page_size": page_size})
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(page_size, response.json()["count"])


@pytest.mark.parametrize("params", [{"near": "11215", "radius": 25, "format": "individual,online"}, {"q": "grief"}])
def test_results_from_listing_cards_equal_the_serializer_output(api_client: APIClient, params: dict) -> None:
    results = all_results(api_client, **params)
    therapists = Therapist.objects.published().for_listing().in_bulk([row["id"] for row in results])
    for row in results:
        therapist = therapists[row["id"]]
        therapist.distance_miles = row["distance_miles"]
        expected = TherapistSerializer(therapist, context={"request": None}).data
        expected["url"] = f"http://testserver{expected['url']}"
        assert list(row) == list(expected)
        # As text too: equal dicts may still differ in type (1 == True), which a JSON client would see.
        assert json.dumps(row) == json.dumps(json.loads(json.dumps(expected)))


def test_search_shows_a_profile_change_once_its_listing_is_refreshed(
    api_client: APIClient, accepting_therapist: Therapist
) -> None:
    TherapistInsurer.objects.create(therapist=accepting_therapist, insurer=Insurer.objects.get(slug="cigna"))
    refresh([accepting_therapist.pk])
    [row] = search(api_client, q="Dana Accepting")["results"]
    assert slugs(row["insurance"]) == {"aetna", "cigna"}


@pytest.mark.parametrize("path", ["/api/therapists/", "/therapists/"])
def test_a_search_never_writes(api_client: APIClient, path: str) -> None:
    """The index is kept true by the services that write; reading it changes nothing, even for a stale card."""
    therapist = make_therapist(npi="1234567893", first_name="Nora", last_name="Uncarded")
    with CaptureQueriesContext(connection) as queries:
        for params in ({"q": "Nora Uncarded"}, {"near": "11215", "format": "individual,online"}, {"state": "NY"}):
            assert api_client.get(path, params).status_code == 200
    writes = [query["sql"] for query in queries if query["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")]
    assert writes == []
    assert Therapist.objects.get(pk=therapist.pk).listing_card


def test_detail_shows_published_and_hides_others(api_client: APIClient) -> None:
    published = Therapist.objects.published().first()
    response = api_client.get(f"{SEARCH}{published.pk}/")
    assert response.status_code == 200
    assert response.json()["name"] == published.full_name
    draft = Therapist.objects.exclude(status=Therapist.Status.PUBLISHED).first()
    assert api_client.get(f"{SEARCH}{draft.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/api/insurance/", "aetna"),
        ("/api/focus-areas/", "grief-loss"),
        ("/api/concerns/", "social-anxiety"),
        ("/api/formats/", "online"),
    ],
)
def test_reference_lists(api_client: APIClient, url: str, expected: str) -> None:
    rows = api_client.get(url).json()
    assert expected in {row["slug"] for row in rows}
    assert all(set(row) == {"slug", "name"} for row in rows)


def test_focus_areas_are_the_five_ipt_problem_areas(api_client: APIClient) -> None:
    assert len(api_client.get("/api/focus-areas/").json()) == 5


def test_schema_and_docs_are_served_offline(api_client: APIClient) -> None:
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/therapists/" in schema.json()["paths"]
    docs = api_client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


def test_accepting_search_skips_a_plan_closed_to_new_clients(
    api_client: APIClient, accepting_therapist: Therapist
) -> None:
    from directory.models import TherapistInsurer

    TherapistInsurer.objects.filter(therapist=accepting_therapist).update(accepting_new_clients=False)
    refresh([accepting_therapist.pk])
    closed = {row["id"] for row in all_results(api_client, insurance="aetna", accepting="true")}
    anyone = {row["id"] for row in all_results(api_client, insurance="aetna", accepting="any")}
    assert accepting_therapist.pk in anyone
    assert accepting_therapist.pk not in closed
