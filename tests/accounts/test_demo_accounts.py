"""accounts.services.ensure_demo_accounts: the demo logins of the README, safe to repeat."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from accounts import roles
from accounts.services import ensure_demo_accounts
from directory.models import Therapist

pytestmark = pytest.mark.django_db


def test_demo_logins_have_their_roles_and_profiles_and_repeat_safely() -> None:
    first, second = Therapist.objects.order_by("npi")[:2]
    ensure_demo_accounts(password="correct-horse-battery", therapist_npis={"therapist1": first.npi})
    usernames = ensure_demo_accounts(password="another-horse-battery", therapist_npis={"therapist1": second.npi})
    assert usernames == ["admin", "referrer1", "referrer2", "therapist1"]
    therapist = User.objects.get(username="therapist1")
    assert roles.therapist_profile(therapist) == second
    assert not Therapist.objects.filter(pk=first.pk, user__isnull=False).exists()
    assert therapist.check_password("another-horse-battery")
    assert roles.is_referrer(User.objects.get(username="referrer1"))
    assert User.objects.get(username="admin").is_staff and User.objects.count() == 4
