"""Telephony rules, with no database (docs/telephony.md): the hub's own event format and its
signature, the Twilio voice status callback and its signature, the state of a phone call folded
from its events in any order, and when a missed call must be called back.

Everything here is plain Python; ``calls/services/telephony.py`` loads rows, calls these
functions and saves the answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import phonenumbers

from spoc.core.dates import nhs_duration

# A signed event older (or further in the future) than this is refused: it may be a recording of
# a genuine one played back. Five minutes covers clocks a little apart and a retry or two.
MAX_EVENT_AGE = timedelta(minutes=5)
# An event is a few hundred bytes; 16 KiB leaves room for long recording URLs and nothing else.
MAX_BODY_BYTES = 16 * 1024
# The phone system's identifiers (a call id, an event id): letters, digits and . _ : -.
_IDENTIFIER = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_EXTENSION = re.compile(r"^[0-9]{2,10}$")
# Callers who withhold their number arrive as one of these, or with no number at all.
WITHHELD = frozenset({"", "anonymous", "withheld", "private", "unknown", "restricted"})

SIGNATURE_HEADER = "X-Spoc-Signature"
TIMESTAMP_HEADER = "X-Spoc-Timestamp"
TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"


class EventKind(StrEnum):
    RINGING = "ringing"
    ANSWERED = "answered"
    TRANSFERRED = "transferred"
    ENDED = "ended"
    ABANDONED = "abandoned"
    VOICEMAIL = "voicemail"


class Outcome(StrEnum):
    """What became of a phone call, as far as its events tell."""

    RINGING = "RINGING"  # rang, nobody has answered yet, not over
    ANSWERED = "ANSWERED"  # a handler picked up (over or not)
    MISSED = "MISSED"  # rang and ended, never answered, the caller did not give up first
    ABANDONED = "ABANDONED"  # the caller hung up before anyone answered
    VOICEMAIL = "VOICEMAIL"  # the caller left a message


# The outcomes somebody must call back (docs/telephony.md, "Nothing missed").
CALL_BACK_OUTCOMES = frozenset({Outcome.MISSED, Outcome.ABANDONED, Outcome.VOICEMAIL})


class InvalidEvent(ValueError):
    """An event the hub cannot take; ``code`` is the JSON error's code."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class TelephonyEventIn:
    """One event from the phone system, checked. ``caller`` and ``line`` are E.164 (``caller``
    blank when withheld); ``extension`` is the handler's for answered and transferred."""

    event_id: str
    call_id: str
    kind: EventKind
    occurred_at: datetime
    caller: str = ""
    line: str = ""
    extension: str = ""
    recording_url: str = ""


