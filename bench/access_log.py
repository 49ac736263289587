"""The auditor's access-log page and its filters on a large access log: time per page and its
slowest query, signed in as the demo `auditor`.

Runs in one process against the hub's database (DATABASE_URL, the local settings with DEBUG off)
through Django's test client, as `page_cost.py` does: no web server, so the figures are one page
at a time with nothing queued in front of it. `bash bench/run_access_log.sh` runs it over
`spoc_scale10` filled as bench/README.md says; docs/performance.md ("The biggest tables") reports
the figures.

Exit status: 0 when every page answered 200, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spoc.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "false")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from login_home import percentile, write_results  # noqa: E402
from page_cost import signed_in  # noqa: E402

URL = "/audit/access-log/"
# (label, query string): the page as it opens, deep in it, and each filter the form offers.
CASES = (
    ("no filter", ""),
    ("no filter, page 1000", "page=1000"),
    ("one patient", "patient_id=123457"),
    ("one user", "username=nurse"),
    ("one day", "date_from=2026-06-15&date_to=2026-06-15"),
    ("one user, one day", "username=nurse&date_from=2026-06-15&date_to=2026-06-15"),
    ("an action none has", "action=BREAK_GLASS"),
    ("flagged only", "flagged_only=on"),
    ("CSV, one patient", "patient_id=123457&format=csv"),
)


def measure(client: Any, query: str, *, requests: int) -> dict[str, Any]:
    wall, slowest, queries, errors = [], [], 0, 0
    for _ in range(requests):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(f"{URL}?{query}")
            body = b"".join(response) if response.streaming else response.content
            wall.append(time.perf_counter() - started)
        errors += response.status_code != 200 or not body
        queries = len(captured.captured_queries)
        slow = max(captured.captured_queries, key=lambda q: float(q["time"]))
        slowest.append((float(slow["time"]), slow["sql"][:160]))
    wall.sort()
    worst = max(slowest)
    return {
        "requests": requests,
        "queries": queries,
        "wall_ms_p50": round(1000 * percentile(wall, 50), 1),
        "wall_ms_max": round(1000 * wall[-1], 1),
        "slowest_query_ms": round(1000 * worst[0], 1),
        "slowest_query": worst[1],
        "errors": errors,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3, help="timed pages per case")
    parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD", "spoc-demo-2026"))
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint, pg_total_relation_size('audit_accesslog') "
            "FROM pg_class WHERE relname = 'audit_accesslog'"
        )
        rows_estimate, size = cursor.fetchone()
    print(f"Access log: about {rows_estimate:,} rows, {size / 2**30:.1f} GiB with its indexes.")
    client = signed_in("auditor", args.password)
    client.get(f"{URL}?patient_id=1")  # warm: imports, templates, the connection
    results = []
    for label, query in CASES:
        row = {"case": label, "query": query, **measure(client, query, requests=args.requests)}
        results.append(row)
        print(
            f"{label:24} {row['queries']:>3} queries  p50 {row['wall_ms_p50']:>9} ms  "
            f"max {row['wall_ms_max']:>9} ms  slowest query {row['slowest_query_ms']:>9} ms",
            flush=True,
        )
    write_results(
        args.json,
        {
            "rows_estimate": rows_estimate,
            "bytes": size,
            "requests": args.requests,
            "cases": results,
        },
    )
    return 1 if any(row["errors"] for row in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
