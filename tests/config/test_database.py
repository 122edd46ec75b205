"""Database settings: PostgreSQL prepares repeated statements unless told not to (a pooler that cannot keep them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from directory.models import SearchEntry

pytestmark = pytest.mark.django_db

PRINT_OPTIONS = "import json; from config import settings as s; print(json.dumps(s.DATABASES['default']['OPTIONS']))"


def database_options(**environment: str) -> dict:
    """The default database's OPTIONS as the settings build them from this environment (no connection made)."""
    result = subprocess.run(
        [sys.executable, "-c", PRINT_OPTIONS],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **environment},
        capture_output=True, text=True, check=True, cwd=settings.BASE_DIR,
    )  # fmt: skip
    return json.loads(result.stdout)


def test_postgresql_binds_on_the_server_and_prepares_unless_switched_off() -> None:
    url = "postgres://user@db.example:5432/ipt?sslmode=require"
    options = database_options(DATABASE_URL=url, DATABASE_PREPARED_STATEMENTS="")
    assert options["server_side_binding"] is True and options["prepare_threshold"] == 1
    assert options["sslmode"] == "require"  # the URL's own options are kept
    options = database_options(DATABASE_URL=url, DATABASE_PREPARED_STATEMENTS="false")
    assert "server_side_binding" not in options and "prepare_threshold" not in options


@pytest.mark.skipif(
    connection.vendor != "postgresql" or not connection.settings_dict["OPTIONS"].get("prepare_threshold"),
    reason="PostgreSQL with prepared statements on (the test above checks when they are)",
)
def test_a_search_run_twice_on_a_connection_is_prepared_by_postgresql() -> None:
    def prepared() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%searchentry%"])
            return cursor.fetchone()[0]

    before = prepared()
    for _ in range(2):
        list(SearchEntry.objects.profiles().licensed_in("NY").values_list("therapist_id", flat=True)[:5])
    assert prepared() == before + 1
