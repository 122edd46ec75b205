"""The benchmark harness at N=500: it builds, measures and reports (no timing is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from bench.generate import LARGEST_METROS, national_records, national_regions
from bench.load import checkpoint, load_national_directory
from bench.run import (
    REQUIRED_KEYS,
    SEARCHES,
    TYPICAL,
    cpu_per_request,
    parse_arguments,
    run_benchmark,
    steal_percent,
)
from directory.models import Office, Therapist


def test_regions_weight_metros_by_population_and_keep_a_rural_remainder() -> None:
    regions = national_regions()
    metros, rural = regions[: len(LARGEST_METROS)], regions[len(LARGEST_METROS) :]
    assert metros[0].metro.name == "New York" and "11215" in metros[0].metro.postal_codes
    assert all(region.metro.postal_codes for region in regions)
    assert 0.35 < sum(region.population for region in rural) / sum(region.population for region in regions) < 0.5


def test_generated_records_are_deterministic() -> None:
    assert list(national_records(20, seed=7)) == list(national_records(20, seed=7))


@pytest.mark.django_db
def test_harness_measures_a_small_directory(tmp_path: Path) -> None:
    assert load_national_directory(national_records(500), now=timezone.now()) == 500
    assert Therapist.objects.count() == 500
    assert not Office.objects.filter(latitude__isnull=True).exists()
    assert not Therapist.objects.filter(listing_card="").exists()

    results = run_benchmark(count=500, results_dir=tmp_path, warmup=1, repetitions=3, throughput_seconds=0)

    assert set(REQUIRED_KEYS) <= set(results)
    assert results["therapists"] == 500
    assert set(results["queries"]) == set(SEARCHES)
    assert all(figures["status"] == 200 for figures in results["queries"].values())
    assert results["queries_per_search"] <= 3
    # The data floor fetches the very page the API returns for the typical search.
    assert results["floors"]["floor_sql_ids"] == results["queries"][TYPICAL]["page_ids"]
    assert results["match_p95_ms"] is None or results["match_p95_ms"] > 0
    assert results["fhir_practitionerrole_p95_ms"] > 0
    assert results["fhir"]["first_page"]["entries"] == 100 and results["fhir"]["middle_page"]["entries"] > 0
    # Five queries a page; a specialty search lists the credential texts first (interop.plannet.selectors).
    assert all(
        figures["status"] == 200 and figures["sql_queries"] <= (6 if name == "specialty" else 5)
        for name, figures in results["fhir"].items()
    )
    assert results["cpu_probe_ms"]["start"] > 0 and results["cpu_probe_ms"]["end"] > 0
    # The HSDS export: pages of 100 services, at the start and in the middle, flat and fully nested.
    assert (
        results["hsds_services_p95_ms"] > 0
        and results["hsds"]["hsds_total_items"] == results["queries"]["deep_page"]["count"]
    )
    assert {page["status"] for page in results["hsds"]["hsds_pages"].values()} == {200}
    assert {page["size"] for page in results["hsds"]["hsds_pages"].values()} == {100}
    written = json.loads((tmp_path / f"{results['database']}-500.json").read_text())
    assert written["search_p50_ms"] == results["search_p50_ms"]
    assert f"| {results['database']} | 500 |" in (tmp_path / "README.md").read_text()


def test_make_bench_runs_end_to_end_with_gunicorn(tmp_path: Path) -> None:
    """`python -m bench` as `make bench` runs it, on a throw-away SQLite file, serving on 127.0.0.1."""
    environment = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    # The NPPES check and the roster import at a hundredth of their size: what they do at full size is
    # `make bench`'s to measure, not the suite's (at 100,000 rows the roster alone takes minutes).
    command = [sys.executable, "-m", "bench", "--count", "500", "--warmup", "1", "--repetitions", "2",
               "--throughput-seconds", "1", "--nppes-rows", "10000", "--roster-rows", "1000",
               "--data-dir", str(tmp_path / "data"), "--results-dir", str(tmp_path)]  # fmt: skip
    finished = subprocess.run(
        command, cwd=settings.BASE_DIR, env=environment, capture_output=True, text=True, timeout=600, check=False
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    results = json.loads((tmp_path / "sqlite-500.json").read_text())
    assert results["therapists"] == 500
    assert results["search_rps"] > 0
    assert results["throughput"]["non_2xx"] == 0
    assert results["worker_rss_max_mb"] is None or results["worker_rss_max_mb"] > 0
    assert results["roster"]["rows"] == 1000 and results["nppes"]["nppes_rows"] == 10000
    # The median of three runs against the same server, each run kept.
    rates = sorted(run["search_rps"] for run in results["throughput"]["runs"])
    assert len(rates) == 3 and results["search_rps"] == rates[1]
    # Where the CPU went during the load: SQLite runs inside the gunicorn workers.
    spent = results["throughput"]["cpu_ms_per_request"]
    assert spent is None or spent["web"] > 0


def test_throughput_needs_at_least_one_run() -> None:
    with pytest.raises(SystemExit):
        parse_arguments(["--throughput-rounds", "0"])
    assert parse_arguments([]).throughput_rounds == 3


@pytest.mark.django_db
def test_a_postgresql_load_ends_with_its_pages_written() -> None:
    """The load's CHECKPOINT: the measurements then do not run beside a checkpoint spread over minutes."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no checkpoint to wait for (its writes are done when the transaction commits)")

    def checkpoint_position() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT checkpoint_lsn FROM pg_control_checkpoint()")
            return cursor.fetchone()[0]

    before = checkpoint_position()
    with connection.cursor() as cursor:
        checkpoint(cursor)
    assert checkpoint_position() != before


def test_cpu_steal_is_the_share_of_time_given_to_other_guests() -> None:
    before = [100, 0, 50, 800, 0, 0, 0, 50]
    after = [200, 0, 100, 1500, 0, 0, 0, 200]  # 150 of 1,000 ticks stolen
    assert steal_percent(before, after) == 15.0
    assert steal_percent(None, after) is None


def test_cpu_per_request_splits_the_load_by_role() -> None:
    before = ({"web": 10.0, "database": 4.0}, 1.0)
    after = ({"web": 16.0, "database": 7.0}, 1.5)  # 1,000 requests
    assert cpu_per_request(before, after, 1000, wrk=True) == {"web": 6.0, "database": 3.0, "load_generator": 0.5}
    assert cpu_per_request(before, after, 1000, wrk=False) == {"web": 6.0, "database": 3.0}
    assert cpu_per_request((None, 1.0), after, 1000, wrk=True) is None
    assert cpu_per_request(before, after, 0, wrk=True) is None
