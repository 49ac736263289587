"""The API's lists on a large database, as a partner system or a script reads them, against a
running hub on this machine.

Takes an API token for ``--username`` (``POST /api/v1/auth/token/``; default the demo
coordinator, who sees every referral) and times, each request on its own:

- **referrals, first page**: ``GET /api/v1/referrals/``, the newest 50;
- **referrals, deep pages**: a walk from the first page following each page's ``next`` link,
  ``--depth`` pages deep (the page number links of a page-numbered list, or the cursor links of a
  cursor-paged one: the bench follows whichever the hub gives), each page after the first timed;
- **patients**: ``GET /api/v1/patients/?q=`` with the NHS number, a family name fragment, or the
  date of birth and family name of patients found on the first referral pages (read through the
  API, untimed).

Each kind runs first with one user alone, then with ``--users`` at once, every user requesting
without pause. Standard library only (shares its helpers with ``login_home.py``). Only talks to
127.0.0.1. ``bash bench/run_api_lists.sh`` starts gunicorn over the scaled database;
docs/performance.md ("API lists") reports the figures.

Exit status: 0 when every request succeeded, 1 when any failed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from login_home import (  # a sibling script, not a package
    NO_ANSWER,
    CpuMeter,
    Timings,
    refuse_remote_targets,
    summarise,
    write_results,
)


def api_get(url: str, token: str, timeout: float) -> tuple[int, Any, float]:
    """One GET with the token: (status, parsed JSON body or None, seconds to the whole body)."""
    # Only ever http://127.0.0.1 (parse_args refuses anything else).
    req = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})  # noqa: S310
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            raw, status = resp.read(), resp.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    elapsed = time.perf_counter() - start
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    return status, body, elapsed


def token_for(base: str, username: str, password: str, timeout: float) -> str:
    data = json.dumps({"username": username, "password": password}).encode()
    req = urllib.request.Request(  # noqa: S310
        f"{base}/api/v1/auth/token/", data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            body = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"Could not get a token for {username}: HTTP {exc.code}") from exc
    return str(body["token"])


class Bench:
    def __init__(self, args: argparse.Namespace, token: str) -> None:
        self.args = args
        self.base = args.url.rstrip("/")
        self.token = token

    def timed(self, url: str, timings: Timings) -> Any:
        """The body of a timed 200 with its results; None (counted as an error) otherwise."""
        try:
            status, body, elapsed = api_get(url, self.token, self.args.timeout)
        except NO_ANSWER as exc:
            timings.fail(type(exc).__name__)
            return None
        if status != 200 or not isinstance(body, dict) or "results" not in body:
            timings.fail(f"HTTP {status}")
            return None
        timings.ok(elapsed)
        return body

    def phase(self, name: str, users: int, work: Callable[[int, Timings], None]) -> dict[str, Any]:
        timings = Timings()
        go = threading.Barrier(users)

        def user(index: int) -> None:
            go.wait(timeout=self.args.timeout)
            work(index, timings)

        meter = CpuMeter()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=users) as pool:
            list(pool.map(user, range(users)))
        summary = summarise(name, timings, time.perf_counter() - started)
        summary["cpu"] = meter.stop()
        summary["users"] = users
        return summary

    def first_pages(self, index: int, timings: Timings) -> None:
        for _ in range(self.args.requests_per_user):
            self.timed(f"{self.base}/api/v1/referrals/", timings)

    def deep_walk(self, index: int, timings: Timings) -> None:
        """From the first page (untimed) along ``next``, ``--depth`` pages deep."""
        _, body, _ = api_get(f"{self.base}/api/v1/referrals/", self.token, self.args.timeout)
        url = body.get("next") if isinstance(body, dict) else None
        for _ in range(self.args.depth - 1):
            if not url:
                timings.fail("the list ended before the depth")
                return
            page = self.timed(url, timings)
            if page is None:
                return
            url = page.get("next")

    def searches(self, queries: list[str]) -> Callable[[int, Timings], None]:
        def work(index: int, timings: Timings) -> None:
            for n in range(self.args.requests_per_user):
                q = queries[(index * 7 + n) % len(queries)]
                url = f"{self.base}/api/v1/patients/?{urllib.parse.urlencode({'q': q})}"
                self.timed(url, timings)

        return work

    def search_queries(self) -> list[str]:
        """NHS numbers, family name fragments, and dates of birth with family names, of the
        patients on the first referral pages (read through the API, untimed)."""
        rng = random.Random(self.args.seed)  # noqa: S311 (choosing test data)
        patient_ids: list[int] = []
        url: str | None = f"{self.base}/api/v1/referrals/"
        while url and len(patient_ids) < 3 * self.args.patients:
            _, body, _ = api_get(url, self.token, self.args.timeout)
            patient_ids += [r["patient_id"] for r in body["results"]]
            url = body.get("next")
        rng.shuffle(patient_ids)
        queries: list[str] = []
        for patient_id in dict.fromkeys(patient_ids):
            if len(queries) >= 3 * self.args.patients:
                break
            _, patient, _ = api_get(
                f"{self.base}/api/v1/patients/{patient_id}/", self.token, self.args.timeout
            )
            if not isinstance(patient, dict) or "family_name" not in patient:
                continue
            if patient["nhs_number"]:
                n = patient["nhs_number"]
                queries.append(f"{n[:3]} {n[3:6]} {n[6:]}")
            family = patient["family_name"]
            if len(family) >= 4:
                queries.append(family[: rng.randint(4, 6)])
            born = patient["date_of_birth"]
            queries.append(f"{born[8:10]}/{born[5:7]}/{born[:4]} {family}")
        if not queries:
            raise SystemExit("No patient could be read to search for.")
        rng.shuffle(queries)
        return queries

    def run(self) -> dict[str, Any]:
        # Unmeasured: every gunicorn worker has imported its views.
        for _ in range(6):
            api_get(f"{self.base}/api/v1/referrals/", self.token, self.args.timeout)
        queries = self.search_queries()
        users = self.args.users
        phases = [
            self.phase("referrals, first page, one user", 1, self.first_pages),
            self.phase(f"referrals, first page, {users} users", users, self.first_pages),
            self.phase("referrals, deep pages, one user", 1, self.deep_walk),
            self.phase(f"referrals, deep pages, {users} users", users, self.deep_walk),
            self.phase("patients, search, one user", 1, self.searches(queries)),
            self.phase(f"patients, search, {users} users", users, self.searches(queries)),
        ]
        _, first, _ = api_get(f"{self.base}/api/v1/referrals/", self.token, self.args.timeout)
        paging = "page numbers with a count" if "count" in first else "cursor"
        return {"paging": paging, "search_queries": len(queries), "phases": phases}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8056", help="the hub (127.0.0.1 only)")
    parser.add_argument("--username", default="coordinator")
    parser.add_argument("--password", default="spoc-demo-2026")
    parser.add_argument("--users", type=int, default=4, help="users at once in the loaded phases")
    parser.add_argument(
        "--requests-per-user",
        type=int,
        default=50,
        help="first pages and searches per user and phase",
    )
    parser.add_argument(
        "--depth", type=int, default=100, help="pages walked along next, per user and phase"
    )
    parser.add_argument(
        "--patients", type=int, default=40, help="patients whose details make the searches"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    refuse_remote_targets(parser, url=args.url)
    if not (1 <= args.users <= 64 and args.requests_per_user >= 1 and 2 <= args.depth <= 10_000):
        parser.error("--users 1-64, --requests-per-user at least 1, --depth 2-10000")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    base = args.url.rstrip("/")
    bench = Bench(args, token_for(base, args.username, args.password, args.timeout))
    results = bench.run()
    print(f"Paging: {results['paging']}; {results['search_queries']} search queries.")
    for phase in results["phases"]:
        print(
            f"{phase['name']}: {phase['ok']} ok, {phase['errors']} errors, p50 {phase['p50_ms']} ms, "
            f"p95 {phase['p95_ms']} ms, max {phase['max_ms']} ms, {phase['requests_per_s']} req/s, "
            f"machine busy {phase['cpu']['machine_busy_cores']} of {phase['cpu']['cores']} cores"
        )
    write_results(args.json, results)
    return 1 if any(p["errors"] for p in results["phases"]) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
