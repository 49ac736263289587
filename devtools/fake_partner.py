"""A partner to talk to (docs/interop.md, "A partner to talk to"): a small HTTP server that plays an
NHS 111 provider and the demo's GP practices. It sends the hub BaRS referrals (from files, or made
up from fictional people) with the 111 provider's OAuth 2.0 client credentials, and records
whatever the hub sends back, with a page to read it at `/`.

Standard library only; for development and the demo, never part of the hub. What it sent and
received is kept in memory and in `<data dir>/fake_partner/log.jsonl`."""

from __future__ import annotations

import html
import json
import random
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from devtools.nhs_numbers import SYNTHETIC_CAPACITY, synthetic_nhs_number

BARS_EVENTS = "https://fhir.nhs.uk/CodeSystem/message-events-bars"
BARS_REASONS = "https://fhir.nhs.uk/CodeSystem/message-reason-bars"
BARS_REFERRAL = "https://fhir.nhs.uk/MessageDefinition/bars-message-servicerequest-request-referral"
NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
ODS_CODE = "https://fhir.nhs.uk/Id/ods-organization-code"
HUB_NEED = "urn:spoc-hub:need"
FHIR_JSON = "application/fhir+json"

# The fake 111 provider (registered as a partner by the demo data: devtools/demo/partners.py).
PROVIDER_NAME = "NHS 111 Northbank and Southmere (demo)"
PROVIDER_ODS = "ZZ111"

# What the made-up referrals ask for: a need of the hub's list, an urgency, a reason in words.
ASKS = (
    ("URGENT_HOME_VISIT", "asap", "Pain not controlled by breakthrough doses; family anxious."),
    ("URGENT_HOME_VISIT", "urgent", "Increasing breathlessness at rest; wants to stay at home."),
    ("OVERNIGHT_SUPPORT", "urgent", "Carer exhausted; needs someone overnight."),
    ("END_OF_LIFE_CARE_AT_HOME", "asap", "Rapid deterioration; now bed-bound, family at bedside."),
    ("CARER_SUPPORT", "routine", "Daughter caring alone; asks for support."),
    ("", "urgent", "Syringe driver alarm sounding; district nurse unavailable."),
)
GIVEN = (
    "Siân",
    "Thu",
    "Aoife",
    "Kwame",
    "Margaret",
    "Dylan",
    "Zofia",
    "Oluwaseun",
    "Ewan",
    "Priya",
)
FAMILY = ("O'Brien", "Nguyễn", "Okafor", "Kowalski", "Pritchard", "Hughes", "Begum", "MacLeod")
POSTCODES = ("L9 7AL", "L9 1AA", "L7 8XP", "L4 0TH", "L20 3DL")
# Fictional clinical advisers of the 111 provider.
ADVISERS = (("Dr", "Amara", "Fields"), ("", "Tomasz", "Nowak"), ("", "Grace", "Adeyemi"))


@dataclass
class Entry:
    """One message the fake partner sent or received."""

    at: str
    direction: str  # "sent" or "received"
    path: str
    status: int
    summary: str
    body: Any = field(repr=False, default=None)


