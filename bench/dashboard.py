"""The manager dashboard over 12 months, against a running hub on this machine.

Signs in as the demo manager, then times two phases, each request on its own:

- **periods**: one request at a time for each of ``--cold`` different 12-month periods (each
  ending one day earlier than the last), through the API;
- **warm**: ``--users`` concurrent users each requesting the dashboard ``--requests-per-user``
  times, cycling through the page and the API with no filter, a priority filter and each
  organisation filter, over the last 12 months.

Standard library only (shares its helpers with ``login_home.py``). Only talks to 127.0.0.1.
``bash bench/run_dashboard.sh`` starts gunicorn on a database that holds the summaries;
docs/performance.md ("Dashboards") reports the figures.

Exit status: 0 when every request succeeded, 1 when any failed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import re
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from login_home import (  # a sibling script, not a package
    ALLOWED_HOST,
    NO_ANSWER,
    CpuMeter,
    Timings,
    request,
    sign_in,
    summarise,
    write_results,
)

ORGANISATION_SELECT = re.compile(r'<select name="organisation".*?</select>', re.S)
OPTION_VALUE = re.compile(r'<option value="(\d+)"')


def timed(
    opener: urllib.request.OpenerDirector, url: str, timings: Timings, timeout: float
) -> None:
    try:
        response, elapsed = request(opener, url, data=None, timeout=timeout)
    except NO_ANSWER as exc:
        timings.fail(type(exc).__name__)
        return
    if response.status == 200:
        timings.ok(elapsed)
    else:
        timings.fail(f"HTTP {response.status}")


def run(args: argparse.Namespace) -> dict[str, Any]:
    base = args.url.rstrip("/")
    openers = [
        sign_in(base, args.username, args.password, timeout=args.timeout) for _ in range(args.users)
    ]
    today = (
        date.fromisoformat(args.today)
        if args.today
        else datetime.now(ZoneInfo("Europe/London")).date()
    )
    start = today - timedelta(days=364)
    period = f"date_from={start}&date_to={today}"
    page, _ = request(openers[0], f"{base}/dashboards/?{period}", data=None, timeout=args.timeout)
    select = ORGANISATION_SELECT.search(page.body)
    organisations = OPTION_VALUE.findall(select.group(0)) if select else []
    api_period = f"from={start}&to={today}"
    urls = [
        f"{base}/dashboards/?{period}",
        f"{base}/api/v1/dashboard/?{api_period}",
        f"{base}/api/v1/dashboard/?{api_period}&priority=P2",
        f"{base}/dashboards/?{period}&priority=P3",
    ]
    urls += [f"{base}/api/v1/dashboard/?{api_period}&organisation={org}" for org in organisations]
    for url in urls:  # unmeasured: every worker has imported its views and templates
        request(openers[0], url, data=None, timeout=args.timeout)

    cold = Timings()
    meter = CpuMeter()
    started = time.perf_counter()
    for n in range(1, args.cold + 1):
        end = today - timedelta(days=n)
        query = urllib.parse.urlencode({"from": end - timedelta(days=364), "to": end})
        timed(openers[0], f"{base}/api/v1/dashboard/?{query}", cold, args.timeout)
    cold_summary = summarise(
        "dashboard, one at a time, different periods", cold, time.perf_counter() - started
    )
    cold_summary["cpu"] = meter.stop()

    warm = Timings()
    go = threading.Barrier(args.users)

    def user(index: int) -> None:
        go.wait(timeout=args.timeout)
        for n in range(args.requests_per_user):
            timed(openers[index], urls[(index + n) % len(urls)], warm, args.timeout)

    meter = CpuMeter()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.users) as pool:
        list(pool.map(user, range(args.users)))
    warm_summary = summarise(
        "dashboard, 12 months, mixed filters", warm, time.perf_counter() - started
    )
    warm_summary["cpu"] = meter.stop()
    return {
        "urls": len(urls),
        "organisations": len(organisations),
        "phases": [cold_summary, warm_summary],
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8053", help="the hub (127.0.0.1 only)")
    parser.add_argument("--username", default="manager")
    parser.add_argument("--password", default="spoc-demo-2026")
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--requests-per-user", type=int, default=50)
    parser.add_argument(
        "--cold",
        type=int,
        default=20,
        help="requests one at a time, each for another 12-month period",
    )
    parser.add_argument(
        "--today", default="", help="the period's last day, YYYY-MM-DD (default: today)"
    )
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if urllib.parse.urlsplit(args.url).hostname != ALLOWED_HOST:
        parser.error(f"--url must be http://{ALLOWED_HOST}:<port>")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    results = run(args)
    for phase in results["phases"]:
        print(
            f"{phase['name']}: {phase['ok']} ok, {phase['errors']} errors, p50 {phase['p50_ms']} ms, "
            f"p95 {phase['p95_ms']} ms, max {phase['max_ms']} ms, {phase['requests_per_s']} req/s, "
            f"machine busy {phase['cpu']['machine_busy_cores']} of {phase['cpu']['cores']} cores"
        )
    write_results(args.json, results)
    return 1 if any(p["errors"] for p in results["phases"]) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
