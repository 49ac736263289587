"""Routing with a real worker: commit -> QUEUED latency and routing throughput (docs/design.md §11).

Run inside the project (it uses the ORM and the real services) against a database filled by
`manage.py seed_demo --scale N`, while a Celery worker consumes the same Redis
(bench/run_routing.sh starts one). Two phases, each bounded by a timeout:

1. **Latency**: `--paced` calls (default 1,000), each with one need, saved one after another
   through `call_submit` at `--rate` calls per second, as handlers would. For each referral the
   moment its call's transaction committed (just after `call_submit` returned) is compared with
   the moment a watcher thread, polling the database every `--poll-ms` (default 5), first saw it
   QUEUED. p50/p95/max.
2. **Throughput**: `--burst` calls (default 1,000) saved in one transaction, so that all their
   routing tasks are enqueued at the same commit; the time from that commit to the last referral
   routed gives referrals routed per second by the worker (its `--concurrency`).

The needs and priorities are drawn from a fixed mix (urgent visits at P2, follow-ups at P4,
carer support at P5, ...) for real patients of the database, chosen with `--seed`. Exit status 0
when every referral was routed within the timeout, 1 otherwise. The load generator shares the
machine's cores with the worker, Redis and PostgreSQL: every figure printed says so.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spoc.settings.local")

import django

django.setup()

from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from calls.services.intake import CallInput, NeedRequest, call_submit  # noqa: E402
from referrals.models import Referral  # noqa: E402
from spoc.accounts.models import User  # noqa: E402

MIX = (
    ("URGENT_HOME_VISIT", "P2", "UNSTABLE", "REQUEST_VISIT"),
    ("URGENT_HOME_VISIT", "P3", "DYING", "SYMPTOM_CONTROL"),
    ("SPECIALIST_FOLLOW_UP", "P4", "DETERIORATING", "CLINICAL_UPDATE"),
    ("CARER_SUPPORT", "P5", "STABLE", "CARER_CRISIS"),
    ("END_OF_LIFE_CARE_AT_HOME", "P3", "DYING", "REQUEST_VISIT"),
    ("OVERNIGHT_SUPPORT", "P4", "DETERIORATING", "CARER_CRISIS"),
)
SHARED = "the load generator shares the machine's 2 cores with the worker, Redis and PostgreSQL"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def call_input(patient_id: int, rng: random.Random) -> CallInput:
    need, priority, phase, reason = rng.choice(MIX)
    ipos = {"PAIN": 4} if priority == "P2" else {"PAIN": 3} if priority == "P3" else {}
    phase_priority = {"UNSTABLE": "P2", "DYING": "P3", "DETERIORATING": "P4", "STABLE": "P5"}[phase]
    suggested = min(phase_priority, "P2" if ipos.get("PAIN") == 4 else "P3" if ipos else "P5")
    return CallInput(
        received_at=timezone.now(),
        caller_type="DISTRICT_NURSE",
        caller_name="Bench caller",
        patient_id=patient_id,
        reason=reason,
        phase=phase,
        ipos=ipos,
        carer_coping="COPING",
        patient_location="HOME",
        chosen_priority=priority,
        override_reason="" if suggested == priority else "Benchmark mix",
        disposition="REFERRALS_CREATED",
        needs=(NeedRequest(need=need),),
    )


class Watcher(threading.Thread):
    """Polls the database every ``poll_ms`` for referrals that have become QUEUED and notes the
    moment it first saw each one (this process's clock): commit -> seen queued, the latency a
    nurse's screen could show at best (``routed_at`` is stamped when routing starts, before the
    ranking and its commit, so it would understate it)."""

    def __init__(self, poll_ms: float) -> None:
        super().__init__(daemon=True)
        self.poll = poll_ms / 1000
        self.pending: set[int] = set()
        self.seen: dict[int, datetime] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def watch(self, ids: list[int]) -> None:
        with self.lock:
            self.pending.update(ids)

    def run(self) -> None:
        from django.db import connection

        try:
            while not self.stopping.is_set():
                with self.lock:
                    pending = list(self.pending)
                if pending:
                    found = list(
                        Referral.objects.filter(pk__in=pending, status="QUEUED").values_list(
                            "pk", flat=True
                        )
                    )
                    now = timezone.now()
                    with self.lock:
                        for pk in found:
                            self.seen.setdefault(pk, now)
                            self.pending.discard(pk)
                time.sleep(self.poll)
        finally:
            connection.close()

    def wait(self, ids: list[int], timeout: float) -> dict[int, datetime]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if all(pk in self.seen for pk in ids):
                    break
            time.sleep(0.05)
        with self.lock:
            return {pk: self.seen[pk] for pk in ids if pk in self.seen}


def paced(
    patients: list[int],
    user: Any,
    *,
    count: int,
    rate: float,
    timeout: float,
    rng: random.Random,
    watcher: Watcher,
) -> dict[str, Any]:
    committed: dict[int, datetime] = {}
    interval = 1.0 / rate
    submit_ms: list[float] = []
    next_at = time.monotonic()
    for _ in range(count):
        time.sleep(max(0.0, next_at - time.monotonic()))
        next_at += interval
        started = time.perf_counter()
        result = call_submit(data=call_input(rng.choice(patients), rng), user=user)
        submit_ms.append((time.perf_counter() - started) * 1000)
        now = timezone.now()
        for referral in result.referrals:
            committed[referral.pk] = now
        watcher.watch([r.pk for r in result.referrals])
    seen = watcher.wait(list(committed), timeout)
    latencies = [(seen[pk] - committed[pk]).total_seconds() * 1000 for pk in seen]
    return {
        "referrals": len(committed),
        "routed": len(seen),
        "commit_to_seen_queued_ms": {
            "p50": round(percentile(latencies, 0.5), 1),
            "p95": round(percentile(latencies, 0.95), 1),
            "max": round(max(latencies), 1),
        }
        if latencies
        else None,
        "call_submit_ms": {
            "p50": round(percentile(submit_ms, 0.5), 1),
            "p95": round(percentile(submit_ms, 0.95), 1),
        },
        "rate_per_s": rate,
    }


def burst(
    patients: list[int],
    user: Any,
    *,
    count: int,
    timeout: float,
    rng: random.Random,
    watcher: Watcher,
) -> dict[str, Any]:
    ids: list[int] = []
    with transaction.atomic():
        for _ in range(count):
            ids += [
                r.pk
                for r in call_submit(
                    data=call_input(rng.choice(patients), rng), user=user
                ).referrals
            ]
    committed_at = timezone.now()
    watcher.watch(ids)
    routed = watcher.wait(ids, timeout)
    last = max(routed.values()) if routed else committed_at
    seconds = max((last - committed_at).total_seconds(), 1e-3)
    return {
        "referrals": len(ids),
        "routed": len(routed),
        "seconds": round(seconds, 2),
        "routed_per_s": round(len(routed) / seconds, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--paced", type=int, default=1000, help="calls in the latency phase")
    parser.add_argument(
        "--rate", type=float, default=10.0, help="calls per second in the latency phase"
    )
    parser.add_argument(
        "--burst", type=int, default=1000, help="calls saved at once in the throughput phase"
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for routing, per phase"
    )
    parser.add_argument(
        "--poll-ms", type=float, default=5.0, help="how often the watcher polls the database"
    )
    # A clinician: the calls record a Phase of Illness, a clinician's rating (docs/triage.md).
    parser.add_argument("--username", default="coordinator")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.paced < 1 or args.burst < 0 or args.rate <= 0:
        parser.error("--paced >= 1, --burst >= 0 and --rate > 0")
    rng = random.Random(args.seed)  # noqa: S311 (a repeatable choice of patients, not a secret)
    user = User.objects.get(username=args.username)
    top = Referral.objects.order_by("-patient_id").values_list("patient_id", flat=True).first() or 0
    patients = rng.sample(range(1, top + 1), min(top, 5000))
    from patients.models import Patient

    patients = list(
        Patient.objects.filter(pk__in=patients, died_at__isnull=True).values_list("pk", flat=True)
    )
    print(
        f"{Referral.objects.count():,} referrals in the database; {len(patients)} patients drawn. Note: {SHARED}."
    )
    results: dict[str, Any] = {"note": SHARED}
    watcher = Watcher(args.poll_ms)
    watcher.start()
    results["latency"] = paced(
        patients,
        user,
        count=args.paced,
        rate=args.rate,
        timeout=args.timeout,
        rng=rng,
        watcher=watcher,
    )
    print("Commit -> QUEUED, paced:", json.dumps(results["latency"]))
    if args.burst:
        results["throughput"] = burst(
            patients, user, count=args.burst, timeout=args.timeout, rng=rng, watcher=watcher
        )
        print("Throughput, burst:", json.dumps(results["throughput"]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    complete = results["latency"]["routed"] == results["latency"]["referrals"] and (
        not args.burst or results["throughput"]["routed"] == results["throughput"]["referrals"]
    )
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
