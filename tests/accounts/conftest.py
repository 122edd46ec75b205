"""Personas of self-service: a new therapist, a listed one, a referrer, a moderator."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from accounts import services
from directory.models import Therapist, npi_check_digit
from tests.conftest import make_therapist, make_user


def valid_npi(prefix: str) -> str:
    """A Luhn-valid NPI from nine digits (chosen outside the demo directory's range)."""
    return prefix + str(npi_check_digit(prefix))


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    # Rate-limit counters live in the cache; each test starts with none.
    cache.clear()


@pytest.fixture
def new_therapist(db: None) -> Therapist:
    """Nora, just signed up: a draft profile, nothing else yet."""
    return services.sign_up_therapist(
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
def referrer(db: None) -> User:
    return make_user("dr-rivera", "referrers")


@pytest.fixture
def moderator(db: None) -> User:
    return make_user("mod", is_staff=True, is_superuser=True)


def signed_in(user: User) -> Client:
    # force_login: django-axes needs a request that Client.login() does not pass.
    client = Client()
    client.force_login(user)
    return client


def api_as(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client
