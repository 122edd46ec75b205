"""A backup made as docs/operations.md says restores into a fresh database with the same referrals and search.

Each database's own tools, run as an operator would: SQLite's online backup on
the SQLite pass, pg_dump and pg_restore on the PostgreSQL pass; then the
documented rebuild of the search index. The test database of the run only
tells which pass this is: the directory backed up is a demo one made here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent

# What a restore must bring back: referrals with their history and offers, the PHI-access log, accounts, and search.
SNAPSHOT = """
import json
import django
django.setup()
from django.contrib.auth.models import User
from django.test import Client
from matching.models import Offer, PHIAccess, Referral, ReferralEvent
search = Client().get("/api/therapists/", {"near": "11215", "radius": "25", "page_size": "50"}).json()
print(json.dumps({
    "referrals": sorted([str(pk), status] for pk, status in Referral.objects.values_list("pk", "status")),
    "events": ReferralEvent.objects.count(),
    "offers": sorted([str(r), t, s] for r, t, s in Offer.objects.values_list("referral_id", "therapist_id", "status")),
    "phi_reads": PHIAccess.objects.count(),
    "users": sorted(User.objects.values_list("username", flat=True)),
    "search_count": search["count"],
    "search_ids": [result["id"] for result in search["results"]],
}))
"""


def manage(database_url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings",
           "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}  # fmt: skip
    command = [sys.executable, *args] if args[0] == "-c" else [sys.executable, "manage.py", *args]
    return subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, text=True)


def build_directory(database_url: str) -> dict:
    """A demo directory with a referral offered and its history; its snapshot."""
    manage(database_url, "migrate", "--noinput", "--verbosity", "0")
    manage(database_url, "load_demo")
    manage(database_url, "offer_demo_referral", "--referrer", "referrer1", "--therapist", "therapist1")
    return snapshot(database_url)


def snapshot(database_url: str) -> dict:
    return json.loads(manage(database_url, "-c", SNAPSHOT))


def restore_and_snapshot(database_url: str) -> dict:
    """What docs/operations.md says to run after a restore: migrations (none to apply) and the index rebuild."""
    manage(database_url, "migrate", "--noinput", "--verbosity", "0")
    manage(database_url, "refresh_listings")
    return snapshot(database_url)


@pytest.mark.django_db
def test_an_sqlite_online_backup_restores_the_same_directory(tmp_path: Path) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite backup is proven on the SQLite pass")
    live, backup = tmp_path / "db.sqlite3", tmp_path / "backup.sqlite3"
    before = build_directory(f"sqlite:///{live}")
    assert before["referrals"] and before["offers"] and before["search_count"] > 0
    # docs/operations.md: the online backup, safe while the server writes.
    code = f"import sqlite3; sqlite3.connect({str(live)!r}).backup(sqlite3.connect({str(backup)!r}))"
    run(sys.executable, "-c", code)
    live.unlink()  # the disk is lost
    restored = tmp_path / "restored.sqlite3"
    backup.rename(restored)
    assert restore_and_snapshot(f"sqlite:///{restored}") == before


@pytest.fixture
def postgres_databases(db: None) -> Iterator[tuple[str, str]]:
    """Two scratch databases on the server the PostgreSQL pass uses: the live one and a fresh one to restore into."""
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump and pg_restore are proven on the PostgreSQL pass")
    server = settings.DATABASES["default"]
    base = f"postgres://{server['USER']}@{server['HOST'] or '127.0.0.1'}:{server['PORT'] or 5432}"
    names = [f"backup_live_{uuid.uuid4().hex[:8]}", f"backup_restored_{uuid.uuid4().hex[:8]}"]
    for name in names:
        run("psql", f"{base}/postgres", "-qc", f'CREATE DATABASE "{name}"')
    yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    for name in names:
        run("psql", f"{base}/postgres", "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_pg_dump_restores_into_a_fresh_database(tmp_path: Path, postgres_databases: tuple[str, str]) -> None:
    live, fresh = postgres_databases
    before = build_directory(live)
    dump = tmp_path / "directory.dump"
    run("pg_dump", "--format=custom", "--no-owner", f"--file={dump}", live)
    run("pg_restore", "--no-owner", "--exit-on-error", f"--dbname={fresh}", str(dump))
    assert restore_and_snapshot(fresh) == before
