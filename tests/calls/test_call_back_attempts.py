"""Tries at a call-back that reach nobody are recorded on it ("No answer, tried 10:30"); it stays
due until someone reaches the caller (docs/telephony.md, "Calling back")."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client

from calls.models import CallBack, CallBackAttempt
from spoc.audit.models import AccessLog
from tests.calls.telephony_steps import phone_call
from tests.clock import WEEKDAY_MORNING

pytestmark = pytest.mark.django_db


def test_a_try_that_reaches_nobody_is_listed_and_the_call_back_stays_due(client, handler, missed):
    client.force_login(handler)
    response = client.post(
        f"/calls/call-backs/{missed.pk}/attempt/", {"outcome": "NO_ANSWER", "note": "Rang twice"}
    )
    assert response.status_code == 302
    attempt = CallBackAttempt.objects.get()
    assert (attempt.attempted_by, attempt.attempted_at) == (handler, WEEKDAY_MORNING)
    missed.refresh_from_db()
    assert missed.status == CallBack.Status.PENDING
    page = client.get("/calls/call-backs/").content.decode()
    assert "No answer, tried 10:30: Rang twice" in page
    assert 'href="tel:+447700900123"' in page
    assert AccessLog.objects.filter(object_type="call_back", object_id=str(missed.pk)).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"outcome": ""}, "Select what happened when you called."),
        ({"outcome": "EXPLODED"}, "Select what happened from the list."),
        ({"outcome": "NO_ANSWER", "note": "x" * 501}, "500"),
    ],
)
def test_a_try_without_a_valid_outcome_is_refused_on_the_page(
    client, handler, missed, data, message
):
    client.force_login(handler)
    response = client.post(f"/calls/call-backs/{missed.pk}/attempt/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not CallBackAttempt.objects.exists()


def test_a_script_in_the_note_is_shown_as_text(client, handler, missed):
    client.force_login(handler)
    client.post(
        f"/calls/call-backs/{missed.pk}/attempt/",
        {"outcome": "LEFT_MESSAGE", "note": "<script>alert(1)</script> Siân O'Brien"},
    )
    page = client.get("/calls/call-backs/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_no_try_is_recorded_on_a_call_back_already_done(client, handler, missed):
    client.force_login(handler)
    client.post(f"/calls/call-backs/{missed.pk}/done/", {"outcome": "REACHED"})
    response = client.post(f"/calls/call-backs/{missed.pk}/attempt/", {"outcome": "NO_ANSWER"})
    assert response.status_code == 302
    assert not CallBackAttempt.objects.exists()
    assert client.post("/calls/call-backs/999999/attempt/", {"outcome": "BUSY"}).status_code == 404


def test_calling_back_a_missed_carer_offers_the_patient_they_care_for(client, handler):
    from tests.calls.telephony_steps import patient_with_carer

    cared_for = patient_with_carer(carer_phone="07700 900777")
    with time_machine.travel(WEEKDAY_MORNING, tick=False):
        phone_call(Client(), "ringing", "ended", call_id="pbx-m", caller="07700 900777")
    call_back = CallBack.objects.get()
    client.force_login(handler)
    screen = client.get(f"/calls/new/?call_back={call_back.pk}")
    assert [m.patient for m in screen.context["phone_matches"]] == [cared_for]
    assert f"?call_back={call_back.pk}&amp;patient={cared_for.pk}" in screen.content.decode()
    # A number of Ofcom's drama range is stored as typed, and still matched on the missed list.
    (missed,) = client.get("/calls/missed/").context["missed"]
    assert [m.patient for m in missed.matches] == [cared_for]


def test_calling_back_from_the_list_records_an_outbound_call_and_makes_the_call_back(
    client, handler, missed
):
    from calls.models import Call
    from tests.referrals.test_call_screen import payload

    client.force_login(handler)
    listed = client.get("/calls/call-backs/").content.decode()
    assert f'href="/calls/new/?call_back={missed.pk}"' in listed
    screen = client.get(f"/calls/new/?call_back={missed.pk}")
    text = screen.content.decode()
    assert '<h1 class="nhsuk-heading-l">Call back</h1>' in text
    assert 'href="tel:07700900123"' in text
    assert 'value="07700 900123"' in text  # the caller's phone, typed for the handler
    saved = client.post(
        "/calls/new/", payload(None, call_back=missed.pk, needs=[], disposition="ADVICE_GIVEN")
    )
    assert saved.status_code == 302
    call = Call.objects.get()
    assert call.direction == "OUTBOUND"
    missed.refresh_from_db()
    assert (missed.status, missed.done_by) == (CallBack.Status.DONE, handler)
    # The same call-back made twice: the second call is refused and nothing is saved.
    again = client.post(
        "/calls/new/", payload(None, call_back=missed.pk, needs=[], disposition="ADVICE_GIVEN")
    )
    assert again.status_code == 200
    assert "This call-back was already done or cancelled." in again.content.decode()
    assert Call.objects.count() == 1
