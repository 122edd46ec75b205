"""The limits' settings: CACHE_URL picks a shared cache, rates read "N/period", a malformed value stops start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.settings import cache_from_url, env_rate

REDIS = "django.core.cache.backends.redis.RedisCache"
SHOW_LIMITS = (
    "import django, json; django.setup(); from django.conf import settings; "
    "print(json.dumps({'cache': settings.CACHES['default'], 'rates': settings.THROTTLE_RATES}))"
)


def start(**variables: str) -> subprocess.CompletedProcess:
    """Django set up in a fresh process with these variables, as a server would start."""
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **variables}
    return subprocess.run([sys.executable, "-c", SHOW_LIMITS], env=environment, cwd=settings.BASE_DIR,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/1", "redis://:s3cret@cache.internal:6380", "rediss://cache.internal/0",
            "unix:///run/redis/redis.sock?db=2"],
)  # fmt: skip
def test_a_redis_cache_url_selects_djangos_redis_cache(url: str) -> None:
    assert cache_from_url(url) == {"BACKEND": REDIS, "LOCATION": url}


def test_without_cache_url_the_database_holds_the_cache() -> None:
    cache = cache_from_url("")
    assert cache["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert cache["LOCATION"] == "django_cache"


@pytest.mark.parametrize(
    "url", ["redis//127.0.0.1:6379", "memcached://127.0.0.1:11211", "redis://", "redis://:s3cret@host:port/1",
            "redis://127.0.0.1:6379/one", "127.0.0.1:6379", "unix://"],
)  # fmt: skip
def test_a_malformed_cache_url_is_refused_without_quoting_it(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="CACHE_URL must look like") as refused:
        cache_from_url(url)
    assert "s3cret" not in str(refused.value)


@pytest.mark.parametrize(("raw", "expected"), [("120/min", "120/min"), ("5/s", "5/s"), ("60/hour", "60/hour"),
                                               ("1000/day", "1000/day"), ("off", None), ("OFF", None)])  # fmt: skip
def test_rates_read_requests_per_period_or_off(monkeypatch: pytest.MonkeyPatch, raw: str, expected: str | None) -> None:
    monkeypatch.setenv("THROTTLE_ANON_RATE", raw)
    assert env_rate("THROTTLE_ANON_RATE", "120/min") == expected


@pytest.mark.parametrize("raw", ["120", "120 per minute", "0/min", "-1/min", "120/fortnight", "1.5/s", "/min"])
def test_a_malformed_rate_names_its_variable(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("THROTTLE_MATCH_RATE", raw)
    with pytest.raises(ImproperlyConfigured, match="THROTTLE_MATCH_RATE must be a rate such as 120/min"):
        env_rate("THROTTLE_MATCH_RATE", "30/min")


def test_a_server_started_with_cache_url_and_rates_uses_them() -> None:
    started = start(CACHE_URL="redis://127.0.0.1:6379/3", THROTTLE_MATCH_RATE="5/min", THROTTLE_TOKEN_RATE="off")
    assert started.returncode == 0, started.stderr
    limits = json.loads(started.stdout)
    assert limits["cache"] == {"BACKEND": REDIS, "LOCATION": "redis://127.0.0.1:6379/3"}
    assert limits["rates"]["match"] == "5/min" and limits["rates"]["token"] is None


@pytest.mark.parametrize(
    ("variable", "value"), [("CACHE_URL", "redis:/127.0.0.1"), ("THROTTLE_ANON_RATE", "lots"),
                            ("AXES_ADDRESS_FAILURE_LIMIT", "0")],
)  # fmt: skip
def test_a_server_refuses_to_start_with_a_malformed_limit(variable: str, value: str) -> None:
    started = start(**{variable: value})
    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr and variable in started.stderr


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="TEST_REDIS_URL is not set")
def test_a_live_redis_cache_takes_a_key_once() -> None:
    code = (
        "import django, uuid; django.setup(); from django.core.cache import cache; key = f'test-{uuid.uuid4()}'; "
        "assert cache.add(key, 1, 5) and not cache.add(key, 1, 5)"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "CACHE_URL": os.environ["TEST_REDIS_URL"]}
    started = subprocess.run([sys.executable, "-c", code], env=environment, cwd=settings.BASE_DIR,
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert started.returncode == 0, started.stderr
