"""What one page costs the web process: CPU time and database queries per page, signed in.

Runs in one process against the hub's database (DATABASE_URL, the local settings with DEBUG off),
through Django's test client, without a web server: so its CPU figure is the hub's own work per
page (middleware, views, templates, the database driver), which other load on the machine
barely changes, where the latencies of `login_home.py` are mostly queueing on a busy machine.
The database's own CPU is not in it; the queries per page are counted instead. Needs the demo
users (`manage.py seed_demo --patients 0`). `bash bench/run_page_cost.sh` runs it on a fresh
database; docs/performance.md reports the figures.

The call screen is measured twice: its page (GET) and its submit (POST of a call with one need
for a real patient; left out when the database has none). Each submit first loads the call screen, untimed, for a fresh idempotency
key, and adds a call and a referral to the database: point it at a benchmark database, or leave
it out with ``--pages``. ``--profile`` also runs each page under cProfile and writes its most
expensive frames (own time, and cumulative time) to ``--profile-file``
(``bench/results/page_cost-profile.txt``), which docs/performance.md ("CPU per page") quotes.

The team queue's htmx poll is measured three times, as the page sends it (its block's ``hx-get``
and ``hx-headers``, with htmx's own headers): **changed**, with a version the queue no longer has,
so the block is drawn again, its rows read from the database (what the first open tab's poll
costs after one referral of the team changed: the rows and state kept in the process are emptied,
untimed, before each); **kept**, the same poll with the rows the first tab's poll read (what the
team's other open tabs pay for that change in the same process), and the queue's state while it
is kept (QUEUE_STATE_KEPT_SECONDS); and **unchanged**, with the page's own version (answered 204),
its state kept likewise.

Exit status: 0 when every page answered as expected (200; a submit, 302 to its call; an
unchanged poll, 204), 1 otherwise.
"""

from __future__ import annotations

import argparse
import cProfile
import html
import io
import json
import os
import pstats
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spoc.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "false")

import django

django.setup()

from django.conf import settings  # noqa: E402

# The team queue's kept rows in this process's memory (not Redis, as in production), so that a
# "changed" poll can empty them: clearing the Redis cache would empty the broker's database too.
settings.CACHES["queue"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "team-queue",
}

from django.core.cache import caches  # noqa: E402
from django.core.cache.backends.locmem import LocMemCache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from login_home import percentile, write_results  # noqa: E402
from worklist import HX_GET, HX_HEADERS, QUEUE_DIV, QUEUE_PATH, STALE_VERSION  # noqa: E402

HIDDEN = re.compile(r'<input type="hidden" name="(idempotency_key|received_at)" value="([^"]*)"')
CALL_SCREEN = "/calls/new/"
CALL_SAVED = re.compile(r"^/calls/\d+/$")


@dataclass(frozen=True)
class Page:
    """A page as one demo user loads it (``POST``: the call screen's submit; ``poll``:
    "changed", "kept" or "unchanged", the htmx poll of the team queue at ``path``)."""

    user: str
    path: str
    method: str = "GET"
    poll: str = ""

    @property
    def name(self) -> str:
        return (
            f"{self.user} {self.path}"
            + (" POST" if self.method == "POST" else "")
            + (f" poll {self.poll}" if self.poll else "")
        )


# The busiest pages of the people who use the hub most.
PAGES = (
    Page("coordinator", "/"),
    Page("nurse", "/"),
    Page("nurse", QUEUE_PATH),
    Page("nurse", QUEUE_PATH, poll="changed"),
    Page("nurse", QUEUE_PATH, poll="kept"),
    Page("nurse", QUEUE_PATH, poll="unchanged"),
    Page("handler", "/"),
    Page("handler", CALL_SCREEN),
    Page("handler", CALL_SCREEN, "POST"),
)


def signed_in(username: str, password: str) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    response = client.post("/accounts/login/", {"username": username, "password": password})
    if response.status_code != 302:
        raise SystemExit(f"Could not sign in as {username}: HTTP {response.status_code}")
    return client


def call_form(client: Client, patient_id: int) -> dict[str, str]:
    """A call with one need for ``patient_id``, as bench/call_handler.py submits it, with the
    call screen's hidden fields (a fresh idempotency key)."""
    page = client.get(f"{CALL_SCREEN}?patient={patient_id}").content.decode()
    return {
        **dict(HIDDEN.findall(page)),
        "patient": str(patient_id),
        "caller_type": "DISTRICT_NURSE",
        "caller_name": "Bench Caller",
        "reason": "SYMPTOM_CONTROL",
        "phase": "DETERIORATING",
        "patient_location": "HOME",
        "disposition": "REFERRALS_CREATED",
        "chosen_priority": "",
        "needs": "SPECIALIST_FOLLOW_UP",
    }


