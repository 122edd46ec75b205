"""accounts.roles: one meaning of "therapist" and of "referrer", whoever asks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User

from accounts import roles
from directory.models import Therapist
from tests.conftest import signed_in, token_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("persona", "is_therapist", "is_referrer"),
    [
        ("anonymous", False, False),
        ("therapist_without_profile", False, False),
        ("profile_without_role", False, False),
        ("referrer", False, True),
        ("therapist_user", True, False),
        ("moderator", False, False),
    ],
    indirect=["persona"],
)
def test_each_persona_has_the_roles_it_should(persona: User | None, is_therapist: bool, is_referrer: bool) -> None:
    user = persona or AnonymousUser()
    assert roles.is_therapist(user) is is_therapist
    assert roles.is_referrer(user) is is_referrer
    assert (roles.therapist_profile(user) is not None) is is_therapist


def test_a_therapist_profile_is_the_users_own(therapist_user: User, accepting_therapist: Therapist) -> None:
    assert roles.therapist_profile(therapist_user) == accepting_therapist


def test_leaving_the_group_ends_the_role_though_the_profile_stays(therapist_user: User) -> None:
    therapist_user.groups.clear()
    assert roles.therapist_profile(therapist_user) is None
    assert Therapist.objects.filter(user=therapist_user).exists()


@pytest.mark.parametrize("persona", ["therapist_without_profile", "profile_without_role"], indirect=True)
def test_half_a_therapist_is_refused_by_the_api_the_pages_and_the_navigation(persona: User) -> None:
    """Before accounts, the group alone let a user into matching's API and showed the Inbox link."""
    api = token_client(persona)
    assert api.get("/api/me/profile/").status_code == 403
    assert api.get("/api/me/offers/").status_code == 403
    pages = signed_in(persona)
    assert pages.get("/me/profile/").status_code == 403
    assert pages.get("/me/inbox/").status_code == 403
    home = pages.get("/").content.decode()
    assert "/me/inbox/" not in home and "/me/profile/" not in home


def test_the_navigation_shows_each_role_its_own_pages(therapist_user: User, referrer: User) -> None:
    therapist_home = signed_in(therapist_user).get("/").content.decode()
    assert "/me/inbox/" in therapist_home and "/me/profile/" in therapist_home
    assert "/referrals/" not in therapist_home
    referrer_home = signed_in(referrer).get("/").content.decode()
    assert "/referrals/" in referrer_home and "/me/inbox/" not in referrer_home


@pytest.mark.parametrize("module", ["roles", "permissions", "decorators", "context_processors"])
def test_role_modules_import_neither_directory_nor_matching(module: str) -> None:
    """directory and matching import these, so these must not import them back."""
    tree = ast.parse((Path(settings.BASE_DIR) / "accounts" / f"{module}.py").read_text())
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [name for name in imported if name.split(".")[0] in {"directory", "matching"}]
