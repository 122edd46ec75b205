"""Account writes: a therapist's sign-up, staff's approval of referrers, the demo logins, API tokens.

The therapist profile itself is written by directory.profiles; this module makes
the user and gives it its role.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from knox.models import AuthToken
from knox.settings import knox_settings

from accounts.roles import REFERRERS_GROUP, THERAPISTS_GROUP
from directory import profiles
from directory.models import Therapist


@transaction.atomic
def sign_up_therapist(
    *, username: str, email: str, password: str, first_name: str, last_name: str, credentials: str, npi: str
) -> Therapist:
    """A therapist account (group `therapists`) with a draft profile.

    A ValidationError names the profile's field (a taken or malformed NPI), and
    then no account is left behind.
    """
    user = get_user_model().objects.create_user(
        username=username, email=email, password=password, first_name=first_name, last_name=last_name
    )
    user.groups.add(Group.objects.get(name=THERAPISTS_GROUP))
    return profiles.create_draft_profile(
        user=user, first_name=first_name, last_name=last_name, credentials=credentials, npi=npi, email=email
    )


@transaction.atomic
def make_referrer(*, user: AbstractBaseUser) -> None:
    """Staff's approval of a physician's (or their office's) account as a referrer."""
    user.groups.add(Group.objects.get(name=REFERRERS_GROUP))


@transaction.atomic
def ensure_demo_accounts(*, password: str, therapist_npis: Mapping[str, str]) -> list[str]:
    """The demo logins of the README; existing ones get their password, role and profile reset.

    `therapist_npis` maps each demo therapist's username to the NPI of the profile it is linked to.
    """
    therapists_group = Group.objects.get(name=THERAPISTS_GROUP)
    referrers_group = Group.objects.get(name=REFERRERS_GROUP)
    accounts = [("admin", None), ("referrer1", referrers_group), ("referrer2", referrers_group)]
    accounts += [(username, therapists_group) for username in therapist_npis]
    for username, group in accounts:
        user, _ = get_user_model().objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.org"}
        )
        user.is_staff = user.is_superuser = username == "admin"
        user.set_password(password)
        user.save()
        if group is not None:
            user.groups.add(group)
        if username in therapist_npis:
            profiles.link_account(user=user, npi=therapist_npis[username])
    return [username for username, _ in accounts]


@transaction.atomic
def issue_token(*, user: AbstractBaseUser) -> tuple[AuthToken, str]:
    """A new API token for `user`, which already proved its password, and the token's text.

    The text is returned once and never stored (only its digest is). The user's
    expired tokens go; past TOKEN_LIMIT_PER_USER live ones, the oldest go too:
    refusing a new token instead (knox's own way) would lock out a client that
    never said goodbye until its old tokens ran out.
    """
    now = timezone.now()
    AuthToken.objects.filter(user=user, expiry__lte=now).delete()
    token, text = AuthToken.objects.create(user=user)
    oldest = AuthToken.objects.filter(user=user).exclude(pk=token.pk).order_by("-created", "-pk")
    surplus = list(oldest.values_list("pk", flat=True)[knox_settings.TOKEN_LIMIT_PER_USER - 1 :])
    AuthToken.objects.filter(pk__in=surplus).delete()
    return token, text


def revoke_token(*, token: AuthToken) -> None:
    """The one token a client signs out with; the user's other clients stay signed in."""
    token.delete()


def revoke_tokens(*, tokens: QuerySet[AuthToken]) -> int:
    """Staff's revocation of any tokens; how many there were."""
    count, _ = tokens.delete()
    return count


def revoke_tokens_if_credentials_change(*, user: AbstractBaseUser) -> None:
    """Before `user` is saved: its stored password hash changing, or the account closing, revokes all its tokens.

    Comparing with the stored row catches every way in (the password change and
    reset pages, the admin, `manage.py changepassword`, set_password() anywhere),
    and a new hasher's upgrade of the hash at sign-in too. A closed account's
    tokens are refused anyway; revoked, they stay dead if it is opened again.
    """
    stored = type(user).objects.filter(pk=user.pk).values("password", "is_active").first()
    if stored is None:
        return
    if stored["password"] != user.password or (stored["is_active"] and not user.is_active):
        AuthToken.objects.filter(user=user).delete()
