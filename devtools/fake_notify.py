"""A GOV.UK Notify to text (docs/operations.md, "Urgent alerts and acknowledgement"): a small
HTTP server that speaks the part of Notify's v2 API the hub uses, with Notify's documented
checks, and a page at `/` listing every text it was sent, newest first.

- ``POST /v2/notifications/sms``: the bearer JWT (HS256, ``iss`` the service id, ``iat`` within
  30 seconds, signed with the API key's secret), the template id, the personalisation against the
  template's ``((placeholders))`` and the phone number (Notify's rules for UK mobiles); 201 with
  Notify's response body, or Notify's error JSON (``{"status_code", "errors": [{"error",
  "message"}]}``: 400 ``ValidationError`` / ``BadRequestError``, 401 / 403 ``AuthError``).
- ``GET /v2/notifications/{id}``: the message and its status.
- Shortly after a text is taken, its delivery receipt goes to the hub's callback URL with the
  bearer token, as Notify's callbacks do: ``delivered``, or a failure for the numbers in
  ``FAILING_NUMBERS``.

Standard library only; development and tests, never part of the hub. What it was sent is kept in
memory (and in ``<data dir>/fake_notify/log.jsonl`` under ``manage.py fake_notify``)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from devtools.fake_partner import PAGE_STYLE, Answering

# The templates the hub's Notify service holds, by the kind the hub names in NOTIFY_TEMPLATES.
# Notify fills ((placeholders)) from the personalisation and refuses a message missing one.
TEMPLATE_TEXTS = {
    "ALERT": "SPOC hub: ((priority)) referral for ((team)), ((what)). "
    "Open it and acknowledge: ((link))",
    "REPEAT": "SPOC hub REMINDER, not yet acknowledged: ((priority)) referral for ((team)), "
    "((what)). Open it and acknowledge: ((link))",
    "DIGEST": "SPOC hub: ((count)) for ((team)). See the queue: ((link))",
    "CALL_BACK_OVERDUE": "SPOC hub: ((what)). See the call-backs: ((link))",
    # Texts to patients and families: the service's name and the link, nothing else.
    "FEEDBACK": "Palliative care single point of contact: please tell us how we did. "
    "It takes 2 minutes: ((link))",
    "BEREAVED_SURVEY": "Palliative care single point of contact: we would be grateful for your "
    "views on our care. You can answer here: ((link)) If you would rather not, please ignore "
    "this message.",
}
# Numbers whose texts fail, and how (the fake's own choice, to try the hub's handling).
FAILING_NUMBERS = {
    "+447700900002": "permanent-failure",
    "+447700900003": "temporary-failure",
}
# Notify refuses a token issued more than this many seconds from its own clock.
CLOCK_SKEW_SECONDS = 30
PLACEHOLDER = re.compile(r"\(\(([^()]+)\)\)")
FROM_NUMBER = "SPOC hub"
MAX_BODY_BYTES = 100_000


@dataclass
class Message:
    """One text the fake Notify took."""

    id: str
    created_at: str
    phone_number: str
    template_id: str
    template_kind: str
    personalisation: dict[str, str]
    reference: str | None
    body: str
    status: str = "created"
    # The hub's answer to the delivery receipt: its HTTP status, or what went wrong.
    receipt: str = ""
    completed_at: str | None = None


@dataclass
class Service:
    """The Notify service the hub's API key belongs to, its templates and its callback."""

    service_id: str
    secret: str
    templates: dict[str, tuple[str, str]]  # template id -> (kind, text)
    callback_url: str = ""
    callback_token: str = ""
    receipt_after_seconds: float = 2.0
    messages: list[Message] = field(default_factory=list)
    log: Path | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def for_key(cls, api_key: str, template_ids: dict[str, str], **kwargs: Any) -> Service:
        """The service of ``api_key`` ("<name>-<service id>-<secret>", as Notify issues them),
        with the hub's template ids by kind."""
        if len(api_key) < 73:
            raise ValueError("A Notify API key ends with the service id and the secret (73 chars).")
        templates = {
            template_id: (kind, TEMPLATE_TEXTS[kind])
            for kind, template_id in template_ids.items()
            if template_id and kind in TEMPLATE_TEXTS
        }
        return cls(service_id=api_key[-73:-37], secret=api_key[-36:], templates=templates, **kwargs)

    def add(self, message: Message) -> None:
        with self._lock:
            self.messages.append(message)
            if self.log is not None:
                self.log.parent.mkdir(parents=True, exist_ok=True)
                with self.log.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(asdict(message), ensure_ascii=False) + "\n")

    def find(self, message_id: str) -> Message | None:
        with self._lock:
            return next((m for m in self.messages if m.id == message_id), None)

    def all(self) -> list[Message]:
        with self._lock:
            return list(self.messages)


