"""Sign-in and home page under concurrency, against a running hub on this machine.

Each virtual user signs in once (GET the sign-in page, read its CSRF token, POST the demo
credentials), waits until every user has signed in, then GETs the home page a fixed number of
times. The two phases are timed apart, so the sign-in figures (dominated by password hashing) do
not blur the home page figures.

Standard library only, so it runs from any Python 3.11 without the project's environment.
Bounded: fixed request counts, a timeout on every request and on each phase. It only ever talks
to 127.0.0.1. `bash bench/run_login_home.sh` prepares a database and a gunicorn to run it against;
docs/performance.md reports the figures.

The other benchmarks that talk HTTP (call_handler.py, worklist.py, dashboard.py) import their
helpers from here: requests and their timings, signing in, phases of concurrent users and their
report, the read-only database probe (psycopg, imported only by the scripts that use it), the
JSON results.

Exit status: 0 when every request succeeded, 1 when any failed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import http.cookiejar
import json
import math
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The users `manage.py seed_demo` creates (devtools/demo/users.py); virtual users take them in
# turn, so several sessions share a username, as a shared workstation would.
DEMO_USERNAMES = (
    "handler",
    "nurse",
    "lead",
    "coordinator",
    "manager",
    "diradmin",
    "auditor",
    "admin",
)
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# Present only on a page rendered for a signed-in user (templates/base.html).
SIGNED_IN_MARKER = 'data-testid="current-user"'
ALLOWED_HOST = "127.0.0.1"
# No HTTP answer: refused or reset connections, timeouts, truncated responses.
NO_ANSWER = (OSError, http.client.HTTPException)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand 3xx responses back to the caller: the sign-in POST is timed on its own, without the
    home page it redirects to, and a redirect to the sign-in page counts as an error."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@dataclass
class Timings:
    seconds: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, elapsed: float) -> None:
        with self.lock:
            self.seconds.append(elapsed)

    def fail(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] += 1


@dataclass
class Response:
    status: int
    location: str
    body: str


def request(
    opener: urllib.request.OpenerDirector, url: str, *, data: dict[str, str] | None, timeout: float
) -> tuple[Response, float]:
    """One request; returns the response and its latency in seconds (headers and body read).
    Raises one of NO_ANSWER when no complete HTTP answer arrives."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    # Only ever http://127.0.0.1 (parse_args refuses anything else).
    req = urllib.request.Request(url, data=body)  # noqa: S310
    start = time.perf_counter()
    try:
        with opener.open(req, timeout=timeout) as resp:
            text = resp.read().decode("utf-8", "replace")
            status, location = resp.status, resp.headers.get("Location", "")
    except urllib.error.HTTPError as exc:  # 3xx (redirects are not followed), 4xx, 5xx
        text = exc.read().decode("utf-8", "replace")
        status, location = exc.code, exc.headers.get("Location", "")
    return Response(status, location, text), time.perf_counter() - start


def refuse_remote_targets(
    parser: argparse.ArgumentParser, *, url: str, database_url: str | None = None
) -> None:
    """Benchmarks talk only to this machine: the hub at http://127.0.0.1 and, when given, its
    PostgreSQL database there (parser.error otherwise)."""
    target = urllib.parse.urlsplit(url)
    if target.scheme != "http" or target.hostname != ALLOWED_HOST:
        parser.error(
            f"--url must be http://{ALLOWED_HOST}:<port>: this benchmark never leaves the machine"
        )
    if database_url is None:
        return
    database = urllib.parse.urlsplit(database_url)
    if database.scheme not in ("postgres", "postgresql") or database.hostname not in (
        ALLOWED_HOST,
        "localhost",
    ):
        parser.error(
            "--database-url must be postgres://...@127.0.0.1/<db> (the hub's database on this machine)"
        )


