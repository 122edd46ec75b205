"""Absolute links for emails: to the host a request came to, else SITE_URL.

An email written while serving a request links back to where that request was
served (the port `make run` uses, a second domain); one written elsewhere (the
worker, a management command) uses SITE_URL. The host was already checked against
ALLOWED_HOSTS by Django when the request was read.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

_request_origin: ContextVar[str | None] = ContextVar("request_origin", default=None)


def absolute_url(path: str) -> str:
    """`path` ("/referrals/…") as an absolute URL for an email."""
    return (_request_origin.get() or settings.SITE_URL).rstrip("/") + path


class RequestOriginMiddleware:
    """Remembers the request's scheme and host for `absolute_url` while the request is served."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request_origin.set(request.build_absolute_uri("/"))
        try:
            return self.get_response(request)
        finally:
            _request_origin.reset(token)
