"""API tokens: each has a fixed end, only a digest is stored, and a new password or a closed account ends them all."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core import mail
from django.db import models
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import make_user, signed_in

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


@pytest.fixture
def rivera(db: None) -> User:
    """Dr. Rivera's office, a referrer, whose EHR integration and scripts call the API."""
    return make_user("rivera", "referrers", email="rivera@clinic.example")


def sign_in(username: str = "rivera", password: str = PASSWORD) -> str:
    response = APIClient().post("/api/auth/token/", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


def status_with(token: str) -> int:
    """The status of a role call (the referrer's own referrals) made with `token`."""
    return APIClient().get("/api/referrals/", HTTP_AUTHORIZATION=f"Token {token}").status_code


def test_a_token_says_when_it_ends_and_is_refused_after(rivera: User) -> None:
    response = APIClient().post("/api/auth/token/", {"username": "rivera", "password": PASSWORD}, format="json")
    assert response.status_code == 200 and set(response.json()) == {"token", "expiry"}
    expiry = datetime.datetime.fromisoformat(response.json()["expiry"])
    expected = timezone.now() + django_settings.REST_KNOX["TOKEN_TTL"]
    assert abs(expiry - expected) < datetime.timedelta(minutes=1)
    token = response.json()["token"]
    assert status_with(token) == 200
    # Use does not extend it: the end stays where it was.
    assert rivera.auth_token_set.get().expiry == expiry
    rivera.auth_token_set.update(expiry=timezone.now() - datetime.timedelta(seconds=1))
    refused = APIClient().get("/api/referrals/", HTTP_AUTHORIZATION=f"Token {token}")
    assert refused.status_code == 401 and refused["WWW-Authenticate"] == "Token"
    assert not rivera.auth_token_set.exists()


def test_the_token_itself_is_stored_nowhere(rivera: User) -> None:
    """Someone who reads the database, or a backup, finds no token that still works."""
    token = sign_in()
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.CharField | models.TextField):
                assert not model.objects.filter(**{f"{field.name}__contains": token}).exists(), (model, field.name)


def test_signing_in_again_gives_another_token_and_the_first_still_works(rivera: User) -> None:
    first, second = sign_in(), sign_in()
    assert first != second
    assert status_with(first) == status_with(second) == 200


def test_past_the_limit_a_new_token_revokes_the_oldest(rivera: User, settings: object) -> None:
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_LIMIT_PER_USER": 2}
    oldest, middle, newest = sign_in(), sign_in(), sign_in()
    assert [status_with(token) for token in (oldest, middle, newest)] == [401, 200, 200]
    assert rivera.auth_token_set.count() == 2


def test_delete_revokes_only_the_token_it_carries(rivera: User) -> None:
    """One client signs out; the office's other clients stay signed in (a password change ends them all)."""
    leaving, staying = sign_in(), sign_in()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {leaving}")
    response = client.delete("/api/auth/token/")
    assert response.status_code == 204 and not response.content
    assert status_with(leaving) == 401
    assert status_with(staying) == 200
    assert rivera.auth_token_set.count() == 1
    assert client.delete("/api/auth/token/").status_code == 401


def test_delete_without_a_token_is_a_401_and_revokes_nothing(rivera: User) -> None:
    token = sign_in()
    assert APIClient().delete("/api/auth/token/").status_code == 401
    # A browser session is not a token: there is nothing of its own to revoke.
    assert signed_in(rivera).delete("/api/auth/token/").status_code == 401
    assert status_with(token) == 200


def test_an_expired_token_left_in_the_headers_does_not_stop_signing_in_again(rivera: User) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {sign_in()}")
    rivera.auth_token_set.update(expiry=timezone.now() - datetime.timedelta(seconds=1))
    response = client.post("/api/auth/token/", {"username": "rivera", "password": PASSWORD}, format="json")
    assert response.status_code == 200 and status_with(response.json()["token"]) == 200


def test_sign_in_errors_name_the_field(rivera: User) -> None:
    missing = APIClient().post("/api/auth/token/", {"username": "rivera"}, format="json")
    assert missing.status_code == 400 and set(missing.json()["errors"]) == {"password"}
    wrong = APIClient().post("/api/auth/token/", {"username": "rivera", "password": "nope"}, format="json")
    assert wrong.status_code == 400 and "non_field_errors" in wrong.json()["errors"]
    assert not rivera.auth_token_set.exists()


