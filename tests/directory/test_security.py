"""Guessing is locked out, sessions end, client addresses cannot be forged, production is hardened."""

from __future__ import annotations

import datetime
import os
import secrets
import string
import subprocess
import sys
from unittest import mock

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.test import Client, RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from directory.models import Therapist
from directory.security import client_ip
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db

WRONG = {"username": "lena", "password": "not-the-password"}
RIGHT = {"username": "lena", "password": "correct-horse-battery"}


def test_login_page_locks_out_after_repeated_failures(listed_therapist: Therapist, settings: object) -> None:
    client = Client()
    limit = settings.AXES_USERNAME_FAILURE_LIMIT
    statuses = [client.post("/accounts/login/", WRONG).status_code for _ in range(limit)]
    assert statuses == [200] * (limit - 1) + [429]
    response = client.post("/accounts/login/", RIGHT)
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed sign-in attempts" in html and "15 minutes" in html
    assert response["Retry-After"] == "900"


def test_lockout_ends_by_itself_after_the_cool_off(listed_therapist: Therapist, settings: object) -> None:
    client = Client()
    for _ in range(settings.AXES_USERNAME_FAILURE_LIMIT):
        client.post("/accounts/login/", WRONG)
    assert client.post("/accounts/login/", RIGHT).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=16))
    response = client.post("/accounts/login/", RIGHT)
    assert response.status_code == 302 and response.url == "/me/"


def test_token_endpoint_locks_out_with_json(listed_therapist: Therapist, settings: object) -> None:
    client = APIClient()
    limit = settings.AXES_USERNAME_FAILURE_LIMIT
    statuses = [client.post("/api/auth/token/", WRONG).status_code for _ in range(limit)]
    assert statuses == [400] * (limit - 1) + [429]
    response = client.post("/api/auth/token/", RIGHT)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.json()["detail"]


def test_lockout_is_per_address_and_a_forged_header_does_not_reset_it(
    listed_therapist: Therapist, settings: object
) -> None:
    client = APIClient()
    for number in range(settings.AXES_USERNAME_FAILURE_LIMIT):
        client.post("/api/auth/token/", WRONG, REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR=f"10.9.9.{number}")
    assert (
        client.post("/api/auth/token/", RIGHT, REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.1.1.1").status_code
        == 429
    )
    # Lena herself, from elsewhere, still gets in.
    assert client.post("/api/auth/token/", RIGHT, REMOTE_ADDR="192.0.2.2").status_code == 200


def guess(client: Client, number: int) -> int:
    return client.post("/accounts/login/", {"username": f"guess{number}", "password": "password1"}).status_code


def test_one_address_trying_many_usernames_is_paused_while_others_sign_in(
    listed_therapist: Therapist, moderator: object, settings: object
) -> None:
    guesser = Client(REMOTE_ADDR="203.0.113.7")
    limit = settings.AXES_ADDRESS_FAILURE_LIMIT
    assert [guess(guesser, number) for number in range(limit)] == [200] * (limit - 1) + [429]
    # Every sign-in from that address now waits, whatever the username and however right the password:
    # the login page, the token endpoint and the admin.
    response = guesser.post("/accounts/login/", RIGHT)
    assert response.status_code == 429 and response["Retry-After"] == "900"
    assert APIClient().post("/api/auth/token/", RIGHT, REMOTE_ADDR="203.0.113.7").status_code == 429
    admin_login = {"username": "mod", "password": "correct-horse-battery", "next": "/admin/"}
    assert guesser.post("/admin/login/", admin_login).status_code == 429
    # Lena, from anywhere else, signs in.
    response = Client(REMOTE_ADDR="198.51.100.9").post("/accounts/login/", RIGHT)
    assert response.status_code == 302 and response.url == "/me/"


def test_a_colleagues_failures_do_not_lock_out_the_rest_of_the_office(
    listed_therapist: Therapist, settings: object
) -> None:
    office = Client(REMOTE_ADDR="203.0.113.8")
    typo = {"username": "sam", "password": "not-sams-password"}
    statuses = [office.post("/accounts/login/", typo).status_code for _ in range(settings.AXES_USERNAME_FAILURE_LIMIT)]
    assert statuses[-1] == 429
    response = office.post("/accounts/login/", RIGHT)
    assert response.status_code == 302 and response.url == "/me/"


def test_signing_in_does_not_wipe_the_addresss_count_of_other_usernames(
    listed_therapist: Therapist, settings: object
) -> None:
    # A guesser who holds one real account cannot reset the address's count by signing in with it.
    guesser = Client(REMOTE_ADDR="203.0.113.9")
    limit = settings.AXES_ADDRESS_FAILURE_LIMIT
    assert {guess(guesser, number) for number in range(limit - 1)} == {200}
    assert Client(REMOTE_ADDR="203.0.113.9").post("/accounts/login/", RIGHT).status_code == 302
    assert guess(guesser, limit) == 429


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "1.1.1.1", "192.0.2.10"),
        (1, "6.6.6.6, 1.1.1.1", "1.1.1.1"),
        (2, "6.6.6.6, 1.1.1.1, 10.0.0.2", "1.1.1.1"),
        (2, "1.1.1.1", "1.1.1.1"),
        (1, "", "192.0.2.10"),
    ],
)
def test_client_ip_trusts_only_the_configured_proxies(
    settings: object, proxies: int, forwarded: str, expected: str
) -> None:
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_drf_throttles_use_the_same_proxy_count() -> None:
    assert django_settings.REST_FRAMEWORK["NUM_PROXIES"] == django_settings.TRUSTED_PROXY_COUNT


