"""What one routing costs the routing worker: CPU time and database queries per routing, in one
process, without a broker or a worker.

Runs against the hub's database (DATABASE_URL, the local settings with DEBUG off) and routes
referrals with ``referral_route`` as the routing task does, so its CPU figure is the worker's own
work per routing (the ORM, the ranker, the decision), which other load on the machine barely
changes, where the latencies of `bench/routing.py` are mostly queueing on a busy machine. The
database's own CPU is not in it; the queries per routing are counted instead.

Everything happens in one transaction that is rolled back at the end: ``--routings`` calls with
one need each (the mix of `bench/routing.py`) are saved through ``call_submit`` for living
patients of the database (their routing tasks are never sent: the transaction never commits),
then their referrals are routed one after another, twice over:

- **read every time**: the directory this process kept is dropped before each routing, so each
  reads it (what every routing did before the directory was kept);
- **kept**: the directory is read by the first routing and kept for the others, as in a routing
  worker between two edits of the directory (docs/routing.md "The directory kept in the routing
  worker").

Where the code predates the kept directory, only the first is measured. ``--profile`` also runs
each mode under cProfile and writes its most expensive frames to ``--profile-file``
(``bench/results/routing_cost-profile.txt``). Exit status: 0 when every referral was queued.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spoc.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "false")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from calls.services.intake import call_submit  # noqa: E402
from patients.models import Patient  # noqa: E402
from referrals.services.routing import referral_route  # noqa: E402
from referrals.transitions import ReferralStatus  # noqa: E402
from services import selectors  # noqa: E402
from spoc.accounts.models import User  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from login_home import percentile, write_results  # noqa: E402
from page_cost import profile_text  # noqa: E402
from routing import call_input  # noqa: E402

# Absent from the code before the routing worker kept the directory.
FORGET: Callable[[], None] | None = getattr(selectors, "routing_directory_forget", None)


class RolledBack(Exception):
    """Raised at the end of the run to undo everything it wrote."""


def referrals_to_route(count: int, *, username: str, rng: random.Random) -> list[int]:
    """``count`` referrals awaiting routing, one per call, for living patients."""
    user = User.objects.get(username=username)
    patients = list(
        Patient.objects.filter(died_at__isnull=True)
        .order_by("-pk")
        .values_list("pk", flat=True)[:5000]
    )
    if not patients:
        raise SystemExit("The database has no living patients: run manage.py seed_demo first.")
    ids: list[int] = []
    while len(ids) < count:
        result = call_submit(data=call_input(rng.choice(patients), rng), user=user)
        ids += [r.pk for r in result.referrals]
    return ids[:count]


def route(referral_id: int, *, forget: bool) -> bool:
    if forget and FORGET is not None:
        FORGET()
    routed = referral_route(referral_id=referral_id)
    return routed is not None and routed.status == ReferralStatus.QUEUED


def measure(ids: list[int], *, forget: bool) -> dict[str, Any]:
    """The queries of the first routing (counted apart: counting costs CPU), then the CPU and
    wall time of each of the others."""
    with CaptureQueriesContext(connection) as queries:
        queued = route(ids[0], forget=forget)
    cpu, wall = [], []
    for referral_id in ids[1:]:
        started_cpu, started = time.process_time(), time.perf_counter()
        queued &= route(referral_id, forget=forget)
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    cpu.sort()
    wall.sort()
    return {
        "routings": len(ids),
        "queued": queued,
        "queries": len(queries.captured_queries),
        "cpu_ms_mean": round(1000 * statistics.fmean(cpu), 2),
        "cpu_ms_p50": round(1000 * percentile(cpu, 50), 2),
        "cpu_ms_p95": round(1000 * percentile(cpu, 95), 2),
        "wall_ms_p50": round(1000 * percentile(wall, 50), 2),
    }


def profile(ids: list[int], *, forget: bool, top: int) -> str:
    """The ``top`` frames of these routings under cProfile, by own and by cumulative time."""
    profiler = cProfile.Profile()
    for referral_id in ids:
        if forget and FORGET is not None:
            FORGET()
        profiler.enable()
        referral_route(referral_id=referral_id)
        profiler.disable()
    return profile_text(profiler, top=top)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--routings", type=int, default=300, help="routings measured per mode")
    parser.add_argument("--username", default="coordinator", help="who saves the calls")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--profile", action="store_true", help="also profile each mode")
    parser.add_argument("--profile-routings", type=int, default=50, help="routings profiled")
    parser.add_argument("--profile-top", type=int, default=25, help="frames listed per order")
    parser.add_argument(
        "--profile-file",
        type=Path,
        default=Path(__file__).resolve().parent / "results" / "routing_cost-profile.txt",
    )
    args = parser.parse_args(argv)
    if args.routings < 2:
        parser.error("--routings >= 2")
    rng = random.Random(args.seed)  # noqa: S311 (a repeatable choice of patients, not a secret)
    modes = [("read every time", True)] + ([("kept", False)] if FORGET is not None else [])
    per_mode = args.routings + (args.profile_routings if args.profile else 0)
    rows: dict[str, dict[str, Any]] = {}
    profiles: list[str] = []
    try:
        with transaction.atomic():
            ids = referrals_to_route(per_mode * len(modes) + 5, username=args.username, rng=rng)
            for referral_id in ids[:5]:  # warm: imports, the connection, the ranker's caches
                route(referral_id, forget=True)
            for n, (name, forget) in enumerate(modes):
                mine = ids[5 + n * per_mode : 5 + (n + 1) * per_mode]
                rows[name] = measure(mine[: args.routings], forget=forget)
                if args.profile:
                    text = profile(mine[args.routings :], forget=forget, top=args.profile_top)
                    profiles.append(f"=== {name}: {args.profile_routings} routings\n{text}")
            raise RolledBack
    except RolledBack:
        pass
    print(f"{'':16} {'queries':>7} {'CPU ms mean':>11} {'p50':>6} {'p95':>6} {'wall p50':>8}")
    for name, row in rows.items():
        print(
            f"{name:16} {row['queries']:>7} {row['cpu_ms_mean']:>11} {row['cpu_ms_p50']:>6} "
            f"{row['cpu_ms_p95']:>6} {row['wall_ms_p50']:>8}"
        )
    if profiles:
        args.profile_file.parent.mkdir(parents=True, exist_ok=True)
        args.profile_file.write_text("\n".join(profiles))
        print(f"Profiles: {args.profile_file}")
    write_results(args.json, {"modes": rows})
    return 0 if all(row["queued"] for row in rows.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
