"""`make bench`: build a national directory of N therapists, then time the search.

Usage: `python -m bench [--count N] [--reuse] ...` (see `--help`). Without
DATABASE_URL the directory goes into `bench/data/bench-<N>.sqlite3`; with it,
into that database, whose directory tables are emptied first. Figures land in
`bench/results/<database>-<N>.json` and the table in `bench/results/README.md`.

Every figure is measured in this process through Django's test client (the
whole middleware stack, no network), except `search_rps`: gunicorn with two
workers on 127.0.0.1, loaded by `wrk` (or a small Python load generator).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from bench.fhir import measure_fhir
from bench.nppes import ROWS as NPPES_ROWS
from bench.nppes import measure_nppes
from bench.roster import ROWS as ROSTER_ROWS
from bench.roster import measure_roster

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "bench" / "data"
RESULTS_DIR = ROOT / "bench" / "results"

# The typical search: the one the floors, the ratio and the throughput use.
TYPICAL = "zip_25mi_insurance_format"
SEARCHES: dict[str, dict[str, str]] = {
    TYPICAL: {"near": "11215", "radius": "25", "insurance": "aetna", "format": "individual"},
    "zip_25mi_insurance_online": {"near": "11215", "radius": "25", "insurance": "aetna", "format": "individual,online"},
    "online_state": {"format": "online", "state": "CA"},
    "focus_language": {"focus": "grief-loss", "language": "es"},
    "free_text": {"q": "grief"},
    "deep_page": {"ordering": "name"},  # the page number is set from the directory's size
}
DEEP_PAGE_LIMIT = 500
REQUIRED_KEYS = ["therapists", "database", "search_p50_ms", "search_p95_ms", "floor_sql_p50_ms",
                 "floor_framework_p50_ms", "ratio_p50", "match_p95_ms", "queries_per_search", "search_rps",
                 "date", "machine", "queries"]  # fmt: skip
MATCH_BODY = {"postal_code": "11215", "insurance": "aetna", "formats": ["individual", "online"],
              "focus_areas": ["grief-loss"]}  # fmt: skip
REFERRAL_FIELDS = {"patient_name": "Bench Patient", "patient_birth_date": "1980-01-01",
                   "patient_phone": "555-000-0000", "urgency": "routine", "consent": True}  # fmt: skip
# The harness sends thousands of requests from 127.0.0.1, in process and to gunicorn: the API's
# throttles are off (set a THROTTLE_*_RATE to measure with one), so the figures are the search's own.
LIMITS_LIFTED = {
    f"THROTTLE_{scope}_RATE": "off" for scope in ("ANON", "USER", "MATCH", "REFERRAL", "TOKEN", "CONSULTATION")
}


# ---------------------------------------------------------------- timing helpers


def timed(call: Callable[[], object], *, warmup: int, repetitions: int) -> list[float]:
    """Milliseconds of each of `repetitions` calls, after `warmup` untimed ones."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repetitions):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    rank = max(1, round(fraction * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(percentile(samples, 0.95), 2),
        "min_ms": round(min(samples), 2),
        "samples": len(samples),
    }


# ---------------------------------------------------------------- the measurements


