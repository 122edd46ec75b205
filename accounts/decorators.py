"""Page decorators, one per role of accounts.roles: anonymous visitors go to the login page, the wrong role gets 403."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from accounts import roles


def therapist_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in as a therapist with a profile; the view receives that profile after the request."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        therapist = roles.therapist_profile(request.user)
        if therapist is None:
            raise PermissionDenied("This page is for therapists with a profile.")
        return view(request, therapist, *args, **kwargs)

    return wrapper


def referrer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in as a referrer (a physician's office)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not roles.is_referrer(request.user):
            raise PermissionDenied("This page is for referrers.")
        return view(request, *args, **kwargs)

    return wrapper
