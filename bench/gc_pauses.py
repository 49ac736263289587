"""Garbage-collection pauses in a web worker: how often Python's collector runs while one page is
loaded again and again, how long each generation's collections take, and the CPU per page, with
the long-lived objects frozen as gunicorn.conf.py's hooks freeze them (spoc/core/memory.py) or
not.

Runs in one process against the hub's database (DATABASE_URL, the local settings with DEBUG off)
through Django's test client, signed in as ``--username``, as bench/page_cost.py does (run
`manage.py collectstatic` first, as bench/run_page_cost.sh does). ``--freeze`` says when the
process freezes: ``none``; ``start`` (as a worker does once it has loaded the hub: the views
imported, before any page); ``warm`` (as it does again after its first requests: here after
``--warm`` untimed pages). Each collection's duration is taken from ``gc.callbacks``; the pauses
are wall time, which a busy machine lengthens: compare runs taken together. docs/performance.md
("Garbage-collection pauses") reports the figures.

Exit status: 0 when every page answered 200, 1 otherwise.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spoc.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "false")

import django

django.setup()

from spoc.core.memory import freeze_long_lived  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from login_home import percentile, write_results  # noqa: E402
from page_cost import signed_in  # noqa: E402


class Pauses:
    """Each collection's generation and wall time, from gc.callbacks."""

    def __init__(self) -> None:
        self.started = 0.0
        self.seen: list[tuple[int, float]] = []

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        else:
            self.seen.append((info["generation"], 1000 * (time.perf_counter() - self.started)))


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.freeze != "none":
        freeze_long_lived(load_views=True)
    client = signed_in(args.username, args.password)
    errors = 0
    for _ in range(args.warm):
        errors += client.get(args.path).status_code != 200
    if args.freeze == "warm":
        freeze_long_lived()
    pauses = Pauses()
    gc.callbacks.append(pauses)
    cpu: list[float] = []
    try:
        for _ in range(args.requests):
            started = time.process_time()
            errors += client.get(args.path).status_code != 200
            cpu.append(1000 * (time.process_time() - started))
    finally:
        gc.callbacks.remove(pauses)
    cpu.sort()
    generations = {
        str(generation): {
            "collections": len(times),
            "total_ms": round(sum(times), 1),
            "max_ms": round(max(times), 1),
        }
        for generation in (0, 1, 2)
        if (times := [ms for g, ms in pauses.seen if g == generation])
    }
    return {
        "path": args.path,
        "username": args.username,
        "freeze": args.freeze,
        "requests": args.requests,
        "tracked_objects": len(gc.get_objects()),
        "frozen_objects": gc.get_freeze_count(),
        "cpu_ms": {
            "p50": round(percentile(cpu, 50), 1),
            "p95": round(percentile(cpu, 95), 1),
            "max": round(cpu[-1], 1),
        },
        "collections": generations,
        "errors": errors,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", default="/queue/")
    parser.add_argument("--username", default="nurse")
    parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD", "spoc-demo-2026"))
    parser.add_argument("--freeze", choices=("none", "start", "warm"), default="warm")
    parser.add_argument("--warm", type=int, default=5, help="untimed pages first")
    parser.add_argument("--requests", type=int, default=200, help="timed pages")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    result = run(args)
    print(
        f"{result['username']} {result['path']}, freeze {result['freeze']}: CPU per page p50 "
        f"{result['cpu_ms']['p50']} / p95 {result['cpu_ms']['p95']} / max {result['cpu_ms']['max']}"
        f" ms; objects tracked {result['tracked_objects']}, frozen {result['frozen_objects']}"
    )
    for generation, row in result["collections"].items():
        print(
            f"  generation {generation}: {row['collections']} collections, "
            f"{row['total_ms']} ms in all, the longest {row['max_ms']} ms"
        )
    write_results(args.json, result)
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