class NotifyError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message

    def body(self) -> dict[str, Any]:
        return {
            "status_code": self.status,
            "errors": [{"error": self.error, "message": self.message}],
        }


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def check_token(header: str, service: Service, *, now: float) -> None:
    """Notify's checks of the Authorization header (its API docs, "Authorisation header"): a
    bearer JWT with header alg HS256, ``iss`` the service id, ``iat`` within 30 seconds of now,
    signed with the key's secret. Raises NotifyError (401 without a token, 403 otherwise)."""
    scheme, _, token = header.partition(" ")
    if scheme != "Bearer" or not token:
        raise NotifyError(401, "AuthError", "Unauthorized: authentication token must be provided")
    parts = token.split(".")
    if len(parts) != 3:
        raise NotifyError(403, "AuthError", "Invalid token: signature, api token not found")
    try:
        head, claims = json.loads(_b64(parts[0])), json.loads(_b64(parts[1]))
        signature = _b64(parts[2])
    except (ValueError, binascii.Error) as exc:
        raise NotifyError(
            403, "AuthError", "Invalid token: signature, api token not found"
        ) from exc
    if not isinstance(head, dict) or head.get("alg") != "HS256":
        raise NotifyError(403, "AuthError", "Invalid token: algorithm used is not HS256")
    if not isinstance(claims, dict) or "iss" not in claims:
        raise NotifyError(403, "AuthError", "Invalid token: iss field not provided")
    if claims["iss"] != service.service_id:
        raise NotifyError(403, "AuthError", "Invalid token: service not found")
    expected = hmac.new(
        service.secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256
    ).digest()
    if not hmac.compare_digest(expected, signature):
        raise NotifyError(403, "AuthError", "Invalid token: API key not found")
    issued = claims.get("iat")
    if not isinstance(issued, int | float):
        raise NotifyError(403, "AuthError", "Invalid token: iat field not provided")
    if abs(now - issued) > CLOCK_SKEW_SECONDS:
        raise NotifyError(
            403, "AuthError", "Error: Your system clock must be accurate to within 30 seconds"
        )


def phone_error(number: str) -> NotifyError | None:
    """Notify's rules for a UK mobile number (its API docs, "Send a text message", errors)."""
    digits = re.sub(r"[\s()\-.]", "", number)
    international = digits.startswith(("+", "00"))
    digits = digits.lstrip("+")
    if not digits.isdigit():
        return NotifyError(
            400, "ValidationError", "phone_number Must not contain letters or symbols"
        )
    if digits.startswith("0044"):
        digits = digits[4:]
    elif digits.startswith("44"):
        digits = digits[2:]
    elif international:
        return NotifyError(400, "BadRequestError", "Cannot send to international mobile numbers")
    if digits.startswith("0"):
        digits = digits[1:]
    if not digits.startswith("7"):
        return NotifyError(400, "ValidationError", "phone_number Not a UK mobile number")
    if len(digits) > 10:
        return NotifyError(400, "ValidationError", "phone_number Too many digits")
    if len(digits) < 10:
        return NotifyError(400, "ValidationError", "phone_number Not enough digits")
    return None