class Journal:
    """What was sent and received, newest last; kept in memory and appended to a file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: list[Entry] = []
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def add(self, entry: Entry) -> None:
        with self._lock:
            self.entries.append(entry)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(asdict(entry), ensure_ascii=False) + "\n")

    def received(self) -> list[Entry]:
        with self._lock:
            return [e for e in self.entries if e.direction == "received"]

    def all(self) -> list[Entry]:
        with self._lock:
            return list(self.entries)


def summary_of(message: Any) -> str:
    """One line about a message: its event, and the ServiceRequest and Task status it carries."""
    if not isinstance(message, dict):
        return "not JSON"
    resources = [
        (e.get("resource") or {}) for e in message.get("entry") or [] if isinstance(e, dict)
    ]
    header = next((r for r in resources if r.get("resourceType") == "MessageHeader"), {})
    parts = [str((header.get("eventCoding") or {}).get("code") or message.get("resourceType"))]
    for resource in resources:
        kind = resource.get("resourceType")
        if kind == "ServiceRequest":
            ids = [i.get("value") for i in resource.get("identifier") or []]
            parts.append(f"ServiceRequest {', '.join(map(str, ids))}: {resource.get('status')}")
        elif kind == "Task":
            parts.append(f"Task: {resource.get('status')}")
        elif kind == "Composition":
            parts.append(f"Composition: {resource.get('title')}")
    if message.get("resourceType") == "OperationOutcome":
        parts.extend(str(i.get("diagnostics")) for i in message.get("issue") or [])
    return "; ".join(parts)


def referral_message(rng: random.Random, *, now: datetime) -> dict[str, Any]:
    """A BaRS referral request from the fake 111 provider about a made-up person."""
    need, priority, reason = rng.choice(ASKS)
    urns = [f"urn:uuid:{uuid.uuid4()}" for _ in range(6)]
    header, request, patient, role, adviser, provider = urns
    born = date(1930, 1, 1) + timedelta(days=rng.randrange(60 * 365))
    person: dict[str, Any] = {
        "resourceType": "Patient",
        "name": [{"use": "official", "family": rng.choice(FAMILY), "given": [rng.choice(GIVEN)]}],
        "gender": rng.choice(("female", "male")),
        "birthDate": born.isoformat(),
        "address": [
            {"line": [f"{rng.randrange(1, 120)} Long Lane"], "postalCode": rng.choice(POSTCODES)}
        ],
        # One of the demo's GP practices (devtools/demo/directory.py), by its ODS code.
        "generalPractitioner": [
            {
                "type": "Organization",
                "identifier": {"system": ODS_CODE, "value": f"ZZP{rng.randrange(1, 9):02d}"},
            }
        ],
    }
    if rng.random() < 0.8:  # one in five callers cannot give an NHS number
        index = SYNTHETIC_CAPACITY - 1 - rng.randrange(50_000)
        person["identifier"] = [{"system": NHS_NUMBER, "value": synthetic_nhs_number(index)}]
    case = f"111-{now:%Y%m%d}-{rng.randrange(10**6):06d}"
    service_request: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "identifier": [{"system": "https://111.example.nhs.uk/case", "value": case}],
        "status": "active",
        "intent": "plan",
        "priority": priority,
        "subject": {"reference": patient},
        "authoredOn": now.isoformat(),
        "requester": {"reference": role},
        "note": [{"text": reason}],
        "occurrencePeriod": {
            "start": now.isoformat(),
            "end": (now + timedelta(hours=2 if priority in ("asap", "stat") else 6)).isoformat(),
        },
    }
    if need:
        service_request["code"] = {"coding": [{"system": HUB_NEED, "code": need}]}
    else:
        service_request["code"] = {"text": "Syringe driver review"}
    prefix, given, family = rng.choice(ADVISERS)
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "message",
        "timestamp": now.isoformat(),
        "entry": [
            {
                "fullUrl": header,
                "resource": {
                    "resourceType": "MessageHeader",
                    "id": str(uuid.uuid4()),
                    "eventCoding": {"system": BARS_EVENTS, "code": "servicerequest-request"},
                    "reason": {"coding": [{"system": BARS_REASONS, "code": "new"}]},
                    "source": {"endpoint": "https://111.example.nhs.uk/fhir"},
                    "focus": [{"reference": request}],
                    "definition": BARS_REFERRAL,
                },
            },
            {"fullUrl": request, "resource": service_request},
            {"fullUrl": patient, "resource": person},
            {
                "fullUrl": role,
                "resource": {
                    "resourceType": "PractitionerRole",
                    "practitioner": {"reference": adviser},
                    "organization": {"reference": provider},
                    "code": [{"text": "Clinical adviser"}],
                },
            },
            {
                "fullUrl": adviser,
                "resource": {
                    "resourceType": "Practitioner",
                    "name": [
                        {"family": family, "given": [given], "prefix": [prefix] if prefix else []}
                    ],
                },
            },
            {
                "fullUrl": provider,
                "resource": {
                    "resourceType": "Organization",
                    "identifier": [{"system": ODS_CODE, "value": PROVIDER_ODS}],
                    "name": PROVIDER_NAME,
                },
            },
        ],
    }


def http_post(
    url: str, body: bytes, headers: dict[str, str], *, timeout: float = 30
) -> tuple[int, Any]:
    """POST ``body`` to ``url`` (http or https, checked by the caller); the status and the
    answer, parsed as JSON when it is JSON."""
    request = urllib.request.Request(  # noqa: S310
        url, data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, raw.decode("utf-8", "replace")[:500]


@dataclass
class Hub:
    """The hub as the fake 111 provider reaches it: its address and the provider's credentials."""

    url: str
    client_id: str
    client_secret: str
    _token: str = ""

    def __post_init__(self) -> None:
        if urllib.parse.urlsplit(self.url).scheme not in ("http", "https"):
            raise ValueError(f"The hub's address must be http or https: {self.url}")

    def _post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        # An http(s) address only (checked above).
        return http_post(self.url + path, body, headers)

    def token(self) -> str:
        if not self._token:
            status, answer = self._post(
                "/oauth2/token",
                urllib.parse.urlencode(
                    {
                        "grant_type": "client_credentials",
                        "client_id": self.client_id,
                        "client_secret": self.client_secret,
                    }
                ).encode(),
                {"Content-Type": "application/x-www-form-urlencoded"},
            )
            if status != 200:
                raise RuntimeError(
                    f"The hub refused the partner's credentials ({status}): {answer}"
                )
            self._token = answer["access_token"]
        return self._token

    def send(self, message: dict[str, Any]) -> tuple[int, Any]:
        """POST one message to `$process-message`, with a new X-Request-ID (a new token once if
        the old one has expired)."""
        body = json.dumps(message, ensure_ascii=False).encode()
        request_id = str(uuid.uuid4())
        for _ in range(2):
            status, answer = self._post(
                "/fhir/R4/$process-message",
                body,
                {
                    "Content-Type": FHIR_JSON,
                    "Accept": FHIR_JSON,
                    "Authorization": f"Bearer {self.token()}",
                    "X-Request-ID": request_id,
                },
            )
            if status != 401:
                break
            self._token = ""
        return status, answer


