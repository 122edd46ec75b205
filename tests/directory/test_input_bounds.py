"""Cheap requests cannot take a worker down: every list, text and nesting level is bounded, and checked in one query."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from directory.models import Therapist
from directory.parsers import MAX_JSON_DEPTH
from directory.serializers import MAX_LIST_ITEMS
from matching.models import Offer
from matching.serializers import DeclineSerializer
from tests.conftest import token_client

pytestmark = pytest.mark.django_db

REFERRAL_BODY = {
    "postal_code": "11215", "patient_name": "Pat Example", "patient_birth_date": "1980-04-02",
    "patient_phone": "718 555 0100", "consent": True,
}  # fmt: skip


def nested(depth: int) -> str:
    """JSON text of a value inside `depth` lists (json.dumps itself would recurse too deep)."""
    return "[" * depth + '"leaf"' + "]" * depth


def test_a_profile_list_of_200000_languages_is_a_400_at_once(
    therapist_user: User, django_assert_max_num_queries: object
) -> None:
    """It ran one SELECT per item until the worker was killed at 30 s."""
    with django_assert_max_num_queries(6):
        response = token_client(therapist_user).patch(
            "/api/me/profile/", {"languages": ["xx"] * 200_000}, format="json"
        )
    assert response.status_code == 400
    assert response.json()["errors"]["languages"] == [f"Ensure this field has no more than {MAX_LIST_ITEMS} elements."]


@pytest.mark.parametrize("field", ["focus_areas", "concerns", "languages", "formats", "offices", "insurers"])
def test_every_profile_list_is_bounded_and_rejected_not_truncated(therapist_user: User, field: str) -> None:
    response = token_client(therapist_user).patch("/api/me/profile/", {field: []}, format="json")
    assert response.status_code == 200, response.content
    too_many = [{}] * (MAX_LIST_ITEMS + 1) if field in {"offices", "insurers"} else ["x"] * (MAX_LIST_ITEMS + 1)
    response = token_client(therapist_user).patch("/api/me/profile/", {field: too_many}, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_unknown_insurers_are_named_by_position_in_one_query(
    therapist_user: User, django_assert_max_num_queries: object
) -> None:
    """Each link's insurer was a query of its own; now the whole list is one."""
    insurers = [{"insurer": f"plan-{index}"} for index in range(MAX_LIST_ITEMS)]
    with django_assert_max_num_queries(6):
        response = token_client(therapist_user).patch("/api/me/profile/", {"insurers": insurers}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert len(errors) == MAX_LIST_ITEMS and errors["insurers[49].insurer"] == ["No insurer 'plan-49'."]


def test_a_bio_longer_than_its_column_is_a_400_on_the_api_and_the_page(therapist_user: User) -> None:
    therapist = Therapist.objects.get(user=therapist_user)
    response = token_client(therapist_user).patch("/api/me/profile/", {"bio": "x" * 4001}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["bio"] == ["Ensure this field has no more than 4000 characters."]
    assert token_client(therapist_user).patch("/api/me/profile/", {"bio": "x" * 4000}, format="json").status_code == 200
    therapist.refresh_from_db()
    assert len(therapist.bio) == 4000


def test_a_text_is_as_long_as_it_was_sent_whitespace_included(therapist_user: User) -> None:
    """DRF trims before checking `max_length`: a note the schema's maxLength refuses was accepted (fuzzing found it)."""
    sent = "\x1c " + "x" * 3999  # \x1c is whitespace to str.strip()
    response = token_client(therapist_user).patch("/api/me/profile/", {"bio": sent}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["bio"] == ["Ensure this field has no more than 4000 characters."]
    decline = DeclineSerializer(data={"reason": Offer.DeclineReason.values[0], "note": "\x1c" + "*" * 300})
    assert not decline.is_valid() and list(decline.errors) == ["note"]
    decline = DeclineSerializer(data={"reason": Offer.DeclineReason.values[0], "note": " " + "*" * 298 + " "})
    assert decline.is_valid(), decline.errors
    assert decline.validated_data["note"] == "*" * 298


def test_the_anonymous_match_with_200000_unknown_concerns_is_a_400_naming_the_field(
    api_client: APIClient, django_assert_max_num_queries: object
) -> None:
    """It took 4.2 s to say which of 200,000 concerns were unknown."""
    with django_assert_max_num_queries(2):
        response = api_client.post("/api/match/", {"postal_code": "11215", "concerns": ["x"] * 200_000}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["concerns"]


def test_a_patient_email_longer_than_its_column_is_a_400_not_a_500(referrer: User) -> None:
    """308 characters is a valid address to the validator but not to PostgreSQL's varchar(254)."""
    email = "a" * 64 + "@" + ".".join(["b" * 59] * 4) + ".org"
    assert len(email) == 308
    body = {**REFERRAL_BODY, "patient_email": email}
    response = token_client(referrer).post("/api/referrals/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["patient_email"]


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 100_000])
@pytest.mark.parametrize("url", ["/api/match/", "/api/auth/token/", "/api/referrals/"])
def test_deeply_nested_json_is_a_400_on_every_json_endpoint(referrer: User, url: str, depth: int) -> None:
    """About 1,000 levels was a RecursionError (a 500) on every JSON endpoint, anonymous ones included."""
    body = f'{{"postal_code": {nested(depth)}}}'
    client = APIClient() if url != "/api/referrals/" else token_client(referrer)
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"non_field_errors": [f"JSON nested deeper than {MAX_JSON_DEPTH} levels."]}


def test_nesting_within_the_bound_is_validated_as_usual(api_client: APIClient) -> None:
    body = f'{{"postal_code": {nested(MAX_JSON_DEPTH - 1)}}}'
    response = api_client.post("/api/match/", body, content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["postal_code"]


def test_a_body_over_the_size_limit_is_a_json_413_before_it_is_read(api_client: APIClient, settings: object) -> None:
    """A 10 MB body was an HTML 400 page."""
    body = json.dumps({"postal_code": "11215", "notes": "x" * 10_000_000})
    response = api_client.post("/api/match/", body, content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["errors"] == {"non_field_errors": ["The request body is larger than 2560 KB."]}


def test_a_username_longer_than_any_account_can_have_is_a_400_naming_it(therapist_user: User) -> None:
    """The fuzzer sent a username of hundreds of characters: PostgreSQL refused django-axes' record of the
    failed sign-in (its username column holds 255) and the response was a 500. No account can have such a
    name (150 at most), so it is refused as the sign-in form refuses it, before any password is checked."""
    client = APIClient()
    longest = User._meta.get_field("username").max_length

    refused = client.post("/api/auth/token/", {"username": "u" * 300, "password": "whatever"})
    wrong = client.post("/api/auth/token/", {"username": "u" * longest, "password": "whatever"})

    assert refused.status_code == 400
    assert refused.json()["errors"]["username"] == [f"Ensure this field has no more than {longest} characters."]
    assert wrong.status_code == 400  # within the bound, an unknown name is refused as wrong credentials
    assert "username" not in wrong.json()["errors"]