def add_phase_arguments(parser: argparse.ArgumentParser, *, seed_help: str) -> None:
    """The users, limits, seed and output every benchmark run in timed phases takes
    (call_handler.py, worklist.py)."""
    parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD", "spoc-demo-2026"))
    parser.add_argument(
        "--users", type=int, default=4, help="concurrent users in the loaded phases"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds allowed per request")
    parser.add_argument(
        "--phase-timeout", type=float, default=600.0, help="seconds allowed per phase"
    )
    parser.add_argument("--seed", type=int, default=7, help=seed_help)
    parser.add_argument("--json", type=Path, help="also write the results to this file")


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (no interpolation)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


class CpuMeter:
    """CPU used during a phase, in cores: by this load generator (all its threads), by the whole
    machine, and taken by the hypervisor (steal) on a virtual machine; the last two from
    /proc/stat, Linux only. The generator shares the machine with the hub, so how much it took is
    part of every figure."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.own = time.process_time()
        self.machine = self._proc_stat()

    @staticmethod
    def _proc_stat() -> tuple[float, float] | None:
        """(busy seconds, stolen seconds) summed over all cores since boot."""
        try:
            with open("/proc/stat") as f:
                ticks = [int(v) for v in f.readline().split()[1:]]
        except OSError:
            return None
        tick = os.sysconf("SC_CLK_TCK")
        idle, steal = ticks[3] + ticks[4], ticks[7]  # idle + iowait; steal
        return (sum(ticks[:8]) - idle - steal) / tick, steal / tick

    def stop(self) -> dict[str, Any]:
        wall = time.perf_counter() - self.wall
        now = self._proc_stat()
        busy = steal = None
        if self.machine is not None and now is not None and wall > 0:
            busy = round((now[0] - self.machine[0]) / wall, 2)
            steal = round((now[1] - self.machine[1]) / wall, 2)
        own = round((time.process_time() - self.own) / wall, 2) if wall > 0 else None
        return {
            "generator_cores": own,
            "machine_busy_cores": busy,
            "stolen_cores": steal,
            "cores": os.cpu_count(),
        }


def summarise(name: str, timings: Timings, wall_seconds: float) -> dict[str, Any]:
    """Latency figures in milliseconds (None when nothing succeeded) and throughput."""
    values = sorted(timings.seconds)

    def ms(seconds: float) -> float | None:
        return round(seconds * 1000, 1) if values else None

    return {
        "name": name,
        "ok": len(values),
        "errors": sum(timings.errors.values()),
        "error_kinds": dict(timings.errors),
        "p50_ms": ms(percentile(values, 50)),
        "p95_ms": ms(percentile(values, 95)),
        "max_ms": ms(values[-1] if values else 0.0),
        "wall_s": round(wall_seconds, 3),
        "requests_per_s": round(len(values) / wall_seconds, 1) if wall_seconds > 0 else None,
    }


def new_opener() -> urllib.request.OpenerDirector:
    """A session of its own: a cookie jar, and redirects handed back to the caller."""
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())


def sign_in(
    base: str, username: str, password: str, *, timeout: float
) -> urllib.request.OpenerDirector:
    """A new session signed in as ``username``, untimed; exits when the hub refuses."""
    opener = new_opener()
    url = f"{base}/accounts/login/"
    page, _ = request(opener, url, data=None, timeout=timeout)
    match = CSRF_FIELD.search(page.body)
    if page.status != 200 or match is None:
        raise SystemExit(f"Sign-in page: HTTP {page.status}")
    resp, _ = request(
        opener,
        url,
        timeout=timeout,
        data={"csrfmiddlewaretoken": match.group(1), "username": username, "password": password},
    )
    if resp.status != 302 or urllib.parse.urlsplit(resp.location).path != "/":
        raise SystemExit(f"Could not sign in as {username}: HTTP {resp.status} {resp.location}")
    return opener


def connect_db(url: str) -> Any:
    """A read-only connection to the hub's PostgreSQL database, for the probes."""
    import psycopg  # the project's driver; only the probes need it

    conn = psycopg.connect(url, autocommit=True)
    # Read only for the whole session (a transaction's read_only has no effect in autocommit).
    conn.execute("SET default_transaction_read_only = on")
    return conn


def table_sizes(conn: Any, tables: tuple[str, ...]) -> dict[str, int]:
    """Rows per table, as the planner estimates them: exact counts of millions of rows would take
    seconds. -1: the table was never analysed, so there is no estimate yet."""
    sizes = {}
    with conn.cursor() as cur:
        for table in tables:
            cur.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
            row = cur.fetchone()
            sizes[table] = int(row[0]) if row else 0
    return sizes


def run_phase(
    users: int, work: Callable[[int], None], timings: dict[str, Timings], *, timeout: float
) -> dict[str, Any]:
    """``work(0)`` to ``work(users - 1)`` at once, one thread each, each waited for ``timeout``
    seconds; each timing's figures over the phase's wall time, and the CPU used meanwhile."""
    cpu = CpuMeter()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=users, thread_name_prefix="vu") as pool:
        futures = [pool.submit(work, i) for i in range(users)]
        for future in futures:
            future.result(timeout=timeout)
    wall = time.perf_counter() - started
    return {
        "users": users,
        "rows": [summarise(name, timing, wall) for name, timing in timings.items()],
        "cpu": cpu.stop(),
    }


