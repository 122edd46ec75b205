"""Who the client is, how long a session lives, and what a locked-out client sees."""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable

from axes.attempts import get_cool_off_threshold
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import logout
from django.core.cache import cache
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from directory.errors import is_api, json_error

LOCKOUT_MESSAGE = (
    "Too many failed sign-in attempts. For your safety, sign-in is paused for {minutes} minutes; "
    "try again after that, or reset your password."
)


def client_ip(request: HttpRequest) -> str:
    """The client's address, trusting X-Forwarded-For only as far as TRUSTED_PROXY_COUNT proxies.

    Each trusted proxy appends the address it received the request from, so the
    client is the entry that many places from the right; anything further left
    was written by the client and may be forged. The same rule as DRF's NUM_PROXIES.
    """
    remote_address = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies == 0 or not forwarded:
        return remote_address
    addresses = [address.strip() for address in forwarded.split(",") if address.strip()]
    if not addresses:
        return remote_address
    return addresses[-min(proxies, len(addresses))]


def failure_limit(request: HttpRequest, credentials: dict | None = None) -> int:
    """django-axes' AXES_FAILURE_LIMIT: failures of this username from this address before a lockout.

    Axes counts per username and address (AXES_LOCKOUT_PARAMETERS) and takes one limit, so the
    address's own limit is folded in here: once AXES_ADDRESS_FAILURE_LIMIT failures came from the
    address within the cool-off, whatever the usernames, the limit is 0 and every username there
    is refused. Colleagues behind one office address are not locked out by a few of someone
    else's typos, and a success resets only its own username's count.
    """
    since = get_cool_off_threshold(request)
    failures = AccessAttempt.objects.filter(ip_address=request.axes_ip_address, attempt_time__gte=since).aggregate(
        total=Sum("failures_since_start")
    )["total"]
    if (failures or 0) >= settings.AXES_ADDRESS_FAILURE_LIMIT:
        return 0
    return settings.AXES_USERNAME_FAILURE_LIMIT


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """django-axes' answer to a locked-out client: JSON under /api/, a page elsewhere; always 429."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = LOCKOUT_MESSAGE.format(minutes=minutes)
    retry_after = int(settings.AXES_COOLOFF_TIME.total_seconds())
    if is_api(request):
        return json_error(message, status=429, retry_after=retry_after)
    response = render(request, "registration/locked_out.html", {"message": message}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def is_rate_limited(*, scope: str, key: str, limit: int, window: datetime.timedelta) -> bool:
    """Count one hit for `key`; True when `limit` hits were already counted within the last `window`.

    Each hit takes one of `limit` slots, held for `window`: taking a slot is the cache's add(),
    which is atomic in every backend (Redis SET NX, the database cache's primary key), where
    get-then-set incr() of the database cache would let simultaneous hits on two workers both pass.
    """
    seconds = int(window.total_seconds())
    return not any(cache.add(f"rate:{scope}:{key}:{slot}", 1, timeout=seconds) for slot in range(limit))


class AbsoluteSessionLimitMiddleware:
    """Signs a user out SESSION_ABSOLUTE_HOURS after sign-in, however active they are."""

    SESSION_KEY = "signed_in_at"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = timezone.now().timestamp()
            signed_in_at = request.session.setdefault(self.SESSION_KEY, now)
            if now - signed_in_at > settings.SESSION_ABSOLUTE_HOURS * 3600:
                # The view then sees an anonymous user: a page redirects to sign-in, the API answers 401.
                logout(request)
        return self.get_response(request)


class BodySizeLimitMiddleware:
    """An API body over DATA_UPLOAD_MAX_MEMORY_SIZE is a JSON 413 before anything reads it.

    DRF streams a JSON body straight into its parser, past Django's own limit
    (which guards only request.body and request.POST), so the limit is applied
    here from Content-Length; Django's request stream never reads past that length.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path in photo_upload_paths():
            # A photo may be PHOTO_MAX_BYTES; a body somewhat larger still reaches the rules, which name `photo`.
            limit = settings.PHOTO_UPLOAD_MAX_BODY
            message = f"The file is far too large: a photo may be at most {settings.PHOTO_MAX_BYTES // 1048576} MB."
        elif is_api(request) and settings.DATA_UPLOAD_MAX_MEMORY_SIZE is not None:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            message = f"The request body is larger than {limit // 1024} KB."
        else:  # a page's form: Django's own limit on request.POST applies
            return self.get_response(request)
        if declared_length(request) <= limit:
            return self.get_response(request)
        if is_api(request):
            return json_error(message, status=413)
        return render(request, "413.html", {"message": message}, status=413)


@functools.cache
def photo_upload_paths() -> frozenset[str]:
    """The page and the API that take a photo: the only bodies allowed past DATA_UPLOAD_MAX_MEMORY_SIZE."""
    return frozenset({reverse("api:my-profile-photo"), reverse("directory:my-photo")})


def declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
