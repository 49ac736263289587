"""The embedded default of `make run`: SQLite and the filesystem broker, real web, worker and beat
processes, no PostgreSQL or Redis (docs/design.md §2); the dashboard summaries rebuilt on SQLite."""

from __future__ import annotations

import http.cookiejar
import json
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.commands import embedded_env, manage_ok
from tests.conftest import ROOT

pytestmark = pytest.mark.smoke


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# A bound for a hung command, not a speed target: seeding on SQLite takes seconds on an idle
# machine and many times that on a busy one.
COMMAND_TIMEOUT_SECONDS = 1200
# Enough patients for every kind of row the checks read (calls over 80 days, referrals,
# interventions), few enough to seed quickly on SQLite.
SMOKE_PATIENTS = "60"


def manage(env: dict[str, str], *args: str) -> str:
    return manage_ok(env, *args, timeout=COMMAND_TIMEOUT_SECONDS)


def fetch(
    opener: urllib.request.OpenerDirector, url: str, data: dict[str, str] | None = None
) -> tuple[int, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with opener.open(url, data=body, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def sign_in(opener: urllib.request.OpenerDirector, base: str, username: str) -> str:
    status, page = fetch(opener, f"{base}/accounts/login/")
    assert status == 200
    field = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert field is not None, page
    status, home = fetch(
        opener,
        f"{base}/accounts/login/",
        {
            "csrfmiddlewaretoken": field.group(1),
            "username": username,
            "password": "smoke-test-pass",
        },
    )
    assert status == 200
    return home


def test_embedded_default_migrates_seeds_serves_and_runs_a_worker(tmp_path):
    env = embedded_env(
        tmp_path,
        DEMO_PASSWORD="smoke-test-pass",
        WORKER_HEARTBEAT_SECONDS="2",
        HEALTHZ_TOKEN="smoke-monitor-token",
    )
    manage(env, "migrate", "--noinput")
    first = manage(env, "seed_demo", "--patients", SMOKE_PATIENTS)
    assert "handler" in first
    manage(env, "seed_demo", "--patients", SMOKE_PATIENTS)  # idempotent
    assert (tmp_path / "spoc.sqlite3").exists()
    rebuilt = re.search(r"Rebuilt (\d+) days", manage(env, "rebuild_summaries"))
    assert rebuilt is not None and int(rebuilt.group(1)) > 80
    with sqlite3.connect(tmp_path / "spoc.sqlite3") as db:
        ((calls,),) = db.execute("SELECT count(*) FROM referrals_call").fetchall()
        ((referrals,),) = db.execute("SELECT count(*) FROM referrals_referral").fetchall()
        # A patient's name corrected, however it is written, changes the versions of the queues
        # that show their referrals (referrals migration 0021's triggers), and only theirs.
        ((patient, team),) = db.execute(
            "SELECT patient_id, team_id FROM referrals_referral WHERE team_id IS NOT NULL LIMIT 1"
        ).fetchall()
        teams = {
            row[0]
            for row in db.execute(
                "SELECT team_id FROM referrals_referral WHERE patient_id = ? AND team_id IS NOT NULL",
                (patient,),
            )
        }
        changed = "UPDATE patients_patient SET family_name = family_name || 'x' WHERE id = ?"
        db.execute(changed, (patient,))
        before = dict(db.execute("SELECT team_id, version FROM referrals_queuedetailsversion"))
        db.execute(changed, (patient,))
        second = dict(db.execute("SELECT team_id, version FROM referrals_queuedetailsversion"))
        assert team in teams and set(before) == set(second) == teams
        assert all(second[t] > before[t] for t in teams)
        db.rollback()

    port = free_port()
    hub = subprocess.Popen(
        [sys.executable, "manage.py", "runhub", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    try:
        deadline = time.monotonic() + 60
        status = 0
        while time.monotonic() < deadline and status != 200:
            try:
                status, _ = fetch(opener, f"{base}/healthz/live")
            except OSError:
                time.sleep(0.5)
        assert status == 200, "web process did not answer"

        assert "SPOC coordinator" in sign_in(opener, base, "coordinator")

        # The manager's dashboard shows the demo data, from the summaries rebuilt on SQLite: the
        # demo's calls and referrals all fall in the default period (the last year).
        manager = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        sign_in(manager, base, "manager")
        status, page = fetch(manager, f"{base}/dashboards/")
        assert status == 200
        tile = re.search(r'data-tile="calls">\s*<span class="dash-tile__value">([\d,]+)<', page)
        assert tile is not None and int(tile.group(1).replace(",", "")) == calls > 0
        status, body = fetch(manager, f"{base}/api/v1/dashboard/")
        assert status == 200
        tiles = {t["key"]: t["value"] for t in json.loads(body)["tiles"]}
        assert (tiles["calls"], tiles["referrals"]) == (calls, referrals)
        assert tiles["patients_supported"] > 0 and tiles["interventions"] > 0

        # The worker's heartbeat reaches the shared SQLite file through its own process; the
        # checks' detail is for a monitoring system sending the token, the status for anyone.
        monitor = urllib.request.build_opener()
        monitor.addheaders = [("Authorization", "Bearer smoke-monitor-token")]
        health: dict[str, object] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status, body = fetch(monitor, f"{base}/healthz")
            health = json.loads(body)
            if status == 200:
                break
            time.sleep(1)
        assert health["status"] == "ok", health
        assert health["broker"] == {"ok": True, "transport": "filesystem"}
        assert fetch(opener, f"{base}/healthz") == (200, '{"status": "ok"}')

        # A task goes through the filesystem broker to the worker and into the database.
        manage(
            env,
            "shell",
            "-c",
            "from spoc.core.tasks import heartbeat_task; heartbeat_task.delay('smoke')",
        )
        deadline = time.monotonic() + 60
        rows: list[tuple[str]] = []
        while time.monotonic() < deadline and not rows:
            with sqlite3.connect(tmp_path / "spoc.sqlite3", timeout=20) as db:
                rows = db.execute("SELECT name FROM core_heartbeat WHERE name = 'smoke'").fetchall()
            time.sleep(0.5)
        assert rows == [("smoke",)]
    finally:
        hub.send_signal(signal.SIGINT)
        output, _ = hub.communicate(timeout=60)
    assert hub.returncode == 0, output
    assert f"SPOC hub at http://127.0.0.1:{port}/" in output
    assert "coordinator" in output
    # Ctrl-C stopped every child: nothing listens on the port any more.
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0