def send_messages(hub: Hub, journal: Journal, messages: Iterable[dict[str, Any]]) -> list[int]:
    """Send each message to the hub and record it with the hub's answer; the statuses."""
    statuses = []
    for message in messages:
        status, answer = hub.send(message)
        journal.add(
            Entry(
                at=datetime.now(UTC).isoformat(timespec="seconds"),
                direction="sent",
                path="/fhir/R4/$process-message",
                status=status,
                summary=f"{summary_of(message)} -> {status} {summary_of(answer)}",
                body=answer,
            )
        )
        statuses.append(status)
    return statuses


def add_server_arguments(parser: Any, *, port: int, hub: str) -> None:
    """The arguments every fake's command takes: where it listens, and the hub's address."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument("--hub", default=hub, help="The hub's address.")


def serve_until_interrupted(server: Any) -> None:
    """Serve until Ctrl-C, then close the server's socket."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


class Answering(BaseHTTPRequestHandler):
    """A request handler that logs nothing (its page shows what matters) and answers in one
    call; the fake partner's, the fake Notify's and the fake phone's."""

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


# The pages' look: plain tables, readable without any asset.
PAGE_STYLE = (
    "<style>body{font-family:Arial,sans-serif;margin:2rem}table{border-collapse:collapse}"
    "td,th{border-bottom:1px solid #ccc;padding:.4rem;text-align:left;vertical-align:top}</style>"
)


def make_server(journal: Journal, *, host: str, port: int) -> ThreadingHTTPServer:
    """The server: POST anywhere records the message (the 111 provider's and the practices'
    endpoints); GET / shows the journal; GET /log.json gives it as JSON."""

    class Handler(Answering):
        server_version = "fake-partner"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body: Any = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")[:2000]
            journal.add(
                Entry(
                    at=datetime.now(UTC).isoformat(timespec="seconds"),
                    direction="received",
                    path=self.path,
                    status=200,
                    summary=summary_of(body),
                    body=body,
                )
            )
            self._answer(
                200,
                FHIR_JSON,
                json.dumps(
                    {
                        "resourceType": "OperationOutcome",
                        "issue": [
                            {
                                "severity": "information",
                                "code": "informational",
                                "diagnostics": "Received.",
                            }
                        ],
                    }
                ).encode(),
            )

        def do_GET(self) -> None:
            if self.path.startswith("/log.json"):
                payload = json.dumps([asdict(e) for e in journal.all()], ensure_ascii=False)
                self._answer(200, "application/json", payload.encode())
            elif self.path in ("/", "/index.html"):
                self._answer(200, "text/html; charset=utf-8", page(journal.all()).encode())
            else:
                self._answer(404, "text/plain", b"Not found")

    return ThreadingHTTPServer((host, port), Handler)


def page(entries: list[Entry]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(e.at)}</td><td>{html.escape(e.direction)}</td>"
        f"<td>{html.escape(e.path)}</td><td>{e.status}</td><td>{html.escape(e.summary)}</td></tr>"
        for e in reversed(entries)
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='refresh' content='10'><title>Fake partner</title>"
        f"{PAGE_STYLE}</head><body><h1>Fake partner: NHS 111 and GP practices (demo)</h1>"
        f"<p>{PROVIDER_NAME} ({PROVIDER_ODS}) sends referrals to the hub; what the hub sends back "
        "to it and to the practices is listed here, newest first. The page refreshes every 10 s.</p>"
        "<table><thead><tr><th>When (UTC)</th><th>Direction</th><th>Path</th><th>Status</th>"
        f"<th>What</th></tr></thead><tbody>{rows or '<tr><td colspan=5>Nothing yet.</td></tr>'}"
        "</tbody></table></body></html>"
    )
