"""A search's work is bounded by its page, not by how many therapists match (issue 20): the count is exact up to
a threshold and then a lower bound the API and the page say is one, and the page read that way is the page an
unbounded read gives."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from directory import geo, search
from directory.models import FORMATS, Insurer
from directory.search import models as search_models
from directory.search import query as search_query
from directory.search.models import SearchEntry, SearchEntryQuerySet, StripByStrip, has_any
from tests.drawn import CENTER, INSURERS, create, offset, therapist_specs

pytestmark = pytest.mark.django_db

UNBOUNDED = 10**9

queries = st.fixed_dictionaries(
    {
        "near": st.sampled_from([True, True, False]),
        "radius_miles": st.sampled_from([5.0, 10.0, 25.0, 50.0]),
        "formats": st.one_of(st.just(()), st.just(("online",)), st.sets(st.sampled_from(list(FORMATS))).map(tuple)),
        "insurers": st.sets(st.sampled_from(INSURERS)),
        "state": st.sampled_from(["", "", "MT", "WY"]),
        "accepting": st.sampled_from(["any", "any", "true", "false"]),
        "ordering": st.sampled_from([None, None, "name", "-updated"]),
        # The drawn therapists are "Drawn Therapist <n>": words all, some, one or none of them have.
        "text": st.sampled_from(["", "", "", "drawn", "therapist 1", "rapist 3", "therapist 12", "nobody"]),
    }
)


def build_query(spec: dict) -> search.Query:
    insurer_ids = tuple(Insurer.objects.filter(slug__in=spec["insurers"]).values_list("pk", flat=True))
    place = CENTER if spec["near"] else None
    ordering = spec["ordering"] if place or spec["ordering"] != "distance" else None
    return search.Query(
        place=place,
        radius_miles=spec["radius_miles"],
        formats=tuple(sorted(spec["formats"])),
        insurer_ids=insurer_ids,
        state=spec["state"],
        accepting=spec["accepting"],
        ordering=ordering,
        text=spec["text"],
    )


def read(query: search.Query, number: int, size: int, exact_up_to: int) -> search.ResultPage | None:
    try:
        return search.page(query, number=number, size=size, cards=True, exact_up_to=exact_up_to)
    except search.PageNotFound:
        return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    specs=st.lists(therapist_specs, min_size=3, max_size=16),
    query_spec=queries,
    number=st.sampled_from([1, 1, 1, 2, 3]),
    size=st.sampled_from([1, 2, 3, 20]),
    exact_up_to=st.sampled_from([1, 1, 2, 3, 5, 100]),
    common_text=st.sampled_from([0, 2, UNBOUNDED]),
)
def test_a_bounded_page_is_the_unbounded_page(
    specs: list[dict], query_spec: dict, number: int, size: int, exact_up_to: int, common_text: int
) -> None:
    """Bounded, and with free text found by more than `common_text` therapists tested on each name read; the
    reference reads every entry in reach and looks every text up in the text index."""
    now = timezone.now()
    with transaction.atomic():
        search.refresh([create(index, spec, now).pk for index, spec in enumerate(specs)])
        query = build_query(query_spec)
        with CaptureQueriesContext(connection) as captured, mock.patch.object(search_query, "COMMON_TEXT", common_text):
            bounded = read(query, number, size, exact_up_to)
        with mock.patch.object(search_query, "COMMON_TEXT", UNBOUNDED):
            reference = read(query, number, size, UNBOUNDED)

        assert (bounded is None) == (reference is None)
        if reference is not None:
            assert [(hit.therapist_id, hit.squared_distance) for hit in bounded.hits] == [
                (hit.therapist_id, hit.squared_distance) for hit in reference.hits
            ]
            assert [card.listing_card for card in bounded.cards] == [card.listing_card for card in reference.cards]
            assert reference.count_is_exact
            assert bounded.count <= reference.count  # an honest lower bound
            if bounded.count_is_exact:
                assert bounded.count == reference.count
            else:
                assert bounded.count <= exact_up_to
            if query.place is None:  # one entry per therapist: exact exactly up to the threshold
                assert bounded.count == min(reference.count, exact_up_to)
                assert bounded.count_is_exact == (reference.count <= exact_up_to)
            if not bounded.has_next:
                assert not reference.has_next
            near = "near a place" if query.place else "without a place"
            exact = "exact" if bounded.count_is_exact else "lower bound"
            event(f"{near}, {exact}, {len(captured.captured_queries)} queries")
        transaction.set_rollback(True)


# A therapist in Billings (the drawn directories' centre, far from the demo's metros), seen online in Montana.
NEARBY = {"accepts": True, "confirmed_days_ago": 1, "capacity": 3, "formats": {"individual", "online"},
          "insurers": {"aetna"}, "fee_min": None, "sliding_scale": False, "languages": set(), "focus_areas": set(),
          "concerns": set(), "training_level": "trained", "replies": (0, 0), "recent_offers": 0,
          "offices": [(0, 0)], "states": {"MT"}}  # fmt: skip


def in_billings(count: int, *, first: int = 0) -> None:
    now = timezone.now()
    search.refresh([create(first + index, NEARBY, now).pk for index in range(count)])


def test_a_search_near_a_place_reads_the_strip_of_longitude_holding_it_first() -> None:
    """Read up to a limit, the offices read first are those of the place's own strip (108° to 109° W around
    Billings), from the place's latitude north, then south of it, then those of the strips further away:
    not the westernmost first, as one index range would, nor the southernmost of the place's strip."""
    now = timezone.now()
    west = {**NEARBY, "offices": [(0, -30)]}  # past 109° W
    east = {**NEARBY, "offices": [(0, 40)]}  # past 108° W, further than the western strip's nearest edge
    south = {**NEARBY, "offices": [(-3, 0)]}
    specs = [west, east, NEARBY, west, south, NEARBY]
    created = [create(index, spec, now).pk for index, spec in enumerate(specs)]
    search.refresh(created)

    strips = SearchEntry.objects.near_by_band(CENTER, 50)

    assert strips.bands == [geo.longitude_band(CENTER.longitude), -110, -108] == [-109, -110, -108]
    assert read_strips(strips) == [{created[2], created[5]}, {created[4]}, {created[0], created[3]}, {created[1]}]


