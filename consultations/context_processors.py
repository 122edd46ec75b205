"""Template context for the navigation: how many offers and consultation requests wait for a therapist's answer."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.http import HttpRequest

from consultations import selectors


def inbox(request: HttpRequest) -> dict[str, Callable[[], int]]:
    """`inbox_waiting`, counted only when a template reads it: base.html does so for therapists alone.

    Anonymous visitors get nothing (no query); for a therapist the count costs two COUNTs, once per page.
    """
    user = request.user
    if not user.is_authenticated:
        return {}

    @cache
    def waiting() -> int:
        return selectors.waiting_for(user)

    # A template calls a callable it reads; the cache makes a second read free.
    return {"inbox_waiting": waiting}
