"""DRF permissions, one per role of accounts.roles: anonymous callers get 401, the wrong role 403.

DRF answers 401 by itself when the caller is not signed in (TokenAuthentication
names its scheme in WWW-Authenticate); a signed-in caller refused here gets 403.
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts import roles


class IsTherapist(BasePermission):
    message = "Only therapists with a profile can do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return roles.is_therapist(request.user)


class IsReferrer(BasePermission):
    message = "Only referrers (physicians' offices) can do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return roles.is_referrer(request.user)
