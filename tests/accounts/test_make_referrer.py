"""Staff approve a physician's office as a referrer: accounts.services.make_referrer and the user admin."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from accounts import roles
from accounts.services import make_referrer
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db


def test_staff_make_a_referrer_from_the_user_admin(moderator: User) -> None:
    user = User.objects.create_user("office-manager", password="x-long-password-1")
    signed_in(moderator).post("/admin/auth/user/", {"action": "make_referrer", "_selected_action": [user.pk]})
    assert user.groups.filter(name="referrers").exists()
    assert roles.is_referrer(user) and not roles.is_therapist(user)


def test_making_a_referrer_twice_changes_nothing(referrer: User) -> None:
    make_referrer(user=referrer)
    assert list(referrer.groups.values_list("name", flat=True)) == ["referrers"]


def test_the_user_list_filters_by_role(moderator: User, referrer: User, therapist_user: User) -> None:
    referrers = Group.objects.get(name="referrers")
    response = signed_in(moderator).get("/admin/auth/user/", {"groups__id__exact": referrers.pk})
    assert response.status_code == 200
    assert [user.username for user in response.context["cl"].result_list] == [referrer.username]


def test_only_staff_reach_the_user_admin(referrer: User) -> None:
    response = signed_in(referrer).get("/admin/auth/user/")
    assert response.status_code == 302 and response.url.startswith("/admin/login/")