class Loader:
    """Loads one page again and again: ``prepare()`` is untimed (a submit's form), ``send`` is
    the request measured."""

    def __init__(self, client: Client, page: Page) -> None:
        self.client, self.page = client, page
        self.patient_ids: list[int] = []
        self.turn = 0
        self.path, self.status = page.path, 200
        self.headers: dict[str, str] = {}
        if page.poll:
            self.path, self.headers = self.queue_poll(page.poll)
            self.status = 204 if page.poll == "unchanged" else 200
        if page.method == "POST":
            from patients.models import Patient

            self.patient_ids = list(
                Patient.objects.filter(died_at__isnull=True)
                .order_by("-pk")
                .values_list("pk", flat=True)[:50]
            )

    def queue_poll(self, kind: str) -> tuple[str, dict[str, str]]:
        """The URL and headers of the poll the team queue page sends (bench/worklist.py reads
        them the same way), with a version the queue no longer has for a "changed" or "kept"
        poll."""
        body = self.client.get(self.page.path).content.decode()
        div = QUEUE_DIV.search(body)
        url = div and HX_GET.search(div.group(0))
        headers = div and HX_HEADERS.search(div.group(0))
        if not (url and headers):
            raise SystemExit(f"No polled queue block on {self.page.path} for {self.page.user}")
        sent = {
            "HX-Request": "true",
            "HX-Current-URL": f"http://127.0.0.1{self.page.path}",
            "HX-Target": "queue",
            "HX-Trigger": "queue",
            **json.loads(html.unescape(headers.group(1))),
        }
        if kind != "unchanged":
            sent["X-Queue-Version"] = STALE_VERSION
        return html.unescape(url.group(1)), sent

    def prepare(self) -> dict[str, str] | None:
        if self.page.poll == "changed":
            # The first tab's poll after a change reads the rows. Only ever this process's
            # memory: clear() on Redis would empty the broker's database.
            assert isinstance(caches["queue"], LocMemCache)
            caches["queue"].clear()
        if self.page.method == "GET":
            return None
        self.turn += 1
        return call_form(self.client, self.patient_ids[self.turn % len(self.patient_ids)])

    def send(self, data: dict[str, str] | None) -> bool:
        if data is None:
            return self.client.get(self.path, headers=self.headers).status_code == self.status
        response = self.client.post(self.page.path, data)
        return response.status_code == 302 and bool(CALL_SAVED.match(response["Location"]))


def measure(loader: Loader, *, requests: int) -> dict[str, Any]:
    """Queries and session writes of one load (counted apart: counting costs CPU), then the CPU
    time and wall time of ``requests`` more."""
    data = loader.prepare()
    with CaptureQueriesContext(connection) as queries:
        first_ok = loader.send(data)
    sqls = [q["sql"] for q in queries.captured_queries]
    cpu, wall, errors = [], [], 0
    for _ in range(requests):
        data = loader.prepare()
        started_cpu, started = time.process_time(), time.perf_counter()
        errors += not loader.send(data)
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    cpu.sort()
    wall.sort()
    return {
        "ok": first_ok,
        "queries": len(sqls),
        "session_writes": sum(s.startswith('UPDATE "django_session"') for s in sqls),
        "cpu_ms_mean": round(1000 * statistics.fmean(cpu), 2),
        "cpu_ms_p50": round(1000 * percentile(cpu, 50), 2),
        "wall_ms_p50": round(1000 * percentile(wall, 50), 2),
        "wall_ms_p95": round(1000 * percentile(wall, 95), 2),
        "errors": errors + (not first_ok),
    }


def profile(loader: Loader, *, requests: int, top: int) -> str:
    """The ``top`` frames of ``requests`` loads under cProfile, by own time and by cumulative
    time (preparation not profiled), as pstats prints them."""
    profiler = cProfile.Profile()
    for _ in range(requests):
        data = loader.prepare()
        profiler.enable()
        loader.send(data)
        profiler.disable()
    return profile_text(profiler, top=top)


def profile_text(profiler: cProfile.Profile, *, top: int) -> str:
    """The ``top`` frames of a profile by own time and by cumulative time, as pstats prints them
    (bench/routing_cost.py prints its profiles so too)."""
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="timed pages per row")
    parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD", "spoc-demo-2026"))
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--pages",
        default="",
        help="only the pages whose name contains one of these comma-separated words "
        "(e.g. 'queue,POST'); names as printed",
    )
    parser.add_argument("--profile", action="store_true", help="also profile each page")
    parser.add_argument("--profile-requests", type=int, default=50, help="loads profiled per page")
    parser.add_argument("--profile-top", type=int, default=30, help="frames listed per order")
    parser.add_argument(
        "--profile-file",
        type=Path,
        default=Path(__file__).resolve().parent / "results" / "page_cost-profile.txt",
    )
    args = parser.parse_args(argv)
    words = [w for w in args.pages.split(",") if w]
    pages = [p for p in PAGES if not words or any(w in p.name for w in words)]
    rows, profiles = [], []
    for page in list(pages):
        loader = Loader(signed_in(page.user, args.password), page)
        if page.method == "POST" and not loader.patient_ids:
            print(f"{page.name}: left out, the database has no living patients to call about")
            pages.remove(page)
            continue
        for _ in range(5):  # warm: imports, templates, the connection
            loader.send(loader.prepare())
        rows.append(
            {
                "user": page.user,
                "path": page.path,
                "method": page.method,
                "poll": page.poll,
                **measure(loader, requests=args.requests),
            }
        )
        if args.profile:
            text = profile(loader, requests=args.profile_requests, top=args.profile_top)
            profiles.append(f"=== {page.name}: {args.profile_requests} loads\n{text}")
    print(f"{'':30} {'queries':>7} {'writes':>6} {'CPU ms':>7} {'p50 ms':>7} {'p95 ms':>7}")
    for page, row in zip(pages, rows, strict=True):
        print(
            f"{page.name:30} {row['queries']:>7} {row['session_writes']:>6} "
            f"{row['cpu_ms_mean']:>7} {row['wall_ms_p50']:>7} {row['wall_ms_p95']:>7}"
        )
    if profiles:
        args.profile_file.parent.mkdir(parents=True, exist_ok=True)
        args.profile_file.write_text("\n".join(profiles))
        print(f"Profiles: {args.profile_file}")
    write_results(args.json, {"requests_per_row": args.requests, "rows": rows})
    return 1 if any(row["errors"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
