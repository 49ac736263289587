"""The auditor's access-log page and its filters on a large access log: time per page and its
slowest query, signed in as the demo `auditor`.

With ``--explain``, each case's slowest query is then run once more under EXPLAIN (ANALYZE,
BUFFERS): its execution time, the 8 kB pages it touched (found in memory, read in) and the
indexes it used, which say what the query costs whatever else the machine is doing. With
``--inserts N``, a row such as `access_log_record` writes (the chain's trigger included) is
inserted N times under EXPLAIN (ANALYZE, BUFFERS), each in a transaction rolled back: the pages
an insert touches in the table and its indexes, as the indexes grow in number.

Runs in one process against the hub's database (DATABASE_URL, the local settings with DEBUG off)
through Django's test client, as `page_cost.py` does: no web server, so the figures are one page
at a time with nothing queued in front of it. `bash bench/run_access_log.sh` runs it over
`spoc_scale10` filled as bench/README.md says; docs/performance.md ("The biggest tables") reports
the figures.

Exit status: 0 when every page answered 200, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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
# A page's link to the rows older than 1 March 2026 00:00 UTC (spoc/audit/selectors.py,
# access_log_cursor: microseconds since 1970, then the id; an id above any row's takes in every
# row of that instant): a quarter of a year deep in a log filled from 1 December 2025.
DEEP = "before=1772323200000000-9000000000000000000"
# (label, query string): the page as it opens, deep in it, and each filter the form offers.
CASES = (
    ("no filter", ""),
    ("no filter, older than 1-Mar-2026", DEEP),
    ("no filter, to 28-Feb-2026", "date_to=2026-02-28"),
    ("one patient", "patient_id=123457"),
    ("one user", "username=nurse"),
    ("one day", "date_from=2026-06-15&date_to=2026-06-15"),
    ("one user, one day", "username=nurse&date_from=2026-06-15&date_to=2026-06-15"),
    ("one user, older than 1-Mar-2026", f"username=nurse&{DEEP}"),
    ("an action none has", "action=BREAK_GLASS"),
    ("one action (update)", "action=UPDATE"),
    ("flagged only", "flagged_only=on"),
    ("CSV, one patient", "patient_id=123457&format=csv"),
)


def measure(client: Any, query: str, *, requests: int, explain: bool) -> dict[str, Any]:
    wall, cpu, slowest, queries, errors = [], [], [], 0, 0
    for _ in range(requests):
        with CaptureQueriesContext(connection) as captured:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(f"{URL}?{query}")
            body = b"".join(response) if response.streaming else response.content
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        errors += response.status_code != 200 or not body
        queries = len(captured.captured_queries)
        slow = max(captured.captured_queries, key=lambda q: float(q["time"]))
        slowest.append((float(slow["time"]), slow["sql"]))
    wall.sort()
    worst = max(slowest)
    return {
        "requests": requests,
        "queries": queries,
        "wall_ms_p50": round(1000 * percentile(wall, 50), 1),
        "wall_ms_max": round(1000 * wall[-1], 1),
        # CPU of this process (Django and the template, not PostgreSQL's): load does not inflate it.
        "cpu_ms_p50": round(1000 * percentile(sorted(cpu), 50), 1),
        "slowest_query_ms": round(1000 * worst[0], 1),
        "slowest_query": worst[1][:160],
        **({"explain": explained(worst[1])} if explain else {}),
        "errors": errors,
    }


def explained(sql: str) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of ``sql``: its time and the pages of the whole plan."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
        (found,) = cursor.fetchone()
    report = found[0] if isinstance(found, list) else json.loads(found)[0]
    plan = report["Plan"]
    indexes: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        if node.get("Index Name") and node["Index Name"] not in indexes:
            indexes.append(node["Index Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    return {
        "execution_ms": round(report["Execution Time"], 1),
        "shared_hit": plan.get("Shared Hit Blocks", 0),
        "shared_read": plan.get("Shared Read Blocks", 0),
        "indexes": indexes,
    }


INSERT = (
    "INSERT INTO audit_accesslog (at, username, action, object_type, object_id, patient_id, "
    "client_ip, reason, detail, flagged, user_id) VALUES (now(), 'nurse', 'VIEW', 'patient', "
    "%s, %s, '10.0.0.1', '', '{}', false, (SELECT id FROM accounts_user WHERE username = 'nurse'))"
)


def inserts(count: int) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of ``count`` inserts, each rolled back: medians."""
    hit, dirtied, read, took = [], [], [], []
    for n in range(count):
        with connection.cursor() as cursor:
            cursor.execute("BEGIN")
            try:
                cursor.execute(
                    f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {INSERT}",
                    [str(n * 7919 % 1_000_000 + 1), n * 7919 % 1_000_000 + 1],
                )
                (found,) = cursor.fetchone()
            finally:
                cursor.execute("ROLLBACK")
        report = found[0] if isinstance(found, list) else json.loads(found)[0]
        plan = report["Plan"]
        hit.append(plan.get("Shared Hit Blocks", 0))
        read.append(plan.get("Shared Read Blocks", 0))
        dirtied.append(plan.get("Shared Dirtied Blocks", 0))
        took.append(report["Execution Time"])
    return {
        "inserts": count,
        "shared_hit_median": statistics.median(hit),
        "shared_read_median": statistics.median(read),
        "shared_dirtied_median": statistics.median(dirtied),
        "execution_ms_median": round(statistics.median(took), 3),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3, help="timed pages per case")
    parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD", "spoc-demo-2026"))
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--explain", action="store_true", help="EXPLAIN (ANALYZE, BUFFERS) each slowest query"
    )
    parser.add_argument(
        "--inserts", type=int, default=0, help="EXPLAIN (ANALYZE, BUFFERS) this many inserts"
    )
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
        row = {
            "case": label,
            "query": query,
            **measure(client, query, requests=args.requests, explain=args.explain),
        }
        results.append(row)
        plan = row.get("explain")
        print(
            f"{label:32} {row['queries']:>3} queries  p50 {row['wall_ms_p50']:>9} ms  "
            f"max {row['wall_ms_max']:>9} ms  cpu {row['cpu_ms_p50']:>7} ms  "
            f"slowest query {row['slowest_query_ms']:>9} ms"
            + (
                f"  explain {plan['execution_ms']} ms, {plan['shared_hit']} hit + "
                f"{plan['shared_read']} read, {','.join(plan['indexes']) or 'no index'}"
                if plan
                else ""
            ),
            flush=True,
        )
    written = inserts(args.inserts) if args.inserts else None
    if written:
        print(
            f"insert (median of {args.inserts}, rolled back): {written['execution_ms_median']} ms, "
            f"{written['shared_hit_median']} hit + {written['shared_read_median']} read, "
            f"{written['shared_dirtied_median']} dirtied",
            flush=True,
        )
    write_results(
        args.json,
        {
            "rows_estimate": rows_estimate,
            "bytes": size,
            "requests": args.requests,
            "cases": results,
            **({"insert": written} if written else {}),
        },
    )
    return 1 if any(row["errors"] for row in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
