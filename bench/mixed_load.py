"""Mixed load at a fixed arrival rate, stepped up until the hub misses p95 <= 200 ms.

An open-loop generator: every request is put on a timetable before the step starts (the rate
fixed, one request every 1/rate seconds) and is timed from its *scheduled* send time, so a
request that waits in the generator because the hub is slow counts that wait, as a user's
browser would. Requests are sent from a pool of threads (`--concurrency`, default 400) far
larger than the requests in flight, so the generator never holds the rate back; it reports its
own CPU beside the hub's.

The mix, as a SPOC hub's day brings it (shares of the requests, `--mix`):

- 55 % queue polls: the htmx poll of the team queue (`GET /queue/teams/<id>/` with htmx's
  headers and the block's `X-Spoc-Poll` and `X-Queue-Version`, as bench/worklist.py sends it),
  answered 204 while the queue is unchanged and 200 with the block when it changed (calls
  submitted by the handlers change it), whose new version the tab's next poll sends;
- 15 % full team queue pages (`GET /queue/`);
- 10 % referral pages (`GET /queue/referrals/<id>/`, a referral of the tab's team);
- 10 % patient searches (`GET /patients/?q=...` as the call screen's live search sends it: an
  NHS number, a name fragment, a date of birth with a name);
- 10 % call submits: `GET /calls/new/?patient=<id>`, then, as soon as it answers, the POST of a
  call with one or two needs (timed from the moment the form arrived); each referral it saves
  is routed by the Celery worker;
- and a manager on the dashboard (`GET /dashboards/`) every `--dashboard-every` seconds.

Signed in as the demo users: `--queue-tabs` browser tabs on the team queue (taking `nurse` and
`lead` in turn), `--handler-tabs` tabs of `handler`, one of `manager`. Each tab is a browser: its
own session cookie and up to six kept-alive connections (HTTP/1.1), a new one opened when the
server closed the last (one retry of a request the server closed the connection under, as a
browser does).

Each step runs `--step-seconds` at one rate (`--rates`); the requests of the first
`--settle-seconds` are sent but not counted. A step passes when its p95 over every counted
request is <= `--p95-ms` (200) and nothing failed. Steps go on until `--stop-after` failed steps.
For each step: p50 / p95 / max per kind and over all, errors, and where the CPU went, from /proc:
the gunicorn processes (each worker apart, which shows whether the requests were spread over
them), the PostgreSQL backends of the database, the Celery worker's processes, the generator
itself and the rest of the machine.

It needs psycopg to pick real patients and referrals (run it with the project's
.venv/bin/python); it talks only to 127.0.0.1. bench/run_mixed_load.sh starts gunicorn and the
workers over the scaled database and runs it.

Exit status: 0 when at least one step passed, 1 otherwise, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import html
import http.client
import http.cookies
import os
import random
import sys
import threading
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import call_handler  # the call screen's form and the patients to search for
import login_home  # percentiles, the database probe, the JSON results
import worklist  # the queue block's poll URL and headers

DEFAULT_MIX = "poll=55,queue=15,referral=10,search=10,submit=10"
KINDS = ("poll", "queue", "referral", "search", "submit")
# Rows of a report: each HTTP request kind (a submit is two requests).
REPORTED = ("poll", "queue", "referral", "search", "call_screen", "call_submit", "dashboard")
# A browser opens at most six connections to one host.
CONNECTIONS_PER_TAB = 6
# Connection failures that mean "the server closed a kept-alive connection": try again once.
CLOSED = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str


class Tab:
    """One browser tab: a session cookie and a few kept-alive connections to the hub."""

    def __init__(self, host: str, port: int, timeout: float, username: str) -> None:
        self.host, self.port, self.timeout, self.username = host, port, timeout, username
        self.cookies: dict[str, str] = {}
        self.idle: list[http.client.HTTPConnection] = []
        self.slots = threading.BoundedSemaphore(CONNECTIONS_PER_TAB)
        self.lock = threading.Lock()
        # The team queue's block, as the last full page or changed poll left it.
        self.poll_url = ""
        self.poll_headers: dict[str, str] = {}
        self.team_id = 0
        self.csrf = ""

    def send(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        form: list[tuple[str, str]] | None = None,
    ) -> Answer:
        """One request on a kept-alive connection of this tab (a new one when none is idle).
        Raises one of login_home.NO_ANSWER when no complete answer arrives."""
        sent = dict(headers or {})
        with self.lock:
            if self.cookies:
                sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        with self.slots:
            with self.lock:
                conn = self.idle.pop() if self.idle else None
            reused = conn is not None
            if conn is None:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                try:
                    answer = self._exchange(conn, method, path, sent, body)
                except CLOSED:
                    if not reused:
                        raise
                    conn.close()
                    conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                    answer = self._exchange(conn, method, path, sent, body)
            except BaseException:
                conn.close()
                raise
            if answer.headers.get("connection", "").lower() == "close":
                conn.close()
            else:
                with self.lock:
                    self.idle.append(conn)
        return answer

    def _exchange(
        self,
        conn: http.client.HTTPConnection,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None,
    ) -> Answer:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        for value in resp.headers.get_all("Set-Cookie") or []:
            cookie = http.cookies.SimpleCookie()
            cookie.load(value)
            with self.lock:
                for name, morsel in cookie.items():
                    self.cookies[name] = morsel.value
        answer_headers = {k.lower(): v for k, v in resp.getheaders()}
        return Answer(resp.status, answer_headers, text)

    def close(self) -> None:
        with self.lock:
            for conn in self.idle:
                conn.close()
            self.idle.clear()

    def sign_in(self, password: str) -> None:
        page = self.send("GET", "/accounts/login/")
        match = login_home.CSRF_FIELD.search(page.body)
        if page.status != 200 or match is None:
            raise SystemExit(f"Sign-in page: HTTP {page.status}")
        answer = self.send(
            "POST",
            "/accounts/login/",
            form=[
                ("csrfmiddlewaretoken", match.group(1)),
                ("username", self.username),
                ("password", password),
            ],
        )
        location = urllib.parse.urlsplit(answer.headers.get("location", "")).path
        if answer.status != 302 or location != "/":
            raise SystemExit(f"Could not sign in as {self.username}: HTTP {answer.status}")

    def read_queue(self, body: str) -> str:
        """Take the poll URL and headers from a queue page or a changed poll; "" or what is
        missing (the same reading as bench/worklist.py)."""
        session = worklist.Session(opener=None, username=self.username, user_id=0)  # type: ignore[arg-type]
        problem = session.read_page(body)
        if not problem:
            self.poll_url = urllib.parse.urlsplit(session.poll_url).path
            self.poll_headers, self.team_id = session.headers, session.team_id
            if session.csrf:
                self.csrf = session.csrf
        return problem


@dataclass
class Step:
    """The requests of one step: (kind, scheduled send, seconds from it, error or "")."""

    rate: float
    samples: list[tuple[str, float, float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, scheduled: float, seconds: float, error: str = "") -> None:
        with self.lock:
            self.samples.append((kind, scheduled, seconds, error))


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        target = urllib.parse.urlsplit(args.url)
        self.host, self.port = target.hostname or "127.0.0.1", target.port or 80
        self.rng = random.Random(args.seed)  # noqa: S311 (choosing test data)
        self.queue_tabs: list[Tab] = []
        self.handler_tabs: list[Tab] = []
        self.manager: Tab | None = None
        self.referrals_of_team: dict[int, list[int]] = {}
        self.samples: list[call_handler.Sample] = []
        self.queries: list[tuple[str, str, int | None]] = []

    def tab(self, username: str) -> Tab:
        tab = Tab(self.host, self.port, self.args.timeout, username)
        tab.sign_in(self.args.password)
        return tab

    def prepare(self, conn: Any) -> None:
        """Sign every tab in, open each queue tab's page, and pick the patients and referrals."""
        usernames = [u for u in self.args.queue_users.split(",") if u]
        for index in range(self.args.queue_tabs):
            tab = self.tab(usernames[index % len(usernames)])
            page = tab.send("GET", worklist.QUEUE_PATH)
            problem = tab.read_queue(page.body) if page.status == 200 else f"HTTP {page.status}"
            if problem:
                raise SystemExit(f"{tab.username}'s team queue: {problem}")
            self.queue_tabs.append(tab)
        self.handler_tabs = [self.tab("handler") for _ in range(self.args.handler_tabs)]
        if self.args.dashboard_every > 0:
            self.manager = self.tab("manager")
        teams = sorted({tab.team_id for tab in self.queue_tabs})
        with conn.cursor() as cur:
            for team_id in teams:
                # Referrals of the team a nurse opens from the queue or the caseload: the newest.
                cur.execute(
                    "SELECT id FROM referrals_referral WHERE team_id = %s ORDER BY id DESC LIMIT 300",
                    [team_id],
                )
                self.referrals_of_team[team_id] = [row[0] for row in cur.fetchall()]
                if not self.referrals_of_team[team_id]:
                    raise SystemExit(f"Team {team_id} has no referrals to open.")
        self.samples = call_handler.load_samples(conn, 400, self.args.seed)
        self.queries = call_handler.search_queries(self.samples, self.rng)

    # --- one request of each kind -------------------------------------------------------------

    def timed(self, step: Step, kind: str, scheduled: float, call: Any) -> Any:
        """Run ``call()`` (returns an error or ""); record it from ``scheduled``."""
        try:
            error, result = call()
        except login_home.NO_ANSWER as exc:
            error, result = f"no answer: {exc.__class__.__name__}", None
        step.record(kind, scheduled, time.perf_counter() - scheduled, error)
        return None if error else result

    def poll(self, step: Step, scheduled: float, rng: random.Random) -> None:
        tab = rng.choice(self.queue_tabs)

        def call() -> tuple[str, None]:
            headers = {
                "HX-Request": "true",
                "HX-Current-URL": f"{self.args.url}{worklist.QUEUE_PATH}",
                "HX-Target": "queue",
                "HX-Trigger": "queue",
                **tab.poll_headers,
            }
            answer = tab.send("GET", tab.poll_url, headers=headers)
            if answer.status == 204:
                return "", None
            if answer.status == 200:
                return tab.read_queue(answer.body), None
            return f"HTTP {answer.status}", None

        self.timed(step, "poll", scheduled, call)

    def queue(self, step: Step, scheduled: float, rng: random.Random) -> None:
        tab = rng.choice(self.queue_tabs)

        def call() -> tuple[str, None]:
            answer = tab.send("GET", worklist.QUEUE_PATH)
            if answer.status != 200:
                return f"HTTP {answer.status}", None
            return tab.read_queue(answer.body), None

        self.timed(step, "queue", scheduled, call)

    def referral(self, step: Step, scheduled: float, rng: random.Random) -> None:
        tab = rng.choice(self.queue_tabs)
        referral_id = rng.choice(self.referrals_of_team[tab.team_id])

        def call() -> tuple[str, None]:
            answer = tab.send("GET", f"/queue/referrals/{referral_id}/")
            ok = answer.status == 200 and login_home.SIGNED_IN_MARKER in answer.body
            return ("" if ok else f"HTTP {answer.status}"), None

        self.timed(step, "referral", scheduled, call)

    def search(self, step: Step, scheduled: float, rng: random.Random) -> None:
        tab = rng.choice(self.handler_tabs)
        _kind, query, expected = rng.choice(self.queries)

        def call() -> tuple[str, None]:
            path = f"/patients/?{urllib.parse.urlencode({'q': query})}"
            answer = tab.send("GET", path, headers={"HX-Request": "true"})
            if answer.status != 200 or 'id="results"' not in answer.body:
                return f"HTTP {answer.status}", None
            if expected is not None and call_handler.RESULT_ROW.format(expected) not in answer.body:
                return "expected patient not found", None
            return "", None

        self.timed(step, "search", scheduled, call)

    def submit(self, step: Step, scheduled: float, rng: random.Random) -> None:
        tab = rng.choice(self.handler_tabs)
        sample = rng.choice(self.samples)
        reason, phase_of_illness, needs = rng.choice(call_handler.CALL_KINDS)

        def screen() -> tuple[str, Any]:
            answer = tab.send("GET", f"/calls/new/?patient={sample.patient_id}")
            csrf = login_home.CSRF_FIELD.search(answer.body)
            hidden = dict(call_handler.HIDDEN.findall(answer.body))
            if answer.status != 200 or csrf is None or len(hidden) != 2:
                return (
                    f"HTTP {answer.status}" if answer.status != 200 else "form fields missing"
                ), None
            return "", (csrf.group(1), hidden)

        form = self.timed(step, "call_screen", scheduled, screen)
        if form is None:
            return
        csrf, hidden = form
        data = [
            ("csrfmiddlewaretoken", csrf),
            ("idempotency_key", hidden["idempotency_key"]),
            ("received_at", html.unescape(hidden["received_at"])),
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

        def post() -> tuple[str, None]:
            answer = tab.send("POST", "/calls/new/", form=data)
            location = urllib.parse.urlsplit(answer.headers.get("location", "")).path
            if answer.status != 302 or not call_handler.CALL_LOCATION.match(location):
                return f"HTTP {answer.status} {location}".strip(), None
            return "", None

        self.timed(step, "call_submit", time.perf_counter(), post)

    def dashboard(self, step: Step, scheduled: float, rng: random.Random) -> None:
        tab = self.manager
        assert tab is not None

        def call() -> tuple[str, None]:
            answer = tab.send("GET", "/dashboards/")
            return ("" if answer.status == 200 else f"HTTP {answer.status}"), None

        self.timed(step, "dashboard", scheduled, call)

    # --- steps ------------------------------------------------------------------------------

    def timetable(self, rate: float, seconds: float, rng: random.Random) -> list[tuple[float, str]]:
        """(offset in seconds, kind) of every request of a step, in order."""
        weights = self.args.mix_weights
        count = int(rate * seconds)
        kinds = rng.choices(list(weights), weights=list(weights.values()), k=count)
        table = [(i / rate, kind) for i, kind in enumerate(kinds)]
        if self.manager is not None:
            every = self.args.dashboard_every
            table += [(k * every, "dashboard") for k in range(int(seconds / every))]
        return sorted(table)

    def run_step(
        self, rate: float, pool: ThreadPoolExecutor, meter: ProcCpu, *, seconds: float
    ) -> dict[str, Any]:
        """One step of ``seconds`` at ``rate`` requests a second: send the timetable, wait for
        the answers, and report the requests scheduled after the settling time."""
        args = self.args
        step = Step(rate)
        rng = random.Random(f"{args.seed}-{rate}")  # noqa: S311
        handlers = {
            "poll": self.poll,
            "queue": self.queue,
            "referral": self.referral,
            "search": self.search,
            "submit": self.submit,
            "dashboard": self.dashboard,
        }
        table = self.timetable(rate, seconds, rng)
        start = time.perf_counter() + 0.2
        counted_from = start + args.settle_seconds
        before: Snapshot | None = None
        measured_from = counted_from
        log_from = 0
        most_late = 0.0
        futures = []
        for offset, kind in table:
            scheduled = start + offset
            if before is None and scheduled >= counted_from:
                before, measured_from = meter.sample(), time.perf_counter()
                log_from = _size(args.access_log)
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            else:
                most_late = max(most_late, -delay)
            request_rng = random.Random(rng.random())  # noqa: S311
            futures.append(pool.submit(handlers[kind], step, scheduled, request_rng))
        sent_until = time.perf_counter()
        after = meter.sample()
        wall = sent_until - measured_from
        _done, unfinished = wait(futures, timeout=args.timeout + 5)
        by_worker = requests_by_worker(args.access_log, log_from) if before is not None else []
        crashes = Counter(repr(f.exception()) for f in _done if f.exception() is not None)
        with step.lock:
            counted = [s for s in step.samples if s[1] >= counted_from]
        return summarise_step(
            rate=rate,
            samples=counted,
            cpu=meter.split(before or after, after, wall) | {"web_requests_by_worker": by_worker},
            unfinished=len(unfinished),
            crashes=crashes,
            most_late_ms=round(most_late * 1000, 1),
            p95_target_ms=args.p95_ms,
        )


def _size(path: Path | None) -> int:
    try:
        return path.stat().st_size if path else 0
    except OSError:
        return 0


def requests_by_worker(path: Path | None, offset: int) -> list[int]:
    """Requests each gunicorn worker answered, from the access log's lines after ``offset``
    (gunicorn.conf.py ends each line with the worker's pid), most first; [] without a log."""
    if path is None:
        return []
    counts: Counter[str] = Counter()
    with open(path, "rb") as f:
        f.seek(offset)
        for line in f.read().decode("utf-8", "replace").splitlines():
            last = line.rsplit(" ", 1)[-1]
            if last.startswith("<") and last.endswith(">"):
                counts[last] += 1
    return sorted(counts.values(), reverse=True)


Snapshot = tuple[float, dict[int, tuple[int, int, str, str]], tuple[float, float]]


class ProcCpu:
    """Where the CPU went during a step, from /proc (Linux): gunicorn's processes (``web_pid``
    and its children, each worker apart), the Celery workers (``worker_pids`` and their
    children), the PostgreSQL backends connected to ``database``, this generator, and the whole
    machine."""

    def __init__(self, *, web_pid: int, worker_pids: list[int], database: str) -> None:
        self.web_pid, self.worker_pids, self.database = web_pid, worker_pids, database
        self.tick = os.sysconf("SC_CLK_TCK")

    def sample(self) -> Snapshot:
        processes: dict[int, tuple[int, int, str, str]] = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat") as f:
                    stat = f.read()
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue  # ended meanwhile
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            # After the name: state, ppid, ...; utime and stime are the 14th and 15th fields.
            processes[int(name)] = (
                int(fields[11]) + int(fields[12]),
                int(fields[1]),
                comm,
                cmdline,
            )
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:]]
        idle, steal = ticks[3] + ticks[4], ticks[7]
        machine = ((sum(ticks[:8]) - idle - steal) / self.tick, steal / self.tick)
        return time.perf_counter(), processes, machine

    @staticmethod
    def _descendants(processes: dict[int, tuple[int, int, str, str]], roots: list[int]) -> set[int]:
        found = {pid for pid in roots if pid in processes}
        grew = True
        while grew:
            grew = False
            for pid, (_, ppid, _, _) in processes.items():
                if ppid in found and pid not in found:
                    found.add(pid)
                    grew = True
        return found

    def split(self, before: Snapshot, after: Snapshot, wall: float) -> dict[str, Any]:
        _, old, machine0 = before
        _, new, machine1 = after
        wall = max(wall, 1e-6)

        def cores(pids: set[int]) -> float:
            used = sum(new[pid][0] - (old[pid][0] if pid in old else 0) for pid in pids)
            return round(used / self.tick / wall, 2)

        web = self._descendants(new, [self.web_pid]) if self.web_pid else set()
        workers = self._descendants(new, self.worker_pids)
        database = {
            pid
            for pid, (_, _, comm, cmdline) in new.items()
            if comm == "postgres" and f" {self.database} " in cmdline
        }
        me = {os.getpid()}
        web_processes = sorted((cores({pid}) for pid in web if pid != self.web_pid), reverse=True)
        split: dict[str, Any] = {
            "web_cores": cores(web),
            "web_processes": web_processes,
            "database_cores": cores(database),
            "worker_cores": cores(workers),
            "generator_cores": cores(me),
            "machine_busy_cores": round((machine1[0] - machine0[0]) / wall, 2),
            "stolen_cores": round((machine1[1] - machine0[1]) / wall, 2),
            "cores": os.cpu_count(),
        }
        ours: float = sum(
            split[k] for k in ("web_cores", "database_cores", "worker_cores", "generator_cores")
        )
        split["other_cores"] = round(max(0.0, split["machine_busy_cores"] - ours), 2)
        return split


