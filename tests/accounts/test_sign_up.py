"""A therapist's sign-up: the page /accounts/signup/, its form and accounts.services.sign_up_therapist."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.services import sign_up_therapist
from directory.models import Therapist
from tests.conftest import valid_npi

pytestmark = pytest.mark.django_db

SIGN_UP = {
    "username": "sam",
    "email": "sam@example.org",
    "password1": "a-long-unusual-passphrase-42",
    "password2": "a-long-unusual-passphrase-42",
    "first_name": "Sam",
    "last_name": "Signup",
    "credentials": "LMFT",
}


def test_sign_up_creates_a_therapist_with_a_draft_profile_and_signs_in(client: Client) -> None:
    response = client.get("/accounts/signup/")
    assert response.status_code == 200
    assert 'for="id_npi"' in response.content.decode() and "csrfmiddlewaretoken" in response.content.decode()
    response = client.post("/accounts/signup/", {**SIGN_UP, "npi": valid_npi("199000010")})
    assert response.status_code == 302 and response.url == "/me/profile/"
    user = User.objects.get(username="sam")
    assert user.groups.filter(name="therapists").exists()
    assert user.therapist_profile.status == Therapist.Status.DRAFT
    assert client.get("/me/profile/").status_code == 200


def test_sign_up_errors_name_the_field(client: Client, listed_therapist: Therapist) -> None:
    response = client.post("/accounts/signup/", {**SIGN_UP, "npi": "1234567890"})
    assert response.status_code == 400
    assert "Luhn" in str(response.context["form"].errors["npi"])
    response = client.post("/accounts/signup/", {**SIGN_UP, "npi": listed_therapist.npi})
    assert response.status_code == 400 and "npi" in response.context["form"].errors
    assert not User.objects.filter(username="sam").exists()


def test_the_form_explains_its_fields(client: Client) -> None:
    html = client.get("/accounts/signup/").content.decode()
    assert "Your 10-digit National Provider Identifier" in html
    assert "We send review results and availability reminders here." in html


def test_the_service_makes_a_therapist_with_a_draft_profile() -> None:
    therapist = sign_up_therapist(
        username="sam", email="sam@example.org", password="a-long-unusual-passphrase-42",
        first_name="Sam", last_name="Signup", credentials="LMFT", npi=valid_npi("199000011"),
    )  # fmt: skip
    therapist.refresh_from_db()
    assert (therapist.status, therapist.user.username, therapist.email) == ("draft", "sam", "sam@example.org")
    assert therapist.slug and therapist.user.check_password("a-long-unusual-passphrase-42")
    assert list(therapist.user.groups.values_list("name", flat=True)) == ["therapists"]


def test_a_refused_profile_leaves_no_account(listed_therapist: Therapist) -> None:
    with pytest.raises(ValidationError) as refused:
        sign_up_therapist(
            username="sam", email="sam@example.org", password="a-long-unusual-passphrase-42",
            first_name="Sam", last_name="Signup", credentials="LMFT", npi=listed_therapist.npi,
        )  # fmt: skip
    assert "npi" in refused.value.message_dict
    assert not User.objects.filter(username="sam").exists()
