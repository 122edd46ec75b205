"""Errors the framework produces, in the shapes the schema documents (found by fuzzing, docs/fuzzing.md)."""

from __future__ import annotations

from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import OperationalError
from django.test import Client
from rest_framework.test import APIClient

from directory.models import Therapist, npi_is_valid, validate_npi
from matching.models import Referral
from tests.conftest import make_user, token_client


def test_a_url_that_does_not_parse_is_a_json_404_under_the_api(api_client: APIClient) -> None:
    response = api_client.get("/api/therapists/not-a-number/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"errors": {"non_field_errors": ["Not found."]}, "detail": "Not found."}


@pytest.mark.django_db
def test_a_url_that_does_not_parse_is_a_page_outside_the_api(api_client: APIClient) -> None:
    response = api_client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_body_that_is_not_json_is_a_400_with_errors(api_client: APIClient) -> None:
    response = api_client.post("/api/match/", b"\xc0{", content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["errors"]["non_field_errors"][0]


def test_a_form_encoded_body_is_refused(api_client: APIClient) -> None:
    response = api_client.post("/api/match/", {"postal_code": "11215"}, format="multipart")
    assert response.status_code == 415


def test_errors_inside_a_list_are_named_by_position(referrer: User) -> None:
    body = {"postal_code": "11215", "concerns": ["x" * 51], "formats": ["online", "couch"]}
    response = token_client(referrer).post("/api/match/", body, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"concerns[0]", "formats[1]"}
    assert all(isinstance(messages, list) and isinstance(messages[0], str) for messages in errors.values())


MATCH_BODY = {"postal_code": "11215"}
REFERRAL_BODY = {
    "postal_code": "11215", "patient_name": "Pat Example", "patient_birth_date": "1980-04-02",
    "patient_phone": "718 555 0100", "consent": True,
}  # fmt: skip


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({**MATCH_BODY, "language_required": 0}, "language_required", "Expected a boolean, got an integer."),
        ({"postal_code": 11215}, "postal_code", "Expected a string, got an integer."),
        ({**MATCH_BODY, "max_fee": "150"}, "max_fee", "Expected an integer, got a string."),
        ({**MATCH_BODY, "formats": ["online", 1]}, "formats[1]", "Expected a string, got an integer."),
        ({**MATCH_BODY, "age_group": ["adults"]}, "age_group", "Expected a string, got an array."),
    ],
)
@pytest.mark.django_db
def test_a_json_value_of_another_type_is_a_400_naming_the_field(
    api_client: APIClient, body: dict, field: str, message: str
) -> None:
    response = api_client.post("/api/match/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": {field: [message]}}


def test_type_errors_come_with_the_other_errors_of_the_body(referrer: User) -> None:
    body = {**REFERRAL_BODY, "notes": 5, "consent": 1, "patient_name": ""}
    response = token_client(referrer).post("/api/referrals/", body, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["notes"] == ["Expected a string, got an integer."]
    assert errors["consent"] == ["Expected a boolean, got an integer."]
    assert set(errors) == {"notes", "consent", "patient_name"}
    assert not Referral.objects.exists()


def test_a_nested_value_of_another_type_is_named_by_its_path(therapist_user: User) -> None:
    office = {"address": "1 Main St", "city": "Brooklyn", "state": "NY", "postal_code": "11215"}
    body = {"offices": [office, {**office, "postal_code": 11215}], "languages": ["en", 7]}
    response = token_client(therapist_user).patch("/api/me/profile/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "offices[1].postal_code": ["Expected a string, got an integer."],
            "languages[1]": ["Expected a string, got an integer."],
        }
    }
    assert Therapist.objects.get(user=therapist_user).offices.get().address == "1 Test St"


