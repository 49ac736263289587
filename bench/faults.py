"""Recovery after a fault: how long referrals waiting for routing take to be routed once the
broker or the worker is back (docs/operations.md, "Recovery after a fault").

Run inside the project (it uses the ORM and the real services) by bench/run_faults.sh, which
makes a fresh database. This script starts everything else itself: a `redis-server` of its own
on a free port (append-only file on, as in docker-compose.yml, in bench/results/faults-redis/),
the routing worker as production runs it (`--queues routing-urgent,routing`, concurrency 2) and
beat. Three faults, each while `--referrals` referrals (a share `--urgent` of them at P1-P2) are
waiting:

1. **redis-killed**: SIGKILL to Redis, `--outage` seconds down, then started again on its files;
2. **redis-stalled**: SIGSTOP to Redis for `--outage` seconds, then SIGCONT (the fault drill);
3. **worker-killed**: SIGKILL to the worker's whole process group (main process and pool), a
   new worker started `--worker-down` seconds later (a container restart policy);
4. **web-and-worker-killed** (last, as it stops the worker and beat above): the multi-node layout
   of scripts/cluster.sh (PgBouncer, HAProxy, two gunicorn nodes, a worker per queue, beat) on
   the same database and Redis, with `--clients` threads logging calls through the load balancer's
   calls API (devtools/cluster_load.py) for `--load-seconds`; a third of the way in, web node 1
   and then the routing worker get SIGKILL to their process groups, and both are started again
   `--worker-down` seconds later. The figures: calls accepted, calls the client saw fail, accepted
   calls missing from the database (lost writes), calls/s before and after the kill, and the time
   from the restart to the last of their referrals routed. Exit status 1 when a call failed, one
   was lost or a referral was not routed within `--timeout`.

For each: the referrals are saved in one transaction through `call_submit`, so that all their
routing tasks are enqueued at its commit; the fault strikes `--fault-after` seconds later while
the worker is busy with them; then a watcher polling the database every 50 ms notes when each
referral leaves AWAITING_ROUTING. The figures: how many still waited when the broker (or the
worker) was back, and the time from that moment to the last of them routed, for all and for
P1-P2 separately. Targets: all within 60 s, P1-P2 within 30 s. Exit status 1 when a referral was
not routed within `--timeout` or a target was missed.

The load generator (this process and its watcher), Redis, PostgreSQL, the worker and beat share
the machine's cores, and the machine may be shared with other work: every figure says so.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spoc.settings.local")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# The broker of this benchmark: set before Django reads its settings.
PORT = free_port()
os.environ["REDIS_URL"] = f"redis://127.0.0.1:{PORT}/0"

import django  # noqa: E402

django.setup()

from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from calls.services.intake import CallInput, NeedRequest, call_submit  # noqa: E402
from devtools.cluster_load import (  # noqa: E402
    CallLoad,
    api_token,
    calls_missing,
    referrals_waiting,
)
from patients.models import Patient  # noqa: E402
from referrals.models import Referral  # noqa: E402
from spoc.accounts.models import User  # noqa: E402

TARGET_ALL_S = 60.0
TARGET_URGENT_S = 30.0
# (need, priority, phase, IPOS pain score): P1-P2 and P3-P5 referrals that route to teams of the
# demo area. The suggested priority follows the phase and the pain score (calls/triage.py).
URGENT = ("URGENT_HOME_VISIT", "P2", "UNSTABLE", 4)
ROUTINE = (
    ("SPECIALIST_FOLLOW_UP", "P4", "DETERIORATING", None),
    ("CARER_SUPPORT", "P5", "STABLE", None),
    ("END_OF_LIFE_CARE_AT_HOME", "P3", "DYING", 3),
)
SHARED = (
    "the load generator, Redis, PostgreSQL, the worker and beat share the machine's cores "
    "(a machine shared with other engineers' test runs)"
)


class Redis:
    """A `redis-server` on PORT with its append-only file in its own folder."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            sys.exit("redis-server is missing: install the redis-server package.")
        self.binary = binary
        self.folder = folder
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(PORT),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--appendonly",
                "yes",
                "--save",
                "",
            ],
            stdout=(self.folder / "redis.log").open("ab"),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", PORT), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        sys.exit("redis-server did not answer within 30 s")

    def signal(self, signum: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(signum)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        assert self.proc is not None
        self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None


class Celery:
    """A `celery` process (worker or beat) leading a process group of its own."""

    def __init__(self, name: str, args: list[str]) -> None:
        self.name, self.args = name, args
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (RESULTS / f"faults-{self.name}.log").open("ab")
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "spoc", *self.args],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None


