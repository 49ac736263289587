"""Where an API list's time goes: cProfile's top frames and each SQL statement's time, in one
process against the hub's database.

Runs the lists of `bench/api_lists.py` (the referral list's first page, a page 40 deep along
`next`, a patient search) and the FHIR API's referral searches (`ServiceRequest`'s first page, a
page 40 deep along the Bundle's next links, one organisation's `Task`s) through Django's test client signed in as ``--username`` (the local
settings with DEBUG off), without a web server, ``--requests`` times each under cProfile after a
few unmeasured ones. For each it prints the statements of one request with their time, and the
frames that took the most time of their own and in total. The database's CPU is in the statement
times, not in the frames' own time. `bash bench/run_api_lists.sh` measures latency under load;
docs/performance.md ("API lists") reports both.

Exit status: 0 when every request answered 200, 1 otherwise.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spoc.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "false")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from referrals.models import Referral  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from login_home import write_results  # noqa: E402


@contextmanager
def timed_statements() -> Iterator[list[tuple[float, str]]]:
    """(milliseconds, SQL) of every statement run inside, in order."""
    statements: list[tuple[float, str]] = []

    def wrapper(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append((1000 * (time.perf_counter() - started), sql))

    with connection.execute_wrapper(wrapper):
        yield statements


def deep_url(client: Client, url: str, pages: int) -> str:
    """The address ``pages`` deep along the next links from ``url``: the REST API's ``next``, or
    a FHIR Bundle's link of relation next."""
    for _ in range(pages - 1):
        body = client.get(url).json()
        if "link" in body:
            url = next(link["url"] for link in body["link"] if link["relation"] == "next")
        else:
            url = body["next"]
        parts = urlsplit(url)
        url = f"{parts.path}?{parts.query}"
    return url


def busiest_organisation() -> int:
    """The organisation of the newest referral's team (the demo's hospice holds most)."""
    found = (
        Referral.objects.order_by("-id")
        .values_list("team__service__organisation_id", flat=True)
        .first()
    )
    if found is None:
        raise SystemExit("No referral in this database: build the scaled one (bench/README.md).")
    return found


def top_frames(
    profile: cProfile.Profile, key: str, count: int, requests: int, wall: float
) -> list[str]:
    """The ``count`` frames first by ``key``, each with its own and total time per request.
    Frames that hold nearly the whole request (the test client, the handler, each middleware
    around the view) say nothing and are left out."""
    stats = pstats.Stats(profile)
    stats.sort_stats(key)
    prefixes = (str(Path(sys.prefix)) + "/", str(Path.cwd()) + "/")
    rows: list[str] = []
    for func in stats.fcn_list:  # type: ignore[attr-defined]
        if len(rows) == count:
            break
        _, _, own, total, _ = stats.stats[func]  # type: ignore[attr-defined]
        if key == "cumulative" and total > 0.9 * wall:
            continue
        filename, line, name = func
        for prefix in prefixes:
            filename = filename.removeprefix(prefix)
        rows.append(
            f"{1000 * own / requests:8.2f} own {1000 * total / requests:8.2f} total ms/request  "
            f"{filename}:{line}({name})"
        )
    return rows


def profile_one(client: Client, url: str, *, requests: int, frames: int) -> dict[str, Any]:
    for _ in range(3):
        client.get(url)
    # Unprofiled first: the process's CPU time per request (the hub's own work, which other load
    # on the machine changes little) and the wall time, which includes waiting for PostgreSQL.
    cpu, wall_times = [], []
    for _ in range(requests):
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        client.get(url)
        cpu.append(time.process_time() - started_cpu)
        wall_times.append(time.perf_counter() - started_wall)
    cpu.sort()
    wall_times.sort()
    with timed_statements() as statements:
        status = client.get(url).status_code
    profile = cProfile.Profile()
    errors = 0
    started = time.perf_counter()
    profile.enable()
    for _ in range(requests):
        errors += client.get(url).status_code != 200
    profile.disable()
    wall = time.perf_counter() - started
    return {
        "url": url,
        "status": status,
        "cpu_ms_p50": round(1000 * cpu[len(cpu) // 2], 1),
        "wall_ms_p50": round(1000 * wall_times[len(wall_times) // 2], 1),
        "ms_per_request_under_profile": round(1000 * wall / requests, 1),
        "statements": [f"{ms:8.2f} ms  {sql[:160]}" for ms, sql in statements],
        "by_own_time": top_frames(profile, "tottime", frames, requests, wall),
        "by_total_time": top_frames(profile, "cumulative", frames, requests, wall),
        "errors": errors + (status != 200),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--username", default="coordinator")
    parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD", "spoc-demo-2026"))
    parser.add_argument("--requests", type=int, default=30, help="profiled requests per list")
    parser.add_argument("--frames", type=int, default=12, help="frames shown per ordering")
    parser.add_argument("--search", default="smith", help="the patient search's query")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    client = Client(HTTP_HOST="127.0.0.1")
    response = client.post(
        "/accounts/login/", {"username": args.username, "password": args.password}
    )
    if response.status_code != 302:
        raise SystemExit(f"Could not sign in as {args.username}: HTTP {response.status_code}")
    urls = [
        "/api/v1/referrals/",
        deep_url(client, "/api/v1/referrals/", 40),
        f"/api/v1/patients/?q={args.search}",
        "/fhir/R4/ServiceRequest",
        deep_url(client, "/fhir/R4/ServiceRequest", 40),
        f"/fhir/R4/Task?owner=Organization/{busiest_organisation()}",
    ]
    rows = [profile_one(client, url, requests=args.requests, frames=args.frames) for url in urls]
    for row in rows:
        print(
            f"\n{row['url']}: CPU {row['cpu_ms_p50']} ms and wall {row['wall_ms_p50']} ms a request "
            f"(p50), {row['ms_per_request_under_profile']} ms under cProfile"
        )
        print("  statements of one request:")
        for line in row["statements"]:
            print(f"    {line}")
        print("  by own time:")
        for line in row["by_own_time"]:
            print(f"    {line}")
        print("  by total time:")
        for line in row["by_total_time"]:
            print(f"    {line}")
    write_results(args.json, {"requests": args.requests, "rows": rows})
    return 1 if any(row["errors"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
