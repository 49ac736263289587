#!/usr/bin/env python3
"""Attack a running hub from outside, as the review of docs/security.md did, and say for each
attack whether it was refused. Standard library only; it talks HTTP like any client would.

    scripts/security_probe.py --url http://127.0.0.1:8100 --host spoc.example.nhs.uk \\
        --accounts probe-accounts.json

The accounts file (written by `scripts/security_probe_setup.py`) names a call handler, an auditor
and a system admin, each with a password and the base32 key of a confirmed authenticator, and a
patient id. Under production settings (MFA for everyone, secure cookies behind a TLS proxy) the
probe sends `X-Forwarded-Proto: https` as the proxy would and keeps cookies itself.

Prints one line per attack, "refused" or "NOT REFUSED", and exits 1 if any was not refused.
Run it only against a hub holding fictional data: it changes passwords and signs in badly.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import re
import struct
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookies import SimpleCookie
from typing import Any

_USED_STEPS: dict[str, int] = {}


def totp(key_b32: str) -> str:
    """RFC 6238: HMAC-SHA1 over 30-second steps, 6 digits (what authenticator apps use). The hub
    refuses a code used before, so a second code for one key waits for the next step."""
    key = base64.b32decode(key_b32.replace(" ", "") + "=" * (-len(key_b32.replace(" ", "")) % 8))
    counter = int(time.time() // 30)
    if _USED_STEPS.get(key_b32, -1) >= counter:
        time.sleep((counter + 1) * 30 - time.time() + 0.5)
        counter += 1
    _USED_STEPS[key_b32] = counter
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Client:
    """One browser: its own cookies (secure ones too: the TLS proxy is assumed in front)."""

    def __init__(self, base: str, host: str, address: str = "") -> None:
        self.base, self.host, self.address = base.rstrip("/"), host, address
        self.cookies: dict[str, str] = {}
        self.opener = urllib.request.build_opener(NoRedirect)

    def request(
        self,
        method: str,
        path: str,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
    ) -> tuple[int, dict[str, str], str]:
        body = None
        all_headers = {"Host": self.host, "X-Forwarded-Proto": "https", **(headers or {})}
        if self.address:
            all_headers["X-Forwarded-For"] = self.address
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        elif data is not None:
            if "csrftoken" in self.cookies:
                data = {"csrfmiddlewaretoken": self.cookies["csrftoken"], **data}
                all_headers["Referer"] = f"https://{self.host}{path}"
            body = urllib.parse.urlencode(data, doseq=True).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        # The base URL is checked to be http(s) in main().
        req = urllib.request.Request(  # noqa: S310
            self.base + path, data=body, headers=all_headers, method=method
        )
        try:
            response = self.opener.open(req, timeout=30)
            status, raw_headers, text = response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as exc:
            status, raw_headers, text = exc.code, exc.headers, exc.read().decode(errors="replace")
        for header in raw_headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return status, dict(raw_headers.items()), text

    def get(self, path: str, **kwargs: Any) -> tuple[int, dict[str, str], str]:
        return self.request("GET", path, **kwargs)

    def post(
        self, path: str, data: dict[str, Any] | None = None, **kwargs: Any
    ) -> tuple[int, dict[str, str], str]:
        return self.request("POST", path, data=data if data is not None else {}, **kwargs)

    def sign_in(self, username: str, password: str, key: str | None = None) -> int:
        self.get("/accounts/login/")
        status, _, _ = self.post("/accounts/login/", {"username": username, "password": password})
        if key is not None and status == 302:
            self.get("/accounts/mfa/verify/")
            status, _, _ = self.post("/accounts/mfa/verify/", {"token": totp(key), "next": "/"})
        return status


RESULTS: list[tuple[str, bool, str]] = []


def check(name: str, refused: bool, detail: str = "") -> None:
    RESULTS.append((name, refused, detail))
    print(
        f"{'refused     ' if refused else 'NOT REFUSED '} {name}{f' ({detail})' if detail else ''}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8100")
    parser.add_argument("--host", default="spoc.example.nhs.uk")
    parser.add_argument("--accounts", required=True)
    args = parser.parse_args()
    if urllib.parse.urlparse(args.url).scheme not in ("http", "https"):
        parser.error("--url must be http:// or https://")
    with open(args.accounts) as file:
        accounts = json.load(file)
    handler, auditor, admin = accounts["handler"], accounts["auditor"], accounts["admin"]
    patient_id = accounts["patient_id"]
    new = lambda address="": Client(args.url, args.host, address)  # noqa: E731

    # 1. A password alone replaces the authenticator.
    thief = new("198.51.100.10")
    thief.sign_in(handler["username"], handler["password"])
    status, headers, _ = thief.post("/accounts/mfa/enrol/", {"start": "1"})
    check(
        "password-only session starts a new authenticator",
        status == 403 or (status == 302 and "/mfa/enrol/" not in headers.get("Location", "")),
        f"{status} {headers.get('Location', '')}",
    )
    status, _, _ = thief.get("/queue/")
    check("password-only session opens a page", status == 302, str(status))

    # 2. A system admin promotes themselves in the admin.
    boss = new("198.51.100.11")
    boss.sign_in(admin["username"], admin["password"], admin["key"])
    change = f"/admin/accounts/user/{admin['id']}/change/"
    boss.get(change)
    status, _, _ = boss.post(
        change,
        {
            "username": admin["username"],
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "groups": accounts["group_ids"],
        },
    )
    check(
        "system admin ticks is_superuser and adds groups on their own account",
        status == 403,
        str(status),
    )

    # 3. An auditor breaks glass and writes.
    reader = new("198.51.100.12")
    reader.sign_in(auditor["username"], auditor["password"], auditor["key"])
    status, _, _ = reader.post(
        f"/patients/{patient_id}/break-glass/", {"reason": "Checking a complaint about this record"}
    )
    check("auditor breaks glass", status in (403, 404), str(status))
    status, _, _ = reader.post(
        f"/dashboards/patients/{patient_id}/admissions/",
        {"admitted_on": "2026-11-30", "kind": "EMERGENCY", "site": ""},
    )
    check("auditor records a hospital admission", status in (403, 404), str(status))

    # 4. A token outlives a password change and a sign-out.
    nurse = new("198.51.100.13")
    status, _, body = nurse.post(
        "/api/v1/auth/token/",
        json_body={
            "username": handler["username"],
            "password": handler["password"],
            "otp_token": totp(handler["key"]),
        },
    )
    token = json.loads(body).get("token", "") if status == 200 else ""
    auth = {"Authorization": f"Token {token}"}
    ok_before = nurse.get("/api/v1/me/", headers=auth)[0] == 200
    nurse.sign_in(handler["username"], handler["password"], handler["key"])
    nurse.get("/accounts/password/")
    new_password = handler["password"] + "-changed"
    nurse.post(
        "/accounts/password/",
        {
            "old_password": handler["password"],
            "new_password1": new_password,
            "new_password2": new_password,
        },
    )
    status, _, _ = nurse.get("/api/v1/me/", headers=auth)
    check(
        "API token still works after the password change",
        ok_before and status == 401,
        f"before ok={ok_before}, after {status}",
    )
    handler["password"] = new_password

    # 5. A formula in a CSV cell: a failed sign-in as "=HYPERLINK(...)" lands in the access log.
    new("198.51.100.14").sign_in('=HYPERLINK("http://attacker.example","x")', "wrong-password-here")
    status, _, csv_text = reader.get("/audit/access-log/?format=csv&action=LOGIN_FAILED")
    live = [line for line in csv_text.splitlines() if re.search(r'(^|,)"?=HYPERLINK', line)]
    check(
        "access-log CSV writes a live formula",
        status == 200 and not live,
        f"{status}, {len(live)} live",
    )

    # 6. One address sprays one password at many usernames.
    sprayer = new("203.0.113.50")
    statuses = [sprayer.sign_in(f"nobody{n}", "Winter2026!Winter") for n in range(30)]
    check(
        "one address tries 30 usernames freely",
        429 in statuses,
        f"first 429 at attempt {statuses.index(429) + 1}" if 429 in statuses else "no 429",
    )

    # 9. API errors are JSON.
    status, headers, body = nurse.get("/api/v1/referrals/not-a-number/", headers=auth)
    check(
        "API 404 is an HTML page",
        headers.get("Content-Type", "").startswith("application/json"),
        f"{status} {headers.get('Content-Type')}",
    )

    # 10. Lists are logged: the call-backs list by a handler (checked in the access-log CSV).
    handler_browser = new("198.51.100.15")
    handler_browser.sign_in(handler["username"], handler["password"], handler["key"])
    handler_browser.get("/calls/call-backs/")
    _, _, csv_text = reader.get("/audit/access-log/?format=csv&action=LIST")
    check("the call-back list writes no access-log row", "call_backs" in csv_text)

    # 11. /healthz to a stranger.
    status, _, body = new().get("/healthz")
    check("/healthz tells a stranger its parts", set(json.loads(body)) == {"status"}, body[:80])

    failed = [name for name, refused, _ in RESULTS if not refused]
    print(f"\n{len(RESULTS) - len(failed)} of {len(RESULTS)} attacks refused.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
