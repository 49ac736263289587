"""`docker compose up` of docker-compose.yml, driven from outside: `make compose-check`.

Builds and starts the whole layout under a project name of its own (`spoc-check`), with secrets
made for the run, and checks what docs/deployment.md ("`docker compose up`, as run") lists:

1. every service healthy (migrate exited 0), and `/healthz` through the balancer all green;
2. the static files served by the web nodes, cached for good;
3. a call handler (made in the new installation, with an authenticator) signs in through the
   balancer with her password and a one-time code, and both web nodes serve her session;
4. a call posted to the calls API through the balancer has its referrals routed by the routing
   worker; with that worker stopped, a call is still accepted and routed once it is back;
5. web node 2 killed (SIGKILL) while four clients load pages: every request answered 200;
6. a second beat started by mistake sends nothing, and takes over once the first is stopped.

Then it removes what it made (containers, networks, volumes), unless `--keep`. The directory it
loads into the new installation is the demo area's, written by `manage.py export_oruk` from a
throwaway embedded database. Needs a running Docker daemon, Compose (the `docker compose` plugin
or `docker-compose`), port 8000 free and the repository set up (`make setup`). Where no image
registry is reachable, build the base images first (deploy/debian-images/build.sh). Exit status
0 when every check passed; 1 with the failed check in one line otherwise.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "spoc-check"
PORT = 8000
HEALTHZ_TOKEN = secrets.token_urlsafe(24)
PASSWORD = secrets.token_urlsafe(18)


class CheckFailed(Exception):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def wait_for(what: str, seconds: float, probe: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not probe():
        if time.monotonic() > deadline:
            raise CheckFailed(f"{what}: not within {seconds:.0f} s")
        time.sleep(2)


class Layout:
    """docker-compose.yml under the project name PROJECT, with this run's secrets."""

    def __init__(self) -> None:
        if shutil.which("docker") is None:
            raise CheckFailed("Docker is not installed (apt-get install docker.io docker-compose)")
        if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
            raise CheckFailed("the Docker daemon is not running, or this user may not use it")
        if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
            compose = ["docker", "compose"]
        elif shutil.which("docker-compose"):
            compose = ["docker-compose"]
        else:
            raise CheckFailed("neither `docker compose` nor `docker-compose` is installed")
        self.command = [*compose, "--project-name", PROJECT]
        self.env = {
            **os.environ,
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "POSTGRES_PASSWORD": secrets.token_urlsafe(18),
            "SPOC_OWNER_DB_PASSWORD": secrets.token_urlsafe(18),
            "SPOC_APP_DB_PASSWORD": secrets.token_urlsafe(18),
            "HEALTHZ_TOKEN": HEALTHZ_TOKEN,
            "COMPOSE_HTTP_TIMEOUT": "300",
        }

    def run(self, *args: str, timeout: float = 1800) -> str:
        result = subprocess.run(
            [*self.command, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise CheckFailed(f"`compose {' '.join(args)}` failed: {result.stderr.strip()[-500:]}")
        return result.stdout

    def containers(self, service: str = "") -> list[str]:
        return self.run("ps", "-q", *([service] if service else [])).split()

    def shell(self, code: str) -> Any:
        """Runs ``code`` in the web container's `manage.py shell`; returns the JSON it prints."""
        printed = self.run("exec", "-T", "web", "python", "manage.py", "shell", "-c", code)
        return json.loads(printed.strip().splitlines()[-1])

    def logs(self, container: str) -> str:
        result = subprocess.run(["docker", "logs", container], capture_output=True, text=True)
        return result.stdout + result.stderr


def health(container_id: str) -> str:
    [state] = states([container_id]).values()
    return state


def states(container_ids: list[str]) -> dict[str, str]:
    """Each container's name and its health (or its state, when it has no healthcheck)."""
    template = (
        "{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}"
        '{{if eq .State.Status "exited"}}:{{.State.ExitCode}}{{end}}{{end}}'
    )
    printed = subprocess.run(
        ["docker", "inspect", "-f", template, *container_ids],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.lstrip("/").split(" ", 1) for line in printed.splitlines())


class Browser:
    """A client with its own cookies, through the balancer, as if behind the TLS proxy (the
    production settings redirect plain HTTP and send cookies only over HTTPS)."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str, str]:
        sent = {
            "Host": "localhost",
            "X-Forwarded-Proto": "https",
            "Referer": "https://localhost/",
            **(headers or {}),
        }
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data: str | None = None
        if form is not None:
            data = urllib.parse.urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body)
            sent["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=15)
        try:
            connection.request(method, path, data, sent)
            response = connection.getresponse()
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    self.cookies[key] = rest.split(";", 1)[0]
            return response.status, response.getheader("Location") or "", response.read().decode()
        finally:
            connection.close()

    def get(self, path: str, **kwargs: Any) -> tuple[int, str, str]:
        return self.request("GET", path, **kwargs)


def csrf_token(page: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if found is None:
        raise CheckFailed("a form came without its CSRF token")
    return found.group(1)


# -- The checks ----------------------------------------------------------------------------------


def check_started(layout: Layout) -> None:
    def all_healthy() -> bool:
        found = states(layout.containers())
        # The balancer has no healthcheck (it is checked through), migrate runs once and exits.
        waiting = {
            name: state
            for name, state in found.items()
            if state not in {"healthy", "exited:0"} and not re.search(r"[-_]lb[-_]\d+$", name)
        }
        return len(found) == 11 and not waiting

    wait_for("every service healthy", 600, all_healthy)
    status, _, page = Browser().get(
        "/healthz", headers={"Authorization": f"Bearer {HEALTHZ_TOKEN}"}
    )
    report = json.loads(page)
    failing = [name for name, part in report.items() if isinstance(part, dict) and not part["ok"]]
    check(status == 200 and report["status"] == "ok", f"/healthz is not ok: {failing}")
    print(f"  healthy: 11 containers, /healthz ok ({len(report) - 1} checks)")


def check_static(layout: Layout) -> None:
    status, _, page = Browser().get("/accounts/login/")
    check(status == 200, f"the sign-in page answered {status}")
    for path in re.findall(r'(?:href|src)="(/static/[^"]+)"', page):
        connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=15)
        connection.request("GET", path, headers={"Host": "localhost", "X-Forwarded-Proto": "https"})
        response = connection.getresponse()
        response.read()
        cache = response.getheader("Cache-Control") or ""
        check(response.status == 200 and "immutable" in cache, f"{path}: {response.status} {cache}")
    print("  static files: every file the sign-in page names, 200 and immutable")


def load_directory(layout: Layout) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
        }
        env.update({"DJANGO_SETTINGS_MODULE": "spoc.settings.local", "SPOC_DATA_DIR": data_dir})
        exported = Path(data_dir) / "directory.json"
        for args in (
            ["migrate", "-v0"],
            ["seed_demo", "--patients", "0"],
            ["export_oruk", str(exported)],
        ):
            subprocess.run(
                [sys.executable, "manage.py", *args],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                timeout=600,
            )
        web = layout.containers("web")[0]
        subprocess.run(
            ["docker", "cp", str(exported), f"{web}:/app/.data/directory.json"], check=True
        )
    layout.run(
        "exec", "-T", "web", "python", "manage.py", "import_oruk", "/app/.data/directory.json"
    )


HANDLER = """
import datetime, json
from django.contrib.auth.models import Group
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from patients.services import PatientData, patient_register
from spoc.accounts.models import User

user = User.objects.create_user("handler-check", password=%(password)r, first_name="Siân",
                                last_name="Nguyễn")
user.groups.add(Group.objects.get(name="Call handler"))
device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
patient = patient_register(
    data=PatientData(given_name="Mary", family_name="O'Brien", nhs_number="9990000018",
                     date_of_birth=datetime.date(1940, 5, 1), postcode="L1 8JQ"),
    user=user, confirmed_not_duplicate=True)
codes = []
for drift in (0, 1):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, drift)
    codes.append(f"{totp.token():0{device.digits}d}")
print(json.dumps({"patient": patient.pk, "codes": codes}))
"""


def check_sign_in(layout: Layout, code: str) -> None:
    browser = Browser()
    _, _, page = browser.get("/accounts/login/")
    status, location, _ = browser.request(
        "POST",
        "/accounts/login/",
        form={
            "csrfmiddlewaretoken": csrf_token(page),
            "username": "handler-check",
            "password": PASSWORD,
        },
    )
    check(status == 302, f"the password was refused ({status})")
    path = location
    while status == 302:
        path = location
        status, location, page = browser.get(path)
    check("/mfa/" in path, f"no one-time code was asked for ({path})")
    status, location, _ = browser.request(
        "POST", path, form={"csrfmiddlewaretoken": csrf_token(page), "token": code}
    )
    check(status == 302, f"the one-time code was refused ({status})")
    before = Counter(
        re.findall(r"web/(web[12]) .*\"GET / HTTP", layout.logs(layout.containers("lb")[0]))
    )
    for _ in range(6):
        status, location, page = browser.get("/")
        check(
            status == 200 and "<title>Home" in page, f"the home page answered {status} {location}"
        )
    after = Counter(
        re.findall(r"web/(web[12]) .*\"GET / HTTP", layout.logs(layout.containers("lb")[0]))
    )
    served = after - before
    check(served["web1"] > 0 and served["web2"] > 0, f"one node served every page: {dict(served)}")
    print(f"  signed in with a one-time code; home pages served {dict(served)}")


class Api:
    def __init__(self, code: str) -> None:
        self.browser = Browser()
        status, _, page = self.browser.request(
            "POST",
            "/api/v1/auth/token/",
            body={"username": "handler-check", "password": PASSWORD, "otp_token": code},
        )
        check(status == 200, f"no API token: {status} {page[:200]}")
        self.auth = {"Authorization": f"Token {json.loads(page)['token']}"}

    def post_call(self, patient: int) -> list[int]:
        now = datetime.now(UTC)
        body = {
            "received_at": (now - timedelta(minutes=6)).isoformat(),
            "ended_at": (now - timedelta(minutes=1)).isoformat(),
            "caller_type": "CARER_FAMILY",
            "caller_name": "Mary O'Brien",
            "caller_phone": "07911 123456",
            "patient_id": patient,
            "reason": "REQUEST_VISIT",
            "notes": "Pain worse since this morning.",
            "ipos": {"PAIN": 4, "NAUSEA": 1},
            "akps": 40,
            "red_flags": [],
            "carer_coping": "STRUGGLING",
            "patient_location": "HOME",
            "disposition": "REFERRALS_CREATED",
            "needs": [{"need": "URGENT_HOME_VISIT"}, {"need": "CARER_SUPPORT"}],
        }
        status, _, page = self.browser.request(
            "POST",
            "/api/v1/calls/",
            body=body,
            headers={**self.auth, "Idempotency-Key": uuid.uuid4().hex},
        )
        check(status == 201, f"the call was not saved: {status} {page[:300]}")
        return [referral["id"] for referral in json.loads(page)["referrals"]]

    def statuses(self, patient: int) -> dict[int, str]:
        status, _, page = self.browser.get(
            f"/api/v1/referrals/?patient={patient}", headers=self.auth
        )
        check(status == 200, f"the referral list answered {status}")
        answer = json.loads(page)
        return {row["id"]: row["status"] for row in answer.get("results", answer)}


def routed(api: Api, patient: int, referrals: list[int]) -> Callable[[], bool]:
    def probe() -> bool:
        found = api.statuses(patient)
        return all(found.get(r) not in {None, "AWAITING_ROUTING"} for r in referrals)

    return probe


def check_routing(layout: Layout, api: Api, patient: int) -> None:
    referrals = api.post_call(patient)
    wait_for("the call's referrals routed", 60, routed(api, patient, referrals))
    print(f"  a call through the balancer: referrals {referrals} routed")
    layout.run("stop", "worker-routing")
    referrals = api.post_call(patient)
    time.sleep(5)
    waiting = api.statuses(patient)
    check(
        all(waiting[r] == "AWAITING_ROUTING" for r in referrals),
        f"routed with no worker: {waiting}",
    )
    layout.run("start", "worker-routing")
    wait_for(
        "the waiting referrals routed once the worker is back", 180, routed(api, patient, referrals)
    )
    print(f"  routing worker stopped: call accepted, referrals {referrals} routed once it was back")


def check_web_node_killed(layout: Layout) -> None:
    results: Counter[object] = Counter()
    lock = threading.Lock()
    stop = time.monotonic() + 20

    def client() -> None:
        browser = Browser()
        while time.monotonic() < stop:
            try:
                status: object = browser.get("/accounts/login/")[0]
            except OSError as error:
                status = type(error).__name__
            with lock:
                results[status] += 1

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(5)
    web2 = layout.containers("web-2")[0]
    subprocess.run(["docker", "kill", "--signal", "KILL", web2], check=True, capture_output=True)
    for thread in threads:
        thread.join()
    check(set(results) == {200}, f"requests failed while a node died: {dict(results)}")
    layout.run("start", "web-2")
    wait_for("web node 2 healthy again", 180, lambda: health(web2) == "healthy")
    print(f"  web node 2 killed under load: {results[200]} requests, all 200; restarted")


def check_second_beat(layout: Layout) -> None:
    [first] = layout.containers("beat")
    layout.run("up", "-d", "--no-recreate", "--scale", "beat=2", "beat")
    [second] = [c for c in layout.containers("beat") if c != first]
    time.sleep(40)
    check(
        "Sending due task" not in layout.logs(second), "the second beat sent tasks beside the first"
    )
    subprocess.run(["docker", "stop", first], check=True, capture_output=True)
    wait_for(
        "the second beat taking the lock", 120, lambda: "took the beat lock" in layout.logs(second)
    )
    print("  a second beat sent nothing beside the first, and took over once it stopped")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave the layout running")
    options = parser.parse_args()
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", PORT)) == 0:
            print(f"compose check: port {PORT} is taken; stop what listens there first.")
            return 1
    layout: Layout | None = None
    try:
        layout = Layout()
        print("compose check: building and starting the layout (the first build takes minutes)")
        layout.run("build")
        layout.run("up", "-d")
        check_started(layout)
        check_static(layout)
        load_directory(layout)
        made = layout.shell(HANDLER % {"password": PASSWORD})
        check_sign_in(layout, made["codes"][0])
        api = Api(made["codes"][1])
        check_routing(layout, api, made["patient"])
        check_web_node_killed(layout)
        check_second_beat(layout)
    except CheckFailed as failure:
        print(f"compose check FAILED: {failure}")
        return 1
    finally:
        if layout is not None and not options.keep:
            layout.run("down", "--volumes", "--remove-orphans")
    print("compose check: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
