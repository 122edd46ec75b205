"""Personas of the role checks; the others (therapist_user, referrer, moderator...) are in tests/conftest.py."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from tests.conftest import make_therapist, make_user, valid_npi

# The people every role check is tried with; each name is a fixture (None: nobody signed in).
PERSONAS = ["anonymous", "therapist_without_profile", "referrer", "therapist_user", "moderator"]


@pytest.fixture
def therapist_without_profile(db: None) -> User:
    """Tess: in the group `therapists`, but no profile is linked to her account."""
    return make_user("tess", "therapists")


@pytest.fixture
def profile_without_role(db: None) -> User:
    """Pia: linked to a profile, but not (or no longer) in the group `therapists`."""
    therapist = make_therapist(npi=valid_npi("199000031"), first_name="Pia", last_name="Profile")
    therapist.user = make_user("pia")
    therapist.save(update_fields=["user"])
    return therapist.user


@pytest.fixture
def persona(request: pytest.FixtureRequest) -> User | None:
    """The persona named by `parametrize("persona", ..., indirect=True)`."""
    return None if request.param == "anonymous" else request.getfixturevalue(request.param)
