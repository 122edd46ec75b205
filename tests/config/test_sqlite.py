"""The memory map a bulk pass turns off (config.sqlite), on a file database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from django.db import connection
from django.db.backends.sqlite3.base import DatabaseWrapper

from config import sqlite


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's memory map only")
def test_a_bulk_pass_reads_sqlite_without_the_memory_map_and_restores_it(tmp_path: Path) -> None:
    """Mapped pages would count in a roster import's or NPPES check's resident memory; searches keep the map.

    The test database lives in memory, which SQLite never maps: a file database stands in for it."""
    file_db = DatabaseWrapper({**connection.settings_dict, "NAME": str(tmp_path / "mapped.sqlite3")}, alias="mapped")
    file_db.ensure_connection()
    assert isinstance(file_db.connection, sqlite3.Connection)

    def mapped() -> int:
        with file_db.cursor() as cursor:
            cursor.execute("PRAGMA mmap_size")
            return int(cursor.fetchone()[0])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sqlite, "connection", file_db)
        before = mapped()
        with sqlite.file_not_mapped():
            during = mapped()
        after = mapped()
    file_db.close()
    assert before > 0 and during == 0 and after == before
