"""Keeping the index true is the search package's job: after any sequence of the services that write what a
search shows, every therapist's stored entries and card equal what the tables say."""

from __future__ import annotations

import datetime
import enum

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directory import profiles
from directory.models import Credential, Insurer, Language, Office, SearchEntry, Therapist
from directory.search.cards import card_of
from directory.search.index import entries_of
from tests.conftest import make_therapist, make_user

pytestmark = pytest.mark.django_db

ZIPS = ("11215", "10001", "60614", "94110")

edits = st.fixed_dictionaries(
    {},
    optional={
        "accepts_new_clients": st.booleans(),
        "capacity": st.integers(0, 5),
        "fee_min": st.sampled_from([None, 60, 120]),
        "sliding_scale": st.booleans(),
        "offers_online": st.booleans(),
        "offers_group": st.booleans(),
        "serves_children": st.booleans(),
        "bio": st.sampled_from(["", "Grief and role transitions.", "Perinatal anxiety, in Spanish too."]),
        "first_name": st.sampled_from(["Ada", "Bea"]),  # staff vouched for the name: back to review
    },
)
relation_edits = st.fixed_dictionaries(
    {},
    optional={
        "languages": st.sets(st.sampled_from(["en", "es", "zh"])),
        "offices": st.lists(st.sampled_from(ZIPS), max_size=2),
        "insurers": st.dictionaries(st.sampled_from(["aetna", "cigna", "medicaid"]), st.booleans(), max_size=3),
    },
)
steps = st.one_of(
    st.tuples(st.just("update"), st.integers(0, 1), edits, relation_edits),
    st.tuples(
        st.sampled_from(["publish", "suspend", "request_changes", "confirm", "verify", "staff_moves_office"]),
        st.integers(0, 1),
    ),
)


def update(therapist: Therapist, fields: dict, relations: dict) -> None:
    arguments = {}
    if "languages" in relations:
        arguments["languages"] = list(Language.objects.filter(code__in=relations["languages"]))
    if "offices" in relations:
        arguments["offices"] = [
            {"address": "1 Main St", "city": "Somewhere", "state": {"60614": "IL", "94110": "CA"}.get(zip_code, "NY"),
             "postal_code": zip_code}
            for zip_code in relations["offices"]
        ]  # fmt: skip
    if "insurers" in relations:
        arguments["insurers"] = [
            {"insurer": Insurer.objects.get(slug=slug), "accepting_new_clients": is_open}
            for slug, is_open in relations["insurers"].items()
        ]
    profiles.update_profile(therapist=therapist, fields=fields, **arguments)


def apply(step: tuple, therapists: list[Therapist], moderator: object) -> None:
    action, index = step[0], step[1]
    therapist = Therapist.objects.get(pk=therapists[index].pk)
    now = timezone.now()
    if action == "update":
        update(therapist, step[2], step[3])
    elif action == "publish":
        profiles.publish_profile(therapist=therapist, verified_by=moderator)
    elif action == "suspend":
        profiles.suspend_profile(therapist=therapist, message="Licence lapsed")
    elif action == "request_changes":
        profiles.request_changes(therapist=therapist, message="Add your licence number")
    elif action == "confirm":
        profiles.confirm_availability(therapist=therapist, now=now)
    elif action == "verify":
        credential = therapist.ipt_credentials.first()
        profiles.verify_credential(credential=credential, moderator=moderator, now=now)
    elif action == "staff_moves_office":  # the admin's form writes the row, then tells the services
        Office.objects.filter(therapist=therapist).update(latitude=41.88, longitude=-87.63)
        profiles.record_staff_edit(therapist_ids=[therapist.pk])


def entry_values(entry: SearchEntry) -> tuple:
    values = (getattr(entry, field.attname) for field in SearchEntry._meta.concrete_fields if field.name != "id")
    return tuple(value.value if isinstance(value, enum.Enum) else value for value in values)


def assert_index_matches_tables(therapists: list[Therapist]) -> None:
    for therapist in Therapist.objects.filter(pk__in=[each.pk for each in therapists]).for_listing():
        stored = sorted(map(entry_values, SearchEntry.objects.filter(therapist=therapist)), key=repr)
        assert stored == sorted(map(entry_values, entries_of(therapist)), key=repr)
        if therapist.status == Therapist.Status.PUBLISHED:
            assert therapist.listing_card == card_of(therapist)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(steps, min_size=1, max_size=8))
def test_the_index_equals_the_tables_after_any_sequence_of_services(sequence: list[tuple]) -> None:
    with transaction.atomic():
        moderator = make_user("index-moderator", is_staff=True)
        therapists = [
            make_therapist(npi="1234567893", first_name="Ada", last_name="Index"),
            make_therapist(npi="1000000004", first_name="Bea", last_name="Index", status=Therapist.Status.PENDING),
        ]
        for therapist in therapists:
            Credential.objects.create(
                therapist=therapist, issuer="ipt-institute", level="B", awarded_on=datetime.date(2020, 1, 1)
            )
        assert_index_matches_tables(therapists)
        for step in sequence:
            apply(step, therapists, moderator)
            assert_index_matches_tables(therapists)
        transaction.set_rollback(True)
