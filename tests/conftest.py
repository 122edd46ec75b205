"""Shared set-up: the reference data and demo directory, loaded once; named personas."""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import sign_up_therapist
from config.settings import cache_from_url
from directory import search
from directory.models import Insurer, LicensedState, Office, Therapist, TherapistInsurer, npi_check_digit
from directory.services import load_directory

T = TypeVar("T")

DEMO_RECORDS = json.loads((Path(settings.BASE_DIR) / "fixtures" / "demo_directory.json").read_text())


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: object) -> None:
    """Every test runs on the real reference data and the 336-therapist demo directory."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock():
        call_command("loaddata", "reference", verbosity=0)
        load_directory(DEMO_RECORDS, now=timezone.now())


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: object) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_configure(config: pytest.Config) -> None:
    """No request of the suite is throttled unless its test sets a rate (collection included:
    tests/test_api_fuzz.py loads the schema through the app). The counters live in the database
    cache whatever CACHE_URL says, so no test writes to, or flushes, a real Redis."""
    lifted = dict.fromkeys(settings.THROTTLE_RATES)
    override_settings(CACHES={"default": cache_from_url("")}, THROTTLE_RATES=lifted).enable()


@pytest.fixture(autouse=True)
def empty_cache(request: pytest.FixtureRequest) -> None:
    """No test sees another's counters. A test's transaction takes its cache rows with it; a
    transactional test commits them, so it starts from an empty cache."""
    marker = request.node.get_closest_marker("django_db")
    if (marker and (marker.kwargs.get("transaction") or marker.args[:1] == (True,))) or (
        "transactional_db" in request.fixturenames
    ):
        request.getfixturevalue("transactional_db")
        cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def make_user(username: str, group: str | None = None, **extra: object) -> User:
    user = User.objects.create_user(username=username, password="correct-horse-battery", **extra)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def make_therapist(
    *,
    npi: str,
    first_name: str = "Test",
    last_name: str = "Therapist",
    postal_code: str | None = "11215",
    insurers: tuple[str, ...] = ("aetna",),
    licensed: tuple[str, ...] = ("NY",),
    accepting: bool = True,
    confirmed_days_ago: int | None = 1,
    status: str = Therapist.Status.PUBLISHED,
    capacity_override: int | None = None,
    **fields: object,
) -> Therapist:
    """A therapist built with the plain ORM, for tests that need exact facts."""
    confirmed_at = None if confirmed_days_ago is None else timezone.now() - datetime.timedelta(days=confirmed_days_ago)
    therapist = Therapist.objects.create(
        npi=npi,
        first_name=first_name,
        last_name=last_name,
        credentials="LCSW",
        status=status,
        accepts_new_clients=accepting,
        capacity=capacity_override if capacity_override is not None else (3 if accepting else 0),
        availability_confirmed_at=confirmed_at,
        **fields,
    )
    if postal_code:
        Office.objects.create(
            therapist=therapist, address="1 Test St", city="Test", state="NY", postal_code=postal_code
        )
    for slug in insurers:
        TherapistInsurer.objects.create(therapist=therapist, insurer=Insurer.objects.get(slug=slug))
    for state in licensed:
        LicensedState.objects.create(therapist=therapist, state=state)
    search.refresh([therapist.pk])
    therapist.refresh_from_db()  # with the card just stored, so that a later save() keeps it
    return therapist


@pytest.fixture
def accepting_therapist(db: None) -> Therapist:
    """Dana, in Park Slope, takes Aetna, accepting, confirmed yesterday."""
    return make_therapist(npi="1234567893", first_name="Dana", last_name="Accepting")


@pytest.fixture
def full_therapist(db: None) -> Therapist:
    """Fran, in Park Slope too, but not accepting new clients."""
    return make_therapist(npi="1245319599", first_name="Fran", last_name="Full", accepting=False)


@pytest.fixture
def referrer(db: None) -> User:
    """Dr. Rivera's office: a primary care practice that refers patients."""
    return make_user("dr_rivera", "referrers", email="rivera@clinic.example")


@pytest.fixture
def other_referrer(db: None) -> User:
    return make_user("dr_okoye", "referrers", email="okoye@clinic.example")


@pytest.fixture
def therapist_user(accepting_therapist: Therapist) -> User:
    """Dana's login: a therapist in group `therapists`, linked to her profile."""
    user = make_user("dana", "therapists", email="dana@therapy.example")
    accepting_therapist.user = user
    accepting_therapist.save(update_fields=["user"])
    return user


def token_client(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def signed_in(user: User) -> Client:
    # force_login: django-axes needs a request that Client.login() does not pass.
    client = Client()
    client.force_login(user)
    return client


def valid_npi(prefix: str) -> str:
    """A Luhn-valid NPI from nine digits (chosen outside the demo directory's range)."""
    return prefix + str(npi_check_digit(prefix))


@pytest.fixture
def new_therapist(db: None) -> Therapist:
    """Nora, just signed up: a draft profile, nothing else yet."""
    return sign_up_therapist(
        username="nora",
        email="nora@example.org",
        password="correct-horse-battery",
        first_name="Nora",
        last_name="Newcomer",
        credentials="LCSW",
        npi=valid_npi("199000001"),
    )


@pytest.fixture
def listed_therapist(db: None) -> Therapist:
    """Lena, published and accepting, signed in as `lena`."""
    therapist = make_therapist(npi=valid_npi("199000002"), first_name="Lena", last_name="Listed")
    therapist.user = make_user("lena", "therapists", email="lena@example.org")
    therapist.save()
    return therapist


@pytest.fixture
def moderator(db: None) -> User:
    """Staff who review profiles in the admin; staff hold neither role."""
    return make_user("mod", is_staff=True, is_superuser=True)


def at_once(tasks: list[Callable[[], T]], *, timeout: float = 120) -> list[T]:
    """Run each task in a thread of its own, all released together; their results, as they finish.

    Each thread has its own database connection, closed when its task ends: proof of
    row locks and unique constraints needs separate connections (PostgreSQL).
    """
    barrier = threading.Barrier(len(tasks))
    results: list[T] = []

    def run(task: Callable[[], T]) -> None:
        try:
            barrier.wait()
            results.append(task())
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(task,)) for task in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results
