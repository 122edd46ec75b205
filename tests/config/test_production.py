"""Production behaviour: security headers, CSP, logs without PHI, static files."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from config.logging import RedactExceptionMessages
from matching import services
from tests.conftest import token_client

pytestmark = pytest.mark.django_db

PATIENT = {"patient_name": "Quentin Lognot", "patient_phone": "555-777-8888", "patient_email": "quentin@mail.example"}


def test_pages_send_a_content_security_policy(client: Client) -> None:
    policy = client.get("/")["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert client.get("/")["X-Content-Type-Options"] == "nosniff"


def test_api_docs_need_no_inline_script(client: Client) -> None:
    html = client.get("/api/docs/").content.decode()
    assert "<script>" not in html.replace(" ", "")


def test_patient_data_never_reaches_the_logs_even_on_an_error(
    referrer: User, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(**arguments: object) -> None:
        raise RuntimeError(f"could not store {arguments['request']}")  # an error that quotes its input

    monkeypatch.setattr(services, "create_referral", explode)
    client = token_client(referrer)
    client.raise_request_exception = False
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactExceptionMessages())
    logging.getLogger().addHandler(handler)
    try:
        body = {"postal_code": "11215", "patient_birth_date": "1980-01-01", "consent": True, **PATIENT}
        response = client.post("/api/referrals/", body, format="json")
    finally:
        logging.getLogger().removeHandler(handler)
    assert response.status_code == 500
    logged = stream.getvalue()
    assert "Internal Server Error: /api/referrals/" in logged
    assert "RuntimeError" in logged and "explode" in logged
    for value in PATIENT.values():
        assert value not in logged
        assert value not in response.content.decode()


def test_logging_configuration_redacts_on_every_handler() -> None:
    for handler in settings.LOGGING["handlers"].values():
        assert "redact_exceptions" in handler["filters"]


def production_environment(**extra: str) -> dict[str, str]:
    return {**os.environ, "PRODUCTION": "true", "SECRET_KEY": "x" * 30 + "-production-secret-for-tests-only-0123",
            "ALLOWED_HOSTS": "ipt-directory.example", "DATABASE_URL": "sqlite:///:memory:", **extra}  # fmt: skip


def test_production_logs_are_json_lines() -> None:
    code = "import django, logging; django.setup(); logging.getLogger('directory').warning('listing %s flagged', 42)"
    environment = {**production_environment(), "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True)
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["message"] == "listing 42 flagged" and line["level"] == "WARNING" and line["logger"] == "directory"


def test_production_refuses_a_weak_secret_key() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        env=production_environment(SECRET_KEY="short"), capture_output=True, text=True, cwd=settings.BASE_DIR,
    )  # fmt: skip
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_production_serves_hashed_static_files(tmp_path: object) -> None:
    environment = production_environment(STATIC_ROOT=str(tmp_path))
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], env=environment,
                   cwd=settings.BASE_DIR, check=True)  # fmt: skip
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())
    hashed = manifest["paths"]["css/site.css"]
    assert hashed != "css/site.css" and (tmp_path / hashed).exists()
