"""Template context every page needs: the signed-in user's roles, for the navigation."""

from __future__ import annotations

from django.http import HttpRequest

from directory.services import REFERRERS_GROUP, THERAPISTS_GROUP


def roles(request: HttpRequest) -> dict[str, bool]:
    user = request.user
    if not user.is_authenticated:
        return {"is_referrer": False, "is_therapist": False}
    names = {group.name for group in user.groups.all()}
    return {"is_referrer": REFERRERS_GROUP in names, "is_therapist": THERAPISTS_GROUP in names}