def e164(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    return "+44" + digits[-10:]


def sms_take(body: Any, service: Service, *, base_url: str) -> tuple[Message, dict[str, Any]]:
    """Check one ``POST /v2/notifications/sms`` body; the message and Notify's 201 answer, or
    NotifyError."""
    if not isinstance(body, dict):
        raise NotifyError(400, "ValidationError", "Request body is not a JSON object")
    for key in ("phone_number", "template_id"):
        if key not in body:
            raise NotifyError(400, "ValidationError", f"{key} is a required property")
        if not isinstance(body[key], str):
            raise NotifyError(400, "ValidationError", f"{key} {body[key]!r} is not of type string")
    unknown = set(body) - {
        "phone_number",
        "template_id",
        "personalisation",
        "reference",
        "sms_sender_id",
    }
    if unknown:
        raise NotifyError(
            400,
            "ValidationError",
            f"Additional properties are not allowed ({', '.join(sorted(unknown))} was unexpected)",
        )
    try:
        template_id = str(uuid.UUID(body["template_id"]))
    except ValueError as exc:
        raise NotifyError(400, "ValidationError", "template_id is not a valid UUID") from exc
    personalisation = body.get("personalisation") or {}
    if not isinstance(personalisation, dict):
        raise NotifyError(400, "ValidationError", "personalisation is not of type object")
    reference = body.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise NotifyError(400, "ValidationError", "reference is not of type string")
    template = service.templates.get(template_id)
    if template is None:
        raise NotifyError(400, "BadRequestError", "Template not found")
    kind, text = template
    needed = list(dict.fromkeys(PLACEHOLDER.findall(text)))
    missing = [name for name in needed if name not in personalisation]
    if missing:
        raise NotifyError(400, "BadRequestError", f"Missing personalisation: {', '.join(missing)}")
    error = phone_error(body["phone_number"])
    if error is not None:
        raise error
    filled = PLACEHOLDER.sub(lambda m: str(personalisation[m.group(1)]), text)
    message = Message(
        id=str(uuid.uuid4()),
        created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        phone_number=e164(body["phone_number"]),
        template_id=template_id,
        template_kind=kind,
        personalisation={k: str(v) for k, v in personalisation.items()},
        reference=reference,
        body=filled,
    )
    answer = {
        "id": message.id,
        "reference": reference,
        "content": {"body": filled, "from_number": FROM_NUMBER},
        "uri": f"{base_url}/v2/notifications/{message.id}",
        "template": {
            "id": template_id,
            "version": 1,
            "uri": f"{base_url}/services/{service.service_id}/templates/{template_id}",
        },
        "scheduled_for": None,
    }
    return message, answer


def notification_json(message: Message) -> dict[str, Any]:
    """``GET /v2/notifications/{id}``'s answer for a text message."""
    return {
        "id": message.id,
        "reference": message.reference,
        "phone_number": message.phone_number,
        "type": "sms",
        "status": message.status,
        "template": {"id": message.template_id, "version": 1, "uri": ""},
        "body": message.body,
        "created_at": message.created_at,
        "created_by_name": None,
        "sent_at": message.created_at,
        "completed_at": message.completed_at,
        "scheduled_for": None,
    }


def receipt_send(message: Message, service: Service) -> None:
    """The delivery receipt Notify posts to the service's callback URL (its API docs,
    "Callbacks"): every value a string but the template version."""
    message.status = FAILING_NUMBERS.get(message.phone_number, "delivered")
    message.completed_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if not service.callback_url:
        message.receipt = "no callback URL"
        return
    body = {
        "id": message.id,
        "reference": message.reference,
        "to": message.phone_number,
        "status": message.status,
        "created_at": message.created_at,
        "completed_at": message.completed_at,
        "sent_at": message.created_at,
        "notification_type": "sms",
        "template_id": message.template_id,
        "template_version": 1,
    }
    request = urllib.request.Request(  # noqa: S310 (the hub's http(s) callback URL)
        service.callback_url,
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {service.callback_token}",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            message.receipt = f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        message.receipt = f"HTTP {exc.code}"
    except OSError as exc:
        message.receipt = f"not reached ({exc.__class__.__name__})"


def make_server(service: Service, *, host: str, port: int) -> ThreadingHTTPServer:
    """The fake Notify on ``host:port`` (port 0: a free one)."""

    class Handler(Answering):
        server_version = "fake-notify"

        @property
        def base_url(self) -> str:
            return f"http://{self.headers.get('Host') or f'{host}:{port}'}"

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/v2/notifications/sms":
                self._json(404, NotifyError(404, "NotFoundError", "Not found").body())
                return
            try:
                check_token(self.headers.get("Authorization", ""), service, now=time.time())
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    raise NotifyError(413, "BadRequestError", "Request too large")
                try:
                    body = json.loads(self.rfile.read(length))
                except ValueError as exc:
                    raise NotifyError(400, "BadRequestError", "Invalid JSON supplied") from exc
                message, answer = sms_take(body, service, base_url=self.base_url)
            except NotifyError as error:
                self._json(error.status, error.body())
                return
            service.add(message)
            timer = threading.Timer(service.receipt_after_seconds, receipt_send, (message, service))
            timer.daemon = True
            timer.start()
            self._json(201, answer)

        def do_GET(self) -> None:
            if self.path.startswith("/v2/notifications/"):
                try:
                    check_token(self.headers.get("Authorization", ""), service, now=time.time())
                except NotifyError as error:
                    self._json(error.status, error.body())
                    return
                message = service.find(self.path.rsplit("/", 1)[-1])
                if message is None:
                    self._json(404, NotifyError(404, "NoResultFound", "No result found").body())
                else:
                    self._json(200, notification_json(message))
            elif self.path.startswith("/messages.json"):
                self._answer(
                    200, "application/json", json.dumps([asdict(m) for m in service.all()]).encode()
                )
            elif self.path in ("/", "/index.html"):
                self._answer(200, "text/html; charset=utf-8", page(service.all()).encode())
            else:
                self._answer(404, "text/plain", b"Not found")

        def _json(self, status: int, body: dict[str, Any]) -> None:
            self._answer(status, "application/json", json.dumps(body).encode())

    return ThreadingHTTPServer((host, port), Handler)


def page(messages: list[Message]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(m.created_at[:19].replace('T', ' '))}</td>"
        f"<td>{html.escape(m.phone_number)}</td><td>{html.escape(m.template_kind)}</td>"
        f"<td>{html.escape(m.body)}</td><td>{html.escape(m.status)}</td>"
        f"<td>{html.escape(m.receipt)}</td></tr>"
        for m in reversed(messages)
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='refresh' content='5'><title>Fake GOV.UK Notify</title>"
        f"{PAGE_STYLE}</head><body><h1>Fake GOV.UK Notify: text messages sent</h1>"
        "<p>Every text the hub sent, newest first, with its delivery receipt and the hub's answer "
        "to it. The page refreshes every 5 s.</p>"
        "<table><thead><tr><th>When (UTC)</th><th>To</th><th>Template</th><th>Text</th>"
        "<th>Status</th><th>Receipt</th></tr></thead>"
        f"<tbody>{rows or '<tr><td colspan=6>Nothing yet.</td></tr>'}</tbody></table></body></html>"
    )


def serve_in_thread(
    service: Service, *, host: str = "127.0.0.1", port: int = 0
) -> tuple[ThreadingHTTPServer, str]:
    """Start the fake Notify in a daemon thread; the server and its base URL (tests)."""
    server = make_server(service, host=host, port=port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}"
