"""The telephony rules without a database (calls/telephony.py; docs/telephony.md)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from calls.telephony import (
    EventKind,
    InvalidEvent,
    Outcome,
    TelephonyEventIn,
    call_state,
    e164,
    missed_call_due_at,
    pop_opens_itself,
    recording_url_checked,
    signature,
    twilio_signature,
)

T0 = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)


def test_twilio_signature_matches_the_documented_example():
    # The worked example of Twilio's request-validation documentation: the URL with its query,
    # then each POST parameter's name and value sorted by name, HMAC-SHA1 with the auth token
    # 12345, base64.
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params.items()) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_the_hubs_signature_is_hmac_sha256_of_timestamp_dot_body():
    import hashlib
    import hmac

    body = b'{"type": "ringing"}'
    expected = hmac.new(b"s3cret", b"1781083800." + body, hashlib.sha256).hexdigest()
    assert signature("s3cret", "1781083800", body) == expected
    assert signature("s3cret", "1781083801", body) != expected


def _e(kind: EventKind, seconds: int, extension: str = "", n: int = 0) -> TelephonyEventIn:
    return TelephonyEventIn(
        event_id=f"{kind}-{seconds}-{n}",
        call_id="c",
        kind=kind,
        occurred_at=T0 + timedelta(seconds=seconds),
        caller="+441514960123",
        extension=extension,
    )


def test_every_order_of_the_same_events_gives_the_same_state():
    events = [
        _e(EventKind.RINGING, 0),
        _e(EventKind.ANSWERED, 30, "2001"),
        _e(EventKind.TRANSFERRED, 90, "2002"),
        _e(EventKind.ENDED, 400),
        _e(EventKind.ENDED, 402, n=1),
    ]
    states = {call_state(order) for order in itertools.permutations(events)}
    assert len(states) == 1
    (state,) = states
    assert state.rang_at == T0
    assert state.answered_at == T0 + timedelta(seconds=30)
    assert state.ended_at == T0 + timedelta(seconds=400)
    assert state.extension == "2002"  # transferred to
    assert state.outcome == Outcome.ANSWERED


@pytest.mark.parametrize(
    ("kinds", "outcome"),
    [
        ([EventKind.RINGING], Outcome.RINGING),
        ([EventKind.RINGING, EventKind.ENDED], Outcome.MISSED),
        ([EventKind.RINGING, EventKind.ABANDONED], Outcome.ABANDONED),
        ([EventKind.RINGING, EventKind.ENDED, EventKind.VOICEMAIL], Outcome.VOICEMAIL),
        ([EventKind.ANSWERED], Outcome.ANSWERED),
    ],
)
def test_the_outcome_of_a_call(kinds, outcome):
    events = [_e(kind, i * 10, "2001") for i, kind in enumerate(kinds)]
    assert call_state(events).outcome == outcome


def test_an_answer_before_its_ringing_still_gives_a_start():
    state = call_state([_e(EventKind.ANSWERED, 5, "2001")])
    assert state.rang_at == state.answered_at == T0 + timedelta(seconds=5)


def test_missed_call_policy():
    ended = T0
    assert missed_call_due_at(ended_at=ended, open_then=True, opens_at=None) == ended + timedelta(
        minutes=30
    )
    assert missed_call_due_at(ended_at=ended, open_then=None, opens_at=None) == ended + timedelta(
        minutes=30
    )
    opens = T0 + timedelta(hours=10)
    assert missed_call_due_at(ended_at=ended, open_then=False, opens_at=opens) == opens + timedelta(
        minutes=30
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0151 496 0123", "+441514960123"),
        ("+44 151 496 0123", "+441514960123"),
        ("07700 900123", "+447700900123"),
        ("(0151) 496-0123", "+441514960123"),
    ],
)
def test_numbers_are_kept_in_e164(text, expected):
    assert e164(text, field="caller") == expected


@pytest.mark.parametrize(
    "text", ["", "12", "0151 496 0123 ext 4", "+44 151 <b>", "0" * 40, "٠١٥١٤٩٦٠١٢٣"]
)
def test_malformed_numbers_are_refused(text):
    with pytest.raises(InvalidEvent):
        e164(text, field="caller")


def test_recordings_are_https_or_loopback_in_development():
    assert recording_url_checked("https://r.example.net/1.mp3", allow_loopback=False)
    assert recording_url_checked("http://127.0.0.1:8072/1.mp3", allow_loopback=True)
    for url, loopback in (
        ("http://127.0.0.1:8072/1.mp3", False),
        ("http://r.example.net/1.mp3", True),
        ("ftp://r.example.net/1.mp3", True),
        ("https:///nohost", True),
    ):
        with pytest.raises(InvalidEvent):
            recording_url_checked(url, allow_loopback=loopback)


def test_the_home_page_opens_the_call_screen_itself_for_30_seconds_after_the_answer():
    assert pop_opens_itself(T0, now=T0)
    assert pop_opens_itself(T0, now=T0 + timedelta(seconds=30))
    assert not pop_opens_itself(T0, now=T0 + timedelta(seconds=31))
    assert not pop_opens_itself(None, now=T0)