def summarise_step(
    *,
    rate: float,
    samples: list[tuple[str, float, float, str]],
    cpu: dict[str, Any],
    unfinished: int,
    crashes: Counter[str],
    most_late_ms: float,
    p95_target_ms: float,
) -> dict[str, Any]:
    def figures(rows: list[tuple[str, float, float, str]]) -> dict[str, Any]:
        ok = sorted(seconds * 1000 for _, _, seconds, error in rows if not error)
        errors = Counter(error for _, _, _, error in rows if error)
        return {
            "ok": len(ok),
            "errors": sum(errors.values()),
            "error_kinds": dict(errors),
            "p50_ms": round(login_home.percentile(ok, 50), 1) if ok else None,
            "p95_ms": round(login_home.percentile(ok, 95), 1) if ok else None,
            "max_ms": round(ok[-1], 1) if ok else None,
        }

    overall = figures(samples)
    errors = overall["errors"] + unfinished + sum(crashes.values())
    # A request that failed counts as slower than any: the p95 is over every request.
    p95 = overall["p95_ms"]
    passed = errors == 0 and p95 is not None and p95 <= p95_target_ms
    return {
        "rate": rate,
        "passed": passed,
        "all": overall,
        "errors": errors,
        "unfinished": unfinished,
        "generator_crashes": dict(crashes),
        "generator_most_late_ms": most_late_ms,
        "kinds": {
            kind: figures([s for s in samples if s[0] == kind])
            for kind in REPORTED
            if any(s[0] == kind for s in samples)
        },
        "cpu": cpu,
    }


