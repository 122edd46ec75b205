"""The roster import at scale: a template CSV of N therapists imported twice into the loaded directory.

The rows come from the same generator as the bench directory (`bench.generate.national_records`:
metros weighted by population, real ZIPs, the reference vocabularies), given NPIs of their own
(prefix 17) so that the first import creates every profile and the second, of the same file,
finds every row unchanged. Each import runs in a subprocess (`python -m bench.roster import FILE`)
published by a staff user, and reports its own peak resident memory (getrusage). Afterwards the
imported profiles are deleted (`python -m bench.roster forget`), so the directory the other
measures read is as it was.
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bench.memory import AnonymousMemory, peak_rss_mb

ROOT = Path(__file__).resolve().parent.parent
ROWS = 100_000
NPI_PREFIX = "17"
LEVELS = {"trained": "A", "certified": "B", "supervisor": "D"}
PUBLISHER = "bench-roster-staff"


def _npi(number: int) -> str:
    from directory.models import npi_check_digit

    prefix = f"{NPI_PREFIX}{number:07d}"
    return prefix + str(npi_check_digit(prefix))


def roster_rows(count: int, *, seed: int = 2026) -> Iterator[dict[str, str]]:
    """`count` template rows, deterministic for a seed (see the module's docstring)."""
    from bench.generate import national_records

    first_award = datetime.date(2012, 1, 1)
    for number, record in enumerate(national_records(count, seed=seed), start=1):
        awarded_on = first_award + datetime.timedelta(days=number % 4000)
        yield {
            "first_name": record["first_name"],
            "last_name": record["last_name"],
            "credentials": record["credentials"],
            "npi": _npi(number),
            "email": record["email"],
            "phone": record["phone"],
            "website": record["website"],
            "formats": ";".join(record["formats"]),
            "age_groups": ";".join(record["age_groups"]),
            "insurers": ";".join(link["slug"] for link in record["insurers"]),
            "focus_areas": ";".join(record["focus_areas"]),
            "concerns": ";".join(record["concerns"]),
            "languages": ";".join(record["languages"]),
            "fee_min": str(record["fee_min"]),
            "fee_max": str(record["fee_max"]),
            "sliding_scale": "yes" if record["sliding_scale"] else "no",
            "offices": ";".join(
                "|".join((office["address"], office["city"], office["state"], office["postal_code"]))
                for office in record["offices"]
            ),
            "licences": ";".join(
                "|".join((licence["state"], licence["basis"], licence["license_number"]))
                for licence in record["licensed_states"]
            ),
            "ipt_credentials": f"ipt-institute|{LEVELS[record['training_level']]}|{awarded_on.isoformat()}",
        }


def write_roster(path: Path, *, rows: int) -> None:
    from roster.services import HEADER

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(roster_rows(rows))
    partial.rename(path)


def roster_file(data_dir: Path, *, rows: int) -> tuple[Path, dict]:
    path = data_dir / f"roster-{rows}.csv"
    if path.exists():
        return path, {"written": "reused"}
    started = time.perf_counter()
    write_roster(path, rows=rows)
    return path, {"generate_seconds": round(time.perf_counter() - started, 1)}


def _subprocess(*arguments: str) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.roster", *arguments], cwd=ROOT, capture_output=True, text=True, check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
    )  # fmt: skip
    return json.loads(completed.stdout.strip().splitlines()[-1])


def measure_roster(*, data_dir: Path, rows: int = ROWS) -> dict[str, object]:
    """Write (or reuse) the file, import it twice in subprocesses, then forget the imported profiles."""
    path, generated = roster_file(data_dir, rows=rows)
    _subprocess("forget")  # what an interrupted earlier run left
    fresh = _subprocess("import", str(path))
    second = _subprocess("import", str(path))
    forgotten = _subprocess("forget")
    return {
        "import_rows_per_s": fresh["rows_per_s"],
        "import_seconds": fresh["import_seconds"],
        "import_cpu_seconds": fresh["cpu_seconds"],
        "peak_rss_mb": fresh["peak_rss_mb"],
        "peak_anon_mb": max(fresh["peak_anon_mb"], second["peak_anon_mb"]),
        "rows": rows,
        "fresh": fresh,
        "second": second,
        "forget_seconds": forgotten["seconds"],
        "file_mb": round(path.stat().st_size / 2**20, 1),
        "file": generated,
    }


def run_import(path: Path) -> dict[str, object]:
    """The import as the subprocess runs it, published by a staff user; its figures."""
    from django.contrib.auth.models import User

    from roster.services import import_roster

    publisher, _ = User.objects.get_or_create(username=PUBLISHER, defaults={"is_staff": True})
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    with AnonymousMemory() as memory, path.open(newline="", encoding="utf-8") as stream:
        started = time.perf_counter()
        summary = import_roster(stream, dry_run=False, publisher=publisher)
        seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "import_seconds": round(seconds, 1),
        "rows_per_s": round(summary.rows / seconds),
        # This process's CPU time (not PostgreSQL's): on a shared machine, what the import itself cost.
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime - cpu_before, 1),
        "peak_rss_mb": peak_rss_mb(),
        "peak_anon_mb": memory.peak_mb,
        "created": summary.created,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "refused": summary.refused,
        "first_problems": [problem.message for row in summary.refused_rows[:3] for problem in row.problems],
    }


def forget_imported() -> dict[str, object]:
    """Delete the profiles the bench imported (NPI prefix 17), a few thousand at a time."""
    from django.db import transaction

    from directory.models import Therapist

    started = time.perf_counter()
    deleted = 0
    while ids := list(Therapist.objects.filter(npi__startswith=NPI_PREFIX).values_list("pk", flat=True)[:5000]):
        with transaction.atomic():
            Therapist.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    return {"deleted": deleted, "seconds": round(time.perf_counter() - started, 1)}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    if sys.argv[1] == "import":
        print(json.dumps(run_import(Path(sys.argv[2]))))
    elif sys.argv[1] == "forget":
        print(json.dumps(forget_imported()))
    elif sys.argv[1] == "measure":  # python -m bench.roster measure ROWS: migrate, then measure_roster alone
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        call_command("loaddata", "reference", verbosity=0)
        print(json.dumps(measure_roster(data_dir=ROOT / "bench" / "data", rows=int(sys.argv[2])), indent=1))
