"""What a connection costs, straight to PostgreSQL and through PgBouncer in transaction mode, and
how many server connections many clients hold (docs/deployment.md, "Pooled connections").

Run by bench/run_pooling.sh, which starts PgBouncer (deploy/pgbouncer/run.sh) on the side. Two
measures, each with `--clients` threads for `--seconds`:

1. **connect**: each thread opens a connection, runs one short query (a primary-key read of the
   access log's table, empty or not) and closes it, again and again: what a process with
   CONN_MAX_AGE=0 pays per request, and what a new gunicorn or Celery process pays once.
2. **held**: each thread keeps one connection and runs the query in a transaction of its own,
   again and again (the hub's CONN_MAX_AGE=600): the queries per second, and the server
   connections PostgreSQL counted (pg_stat_activity) while they ran.

Figures: queries per second and the median and p95 of one round trip (connect included in 1).
The clients, PgBouncer and PostgreSQL share the machine's cores, and the machine may be shared
with other work: every figure says so.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

RESULTS = Path(__file__).resolve().parent / "results"
QUERY = "SELECT id FROM audit_accesslog WHERE id = 1"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def run(conninfo: str, *, clients: int, seconds: float, hold: bool, watch: str) -> dict[str, Any]:
    timings: list[list[float]] = [[] for _ in range(clients)]
    stop = threading.Event()
    peak = [0]

    def client(index: int) -> None:
        held = psycopg.connect(conninfo, autocommit=True, prepare_threshold=None) if hold else None
        while not stop.is_set():
            start = time.perf_counter()
            if held is not None:
                with held.transaction():
                    held.execute(QUERY).fetchall()
            else:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(QUERY).fetchall()
            timings[index].append(time.perf_counter() - start)
        if held is not None:
            held.close()

    def watcher() -> None:
        # Server connections to the database, seen from PostgreSQL itself (not through PgBouncer).
        with psycopg.connect(watch, autocommit=True) as conn:
            while not stop.is_set():
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                ).fetchone()
                peak[0] = max(peak[0], int(row[0]) if row else 0)
                time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    threads.append(threading.Thread(target=watcher))
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    every = [t for per in timings for t in per]
    return {
        "queries": len(every),
        "per_s": round(len(every) / seconds, 1),
        "p50_ms": round(statistics.median(every) * 1000, 2) if every else None,
        "p95_ms": round(percentile(every, 0.95) * 1000, 2),
        "server_connections_peak": peak[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--direct", required=True, help="libpq URL straight to PostgreSQL")
    parser.add_argument("--pooled", required=True, help="the same database through PgBouncer")
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--json", type=Path, default=RESULTS / "pooling.json")
    args = parser.parse_args()
    results = []
    # Straight to PostgreSQL first: PgBouncer keeps its server connections open afterwards, and
    # they would be counted with the direct clients'.
    for route, conninfo in (("direct", args.direct), ("pgbouncer", args.pooled)):
        for measure, hold in (("connect", False), ("held", True)):
            figures = run(
                conninfo, clients=args.clients, seconds=args.seconds, hold=hold, watch=args.direct
            )
            results.append({"measure": measure, "route": route, **figures})
            print(
                f"{measure:8} {route:10} {figures['per_s']:8.1f} queries/s, p50 "
                f"{figures['p50_ms']} ms, p95 {figures['p95_ms']} ms, at most "
                f"{figures['server_connections_peak']} server connections "
                f"({args.clients} clients)",
                flush=True,
            )
    RESULTS.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"clients": args.clients, "results": results}, indent=2))
    print(f"Written to {args.json}")


if __name__ == "__main__":
    main()