def print_phase(
    title: str, phase: dict[str, Any], *, width: int = 26, note: str = "", shares_with: str = ""
) -> int:
    """A phase of ``run_phase`` as a table; returns its errors (a row named "all", which sums the
    others, is not counted again; a phase cut short at its deadline counts one more)."""
    users = phase["users"]
    print(f"\n{title} ({users} concurrent user{'s' if users != 1 else ''}{note})")
    print(
        f"{'':{width}} {'ok':>6} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'req/s':>7}"
    )
    errors = 0
    for row in phase["rows"]:
        print(
            f"{row['name']:{width}} {row['ok']:>6} {row['errors']:>6} {row['p50_ms']!s:>8} "
            f"{row['p95_ms']!s:>8} {row['max_ms']!s:>8} {row['requests_per_s']!s:>7}"
        )
        for kind, count in row["error_kinds"].items():
            print(f"    {count} x {kind}")
        errors += row["errors"] if row["name"] != "all" else 0
    if phase.get("timed_out"):
        print(
            "  the phase did not finish within --phase-timeout: the requests not sent count as one error"
        )
        errors += 1
    cpu = phase["cpu"]
    print(
        f"  load generator used {cpu['generator_cores']} cores; whole machine busy "
        f"{cpu['machine_busy_cores']} of {cpu['cores']} cores (the generator shares them"
        f"{f' with {shares_with}' if shares_with else ''}), {cpu['stolen_cores']} stolen by the hypervisor"
    )
    return errors


def write_results(path: Path | None, results: dict[str, Any]) -> None:
    """The results as JSON at ``path``, when one was given."""
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2, default=str) + "\n")


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.base = args.url.rstrip("/")
        self.users: int = args.users
        self.per_user: int = args.requests_per_user
        self.password: str = args.password
        self.timeout: float = args.timeout
        self.phase_timeout: float = args.phase_timeout
        self.login_page = Timings()
        self.sign_in = Timings()
        self.home = Timings()
        self.signed_in = threading.Barrier(self.users + 1)
        self.start_home = threading.Barrier(self.users + 1)

    def warm_up(self, count: int) -> None:
        """Unmeasured requests so every gunicorn worker has imported its views and templates."""
        opener = new_opener()
        for _ in range(count):
            with contextlib.suppress(*NO_ANSWER):
                request(opener, f"{self.base}/accounts/login/", data=None, timeout=self.timeout)

    def virtual_user(self, index: int) -> None:
        opener = new_opener()
        username = DEMO_USERNAMES[index % len(DEMO_USERNAMES)]
        try:
            signed_in = self._sign_in(opener, username)
        except Exception as exc:  # a bug here must not leave the other users at the barrier
            self.sign_in.fail(f"client error: {exc!r}")
            signed_in = False
        self._wait(self.signed_in)
        self._wait(self.start_home)
        if not signed_in:
            return
        for _ in range(self.per_user):
            try:
                resp, elapsed = request(opener, f"{self.base}/", data=None, timeout=self.timeout)
            except NO_ANSWER as exc:
                self.home.fail(f"no answer: {exc.__class__.__name__}")
                continue
            if resp.status != 200:
                self.home.fail(f"HTTP {resp.status} {resp.location}".strip())
            elif SIGNED_IN_MARKER not in resp.body:
                self.home.fail("200 but not signed in")
            else:
                self.home.ok(elapsed)

    def _sign_in(self, opener: urllib.request.OpenerDirector, username: str) -> bool:
        url = f"{self.base}/accounts/login/"
        try:
            page, elapsed = request(opener, url, data=None, timeout=self.timeout)
        except NO_ANSWER as exc:
            self.login_page.fail(f"no answer: {exc.__class__.__name__}")
            self.sign_in.fail("sign-in page missing")
            return False
        match = CSRF_FIELD.search(page.body)
        if page.status != 200 or match is None:
            self.login_page.fail(f"HTTP {page.status}" if page.status != 200 else "no CSRF token")
            self.sign_in.fail("sign-in page missing")
            return False
        self.login_page.ok(elapsed)
        form = {
            "csrfmiddlewaretoken": match.group(1),
            "username": username,
            "password": self.password,
        }
        try:
            resp, elapsed = request(opener, url, data=form, timeout=self.timeout)
        except NO_ANSWER as exc:
            self.sign_in.fail(f"no answer: {exc.__class__.__name__}")
            return False
        # Success is a redirect to the home page (LOGIN_REDIRECT_URL); a 200 is the form again.
        if resp.status == 302 and urllib.parse.urlsplit(resp.location).path == "/":
            self.sign_in.ok(elapsed)
            return True
        self.sign_in.fail(f"HTTP {resp.status} {resp.location}".strip())
        return False

    def _wait(self, barrier: threading.Barrier) -> None:
        # A broken barrier (a phase timed out) is reported by the coordinator thread.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=self.phase_timeout)

    def run(self) -> dict[str, Any]:
        with ThreadPoolExecutor(max_workers=self.users, thread_name_prefix="vu") as pool:
            futures = [pool.submit(self.virtual_user, i) for i in range(self.users)]
            login_started = time.perf_counter()
            login_cpu = CpuMeter()
            phase_ok = True
            try:
                self.signed_in.wait(timeout=self.phase_timeout)
            except threading.BrokenBarrierError:
                phase_ok = False
            login_wall = time.perf_counter() - login_started
            login_cpu_used = login_cpu.stop()
            home_started = time.perf_counter()
            home_cpu = CpuMeter()
            try:
                self.start_home.wait(timeout=self.phase_timeout)
            except threading.BrokenBarrierError:
                phase_ok = False
            for future in futures:
                future.result(timeout=self.phase_timeout + self.per_user * self.timeout)
            home_wall = time.perf_counter() - home_started
            home_cpu_used = home_cpu.stop()
        results = {
            "url": self.base,
            "users": self.users,
            "requests_per_user": self.per_user,
            "phases_completed": phase_ok,
            "login_page": summarise("sign-in page (GET)", self.login_page, login_wall),
            "login": summarise("sign in (POST)", self.sign_in, login_wall),
            "home": summarise("home page (GET)", self.home, home_wall),
            "cpu": {"sign_in_phase": login_cpu_used, "home_phase": home_cpu_used},
        }
        return results


