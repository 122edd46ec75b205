"""accounts.permissions on the API: 401 for nobody, 403 for the wrong role, in for the right one."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from tests.accounts.conftest import PERSONAS
from tests.conftest import token_client

pytestmark = pytest.mark.django_db

# The persona each GET endpoint lets in; everyone else signed in gets 403, nobody 401.
READS = {
    "/api/me/profile/": "therapist_user",
    "/api/me/offers/": "therapist_user",
    "/api/referrals/": "referrer",
}
THERAPIST_WRITES = [
    ("patch", "/api/me/profile/"),
    ("post", "/api/me/profile/submit/"),
    ("post", "/api/me/availability/confirm/"),
    ("post", "/api/me/offers/1/accept/"),
    ("post", "/api/me/offers/1/decline/"),
    ("post", "/api/me/offers/1/schedule/"),
]
REFERRER_WRITES = [
    ("post", "/api/referrals/"),
    ("post", "/api/referrals/00000000-0000-4000-8000-000000000000/offers/"),
    ("post", "/api/referrals/00000000-0000-4000-8000-000000000000/withdraw/"),
    ("post", "/api/referrals/00000000-0000-4000-8000-000000000000/close/"),
]


def client_of(persona: User | None) -> APIClient:
    return APIClient() if persona is None else token_client(persona)


def expected_status(persona: str, admitted: str) -> int:
    if persona == "anonymous":
        return 401
    return 200 if persona == admitted else 403


@pytest.mark.parametrize("url", list(READS))
@pytest.mark.parametrize("persona", PERSONAS, indirect=True)
def test_each_read_admits_its_role_only(request: pytest.FixtureRequest, persona: User | None, url: str) -> None:
    name = request.node.callspec.params["persona"]
    response = client_of(persona).get(url)
    assert response.status_code == expected_status(name, READS[url])
    if response.status_code in (401, 403):
        body = response.json()
        assert body["errors"] == {"non_field_errors": [body["detail"]]}


@pytest.mark.parametrize(
    ("persona", "writes"),
    [
        ("anonymous", THERAPIST_WRITES + REFERRER_WRITES),
        ("therapist_without_profile", THERAPIST_WRITES + REFERRER_WRITES),
        ("moderator", THERAPIST_WRITES + REFERRER_WRITES),
        ("referrer", THERAPIST_WRITES),
        ("therapist_user", REFERRER_WRITES),
    ],
    indirect=["persona"],
)
def test_writes_refuse_everyone_but_their_role(persona: User | None, writes: list[tuple[str, str]]) -> None:
    client = client_of(persona)
    for method, url in writes:
        response = getattr(client, method)(url, {}, format="json")
        assert response.status_code == (401 if persona is None else 403), (method, url)


def test_a_token_reaches_what_its_role_may(therapist_user: User) -> None:
    client = APIClient()
    token = client.post("/api/auth/token/", {"username": "dana", "password": "correct-horse-battery"}).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/me/offers/").status_code == 200
    assert client.get("/api/referrals/").status_code == 403


def test_the_refusals_say_which_role_is_needed(therapist_user: User, referrer: User) -> None:
    assert "therapists" in token_client(referrer).get("/api/me/offers/").json()["detail"]
    assert "referrers" in token_client(therapist_user).get("/api/referrals/").json()["detail"]
