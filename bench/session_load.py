"""What loading a signed-in session costs the web process: read from the database, as with
SESSION_KEPT_SECONDS=0, and from the default cache (Redis), as the hub keeps it by default
(spoc/accounts/sessions.py). Every page and poll of a signed-in user loads their session once.

Runs in one process against the hub's database and Redis (DATABASE_URL, REDIS_URL; the local
settings with DEBUG off), signs in as ``--username`` through the sign-in page as bench/page_cost.py
does, then loads that session ``--loads`` times each way, in ``--rounds`` alternating rounds so
that a busy machine weighs on both alike. CPU time (``time.process_time``) per load; compare
runs taken together. docs/performance.md ("Sessions read through Redis") reports the figures.

Exit status: 0; 2 when REDIS_URL is unset (nothing is kept without Redis).
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

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from spoc.accounts.sessions import SessionStore  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from login_home import write_results  # noqa: E402
from page_cost import signed_in  # noqa: E402


def cpu_ms_per_load(session_key: str, kept_seconds: int, loads: int) -> tuple[float, int]:
    """CPU ms per load of ``session_key`` with SESSION_KEPT_SECONDS at ``kept_seconds``, and the
    queries one load asks."""
    with override_settings(SESSION_KEPT_SECONDS=kept_seconds):
        SessionStore(session_key).load()  # kept, when kept_seconds is not 0
        with CaptureQueriesContext(connection) as queries:
            SessionStore(session_key).load()
        started = time.process_time()
        for _ in range(loads):
            SessionStore(session_key).load()
        return 1000 * (time.process_time() - started) / loads, len(queries.captured_queries)


def run(args: argparse.Namespace) -> dict[str, Any]:
    client = signed_in(args.username, args.password)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    kept = settings.SESSION_KEPT_SECONDS
    rounds: dict[str, list[float]] = {"database": [], "kept": []}
    queries: dict[str, int] = {}
    for _ in range(args.rounds):
        for name, seconds in (("database", 0), ("kept", kept)):
            cpu, queries[name] = cpu_ms_per_load(session_key, seconds, args.loads)
            rounds[name].append(round(cpu, 3))
    return {
        "username": args.username,
        "session_kept_seconds": kept,
        "loads_per_round": args.loads,
        "cpu_ms_per_load": rounds,
        "median_cpu_ms_per_load": {name: statistics.median(cpus) for name, cpus in rounds.items()},
        "queries_per_load": queries,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--username", default="nurse")
    parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD", "spoc-demo-2026"))
    parser.add_argument("--loads", type=int, default=2000, help="loads per round and way")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if not settings.SESSION_KEPT_SECONDS:
        print("SESSION_KEPT_SECONDS is 0 (REDIS_URL unset?): nothing to compare.", file=sys.stderr)
        return 2
    result = run(args)
    for name, cpus in result["cpu_ms_per_load"].items():
        print(
            f"{name}: {result['queries_per_load'][name]} queries a load, CPU ms per load "
            f"{', '.join(f'{cpu:.3f}' for cpu in cpus)} (median {statistics.median(cpus):.3f})"
        )
    write_results(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