def print_report(results: dict[str, Any]) -> int:
    rows = [results["login_page"], results["login"], results["home"]]
    print(
        f"{results['users']} concurrent users, {results['requests_per_user']} home pages each, "
        f"against {results['url']}"
    )
    print(f"{'':22} {'ok':>6} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'req/s':>7}")
    for row in rows:
        print(
            f"{row['name']:22} {row['ok']:>6} {row['errors']:>6} {row['p50_ms']:>8} "
            f"{row['p95_ms']:>8} {row['max_ms']:>8} {row['requests_per_s']:>7}"
        )
    print(
        "(req/s: successful requests over the wall time of their phase; the sign-in page and the "
        "sign-in POST share the sign-in phase.)"
    )
    for phase, cpu in results["cpu"].items():
        print(
            f"{phase.replace('_', ' ')}: load generator used {cpu['generator_cores']} cores; "
            f"whole machine busy {cpu['machine_busy_cores']} of {cpu['cores']} cores, "
            f"{cpu['stolen_cores']} cores stolen by the hypervisor"
        )
    errors = sum(row["errors"] for row in rows)
    for row in rows:
        for kind, count in row["error_kinds"].items():
            print(f"  {row['name']}: {count} x {kind}")
    if not results["phases_completed"]:
        print("A phase did not finish within --phase-timeout.")
        errors += 1
    print(f"errors: {errors}")
    return 1 if errors else 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8050", help="the hub (127.0.0.1 only)")
    parser.add_argument("--users", type=int, default=20, help="concurrent virtual users")
    parser.add_argument("--requests-per-user", type=int, default=25, help="home pages per user")
    parser.add_argument(
        "--password",
        default=os.environ.get("DEMO_PASSWORD", "spoc-demo-2026"),
        help="the demo users' password (DEMO_PASSWORD when seeded)",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds allowed per request")
    parser.add_argument(
        "--phase-timeout",
        type=float,
        default=300.0,
        help="seconds allowed for all users to finish signing in",
    )
    parser.add_argument("--warmup", type=int, default=6, help="unmeasured sign-in page requests")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    refuse_remote_targets(parser, url=args.url)
    if not 1 <= args.users <= 200 or not 1 <= args.requests_per_user <= 10_000:
        parser.error("--users must be 1-200 and --requests-per-user 1-10000")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    bench = Bench(args)
    bench.warm_up(args.warmup)
    results = bench.run()
    write_results(args.json, results)
    return print_report(results)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
