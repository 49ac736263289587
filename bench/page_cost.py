"""What one page costs the web process: CPU time and database queries per page, signed in.

Runs in one process against the hub's database (DATABASE_URL, the local settings with DEBUG off),
through Django's test client, without a web server: so its CPU figure is the hub's own work per
page (middleware, views, templates, the database driver), which other load on the machine
barely changes, where the latencies of `login_home.py` are mostly queueing on a busy machine.
The database's own CPU is not in it; the queries per page are counted instead. Needs the demo
users (`manage.py seed_demo --patients 0`). `bash bench/run_page_cost.sh` runs it on a fresh
database; docs/performance.md reports the figures.

Exit status: 0 when every page answered 200, 1 otherwise.
"""

from __future__ import annotations

import argparse
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
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from login_home import percentile, write_results  # noqa: E402

# (demo user, page): the busiest pages of the people who use the hub most.
PAGES = (("coordinator", "/"), ("nurse", "/"), ("nurse", "/queue/"), ("handler", "/"))


def signed_in(username: str, password: str) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    response = client.post("/accounts/login/", {"username": username, "password": password})
    if response.status_code != 302:
        raise SystemExit(f"Could not sign in as {username}: HTTP {response.status_code}")
    return client


def measure(client: Client, path: str, *, requests: int) -> dict[str, Any]:
    """Queries and session writes of one page (counted apart: counting costs CPU), then the CPU
    time and wall time of ``requests`` more."""
    with CaptureQueriesContext(connection) as queries:
        status = client.get(path).status_code
    sqls = [q["sql"] for q in queries.captured_queries]
    cpu, wall, errors = [], [], 0
    for _ in range(requests):
        started_cpu, started = time.process_time(), time.perf_counter()
        errors += client.get(path).status_code != 200
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    cpu.sort()
    wall.sort()
    return {
        "status": status,
        "queries": len(sqls),
        "session_writes": sum(s.startswith('UPDATE "django_session"') for s in sqls),
        "cpu_ms_mean": round(1000 * statistics.fmean(cpu), 2),
        "cpu_ms_p50": round(1000 * percentile(cpu, 50), 2),
        "wall_ms_p50": round(1000 * percentile(wall, 50), 2),
        "wall_ms_p95": round(1000 * percentile(wall, 95), 2),
        "errors": errors + (status != 200),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="timed pages per row")
    parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD", "spoc-demo-2026"))
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    rows = []
    for username, path in PAGES:
        client = signed_in(username, args.password)
        for _ in range(5):  # warm: imports, templates, the connection
            client.get(path)
        rows.append(
            {"user": username, "path": path, **measure(client, path, requests=args.requests)}
        )
    print(f"{'':22} {'queries':>7} {'writes':>6} {'CPU ms':>7} {'p50 ms':>7} {'p95 ms':>7}")
    for row in rows:
        print(
            f"{row['user'] + ' ' + row['path']:22} {row['queries']:>7} {row['session_writes']:>6} "
            f"{row['cpu_ms_mean']:>7} {row['wall_ms_p50']:>7} {row['wall_ms_p95']:>7}"
        )
    write_results(args.json, {"requests_per_row": args.requests, "rows": rows})
    return 1 if any(row["errors"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
