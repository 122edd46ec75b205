"""The API's throttles (REST_FRAMEWORK's DEFAULT_THROTTLE_CLASSES), counted in the shared cache.

Anonymous calls count per client address, as django-axes sees it (security.client_ip);
signed-in calls per user. A view may name a tighter scope of its own (`throttle_scope`),
counted on its POSTs: creating a referral, ranking a need, asking for a token or a consultation.
Rates come from settings.THROTTLE_RATES when a request arrives; None means no limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, SimpleRateThrottle

from directory.security import client_ip

if TYPE_CHECKING:  # rest_framework.views imports this module, through DEFAULT_THROTTLE_CLASSES
    from rest_framework.request import Request
    from rest_framework.views import APIView


class RateFromSettings(SimpleRateThrottle):
    """DRF reads its rates once, at import; these read them per request, so a changed setting applies."""

    def get_rate(self) -> str | None:
        return settings.THROTTLE_RATES[self.scope]

    def get_ident(self, request: Request) -> str:
        return client_ip(request)

    def wait(self) -> float:
        # DRF gives no estimate when more calls were counted than the rate now allows (a lowered rate,
        # or two workers that let one through at once); Retry-After then names when the oldest one leaves.
        estimate = super().wait()
        return estimate if estimate is not None else self.duration - (self.now - self.history[-1])


class AnonymousThrottle(RateFromSettings, AnonRateThrottle):
    """THROTTLE_RATES["anon"] per client address, for callers who are not signed in."""

    scope = "anon"


class SignedInThrottle(RateFromSettings):
    """THROTTLE_RATES["user"] per signed-in user; anonymous callers count against AnonymousThrottle only."""

    scope = "user"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class ScopedThrottle(RateFromSettings, ScopedRateThrottle):
    """THROTTLE_RATES[view.throttle_scope] for the view's POSTs, per user or, anonymous, per address."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        if request.method != "POST":
            return True
        return super().allow_request(request, view)
