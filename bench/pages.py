"""The three pages the hub serves most, on a large database: the nurse's team queue, the home
page and the call handler's submit, each timed with one user alone and then with ``--users`` at
once without pause (docs/performance.md, "CPU per page": the targets).

Run against a hub on this machine whose database was filled by `manage.py seed_demo --scale N`
(bench/run_pages.sh starts gunicorn and a Celery worker on it). Phases, each timed on its own,
one user first (latency without queueing), then ``--users``:

1. **Team queue**: ``GET /queue/`` as the demo users of the Riverside team queue (``nurse``,
   ``lead``, in turn); a success is a 200 with the queue block.
2. **Home page**: ``GET /`` as the call handler, the nurse and the coordinator in turn; a success
   is a 200 for the signed-in user.
3. **Call submit**: as the demo ``handler``, the call screen (``GET /calls/new/?patient=``) then
   the POST of a call with one or two needs for a real patient, as bench/call_handler.py sends
   them (its code); a success is the redirect to the saved call. Both are reported; the POST is
   the one with a target. Each submit adds a call and its referrals to the database, routed by the
   worker.

Standard library HTTP, with login_home.py's helpers; psycopg (the project's .venv/bin/python)
picks the patients. Bounded: fixed request counts, a timeout on every request and on each phase;
talks only to 127.0.0.1. The load generator shares the machine's cores with the hub: every
figure it prints says so.

Exit status: 0 when every request succeeded, 1 otherwise, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import call_handler  # the call submit, as the call handler benchmark sends it
import login_home  # the sibling benchmarks' helpers

QUEUE_USERS = ("nurse", "lead")
HOME_USERS = ("handler", "nurse", "coordinator")
# Rounds of warming requests by each user (--users, 4) before a page is measured: 20 requests,
# so that each of gunicorn's workers (5 on two cores) has answered some before the first timed
# one; with one round, a worker's first page (imports, templates, its connection: over 100 ms)
# fell among the 40 timed ones of one user and made their p95.
WARM_ROUNDS = 5
QUEUE_MARKER = 'id="queue"'
# (phase, row, the targets of docs/performance.md "CPU per page": p95 ms, one user / --users).
TARGETS = (
    ("queue", "team queue (GET /queue/)", 50, 150),
    ("home", "home page (GET /)", 15, 60),
    ("submit", "submit (POST)", 60, 120),
)


def run_gets(
    base: str,
    openers: list[Any],
    *,
    name: str,
    path: str,
    marker: str,
    per_user: int,
    timeout: float,
    phase_timeout: float,
) -> dict[str, Any]:
    """Each session GETs ``path`` ``per_user`` times without pause; a success is a 200 whose body
    holds ``marker``."""
    timings = login_home.Timings()

    def user(index: int) -> None:
        deadline = time.perf_counter() + phase_timeout
        for _ in range(per_user):
            if time.perf_counter() > deadline:
                timings.fail("phase deadline")
                return
            try:
                page, elapsed = login_home.request(
                    openers[index], f"{base}{path}", data=None, timeout=timeout
                )
            except login_home.NO_ANSWER as exc:
                timings.fail(f"no answer: {exc.__class__.__name__}")
                continue
            if page.status != 200 or marker not in page.body:
                timings.fail(f"HTTP {page.status}" if page.status != 200 else "page incomplete")
                continue
            timings.ok(elapsed)

    return login_home.run_phase(len(openers), user, {name: timings}, timeout=phase_timeout)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8054", help="the hub (127.0.0.1 only)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", ""),
        help="the hub's PostgreSQL database, to pick patients (127.0.0.1 only)",
    )
    parser.add_argument("--pages-per-user", type=int, default=40, help="queue and home pages")
    parser.add_argument("--submits-per-user", type=int, default=20, help="calls per user")
    parser.add_argument("--username", default="handler", help="the demo user who takes calls")
    login_home.add_phase_arguments(parser, seed_help="which patients (repeatable)")
    args = parser.parse_args(argv)
    login_home.refuse_remote_targets(parser, url=args.url, database_url=args.database_url)
    if not (
        1 <= args.users <= 64
        and 1 <= args.pages_per_user <= 5_000
        and 0 <= args.submits_per_user <= 5_000
    ):
        parser.error("--users 1-64, --pages-per-user 1-5000, --submits-per-user 0-5000")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    base = args.url.rstrip("/")
    conn = login_home.connect_db(args.database_url)
    sizes = login_home.table_sizes(conn, call_handler.REPORTED_TABLES)
    samples = call_handler.load_samples(conn, 200, args.seed)
    conn.close()
    print(
        f"Database: about {sizes['patients_patient']:,} patients, "
        f"{sizes['referrals_referral']:,} referrals, "
        f"{sizes['referrals_referralevent']:,} referral events"
    )

    def sessions(usernames: tuple[str, ...]) -> list[Any]:
        return [
            login_home.sign_in(
                base, usernames[i % len(usernames)], args.password, timeout=args.timeout
            )
            for i in range(args.users)
        ]

    results: dict[str, Any] = {
        "url": base,
        "database": sizes,
        "args": {k: v for k, v in vars(args).items() if k not in ("password", "json")},
    }
    errors = 0
    pages = (
        ("queue", "team queue (GET /queue/)", "/queue/", QUEUE_MARKER, QUEUE_USERS),
        ("home", "home page (GET /)", "/", login_home.SIGNED_IN_MARKER, HOME_USERS),
    )
    for key, name, path, marker, usernames in pages:
        openers = sessions(usernames)
        # Warm every gunicorn worker's imports, templates and connection, unmeasured: a worker
        # takes whichever request reaches it first, so one request per user leaves some cold.
        for _ in range(WARM_ROUNDS):
            for opener in openers:
                login_home.request(opener, f"{base}{path}", data=None, timeout=args.timeout)
        for phase, group in (("alone", openers[:1]), ("loaded", openers)):
            result = run_gets(
                base,
                group,
                name=name,
                path=path,
                marker=marker,
                per_user=args.pages_per_user,
                timeout=args.timeout,
                phase_timeout=args.phase_timeout,
            )
            results[f"{key}_{phase}"] = result
            errors += login_home.print_phase(
                f"{name}, {phase}", result, shares_with="gunicorn, the worker and PostgreSQL"
            )
    if args.submits_per_user:
        submit = call_handler.Bench(args)
        openers = sessions((args.username,))
        for phase, group in (("alone", openers[:1]), ("loaded", openers)):
            result = submit.run_submit(phase, group, samples, args.submits_per_user)
            results[f"submit_{phase}"] = result
            errors += login_home.print_phase(
                f"Call submit, {phase}", result, shares_with="gunicorn, the worker and PostgreSQL"
            )
    print(f"\nTargets (p95 ms, one user / {args.users} at once):")
    results["targets"] = []
    for phase, name, alone_target, loaded_target in TARGETS:
        found = [
            next((r["p95_ms"] for r in results[key]["rows"] if r["name"] == name), None)
            for key in (f"{phase}_alone", f"{phase}_loaded")
            if key in results
        ]
        p95 = [value for value in found if value is not None]
        if len(p95) < 2:
            continue
        met = p95[0] <= alone_target and p95[1] <= loaded_target
        results["targets"].append(
            {"row": name, "p95_ms": p95, "target_ms": [alone_target, loaded_target], "met": met}
        )
        print(
            f"  {name:26} {p95[0]} / {p95[1]} against {alone_target} / {loaded_target}: "
            f"{'met' if met else 'NOT met'}"
        )
    results["errors"] = errors
    login_home.write_results(args.json, results)
    print(f"\n{errors} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
