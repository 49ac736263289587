"""The cost of writing one access-log row, before and after the hash chain (docs/performance.md,
"Writing the access log").

"before" is the insert the service made until the chain (one INSERT, autocommit, with the chain's
insert trigger switched off for the phase); "after" is `access_log_record` as it is now (the row's
SHA-256 in Python; one INSERT whose trigger takes the advisory lock, reads the last row's hash and
stores the link; commit). Both are timed one writer alone, then `--threads` writers at once (each its own
connection), then `verify_access_log`'s walk over everything written.

    .venv/bin/python bench/access_log_write.py            # 1000 rows alone, 8 x 100 at once

It uses its own PostgreSQL database on this machine (`--database`, default spoc_bench_accesslog,
created and migrated when missing) and empties its access log first: the name must start with
`spoc_bench`. Settings: spoc.settings.local with that DATABASE_URL. The writers share the
machine's cores with PostgreSQL: the figures say so.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="spoc_bench_accesslog")
    parser.add_argument("--rows", type=int, default=1000, help="rows per variant, one writer")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--per-thread", type=int, default=100)
    args = parser.parse_args()
    if not args.database.startswith("spoc_bench"):
        parser.error("--database must start with spoc_bench (its access log is emptied)")

    import psycopg

    admin = psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as admin_cursor:
        admin_cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.database])
        if admin_cursor.fetchone() is None:
            admin_cursor.execute(f'CREATE DATABASE "{args.database}"')
    admin.close()

    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "spoc.settings.local",
            "DJANGO_DEBUG": "false",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.database}",
        }
    )
    os.environ.pop("DATABASE_MIGRATE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections
    from django.utils import timezone

    from spoc.audit.integrity import access_log_chain_verify
    from spoc.audit.models import AccessLog
    from spoc.audit.services import access_log_record

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_accesslog")

    def before(n: int) -> None:
        AccessLog.objects.create(
            at=timezone.now(),
            username="bench",
            action="VIEW",
            object_type="patient",
            object_id=str(n),
            patient_id=n,
            client_ip="192.0.2.1",
            detail={"patients": n},
        )

    def after(n: int) -> None:
        access_log_record(
            action="VIEW",
            username="bench",
            object_type="patient",
            object_id=n,
            patient_id=n,
            detail={"patients": n},
        )

    def chain_trigger(on: bool) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"ALTER TABLE audit_accesslog {'ENABLE' if on else 'DISABLE'} TRIGGER audit_accesslog_chain"
            )

    def timed(write: Callable[[int], None], count: int, out: list[float]) -> None:
        for n in range(count):
            start = time.perf_counter()
            write(n)
            out.append(time.perf_counter() - start)

    def summary(label: str, times: list[float], wall: float) -> None:
        ordered = sorted(times)
        print(
            f"  {label:<7} {len(times):>6} rows  {len(times) / wall:>8.0f} rows/s  "
            f"median {statistics.median(ordered) * 1e6:>7.0f} us  "
            f"p95 {ordered[int(len(ordered) * 0.95)] * 1e6:>7.0f} us"
        )

    version = ".".join(str(part) for part in connection.get_database_version())
    print(
        f"PostgreSQL {version}, {os.cpu_count()} cores shared by the writers and the server; "
        f"load average {os.getloadavg()[0]:.1f} at the start"
    )
    print("One writer:")
    for label, write in (("before", before), ("after", after)):
        chain_trigger(label == "after")
        times: list[float] = []
        start = time.perf_counter()
        timed(write, args.rows, times)
        summary(label, times, time.perf_counter() - start)

    print(f"{args.threads} writers at once, {args.per_thread} rows each:")
    for label, write in (("before", before), ("after", after)):
        chain_trigger(label == "after")
        results: list[list[float]] = [[] for _ in range(args.threads)]

        def worker(out: list[float], write: Callable[[int], None] = write) -> None:
            try:
                timed(write, args.per_thread, out)
            finally:
                connections.close_all()

        pool = [threading.Thread(target=worker, args=(results[i],)) for i in range(args.threads)]
        start = time.perf_counter()
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        summary(label, [t for r in results for t in r], time.perf_counter() - start)

    # The "before" rows carry no hash: the walk stops at the first; time it over "after" rows only.
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_accesslog")
    for n in range(args.rows * 10):
        after(n)
    start = time.perf_counter()
    report = access_log_chain_verify()
    wall = time.perf_counter() - start
    print(
        f"verify_access_log: {report.intact} rows in {wall:.2f} s ({report.intact / wall:.0f} rows/s)"
    )
    return 0 if report.broken_at is None else 1


if __name__ == "__main__":
    sys.exit(main())
