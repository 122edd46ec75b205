"""The NPPES check at scale: a synthetic NPPES-layout file of 1,000,000 rows checked against the loaded directory.

The file holds a row for every checked listing (most matching it; every 40th differs in one way: last
name, practice ZIP, licence number, or a deactivated NPI; every 40th is left out, so "not found"),
then unlisted providers up to the row count, a tenth of them behavioural health. It is written once
into the bench data directory and reused while the directory has the same listings.

The check runs in a subprocess (`python -m bench.nppes FILE`) in report-only mode: it suspends and
emails nobody, so the directory the other measures read stays as it was; it records its run and
findings, and keeps the behavioural-health providers (registry tables). The subprocess reports its
own peak resident memory (getrusage), so the figure is the check's alone.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from bench.memory import AnonymousMemory, peak_rss_mb

ROOT = Path(__file__).resolve().parent.parent
ROWS = 1_000_000
MISMATCH_EVERY = 40  # one listing in 40 of each kind
UNLISTED_TAXONOMIES = ["207Q00000X", "363LF0000X", "225100000X", "122300000X", "183500000X", "207R00000X",
                       "152W00000X", "111N00000X", "101YM0800X"]  # fmt: skip
LISTED_KINDS = ["match", "not-found", "last-name", "postal-code", "licence", "deactivated"]
BEHAVIOURAL = ["1041C0700X", "101YM0800X", "103T00000X", "106H00000X", "2084P0800X"]


def listed_rows() -> list[tuple[str, str, str, list[tuple[str, str]]]]:
    """(NPI, last name, first office ZIP, licences) of every checked listing, in NPI order."""
    from registry.selectors import checked_listings, checked_npis
    from registry.services import LISTING_BATCH

    npis = checked_npis()
    ordered, rows = sorted(npis), []
    for start in range(0, len(ordered), LISTING_BATCH):
        listings = checked_listings({npi: npis[npi] for npi in ordered[start : start + LISTING_BATCH]})
        rows.extend(
            (npi, listing.last_name, (listing.postal_codes or ("10001",))[0][:5], list(listing.licences))
            for npi, listing in sorted(listings.items())
        )
    return rows


def _npi(prefix: str) -> str:
    from directory.models import npi_check_digit

    return prefix + str(npi_check_digit(prefix))


def write_synthetic_file(path: Path, *, rows: int, listed: list[tuple[str, str, str, list[tuple[str, str]]]]) -> dict:
    """Write the file (see the module's docstring); how many rows of each kind it holds."""
    from registry.nppes import COLUMN_INDEX, HEADER, LICENCE_COLUMNS, TAXONOMY_COLUMNS

    column = COLUMN_INDEX
    practice = "Provider Business Practice Location Address"
    npi_at, entity_at, last_at, first_at = (column[name] for name in (
        "NPI", "Entity Type Code", "Provider Last Name (Legal Name)", "Provider First Name"))  # fmt: skip
    address_at, city_at = (
        column["Provider First Line Business Practice Location Address"],
        column[f"{practice} City Name"],
    )
    state_at, zip_at = column[f"{practice} State Name"], column[f"{practice} Postal Code"]
    phone_at, deactivated_at = column[f"{practice} Telephone Number"], column["NPI Deactivation Date"]
    taxonomy_at = [column[name] for name in TAXONOMY_COLUMNS]
    licence_at = [(column[number], column[state]) for number, state in LICENCE_COLUMNS]
    blank = [""] * len(HEADER)
    counts: dict[str, int] = defaultdict(int)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(HEADER)
        written = 0
        for index, (npi, last_name, postal_code, licences) in enumerate(listed):
            kind = LISTED_KINDS[index % MISMATCH_EVERY] if index % MISMATCH_EVERY < len(LISTED_KINDS) else "match"
            counts[kind] += 1
            if kind == "not-found" or written >= rows:
                continue
            row = blank[:]
            row[npi_at] = npi
            if kind == "deactivated":
                row[deactivated_at] = "03/01/2025"
            else:
                row[entity_at], row[first_at], row[taxonomy_at[0]] = "1", "PAT", "1041C0700X"
                row[last_at] = "SOMEONE-ELSE" if kind == "last-name" else last_name.upper()
                row[address_at], row[city_at], row[state_at] = "1 MAIN ST", "ANYTOWN", "NY"
                row[zip_at] = ("99501" if kind == "postal-code" else postal_code) + "0000"
                row[phone_at] = "2125550100"
                for slot, (state, number) in enumerate(licences[:15]):
                    row[licence_at[slot][0]] = f"{number}9" if kind == "licence" else number
                    row[licence_at[slot][1]] = state
            writer.writerow(row)
            written += 1
        serial = 0
        while written < rows:
            serial += 1
            row = blank[:]
            row[npi_at], row[entity_at] = _npi(f"2{serial:08d}"), "1"
            row[last_at], row[first_at] = f"PROVIDER{serial % 9973}", "ALEX"
            row[taxonomy_at[0]] = BEHAVIOURAL[serial % 5] if serial % 10 == 0 else UNLISTED_TAXONOMIES[serial % 8]
            row[licence_at[0][0]], row[licence_at[0][1]] = f"{serial:07d}", "CA"
            row[address_at], row[city_at], row[state_at], row[zip_at] = "2 MAIN ST", "LOS ANGELES", "CA", "900120000"
            writer.writerow(row)
            written += 1
            counts["unlisted"] += 1
    partial.rename(path)
    return dict(counts)


def synthetic_file(data_dir: Path, *, rows: int = ROWS) -> tuple[Path, dict]:
    """The file for the loaded directory, written unless one for the same listings is there already."""
    listed = listed_rows()
    fingerprint = hashlib.sha256(repr([row[:3] for row in listed]).encode()).hexdigest()[:12]
    path = data_dir / f"nppes-{rows}-{fingerprint}.csv"
    if path.exists():
        return path, {"written": "reused"}
    started = time.perf_counter()
    counts = write_synthetic_file(path, rows=rows, listed=listed)
    return path, {"generate_seconds": round(time.perf_counter() - started, 1), **counts}


def measure_nppes(*, data_dir: Path, rows: int = ROWS) -> dict[str, object]:
    """Generate (or reuse) the file, run the check in a subprocess; rows per second, seconds and peak memory."""
    path, generated = synthetic_file(data_dir, rows=rows)
    completed = subprocess.run(
        [sys.executable, "-m", "bench.nppes", str(path)], cwd=ROOT, capture_output=True, text=True, check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
    )  # fmt: skip
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    return {
        "nppes_rows_per_s": round(figures["rows_read"] / figures["seconds"]),
        "nppes_seconds": round(figures["seconds"], 1),
        "nppes_peak_rss_mb": figures["peak_rss_mb"],
        "nppes_peak_anon_mb": figures["peak_anon_mb"],
        "nppes_rows": figures["rows_read"],
        "nppes_findings": figures["findings"],
        "nppes_providers_kept": figures["providers_kept"],
        "nppes_file_mb": round(path.stat().st_size / 2**20),
        "nppes_file": generated,
    }


def run_check(path: Path) -> dict[str, object]:
    """The check as the subprocess runs it: report-only, keeping providers; its figures."""
    from django.utils import timezone

    from registry.selectors import findings_by_kind
    from registry.services import check_nppes

    with AnonymousMemory() as memory:
        started = time.perf_counter()
        check = check_nppes(path=path, now=timezone.now(), report_only=True, keep_providers=True)
        seconds = time.perf_counter() - started
    findings = findings_by_kind(check)
    return {
        "rows_read": check.rows_read,
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "peak_anon_mb": memory.peak_mb,
        "findings": findings,
        "providers_kept": check.providers_kept,
    }


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    print(json.dumps(run_check(Path(sys.argv[1]))))
