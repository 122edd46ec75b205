"""Load balancers ask /healthz (is the process up) and /readyz (can it serve: database, cache, task queue)."""

from __future__ import annotations

from unittest import mock

import pytest
from django.test import Client

from config import health


def test_healthz_answers_without_touching_the_database() -> None:
    # No django_db mark: any query would raise here.
    response = Client().get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_readyz_says_each_dependency_answers() -> None:
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {name: "ok" for name in health.READINESS_CHECKS}}


@pytest.mark.django_db
@pytest.mark.parametrize("failing", list(health.READINESS_CHECKS))
def test_readyz_is_503_when_a_dependency_fails_and_says_which_not_why(failing: str) -> None:
    def broken() -> bool:
        raise ConnectionRefusedError("connect to 10.0.0.7:5432 refused")

    with mock.patch.dict(health.READINESS_CHECKS, {failing: broken}):
        response = Client().get("/readyz")
    assert response.status_code == 503 and response["Retry-After"] == "10"
    assert response.json()["checks"][failing] == "failing"
    assert "10.0.0.7" not in response.content.decode() and "refused" not in response.content.decode()


def test_probes_need_no_public_host_name_and_no_https(settings: object) -> None:
    """A load balancer probes by the server's own address, over plain HTTP inside the network."""
    settings.SECURE_SSL_REDIRECT = True
    response = Client(HTTP_HOST="10.0.3.17:8000").get("/healthz")
    assert response.status_code == 200


def test_only_get_and_head_are_probes() -> None:
    assert Client().head("/healthz").status_code == 200
    assert Client().post("/healthz").status_code == 404
