"""The two roles of the public contract (docs/api.md), defined once: who is a therapist, who is a referrer.

A role is a Django group (created by the data migration directory/0002_groups).
A therapist is a member of `therapists` with a linked profile: the API, the pages
and the navigation all ask here, so none of them can admit a user another refuses.
Staff (`is_staff`) moderate in the admin; being staff grants neither role.

This module reads the profile through the user's reverse accessor
(`Therapist.user`'s related_name) and imports neither directory nor matching,
so both can import it.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model

THERAPISTS_GROUP = "therapists"
REFERRERS_GROUP = "referrers"


def _in_group(user: AbstractBaseUser | AnonymousUser, group: str) -> bool:
    return user.is_authenticated and user.groups.filter(name=group).exists()


def therapist_profile(user: AbstractBaseUser | AnonymousUser) -> Model | None:
    """The user's own `directory.Therapist` profile when the user is a therapist, else None.

    A therapist is signed in, in the group `therapists`, and linked to a profile;
    membership without a profile, or a profile without membership, is no role.
    """
    if not _in_group(user, THERAPISTS_GROUP):
        return None
    try:
        return user.therapist_profile
    except ObjectDoesNotExist:
        return None


def is_therapist(user: AbstractBaseUser | AnonymousUser) -> bool:
    return therapist_profile(user) is not None


def is_referrer(user: AbstractBaseUser | AnonymousUser) -> bool:
    """A physician's office approved by staff (group `referrers`)."""
    return _in_group(user, REFERRERS_GROUP)