def call_input(patient_id: int, urgent: bool, rng: random.Random) -> CallInput:
    need, priority, phase, pain = URGENT if urgent else rng.choice(ROUTINE)
    return CallInput(
        received_at=timezone.now(),
        caller_type="DISTRICT_NURSE",
        caller_name="Bench caller",
        patient_id=patient_id,
        reason="REQUEST_VISIT",
        phase=phase,
        ipos={"PAIN": pain} if pain else {},
        carer_coping="COPING",
        patient_location="HOME",
        chosen_priority=priority,
        override_reason="Benchmark mix",
        disposition="REFERRALS_CREATED",
        needs=(NeedRequest(need=need),),
    )


def save_referrals(count: int, urgent_share: float, rng: random.Random) -> dict[int, bool]:
    """``count`` referrals in one transaction (their routing enqueued at its commit): id ->
    whether it is P1-P2."""
    # The coordinator: the calls record a Phase of Illness, a clinician's rating (docs/triage.md).
    user = User.objects.get(username="coordinator")
    patients = list(Patient.objects.filter(died_at=None).values_list("pk", flat=True)[:500])
    made: dict[int, bool] = {}
    with transaction.atomic():
        for index in range(count):
            urgent = index < round(count * urgent_share)
            result = call_submit(data=call_input(rng.choice(patients), urgent, rng), user=user)
            for referral in result.referrals:
                made[referral.pk] = referral.priority in ("P1", "P2")
    return made


def waiting(ids: list[int]) -> set[int]:
    return set(
        Referral.objects.filter(pk__in=ids, status="AWAITING_ROUTING").values_list("pk", flat=True)
    )


def routed_after(ids: list[int], since: float, timeout: float) -> dict[int, float]:
    """Poll every 50 ms until none of ``ids`` awaits routing: id -> seconds from ``since``
    (monotonic) to the poll that first saw it routed."""
    seen: dict[int, float] = {}
    pending = set(ids)
    deadline = since + timeout
    while pending and time.monotonic() < deadline:
        now = time.monotonic()
        for pk in pending - waiting(list(pending)):
            seen[pk] = now - since
        pending -= set(seen)
        time.sleep(0.05)
    return seen


def wait_idle(timeout: float = 300) -> None:
    """Every referral of the database routed: the previous scenario is over."""
    deadline = time.monotonic() + timeout
    while Referral.objects.filter(status="AWAITING_ROUTING").exists():
        if time.monotonic() > deadline:
            sys.exit("referrals of an earlier scenario were never routed")
        time.sleep(0.5)


def scenario(
    fault: str,
    *,
    redis: Redis,
    worker: Celery,
    args: argparse.Namespace,
    rng: random.Random,
) -> dict[str, Any]:
    wait_idle()
    made = save_referrals(args.referrals, args.urgent, rng)
    ids = list(made)
    time.sleep(args.fault_after)  # the worker is busy with them
    if fault == "redis-killed":
        redis.kill()
        time.sleep(args.outage)
        redis.start()
    elif fault == "redis-stalled":
        redis.signal(signal.SIGSTOP)
        time.sleep(args.outage)
        redis.signal(signal.SIGCONT)
    else:
        worker.kill()
        time.sleep(args.worker_down)
        worker.start()
    returned = time.monotonic()
    left = waiting(ids)
    seen = routed_after(list(left), returned, args.timeout)
    urgent_left = [pk for pk in left if made[pk]]
    all_s = max(seen.values(), default=0.0)
    urgent_s = max((seen[pk] for pk in urgent_left if pk in seen), default=0.0)
    result = {
        "fault": fault,
        "referrals": len(ids),
        "urgent": sum(made.values()),
        "waiting_at_return": len(left),
        "urgent_waiting_at_return": len(urgent_left),
        "never_routed": len(left) - len(seen),
        "all_routed_s": round(all_s, 1),
        "urgent_routed_s": round(urgent_s, 1),
    }
    result["target_met"] = (
        result["never_routed"] == 0 and all_s <= TARGET_ALL_S and urgent_s <= TARGET_URGENT_S
    )
    print(
        f"{fault}: {len(left)} of {len(ids)} waiting at the return "
        f"({len(urgent_left)} at P1-P2); all routed {all_s:.1f} s after it, "
        f"P1-P2 {urgent_s:.1f} s; never routed {result['never_routed']}; "
        f"target {'met' if result['target_met'] else 'MISSED'}",
        flush=True,
    )
    return result


