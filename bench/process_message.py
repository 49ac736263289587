"""BaRS referrals in: the latency of `POST /fhir/R4/$process-message` on a large database.

Run against a hub on this machine whose database was filled by `manage.py seed_demo --scale N`
(bench/run_process_message.sh starts gunicorn and a worker on it and registers the partner). Each
request is a new referral from a made-up NHS 111 case (devtools/fake_partner.py: four in five
with an NHS number from the test range, which a scaled database already holds, so the patient is
found; one in five without, so the hub registers the patient and looks for possible matches among
a million), signed with a bearer token from `/oauth2/token`. One partner alone first (latency
without queueing), then `--users` partners' worth of requests at once.

Standard library only on the HTTP side (the message generator needs python-stdnum: run it with
the project's .venv/bin/python). It talks only to http://127.0.0.1. Bounded: fixed request counts
and a timeout on every request and phase. The load generator shares the machine's cores with
gunicorn, the worker, Redis and PostgreSQL: every figure it prints says so.

Exit status: 0 when every message was answered 200, 1 otherwise, 2 on bad arguments.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from login_home import (  # the sibling benchmark's helpers
    NO_ANSWER,
    Timings,
    print_phase,
    refuse_remote_targets,
    run_phase,
    write_results,
)

from devtools.fake_partner import referral_message


def token(base: str, client_id: str, client_secret: str, *, timeout: float) -> str:
    body = urllib.parse.urlencode(
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
    ).encode()
    # Only ever http://127.0.0.1 (refuse_remote_targets).
    req = urllib.request.Request(f"{base}/oauth2/token", data=body)  # noqa: S310
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
        return str(json.loads(resp.read())["access_token"])


def send(base: str, bearer: str, message: dict[str, Any], *, timeout: float) -> tuple[int, float]:
    """POST one message; its status and latency in seconds (headers and body read)."""
    req = urllib.request.Request(  # noqa: S310
        f"{base}/fhir/R4/$process-message",
        data=json.dumps(message).encode(),
        headers={
            "Content-Type": "application/fhir+json",
            "Authorization": f"Bearer {bearer}",
            "X-Request-ID": message["id"],
        },
    )
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        exc.read()
        status = exc.code
    return status, time.perf_counter() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8052")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--requests-per-user", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--phase-timeout", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    refuse_remote_targets(parser, url=args.url)
    base = args.url.rstrip("/")
    bearer = token(base, args.client_id, args.client_secret, timeout=args.timeout)
    rng = random.Random(args.seed)  # noqa: S311 (made-up messages, not secrets)
    rng_lock = threading.Lock()

    def message() -> dict[str, Any]:
        with rng_lock:
            return referral_message(rng, now=datetime.now(UTC))

    for _ in range(args.warmup):
        send(base, bearer, message(), timeout=args.timeout)

    def phase(users: int) -> dict[str, Any]:
        timings = {"process-message": Timings()}

        def work(_: int) -> None:
            for _ in range(args.requests_per_user):
                try:
                    status, elapsed = send(base, bearer, message(), timeout=args.timeout)
                except NO_ANSWER as exc:
                    timings["process-message"].fail(type(exc).__name__)
                    continue
                if status == 200:
                    timings["process-message"].ok(elapsed)
                else:
                    timings["process-message"].fail(f"HTTP {status}")

        return run_phase(users, work, timings, timeout=args.phase_timeout)

    shares = "gunicorn (3 workers), a Celery worker routing each referral, Redis and PostgreSQL"
    alone = phase(1)
    errors = print_phase("$process-message, one partner alone", alone, shares_with=shares)
    together = phase(args.users)
    errors += print_phase("$process-message, at once", together, shares_with=shares)
    write_results(args.json, {"alone": alone, "together": together})
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
