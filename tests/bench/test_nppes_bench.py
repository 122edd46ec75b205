"""The NPPES benchmark's synthetic file and its check, at 2,000 rows over the demo directory."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bench.nppes import listed_rows, run_check, write_synthetic_file
from directory.models import Therapist
from registry.nppes import HEADER

pytestmark = pytest.mark.django_db


def test_synthetic_file_has_every_mismatch_kind_and_the_check_finds_them(tmp_path: Path) -> None:
    listed = listed_rows()
    path = tmp_path / "nppes.csv"

    counts = write_synthetic_file(path, rows=2000, listed=listed)

    with path.open(newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == HEADER and len(rows) == 2001 and all(len(row) == 330 for row in rows)
    assert counts["unlisted"] == 2000 - len(listed) + counts["not-found"]
    assert all(counts[kind] > 0 for kind in ("last-name", "postal-code", "licence", "deactivated", "not-found"))

    figures = run_check(path)

    assert figures["rows_read"] == 2000 and figures["peak_rss_mb"] > 0
    found = figures["findings"]
    for kind in ("not-found", "last-name", "deactivated"):
        assert found[kind] == counts[kind], kind
    # A listing without offices (online only) has no ZIP to differ; one with several licences differs in each.
    assert 0 < found["postal-code"] <= counts["postal-code"] and found["licence"] >= counts["licence"] // 2
    assert figures["providers_kept"] > 0
    # Report-only: the directory is as it was.
    assert not Therapist.objects.filter(status=Therapist.Status.SUSPENDED).exists()
