"""A search that finds nobody says why: what each filter left out, a larger radius, online sessions, the nearest match.

Every count offered must be the count of the search it links to; the
explanation costs a bounded number of queries, and only when nobody was found.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from django.db import connection
from django.http import QueryDict
from django.test import Client
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from directory import search
from directory.filters import PARAMETER_OF_FIELD, RADIUS_CHOICES, TherapistFilter
from directory.models import FORMATS, Therapist
from directory.search.suggest import REMOVABLE, with_online, without
from tests.conftest import make_therapist, valid_npi

pytestmark = pytest.mark.django_db

SEARCH = "/api/therapists/"
# The search: Spanish is the blocker, not insurance; the nearest match is far away.
BROOKLYN = {
    "near": "11215",
    "format": "individual,online",
    "insurance": "aetna",
    "focus": "grief-loss",
    "language": "es",
}
EMPTY_FIELDS = ("suggestions", "larger_radius", "online_option", "nearest_miles", "nearest_place")


def count_of(client: APIClient, params: dict) -> int:
    response = client.get(SEARCH, params)
    assert response.status_code == 200, response.content
    return response.json()["count"]


def without_parameter(params: dict, parameter: str) -> dict:
    return {name: value for name, value in params.items() if name != parameter}


def test_the_blocker_is_named_with_what_removing_each_filter_finds(api_client: APIClient) -> None:
    body = api_client.get(SEARCH, BROOKLYN).json()
    assert body["count"] == 0
    suggestions = body["suggestions"]
    assert {suggestion["remove"] for suggestion in suggestions} == {"format", "insurance", "focus", "language"}
    assert suggestions[0]["remove"] == "language" and suggestions[0]["count"] > 0
    assert [suggestion["count"] for suggestion in suggestions] == sorted(
        (suggestion["count"] for suggestion in suggestions), reverse=True
    )
    for suggestion in suggestions:
        assert suggestion["count"] == count_of(api_client, without_parameter(BROOKLYN, suggestion["remove"]))
    assert next(s for s in suggestions if s["remove"] == "insurance")["count"] == 0  # removing it was no help


def test_the_nearest_match_is_the_distance_at_which_the_search_finds_someone(api_client: APIClient) -> None:
    body = api_client.get(SEARCH, BROOKLYN).json()
    miles = body["nearest_miles"]
    assert miles > 25
    beyond = api_client.get(SEARCH, {**BROOKLYN, "radius": miles + 0.1}).json()
    nearest = beyond["results"][0]
    assert nearest["distance_miles"] == miles
    place = body["nearest_place"]
    assert {"city": place["city"], "state": place["state"]} in [
        {"city": office["city"], "state": office["state"]} for office in nearest["offices"]
    ]
    short = api_client.get(SEARCH, {**BROOKLYN, "radius": miles - 0.1, "page_size": 100}).json()
    assert all(row["distance_miles"] is None for row in short["results"])  # online in NY at most: none here
    # The larger radius offered is the smallest step beyond the nearest match, and finds what it says.
    radius = body["larger_radius"]
    assert radius["radius"] == min(step for step in RADIUS_CHOICES if step >= miles)
    assert radius["count"] == count_of(api_client, {**BROOKLYN, "radius": radius["radius"]}) > 0


def test_a_place_with_no_one_near_offers_a_larger_radius_and_online_sessions(api_client: APIClient) -> None:
    params = {"near": "St. Louis, MO"}
    body = api_client.get(SEARCH, params).json()
    assert body["count"] == 0
    assert body["suggestions"] == []  # no filter to remove
    assert body["nearest_miles"] > 100
    radius = body["larger_radius"]
    assert radius["radius"] > 100
    assert radius["count"] == count_of(api_client, {**params, "radius": radius["radius"]}) > 0
    online = body["online_option"]
    assert online["format"] == "online" and online["state"] == "MO"
    assert online["count"] == count_of(api_client, {**params, "format": "online"}) > 0


def test_no_match_anywhere_gives_null_nearest_and_no_radius(api_client: APIClient) -> None:
    body = api_client.get(SEARCH, {"near": "11215", "q": "zzqxv"}).json()
    assert body["count"] == 0
    assert body["nearest_miles"] is None and body["nearest_place"] is None and body["larger_radius"] is None
    assert body["suggestions"] == [{"remove": "q", "count": count_of(api_client, {"near": "11215"})}]


def test_without_a_place_there_is_no_distance_but_the_online_option_in_the_state(api_client: APIClient) -> None:
    params = {"state": "MT", "language": "es", "focus": "grief-loss", "format": "group"}
    body = api_client.get(SEARCH, params).json()
    assert body["count"] == 0
    assert body["nearest_miles"] is None and body["larger_radius"] is None
    for suggestion in body["suggestions"]:
        assert suggestion["count"] == count_of(api_client, without_parameter(params, suggestion["remove"]))
    assert body["online_option"]["state"] == "MT"
    assert body["online_option"]["count"] == count_of(api_client, {**params, "format": "group,online"})


def test_accepting_is_a_filter_like_the_others(api_client: APIClient, full_therapist: Therapist) -> None:
    params = {"q": "Fran Full", "accepting": "true"}
    body = api_client.get(SEARCH, params).json()
    assert body["count"] == 0
    assert {"remove": "accepting", "count": 1} in body["suggestions"]
    assert count_of(api_client, {"q": "Fran Full"}) == 1


def test_a_search_with_results_carries_no_explanation_and_runs_one_query(
    api_client: APIClient, django_assert_num_queries: object
) -> None:
    typical = {"near": "11215", "radius": 25, "insurance": "aetna", "format": "individual"}  # the benchmark's
    api_client.get(SEARCH, typical)
    with django_assert_num_queries(1):
        body = api_client.get(SEARCH, typical).json()
    assert body["count"] > 0
    assert not set(EMPTY_FIELDS) & set(body)


EVERY_FILTER = {
    "near": "11215", "q": "grief", "format": "individual,online", "insurance": "aetna,cigna",
    "focus": "grief-loss", "concern": "depression", "language": "es", "age_group": "children",
    "state": "NY", "accepting": "true",
}  # fmt: skip


@pytest.mark.parametrize(
    ("params", "queries"),
    [
        # Near a place: the page; the variants counted; the nearest; the larger radius.
        ({"near": "St. Louis, MO"}, 4),
        ({**BROOKLYN, "radius": 5}, 4),
        (EVERY_FILTER, 4),
        # Without: the count and the page; the variants counted.
        ({"state": "MT", "language": "es", "focus": "grief-loss", "format": "group"}, 3),
        ({key: value for key, value in EVERY_FILTER.items() if key != "near"}, 3),
    ],
)
def test_the_explanation_costs_a_bounded_number_of_queries(
    api_client: APIClient, django_assert_max_num_queries: object, params: dict, queries: int
) -> None:
    api_client.get(SEARCH, params)  # reads the reference tables into the per-process cache
    with django_assert_max_num_queries(queries):
        body = api_client.get(SEARCH, params).json()
    assert body["count"] == 0 and "suggestions" in body


def test_the_number_of_queries_grows_with_neither_filters_nor_therapists(api_client: APIClient) -> None:
    def queries(params: dict) -> int:
        api_client.get(SEARCH, params)
        with CaptureQueriesContext(connection) as captured:
            assert api_client.get(SEARCH, params).json()["count"] == 0
        return len(captured)

    searches = ({"near": "11215", "radius": 5, "language": "zh"}, BROOKLYN, EVERY_FILTER)
    before = [queries(params) for params in searches]
    assert max(before) <= 4
    for number in range(5):
        make_therapist(npi=valid_npi(f"19900010{number}"), last_name=f"Extra {number}", postal_code="10001")
    assert [queries(params) for params in searches] == before


def test_the_schema_describes_the_explanation(api_client: APIClient) -> None:
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    page = schema["components"]["schemas"]["TherapistSearchPage"]
    assert set(EMPTY_FIELDS) <= set(page["properties"])
    assert not set(EMPTY_FIELDS) & set(page.get("required", []))
    removal = schema["components"]["schemas"]["RemovalSuggestion"]
    assert set(removal["properties"]) == {"remove", "count"}


def test_every_removable_field_has_its_parameter() -> None:
    assert set(REMOVABLE) == set(PARAMETER_OF_FIELD)


# Against separate searches, for drawn searches of every kind (with results or without).
searches = st.fixed_dictionaries(
    {
        "near": st.sampled_from(["", "11215", "St. Louis, MO", "59001", "60601", "85004"]),
        "radius": st.sampled_from(["", "5", "50"]),
        "format": st.lists(st.sampled_from(list(FORMATS)), unique=True, max_size=2),
        "insurance": st.lists(st.sampled_from(["aetna", "cigna", "medicaid"]), unique=True, max_size=2),
        "focus": st.lists(st.sampled_from(["grief-loss", "role-disputes"]), unique=True, max_size=1),
        "concern": st.lists(st.sampled_from(["depression", "panic"]), unique=True, max_size=1),
        "language": st.lists(st.sampled_from(["es", "zh", "en"]), unique=True, max_size=1),
        "age_group": st.lists(st.sampled_from(["children", "adults"]), unique=True, max_size=1),
        "state": st.sampled_from(["", "NY", "MO", "AZ"]),
        "accepting": st.sampled_from(["", "true", "false"]),
        "q": st.sampled_from(["", "grief", "lcsw ph", "an"]),
    }
)


def parsed(params: dict) -> search.Query:
    data = QueryDict(mutable=True)
    for name, value in params.items():
        data.setlist(name, value if isinstance(value, list) else [value])
    filterset = TherapistFilter(data)
    assert filterset.is_valid(), filterset.errors
    return filterset.query()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=searches)
def test_every_count_offered_is_the_count_of_its_own_search(params: dict) -> None:
    query = parsed(params)
    found = search.suggest(query, radius_steps=RADIUS_CHOICES)
    counts = [count for _, count in found.removals]
    assert counts == sorted(counts, reverse=True)
    for field, count in found.removals:
        assert count == search.page(without(query, field), size=1).count, field
    if found.online is not None:
        assert found.online == search.page(with_online(query), size=1).count
    if found.larger_radius is not None:
        miles, count = found.larger_radius
        assert miles > query.radius_miles
        assert count == search.page(dataclasses.replace(query, radius_miles=float(miles)), size=1).count > 0
    if found.nearest is not None:
        reach = dataclasses.replace(query, radius_miles=found.nearest.miles + 0.1, ordering="distance")
        assert search.page(reach, size=1).hits[0].distance_miles == found.nearest.miles


@pytest.mark.parametrize("path", ["/therapists/", SEARCH])
def test_the_explanation_is_given_only_for_a_search_that_found_nobody(client: Client, path: str) -> None:
    with CaptureQueriesContext(connection) as captured:
        client.get(path, {"near": "11215"})
    assert not any("CASE WHEN" in query["sql"] for query in captured)  # the variants' pass
    body = client.get(path, {"near": "11215"}).content.decode()
    assert "No therapists match" not in body and "nearest" not in body


# The page.


def empty_state_of(html: str) -> str:
    return html.split('<section class="empty-state"', 1)[1].split("</section>", 1)[0]


def test_the_page_names_the_blocker_and_links_to_the_search_without_it(client: Client) -> None:
    response = client.get("/therapists/", {**BROOKLYN, "accepting": "any"})
    assert response.context["count"] == 0
    block = empty_state_of(response.content.decode())
    assert "<h3" in block and "No therapists match all of your filters" in block
    without_spanish = count_of(APIClient(), without_parameter({**BROOKLYN, "accepting": "any"}, "language"))
    assert f"The blocker is <strong>Spanish</strong>: without it, {without_spanish} therapist" in block
    assert "Remove the insurance filter" not in block
    link = re.search(r'<a href="\?([^"]+)">Search without Spanish</a>', block)
    assert link
    followed = client.get("/therapists/?" + link.group(1).replace("&amp;", "&"))
    assert followed.context["count"] == without_spanish > 0
    miles = APIClient().get(SEARCH, {**BROOKLYN, "accepting": "any"}).json()["nearest_miles"]
    assert re.search(rf"The nearest match is {round(miles)} miles away, in [A-Z][a-z]+, [A-Z]{{2}}\.", block)


def test_the_page_offers_a_radius_that_finds_someone_and_online_sessions(client: Client) -> None:
    response = client.get("/therapists/", {"near": "St. Louis, MO", "radius": "25"})
    block = empty_state_of(response.content.decode())
    radius = re.search(r'<a href="\?([^"]+)">Search within (\d+) miles</a>: (\d+) therapist', block)
    assert radius and int(radius.group(2)) > 100
    wider = client.get("/therapists/?" + radius.group(1).replace("&amp;", "&"))
    assert wider.context["count"] == int(radius.group(3)) > 0
    online = re.search(r'<a href="\?([^"]+)">Include online sessions with therapists licensed in MO</a>: (\d+)', block)
    assert online
    assert client.get("/therapists/?" + online.group(1).replace("&amp;", "&")).context["count"] == int(online.group(2))


def test_the_page_explains_in_a_bounded_number_of_queries(client: Client) -> None:
    def queries(params: dict) -> int:
        client.get("/therapists/", params)
        with CaptureQueriesContext(connection) as captured:
            client.get("/therapists/", params)
        return len(captured)

    with_results = queries({"near": "11215", "accepting": "any"})
    assert queries(EVERY_FILTER) <= with_results + 3
    assert queries({**BROOKLYN, "radius": 5}) <= with_results + 3


def test_on_the_page_accepting_is_relaxed_to_everyone(client: Client, full_therapist: Therapist) -> None:
    block = empty_state_of(client.get("/therapists/", {"q": "Fran Full"}).content.decode())
    assert "Removing one filter would find therapists:" in block  # the name, or the default of accepting
    link = re.search(r'<a href="\?([^"]+)">Include therapists not accepting right now</a>', block)
    assert link and "accepting=any" in link.group(1)
    assert client.get("/therapists/?" + link.group(1).replace("&amp;", "&")).context["count"] == 1
