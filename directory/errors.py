"""The one shape of an error under /api/: {"errors": {"<field>": ["<message>"]}}.

A message about no field in particular (not found, not allowed, too many
requests, the server failed) is filed under `non_field_errors`, as DRF files a
body's own errors, and also kept as the top-level `detail` string that DRF
clients already read. Pages, outside /api/, keep their HTML.
"""

from __future__ import annotations

from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpRequest, JsonResponse

API_PREFIX = "/api/"
NON_FIELD = "non_field_errors"
# How long a client should wait before retrying when the database does not answer.
UNAVAILABLE_RETRY_SECONDS = 30


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def error_body(message: str) -> dict[str, object]:
    """The JSON of an error that names no field."""
    return {"errors": {NON_FIELD: [message]}, "detail": message}


def json_error(message: str, *, status: int, retry_after: int | None = None) -> JsonResponse:
    response = JsonResponse(error_body(message), status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def database_unreachable(exception: BaseException | None) -> bool:
    """A lost or refused connection, not a bad query: the connection itself no longer answers."""
    if isinstance(exception, InterfaceError):
        return True
    if not isinstance(exception, OperationalError):
        return False
    try:
        connection.ensure_connection()
        return not connection.is_usable()
    except DatabaseError:
        return True
