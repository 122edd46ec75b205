"""Forms explain themselves in plain sentences, not Django's stock help texts."""

from __future__ import annotations

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from directory.forms import password_rules
from directory.models import Therapist
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db

STOCK_HELP_TEXTS = (
    "Required. 150 characters or fewer",
    "Letters, digits and @/./+/-/_ only.",
    "Your password can’t be too similar to your other personal information.",
    "Your password must contain at least",
    "Enter the same password as before, for verification.",
    "Self-pay fee per session, lowest (USD)",  # said again under a label that already says it
)


def assert_plain(html: str) -> None:
    for stock in STOCK_HELP_TEXTS:
        assert stock not in html, stock


def test_sign_up_says_its_rules_plainly(client: Client) -> None:
    html = client.get("/accounts/signup/").content.decode()
    assert_plain(html)
    assert "You sign in with it." in html
    rules = "At least 8 characters, not close to your username or email, not a common password and not only digits."
    assert rules in html
    assert "Type the same password again" in html


def test_password_change_and_reset_say_the_rules_plainly(client: Client, listed_therapist: Therapist) -> None:
    change = signed_in(listed_therapist.user).get("/accounts/password_change/").content.decode()
    assert_plain(change)
    assert password_rules() in change
    user = listed_therapist.user
    link = f"/accounts/reset/{urlsafe_base64_encode(force_bytes(user.pk))}/{default_token_generator.make_token(user)}/"
    reset = client.get(link, follow=True).content.decode()
    assert "Choose a new password" in reset
    assert_plain(reset)
    assert password_rules() in reset


@pytest.mark.parametrize(
    "section", ["about", "practice", "offices", "licences", "insurance", "training", "availability"]
)
def test_each_profile_section_helps_in_the_therapists_words(listed_therapist: Therapist, section: str) -> None:
    html = signed_in(listed_therapist.user).get(f"/me/profile/{section}/").content.decode()
    assert_plain(html)
    assert ":</label>" not in html and ":</legend>" not in html  # no "Label:" colons
    assert "---------" not in html  # an empty choice says what to choose
    assert "Delete" not in html  # rows go with a Remove button


def test_the_profile_sections_say_what_a_field_is_for(listed_therapist: Therapist) -> None:
    client = signed_in(listed_therapist.user)
    assert "At 0 you are left out of matches." in client.get("/me/profile/availability/").content.decode()
    offices = client.get("/me/profile/offices/").content.decode()
    assert ">Choose a state</option>" in offices
    assert "Clients searching near it find you" in offices


def test_sign_up_labels_have_no_colons_and_the_confirmation_is_plain(client: Client) -> None:
    html = client.get("/accounts/signup/").content.decode()
    assert ":</label>" not in html
    assert ">Password again</label>" in html and "Password confirmation" not in html


def test_password_rules_follow_the_validators_in_force(settings: object) -> None:
    settings.AUTH_PASSWORD_VALIDATORS = [
        {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    ]
    assert password_rules().startswith("At least 12 characters.")


def test_sign_up_error_summary_links_to_each_field(client: Client) -> None:
    response = client.post("/accounts/signup/", {"username": "sam", "email": "not-an-email"})
    assert response.status_code == 400
    html = response.content.decode()
    assert '<a href="#id_email">Email: Enter a valid email address.</a>' in html
    assert '<a href="#id_npi">NPI: This field is required.</a>' in html