def read_strips(strips: StripByStrip, columns: tuple[str, ...] = ("therapist_id",)) -> list[set]:
    """What each of the strips' statements finds, in their order: the first column, or every column's."""
    found = []
    with connection.cursor() as cursor:
        for sql, params in strips.compiled(list(columns)):
            cursor.execute(sql, params)
            found.append({row[0] if len(columns) == 1 else row for row in cursor.fetchall()})
    return found


def test_a_search_near_another_place_with_the_same_conditions_reuses_the_compiled_query() -> None:
    """The strips' compiled SQL is kept for their conditions: a search near another place with equal conditions
    compiles nothing and finds that place's offices; a search with other conditions compiles its own."""
    now = timezone.now()
    cigna = {**NEARBY, "insurers": {"cigna"}}
    offices = [(0, 0), (0, -30), (200, 0)]
    specs = [*({**NEARBY, "offices": [office]} for office in offices), {**cigna, "offices": [(200, 5)]}]
    search.refresh([create(index, spec, now).pk for index, spec in enumerate(specs)])
    elsewhere = geo.Place(*offset(200, 0), "MT", "200 miles north of Billings")
    aetna, other = (Insurer.objects.get(slug=slug).pk for slug in ("aetna", "cigna"))

    def insured(insurer: int) -> SearchEntryQuerySet:  # built anew for each search, as a search builds its conditions
        return SearchEntry.objects.filter(has_any("insurers", [insurer]))

    original = SearchEntryQuerySet.within_distance
    with mock.patch.object(SearchEntryQuerySet, "within_distance", autospec=True, side_effect=original) as compiles:
        here = set().union(*read_strips(insured(aetna).near_by_band(CENTER, 50), ("therapist_id", "squared_distance")))
        there = read_strips(insured(aetna).near_by_band(elsewhere, 50), ("therapist_id", "squared_distance"))
        assert compiles.call_count == 1
        cigna_there = read_strips(insured(other).near_by_band(elsewhere, 50))
        assert compiles.call_count == 2

    def near(insurer: int, place: geo.Place) -> set:
        return set(insured(insurer).near(place, 50).values_list("therapist_id", "squared_distance"))

    assert here == near(aetna, CENTER) and len(here) == 2
    assert set().union(*there) == near(aetna, elsewhere) and len(near(aetna, elsewhere)) == 1
    assert set().union(*cigna_there) == {therapist for therapist, _ in near(other, elsewhere)}
    assert len(near(other, elsewhere)) == 1


def test_the_offices_within_a_smaller_radius_are_read_by_the_strips_compiled_query() -> None:
    """The ring a page near a place is read from (`within`) reuses the strips' compiled SQL with its own box
    and distance: it finds exactly the offices `near` finds within that radius, whichever strip they are in."""
    now = timezone.now()
    specs = [{**NEARBY, "offices": [offset]} for offset in [(0, 0), (0, -30), (0, 40), (5, 5), (-20, -25), (60, 0)]]
    search.refresh([create(index, spec, now).pk for index, spec in enumerate(specs)])
    search_models._templates_by_conditions.cache_clear()  # as in a new process
    strips = SearchEntry.objects.near_by_band(CENTER, 100)

    for miles in (100, 35, 10, 0.5):
        ring = strips.within(miles)
        found = set()
        with connection.cursor() as cursor:
            for sql, params in ring.compiled(["therapist_id", "squared_distance"]):
                cursor.execute(sql, params)
                found |= set(cursor.fetchall())
        expected = SearchEntry.objects.near(CENTER, miles).values_list("therapist_id", "squared_distance")
        assert found == set(expected)
        assert len(found) == {100: 6, 35: 4, 10: 2, 0.5: 1}[miles]
    assert len(strips._templates) == 1  # compiled once for the columns, whatever the radius