def test_a_nul_character_in_a_reference_slug_is_a_400_on_every_database(therapist_user: User) -> None:
    """PostgreSQL refuses NUL even in a query's parameter: found by schemathesis as a 500 there."""
    body = {"concerns": ["a\u0000b"], "insurers": [{"insurer": "aet\u0000na"}]}
    response = token_client(therapist_user).patch("/api/me/profile/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"concerns[0]", "insurers[0].insurer"}
    match = token_client(therapist_user).post("/api/match/", {"postal_code": "11215", "insurance": "a\u0000"},
                                              format="json")  # fmt: skip
    assert match.status_code == 400 and "insurance" in match.json()["errors"]


@pytest.mark.django_db
def test_json_of_the_right_types_still_validates(api_client: APIClient) -> None:
    body = {**MATCH_BODY, "insurance": None, "max_fee": 150.0, "language_required": False, "formats": ["online"]}
    assert api_client.post("/api/match/", body, format="json").status_code == 200


@pytest.mark.django_db
def test_the_token_endpoint_refuses_a_number_for_a_name_but_still_reads_forms(api_client: APIClient) -> None:
    make_user("pat", "referrers")
    response = api_client.post("/api/auth/token/", {"username": 5, "password": "x"}, format="json")
    assert response.json() == {"errors": {"username": ["Expected a string, got an integer."]}}
    form = api_client.post("/api/auth/token/", {"username": "pat", "password": "correct-horse-battery"})
    assert form.status_code == 200 and form.json()["token"]


@pytest.mark.parametrize("value", ["３", "٣", "²", "1²"])
@pytest.mark.parametrize("name", ["page", "page_size", "radius"])
def test_digits_other_than_ascii_are_a_400_naming_the_parameter(
    api_client: APIClient, db: None, name: str, value: str
) -> None:
    """str.isdigit() accepts a full-width 3 (int() reads it as 3) and "²" (int() refuses it): neither is a page."""
    response = api_client.get("/api/therapists/", {name: value, "near": "11215"})
    assert response.status_code == 400
    assert name in response.json()["errors"]
    page = api_client.get("/therapists/", {name: value, "radius": "²"})
    assert page.status_code == 400


def test_an_npi_with_other_digits_is_a_validation_error() -> None:
    assert not npi_is_valid("123456789²")
    with pytest.raises(ValidationError):
        validate_npi("１２３４５６７８９３")


@pytest.mark.django_db
def test_an_unexpected_failure_under_the_api_is_a_json_500_without_details(api_client: APIClient) -> None:
    client = APIClient(raise_request_exception=False)
    with mock.patch("directory.api.search.page", side_effect=ZeroDivisionError("secret detail")):
        response = client.get("/api/therapists/?near=11215")
    assert response.status_code == 500
    assert response.json() == {"errors": {"non_field_errors": ["Server error."]}, "detail": "Server error."}
    assert "secret detail" not in response.content.decode()


@pytest.mark.django_db
def test_a_database_that_does_not_answer_is_a_503_with_retry_after() -> None:
    """It was an HTML 500: a load balancer or client should retry, not report a bug."""
    client = APIClient(raise_request_exception=False)
    lost = OperationalError("connection to server at 10.0.0.7 failed")
    with (
        mock.patch("directory.api.search.page", side_effect=lost),
        mock.patch("directory.errors.connection.is_usable", return_value=False),
    ):
        api = client.get("/api/therapists/?near=11215")
    assert api.status_code == 503 and api["Retry-After"] == "30"
    assert api.json()["errors"] == {
        "non_field_errors": ["The service is briefly unavailable. Please try again shortly."]
    }
    assert "10.0.0.7" not in api.content.decode()
    with (
        mock.patch("directory.views.search.page", side_effect=lost),
        mock.patch("directory.errors.connection.is_usable", return_value=False),
    ):
        page = Client(raise_request_exception=False).get("/therapists/?near=11215")
    assert page.status_code == 503 and "briefly unavailable" in page.content.decode()


@pytest.mark.django_db
def test_a_query_that_fails_on_a_working_database_stays_a_500() -> None:
    client = APIClient(raise_request_exception=False)
    with mock.patch("directory.api.search.page", side_effect=OperationalError("no such column")):
        assert client.get("/api/therapists/?near=11215").status_code == 500


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "url"), [(401, "/api/me/profile/"), (404, "/api/therapists/999999/")])
def test_every_error_under_the_api_carries_errors(api_client: APIClient, status: int, url: str) -> None:
    response = api_client.get(url)
    assert response.status_code == status
    body = response.json()
    assert body["errors"] == {"non_field_errors": [body["detail"]]}