def print_step(result: dict[str, Any]) -> None:
    print(
        f"\nRate {result['rate']:g} requests/s: "
        f"{'PASSED' if result['passed'] else 'missed'} (p95 {result['all']['p95_ms']} ms, "
        f"{result['errors']} errors; the generator sent at most {result['generator_most_late_ms']} ms late)"
    )
    print(f"{'':14} {'ok':>6} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, row in [*result["kinds"].items(), ("all", result["all"])]:
        print(
            f"{name:14} {row['ok']:>6} {row['errors']:>6} {row['p50_ms']!s:>8} "
            f"{row['p95_ms']!s:>8} {row['max_ms']!s:>8}"
        )
        for kind, count in row["error_kinds"].items():
            if name != "all":
                print(f"    {count} x {kind}")
    if result["unfinished"]:
        print(f"  {result['unfinished']} requests unanswered at the end of the step")
    for crash, count in result["generator_crashes"].items():
        print(f"  the generator failed {count} x: {crash}")
    cpu = result["cpu"]
    print(
        f"  CPU (cores): web {cpu['web_cores']} (per gunicorn worker: "
        f"{', '.join(str(c) for c in cpu['web_processes'])}), database {cpu['database_cores']}, "
        f"Celery worker {cpu['worker_cores']}, load generator {cpu['generator_cores']}, "
        f"other work {cpu['other_cores']}; whole machine busy {cpu['machine_busy_cores']} of "
        f"{cpu['cores']}, {cpu['stolen_cores']} stolen by the hypervisor"
    )
    if cpu["web_requests_by_worker"]:
        print(
            "  requests answered by each gunicorn worker: "
            + ", ".join(str(n) for n in cpu["web_requests_by_worker"])
        )


def parse_mix(text: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        if name not in KINDS:
            raise ValueError(f"unknown kind {name!r} (one of {', '.join(KINDS)})")
        weights[name] = float(value)
        if weights[name] < 0:
            raise ValueError(f"negative share for {name}")
    if not any(weights.values()):
        raise ValueError("every share is 0")
    return weights


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8057", help="the hub (127.0.0.1 only)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", ""),
        help="the hub's PostgreSQL database, to pick patients and referrals (127.0.0.1 only)",
    )
    parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD", "spoc-demo-2026"))
    parser.add_argument(
        "--rates",
        default="25,50,75,100,125,150,175,200",
        help="requests per second of each step, in order",
    )
    parser.add_argument("--step-seconds", type=float, default=30.0)
    parser.add_argument(
        "--settle-seconds",
        type=float,
        default=5.0,
        help="sent but not counted, at each step's start",
    )
    parser.add_argument(
        "--warmup-seconds", type=float, default=10.0, help="unmeasured, at the first rate"
    )
    parser.add_argument(
        "--stop-after", type=int, default=2, help="stop after this many missed steps"
    )
    parser.add_argument(
        "--p95-ms", type=float, default=200.0, help="a step passes at or below this"
    )
    parser.add_argument(
        "--mix", default=DEFAULT_MIX, help=f"shares of the kinds (default {DEFAULT_MIX})"
    )
    parser.add_argument("--queue-tabs", type=int, default=40, help="tabs on the team queue")
    parser.add_argument("--queue-users", default="nurse,lead", help="who the queue tabs sign in as")
    parser.add_argument("--handler-tabs", type=int, default=8, help="call handlers' tabs")
    parser.add_argument(
        "--dashboard-every", type=float, default=5.0, help="seconds between dashboards (0: none)"
    )
    parser.add_argument("--concurrency", type=int, default=400, help="generator threads")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds allowed per request")
    parser.add_argument(
        "--web-pid", type=int, default=0, help="gunicorn's master, for the CPU split"
    )
    parser.add_argument(
        "--worker-pids", default="", help="the Celery workers' main processes, comma-separated"
    )
    parser.add_argument(
        "--access-log", type=Path, help="gunicorn's access log, to count requests per worker"
    )
    parser.add_argument("--label", default="", help="what was measured (the server's setup)")
    parser.add_argument("--seed", type=int, default=7, help="the timetable, patients and referrals")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    login_home.refuse_remote_targets(parser, url=args.url, database_url=args.database_url)
    try:
        args.mix_weights = parse_mix(args.mix)
        args.rate_list = [float(r) for r in args.rates.split(",") if r]
        args.worker_pid_list = [int(p) for p in args.worker_pids.split(",") if p]
    except ValueError as exc:
        parser.error(f"--mix, --rates or --worker-pids: {exc}")
    if not args.rate_list or not all(0 < r <= 2000 for r in args.rate_list):
        parser.error("--rates: 1 to 2000 requests a second each")
    if not (
        1 <= args.queue_tabs <= 500
        and 1 <= args.handler_tabs <= 100
        and 1 <= args.concurrency <= 2000
        and 5 <= args.step_seconds <= 600
        and 0 <= args.settle_seconds < args.step_seconds
    ):
        parser.error(
            "--queue-tabs 1-500, --handler-tabs 1-100, --concurrency 1-2000, --step-seconds "
            "5-600, --settle-seconds under --step-seconds"
        )
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    bench = Bench(args)
    conn = login_home.connect_db(args.database_url)
    sizes = login_home.table_sizes(conn, call_handler.REPORTED_TABLES)
    print(
        f"Database: about {sizes['patients_patient']:,} patients, {sizes['referrals_referral']:,} "
        f"referrals, {sizes['referrals_referralevent']:,} referral events"
    )
    print(
        f"Signing in {args.queue_tabs} queue tabs ({args.queue_users}), {args.handler_tabs} "
        f"handler tabs{' and a manager' if args.dashboard_every > 0 else ''}..."
    )
    bench.prepare(conn)
    database = urllib.parse.urlsplit(args.database_url).path.lstrip("/")
    meter = ProcCpu(web_pid=args.web_pid, worker_pids=args.worker_pid_list, database=database)
    results: dict[str, Any] = {
        "label": args.label,
        "mix": args.mix_weights,
        "queue_tabs": args.queue_tabs,
        "handler_tabs": args.handler_tabs,
        "dashboard_every_s": args.dashboard_every,
        "step_seconds": args.step_seconds,
        "settle_seconds": args.settle_seconds,
        "p95_target_ms": args.p95_ms,
        "database": sizes,
        "steps": [],
        "best_rate": None,
    }
    missed = 0
    with ThreadPoolExecutor(max_workers=args.concurrency, thread_name_prefix="req") as pool:
        if args.warmup_seconds > 0:
            # Unmeasured, at the first rate: every gunicorn worker imports its views and fills
            # its caches, and PostgreSQL reads the pages the mix touches.
            bench.run_step(args.rate_list[0], pool, meter, seconds=args.warmup_seconds)
        for rate in args.rate_list:
            result = bench.run_step(rate, pool, meter, seconds=args.step_seconds)
            results["steps"].append(result)
            print_step(result)
            if result["passed"]:
                results["best_rate"] = max(results["best_rate"] or 0, rate)
            else:
                missed += 1
                if missed >= args.stop_after:
                    break
    for tab in [
        *bench.queue_tabs,
        *bench.handler_tabs,
        *([bench.manager] if bench.manager else []),
    ]:
        tab.close()
    print(
        f"\nHighest rate with p95 <= {args.p95_ms:g} ms and no errors: "
        f"{results['best_rate'] or 'none'} requests/s ({args.label or 'this server'}; the load "
        "generator shares the machine's cores with gunicorn, the worker, Redis and PostgreSQL)"
    )
    login_home.write_results(args.json, results)
    return 0 if results["best_rate"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
