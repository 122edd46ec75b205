"""Limits hold across processes: two gunicorn workers count one client's listing reports together.

The server runs as `make serve` runs it (gunicorn, 2 workers) on a database of its own, freshly
migrated, with the default cache (the database's table) or, when TEST_REDIS_URL is set, Redis.
Fifteen reports arrive at once, so both workers take some; five may pass.
"""

from __future__ import annotations

import http.client
import os
import random
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import valid_npi

pytestmark = pytest.mark.gunicorn

SET_UP = f"""
import os
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from directory.models import Therapist
call_command("migrate", verbosity=0)
if not os.environ.get("CACHE_URL"):
    assert "django_cache" in connection.introspection.table_names(), "migrate made no cache table"
therapist = Therapist.objects.create(
    first_name="Rhea", last_name="Reported", credentials="LCSW", npi="{valid_npi("199000077")}",
    status=Therapist.Status.PUBLISHED,
)
print(therapist.slug)
"""
REPORTS = 15
LIMIT = 5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def postgresql_database() -> Iterator[str]:
    """A database of its own beside the suite's, on the same PostgreSQL server; dropped afterwards."""
    if connection.vendor != "postgresql":
        pytest.skip("the suite runs on SQLite (set DATABASE_URL=postgres://…)")
    suite = urlsplit(os.environ["DATABASE_URL"])
    name = f"limits_{os.getpid()}_{random.randrange(10**6)}"
    maintenance = suite._replace(path="/postgres").geturl()
    with psycopg.connect(maintenance, autocommit=True) as server:
        server.execute(f'CREATE DATABASE "{name}"')
    yield suite._replace(path=f"/{name}").geturl()
    with psycopg.connect(maintenance, autocommit=True) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def server_environment(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The server's environment: a fresh database, and the cache `make serve` would use there."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"CACHE_URL", "DATABASE_URL", "LISTING_REPORTS_PER_HOUR"} and not name.startswith("THROTTLE_")
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        LISTING_REPORTS_PER_HOUR=str(LIMIT),
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        # Each run reports from an address of its own (below), so counts left in Redis by another run don't matter.
        TRUSTED_PROXY_COUNT="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    if request.param == "postgresql":
        environment["DATABASE_URL"] = request.getfixturevalue("postgresql_database")
    if request.param == "redis":
        if not os.environ.get("TEST_REDIS_URL"):
            pytest.skip("TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/3)")
        environment["CACHE_URL"] = os.environ["TEST_REDIS_URL"]
    return environment


@pytest.fixture
def server(server_environment: dict[str, str]) -> Iterator[tuple[int, str, dict[str, str]]]:
    """gunicorn with 2 workers on a migrated database holding one published therapist: (port, slug, env)."""
    set_up = subprocess.run(
        [sys.executable, "-c", SET_UP], env=server_environment, cwd=settings.BASE_DIR,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert set_up.returncode == 0, set_up.stderr
    slug = set_up.stdout.strip().splitlines()[-1]
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "--workers", "2",
               "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]  # fmt: skip
    process = subprocess.Popen(command, env=server_environment, cwd=settings.BASE_DIR)
    try:
        wait_until_serving(port, f"/therapists/{slug}/report/", process)
        yield port, slug, server_environment
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_until_serving(port: int, path: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"gunicorn exited with {process.returncode}"
        try:
            if request(port, "GET", path)[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer within {timeout} s")


def request(
    port: int, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
) -> tuple[int, http.client.HTTPResponse, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body, headers or {})
        response = connection.getresponse()
        return response.status, response, response.read().decode()
    finally:
        connection.close()


def test_two_workers_accept_five_reports_from_one_address_between_them(
    server: tuple[int, str, dict[str, str]],
) -> None:
    port, slug, environment = server
    path = f"/therapists/{slug}/report/"
    address = {"X-Forwarded-For": f"198.18.{random.randrange(256)}.{random.randrange(1, 255)}"}
    _, response, html = request(port, "GET", path, headers=address)
    cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie", "")).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    form = urlencode({"reason": "not-accepting", "details": "", "csrfmiddlewaretoken": token})
    headers = {**address, "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={cookie}"}

    with ThreadPoolExecutor(max_workers=REPORTS) as pool:
        outcomes = list(pool.map(lambda _: request(port, "POST", path, form, headers), range(REPORTS)))

    statuses = sorted(status for status, _, _ in outcomes)
    assert statuses == [302] * LIMIT + [429] * (REPORTS - LIMIT)
    refused = next(html for status, _, html in outcomes if status == 429)
    assert f"You have sent {LIMIT} reports in the last hour" in refused
    assert stored_reports(environment["DATABASE_URL"]) == LIMIT
    # Another address is not held back by this one's reports.
    elsewhere = {**headers, "X-Forwarded-For": "198.19.0.1"}
    assert request(port, "POST", path, form, elsewhere)[0] == 302


def stored_reports(database_url: str) -> int:
    query = "SELECT COUNT(*) FROM directory_listingreport"
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as database:
            return database.execute(query).fetchone()[0]
    with psycopg.connect(database_url) as database:
        return database.execute(query).fetchone()[0]
