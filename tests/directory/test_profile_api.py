"""GET/PATCH /api/me/profile/, submit, and confirm: the caller's own profile only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from directory.models import Credential, Therapist
from tests.conftest import token_client, valid_npi

pytestmark = pytest.mark.django_db


def test_token_from_the_auth_endpoint_reaches_the_own_profile(listed_therapist: Therapist) -> None:
    client = APIClient()
    token = client.post("/api/auth/token/", {"username": "lena", "password": "correct-horse-battery"}).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.get("/api/me/profile/")
    assert response.status_code == 200
    assert response.json()["id"] == listed_therapist.pk
    assert response.json()["status"] == "published"


def test_get_profile_runs_a_constant_number_of_queries(
    listed_therapist: Therapist, django_assert_max_num_queries: object
) -> None:
    client = token_client(listed_therapist.user)
    with django_assert_max_num_queries(12):
        first = client.get("/api/me/profile/")
    client.patch(
        "/api/me/profile/",
        {
            "offices": [
                {"address": "1 Main St", "city": "Brooklyn", "state": "NY", "postal_code": "11215"},
                {"address": "2 Main St", "city": "New York", "state": "NY", "postal_code": "10001"},
                {"address": "3 Main St", "city": "New York", "state": "NY", "postal_code": "10003"},
            ],
            "insurers": [{"insurer": "aetna"}, {"insurer": "cigna"}],
            "languages": ["en", "es"],
            "ipt_credentials": [{"issuer": "isipt", "level": "isipt-therapist", "awarded_on": "2020-01-01"}],
        },
        format="json",
    )
    with django_assert_max_num_queries(12):
        second = client.get("/api/me/profile/")
    assert len(second.json()["offices"]) == 3 > len(first.json()["offices"])


def test_patch_updates_every_kind_of_field_atomically(new_therapist: Therapist) -> None:
    client = token_client(new_therapist.user)
    response = client.patch(
        "/api/me/profile/",
        {
            "bio": "IPT for grief and transitions.",
            "formats": ["individual", "online"],
            "age_groups": ["adults", "older-adults"],
            "fee_min": 120,
            "fee_max": 180,
            "capacity": 4,
            "accepting_new_clients": True,
            "focus_areas": ["grief-loss"],
            "languages": ["en"],
            "offices": [{"address": "1 Main St", "city": "Brooklyn", "state": "NY", "postal_code": "11215"}],
            "licensed_states": [{"state": "NY", "license_number": "R-12345"}, {"state": "NJ", "basis": "psypact"}],
            "insurers": [{"insurer": "aetna", "accepting_new_clients": False}],
            "ipt_credentials": [{"issuer": "ipt-institute", "level": "B", "awarded_on": "2021-05-01"}],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["formats"] == ["individual", "online"]
    assert body["insurers"] == [{"slug": "aetna", "name": "Aetna", "accepting_new_clients": False}]
    assert body["offices"][0]["latitude"] is not None
    assert body["ipt_credentials"][0]["verified"] is False
    new_therapist.refresh_from_db()
    assert new_therapist.offers_online and not new_therapist.offers_family
    assert new_therapist.serves_older_adults and not new_therapist.serves_children
    assert sorted(new_therapist.licensed_states.values_list("state", flat=True)) == ["NJ", "NY"]
    # An unverified credential does not raise the derived training level.
    assert new_therapist.training_level == Therapist.TrainingLevel.TRAINED


def test_invalid_patch_names_each_field_and_changes_nothing(new_therapist: Therapist) -> None:
    client = token_client(new_therapist.user)
    response = client.patch(
        "/api/me/profile/",
        {
            "bio": "should not be saved",
            "fee_min": 200,
            "fee_max": 100,
            "npi": "1234567890",
            "offices": [
                {"address": "1 Main St", "city": "Brooklyn", "state": "NY", "postal_code": "11215"},
                {"address": "Nowhere", "city": "Nowhere", "state": "NY", "postal_code": "00000"},
            ],
            "ipt_credentials": [{"issuer": "isipt", "level": "B", "awarded_on": "2021-05-01"}],
        },
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "fee_max" in errors
    assert "Luhn" in errors["npi"][0]
    assert "not a known US ZIP code" in errors["offices[1].postal_code"][0]
    assert "ipt_credentials[0].level" in errors
    new_therapist.refresh_from_db()
    assert new_therapist.bio == "" and not new_therapist.offices.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"formats": ["couch"]}, "formats[0]"),
        ({"languages": ["xx"]}, "languages"),
        ({"insurers": [{"insurer": "acme"}]}, "insurers[0].insurer"),
        ({"capacity": "many"}, "capacity"),
        ({"offices": [{"address": "1 Main St"}]}, "offices[0].city"),
        (
            {"offices": [{"address": "1 A St", "city": "X", "state": "NJ", "postal_code": "11215"}]},
            "offices[0].postal_code",
        ),
        ({"licensed_states": [{"state": "ZZ"}]}, "licensed_states[0].state"),
        ({"licensed_states": [{"state": "NY"}, {"state": "NY"}]}, "licensed_states"),
        ({"status": "published"}, "status"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(new_therapist: Therapist, payload: dict, field: str) -> None:
    response = token_client(new_therapist.user).patch("/api/me/profile/", payload, format="json")
    if field == "status":
        # Unknown fields are ignored by the input serializer: status never changes from here.
        new_therapist.refresh_from_db()
        assert new_therapist.status == Therapist.Status.DRAFT
        return
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()


def test_editing_identity_of_a_published_profile_sends_it_back_to_review(listed_therapist: Therapist) -> None:
    client = token_client(listed_therapist.user)
    assert (
        client.patch("/api/me/profile/", {"fee_min": 90, "bio": "New bio"}, format="json").json()["status"]
        == "published"
    )
    response = client.patch("/api/me/profile/", {"last_name": "Renamed"}, format="json")
    assert response.json()["status"] == "pending"


def test_changing_a_credential_drops_its_verification(new_therapist: Therapist, moderator: User) -> None:
    credential = Credential.objects.create(
        therapist=new_therapist,
        issuer="ipt-institute",
        level="D",
        awarded_on="2019-01-01",
        verified_at="2024-01-01T00:00Z",
    )
    client = token_client(new_therapist.user)
    unchanged = {"id": credential.pk, "issuer": "ipt-institute", "level": "D", "awarded_on": "2019-01-01"}
    client.patch("/api/me/profile/", {"ipt_credentials": [unchanged]}, format="json")
    credential.refresh_from_db()
    assert credential.is_verified
    client.patch("/api/me/profile/", {"ipt_credentials": [{**unchanged, "level": "E"}]}, format="json")
    credential.refresh_from_db()
    assert not credential.is_verified


def test_a_therapist_cannot_touch_another_profile_by_id(new_therapist: Therapist, listed_therapist: Therapist) -> None:
    client = token_client(new_therapist.user)
    response = client.patch("/api/me/profile/", {"id": listed_therapist.pk, "bio": "mine"}, format="json")
    assert response.status_code == 200 and response.json()["id"] == new_therapist.pk
    listed_therapist.refresh_from_db()
    assert listed_therapist.bio == ""
    bad = {
        "ipt_credentials": [{"id": 10**9, "issuer": "isipt", "level": "isipt-therapist", "awarded_on": "2020-01-01"}]
    }
    assert client.patch("/api/me/profile/", bad, format="json").status_code == 400


def test_submit_requires_a_licence_and_a_place_to_practise(new_therapist: Therapist) -> None:
    client = token_client(new_therapist.user)
    response = client.post("/api/me/profile/submit/")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"licensed_states", "offices"}
    client.patch(
        "/api/me/profile/",
        {"formats": ["online"], "licensed_states": [{"state": "NY", "license_number": "1"}]},
        format="json",
    )
    response = client.post("/api/me/profile/submit/")
    assert response.status_code == 200 and response.json()["status"] == "pending"
    assert client.post("/api/me/profile/submit/").status_code == 400


def test_unique_npi_is_enforced_on_edit(new_therapist: Therapist, listed_therapist: Therapist) -> None:
    response = token_client(new_therapist.user).patch("/api/me/profile/", {"npi": listed_therapist.npi}, format="json")
    assert response.status_code == 400 and "npi" in response.json()["errors"]


def test_confirm_availability_sets_the_date(listed_therapist: Therapist) -> None:
    response = token_client(listed_therapist.user).post("/api/me/availability/confirm/")
    assert response.status_code == 200
    listed_therapist.refresh_from_db()
    assert response.json()["availability_confirmed_at"] is not None
    assert listed_therapist.availability_confirmed_at.date() == listed_therapist.updated_at.date()


def test_new_npi_is_valid_helper() -> None:
    assert valid_npi("123456789") == "1234567893"


@pytest.mark.parametrize(
    "body", [[1, 2], "text", {"offices": "not a list"}, {"ipt_credentials": [{"awarded_on": "yesterday"}]}]
)
def test_malformed_bodies_are_400_not_500(new_therapist: Therapist, body: object) -> None:
    response = token_client(new_therapist.user).patch("/api/me/profile/", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]
