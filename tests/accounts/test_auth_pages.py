"""Django's sign-in, password change and reset pages, with the sign-up page beside them."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from directory.models import Therapist
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db


def test_auth_pages_render_with_labels(client: Client) -> None:
    for url in ("/accounts/login/", "/accounts/password_reset/", "/accounts/signup/"):
        html = client.get(url).content.decode()
        assert "<h1>" in html and "<label" in html and "csrfmiddlewaretoken" in html, url
    assert Client().get("/accounts/password_change/").status_code == 302


def test_account_forms_leave_the_focus_at_the_top_of_the_page(client: Client, listed_therapist: Therapist) -> None:
    # Autofocus would skip the "Skip to main content" link and the heading (Django's forms set it).
    for url in ("/accounts/login/", "/accounts/signup/"):
        assert "autofocus" not in client.get(url).content.decode(), url
    failed = client.post("/accounts/login/", {"username": "lena", "password": "wrong"})
    assert failed.status_code == 200 and "autofocus" not in failed.content.decode()
    password_page = signed_in(listed_therapist.user).get("/accounts/password_change/")
    assert password_page.status_code == 200 and "autofocus" not in password_page.content.decode()
    assert client.post("/accounts/login/", {"username": "lena", "password": "correct-horse-battery"}).status_code == 302


def test_password_reset_emails_a_working_link(client: Client, listed_therapist: Therapist) -> None:
    response = client.post("/accounts/password_reset/", {"email": "lena@example.org"})
    assert response.status_code == 302
    link = next(line for line in mail.outbox[-1].body.splitlines() if "/accounts/reset/" in line)
    response = client.get(link.split("testserver")[1], follow=True)
    assert "Choose a new password" in response.content.decode()
