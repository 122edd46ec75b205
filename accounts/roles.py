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


def group_names(user: AbstractBaseUser | AnonymousUser) -> frozenset[str]:
    """The role groups of a user (none when signed out): one query, however many roles are asked about."""
    if not user.is_authenticated:
        return frozenset()
    return frozenset(user.groups.filter(name__in=[THERAPISTS_GROUP, REFERRERS_GROUP]).values_list("name", flat=True))


def therapist_profile(user: AbstractBaseUser | AnonymousUser, groups: frozenset[str] | None = None) -> Model | None:
    """The user's own `directory.Therapist` profile when the user is a therapist, else None.

    A therapist is signed in, in the group `therapists`, and linked to a profile;
    membership without a profile, or a profile without membership, is no role.
    `groups`, when the caller already read them (`group_names`), spares the query.
    """
    if THERAPISTS_GROUP not in (group_names(user) if groups is None else groups):
        return None
    try:
        return user.therapist_profile
    except ObjectDoesNotExist:
        return None


def is_therapist(user: AbstractBaseUser | AnonymousUser, groups: frozenset[str] | None = None) -> bool:
    return therapist_profile(user, groups) is not None


def is_referrer(user: AbstractBaseUser | AnonymousUser, groups: frozenset[str] | None = None) -> bool:
    """A physician's office approved by staff (group `referrers`)."""
    return REFERRERS_GROUP in (group_names(user) if groups is None else groups)