def test_the_count_is_exact_up_to_the_threshold_then_a_lower_bound() -> None:
    in_billings(7)
    query = search.Query(place=CENTER, radius_miles=25)

    exact = search.page(query, size=1, exact_up_to=7)
    bound = search.page(query, size=1, exact_up_to=3)

    assert (exact.count, exact.count_is_exact) == (7, True)
    assert (bound.count, bound.count_is_exact) == (3, False)
    assert bound.therapist_ids == exact.therapist_ids


def test_the_api_says_when_the_count_is_a_lower_bound(api_client: object, monkeypatch: pytest.MonkeyPatch) -> None:
    in_billings(5)
    monkeypatch.setattr(search_query, "COUNT_THRESHOLD", 2)

    bounded = api_client.get("/api/therapists/", {"near": "59101", "page_size": 1}).json()
    by_name = api_client.get("/api/therapists/", {"state": "MT", "page_size": 5}).json()
    monkeypatch.setattr(search_query, "COUNT_THRESHOLD", 1000)
    exact = api_client.get("/api/therapists/", {"near": "59101", "page_size": 1}).json()

    assert (bounded["count"], bounded["count_is_exact"]) == (2, False)
    assert bounded["next"] is not None  # more may follow: the pages are not counted
    assert [row["id"] for row in bounded["results"]] == [row["id"] for row in exact["results"]]
    assert (by_name["count"], by_name["count_is_exact"], len(by_name["results"])) == (2, False, 5)
    assert (exact["count"], exact["count_is_exact"]) == (5, True)


def test_the_page_says_or_more_past_the_threshold(client: object, monkeypatch: pytest.MonkeyPatch) -> None:
    in_billings(5)
    monkeypatch.setattr(search_query, "COUNT_THRESHOLD", 2)

    page = client.get("/therapists/", {"near": "59101", "page_size": 1}).content.decode()

    assert "2 or more therapists found" in page
    assert "Page 1 of 2 or more" in page
    assert 'rel="next"' in page


@pytest.mark.parametrize(
    "params",
    [
        {"near": "59101", "radius": "25", "page_size": "1"},
        {"near": "59101", "radius": "25", "format": "online", "page_size": "1"},
        {"near": "59101", "radius": "25", "page_size": "20"},
        {"state": "MT"},
        {"ordering": "name"},
    ],
)
def test_queries_per_search_do_not_grow_with_the_directory(
    api_client: object, monkeypatch: pytest.MonkeyPatch, params: dict
) -> None:
    """Past the threshold at both sizes: a search near a place reads a bounded count, then its page nearby (or,
    when the page needs about all it counted, every entry in reach)."""
    monkeypatch.setattr(search_query, "COUNT_THRESHOLD", 2)
    queries = []
    for count in (6, 30):
        in_billings(count - len(queries) * 6, first=len(queries) * 6)
        with CaptureQueriesContext(connection) as captured:
            response = api_client.get("/api/therapists/", params)
        assert response.status_code == 200
        queries.append(len(captured.captured_queries))
    assert queries[0] == queries[1] <= 3


@pytest.mark.parametrize("text", ["drawn", "therapist 1", "rapist 1", "nobody here", "dr"])
@pytest.mark.parametrize("ordering", [None, "-updated"])
def test_free_text_pages_are_the_same_whether_found_common_or_rare(text: str, ordering: str | None) -> None:
    """Common text is tested on each name as the names are read, rare text looked up in the text index."""
    in_billings(14)
    query = search.Query(text=text, ordering=ordering)
    pages = {}
    for common_text in (0, UNBOUNDED):
        with mock.patch.object(search_query, "COMMON_TEXT", common_text):
            pages[common_text] = [read(query, number, 4, 3) for number in (1, 2, 3, 4)]
    assert [page and (page.therapist_ids, page.count, page.count_is_exact) for page in pages[0]] == [
        page and (page.therapist_ids, page.count, page.count_is_exact) for page in pages[UNBOUNDED]
    ]
    assert pages[0][0] is not None and (pages[0][0].count > 0) == (text != "nobody here")