def search_parameters() -> dict[str, dict[str, str]]:
    """The fixed searches, the deep page placed half-way through the listing (at most page 500).

    The listing is counted in the database: the API's count stops at `search.COUNT_THRESHOLD`.
    """
    from directory.models import Therapist

    listed = Therapist.objects.published().count()
    pages = max(1, -(-listed // 20))
    searches = {name: dict(params) for name, params in SEARCHES.items()}
    searches["deep_page"]["page"] = str(max(1, min(DEEP_PAGE_LIMIT, pages // 2)))
    return searches


def measure_searches(client: object, searches: dict, *, warmup: int, repetitions: int) -> dict[str, dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    figures = {}
    for name, params in searches.items():
        client.get("/api/therapists/", params)  # fills the per-process reference cache once
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/therapists/", params)
        # Copied now: every request start clears the connection's query log.
        captured_sql = [query["sql"] for query in captured.captured_queries]
        payload = response.json()
        samples = timed(lambda p=params: client.get("/api/therapists/", p), warmup=warmup, repetitions=repetitions)
        figures[name] = {
            "params": params,
            "status": response.status_code,
            "count": payload.get("count"),
            "count_is_exact": payload.get("count_is_exact"),
            "results": len(payload.get("results", [])),
            "page_ids": [row["id"] for row in payload.get("results", [])],
            "sql_queries": len(captured_sql),
            "sql": captured_sql,
            **summary(samples),
        }
    return figures


def explain(sql: str) -> list[str]:
    """The database's plan for one captured query."""
    from django.db import connection

    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    try:
        with connection.cursor() as cursor:
            cursor.execute(prefix + sql)
            return [" ".join(str(part) for part in row) for row in cursor.fetchall()]
    except Exception as error:  # a plan is a diagnostic: never fail the run for it
        return [f"EXPLAIN failed: {error}"]


# The data floor: the typical search's page, read by one hand-written query from the same search index
# (no count): the entries in the box and radius that pass the filters, grouped by therapist, then their cards.
FLOOR_SQL = """
SELECT t.id, t.listing_card, t.accepts_new_clients, t.availability_confirmed_at, page.distance
FROM (SELECT e.therapist_id, MIN((e.unit_x - %(x)s) * (e.unit_x - %(x)s) + (e.unit_y - %(y)s) * (e.unit_y - %(y)s)
                                 + (e.unit_z - %(z)s) * (e.unit_z - %(z)s)) AS distance,
             MAX(e.last_name) AS last_name, MAX(e.first_name) AS first_name
      FROM directory_searchentry e
      WHERE e.kind = %(office)s AND e.longitude_band IN ({bands})
        AND e.latitude BETWEEN %(south)s AND %(north)s AND e.longitude BETWEEN %(west)s AND %(east)s
        AND (e.unit_x - %(x)s) * (e.unit_x - %(x)s) + (e.unit_y - %(y)s) * (e.unit_y - %(y)s)
            + (e.unit_z - %(z)s) * (e.unit_z - %(z)s) <= %(limit)s
        AND (e.formats & %(individual)s) > 0 AND (e.insurers & %(insurer)s) > 0
      GROUP BY e.therapist_id
      ORDER BY distance, last_name, first_name, e.therapist_id
      LIMIT 20) AS page
JOIN directory_therapist t ON t.id = page.therapist_id
ORDER BY page.distance, page.last_name, page.first_name, t.id
"""


def floor_sql() -> tuple[str, dict[str, object]]:
    """FLOOR_SQL and its parameters for the typical search (ZIP 11215, 25 miles, Aetna, individual)."""
    from directory import geo
    from directory.models import Insurer
    from directory.search.models import FORMAT_BITS, SearchEntry, mask

    place = geo.locate(SEARCHES[TYPICAL]["near"])
    miles = float(SEARCHES[TYPICAL]["radius"])
    box = geo.bounding_box(place.latitude, place.longitude, miles)
    bands = {f"band{n}": band for n, band in enumerate(box.longitude_bands)}
    sql = FLOOR_SQL.format(bands=", ".join(f"%({name})s" for name in bands))
    x, y, z = geo.unit_vector(place.latitude, place.longitude)
    return sql, {
        **bands,
        "x": x,
        "y": y,
        "z": z,
        "south": box.min_latitude,
        "north": box.max_latitude,
        "west": box.min_longitude,
        "east": box.max_longitude,
        "limit": geo.squared_chord(miles),
        "office": SearchEntry.Kind.OFFICE.value,
        "individual": mask([FORMAT_BITS["individual"]]),
        "insurer": mask([Insurer.objects.get(slug=SEARCHES[TYPICAL]["insurance"]).pk]),
    }


def measure_floors(client: object, search: dict[str, str], *, warmup: int, repetitions: int) -> dict[str, object]:
    """The data floor (one hand-written query for the typical page) and the framework floor (a no-op DRF view).

    Timed interleaved with the typical search itself, one of each in turn, so
    that the ratio compares the three under the same conditions: on a virtual
    machine whose speed drifts from minute to minute, floors timed apart from
    the search made the ratio swing between 1.6 and 2.9 from run to run.
    """
    from django.db import connection

    sql, parameters = floor_sql()

    def fetch_page() -> list:
        with connection.cursor() as cursor:
            cursor.execute(sql, parameters)
            return cursor.fetchall()

    calls = {
        "floor_sql": fetch_page,
        "floor_framework": lambda: client.get("/bench/noop/"),
        "search": lambda: client.get("/api/therapists/", search),
    }
    rows = fetch_page()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for round_number in range(warmup + repetitions):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            if round_number >= warmup:
                samples[name].append((time.perf_counter() - started) * 1000)
    return {
        "floor_sql_rows": len(rows),
        "floor_sql_ids": [row[0] for row in rows],
        **{name: summary(timings) for name, timings in samples.items()},
    }


def measure_matching(client: object, *, warmup: int, repetitions: int) -> dict[str, object]:
    """POST /api/match/ and referral creation, when this branch has them (matching is built elsewhere)."""
    from django.contrib.auth.models import Group, User
    from django.urls import Resolver404, resolve

    figures: dict[str, object] = {"match_p50_ms": None, "match_p95_ms": None, "referral_p95_ms": None}
    try:
        resolve("/api/match/")
    except Resolver404:
        figures["match_note"] = "POST /api/match/ does not resolve on this branch: not measured"
        return figures
    response = client.post("/api/match/", MATCH_BODY, content_type="application/json")
    if response.status_code != 200:
        figures["match_note"] = f"POST /api/match/ answered {response.status_code}: not measured"
        return figures
    samples = timed(lambda: client.post("/api/match/", MATCH_BODY, content_type="application/json"),
                    warmup=warmup, repetitions=repetitions)  # fmt: skip
    figures.update(match_p50_ms=summary(samples)["p50_ms"], match_p95_ms=summary(samples)["p95_ms"])
    figures["match_results"] = len(response.json().get("results", []))
    try:
        resolve("/api/referrals/")
    except Resolver404:
        figures["referral_note"] = "POST /api/referrals/ does not resolve on this branch: not measured"
        return figures
    user, _ = User.objects.get_or_create(username="bench-referrer")
    user.groups.add(Group.objects.get(name="referrers"))
    client.force_login(user)
    body = {**MATCH_BODY, **REFERRAL_FIELDS}
    response = client.post("/api/referrals/", body, content_type="application/json")
    if response.status_code != 201:
        figures["referral_note"] = f"POST /api/referrals/ answered {response.status_code}: not measured"
    else:
        samples = timed(lambda: client.post("/api/referrals/", body, content_type="application/json"),
                        warmup=2, repetitions=max(5, repetitions // 4))  # fmt: skip
        figures["referral_p95_ms"] = summary(samples)["p95_ms"]
    client.logout()
    return figures


# ---------------------------------------------------------------- throughput through gunicorn


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ensure_wrk() -> str | None:
    """Debian's wrk, installed when missing and possible; None means use the Python load generator."""
    found = shutil.which("wrk")
    if found or not shutil.which("apt-get") or os.geteuid() != 0:
        return found
    try:
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True, timeout=180, check=False,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return shutil.which("wrk")


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not answer {url} within {timeout} s")


def run_wrk(wrk: str, url: str, seconds: int, connections: int) -> dict[str, object]:
    command = [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    requests = re.search(r"(\d+) requests in", output)
    return {
        "tool": f"wrk -t2 -c{connections} -d{seconds}s",
        "search_rps": float(rate.group(1)) if rate else None,
        "requests": int(requests.group(1)) if requests else None,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "wrk_output": output.strip().splitlines(),
    }


def run_python_load(url: str, seconds: int, connections: int) -> dict[str, object]:
    """A fallback load generator: `connections` threads, each one request at a time."""
    deadline = time.monotonic() + seconds
    counts = {"ok": 0, "failed": 0}
    lock = threading.Lock()

    def worker() -> None:
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    response.read()
                    outcome = "ok" if response.status == 200 else "failed"
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                outcome = "failed"
            with lock:
                counts[outcome] += 1

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 30)
    elapsed = time.monotonic() - started
    return {
        "tool": f"python threads x{connections}, {seconds}s",
        "search_rps": round(counts["ok"] / elapsed, 1),
        "requests": counts["ok"] + counts["failed"],
        "non_2xx": counts["failed"],
    }


def measure_throughput(seconds: int, connections: int = 8, rounds: int = 3) -> dict[str, object]:
    """Requests per second of the typical search through gunicorn, 2 workers, on 127.0.0.1 only.

    The median of `rounds` runs of `seconds` each against the same warmed
    server: on these shared machines one run's figure moves by a fifth from
    one run to the next. Every run is kept under `runs`.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/therapists/?{urlencode(SEARCHES[TYPICAL])}"
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "--workers", "2",
               "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env={**LIMITS_LIFTED, **os.environ}, stdout=subprocess.DEVNULL)
    try:
        wait_until_serving(url, process)
        for _ in range(20):  # warm both workers: first queries, caches, connections
            urllib.request.urlopen(url, timeout=10).read()
        wrk = ensure_wrk()
        runs = []
        for _ in range(rounds):
            before = cpu_seconds_by_role(process.pid), children_cpu_seconds()
            run = run_wrk(wrk, url, seconds, connections) if wrk else run_python_load(url, seconds, connections)
            after = cpu_seconds_by_role(process.pid), children_cpu_seconds()
            run["cpu_ms_per_request"] = cpu_per_request(before, after, run["requests"], wrk is not None)
            runs.append(run)
        rss = worker_rss_mb(process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
    median = sorted(runs, key=lambda run: run["search_rps"] or 0)[(len(runs) - 1) // 2]
    return {
        **median,
        "worker_rss_mb": rss,
        "non_2xx": sum(run["non_2xx"] for run in runs),
        "runs": [{key: value for key, value in run.items() if key != "wrk_output"} for run in runs],
    }


def processes() -> list[Path] | None:
    """Linux's /proc folder of each live process; None without /proc."""
    try:
        return [entry for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    except OSError:
        return None


def worker_rss_mb(gunicorn: int) -> list[float] | None:
    """Resident memory of each gunicorn worker (the master's children), in MB: None without Linux's /proc."""
    entries = processes()
    if entries is None:
        return None
    sizes = []
    for entry in entries:
        try:
            status = dict(line.split(":", 1) for line in (entry / "status").read_text().splitlines() if ":" in line)
        except OSError:
            continue  # ended meanwhile
        if int(status["PPid"]) == gunicorn and "VmRSS" in status:
            sizes.append(round(int(status["VmRSS"].split()[0]) / 1024, 1))
    return sorted(sizes)


def cpu_seconds_by_role(gunicorn: int) -> dict[str, float] | None:
    """CPU seconds used so far by the live processes of each role: gunicorn (master and workers) and the
    PostgreSQL server (its backends do the SQL; SQLite's runs inside the workers). None without Linux's /proc."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    seconds = {"web": 0.0, "database": 0.0}
    entries = processes()
    if entries is None:
        return None
    for entry in entries:
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        pid, parent, used = int(entry.name), int(fields[1]), (int(fields[11]) + int(fields[12])) / tick
        if gunicorn in (pid, parent):
            seconds["web"] += used
        elif name == "postgres":
            seconds["database"] += used
    return seconds


def children_cpu_seconds() -> float:
    """CPU seconds of this process's ended children: the load generator, once `wrk` has returned."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_per_request(before: tuple, after: tuple, requests: int | None, wrk: bool) -> dict[str, float] | None:
    """Milliseconds of CPU per request by role during the load: where the two cores went."""
    (roles_before, children_before), (roles_after, children_after) = before, after
    if not requests or roles_before is None or roles_after is None:
        return None
    spent = {role: roles_after[role] - roles_before[role] for role in roles_before}
    if wrk:
        spent["load_generator"] = children_after - children_before
    return {role: round(1000 * value / requests, 2) for role, value in spent.items()}


# ---------------------------------------------------------------- results


def machine() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT sqlite_version()" if connection.vendor == "sqlite" else "SHOW server_version")
        version = cursor.fetchone()[0]
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{connection.vendor} {version}"
    )


def cpu_times() -> list[int] | None:
    """The machine's CPU time counters (Linux /proc/stat: user, nice, system, idle, iowait, irq, softirq, steal)."""
    try:
        with open("/proc/stat") as stat:
            return [int(value) for value in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None


def cpu_probe_ms(rounds: int = 5) -> float:
    """Median milliseconds of a fixed pure-Python loop: this virtual machine's speed at the time of the run,
    which drifts by up to half from minute to minute (the steal counter sees only part of it)."""
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        total = 0
        for number in range(300_000):
            total += number * number
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 1)


def steal_percent(before: list[int] | None, after: list[int] | None) -> float | None:
    """Share of CPU time the hypervisor gave to other guests during the run: a virtual machine's noise."""
    if not before or not after or len(before) < 8 or len(after) < 8:
        return None
    elapsed = [later - earlier for earlier, later in zip(before, after, strict=True)]
    total = sum(elapsed)
    return round(100 * elapsed[7] / total, 1) if total else None


def database_name() -> str:
    from django.db import connection

    return "sqlite" if connection.vendor == "sqlite" else connection.vendor


def run_benchmark(
    *,
    count: int,
    results_dir: Path,
    warmup: int = 20,
    repetitions: int = 200,
    throughput_seconds: int = 10,
    throughput_rounds: int = 3,
    nppes_rows: int = 0,
    roster_rows: int = 0,
    extra: dict | None = None,
) -> dict[str, object]:
    """Measure the directory already loaded in the default database; write the JSON and the README table."""
    from django.conf import settings
    from django.test import Client
    from django.test.utils import override_settings

    from bench.hsds import measure_hsds
    from directory.models import Therapist

    load_before, cpu_before, probe_before = os.getloadavg()[0], cpu_times(), cpu_probe_ms()
    with override_settings(ROOT_URLCONF="bench.urls", ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
        client = Client()
        searches = search_parameters()
        per_query = measure_searches(client, searches, warmup=warmup, repetitions=repetitions)
        floors = measure_floors(client, searches[TYPICAL], warmup=warmup, repetitions=repetitions)
        matching = measure_matching(client, warmup=min(warmup, 5), repetitions=max(10, repetitions // 2))
        hsds = measure_hsds(client, warmup=min(warmup, 5), repetitions=max(10, repetitions // 2))
        fhir = measure_fhir(client, warmup=warmup, repetitions=repetitions)
    typical = per_query[TYPICAL]
    floor_total = floors["floor_sql"]["p50_ms"] + floors["floor_framework"]["p50_ms"]
    results: dict[str, object] = {
        "therapists": Therapist.objects.count(),
        "requested": count,
        "database": database_name(),
        "search_p50_ms": typical["p50_ms"],
        "search_p95_ms": typical["p95_ms"],
        "search_p95_max_ms": max(figures["p95_ms"] for figures in per_query.values()),
        "floor_sql_p50_ms": floors["floor_sql"]["p50_ms"],
        "floor_framework_p50_ms": floors["floor_framework"]["p50_ms"],
        # The search timed in turn with the floors (see measure_floors), not the figure above.
        "ratio_p50": round(floors["search"]["p50_ms"] / floor_total, 2),
        "ratio_search_p50_ms": floors["search"]["p50_ms"],
        "match_p95_ms": matching.pop("match_p95_ms"),
        "hsds_services_p95_ms": hsds["hsds_services_p95_ms"],
        "queries_per_search": max(figures["sql_queries"] for figures in per_query.values()),
        "search_rps": None,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "code": code_version(),
        "load_average_1min": {"before": round(load_before, 2)},
        "repetitions": repetitions,
        "warmup": warmup,
        "typical_search": TYPICAL,
        "queries": per_query,
        "floors": floors,
        "matching": matching,
        "hsds": hsds,
        **fhir,
        "explain": {name: [explain(sql) for sql in figures["sql"]] for name, figures in per_query.items()},
        **(extra or {}),
    }
    if throughput_seconds > 0:
        throughput = measure_throughput(throughput_seconds, rounds=throughput_rounds)
        results["search_rps"] = throughput["search_rps"]
        results["worker_rss_max_mb"] = max(throughput["worker_rss_mb"]) if throughput["worker_rss_mb"] else None
        results["throughput"] = throughput
    if nppes_rows > 0:
        results["nppes"] = measure_nppes(data_dir=DATA_DIR, rows=nppes_rows)
    if roster_rows > 0:
        results["roster"] = measure_roster(data_dir=DATA_DIR, rows=roster_rows)
        results["import_rows_per_s"] = results["roster"]["import_rows_per_s"]
    results["load_average_1min"]["after"] = round(os.getloadavg()[0], 2)
    results["cpu_steal_percent"] = steal_percent(cpu_before, cpu_times())
    results["cpu_probe_ms"] = {"start": probe_before, "end": cpu_probe_ms()}
    write_results(results, results_dir)
    return results


def write_results(results: dict, results_dir: Path) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{results['database']}-{results['requested']}.json"
    path.write_text(json.dumps(results, indent=1, default=str) + "\n")
    write_readme(results_dir)
    return path


README_START = "<!-- results table: generated by bench/run.py from the JSON files; do not edit -->"
README_END = "<!-- end of results table -->"
README_HEAD = """# Benchmark results

Written by `make bench` (`python -m bench`); see docs/performance.md
for what each figure means. The table between the markers is regenerated from
every JSON file in this directory; the rest of this page is kept as written.

"""


def _cell(value: object) -> str:
    return "–" if value is None else str(value)


def probe_cell(probe: dict | None) -> str | None:
    return f"{probe['start']} / {probe['end']}" if probe else None


def code_version() -> str:
    """The commit measured, "-dirty" when the working tree differs from it."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit


def result_rows(results_dir: Path) -> list[dict]:
    """The current results, then the kept "before" runs of `baseline/`, each labelled."""
    rows = []
    for label, pattern in (("after", "*.json"), ("before", "baseline/*.json")):
        for path in sorted(results_dir.glob(pattern)):
            rows.append({**json.loads(path.read_text()), "label": label})
    return rows


def results_table(results_dir: Path) -> str:
    rows = result_rows(results_dir)
    header = ("| code | database | therapists | search p50 ms | search p95 ms | worst query p95 ms | floor SQL p50 ms "
              "| floor framework p50 ms | ratio p50 | SQL queries per search | match p95 ms | searches/s "
              "| worker RSS MB | load s | CPU steal % | CPU probe ms, start / end | date | machine |")  # fmt: skip
    lines = [header, "|" + " --- |" * (header.count("|") - 1)]
    for row in rows:
        code = f"{row['label']} ({row.get('code', '?')})"
        cells = [code, row["database"], row["therapists"], row["search_p50_ms"], row["search_p95_ms"],
                 row.get("search_p95_max_ms"), row["floor_sql_p50_ms"], row["floor_framework_p50_ms"],
                 row["ratio_p50"], row["queries_per_search"], row["match_p95_ms"], row["search_rps"],
                 row.get("worker_rss_max_mb"), row.get("load_seconds"), row.get("cpu_steal_percent"),
                 probe_cell(row.get("cpu_probe_ms")),
                 row["date"][:16], row["machine"]]  # fmt: skip
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    names = list(SEARCHES)
    lines += ["", "Per query, p50 / p95 ms (SQL queries per request):", ""]
    lines.append("| code | database | therapists | " + " | ".join(f"`{name}`" for name in names) + " |")
    lines.append("|" + " --- |" * (len(names) + 3))
    for row in rows:
        cells = [f"{row['label']} ({row.get('code', '?')})", row["database"], row["therapists"]]
        for name in names:
            figures = row["queries"].get(name)
            cells.append(f"{figures['p50_ms']} / {figures['p95_ms']} ({figures['sql_queries']})" if figures else "–")
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines)


def write_readme(results_dir: Path) -> None:
    path = results_dir / "README.md"
    text = path.read_text() if path.exists() else README_HEAD + f"{README_START}\n{README_END}\n"
    if README_START not in text:
        text += f"\n{README_START}\n{README_END}\n"
    before, rest = text.split(README_START, 1)
    after = rest.split(README_END, 1)[1] if README_END in rest else "\n"
    path.write_text(f"{before}{README_START}\n{results_table(results_dir)}\n{README_END}{after}")


# ---------------------------------------------------------------- the command line


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", "-n", type=int, default=int(os.environ.get("N", 100_000)))
    parser.add_argument("--reuse", action="store_true", help="keep an already loaded directory of this size")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--repetitions", type=int, default=200)
    parser.add_argument("--throughput-seconds", type=int, default=10, help="0 skips the gunicorn run")
    parser.add_argument("--throughput-rounds", type=int, default=3, help="runs of that length; the median is kept")
    parser.add_argument("--nppes-rows", type=int, default=NPPES_ROWS, help="rows of the synthetic NPPES file; 0 skips")
    parser.add_argument("--roster-rows", type=int, default=ROSTER_ROWS, help="rows of the roster imported twice")
    parser.add_argument("--skip-roster", action="store_true", help="no roster import measure")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    arguments = parser.parse_args(argv)
    if arguments.throughput_rounds < 1:
        parser.error("--throughput-rounds must be at least 1")
    return arguments


def configure_database(arguments: argparse.Namespace) -> None:
    """SQLite in bench/data/ unless DATABASE_URL names a database; set before Django starts."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if not os.environ.get("DATABASE_URL"):
        arguments.data_dir.mkdir(parents=True, exist_ok=True)
        path = (arguments.data_dir / f"bench-{arguments.count}.sqlite3").resolve()
        if not arguments.reuse:
            for stale in (path, path.with_name(path.name + "-journal")):
                stale.unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"


def prepare_directory(count: int, *, reuse: bool) -> dict[str, object]:
    """Migrate, then generate and bulk-load `count` therapists unless reusing a directory of that size."""
    from django.core.management import call_command
    from django.utils import timezone

    from bench.generate import national_records
    from bench.load import load_national_directory
    from directory.models import Therapist

    call_command("migrate", verbosity=0, interactive=False)
    if reuse and Therapist.objects.count() == count:
        return {"loaded": "reused"}
    started = time.perf_counter()
    loaded = load_national_directory(national_records(count), now=timezone.now())
    return {"load_seconds": round(time.perf_counter() - started, 1), "loaded": loaded}


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    configure_database(arguments)
    for name, value in LIMITS_LIFTED.items():
        os.environ.setdefault(name, value)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    started = time.perf_counter()
    prepared = prepare_directory(arguments.count, reuse=arguments.reuse)
    print(f"directory ready: {prepared}", flush=True)
    results = run_benchmark(
        count=arguments.count,
        results_dir=arguments.results_dir,
        warmup=arguments.warmup,
        repetitions=arguments.repetitions,
        throughput_seconds=arguments.throughput_seconds,
        throughput_rounds=arguments.throughput_rounds,
        nppes_rows=arguments.nppes_rows,
        roster_rows=0 if arguments.skip_roster else arguments.roster_rows,
        extra=prepared,
    )
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    path = write_results(results, arguments.results_dir)
    keys = ["therapists", "database", "search_p50_ms", "search_p95_ms", "search_p95_max_ms", "floor_sql_p50_ms",
            "floor_framework_p50_ms", "ratio_p50", "match_p95_ms", "queries_per_search", "search_rps",
            "hsds_services_p95_ms", "fhir_practitionerrole_p95_ms", "worker_rss_max_mb", "total_seconds"]  # fmt: skip
    print(json.dumps({key: results[key] for key in [*keys, "nppes", "roster"] if key in results}, indent=1))
    print(f"wrote {path}")
    return 0
