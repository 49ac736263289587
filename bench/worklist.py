"""The nurse's worklist on a large database: the team queue page, its htmx poll, and claiming a
referral from it (then releasing it again), under concurrency.

Run against a hub on this machine whose database was filled by `manage.py seed_demo --scale N`
(bench/run_worklist.sh starts gunicorn on it). Sessions sign in as the demo users of the team
queue (`nurse`, `lead`, taken in turn). Phases, each timed on its own, first one user alone
(latency without queueing), then `--users` at once without pause:

1. Worklist: the full team queue page (`GET /queue/`) and, between page loads, the poll the page
   sends every 15 s (`GET /queue/teams/<id>/` with `HX-Request` and the page's own `hx-headers`:
   `X-Spoc-Poll: 1` and the `X-Queue-Version` it was rendered with). A poll whose version is
   current is answered 204 (nothing changed); a share of the polls (`--stale-share`) carries an
   out-of-date version, as the first poll after the queue changed does, and is answered 200 with
   the queue's rows. The two answers are timed apart.
2. Claim: press the Claim button of a QUEUED referral of the session's team, as the page posts it
   (its table's one form: `/queue/referrals/act/` with `claim=<id>`, the page's CSRF token and
   `next`), then Release (`release=<id>`), both timed, so each referral goes back to the queue. Success is the redirect
   to `next` and, checked in the database afterwards (not timed), the referral claimed by this
   user (then queued with no owner). Sessions of one team take disjoint referrals, so no claim
   races another.

Referrals are picked, and claims checked, with a read-only psycopg connection to the hub's
database. Each claim and release adds its ReferralEvent and access-log row; statuses and owners
end as they were (a referral left claimed by a failed release is released again at the end, and
reported).

The HTTP side is standard library only, as login_home.py (whose helpers it reuses); the database
probe needs psycopg (run it with the project's .venv/bin/python). Bounded: fixed request counts,
a timeout on every request and on each phase. It talks only to 127.0.0.1: the hub URL and the
database URL must both point there. The load generator shares the machine's cores with gunicorn
and PostgreSQL: every figure it prints says so.

Exit status: 0 when every request succeeded, 1 otherwise, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import random
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import login_home  # the sibling benchmark's helpers

# The polled block of templates/queue/queue.html: its URL and the headers htmx sends with it.
QUEUE_DIV = re.compile(r'<div id="queue"[^>]*>')
HX_GET = re.compile(r'hx-get="([^"]+)"')
HX_HEADERS = re.compile(r"hx-headers='([^']*)'")
TEAM_URL = re.compile(r"^/queue/teams/(\d+)/$")
ROW_COUNT = re.compile(r'data-testid="queue-row"')
# A row's Claim button in templates/queue/_rows.html, and the address of its table's form.
CLAIM_BUTTON = re.compile(r'name="claim" value="(\d+)"')
ROW_ACTION_PATH = "/queue/referrals/act/"
QUEUE_PATH = "/queue/"
# Sent instead of the page's version by a poll that stands for "the queue changed since".
STALE_VERSION = "0:0:-:0:0:0"

# The tables whose sizes the report gives (planner estimates).
REPORTED_TABLES = (
    "patients_patient",
    "referrals_referral",
    "referrals_referralevent",
    "audit_accesslog",
)


@dataclass
class Session:
    """One signed-in browser tab on the team queue."""

    opener: urllib.request.OpenerDirector
    username: str
    user_id: int
    poll_url: str = ""  # as the page's hx-get says, relative to the hub
    team_id: int = 0
    headers: dict[str, str] = field(default_factory=dict)  # the page's hx-headers
    csrf: str = ""
    rows: int = 0
    page_bytes: int = 0
    referral_ids: list[int] = field(default_factory=list)  # this session's QUEUED referrals

    def read_page(self, body: str) -> str:
        """Take the poll URL, its headers, the CSRF token and the row count from a full page or a
        poll's answer (htmx swaps the block, so the next poll sends the new version). Returns ""
        or what is missing."""
        div = QUEUE_DIV.search(body)
        if div is None:
            return "no queue block"
        url, headers = HX_GET.search(div.group(0)), HX_HEADERS.search(div.group(0))
        if url is None or headers is None:
            return "queue block without hx-get or hx-headers"
        self.poll_url = html.unescape(url.group(1))
        self.headers = json.loads(html.unescape(headers.group(1)))
        if "X-Queue-Version" not in self.headers:
            return "no X-Queue-Version in the page's hx-headers"
        team = TEAM_URL.match(urllib.parse.urlsplit(self.poll_url).path)
        if team is None:
            return f"unexpected poll URL {self.poll_url}"
        self.team_id = int(team.group(1))
        self.rows = len(ROW_COUNT.findall(body))
        csrf = login_home.CSRF_FIELD.search(body)
        if csrf is not None:
            self.csrf = csrf.group(1)
        return ""


def fetch(
    opener: urllib.request.OpenerDirector, url: str, *, headers: dict[str, str], timeout: float
) -> tuple[login_home.Response, float]:
    """A GET with extra headers; the response and its latency in seconds (body read). Raises one
    of NO_ANSWER when no complete HTTP answer arrives."""
    req = urllib.request.Request(url, headers=headers)  # noqa: S310 (127.0.0.1 only)
    start = time.perf_counter()
    try:
        with opener.open(req, timeout=timeout) as resp:
            text = resp.read().decode("utf-8", "replace")
            status, location = resp.status, resp.headers.get("Location", "")
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", "replace")
        status, location = exc.code, exc.headers.get("Location", "")
    return login_home.Response(status, location, text), time.perf_counter() - start


def user_ids(conn: Any, usernames: list[str]) -> dict[str, int]:
    with conn.cursor() as cur:
        cur.execute("SELECT username, id FROM accounts_user WHERE username = ANY(%s)", [usernames])
        found = dict(cur.fetchall())
    missing = [name for name in usernames if name not in found]
    if missing:
        raise SystemExit(
            f"No such users in the database: {', '.join(missing)} (run manage.py seed_demo)."
        )
    return found


def referral_state(conn: Any, referral_id: int) -> tuple[str, int | None]:
    with conn.cursor() as cur:
        cur.execute("SELECT status, owner_id FROM referrals_referral WHERE id = %s", [referral_id])
        row = cur.fetchone()
    return (row[0], row[1]) if row else ("MISSING", None)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.base = args.url.rstrip("/")
        self.timeout: float = args.timeout
        self.rng = random.Random(args.seed)  # noqa: S311 (choosing test data)
        # Referrals a claim took and no release gave back yet: released again at the end.
        self.held: dict[int, Session] = {}
        self.held_lock = threading.Lock()
        # When the running phase must stop (--phase-timeout): users stop starting requests.
        self.deadline = float("inf")
        self.cut_short = False

    def expired(self) -> bool:
        """True once the phase's deadline has passed (the phase is then reported cut short)."""
        if time.perf_counter() > self.deadline:
            self.cut_short = True
        return self.cut_short

    # --- sessions ---------------------------------------------------------------------------

    def sign_in(self, username: str, user_id: int) -> Session:
        opener = login_home.sign_in(self.base, username, self.args.password, timeout=self.timeout)
        session = Session(opener=opener, username=username, user_id=user_id)
        page, _ = login_home.request(
            opener, f"{self.base}{QUEUE_PATH}", data=None, timeout=self.timeout
        )
        problem = session.read_page(page.body) if page.status == 200 else f"HTTP {page.status}"
        if problem or not session.csrf:
            raise SystemExit(
                f"{username}'s team queue {QUEUE_PATH}: {problem or 'no CSRF token on the page'}"
            )
        session.page_bytes = len(page.body.encode())
        return session

    def poll_headers(self, session: Session, *, stale: bool) -> dict[str, str]:
        """What htmx 2 sends with the block's poll: its own headers, then the element's hx-headers."""
        headers = {
            "HX-Request": "true",
            "HX-Current-URL": f"{self.base}{QUEUE_PATH}",
            "HX-Target": "queue",
            "HX-Trigger": "queue",
            **session.headers,
        }
        if stale:
            headers["X-Queue-Version"] = STALE_VERSION
        return headers

    # --- worklist ---------------------------------------------------------------------------

    def run_worklist(self, sessions: list[Session], pages: int, polls: int) -> dict[str, Any]:
        page_t, changed_t, unchanged_t = (
            login_home.Timings(),
            login_home.Timings(),
            login_home.Timings(),
        )
        timings = {
            "queue page (GET)": page_t,
            "poll, changed (200)": changed_t,
            "poll, unchanged (204)": unchanged_t,
        }
        seeds = [self.rng.randrange(2**32) for _ in sessions]

        def user(index: int) -> None:
            session = sessions[index]
            rng = random.Random(seeds[index])  # noqa: S311 (choosing test data)
            # Page loads spread evenly among the polls: a nurse reloads now and then.
            polls_after = [polls // pages + (1 if k < polls % pages else 0) for k in range(pages)]
            for count in polls_after:
                if self.expired():
                    return
                self._page(session, page_t)
                for _ in range(count):
                    if self.expired():
                        return
                    self._poll(
                        session, rng.random() < self.args.stale_share, changed_t, unchanged_t
                    )

        return self._phase(len(sessions), user, timings)

    def _page(self, session: Session, timings: login_home.Timings) -> None:
        try:
            page, elapsed = login_home.request(
                session.opener, f"{self.base}{QUEUE_PATH}", data=None, timeout=self.timeout
            )
        except login_home.NO_ANSWER as exc:
            timings.fail(f"no answer: {exc.__class__.__name__}")
            return
        if page.status != 200:
            timings.fail(f"HTTP {page.status} {page.location}".strip())
            return
        problem = session.read_page(page.body) or (
            "" if login_home.SIGNED_IN_MARKER in page.body else "200 but not signed in"
        )
        if problem:
            timings.fail(problem)
            return
        timings.ok(elapsed)

    def _poll(
        self,
        session: Session,
        stale: bool,
        changed: login_home.Timings,
        unchanged: login_home.Timings,
    ) -> None:
        headers = self.poll_headers(session, stale=stale)
        target = changed if stale else unchanged
        try:
            resp, elapsed = fetch(
                session.opener,
                f"{self.base}{session.poll_url}",
                headers=headers,
                timeout=self.timeout,
            )
        except login_home.NO_ANSWER as exc:
            target.fail(f"no answer: {exc.__class__.__name__}")
            return
        if resp.status == 204:
            if stale:  # an out-of-date version must get the rows
                changed.fail("204 to an out-of-date version")
            elif resp.body:
                unchanged.fail("204 with a body")
            else:
                unchanged.ok(elapsed)
        elif resp.status == 200:
            # The queue may really have changed since the last answer (a badge came due): a 200
            # to a current version is then right too, and counted as a changed poll.
            problem = session.read_page(resp.body)
            if problem:
                changed.fail(problem)
            elif "<html" in resp.body[:500].lower():
                changed.fail("a whole page instead of the queue block")
            else:
                changed.ok(elapsed)
        else:
            target.fail(f"HTTP {resp.status} {resp.location}".strip())

    # --- claim ------------------------------------------------------------------------------

    def run_claims(
        self, sessions: list[Session], per_user: int, shares: list[list[int]]
    ) -> dict[str, Any]:
        claim_t, release_t = login_home.Timings(), login_home.Timings()
        timings = {"claim (POST)": claim_t, "release (POST)": release_t}

        def user(index: int) -> None:
            session, share = sessions[index], shares[index]
            conn = login_home.connect_db(self.args.database_url)
            try:
                for k in range(per_user):
                    if self.expired():
                        return
                    referral_id = share[k % len(share)]
                    if self._act(session, conn, referral_id, "claim", claim_t):
                        self._act(session, conn, referral_id, "release", release_t)
            finally:
                conn.close()

        return self._phase(len(sessions), user, timings)

    def _act(
        self,
        session: Session,
        conn: Any,
        referral_id: int,
        action: str,
        timings: login_home.Timings,
    ) -> bool:
        """Press the row's ``action`` button; True when it took (checked in the database)."""
        url = f"{self.base}{ROW_ACTION_PATH}"
        form = {"csrfmiddlewaretoken": session.csrf, "next": QUEUE_PATH, action: str(referral_id)}
        try:
            resp, elapsed = login_home.request(session.opener, url, data=form, timeout=self.timeout)
        except login_home.NO_ANSWER as exc:
            timings.fail(f"no answer: {exc.__class__.__name__}")
            self._track(session, referral_id, referral_state(conn, referral_id))
            return False
        # A conflict redirects to the queue too, with a message: only the row says it took.
        state = referral_state(conn, referral_id)
        self._track(session, referral_id, state)
        if resp.status != 302 or urllib.parse.urlsplit(resp.location).path != QUEUE_PATH:
            timings.fail(f"HTTP {resp.status} {resp.location}".strip())
            return False
        expected = ("ACCEPTED", session.user_id) if action == "claim" else ("QUEUED", None)
        if state != expected:
            timings.fail(f"redirected but not {action}ed: {state[0]}, owner {state[1]}")
            return False
        timings.ok(elapsed)
        return True

    def _track(self, session: Session, referral_id: int, state: tuple[str, int | None]) -> None:
        with self.held_lock:
            if state == ("ACCEPTED", session.user_id):
                self.held[referral_id] = session
            else:
                self.held.pop(referral_id, None)

    def release_left(self) -> list[int]:
        """Release, unmeasured, what a failed release left claimed; the ids still claimed after."""
        conn = login_home.connect_db(self.args.database_url)
        left = []
        try:
            for referral_id, session in sorted(self.held.items()):
                with contextlib.suppress(*login_home.NO_ANSWER):
                    login_home.request(
                        session.opener,
                        f"{self.base}{ROW_ACTION_PATH}",
                        data={
                            "csrfmiddlewaretoken": session.csrf,
                            "next": QUEUE_PATH,
                            "release": str(referral_id),
                        },
                        timeout=self.timeout,
                    )
                if referral_state(conn, referral_id) != ("QUEUED", None):
                    left.append(referral_id)
        finally:
            conn.close()
        return left

    # --- plumbing ---------------------------------------------------------------------------

    def _phase(
        self, users: int, work: Callable[[int], None], timings: dict[str, login_home.Timings]
    ) -> dict[str, Any]:
        self.deadline, self.cut_short = time.perf_counter() + self.args.phase_timeout, False
        # A request in flight at the deadline still ends within --timeout.
        phase = login_home.run_phase(
            users, work, timings, timeout=self.args.phase_timeout + 2 * self.timeout + 10
        )
        self.deadline = float("inf")
        return {**phase, "timed_out": self.cut_short}


def report(title: str, phase: dict[str, Any]) -> int:
    """A phase's table, in this benchmark's layout; returns its errors."""
    return login_home.print_phase(
        title, phase, width=24, note=", without pause", shares_with="gunicorn and PostgreSQL"
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8052", help="the hub (127.0.0.1 only)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", ""),
        help="the hub's PostgreSQL database, to pick and check referrals (127.0.0.1 only)",
    )
    parser.add_argument(
        "--usernames",
        default="nurse,lead",
        help="demo users who work a team queue, taken in turn by the sessions",
    )
    parser.add_argument(
        "--pages-per-user", type=int, default=20, help="full queue pages per user and phase"
    )
    parser.add_argument("--polls-per-user", type=int, default=80, help="polls per user and phase")
    parser.add_argument(
        "--stale-share",
        type=float,
        default=0.25,
        help="share of polls sent with an out-of-date version (answered 200)",
    )
    parser.add_argument(
        "--claims-per-user",
        type=int,
        default=20,
        help="claims (each followed by its release) per user and phase",
    )
    login_home.add_phase_arguments(
        parser, seed_help="which referrals and which polls are stale (repeatable)"
    )
    args = parser.parse_args(argv)
    login_home.refuse_remote_targets(parser, url=args.url, database_url=args.database_url)
    args.usernames = [name.strip() for name in args.usernames.split(",") if name.strip()]
    if not args.usernames:
        parser.error("--usernames needs at least one username")
    if not (
        1 <= args.users <= 64
        and 1 <= args.pages_per_user <= 5_000
        and 0 <= args.polls_per_user <= 20_000
        and 0 <= args.claims_per_user <= 2_000
        and 0.0 <= args.stale_share <= 1.0
    ):
        parser.error(
            "--users 1-64, --pages-per-user 1-5000, --polls-per-user 0-20000, "
            "--claims-per-user 0-2000, --stale-share 0-1"
        )
    return args


def assign_referrals(bench: Bench, conn: Any, sessions: list[Session], per_user: int) -> str:
    """Give each session its own QUEUED referrals of its team, taken from the Claim buttons its
    queue page shows (the page lists the most urgent referrals only), checked unheld in the
    database; sessions of a team share them out without overlap. Returns "" or what is wrong."""
    by_team: dict[int, list[Session]] = {}
    for session in sessions:
        by_team.setdefault(session.team_id, []).append(session)
    for team_id, members in by_team.items():
        page, _ = login_home.request(
            members[0].opener, f"{bench.base}{QUEUE_PATH}", data=None, timeout=bench.timeout
        )
        offered = [int(pk) for pk in dict.fromkeys(CLAIM_BUTTON.findall(page.body))]
        ids = [pk for pk in offered if referral_state(conn, pk) == ("QUEUED", None)][
            : per_user * len(members)
        ]
        bench.rng.shuffle(ids)
        if len(ids) < len(members):
            return (
                f"team {team_id}'s queue page offers {len(ids)} referrals to claim, fewer than its "
                f"{len(members)} sessions: lower --users or seed more"
            )
        for j, session in enumerate(members):
            session.referral_ids = ids[j :: len(members)]
    return ""


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    bench = Bench(args)
    conn = login_home.connect_db(args.database_url)
    sizes = login_home.table_sizes(conn, REPORTED_TABLES)
    about = {table: f"{count:,}" if count >= 0 else "?" for table, count in sizes.items()}
    print(
        f"Database: about {about['patients_patient']} patients, {about['referrals_referral']} referrals, "
        f"{about['referrals_referralevent']} referral events, {about['audit_accesslog']} access-log rows "
        f"(planner estimates; ? when the table was never analysed)"
    )
    ids = user_ids(conn, args.usernames)
    names = [args.usernames[i % len(args.usernames)] for i in range(args.users)]
    print(
        f"Signing in {args.users} session{'s' if args.users != 1 else ''} as {', '.join(sorted(set(names)))}..."
    )
    try:
        sessions = [bench.sign_in(name, ids[name]) for name in names]
    except login_home.NO_ANSWER as exc:
        raise SystemExit(f"No answer from {bench.base} while signing in: {exc!r}") from exc
    for name in sorted(set(names)):
        s = next(s for s in sessions if s.username == name)
        print(
            f"  {name}: team {s.team_id}, {s.rows} open referrals on the queue page "
            f"({s.page_bytes / 1024:.0f} KiB of HTML)"
        )
    # Warm up, unmeasured: every gunicorn worker imports its views and fills its caches.
    with contextlib.suppress(*login_home.NO_ANSWER):
        for session in sessions[:2]:
            for _ in range(3):
                login_home.request(
                    session.opener, f"{bench.base}{QUEUE_PATH}", data=None, timeout=args.timeout
                )
                fetch(
                    session.opener,
                    f"{bench.base}{session.poll_url}",
                    timeout=args.timeout,
                    headers=bench.poll_headers(session, stale=False),
                )

    results: dict[str, Any] = {
        "url": bench.base,
        "database": sizes,
        "args": {
            k: v for k, v in vars(args).items() if k not in ("password", "json", "database_url")
        },
        "queue_rows": {s.username: s.rows for s in sessions},
    }
    errors = 0
    results["worklist_alone"] = bench.run_worklist(
        sessions[:1], args.pages_per_user, args.polls_per_user
    )
    errors += report("Worklist, one user", results["worklist_alone"])
    results["worklist_loaded"] = bench.run_worklist(
        sessions, args.pages_per_user, args.polls_per_user
    )
    errors += report("Worklist", results["worklist_loaded"])

    if args.claims_per_user:
        problem = assign_referrals(bench, conn, sessions, args.claims_per_user)
        if problem:
            print(f"\nClaim: {problem}")
            errors += 1
        else:
            # Alone: the first session works through the referrals of every session of its team.
            first = sessions[0]
            alone = [r for s in sessions if s.team_id == first.team_id for r in s.referral_ids]
            results["claim_alone"] = bench.run_claims([first], args.claims_per_user, [alone])
            errors += report("Claim and release, one user", results["claim_alone"])
            results["claim_loaded"] = bench.run_claims(
                sessions, args.claims_per_user, [s.referral_ids for s in sessions]
            )
            errors += report("Claim and release", results["claim_loaded"])
        left = bench.release_left()
        results["left_claimed"] = left
        if left:
            print(f"  referrals still claimed after the run (release them by hand): {left}")
            errors += len(left)
    conn.close()
    print(f"\nerrors: {errors}")
    login_home.write_results(args.json, results)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
