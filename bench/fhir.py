"""The FHIR Plan-Net figures of `make bench`: a page of 100 PractitionerRoles, first, middle, and by specialty.

Timed through the same in-process test client as the search (the whole
middleware stack, no network). `fhir_practitionerrole_p95_ms` is the first
page's p95; the target is 100 ms at N=100,000 on both databases.
"""

from __future__ import annotations

import json

PAGE = 100
FHIR_SEARCHES = {
    "first_page": {"_count": str(PAGE)},
    "middle_page": {"_count": str(PAGE)},  # `_offset` is set from the directory's size
    "specialty": {"_count": str(PAGE), "specialty": "1041C0700X"},
    "include": {"_count": str(PAGE), "_include": ["PractitionerRole:practitioner", "PractitionerRole:location"]},
}


def measure_fhir(client: object, *, warmup: int, repetitions: int) -> dict[str, object]:
    """`fhir_practitionerrole_p95_ms` (the first page of 100) and each search's figures."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.run import summary, timed

    url = "/fhir/PractitionerRole"
    total = json.loads(client.get(url, {"_count": "1"}).content)["total"]
    searches = {name: dict(params) for name, params in FHIR_SEARCHES.items()}
    searches["middle_page"]["_offset"] = str(max(0, total // 2 // PAGE * PAGE))
    figures: dict[str, dict] = {}
    for name, params in searches.items():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, params)
        queries = len(captured.captured_queries)
        body = json.loads(response.content)
        samples = timed(lambda p=params: client.get(url, p), warmup=warmup, repetitions=repetitions)
        figures[name] = {
            "params": params,
            "status": response.status_code,
            "total": body.get("total"),
            "entries": len(body.get("entry", [])),
            "sql_queries": queries,
            **summary(samples),
        }
    return {
        "fhir_practitionerrole_p95_ms": figures["first_page"]["p95_ms"],
        "fhir_practitionerrole_p95_max_ms": max(figure["p95_ms"] for figure in figures.values()),
        "fhir": figures,
    }
