"""Errors the framework produces, in the shapes the schema documents (found by fuzzing, docs/fuzzing.md)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from tests.conftest import token_client


def test_a_url_that_does_not_parse_is_a_json_404_under_the_api(api_client: APIClient) -> None:
    response = api_client.get("/api/therapists/not-a-number/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


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
    body = {"postal_code": "11215", "concerns": ["x" * 41], "formats": ["online", "couch"]}
    response = token_client(referrer).post("/api/match/", body, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"concerns[0]", "formats[1]"}
    assert all(isinstance(messages, list) and isinstance(messages[0], str) for messages in errors.values())
