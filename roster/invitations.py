"""Invitations to claim an imported profile: a signed, expiring link by email, then an account of one's own.

An imported therapist has a profile and no account (Therapist.user is None). The link
names the profile by its public id and carries the time it was signed
(django.core.signing, salted): it lasts INVITATION_DAYS and dies as soon as the profile
has an account, so it is used once. Nothing is stored but a log of what was sent.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.roles import THERAPISTS_GROUP
from directory import profiles
from directory.models import Therapist
from outbox.links import absolute_url
from roster.models import Invitation

SALT = "roster.invitation"


class InvitationError(Exception):
    """A link that cannot be used: `reason` is "invalid" (tampered, truncated), "expired" or "claimed"."""

    def __init__(self, reason: str, *, therapist: Therapist | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.therapist = therapist


class _ClockedSigner(signing.TimestampSigner):
    """A TimestampSigner that signs at the time it is given, not the machine's clock."""

    def __init__(self, *, now: datetime.datetime) -> None:
        super().__init__(salt=SALT)
        self.now = now

    def timestamp(self) -> str:
        return signing.b62_encode(int(self.now.timestamp()))


def validity() -> datetime.timedelta:
    return datetime.timedelta(days=settings.INVITATION_DAYS)


def make_token(*, therapist: Therapist, now: datetime.datetime) -> str:
    return _ClockedSigner(now=now).sign(str(therapist.public_id))


def read_token(token: str, *, now: datetime.datetime) -> Therapist:
    """The unclaimed profile the link names; InvitationError says why it cannot be used."""
    signer = _ClockedSigner(now=now)
    try:
        value, stamp = signing.Signer.unsign(signer, token).rsplit(signer.sep, 1)
        signed_at = datetime.datetime.fromtimestamp(signing.b62_decode(stamp), tz=datetime.UTC)
        therapist = Therapist.objects.select_related("user").get(public_id=value)
    except (signing.BadSignature, ValueError, Therapist.DoesNotExist) as error:
        raise InvitationError("invalid") from error
    if therapist.user_id is not None:
        raise InvitationError("claimed", therapist=therapist)
    if now - signed_at > validity():
        raise InvitationError("expired", therapist=therapist)
    return therapist


def claim_link(*, therapist: Therapist, now: datetime.datetime) -> str:
    return absolute_url(reverse("roster:claim", kwargs={"token": make_token(therapist=therapist, now=now)}))


@transaction.atomic
def send_invitation(*, therapist: Therapist, now: datetime.datetime, sent_by: AbstractBaseUser | None = None) -> bool:
    """Email the therapist a link to claim their profile; False (nothing sent) when it has no
    email address or already has an account."""
    if therapist.user_id is not None or not therapist.email:
        return False
    expires_at = now + validity()
    until = timezone.localtime(expires_at)
    body = (
        f"Hello {therapist.full_name},\n\n"
        "Your profile has been added to the IPT Directory. Claim it to keep it true: choose a username\n"
        "and a password, then check your formats, insurance, offices and availability.\n\n"
        f"Claim your profile: {claim_link(therapist=therapist, now=now)}\n\n"
        f"The link works once, until {until:%B} {until.day}, {until.year}. If it has expired, reply to this\n"
        "email and staff will send a new one. If you did not expect this, you can ignore it.\n"
    )
    send_mail("[IPT Directory] Claim your profile", body, None, [therapist.email])
    Invitation.objects.create(therapist=therapist, email=therapist.email, sent_at=now, expires_at=expires_at,
                              sent_by=sent_by)  # fmt: skip
    return True


@dataclass(frozen=True)
class InvitationCounts:
    sent: int
    without_email: int
    claimed: int


def send_invitations(
    *, therapists: Iterable[Therapist], now: datetime.datetime, sent_by: AbstractBaseUser | None = None
) -> InvitationCounts:
    """Invite each unclaimed therapist with an email address; how many were sent and skipped, and why."""
    sent = without_email = claimed = 0
    for therapist in therapists:
        if therapist.user_id is not None:
            claimed += 1
        elif send_invitation(therapist=therapist, now=now, sent_by=sent_by):
            sent += 1
        else:
            without_email += 1
    return InvitationCounts(sent=sent, without_email=without_email, claimed=claimed)


@transaction.atomic
def claim_profile(*, token: str, username: str, password: str, now: datetime.datetime) -> AbstractBaseUser:
    """The therapist's new account (group `therapists`), linked to the profile the link names.

    The profile's row is locked, so two tabs posting the same link make one account;
    the second gets InvitationError("claimed"). The form has already checked the
    username and the password rules.
    """
    therapist = read_token(token, now=now)
    therapist = Therapist.objects.select_for_update().get(pk=therapist.pk)
    if therapist.user_id is not None:
        raise InvitationError("claimed", therapist=therapist)
    user = get_user_model().objects.create_user(
        username=username, email=therapist.email, password=password,
        first_name=therapist.first_name, last_name=therapist.last_name,
    )  # fmt: skip
    user.groups.add(Group.objects.get(name=THERAPISTS_GROUP))
    profiles.link_account(user=user, npi=therapist.npi)
    return user
