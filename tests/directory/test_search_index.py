"""The search index (SearchEntry) follows every change to a profile, and answers like the tables it copies."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from directory import profiles
from directory.models import FocusArea, Insurer, Office, SearchEntry, Therapist
from directory.search import refresh
from directory.search.models import mask
from tests.conftest import make_therapist

pytestmark = pytest.mark.django_db

SEARCH = "/api/therapists/"


def search(api_client: APIClient, **params: object) -> dict:
    response = api_client.get(SEARCH, params)
    assert response.status_code == 200, response.json()
    return response.json()


def found(api_client: APIClient, therapist: Therapist, **params: object) -> bool:
    return therapist.pk in {row["id"] for row in search(api_client, page_size=100, **params)["results"]}


def test_every_published_therapist_has_one_entry_per_profile_office_and_state() -> None:
    published = Therapist.objects.published().prefetch_related("offices", "licensed_states")
    entries = SearchEntry.objects.values_list("therapist_id", "kind")
    counts: dict[tuple[int, int], int] = {}
    for key in entries:
        counts[key] = counts.get(key, 0) + 1
    for therapist in published:
        assert counts.get((therapist.pk, SearchEntry.Kind.PROFILE)) == 1
        located = [office for office in therapist.offices.all() if office.latitude is not None]
        assert counts.get((therapist.pk, SearchEntry.Kind.OFFICE), 0) == len(located)
        states = {licence.state for licence in therapist.licensed_states.all()}
        assert counts.get((therapist.pk, SearchEntry.Kind.LICENCE), 0) == len(states)
    assert not SearchEntry.objects.exclude(therapist__status=Therapist.Status.PUBLISHED).exists()


def test_moderation_takes_a_profile_out_of_search_and_back(api_client: APIClient) -> None:
    therapist = make_therapist(npi="1234567893", first_name="Mona", last_name="Moderated")
    assert found(api_client, therapist, q="Mona Moderated")
    profiles.suspend_profile(therapist=therapist, message="Licence lapsed")
    assert not found(api_client, therapist, q="Mona Moderated")
    assert not SearchEntry.objects.filter(therapist=therapist).exists()
    profiles.publish_profile(therapist=therapist)
    assert found(api_client, therapist, q="Mona Moderated", near="11215")
    profiles.request_changes(therapist=therapist, message="Add a photo")
    assert not found(api_client, therapist, near="11215")


def test_confirming_availability_makes_a_stale_profile_accepting_again(api_client: APIClient) -> None:
    therapist = make_therapist(npi="1234567893", last_name="Stale", confirmed_days_ago=400)
    assert not found(api_client, therapist, q="Stale", accepting="true")
    profiles.confirm_availability(therapist=therapist, now=timezone.now())
    assert found(api_client, therapist, q="Stale", accepting="true")


def test_accepting_ends_when_the_freshness_window_passes_without_a_rebuild(api_client: APIClient, settings) -> None:
    """The entry stores the confirmation date, not a flag: the cutoff moves with the clock."""
    therapist = make_therapist(npi="1234567893", last_name="Ageing", confirmed_days_ago=10)
    assert found(api_client, therapist, q="Ageing", accepting="true")
    settings.AVAILABILITY_FRESHNESS_DAYS = 5
    assert not found(api_client, therapist, q="Ageing", accepting="true")
    assert found(api_client, therapist, q="Ageing", accepting="false")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("quixotic", True),
        ("QUIXOTIC", True),  # case-insensitive
        ("ixoti", True),  # any part of a word
        ("wu quixotic", True),  # every word; a two-letter one is matched without the index
        ("quixotic astronomy", False),
        ("xq quixotic", False),
        ('"quix"otic', False),  # quotes are text, not query syntax
        ("qui_otic", False),  # nor are LIKE's wildcards
        ("qu%tic", False),
        ("quixotic grief.", True),  # punctuation is part of the text
        ("c quixotic", True),
    ],
)
def test_free_text_needs_every_word_in_name_credentials_or_bio(
    api_client: APIClient, text: str, expected: bool
) -> None:
    therapist = make_therapist(npi="1234567893", first_name="Lin", last_name="Wuzzle", bio="A quixotic grief.")
    assert found(api_client, therapist, q=text) is expected


@pytest.mark.parametrize("text", ["hnp-b", "o'bri", "ief.quix", "ief\u00a0qui", "my quixotic", "astronomy"])
def test_a_word_is_found_across_punctuation_and_any_whitespace(api_client: APIClient, text: str) -> None:
    """PostgreSQL indexes the words between ASCII whitespace only, so punctuation stays inside a word;
    a query is split on any whitespace (here U+00A0)."""
    therapist = make_therapist(npi="1234567893", bio="Pmhnp-bc, O'Brien.\tIn my\r\ngrief.quixotic\x0bastronomy\x0c")
    assert found(api_client, therapist, q=text)


@pytest.mark.parametrize("params", [{}, {"accepting": "any"}, {"accepting": "true"}, {"format": "individual"}])
def test_free_text_count_is_the_number_of_therapists_found(api_client: APIClient, params: dict) -> None:
    """With the text as the only condition SQLite counts from its text index alone: the same number."""
    kept = make_therapist(npi="1234567893", last_name="Keeper", bio="A quixotic grief.")
    gone = make_therapist(npi="1245319599", last_name="Goner", bio="Quixotic, too.")
    hidden = make_therapist(npi="1000000004", last_name="Hidden", bio="Quixotic as well.")
    profiles.suspend_profile(therapist=hidden)
    gone.delete()  # deleted outright: its entries go, and the text index follows (migration 0007)
    response = api_client.get(SEARCH, {"q": "quixotic", "page_size": 100, **params})
    assert response.status_code == 200
    ids = [row["id"] for row in response.json()["results"]]
    assert ids == [kept.pk]
    assert response.json()["count"] == 1


def test_free_text_follows_an_entry_whose_text_is_updated_in_place(api_client: APIClient) -> None:
    """The text index follows UPDATEs of the entries too (on SQLite, migration 0007's update trigger)."""
    therapist = make_therapist(npi="1234567893", last_name="Inplace", bio="Role disputes")
    SearchEntry.objects.filter(therapist=therapist, kind=SearchEntry.Kind.PROFILE).update(text="life transitions")
    assert not found(api_client, therapist, q="disputes")
    assert found(api_client, therapist, q="transitions")


def test_free_text_follows_an_edited_bio(api_client: APIClient) -> None:
    therapist = make_therapist(npi="1234567893", last_name="Editor", bio="Role disputes")
    assert found(api_client, therapist, q="disputes")
    Therapist.objects.filter(pk=therapist.pk).update(bio="Life transitions")
    refresh([therapist.pk])
    assert not found(api_client, therapist, q="disputes")
    assert found(api_client, therapist, q="transitions")


@pytest.mark.parametrize("longitude", [-74.0, -74.0001, -73.9999, -74.9999, -73.0001])
def test_an_office_is_found_whichever_strip_of_longitude_it_lies_in(api_client: APIClient, longitude: float) -> None:
    """The coordinates index is read by whole degrees of longitude: a box across a degree line reads both strips."""
    therapist = make_therapist(npi="1234567893", last_name="Meridian")
    Office.objects.filter(therapist=therapist).update(latitude=40.7, longitude=longitude)
    refresh([therapist.pk])
    around = f"40.7,{round(longitude + 0.05, 4)}"  # a few miles east: the box reaches west of the office
    assert found(api_client, therapist, near=around, radius="10", q="Meridian")
    assert not found(api_client, therapist, near="40.7,-72.5", radius="10", q="Meridian")


def test_online_therapist_in_the_clients_state_matches_a_search_near_a_place(api_client: APIClient) -> None:
    online = make_therapist(
        npi="1234567893", last_name="Remote", postal_code=None, licensed=("NY",), offers_online=True
    )
    elsewhere = make_therapist(
        npi="1245319599", last_name="Faraway", postal_code=None, licensed=("CA",), offers_online=True
    )
    response = api_client.get(SEARCH, {"near": "11215", "format": "online", "page_size": 100, "q": "Remote"})
    [row] = response.json()["results"]
    assert row["id"] == online.pk and row["distance_miles"] is None
    assert not found(api_client, elsewhere, near="11215", format="online", q="Faraway")


def test_masks_hold_ids_up_to_62_only() -> None:
    assert mask([0, 62]) == 1 | 1 << 62
    with pytest.raises(ValueError):
        mask([63])


@pytest.mark.parametrize("model", [Insurer, FocusArea])
def test_a_vocabulary_is_full_at_62_rows(model: type) -> None:
    model.objects.create(id=62, slug="the-last-bit", name="The last bit")  # as if many rows had come and gone
    row = model(slug="one-too-many", name="One too many")
    with pytest.raises(ValidationError, match="62"):
        row.full_clean()


@pytest.mark.parametrize("word", ["ixoti", "grief.", "qui_otic", "wuzzle", "astronomy"])
def test_the_word_index_finds_the_entries_that_contain_the_word(word: str) -> None:
    """`text__word_contains` (PostgreSQL: the word index; SQLite: LIKE) agrees with `text__contains`."""
    make_therapist(npi="1234567893", first_name="Lin", last_name="Wuzzle", bio="A quixotic grief.")
    profiles = SearchEntry.objects.profiles()
    expected = set(profiles.filter(text__contains=word).values_list("therapist_id", flat=True))
    assert set(profiles.filter(text__word_contains=word).values_list("therapist_id", flat=True)) == expected
    assert bool(expected) is (word in {"ixoti", "grief.", "wuzzle"})


def test_near_a_place_the_parameters_conditions_are_tested_before_the_distance(api_client: APIClient) -> None:
    """SQLite tests what its index range leaves in the written order; the bitmask tests are the cheaper filter."""
    params = {"near": "11215", "radius": 25, "insurance": "aetna", "format": "individual"}
    api_client.get(SEARCH, params)  # reads the reference tables into the per-process cache
    with CaptureQueriesContext(connection) as queries:
        assert api_client.get(SEARCH, params).status_code == 200
    [page] = [query["sql"] for query in queries.captured_queries if "directory_searchentry" in query["sql"]]
    where = page[page.index(" WHERE ") :]
    assert max(where.index('"formats" &'), where.index('"insurers" &')) < where.index(") <= ")


def test_the_text_only_count_follows_entries_updated_in_place_and_deleted(api_client: APIClient) -> None:
    """The count of a text-only search comes from the text index alone (SQLite: FTS5; PostgreSQL: the profiles'
    word ids, migration 0011): it must follow every write of the entries, not only the rebuilds."""
    therapist = make_therapist(npi="1234567893", last_name="Counted", bio="Zanzibar sessions")
    assert search(api_client, q="zanzibar")["count"] == 1
    SearchEntry.objects.filter(therapist=therapist, kind=SearchEntry.Kind.PROFILE).update(text="xylophonic sessions")
    assert search(api_client, q="zanzibar")["count"] == 0
    assert search(api_client, q="xylophonic sessions")["count"] == 1
    SearchEntry.objects.filter(therapist=therapist).delete()
    assert search(api_client, q="xylophonic")["count"] == 0
    refresh([therapist.pk])
    assert search(api_client, q="zanzibar")["count"] == 1
    with connection.cursor() as cursor:  # as the bench loader and Django's test flush empty it
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE waits for no deferred check
            cursor.execute(f"TRUNCATE {SearchEntry._meta.db_table}")
        else:
            cursor.execute(f"DELETE FROM {SearchEntry._meta.db_table}")
    assert search(api_client, q="zanzibar")["count"] == 0
