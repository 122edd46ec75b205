"""The rules of delivery that need no database: back-off, what is worth retrying, what staff and logs may see."""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys

import pytest
from django.conf import settings

from outbox.services import describe, is_permanent, retry_delay

MESSAGE_TEXT = "Maria Example-Patient"  # what a server's reply might quote from the email


@pytest.mark.parametrize(
    ("attempts", "seconds"), [(1, 30), (2, 120), (3, 480), (4, 1920), (5, 3600), (6, 3600), (400, 3600)]
)
def test_retries_wait_longer_each_time_and_at_most_an_hour(attempts: int, seconds: int, settings: object) -> None:
    settings.EMAIL_TIMEOUT = 10
    assert retry_delay(attempts).total_seconds() == seconds


def test_a_retry_never_comes_before_a_slow_attempt_could_end(settings: object) -> None:
    settings.EMAIL_TIMEOUT = 60
    assert retry_delay(1).total_seconds() == 180


@pytest.mark.parametrize(
    ("error", "permanent", "described"),
    [
        (ConnectionRefusedError(111, "Connection refused"), False, "ConnectionRefusedError: Connection refused"),
        (TimeoutError("timed out"), False, "TimeoutError"),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed: timed out"), False,
         "SMTPServerDisconnected: Connection unexpectedly closed: timed out"),
        (smtplib.SMTPDataError(451, f"try later {MESSAGE_TEXT}".encode()), False, "SMTPDataError: SMTP 451"),
        (smtplib.SMTPDataError(554, f"spam: {MESSAGE_TEXT}".encode()), True, "SMTPDataError: SMTP 554"),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), False, "SMTPAuthenticationError: SMTP 535"),
        (smtplib.SMTPSenderRefused(553, b"not our domain", "no-reply@x.example"), False,
         "SMTPSenderRefused: SMTP 553"),
        (smtplib.SMTPRecipientsRefused({"a@x.example": (550, b"no"), "b@x.example": (550, b"no")}), True,
         "SMTPRecipientsRefused: 2 recipient(s) refused, SMTP 550"),
        (smtplib.SMTPRecipientsRefused({"a@x.example": (450, b"busy")}), False,
         "SMTPRecipientsRefused: 1 recipient(s) refused, SMTP 450"),
        (ValueError(f"Header values can't contain newlines: {MESSAGE_TEXT}"), True, "ValueError"),
    ],
)  # fmt: skip
def test_what_is_retried_and_what_is_recorded_of_an_error(error: Exception, permanent: bool, described: str) -> None:
    assert is_permanent(error) is permanent
    assert describe(error) == described and MESSAGE_TEXT not in describe(error)


def mail_settings(**environment: str) -> subprocess.CompletedProcess:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.EMAIL_BACKEND, s.OUTBOX_DELIVERY_BACKEND, s.EMAIL_TIMEOUT, s.EMAIL_GIVE_UP_HOURS, s.EMAIL_PORT)"
    )
    names = ("EMAIL_", "PRODUCTION", "SECRET_KEY", "ALLOWED_HOSTS")
    clean = {name: value for name, value in os.environ.items() if not name.startswith(names)}
    env = {**clean, "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": "sqlite:///:memory:", **environment}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=settings.BASE_DIR)


def test_mail_settings_default_to_the_console_outside_production_and_smtp_in_production() -> None:
    assert mail_settings().stdout.split() == [
        "outbox.backends.QueuedEmailBackend", "django.core.mail.backends.console.EmailBackend", "10", "24", "25"
    ]  # fmt: skip
    production = mail_settings(PRODUCTION="true", SECRET_KEY="k" * 60, ALLOWED_HOSTS="ipt.example")
    assert production.stdout.split()[:3] == [
        "outbox.backends.QueuedEmailBackend", "django.core.mail.backends.smtp.EmailBackend", "10"
    ]  # fmt: skip
    chosen = mail_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend", EMAIL_TIMEOUT="3")
    assert chosen.stdout.split()[1:3] == ["django.core.mail.backends.locmem.EmailBackend", "3"]


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({"EMAIL_BACKEND": "outbox.backends.QueuedEmailBackend"}, "EMAIL_BACKEND"),
        ({"EMAIL_USE_TLS": "true", "EMAIL_USE_SSL": "true"}, "EMAIL_USE_SSL"),
        ({"EMAIL_TIMEOUT": "0"}, "EMAIL_TIMEOUT"),
        ({"EMAIL_GIVE_UP_HOURS": "a day"}, "EMAIL_GIVE_UP_HOURS"),
    ],
)
def test_bad_mail_settings_stop_start_up_naming_the_variable(environment: dict[str, str], named: str) -> None:
    result = mail_settings(**environment)
    assert result.returncode != 0 and "ImproperlyConfigured" in result.stderr and named in result.stderr


def test_a_delivery_backend_that_cannot_be_imported_stops_the_worker() -> None:
    env = {**os.environ, "EMAIL_BACKEND": "no.such.EmailBackend", "DATABASE_URL": "sqlite:///:memory:"}
    result = subprocess.run([sys.executable, "manage.py", "db_worker", "--batch", "--no-reload"], env=env,
                            capture_output=True, text=True, cwd=settings.BASE_DIR)  # fmt: skip
    assert result.returncode != 0 and "outbox.E001" in result.stderr
