"""SQLite connection settings that a bulk pass changes for its own duration (config/settings.py sets them)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def file_not_mapped() -> Iterator[None]:
    """On SQLite, no memory map of the database file for a bulk pass (the setting restored after).

    The settings map up to 1 GB of the file for searches; a pass over most of the file (a roster import,
    the NPPES check) would count the mapped pages in its resident memory (700 MB at 100,000 rows against
    230 MB of the import's own), which the 64 MB page cache bounds without the map."""
    mapped = mmap_size()
    if not mapped:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA mmap_size=0")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA mmap_size={mapped}")


def mmap_size() -> int:
    """How much of the database file SQLite maps; 0 on PostgreSQL and for a database in memory (no row)."""
    if connection.vendor != "sqlite":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA mmap_size")
        row = cursor.fetchone()
    return int(row[0]) if row else 0
