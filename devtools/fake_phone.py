"""A phone system to test with (docs/telephony.md, "A phone to test with"): a small HTTP server
with a page of buttons that plays the SPOC's phone system. It sends the hub signed events in the
hub's own format (ringing, answered on an extension, ended, abandoned, voicemail) for the demo's
lines, as a cloud phone system would, so `make run` shows a screen pop and a missed call.

Standard library only (and the hub's own signing rule); for development and the demo, never part
of the hub. Its calls and the hub's answers are kept in memory and shown on its page at `/`."""

from __future__ import annotations

import html
import itertools
import json
import threading
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import Any

from calls.telephony import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from devtools.fake_partner import Answering, http_post

FAKE_PHONE_PORT = 8072
# The SPOC's number in the demo (a number of Ofcom's drama range, like every demo number).
SPOC_LINE = "0151 496 0000"
DEFAULT_EXTENSION = "2001"
# spoc/settings/local.py's default: a development value, never a production secret.
DEFAULT_SECRET = "dev-telephony-secret"  # noqa: S105
EVENTS_PATH = "/telephony/events/"


def signed(body: bytes, *, secret: str, at: datetime) -> dict[str, str]:
    """The headers that sign ``body`` as sent at ``at`` (docs/telephony.md, "Signatures")."""
    timestamp = str(int(at.timestamp()))
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def event(
    kind: str,
    *,
    call_id: str,
    caller: str = "",
    line: str = SPOC_LINE,
    extension: str = "",
    recording_url: str = "",
    at: datetime | None = None,
) -> dict[str, Any]:
    """One event in the hub's format, with a new event id."""
    payload: dict[str, Any] = {
        "event_id": f"fake-{uuid.uuid4()}",
        "call_id": call_id,
        "type": kind,
        "occurred_at": (at or datetime.now(UTC)).isoformat(),
        "caller": caller,
        "line": line,
    }
    if extension:
        payload["extension"] = extension
    if recording_url:
        payload["recording_url"] = recording_url
    return payload


def send(hub_url: str, payload: dict[str, Any], *, secret: str) -> tuple[int, Any]:
    """POST one signed event to the hub; its status and answer."""
    if urllib.parse.urlsplit(hub_url).scheme not in ("http", "https"):
        raise ValueError(f"The hub's address must be http or https: {hub_url}")
    body = json.dumps(payload).encode()
    return http_post(
        hub_url.rstrip("/") + EVENTS_PATH,
        body,
        signed(body, secret=secret, at=datetime.now(UTC)),
        timeout=10,
    )


@dataclass
class Phone:
    """The fake phone system: the call in progress (one at a time, as a demo needs) and a log of
    what it sent and what the hub answered, newest last."""

    hub_url: str
    secret: str
    caller: str
    extension: str = DEFAULT_EXTENSION
    call_id: str = ""
    log: list[str] = field(default_factory=list)
    _numbers: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _send(self, kind: str, *, extension: str = "", recording_url: str = "") -> int:
        if not self.call_id:
            self.log.append(f"{datetime.now(UTC):%H:%M:%S} {kind}: no call yet, ring first")
            return 0
        payload = event(
            kind,
            call_id=self.call_id,
            caller=self.caller,
            extension=extension,
            recording_url=recording_url,
        )
        try:
            status, answer = send(self.hub_url, payload, secret=self.secret)
        except OSError as exc:
            status, answer = 0, f"hub unreachable: {exc}"
        self.log.append(f"{datetime.now(UTC):%H:%M:%S} {kind} {self.call_id} -> {status} {answer}")
        return status

    def ring(self, caller: str = "") -> int:
        with self._lock:
            self.caller = caller or self.caller
            self.call_id = f"fake-phone-{uuid.uuid4().hex[:12]}-{next(self._numbers)}"
            return self._send("ringing")

    def answer(self, extension: str = "") -> int:
        with self._lock:
            return self._send("answered", extension=extension or self.extension)

    def hang_up(self) -> int:
        with self._lock:
            return self._send("ended")

    def give_up(self) -> int:
        with self._lock:
            return self._send("abandoned")

    def voicemail(self, recording_url: str = "") -> int:
        with self._lock:
            return self._send("voicemail", recording_url=recording_url)


ACTIONS: dict[str, Callable[[Phone], int]] = {
    "ring": Phone.ring,
    "answer": Phone.answer,
    "hangup": Phone.hang_up,
    "abandon": Phone.give_up,
    "voicemail": Phone.voicemail,
}


def make_server(phone: Phone, *, host: str, port: int) -> ThreadingHTTPServer:
    """GET / shows the buttons and the log; POST /<action> (ring, answer, hangup, abandon,
    voicemail) plays it and goes back to the page."""

    class Handler(Answering):
        server_version = "fake-phone"

        def do_GET(self) -> None:
            if self.path not in ("/", "/index.html"):
                self._answer(404, "text/plain", b"Not found")
                return
            self._answer(200, "text/html; charset=utf-8", page(phone).encode())

        def do_POST(self) -> None:
            action = ACTIONS.get(self.path.strip("/"))
            if action is None:
                self._answer(404, "text/plain", b"Not found")
                return
            action(phone)
            self.send_response(303)
            self.send_header("Location", "/")
            self.end_headers()

    return ThreadingHTTPServer((host, port), Handler)


def page(phone: Phone) -> str:
    caller = html.escape(phone.caller)
    buttons = (
        ("ring", f"Ring the SPOC from {caller}"),
        ("answer", f"Answer on extension {html.escape(phone.extension)}"),
        ("hangup", "Hang up"),
        ("abandon", "Caller gives up"),
        ("voicemail", "Caller leaves a voicemail"),
    )
    forms = "".join(
        f"<form method='post' action='/{action}'><button type='submit'>{label}</button></form>"
        for action, label in buttons
    )
    log = "".join(f"<li>{html.escape(line)}</li>" for line in reversed(phone.log))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Fake phone</title>"
        "<style>body{font-family:Arial,sans-serif;margin:2rem}form{display:inline-block;"
        "margin:0 .5rem .5rem 0}button{font-size:1rem;padding:.5rem 1rem}</style></head><body>"
        f"<h1>Fake phone: the SPOC's line {html.escape(SPOC_LINE)} (demo)</h1>"
        f"<p>Sends signed events to {html.escape(phone.hub_url)}{EVENTS_PATH}. "
        f"Current call: {html.escape(phone.call_id) or 'none'}.</p>{forms}"
        f"<h2>Sent</h2><ul>{log or '<li>Nothing yet.</li>'}</ul></body></html>"
    )
