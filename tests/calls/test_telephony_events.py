"""Telephony events in (docs/telephony.md): one phone call per phone-system call id, its times
right whatever the order; forged, replayed and malformed events refused with a JSON error and
logged; Twilio's status callbacks by its own signature."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from calls.models import CallBack, TelephonyCall, TelephonyEvent
from calls.telephony import twilio_signature
from devtools.fake_phone import event
from spoc.accounts.roles import Role
from tests.calls.telephony_steps import post_event
from tests.clock import LONDON, WEEKDAY_MORNING

pytestmark = pytest.mark.django_db

AT = WEEKDAY_MORNING


@pytest.fixture(autouse=True)
def frozen() -> object:
    with time_machine.travel(AT, tick=False):
        yield


def _at(seconds: int) -> datetime:
    return AT - timedelta(minutes=3) + timedelta(seconds=seconds)


def _event(kind: str, seconds: int, **fields: str) -> dict[str, object]:
    return event(kind, call_id="pbx-42", caller="0151 496 0123", at=_at(seconds), **fields)


def test_out_of_order_and_repeated_events_give_one_call_with_the_right_times(make_user):
    handler = make_user(Role.CALL_HANDLER, username="handler1", phone_extension="2001")
    client = Client()
    events = [
        _event("ended", 300),
        _event("answered", 40, extension="2001"),
        _event("ringing", 0),
        _event("answered", 90, extension="2001"),  # the phone system said it twice
        _event("ringing", 5),
    ]
    for payload in events:
        assert post_event(client, payload).status_code == 200
    # The very same event again: refused, and nothing changes.
    repeat = post_event(client, events[1])
    assert repeat.status_code == 409
    assert repeat.json()["code"] == "duplicate_event"

    call = TelephonyCall.objects.get()
    assert call.external_id == "pbx-42"
    assert (call.rang_at, call.answered_at, call.ended_at) == (_at(0), _at(40), _at(300))
    assert call.outcome == TelephonyCall.Outcome.ANSWERED
    assert call.answered_by == handler
    assert call.caller_number == "+441514960123"
    assert TelephonyEvent.objects.count() == 5
    assert not CallBack.objects.filter(status=CallBack.Status.PENDING).exists()


def test_a_late_answer_cancels_the_call_back_of_a_call_that_looked_missed():
    client = Client()
    post_event(client, _event("ringing", 0))
    post_event(client, _event("ended", 60))
    call_back = CallBack.objects.get()
    assert call_back.status == CallBack.Status.PENDING
    post_event(client, _event("answered", 20, extension="2001"))
    call_back.refresh_from_db()
    assert call_back.status == CallBack.Status.CANCELLED
    assert TelephonyCall.objects.get().outcome == TelephonyCall.Outcome.ANSWERED


def test_an_abandoned_call_becomes_a_call_back_due_within_30_minutes_while_the_spoc_is_open():
    from tests.services.directory_fixtures import make_spoc_weekdays_closed_on_bank_holidays

    make_spoc_weekdays_closed_on_bank_holidays()  # open 08:00-20:00, Monday to Friday
    client = Client()
    post_event(client, _event("ringing", 0))
    post_event(client, _event("abandoned", 45))
    call_back = CallBack.objects.select_related("telephony_call").get()
    assert call_back.telephony_call is not None
    assert call_back.telephony_call.outcome == TelephonyCall.Outcome.ABANDONED
    assert call_back.due_at == _at(45) + timedelta(minutes=30)
    assert call_back.note == "Caller gave up: call back 0151 496 0123"


def test_a_voicemail_left_while_the_spoc_is_closed_is_due_30_minutes_after_it_opens():
    from tests.services.directory_fixtures import make_spoc_weekdays_closed_on_bank_holidays

    make_spoc_weekdays_closed_on_bank_holidays()
    saturday_night = datetime(2026, 6, 13, 22, 15, tzinfo=LONDON)
    recording = "https://recordings.example.net/vm/1.mp3"
    with time_machine.travel(saturday_night, tick=False):
        client = Client()
        for kind, seconds in (("ringing", 0), ("voicemail", 30)):
            payload = event(
                kind,
                call_id="pbx-vm",
                caller="07700 900123",
                at=saturday_night - timedelta(seconds=60 - seconds),
                recording_url=recording if kind == "voicemail" else "",
            )
            assert post_event(client, payload).status_code == 200
    call_back = CallBack.objects.select_related("telephony_call").get()
    assert call_back.telephony_call is not None
    assert call_back.telephony_call.recording_url == recording
    # Monday 08:00 in London, plus 30 minutes.
    assert call_back.due_at == datetime(2026, 6, 15, 8, 30, tzinfo=LONDON)


def test_a_forged_signature_is_refused_logged_and_writes_nothing(caplog):
    client = Client()
    with caplog.at_level(logging.WARNING, logger="calls.telephony"):
        response = post_event(client, _event("ringing", 0), secret="not-the-secret")
    assert response.status_code == 401
    assert response.json() == {"detail": "The signature does not match.", "code": "bad_signature"}
    assert "bad_signature" in caplog.text
    assert not TelephonyCall.objects.exists()


def test_an_unsigned_event_is_refused():
    response = Client().post(
        "/telephony/events/", data=_event("ringing", 0), content_type="application/json"
    )
    assert response.status_code == 401
    assert response.json()["code"] == "unsigned"


def test_a_replayed_timestamp_older_than_five_minutes_is_refused_and_logged(caplog):
    client = Client()
    with caplog.at_level(logging.WARNING, logger="calls.telephony"):
        response = post_event(
            client, _event("ringing", 0), sent_at=timezone.now() - timedelta(minutes=5, seconds=1)
        )
    assert response.status_code == 401
    assert response.json()["code"] == "stale"
    assert "stale" in caplog.text
    assert not TelephonyCall.objects.exists()


def test_a_replayed_event_id_is_refused_and_logged(caplog):
    client = Client()
    payload = _event("ringing", 0)
    assert post_event(client, payload).status_code == 200
    with caplog.at_level(logging.WARNING, logger="calls.telephony"):
        response = post_event(client, payload, sent_at=timezone.now() + timedelta(seconds=30))
    assert response.status_code == 409
    assert "duplicate_event" in caplog.text
    assert TelephonyEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"caller": "0151 496 0123<script>alert(1)</script>"}, "invalid_number"),
        ({"caller": "not a number"}, "invalid_number"),
        ({"caller": "12"}, "invalid_number"),
        ({"line": "0151 496 0123 4567 89"}, "invalid_number"),
        ({"type": "exploded"}, "unknown_type"),
        ({"type": "answered"}, "invalid_extension"),
        ({"type": "answered", "extension": "<b>1</b>"}, "invalid_extension"),
        ({"call_id": "<script>"}, "invalid_call_id"),
        ({"event_id": ""}, "invalid_event_id"),
        ({"occurred_at": "yesterday"}, "invalid_time"),
        ({"occurred_at": "2026-06-10T10:00:00"}, "invalid_time"),
        ({"caller": 151}, "invalid_caller"),
        (
            {"type": "voicemail", "recording_url": "http://recordings.example.net/1.mp3"},
            "invalid_recording_url",
        ),
        ({"type": "voicemail", "recording_url": "javascript:alert(1)"}, "invalid_recording_url"),
    ],
)
def test_bad_input_gets_a_400_with_a_clear_json_error(change, code):
    payload = {**_event("ringing", 0), **change}
    response = post_event(Client(), payload)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["detail"]
    assert not TelephonyCall.objects.exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (json.dumps({"padding": "x" * 20_000}).encode(), "too_large"),
        (b"[" * 15_000, "invalid_json"),
    ],
)
def test_a_body_that_is_not_an_event_gets_a_400(body, code):
    response = post_event(Client(), body)
    assert response.status_code == 400
    assert response.json()["code"] == code


@pytest.mark.parametrize("timestamp", ["999999999999", "-5", "1e9", "", "١٧٨١"])
def test_a_timestamp_that_is_not_unix_seconds_is_refused(timestamp):
    body = json.dumps(_event("ringing", 0)).encode()
    response = Client().post(
        "/telephony/events/",
        data=body,
        content_type="application/json",
        headers={"X-Spoc-Timestamp": timestamp, "X-Spoc-Signature": "0" * 64},
    )
    assert response.status_code == 401
    assert response.json()["code"] in ("bad_timestamp", "unsigned")


def test_a_withheld_number_is_kept_blank():
    post_event(Client(), {**_event("ringing", 0), "caller": "anonymous"})
    assert TelephonyCall.objects.get().caller_number == ""


def test_get_is_not_allowed():
    assert Client().get("/telephony/events/").status_code == 405


# --- Twilio's voice status callbacks ---------------------------------------------------------


TWILIO_TOKEN = "test-twilio-token"  # spoc/settings/test.py


def _twilio_post(
    client: Client, params: dict[str, str], *, query: str = "", token: str = TWILIO_TOKEN
):
    url = "http://testserver/telephony/twilio/" + (f"?{query}" if query else "")
    return client.post(
        url,
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": twilio_signature(token, url, params.items())},
    )


def _twilio(status: str, sequence: int, seconds: int) -> dict[str, str]:
    return {
        "CallSid": "CA0123456789abcdef0123456789abcdef",
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "From": "+441514960123",
        "To": "+441514960000",
        "CallStatus": status,
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        "SequenceNumber": str(sequence),
        "Timestamp": _at(seconds).strftime("%a, %d %b %Y %H:%M:%S %z"),
    }


def test_twilio_callbacks_signed_with_the_auth_token_record_the_call(make_user):
    handler = make_user(Role.CALL_HANDLER, username="handler1", phone_extension="2001")
    client = Client()
    assert _twilio_post(client, _twilio("completed", 2, 200)).status_code == 200
    assert _twilio_post(client, _twilio("ringing", 0, 0)).status_code == 200
    answered = _twilio_post(client, _twilio("in-progress", 1, 15), query="extension=2001")
    assert answered.status_code == 200
    call = TelephonyCall.objects.get()
    assert call.external_id == "twilio:CA0123456789abcdef0123456789abcdef"
    assert (call.rang_at, call.answered_at, call.ended_at) == (_at(0), _at(15), _at(200))
    assert call.answered_by == handler
    assert call.line == "+441514960000"


def test_a_twilio_recording_callback_is_a_voicemail_with_its_recording():
    client = Client()
    assert _twilio_post(client, _twilio("ringing", 0, 0)).status_code == 200
    recording = {
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "CallSid": "CA0123456789abcdef0123456789abcdef",
        "RecordingSid": "RE0123456789abcdef0123456789abcdef",
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC01/Recordings/RE01",
        "RecordingStatus": "completed",
        "RecordingDuration": "42",
        "RecordingStartTime": _at(30).strftime("%a, %d %b %Y %H:%M:%S %z"),
    }
    assert _twilio_post(client, recording).status_code == 200
    call = TelephonyCall.objects.get()
    assert call.outcome == TelephonyCall.Outcome.VOICEMAIL
    assert call.recording_url == recording["RecordingUrl"]
    assert CallBack.objects.filter(telephony_call=call).exists()


def test_a_twilio_callback_with_a_wrong_signature_or_an_old_timestamp_is_refused(caplog):
    client = Client()
    with caplog.at_level(logging.WARNING, logger="calls.telephony"):
        forged = _twilio_post(client, _twilio("ringing", 0, 0), token="someone-else")
        stale = _twilio_post(client, _twilio("ringing", 0, -400))
    assert (forged.status_code, forged.json()["code"]) == (401, "bad_signature")
    assert (stale.status_code, stale.json()["code"]) == (401, "stale")
    # The extension is part of the signed address: changing it breaks the signature.
    params = _twilio("in-progress", 1, 15)
    url = "http://testserver/telephony/twilio/?extension=2001"
    moved = client.post(
        "http://testserver/telephony/twilio/?extension=2002",
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, url, params.items())},
    )
    assert moved.status_code == 401
    assert caplog.text.count("bad_signature") == 2
    assert not TelephonyCall.objects.exists()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"CallStatus": "exploded"}, "unknown_type"),
        ({"CallSid": "CA" + "0" * 98}, "invalid_CallSid"),
        ({"CallSid": "CA" + "0" * 39}, "invalid_CallSid"),
        (
            {"RecordingUrl": "https://r.example.net/1", "RecordingSid": "RE" + "0" * 39},
            "invalid_RecordingSid",
        ),
        ({"CallSid": "<script>"}, "invalid_CallSid"),
        ({"SequenceNumber": "9" * 40}, "invalid_sequence"),
        ({"Timestamp": "yesterday"}, "invalid_time"),
        ({"From": "client:alice"}, "invalid_number"),
        ({"CallStatus": "in-progress"}, "invalid_extension"),
        ({"RecordingUrl": "http://recordings.example.net/1.mp3"}, "invalid_recording_url"),
    ],
)
def test_a_bad_twilio_callback_gets_a_400_with_a_clear_json_error(change, code):
    response = _twilio_post(Client(), {**_twilio("ringing", 0, 0), **change})
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert not TelephonyCall.objects.exists()
