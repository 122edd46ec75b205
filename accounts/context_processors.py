"""Template context every page needs: the signed-in user's roles, for the navigation."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.roles import group_names, is_referrer, is_therapist


def roles(request: HttpRequest) -> dict[str, bool]:
    groups = group_names(request.user)  # read once for both questions
    return {"is_referrer": is_referrer(request.user, groups), "is_therapist": is_therapist(request.user, groups)}