def e164(number: str, *, field: str, allow_withheld: bool = False) -> str:
    """A phone number in E.164 (``+441514960123``); UK numbers may be written nationally.
    Raises ``InvalidEvent`` naming ``field`` when it is not a possible phone number."""
    text = (number or "").strip()
    if allow_withheld and text.lower() in WITHHELD:
        return ""
    if len(text) > 32 or not re.fullmatch(r"\+?[0-9 ()-]{3,}", text):
        raise InvalidEvent(f"{field} is not a phone number.", "invalid_number")
    try:
        parsed = phonenumbers.parse(text, "GB")
    except phonenumbers.NumberParseException as exc:
        raise InvalidEvent(f"{field} is not a phone number.", "invalid_number") from exc
    # Possible, not valid: Ofcom's drama ranges (07700 900xxx) are possible but never assigned.
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidEvent(f"{field} is not a phone number.", "invalid_number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def national(number: str) -> str:
    """``+441514960123`` as people read it, ``0151 496 0123``; blank stays blank."""
    if not number:
        return ""
    try:
        parsed = phonenumbers.parse(number, "GB")
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def recording_url_checked(url: str, *, allow_loopback: bool) -> str:
    """A voicemail recording's address: https only, or http on this machine when
    ``allow_loopback`` (development). Raises ``InvalidEvent``."""
    url = (url or "").strip()
    if not url:
        return ""
    if len(url) > 1000:
        raise InvalidEvent("recording_url is too long.", "invalid_recording_url")
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url
    if allow_loopback and parts.scheme == "http" and _loopback(host):
        return url
    raise InvalidEvent("recording_url must be an https address.", "invalid_recording_url")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _identifier(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise InvalidEvent(
            f"{field} is required: 1 to 100 letters, digits, dots, colons, hyphens or underscores.",
            f"invalid_{field}",
        )
    return value


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise InvalidEvent("occurred_at is required (ISO 8601 with its offset).", "invalid_time")
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidEvent("occurred_at is not an ISO 8601 time.", "invalid_time") from exc
    if when.tzinfo is None:
        raise InvalidEvent("occurred_at needs its offset (Z or +01:00).", "invalid_time")
    return when


def event_from_json(data: Any, *, allow_loopback: bool = False) -> TelephonyEventIn:
    """The hub's own format (docs/telephony.md, "The event format"), checked. Raises
    ``InvalidEvent``."""
    if not isinstance(data, Mapping):
        raise InvalidEvent("The body must be a JSON object.", "invalid_json")
    try:
        kind = EventKind(str(data.get("type")))
    except ValueError as exc:
        known = ", ".join(kind.value for kind in EventKind)
        raise InvalidEvent(f"type must be one of {known}.", "unknown_type") from exc
    for name in ("caller", "line", "extension", "recording_url"):
        if data.get(name) is not None and not isinstance(data[name], str):
            raise InvalidEvent(f"{name} must be a string.", f"invalid_{name}")
    extension = (data.get("extension") or "").strip()
    if kind in (EventKind.ANSWERED, EventKind.TRANSFERRED) and not extension:
        raise InvalidEvent(f"A {kind} event needs the extension.", "invalid_extension")
    if extension and not _EXTENSION.fullmatch(extension):
        raise InvalidEvent("extension must be 2 to 10 digits.", "invalid_extension")
    return TelephonyEventIn(
        event_id=_identifier(data.get("event_id"), "event_id"),
        call_id=_identifier(data.get("call_id"), "call_id"),
        kind=kind,
        occurred_at=_time(data.get("occurred_at")),
        caller=e164(data.get("caller") or "", field="caller", allow_withheld=True),
        line=e164(data["line"], field="line") if data.get("line") else "",
        extension=extension,
        recording_url=recording_url_checked(
            data.get("recording_url") or "", allow_loopback=allow_loopback
        )
        if kind == EventKind.VOICEMAIL
        else "",
    )


# --- Signatures ---------------------------------------------------------------------------------


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The hub's signature: hex HMAC-SHA256, keyed with the shared secret, of the timestamp
    header's value, a full stop and the raw body."""
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_time(timestamp: str) -> datetime:
    """The timestamp header (Unix seconds) as a time; raises ``InvalidEvent``."""
    # Ten digits reach the year 2286; more cannot be a time the hub would accept anyway.
    if not re.fullmatch(r"[0-9]{1,10}", timestamp or ""):
        raise InvalidEvent("The timestamp header must be Unix seconds.", "bad_timestamp")
    return datetime.fromtimestamp(int(timestamp), tz=UTC)


def fresh(sent_at: datetime, *, now: datetime) -> bool:
    """Whether a signed time is within MAX_EVENT_AGE of now, either way."""
    return abs(now - sent_at) <= MAX_EVENT_AGE


def signature_matches(expected: str, given: str) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), given.strip().encode())


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Twilio's request signature: base64 of the HMAC-SHA1, keyed with the account's auth token,
    of the full URL it called followed by each POST parameter's name and value, sorted by name,
    with no separators."""
    data = url + "".join(f"{name}{value}" for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# Twilio's CallStatus values -> the hub's event kinds. "completed", "busy", "no-answer" and
# "failed" all end the call: whether it was answered comes from the events before.
TWILIO_STATUSES = {
    "queued": EventKind.RINGING,
    "initiated": EventKind.RINGING,
    "ringing": EventKind.RINGING,
    "in-progress": EventKind.ANSWERED,
    "completed": EventKind.ENDED,
    "busy": EventKind.ENDED,
    "no-answer": EventKind.ENDED,
    "failed": EventKind.ENDED,
    "canceled": EventKind.ABANDONED,
}


TWILIO_SID_MAX = 40


def twilio_sent_at(params: Mapping[str, str]) -> datetime:
    """A status callback's ``Timestamp`` (RFC 2822): when the call reached that status; a
    recording's callback has none, and gives ``RecordingStartTime`` instead. Twilio's signature
    has no time of its own, so this is what a replayed callback is judged by. Raises
    ``InvalidEvent``."""
    try:
        when = parsedate_to_datetime(
            params.get("Timestamp") or params.get("RecordingStartTime") or ""
        )
    except (TypeError, ValueError, IndexError) as exc:
        raise InvalidEvent("Timestamp is not an RFC 2822 time.", "invalid_time") from exc
    if when.tzinfo is None:
        raise InvalidEvent("Timestamp needs its offset.", "invalid_time")
    return when


def event_from_twilio(
    params: Mapping[str, str], *, extension: str = "", allow_loopback: bool = False
) -> TelephonyEventIn:
    """A Twilio voice status callback (form fields) as a hub event. ``extension``: the handler's,
    from the callback address's query (Twilio does not know it). A callback with a
    ``RecordingUrl`` is a voicemail. Raises ``InvalidEvent``."""
    call_id = _identifier(params.get("CallSid"), "CallSid")
    # Twilio's ids (CallSid, RecordingSid) are 34 characters; the hub's event id adds a prefix
    # and the step to the call's, and must fit in 100.
    if len(call_id) > TWILIO_SID_MAX:
        raise InvalidEvent("CallSid is too long.", "invalid_CallSid")
    status = (params.get("CallStatus") or "").strip()
    recording = (params.get("RecordingUrl") or "").strip()
    if recording:
        kind = EventKind.VOICEMAIL
    elif status in TWILIO_STATUSES:
        kind = TWILIO_STATUSES[status]
    else:
        raise InvalidEvent(f"Unknown CallStatus {status[:30]!r}.", "unknown_type")
    if kind == EventKind.ANSWERED and not _EXTENSION.fullmatch(extension):
        raise InvalidEvent(
            "An answered call needs ?extension= on the callback address.", "invalid_extension"
        )
    occurred_at = twilio_sent_at(params)
    sequence = (params.get("SequenceNumber") or "").strip()
    if sequence and not re.fullmatch(r"[0-9]{1,10}", sequence):
        raise InvalidEvent("SequenceNumber must be up to 10 digits.", "invalid_sequence")
    if recording:
        recording_id = _identifier(params.get("RecordingSid") or "voicemail", "RecordingSid")
        if len(recording_id) > TWILIO_SID_MAX:
            raise InvalidEvent("RecordingSid is too long.", "invalid_RecordingSid")
        step = f"recording:{recording_id}"
    else:
        step = f"{sequence or status}:{kind.value}"
    return TelephonyEventIn(
        event_id=f"twilio:{call_id}:{step}",
        call_id=f"twilio:{call_id}",
        kind=kind,
        occurred_at=occurred_at,
        caller=e164(params.get("From") or "", field="From", allow_withheld=True),
        line=e164(params["To"], field="To") if params.get("To") else "",
        extension=extension if kind == EventKind.ANSWERED else "",
        recording_url=recording_url_checked(recording, allow_loopback=allow_loopback),
    )


# --- A phone call's state -----------------------------------------------------------------------


@dataclass(frozen=True)
class CallState:
    """A phone call as its events tell it, whatever order they came in."""

    caller: str
    line: str
    rang_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    extension: str
    outcome: Outcome
    recording_url: str


_ENDINGS = (EventKind.ENDED, EventKind.ABANDONED, EventKind.VOICEMAIL)


def call_state(events: Iterable[TelephonyEventIn]) -> CallState:
    """Fold a call's events: each time is the earliest event of its kind (a repeat changes
    nothing); the extension is that of the latest answered or transferred event; a voicemail or
    an abandonment wins over a plain end. The call "rang" at its first event of any kind, so an
    answered event that arrives before its ringing still gives a start."""
    events = sorted(events, key=lambda e: (e.occurred_at, e.event_id))
    if not events:
        raise ValueError("A call has at least one event.")

    def first(*kinds: EventKind) -> TelephonyEventIn | None:
        return next((e for e in events if e.kind in kinds), None)

    answered = first(EventKind.ANSWERED, EventKind.TRANSFERRED)
    ended = first(*_ENDINGS)
    handed = [e for e in events if e.kind in (EventKind.ANSWERED, EventKind.TRANSFERRED)]
    voicemail = first(EventKind.VOICEMAIL)
    if voicemail is not None:
        outcome = Outcome.VOICEMAIL
    elif answered is not None:
        outcome = Outcome.ANSWERED
    elif first(EventKind.ABANDONED) is not None:
        outcome = Outcome.ABANDONED
    elif ended is not None:
        outcome = Outcome.MISSED
    else:
        outcome = Outcome.RINGING
    return CallState(
        caller=next((e.caller for e in events if e.caller), ""),
        line=next((e.line for e in events if e.line), ""),
        rang_at=events[0].occurred_at,
        answered_at=answered.occurred_at if answered else None,
        # A voicemail may be reported after the end; the call ended at its first ending event.
        ended_at=ended.occurred_at if ended else None,
        extension=handed[-1].extension if handed else "",
        outcome=outcome,
        recording_url=voicemail.recording_url if voicemail else "",
    )


# --- The missed-call policy ---------------------------------------------------------------------

# A missed call is called back within 30 minutes of its end while the SPOC is open
# (docs/telephony.md, "Nothing missed").
CALL_BACK_WITHIN = timedelta(minutes=30)


def missed_call_due_at(
    *, ended_at: datetime, open_then: bool | None, opens_at: datetime | None
) -> datetime:
    """When a missed call must have been called back: CALL_BACK_WITHIN after it ended if the SPOC
    was open then (or the hub knows no SPOC hours: ``open_then`` None), else CALL_BACK_WITHIN
    after the SPOC next opens."""
    if open_then is False and opens_at is not None:
        return max(opens_at, ended_at) + CALL_BACK_WITHIN
    return ended_at + CALL_BACK_WITHIN


# A call-back is "due now" from its time until this much later, then "overdue by ..."
# (docs/telephony.md, "Reminders").
DUE_NOW_FOR = timedelta(minutes=5)


def call_back_due_wording(due_at: datetime, now: datetime) -> str:
    """``Due now``, ``Overdue by 25 minutes``, or "" when not yet due (spoc/core/dates.py)."""
    if due_at > now:
        return ""
    if now - due_at < DUE_NOW_FOR:
        return "Due now"
    return f"Overdue by {nhs_duration(now - due_at)}"


# The home page opens the call screen by itself for a call answered this recently (answering is
# the handler's own request); one who comes back to the home page later is offered the call
# instead, so the home page never sends them away again.
SCREEN_POP_OPENS_WITHIN = timedelta(seconds=30)


def pop_opens_itself(answered_at: datetime | None, *, now: datetime) -> bool:
    """Whether the home page opens the call screen by itself for a call answered at
    ``answered_at``: within SCREEN_POP_OPENS_WITHIN of the answer."""
    return answered_at is not None and now - answered_at <= SCREEN_POP_OPENS_WITHIN
