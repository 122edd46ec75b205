"""/healthz and /readyz for load balancers and orchestrators.

Answered by the first middleware, before host validation, HTTPS redirects,
sessions and throttles: a probe from an internal address must not need a
public host name or count against anyone's limit. The answers say which
dependency failed, never why (no hosts, versions or error text).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from outbox.selectors import queue_is_reachable

logger = logging.getLogger(__name__)

CACHE_PROBE_KEY = "readyz:probe"


def database_answers() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


def cache_answers() -> bool:
    cache.set(CACHE_PROBE_KEY, "ok", timeout=10)
    return cache.get(CACHE_PROBE_KEY) == "ok"


READINESS_CHECKS: dict[str, Callable[[], bool]] = {
    "database": database_answers,
    "cache": cache_answers,
    "task_queue": queue_is_reachable,
}


def readiness() -> dict[str, bool]:
    """Each dependency by name: whether it answered just now."""
    results = {}
    for name, check in READINESS_CHECKS.items():
        try:
            results[name] = check()
        except Exception as error:  # any failure means "not ready"; the type is logged
            logger.warning("readiness check %s failed: %s", name, type(error).__name__)
            results[name] = False
    return results


def healthz() -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz() -> JsonResponse:
    checks = readiness()
    ready = all(checks.values())
    response = JsonResponse(
        {
            "status": "ok" if ready else "unavailable",
            "checks": {name: "ok" if up else "failing" for name, up in checks.items()},
        },
        status=200 if ready else 503,
    )
    if not ready:
        response["Retry-After"] = "10"
    return response


PROBES: dict[str, Callable[[], JsonResponse]] = {"/healthz": healthz, "/readyz": readyz}


class HealthCheckMiddleware:
    """Answers GET/HEAD /healthz and /readyz before any other middleware runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info.rstrip("/"))
        if probe is None or request.method not in {"GET", "HEAD"}:
            return self.get_response(request)
        response = probe()
        response["Cache-Control"] = "no-store"
        return response