def test_passwords_are_hashed_with_argon2_in_production_settings() -> None:
    from config import settings as project_settings

    assert project_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_sessions_expire_after_15_idle_minutes_and_renew_on_each_request() -> None:
    assert django_settings.SESSION_COOKIE_AGE == 15 * 60
    assert django_settings.SESSION_SAVE_EVERY_REQUEST is True


def signed_in_hours_ago(client: Client, hours: float) -> None:
    # Moving the recorded sign-in back stands for a user active all along (idle expiry never fires).
    session = client.session
    session["signed_in_at"] = (timezone.now() - datetime.timedelta(hours=hours)).timestamp()
    session.save()


def test_sessions_end_12_hours_after_sign_in_however_active(listed_therapist: Therapist) -> None:
    client = signed_in(listed_therapist.user)
    assert client.get("/me/profile/").status_code == 200
    signed_in_hours_ago(client, 11.9)
    assert client.get("/me/profile/").status_code == 200
    signed_in_hours_ago(client, 12.1)
    response = client.get("/me/profile/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert client.get("/me/profile/").status_code == 302


def test_an_idle_session_ends_after_15_minutes(listed_therapist: Therapist) -> None:
    client = signed_in(listed_therapist.user)
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() + datetime.timedelta(minutes=14)):
        assert client.get("/me/profile/").status_code == 200
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() + datetime.timedelta(minutes=14 + 16)):
        assert client.get("/me/profile/").status_code == 302


def test_forms_refuse_posts_without_a_csrf_token(listed_therapist: Therapist) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post("/accounts/login/", RIGHT).status_code == 403
    assert client.post(f"/therapists/{listed_therapist.slug}/report/", {"reason": "other"}).status_code == 403
    therapist_client = Client(enforce_csrf_checks=True)
    therapist_client.force_login(listed_therapist.user)
    assert therapist_client.post("/me/availability/confirm/").status_code == 403


def test_check_deploy_is_clean_under_production_settings() -> None:
    secret = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(60))
    environment = {
        **os.environ,
        "PRODUCTION": "true",
        "SECRET_KEY": secret,
        "ALLOWED_HOSTS": "example.org",
        "DEBUG": "false",
    }
    # The browser tests' conftest allows async-unsafe ORM calls in this process only.
    for name in ("DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        environment.pop(name, None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=django_settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
