"""Every API call is throttled: per address when anonymous, per user when signed in, tighter where costly.

The suite runs with every rate lifted (tests/conftest.py, `limits_lifted`); each test here sets
the rates it is about, low enough to reach in a few calls.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from config import settings as project_settings
from config.urls import api_patterns
from directory.models import Therapist
from directory.throttles import AnonymousThrottle, ScopedThrottle, SignedInThrottle
from matching.models import Referral
from tests.conftest import token_client

pytestmark = pytest.mark.django_db

NEED = {"postal_code": "11215", "insurance": "aetna", "formats": ["individual", "online"]}
REFERRAL = {**NEED, "patient_name": "Pat Example", "patient_birth_date": "1980-04-02",
            "patient_phone": "718 555 0100", "urgency": "routine", "consent": True}  # fmt: skip
RIGHT = {"username": "lena", "password": "correct-horse-battery"}


def rates(settings: object, **lowered: str) -> None:
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, **lowered}


def assert_throttled(response: object) -> None:
    """A 429 as the API documents it: JSON {"detail"} and a Retry-After in whole seconds."""
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"].startswith("Request was throttled.")
    assert 1 <= int(response["Retry-After"]) <= 3600


def test_every_api_endpoint_is_throttled() -> None:
    for pattern in api_patterns:
        throttles = pattern.callback.cls().get_throttles()
        assert {type(throttle) for throttle in throttles} >= {AnonymousThrottle, SignedInThrottle, ScopedThrottle}, (
            pattern.pattern
        )


def test_anonymous_calls_past_the_rate_get_429_json_with_retry_after(api_client: APIClient, settings: object) -> None:
    rates(settings, anon="3/min")
    # Every endpoint draws on the same allowance.
    statuses = [api_client.get(path).status_code for path in ("/api/formats/", "/api/insurance/", "/api/concerns/")]
    assert statuses == [200] * 3
    assert_throttled(api_client.get("/api/formats/"))
    assert 1 <= int(api_client.get("/api/therapists/?near=11215")["Retry-After"]) <= 60
    # A forged X-Forwarded-For is no way out (no trusted proxy here); another address is not held back.
    assert api_client.get("/api/formats/", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 429
    assert api_client.get("/api/formats/", REMOTE_ADDR="198.51.100.20").status_code == 200


def test_behind_a_proxy_each_client_address_has_its_own_allowance(api_client: APIClient, settings: object) -> None:
    rates(settings, anon="2/min")
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(2):
        assert api_client.get("/api/formats/", HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 200
    assert api_client.get("/api/formats/", HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 429
    assert api_client.get("/api/formats/", HTTP_X_FORWARDED_FOR="203.0.113.2").status_code == 200


def test_signed_in_users_count_on_their_own_rate_not_their_address(
    referrer: User, other_referrer: User, settings: object
) -> None:
    rates(settings, anon="1/min", user="2/min")
    client = token_client(referrer)
    assert [client.get("/api/referrals/").status_code for _ in range(2)] == [200, 200]
    assert_throttled(client.get("/api/referrals/"))
    # A colleague at the same address, and an anonymous caller, draw on allowances of their own.
    assert token_client(other_referrer).get("/api/referrals/").status_code == 200
    assert APIClient().get("/api/formats/").status_code == 200


def test_matching_has_a_tighter_rate_than_searching(api_client: APIClient, settings: object) -> None:
    rates(settings, anon="10/min", match="2/min")
    assert [api_client.post("/api/match/", NEED, format="json").status_code for _ in range(2)] == [200, 200]
    assert_throttled(api_client.post("/api/match/", NEED, format="json"))
    assert api_client.get("/api/therapists/?near=11215").status_code == 200


def test_creating_referrals_has_a_tighter_rate_than_reading_them(referrer: User, settings: object) -> None:
    rates(settings, user="10/min", referral="2/hour")
    client = token_client(referrer)
    assert [client.post("/api/referrals/", REFERRAL, format="json").status_code for _ in range(2)] == [201, 201]
    response = client.post("/api/referrals/", REFERRAL, format="json")
    assert_throttled(response)
    assert 60 < int(response["Retry-After"]) <= 3600
    assert Referral.objects.filter(referrer=referrer).count() == 2
    assert client.get("/api/referrals/").status_code == 200


def test_asking_for_tokens_has_a_tighter_rate(listed_therapist: Therapist, settings: object) -> None:
    rates(settings, anon="10/min", token="2/min")
    client = APIClient()
    assert [client.post("/api/auth/token/", RIGHT, format="json").status_code for _ in range(2)] == [200, 200]
    assert_throttled(client.post("/api/auth/token/", RIGHT, format="json"))
    assert client.post("/api/auth/token/", RIGHT, format="json", REMOTE_ADDR="198.51.100.30").status_code == 200


def test_default_rates_are_tighter_where_a_call_costs_more() -> None:
    per_second = {scope: requests_per_second(rate) for scope, rate in project_settings.THROTTLE_RATES.items()}
    assert per_second["match"] < per_second["anon"] < per_second["user"]
    assert per_second["token"] < per_second["anon"]
    assert per_second["referral"] < per_second["user"]
    assert per_second["consultation"] < per_second["anon"]


def requests_per_second(rate: str) -> float:
    count, period = rate.split("/")
    return int(count) / {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]


def test_the_fuzzing_server_and_the_benchmark_lift_every_rate() -> None:
    """A new scope left out of either would throttle `make fuzz` or `make bench` from 127.0.0.1."""
    from bench.run import LIMITS_LIFTED

    variables = {f"THROTTLE_{scope.upper()}_RATE" for scope in project_settings.THROTTLE_RATES}
    makefile = (Path(project_settings.BASE_DIR) / "Makefile").read_text()
    assert variables <= set(re.findall(r"\b(THROTTLE_\w+_RATE)=off\b", makefile))
    assert variables <= {name for name, value in LIMITS_LIFTED.items() if value == "off"}
