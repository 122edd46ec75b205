"""The cursor a page near a place is read with: on PostgreSQL, its statements are prepared and planned once.

A page near a place is read by statements whose plan the indexes decide
whatever their parameters (the coordinates index read in its strips, then a
group and a sort of the entries read). Planned anew for every search, they
spent a fifth to a quarter of the database's time per search planning. On
PostgreSQL they are prepared on a connection's first use of each (psycopg's
`prepare=True`), and `plan_generically` has PostgreSQL keep one generic plan
for a prepared statement rather than plan it for each call's values. Only
these statements are prepared: every other query, matching's included, is
planned for its own values as Django plans it (a generic plan doubled the free
text search, whose partial word index it cannot use).
`SEARCH_PREPARED_STATEMENTS=false` turns this off, for a connection pooler
that cannot keep prepared statements.
"""

from __future__ import annotations

import functools
import itertools
import re
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper


def prepares(database: BaseDatabaseWrapper) -> bool:
    """Whether the search prepares its statements on this database connection."""
    return database.vendor == "postgresql" and settings.SEARCH_PREPARED_STATEMENTS


def cursor() -> CursorWrapper:
    """A cursor of the default connection whose statements are prepared where `prepares` says; else Django's own.

    Wrapped as Django wraps its cursors, so the statements are logged and
    counted (`CaptureQueriesContext`) like any other query.
    """
    if not prepares(connection):
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    prepared = PreparedCursor(connection.connection)
    return LoggedPreparedCursor(prepared, connection) if connection.queries_logged else connection.make_cursor(prepared)


def plan_generically(sender: type, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """`connection_created` receiver: the connection prepares what `cursor()` asks, and keeps one generic plan of each.

    psycopg prepares nothing while its `prepare_threshold` is None (Django's
    default); with a threshold it prepares a statement executed that many
    times by a server-binding cursor, or at once when asked. Django's own
    cursors bind on the client, which psycopg never prepares, so only
    `cursor()`'s statements are prepared; the threshold is out of reach for
    any other server-binding cursor.
    """
    if prepares(connection):
        connection.connection.prepare_threshold = ONLY_WHEN_ASKED
        with connection.cursor() as created:
            created.execute("SET plan_cache_mode = force_generic_plan")


ONLY_WHEN_ASKED = 2**31 - 1
# The statement texts whose numbered placeholders a process keeps (`numbered`), the most recently used.
STATEMENTS_KEPT = 512
PLACEHOLDER = re.compile("%%|%s")


class PreparedCursor(psycopg.RawCursor):
    """psycopg's server-binding cursor, preparing every statement it executes, given Django's `%s` placeholders.

    psycopg rewrites `%s` as PostgreSQL's `$1`, `$2`, … with a regular
    expression, and keeps the result only for statements under 4 KB; a page
    near a place is longer, and the rewriting took a tenth of the workers'
    time per search. Rewritten here once per statement text (`numbered`), it
    runs as psycopg's raw cursor runs `$n` statements.
    """

    def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None, **kwargs: Any) -> Any:
        return super().execute(numbered(query), params, prepare=True, **kwargs)


@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def numbered(query: str) -> str:
    """Django's SQL with its `%s` placeholders numbered as PostgreSQL's `$1`, `$2`, … (and `%%` a literal `%`)."""
    numbers = itertools.count(1)
    return PLACEHOLDER.sub(lambda found: "%" if found[0] == "%%" else f"${next(numbers)}", query)


class LoggedPreparedCursor(CursorDebugWrapper):
    """Django's logging cursor for a `PreparedCursor`: a statement is logged with its values in place.

    psycopg keeps no text of a prepared statement's run, where Django reads
    the text of a query it logs; composed here, it reads as any other query.
    """

    def execute(self, sql: str, params: Any = None) -> Any:
        with self.debug_sql(self.db.ops.compose_sql(sql, params), params):
            return CursorWrapper.execute(self, sql, params)
