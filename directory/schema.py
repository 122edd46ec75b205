"""The OpenAPI schema: the answers every API view may give besides its own."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from rest_framework.permissions import AllowAny


class ApiSchema(AutoSchema):
    """Documents the error responses that the framework, not the view, produces.

    A role endpoint answers 401 to anonymous callers and 403 to the wrong role;
    a path with a parameter answers 404 (also when the value does not parse);
    a body that does not validate is a 400; a throttled call is a 429 with
    Retry-After. Responses a view declares itself win.
    """

    def _get_response_bodies(self, direction: str = "response") -> dict:
        bodies = super()._get_response_bodies(direction)
        for status_code, serializer in self._implied_responses().items():
            if status_code not in bodies:
                bodies[status_code] = self._get_response_for_code(serializer, status_code, direction=direction)
        return bodies

    def _implied_responses(self) -> dict[str, object]:
        # directory.api defines views, whose schema attribute imports this module: import it late.
        from directory.serializers import DetailSerializer, ErrorSerializer

        implied: dict[str, object] = {}
        if self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None:
            implied["400"] = ErrorSerializer
        if not all(isinstance(permission, AllowAny) for permission in self.view.get_permissions()):
            implied["401"] = DetailSerializer
            implied["403"] = DetailSerializer
        if "{" in self.path:
            implied["404"] = DetailSerializer
        if self.view.get_throttles():
            implied["429"] = DetailSerializer
        return implied