def test_changing_the_password_on_the_page_revokes_every_token(rivera: User) -> None:
    tokens = [sign_in(), sign_in()]
    new_password = "a-new-horse-battery-staple"
    page = signed_in(rivera).post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )
    assert page.status_code == 302
    assert [status_with(token) for token in tokens] == [401, 401]
    assert status_with(sign_in(password=new_password)) == 200


def test_resetting_the_password_revokes_every_token(rivera: User, client: Client) -> None:
    token = sign_in()
    assert client.post("/accounts/password_reset/", {"email": "rivera@clinic.example"}).status_code == 302
    link = next(line for line in mail.outbox[-1].body.splitlines() if "/accounts/reset/" in line)
    form = client.get(link.split("testserver")[1], follow=True)
    new_password = "a-new-horse-battery-staple"
    done = client.post(form.request["PATH_INFO"], {"new_password1": new_password, "new_password2": new_password})
    assert done.status_code == 302 and done.url == "/accounts/reset/done/"
    assert status_with(token) == 401


def test_set_password_anywhere_revokes_every_token(rivera: User) -> None:
    """As `manage.py changepassword` or a service would: set_password() and save()."""
    token = sign_in()
    rivera.set_password("a-new-horse-battery-staple")
    rivera.save()
    assert status_with(token) == 401


def test_other_saves_of_the_user_keep_the_tokens(rivera: User, client: Client) -> None:
    token = sign_in()
    rivera.first_name = "Ana"
    rivera.save()
    # Signing in on the page saves last_login.
    assert client.post("/accounts/login/", {"username": "rivera", "password": PASSWORD}).status_code == 302
    assert status_with(token) == 200


def test_deactivating_the_account_in_the_admin_revokes_its_tokens_for_good(rivera: User, moderator: User) -> None:
    token = sign_in()
    admin = signed_in(moderator)
    form = {
        "username": "rivera",
        "email": "rivera@clinic.example",
        "groups": [group.pk for group in rivera.groups.all()],
        "date_joined_0": rivera.date_joined.date().isoformat(),
        "date_joined_1": "09:00:00",
    }
    response = admin.post(f"/admin/auth/user/{rivera.pk}/change/", form)  # is_active unticked
    assert response.status_code == 302
    rivera.refresh_from_db()
    assert not rivera.is_active
    assert not rivera.auth_token_set.exists()
    # Opened again, the account needs a new sign-in: the old token stays dead.
    assert admin.post(f"/admin/auth/user/{rivera.pk}/change/", {**form, "is_active": "on"}).status_code == 302
    assert status_with(token) == 401


def test_staff_see_who_holds_tokens_without_any_secret_and_revoke_them(rivera: User, moderator: User) -> None:
    token = sign_in()
    kept = sign_in()
    digest = rivera.auth_token_set.get(token_key=token[:15]).pk
    admin = signed_in(moderator)
    page = admin.get("/admin/knox/authtoken/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "rivera" in html and "Revoke selected tokens" in html
    # The digest only as the checkbox's value, to select the row; it is no token.
    assert html.count(digest) == 1 and f'value="{digest}"' in html
    assert token[:15] not in html and kept[:15] not in html
    assert status_with(digest) == 401
    assert "Add auth token" not in html
    for page in ("change", "delete"):
        assert admin.get(f"/admin/knox/authtoken/{digest}/{page}/").status_code == 403
    response = admin.post("/admin/knox/authtoken/", {"action": "revoke", "_selected_action": [digest]}, follow=True)
    assert response.status_code == 200 and "1 token(s) revoked" in response.content.decode()
    assert status_with(token) == 401
    assert status_with(kept) == 200


def test_only_staff_reach_the_token_admin(rivera: User) -> None:
    assert signed_in(rivera).get("/admin/knox/authtoken/").status_code == 302


@pytest.mark.parametrize(("value", "hours"), [("3", "3:00:00"), ("0", None)])
def test_the_lifetime_comes_from_api_token_ttl_hours(value: str, hours: str | None) -> None:
    code = "import django; django.setup(); from knox.settings import knox_settings; print(knox_settings.TOKEN_TTL)"
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "API_TOKEN_TTL_HOURS": value}
    result = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, cwd=django_settings.BASE_DIR
    )
    if hours is None:
        assert result.returncode != 0 and "API_TOKEN_TTL_HOURS must be at least 1" in result.stderr
    else:
        assert result.stdout.strip() == hours
