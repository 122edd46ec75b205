"""A new therapist fills their draft profile from the registry's record of their NPI."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from directory.models import LicensedState, Office, Therapist
from registry.models import RegistryProvider
from tests.conftest import make_user, signed_in

pytestmark = pytest.mark.django_db
URL = "/me/profile/from-npi-registry/"


def keep_provider(npi: str, **fields: object) -> RegistryProvider:
    values = {
        "first_name": "NORA",
        "last_name": "NEWCOMER-HALL",
        "credential": "LCSW-R",
        "address": "300 7TH AVE",
        "city": "BROOKLYN",
        "state": "NY",
        "postal_code": "11215",
        "phone": "7185550100",
        "taxonomies": "1041C0700X",
        "licences": [["NY", "R-012345"], ["NJ", "44SC0001"]],
        **fields,
    }
    return RegistryProvider.objects.create(npi=npi, updated_at=timezone.now(), **values)


def test_page_shows_what_the_registry_lists_for_the_drafts_npi(
    new_therapist: Therapist, django_assert_max_num_queries: object
) -> None:
    keep_provider(new_therapist.npi)
    client = signed_in(new_therapist.user)

    # The session, the user, the role, the profile, the registry record, and the layout's inbox counts.
    with django_assert_max_num_queries(11):
        response = client.get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Nora Newcomer-Hall" in page and "LCSW-R" in page and "718-555-0100" in page
    assert "300 7th Ave, Brooklyn, NY 11215" in page and "NY R-012345; NJ 44SC0001" in page
    assert "Social Worker, Clinical" in page and "Fill my profile</button>" in page


def test_filling_sets_name_credentials_phone_office_and_licences(new_therapist: Therapist) -> None:
    keep_provider(new_therapist.npi)
    LicensedState.objects.create(therapist=new_therapist, state="NY", license_number="MINE-1")

    response = signed_in(new_therapist.user).post(URL)

    assert response.status_code == 302 and response["Location"] == "/me/profile/"
    therapist = Therapist.objects.get(pk=new_therapist.pk)
    assert (therapist.first_name, therapist.last_name, therapist.credentials, therapist.phone) == (
        "Nora",
        "Newcomer-Hall",
        "LCSW-R",
        "718-555-0100",
    )
    assert therapist.status == Therapist.Status.DRAFT
    office = Office.objects.get(therapist=therapist)
    assert (office.city, office.state, office.postal_code) == ("Brooklyn", "NY", "11215")
    assert office.latitude is not None
    # The state already on the profile keeps its number; the new state is added.
    assert sorted(therapist.licensed_states.values_list("state", "license_number")) == [
        ("NJ", "44SC0001"),
        ("NY", "MINE-1"),
    ]

    # Filling again adds no second office.
    signed_in(new_therapist.user).post(URL)
    assert Office.objects.filter(therapist=therapist).count() == 1


def test_without_a_registry_record_the_page_says_so_and_filling_is_refused(new_therapist: Therapist) -> None:
    client = signed_in(new_therapist.user)
    assert "has no behavioural-health provider with NPI" in client.get(URL).content.decode()

    response = client.post(URL)

    assert response.status_code == 400
    assert "has no therapist with NPI" in response.content.decode()
    assert Therapist.objects.get(pk=new_therapist.pk).last_name == "Newcomer"


def test_a_published_profile_is_not_filled(listed_therapist: Therapist) -> None:
    keep_provider(listed_therapist.npi, last_name="SOMEONE")
    client = signed_in(listed_therapist.user)
    assert "Fill my profile</button>" not in client.get(URL).content.decode()

    response = client.post(URL)

    assert response.status_code == 400 and "Only a new draft profile" in response.content.decode()
    assert Therapist.objects.get(pk=listed_therapist.pk).last_name == "Listed"


def test_a_registry_office_with_a_zip_outside_its_state_is_left_out(new_therapist: Therapist) -> None:
    keep_provider(new_therapist.npi, postal_code="90210")

    signed_in(new_therapist.user).post(URL)

    assert not Office.objects.filter(therapist=new_therapist).exists()
    assert Therapist.objects.get(pk=new_therapist.pk).last_name == "Newcomer-Hall"


def test_only_a_signed_in_therapist_reaches_the_page(client: object, referrer: User) -> None:
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert signed_in(referrer).post(URL).status_code == 403
    assert signed_in(make_user("nobody")).get(URL).status_code == 403


def test_a_drafts_profile_page_leads_to_the_registry(new_therapist: Therapist) -> None:
    page = signed_in(new_therapist.user).get("/me/profile/").content.decode()

    assert f'href="{URL}"' in page
