"""The screen pop (docs/telephony.md): the call answered on a handler's extension pops on their
page, opens the call screen for that phone call with the caller's number matched to people,
and the saved call takes its times from the phone system."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from calls.models import Call, TelephonyCall
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from tests.calls.telephony_steps import patient_with_carer, phone_call
from tests.clock import WEEKDAY_MORNING
from tests.referrals.factories import PatientFactory
from tests.referrals.test_call_screen import payload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen() -> object:
    with time_machine.travel(WEEKDAY_MORNING, tick=False):
        yield


@pytest.fixture
def on_2001(make_user):
    return make_user(Role.CALL_HANDLER, username="handler1", phone_extension="2001")


def test_the_call_answered_on_my_extension_pops_on_my_page_only(client, make_user, on_2001):
    other = make_user(Role.CALL_HANDLER, username="handler2", phone_extension="2002")
    phone_call(Client(), "ringing", "answered")
    client.force_login(on_2001)
    pop = client.get("/calls/screen-pop/", headers={"HX-Request": "true", "X-Spoc-Poll": "1"})
    text = pop.content.decode()
    assert "Incoming call from 0151 496 0123" in text
    assert f"/calls/new/?telephony={TelephonyCall.objects.get().pk}" in text
    # A poll that already shows this call is not redrawn (204: htmx swaps nothing).
    shown = TelephonyCall.objects.get().pk
    assert client.get(f"/calls/screen-pop/?shown={shown}").status_code == 204
    assert client.get("/calls/screen-pop/?shown=0").status_code == 200
    client.force_login(other)
    assert "Incoming call" not in client.get("/calls/screen-pop/").content.decode()
    assert client.get("/calls/screen-pop/?shown=0").status_code == 204
    # The home page polls for it.
    client.force_login(on_2001)
    assert 'hx-get="/calls/screen-pop/?shown=0&amp;open=1"' in client.get("/").content.decode()


def test_the_home_page_opens_the_call_screen_itself_only_for_a_call_just_answered(client, on_2001):
    # Rang 20 s ago, answered now.
    phone_call(Client(), "ringing", "answered", start=timezone.now() - timedelta(seconds=20))
    pk = TelephonyCall.objects.get().pk
    client.force_login(on_2001)
    poll = {"HX-Request": "true", "X-Spoc-Poll": "1"}
    # The home page's poll: htmx follows HX-Redirect to the call screen for this phone call.
    opened = client.get("/calls/screen-pop/?shown=0&open=1", headers=poll)
    assert opened.status_code == 200
    assert opened["HX-Redirect"] == f"/calls/new/?telephony={pk}"
    # The call screen's poll only offers it.
    offered = client.get("/calls/screen-pop/?shown=0", headers=poll)
    assert "HX-Redirect" not in offered
    assert "Incoming call from 0151 496 0123" in offered.content.decode()
    # Back on the home page 31 seconds after the answer: offered, not opened again.
    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=False):
        later = client.get("/calls/screen-pop/?shown=0&open=1", headers=poll)
    assert "HX-Redirect" not in later
    text = later.content.decode()
    assert "Incoming call from 0151 496 0123" in text
    assert "open=1" in text  # the home page's poll keeps saying it is the home page's


def test_the_pop_reads_no_patient_and_writes_no_access_log_row(client, on_2001):
    patient_with_carer()
    phone_call(Client(), "ringing", "answered")
    client.force_login(on_2001)
    before = AccessLog.objects.count()
    client.get("/calls/screen-pop/", headers={"HX-Request": "true", "X-Spoc-Poll": "1"})
    assert AccessLog.objects.count() == before


def test_a_ringing_call_from_a_carers_number_offers_the_patient_they_care_for(client, on_2001):
    cared_for = patient_with_carer()
    own = PatientFactory(phone="0151 496 0123", family_name="Zed")
    PatientFactory(phone="0151 496 0999")  # someone else's number
    phone_call(Client(), "ringing", "answered")
    client.force_login(on_2001)
    before = AccessLog.objects.filter(object_type="phone_match").count()
    page = client.get(f"/calls/new/?telephony={TelephonyCall.objects.get().pk}")
    matches = page.context["phone_matches"]
    # The patient's own number first, then the patient whose main carer it is.
    assert [(m.patient, m.rank) for m in matches] == [(own, 0), (cared_for, 1)]
    text = page.content.decode()
    assert 'data-testid="phone-matches"' in text
    assert "Siân Nguyễn, son or daughter (main carer)" in text
    assert 'value="0151 496 0123"' in text  # the caller's phone, typed for the handler
    search = AccessLog.objects.filter(object_type="phone_match").order_by("id")
    assert search.count() == before + 1
    row = search.last()
    assert row is not None
    assert (row.action, row.detail) == (AccessLog.Action.SEARCH, {"results": 2})


def test_the_saved_call_takes_its_times_from_the_phone_system(client, on_2001):
    cared_for = patient_with_carer()
    start = timezone.now() - timedelta(minutes=4)
    phone_call(Client(), "ringing", "answered", start=start)
    phone = TelephonyCall.objects.get()
    client.force_login(on_2001)
    response = client.post(
        "/calls/new/",
        payload(
            cared_for,
            telephony_call=phone.pk,
            received_at=timezone.now().isoformat(),  # what a stale form might say: ignored
        ),
    )
    assert response.status_code == 302
    call = Call.objects.get()
    phone.refresh_from_db()
    assert phone.call == call
    assert call.received_at == start
    assert call.answered_at == start + timedelta(seconds=20)
    assert call.ended_at == timezone.now()  # still on the phone when saved
    # The phone system's end, heard afterwards, becomes the call's.
    phone_call(Client(), "ended", start=start + timedelta(minutes=3))
    call.refresh_from_db()
    assert call.ended_at == start + timedelta(minutes=3)
    detail = client.get(f"/calls/{call.pk}/").content.decode()
    assert "Inbound, answered 10:26, ended 10:29 (times from the phone system)" in detail
    # Recorded: no more pop, and the call screen cannot record it twice.
    assert "Incoming call" not in client.get("/calls/screen-pop/").content.decode()
    again = client.post("/calls/new/", payload(cared_for, telephony_call=phone.pk))
    assert again.status_code == 200
    assert "This phone call is unknown or already recorded." in again.content.decode()
    assert Call.objects.count() == 1


def test_a_call_screen_for_an_unknown_phone_call_is_an_ordinary_call_screen(client, on_2001):
    client.force_login(on_2001)
    page = client.get("/calls/new/?telephony=999999")
    assert page.status_code == 200
    assert page.context["phone_call"] is None
    assert client.get("/calls/new/?telephony=<script>").status_code == 200


def test_missed_calls_list_the_matched_person_and_the_voicemail(client, make_user):
    cared_for = patient_with_carer()
    from devtools.fake_phone import event
    from tests.calls.telephony_steps import post_event

    phone_call(Client(), "ringing", "abandoned")
    recording = "https://recordings.example.net/vm/7.mp3"
    post_event(
        Client(),
        event(
            "voicemail",
            call_id="pbx-vm",
            caller="07700 900456",
            at=timezone.now() - timedelta(minutes=1),
            recording_url=recording,
        ),
    )
    client.force_login(make_user(Role.SPOC_COORDINATOR, username="coord1"))
    page = client.get("/calls/missed/")
    text = page.content.decode()
    assert page.status_code == 200
    assert len(page.context["missed"]) == 2
    assert [m.patient for m in page.context["missed"][1].matches] == [cared_for]
    assert "O&#x27;BRIEN" in text
    assert "Caller gave up" in text
    assert f'href="{recording}"' in text
    assert 'href="tel:+441514960123"' in text
    call_back = page.context["missed"][1].call_back
    assert f'href="/calls/new/?call_back={call_back.pk}"' in text
    listed = AccessLog.objects.filter(object_type="missed_calls").last()
    assert listed is not None and listed.detail == {"patients": 1}


def test_the_missed_calls_list_costs_the_same_with_many_rows(
    client, make_user, django_assert_max_num_queries
):
    for n in range(30):
        number = f"0151 496 0{n + 200:03d}"
        patient_with_carer(carer_phone=number)
        phone_call(Client(), "ringing", "abandoned", call_id=f"pbx-{n}", caller=number)
    client.force_login(make_user(Role.CALL_HANDLER, username="handler9"))
    # Session, user, permissions, the rows, the patients, the related people, the access log; 4
    # fewer than before: no session save on each page (3: savepoint, update, release), the roles
    # read with the permissions (1).
    with django_assert_max_num_queries(11):
        page = client.get("/calls/missed/")
    assert len(page.context["missed"]) == 30
    assert all(len(item.matches) == 1 for item in page.context["missed"])
