"""The roster benchmark's generated file and its two imports, at 60 rows over the demo directory."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bench.roster import NPI_PREFIX, forget_imported, roster_rows, run_import, write_roster
from bench.run import parse_arguments
from directory.models import Therapist
from roster.services import HEADER

pytestmark = pytest.mark.django_db


def test_generated_rows_are_deterministic() -> None:
    assert list(roster_rows(20, seed=3)) == list(roster_rows(20, seed=3))


def test_the_generated_roster_imports_then_is_unchanged_then_is_forgotten(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    write_roster(path, rows=60)
    with path.open(newline="") as stream:
        assert next(csv.reader(stream)) == HEADER
    before = Therapist.objects.count()

    fresh = run_import(path)
    second = run_import(path)

    assert (fresh["created"], fresh["refused"], fresh["first_problems"]) == (60, 0, [])
    assert (
        fresh["rows_per_s"] > 0 and fresh["cpu_seconds"] > 0 and fresh["peak_rss_mb"] > 0 and fresh["peak_anon_mb"] > 0
    )
    assert (second["unchanged"], second["created"], second["updated"]) == (60, 0, 0)
    assert Therapist.objects.filter(npi__startswith=NPI_PREFIX, status=Therapist.Status.PUBLISHED).count() == 60
    assert forget_imported()["deleted"] == 60 and Therapist.objects.count() == before


def test_the_roster_measure_can_be_sized_or_skipped() -> None:
    assert parse_arguments(["--roster-rows", "500"]).roster_rows == 500
    assert parse_arguments(["--skip-roster"]).skip_roster