def cluster_scenario(args: argparse.Namespace) -> dict[str, Any]:
    """Fault 4: a web node and the routing worker killed under a load of calls."""
    wait_idle()
    port = free_port()
    env = {
        **os.environ,
        "CLUSTER_DIR": str(RESULTS / "faults-cluster"),
        "CLUSTER_PORT": str(port),
        # The cluster's processes take the queues' real names (this script's own have none).
        "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"],
    }

    def cluster(*command: str) -> None:
        subprocess.run([str(ROOT / "scripts" / "cluster.sh"), *command], env=env, check=True)

    shutil.rmtree(RESULTS / "faults-cluster", ignore_errors=True)
    cluster("start")
    try:
        base = f"http://127.0.0.1:{port}"
        token = api_token(base_url=base, username="handler", password=os.environ["DEMO_PASSWORD"])
        patients = list(Patient.objects.filter(died_at=None).values_list("pk", flat=True)[:200])
        load = CallLoad(base_url=base, token=token, patient_ids=patients, concurrency=args.clients)
        started = time.monotonic()
        load.start()
        time.sleep(args.load_seconds / 3)
        before = len(load.accepted) / (time.monotonic() - started)
        killed_at = time.monotonic()
        count_at_kill = len(load.accepted)
        cluster("kill", "web1")
        cluster("kill", "worker-routing")
        time.sleep(args.worker_down)
        cluster("start")
        returned = time.monotonic()
        time.sleep(max(0.0, started + args.load_seconds - time.monotonic()))
        load.stop()
        after = (len(load.accepted) - count_at_kill) / (time.monotonic() - killed_at)
        ids = list(load.accepted.values())
        missing = calls_missing(ids)
        deadline = returned + args.timeout
        while referrals_waiting(ids) and time.monotonic() < deadline:
            time.sleep(0.2)
        waiting = referrals_waiting(ids)
        routed_s = time.monotonic() - returned
    finally:
        cluster("stop")
    result = {
        "fault": "web-and-worker-killed",
        "clients": args.clients,
        "load_seconds": args.load_seconds,
        "accepted": len(ids),
        "failed": len(load.failed),
        "failures": sorted(set(load.failed)),
        "replayed": load.replayed,
        "missing": len(missing),
        "calls_per_s_before": round(before, 1),
        "calls_per_s_after": round(after, 1),
        "never_routed": waiting,
        "all_routed_s": round(routed_s, 1),
    }
    result["target_met"] = not load.failed and not missing and not waiting
    print(
        f"web-and-worker-killed: {len(ids)} calls accepted, {len(load.failed)} failed, "
        f"{len(missing)} lost, {load.replayed} answered from a first run; "
        f"{before:.1f} calls/s before the kill, {after:.1f} after; all referrals routed "
        f"{routed_s:.1f} s after the restart ({waiting} never); "
        f"target {'met' if result['target_met'] else 'MISSED'}",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--referrals", type=int, default=600)
    parser.add_argument("--urgent", type=float, default=0.2, help="share at P1-P2")
    parser.add_argument("--outage", type=float, default=20.0, help="Redis down or stalled, s")
    parser.add_argument("--worker-down", type=float, default=5.0, help="before the restart, s")
    parser.add_argument("--fault-after", type=float, default=2.0, help="after the commit, s")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument(
        "--faults",
        default="redis-killed,redis-stalled,worker-killed,web-and-worker-killed",
        help="comma-separated; web-and-worker-killed runs last",
    )
    parser.add_argument("--clients", type=int, default=4, help="web-and-worker-killed: threads")
    parser.add_argument("--load-seconds", type=float, default=30.0, help="its load, s")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=RESULTS / "faults.json")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)  # noqa: S311  (a repeatable mix, not a secret)
    redis = Redis(RESULTS / "faults-redis")
    worker = Celery(
        "worker",
        [
            "worker",
            "--loglevel",
            "WARNING",
            "--concurrency",
            "2",
            "--hostname",
            "bench-routing@%h",
            "--queues",
            "routing-urgent,routing",
        ],
    )
    beat = Celery(
        "beat",
        ["beat", "--loglevel", "WARNING", "--schedule", str(RESULTS / "faults-celerybeat")],
    )
    results: list[dict[str, Any]] = []
    redis.start()
    worker.start()
    beat.start()
    try:
        print(f"Redis on port {PORT}; {SHARED}.", flush=True)
        faults = args.faults.split(",")
        for fault in [f for f in faults if f != "web-and-worker-killed"]:
            results.append(scenario(fault, redis=redis, worker=worker, args=args, rng=rng))
        if "web-and-worker-killed" in faults:
            # The cluster brings its own worker per queue and beat.
            beat.stop()
            worker.stop()
            results.append(cluster_scenario(args))
    finally:
        beat.stop()
        worker.stop()
        redis.stop()
    args.json.write_text(json.dumps({"results": results, "note": SHARED}, indent=2))
    sys.exit(0 if all(r["target_met"] for r in results) else 1)


if __name__ == "__main__":
    main()
