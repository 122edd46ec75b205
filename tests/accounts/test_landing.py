"""/me/ (accounts:my-home), where sign-in lands: each role's own starting page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.conftest import make_user, signed_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("persona", "landing"),
    [
        ("therapist_user", "/me/profile/"),
        ("therapist_without_profile", "/"),
        ("referrer", "/referrals/"),
        ("moderator", "/admin/"),
    ],
    indirect=["persona"],
)
def test_each_role_lands_on_its_own_page(persona: User, landing: str) -> None:
    response = signed_in(persona).get("/me/")
    assert response.status_code == 302 and response.url == landing


def test_a_user_without_a_role_lands_on_the_home_page() -> None:
    assert signed_in(make_user("visitor")).get("/me/").url == "/"


def test_nobody_signed_in_is_asked_to_sign_in(client: Client) -> None:
    response = client.get("/me/")
    assert response.status_code == 302 and response.url == "/accounts/login/?next=/me/"


def test_signing_in_leads_through_me_to_the_role_page(client: Client, referrer: User) -> None:
    response = client.post("/accounts/login/", {"username": referrer.username, "password": "correct-horse-battery"})
    assert response.status_code == 302 and response.url == "/me/"
    assert client.get(response.url).url == "/referrals/"
