"""The HSDS export's timing: pages of 100 services at the start and in the middle of the directory."""

from __future__ import annotations

from bench.run import summary, timed

PER_PAGE = 100
PAGE_PATH = "/api/hsds/services"


def measure_hsds(client: object, *, warmup: int, repetitions: int) -> dict[str, object]:
    """p95 of GET /api/hsds/services?per_page=100 on page 1 and a middle page, flat and `full=true`.

    `hsds_services_p95_ms` is the worst of the flat pages (the HSDS list as its
    specification defines it); the fully nested figures are reported beside it.
    """
    total = client.get(PAGE_PATH, {"per_page": 1}).json()["total_items"]
    middle = str(max(1, -(-total // PER_PAGE) // 2))
    pages = {
        "first": {"per_page": PER_PAGE},
        "middle": {"per_page": PER_PAGE, "page": middle},
        "first_full": {"per_page": PER_PAGE, "full": "true"},
        "middle_full": {"per_page": PER_PAGE, "page": middle, "full": "true"},
    }
    figures = {}
    for name, params in pages.items():
        response = client.get(PAGE_PATH, params)
        samples = timed(lambda p=params: client.get(PAGE_PATH, p), warmup=warmup, repetitions=repetitions)
        figures[name] = {"params": params, "status": response.status_code, "size": response.json().get("size"),
                         **summary(samples)}  # fmt: skip
    return {
        "hsds_services_p95_ms": max(figures["first"]["p95_ms"], figures["middle"]["p95_ms"]),
        "hsds_services_full_p95_ms": max(figures["first_full"]["p95_ms"], figures["middle_full"]["p95_ms"]),
        "hsds_total_items": total,
        "hsds_pages": figures,
    }
