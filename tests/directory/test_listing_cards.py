"""Listing cards: the stored search results follow profile changes made through the supported paths."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.test import Client

from directory.models import Insurer, Therapist
from tests.conftest import make_therapist, make_user

pytestmark = pytest.mark.django_db


def card(therapist: Therapist) -> dict:
    return json.loads(Therapist.objects.get(pk=therapist.pk).listing_card)


def test_refresh_listings_command_rebuilds_every_card(accepting_therapist: Therapist) -> None:
    Therapist.objects.update(listing_card="")
    call_command("refresh_listings", stdout=io.StringIO())
    assert not Therapist.objects.filter(listing_card="").exists()
    assert card(accepting_therapist)["name"] == "Dana Accepting"


def test_editing_an_office_in_the_admin_refreshes_the_card(client: Client, accepting_therapist: Therapist) -> None:
    client.force_login(make_user("staffer", is_staff=True, is_superuser=True))
    office = accepting_therapist.offices.get()
    response = client.post(
        f"/admin/directory/office/{office.pk}/change/",
        {
            "therapist": accepting_therapist.pk,
            "label": "",
            "address": "2 New St",
            "city": "Brooklyn",
            "state": "NY",
            "postal_code": "11201",
        },
    )
    assert response.status_code == 302, response.content[:500]
    assert card(accepting_therapist)["offices"][0]["postal_code"] == "11201"


def test_renaming_an_insurer_in_the_admin_refreshes_its_therapists_cards(client: Client) -> None:
    therapist = make_therapist(npi="1245319599", insurers=("oscar",))
    client.force_login(make_user("staffer", is_staff=True, is_superuser=True))
    oscar = Insurer.objects.get(slug="oscar")
    response = client.post(
        f"/admin/directory/insurer/{oscar.pk}/change/", {"slug": "oscar", "name": "Oscar Health", "kind": oscar.kind}
    )
    assert response.status_code == 302
    assert card(therapist)["insurance"] == [{"slug": "oscar", "name": "Oscar Health"}]
