"""The call handler's work on a large database: patient search, call submit, and how long a saved
referral takes to reach a team's queue (commit -> routed), with a real Celery worker.

Run against a hub on this machine whose database was filled by `manage.py seed_demo --scale N`
(bench/run_call_handler.sh starts gunicorn and a worker on it). Phases, each timed on its own:

1. Patient search, as the call screen's live search sends it (`GET /patients/?q=...` with
   `HX-Request`), three kinds of query taken from real rows: an NHS number typed with spaces, the
   first letters of a family name (names of one or two letters timed apart, as "short_name"), a
   date of birth with a family name. First one user alone
   (latency without queueing), then `--users` at once without pause.
2. Call submit: GET the call screen (CSRF token, idempotency key), then POST a call for a real
   patient with one or two needs; success is the redirect to the saved call. One handler alone,
   then `--users` at once.
3. Commit -> routed: a thread polls the database (psycopg, read only) for the referrals of each
   submitted call until they are QUEUED. Reported twice: from the referral's created_at to its
   routed_at (server clock: the rest of the submit transaction, the enqueue, the worker picking
   it up and routing), and from the moment the POST's response arrived to the moment the poller
   first saw the referral queued (polling every `--poll-ms`).

The HTTP side is standard library only, as login_home.py (whose helpers it reuses); the database
probe needs psycopg (run it with the project's .venv/bin/python). Bounded: fixed request counts,
a timeout on every request and on each phase. It talks only to 127.0.0.1: the hub URL and the
database URL must both point there. The load generator shares the machine's cores with
gunicorn, the worker, Redis and PostgreSQL: every figure it prints says so.

Exit status: 0 when every request succeeded and every referral was routed, 1 otherwise, 2 on bad
arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import login_home  # the sibling benchmark's helpers

HIDDEN = re.compile(r'<input type="hidden" name="(idempotency_key|received_at)" value="([^"]*)"')
CALL_LOCATION = re.compile(r"^/calls/(\d+)/$")
RESULT_ROW = 'data-patient-id="{}"'
# (reason, phase, needs): mostly one referral per call, some two, as on a real line.
CALL_KINDS = (
    ("SYMPTOM_CONTROL", "UNSTABLE", ("URGENT_HOME_VISIT",)),
    ("SYMPTOM_CONTROL", "DETERIORATING", ("SPECIALIST_FOLLOW_UP",)),
    ("REQUEST_VISIT", "DETERIORATING", ("SPECIALIST_FOLLOW_UP",)),
    ("CARER_CRISIS", "DYING", ("OVERNIGHT_SUPPORT", "CARER_SUPPORT")),
    ("NEW_REFERRAL", "STABLE", ("SPECIALIST_FOLLOW_UP", "DAY_THERAPY")),
    ("CARE_PACKAGE_EQUIPMENT", "DETERIORATING", ("END_OF_LIFE_CARE_AT_HOME",)),
)

# The tables whose sizes the report gives (planner estimates).
REPORTED_TABLES = (
    "patients_patient",
    "referrals_call",
    "referrals_referral",
    "referrals_referralevent",
)


@dataclass(frozen=True)
class Sample:
    patient_id: int
    nhs_number: str | None
    family_fold: str  # the first word of the folded name, as a handler would type it
    date_of_birth: str  # dd/mm/yyyy
    family_name: str


@dataclass
class Routed:
    """The referrals of submitted calls, as the poller finds them."""

    responded_at: dict[int, float] = field(default_factory=dict)  # call id -> perf_counter
    pending_calls: set[int] = field(default_factory=set)
    server_ms: list[float] = field(default_factory=list)
    observed_ms: list[float] = field(default_factory=list)
    queued: set[int] = field(default_factory=set)
    seen: dict[int, int] = field(default_factory=dict)  # referral id -> call id
    lock: threading.Lock = field(default_factory=threading.Lock)


def load_samples(conn: Any, count: int, seed: int) -> list[Sample]:
    """Real patients spread over the whole table (a random sample of ids, not the first rows)."""
    with conn.cursor() as cur:
        cur.execute("SELECT min(id), max(id), count(*) FROM patients_patient")
        low, high, total = cur.fetchone()
        if not total:
            raise SystemExit(
                "The database has no patients: run manage.py seed_demo --scale N first."
            )
        rng = random.Random(seed)  # noqa: S311 (choosing test data)
        ids = sorted({rng.randint(low, high) for _ in range(count * 3)})
        cur.execute(
            "SELECT id, nhs_number, search_name, to_char(date_of_birth, 'DD/MM/YYYY'), family_name "
            "FROM patients_patient WHERE id = ANY(%s) AND died_at IS NULL",
            [ids],
        )
        rows = cur.fetchall()
    rng.shuffle(rows)
    return [Sample(r[0], r[1], r[2].split(" ")[0], r[3], r[4]) for r in rows[:count]]


def search_queries(samples: list[Sample], rng: random.Random) -> list[tuple[str, str, int | None]]:
    """(kind, query, expected patient id or None) in a shuffled mix of the three kinds."""
    queries: list[tuple[str, str, int | None]] = []
    for sample in samples:
        if sample.nhs_number:
            n = sample.nhs_number
            queries.append(("nhs_number", f"{n[:3]} {n[3:6]} {n[6:]}", sample.patient_id))
        fragment = sample.family_fold[: rng.randint(4, 6)]
        # Family names of one or two letters (Lê, Li, O in Ó Briain) give queries the trigram
        # index cannot serve: timed apart, so they do not hide in the other figures.
        queries.append(("name_fragment" if len(fragment) >= 3 else "short_name", fragment, None))
        queries.append(
            ("dob_and_name", f"{sample.date_of_birth} {sample.family_name}", sample.patient_id)
        )
    rng.shuffle(queries)
    return queries


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.base = args.url.rstrip("/")
        self.timeout: float = args.timeout
        self.search: dict[str, dict[str, login_home.Timings]] = {}
        self.submit: dict[str, login_home.Timings] = {}
        self.form: dict[str, login_home.Timings] = {}
        self.routed = Routed()
        self.rng = random.Random(args.seed)  # noqa: S311 (choosing test data)
        # When the routing probe gives up waiting (set once the last call is submitted).
        self.route_deadline = float("inf")
        self.poll_error = ""

    # --- search -----------------------------------------------------------------------------

    def run_search(
        self, phase: str, openers: list[Any], queries: list[tuple[str, str, int | None]]
    ) -> dict[str, Any]:
        timings = {
            kind: login_home.Timings()
            for kind in ("nhs_number", "name_fragment", "short_name", "dob_and_name")
        }
        timings["all"] = login_home.Timings()
        self.search[phase] = timings
        share = [queries[i :: len(openers)] for i in range(len(openers))]

        def user(index: int) -> None:
            opener = openers[index]
            for kind, query, expected in share[index]:
                url = f"{self.base}/patients/?{urllib.parse.urlencode({'q': query})}"
                req = urllib.request.Request(url, headers={"HX-Request": "true"})  # noqa: S310 (127.0.0.1 only)
                start = time.perf_counter()
                try:
                    with opener.open(req, timeout=self.timeout) as resp:
                        body = resp.read().decode("utf-8", "replace")
                        status = resp.status
                except urllib.error.HTTPError as exc:
                    body, status = "", exc.code
                except login_home.NO_ANSWER as exc:
                    timings[kind].fail(f"no answer: {exc.__class__.__name__}")
                    timings["all"].fail("no answer")
                    continue
                elapsed = time.perf_counter() - start
                if status != 200 or 'id="results"' not in body:
                    timings[kind].fail(f"HTTP {status}")
                    timings["all"].fail(f"HTTP {status}")
                elif expected is not None and RESULT_ROW.format(expected) not in body:
                    timings[kind].fail("expected patient not found")
                    timings["all"].fail("expected patient not found")
                else:
                    timings[kind].ok(elapsed)
                    timings["all"].ok(elapsed)

        return login_home.run_phase(
            len(openers), user, dict(timings), timeout=self.args.phase_timeout
        )

    # --- submit -----------------------------------------------------------------------------

    def run_submit(
        self, phase: str, openers: list[Any], samples: list[Sample], per_user: int
    ) -> dict[str, Any]:
        form, submit = login_home.Timings(), login_home.Timings()
        self.form[phase], self.submit[phase] = form, submit

        def user(index: int) -> None:
            opener = openers[index]
            rng = random.Random(f"{self.args.seed}-{phase}-{index}")  # noqa: S311
            for _ in range(per_user):
                sample = rng.choice(samples)
                try:
                    page, elapsed = login_home.request(
                        opener,
                        f"{self.base}/calls/new/?patient={sample.patient_id}",
                        data=None,
                        timeout=self.timeout,
                    )
                except login_home.NO_ANSWER as exc:
                    form.fail(f"no answer: {exc.__class__.__name__}")
                    continue
                csrf = login_home.CSRF_FIELD.search(page.body)
                hidden = dict(HIDDEN.findall(page.body))
                if page.status != 200 or csrf is None or len(hidden) != 2:
                    form.fail(
                        f"HTTP {page.status}" if page.status != 200 else "form fields missing"
                    )
                    continue
                form.ok(elapsed)
                reason, phase_of_illness, needs = rng.choice(CALL_KINDS)
                data = [
                    ("csrfmiddlewaretoken", csrf.group(1)),
                    ("idempotency_key", hidden["idempotency_key"]),
                    ("received_at", hidden["received_at"]),
                    ("patient", str(sample.patient_id)),
                    ("caller_type", "DISTRICT_NURSE"),
                    ("caller_name", "Bench Caller"),
                    ("reason", reason),
                    ("phase", phase_of_illness),
                    ("patient_location", "HOME"),
                    ("disposition", "REFERRALS_CREATED"),
                    ("chosen_priority", ""),
                    *[("needs", need) for need in needs],
                ]
                body = urllib.parse.urlencode(data).encode()
                req = urllib.request.Request(f"{self.base}/calls/new/", data=body)  # noqa: S310 (127.0.0.1 only)
                start = time.perf_counter()
                try:
                    with opener.open(req, timeout=self.timeout) as resp:
                        resp.read()
                        status, location = resp.status, resp.headers.get("Location", "")
                except urllib.error.HTTPError as exc:
                    exc.read()
                    status, location = exc.code, exc.headers.get("Location", "")
                except login_home.NO_ANSWER as exc:
                    submit.fail(f"no answer: {exc.__class__.__name__}")
                    continue
                done = time.perf_counter()
                match = (
                    CALL_LOCATION.match(urllib.parse.urlsplit(location).path)
                    if status == 302
                    else None
                )
                if match is None:
                    submit.fail(f"HTTP {status} {location}".strip())
                    continue
                submit.ok(done - start)
                call_id = int(match.group(1))
                with self.routed.lock:
                    self.routed.responded_at[call_id] = done
                    self.routed.pending_calls.add(call_id)

        return login_home.run_phase(
            len(openers),
            user,
            {"call screen (GET)": form, "submit (POST)": submit},
            timeout=self.args.phase_timeout,
        )

    # --- routing probe ----------------------------------------------------------------------

    def poll_routing(self, conn: Any, stop: threading.Event) -> None:
        """Until stopped: find each submitted call's referrals and the moment each is QUEUED.
        A failure of the probe itself is kept in ``poll_error`` and reported."""
        try:
            self._poll_routing(conn, stop)
        except Exception as exc:
            self.poll_error = repr(exc)

    def _poll_routing(self, conn: Any, stop: threading.Event) -> None:
        interval = self.args.poll_ms / 1000
        routed = self.routed
        with conn.cursor() as cur:
            while not stop.is_set() or routed.pending_calls:
                with routed.lock:
                    calls = list(routed.pending_calls)
                if not calls:
                    if stop.wait(interval):
                        # A submit thread may still be recording its last call: look once more.
                        time.sleep(0.5)
                        with routed.lock:
                            if not routed.pending_calls:
                                break
                    continue
                cur.execute(
                    "SELECT id, call_id, status, "
                    "EXTRACT(EPOCH FROM (routed_at - created_at)) * 1000 "
                    "FROM referrals_referral WHERE call_id = ANY(%s)",
                    [calls],
                )
                seen_at = time.perf_counter()
                by_call: dict[int, list[tuple[int, str, float | None]]] = {}
                for referral_id, call_id, status, server_ms in cur.fetchall():
                    by_call.setdefault(call_id, []).append((referral_id, status, server_ms))
                with routed.lock:
                    for call_id, referrals in by_call.items():
                        for referral_id, status, server_ms in referrals:
                            routed.seen[referral_id] = call_id
                            if status != "AWAITING_ROUTING" and referral_id not in routed.queued:
                                routed.queued.add(referral_id)
                                routed.observed_ms.append(
                                    (seen_at - routed.responded_at[call_id]) * 1000
                                )
                                if server_ms is not None:
                                    routed.server_ms.append(float(server_ms))
                        if all(ref_id in routed.queued for ref_id, _, _ in referrals):
                            routed.pending_calls.discard(call_id)
                if stop.is_set() and time.perf_counter() > self.route_deadline:
                    break
                time.sleep(interval)


def ms_summary(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, "p50_ms": None, "p95_ms": None, "max_ms": None}
    return {
        "count": len(ordered),
        "p50_ms": round(login_home.percentile(ordered, 50), 1),
        "p95_ms": round(login_home.percentile(ordered, 95), 1),
        "max_ms": round(ordered[-1], 1),
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8051", help="the hub (127.0.0.1 only)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", ""),
        help="the hub's PostgreSQL database, for the routing probe (127.0.0.1 only)",
    )
    parser.add_argument("--username", default="handler", help="a demo user who takes calls")
    parser.add_argument("--searches", type=int, default=300, help="searches per search phase")
    parser.add_argument(
        "--submits-alone", type=int, default=40, help="calls submitted by one handler alone"
    )
    parser.add_argument(
        "--submits-per-user", type=int, default=40, help="calls per user in the loaded phase"
    )
    parser.add_argument("--poll-ms", type=float, default=5.0, help="routing probe interval")
    parser.add_argument(
        "--route-timeout",
        type=float,
        default=60.0,
        help="seconds to wait, after the last submit, for every referral to be routed",
    )
    login_home.add_phase_arguments(parser, seed_help="which patients and queries (repeatable)")
    args = parser.parse_args(argv)
    login_home.refuse_remote_targets(parser, url=args.url, database_url=args.database_url)
    if not (
        1 <= args.users <= 64
        and 1 <= args.searches <= 20_000
        and 0 <= args.submits_alone <= 5_000
        and 0 <= args.submits_per_user <= 5_000
    ):
        parser.error(
            "--users 1-64, --searches 1-20000, --submits-alone and --submits-per-user 0-5000"
        )
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    bench = Bench(args)
    conn = login_home.connect_db(args.database_url)
    sizes = login_home.table_sizes(conn, REPORTED_TABLES)
    samples = load_samples(conn, max(args.searches, 50), args.seed)
    print(
        f"Database: about {sizes['patients_patient']:,} patients, {sizes['referrals_call']:,} calls, "
        f"{sizes['referrals_referral']:,} referrals, {sizes['referrals_referralevent']:,} referral events"
    )
    print(f"Signing in {args.users} sessions as {args.username}...")
    openers = [
        login_home.sign_in(bench.base, args.username, args.password, timeout=args.timeout)
        for _ in range(args.users)
    ]
    queries = search_queries(samples, bench.rng)
    # Warm up: every gunicorn worker imports its views and fills its caches, unmeasured.
    with contextlib.suppress(*login_home.NO_ANSWER):
        for _kind, query, _ in queries[:12]:
            login_home.request(
                openers[0],
                f"{bench.base}/patients/?{urllib.parse.urlencode({'q': query})}",
                data=None,
                timeout=args.timeout,
            )
        login_home.request(openers[0], f"{bench.base}/calls/new/", data=None, timeout=args.timeout)

    results: dict[str, Any] = {
        "url": bench.base,
        "database": sizes,
        "args": {k: v for k, v in vars(args).items() if k not in ("password", "json")},
    }
    errors = 0
    alone = queries[: max(1, args.searches // 3)]
    results["search_alone"] = bench.run_search("alone", openers[:1], alone)
    errors += login_home.print_phase("Patient search, one user", results["search_alone"])
    loaded = queries[: args.searches]
    results["search_loaded"] = bench.run_search("loaded", openers, loaded)
    errors += login_home.print_phase("Patient search", results["search_loaded"])

    stop = threading.Event()
    poller = threading.Thread(
        target=bench.poll_routing,
        args=(login_home.connect_db(args.database_url), stop),
        name="routing-probe",
        daemon=True,
    )
    poller.start()
    if args.submits_alone:
        results["submit_alone"] = bench.run_submit(
            "alone", openers[:1], samples, args.submits_alone
        )
        errors += login_home.print_phase("Call submit, one handler", results["submit_alone"])
    if args.submits_per_user:
        results["submit_loaded"] = bench.run_submit(
            "loaded", openers, samples, args.submits_per_user
        )
        errors += login_home.print_phase("Call submit", results["submit_loaded"])
    bench.route_deadline = time.perf_counter() + args.route_timeout
    stop.set()
    poller.join(timeout=args.route_timeout + 5)
    routed = bench.routed
    unrouted = len(routed.pending_calls)
    results["routing"] = {
        "referrals": len(routed.seen),
        "calls_not_fully_routed": unrouted,
        "pending_call_ids": sorted(routed.pending_calls),
        "probe_alive_at_end": poller.is_alive(),
        "created_to_routed_server": ms_summary(routed.server_ms),
        "response_to_seen_queued": ms_summary(routed.observed_ms),
    }
    r = results["routing"]
    print(
        f"\nCommit -> routed into a team queue, {r['referrals']} referrals of "
        f"{len(routed.responded_at)} calls (real Celery worker; the generator shares the cores)"
    )
    for name, key in (
        ("created_at -> routed_at (server clock)", "created_to_routed_server"),
        (f"response -> seen QUEUED (poll {args.poll_ms:g} ms)", "response_to_seen_queued"),
    ):
        s = r[key]
        print(
            f"  {name:44} p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, max {s['max_ms']} ms (n={s['count']})"
        )
    if bench.poll_error:
        print(f"  the routing probe failed: {bench.poll_error}")
        errors += 1
    if unrouted:
        print(
            f"  {unrouted} calls still had referrals awaiting routing after {args.route_timeout:g} s"
        )
        errors += unrouted
    print(f"errors: {errors}")
    login_home.write_results(args.json, results)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
