"""Follow-ups of calls that advised 999 or transferred the caller (docs/patients-and-calls.md,
"Follow-ups"): made once with the call, due CALL_FOLLOW_UP_MINUTES later; on the board (overdue
first), the list, the call and the patient pages and in the navigation; the outcome recorded once,
on the page and through the API, bad input refused with nothing lost."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from calls.models import CallFollowUp
from calls.services.follow_ups import FollowUpAlreadyRecorded, call_follow_up_record
from calls.services.intake import CallInput, call_submit
from referrals.codes import CallReason, Disposition
from referrals.selectors.board import coordinator_board
from services.codes import CallerType, Priority
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from spoc.home.navigation import navigation_for
from tests.clock import WEEKDAY_MORNING
from tests.referrals.factories import PatientFactory

pytestmark = pytest.mark.django_db

T = WEEKDAY_MORNING


@pytest.fixture
def clock():
    with time_machine.travel(T, tick=False) as traveller:
        yield traveller


@pytest.fixture
def coordinator(make_user):
    return make_user(Role.SPOC_COORDINATOR, username="coord1", is_clinician=True)


def submit(user: Any, disposition: str, *, patient: Any = None, key: str | None = None) -> Any:
    return call_submit(
        data=CallInput(
            received_at=T - timedelta(minutes=5),
            caller_type=CallerType.CARER_FAMILY,
            caller_name="Siân O'Brien",
            patient_id=patient.pk if patient is not None else None,
            reason=CallReason.SYMPTOM_CONTROL,
            red_flags=("MAJOR_BLEED",),
            chosen_priority=Priority.P1,
            disposition=disposition,
            idempotency_key=key or uuid.uuid4().hex,
        ),
        user=user,
    ).call


@pytest.mark.parametrize("disposition", [Disposition.ADVISED_999, Disposition.WARM_TRANSFER])
def test_a_999_advice_or_a_warm_transfer_makes_one_follow_up_due_within_the_setting(
    clock, settings, handler, disposition
):
    settings.CALL_FOLLOW_UP_MINUTES = 45
    patient = PatientFactory()
    call = submit(handler, disposition, patient=patient, key="same")
    # The same call sent again (its idempotency key) makes nothing more.
    assert submit(handler, disposition, patient=patient, key="same") == call
    follow_up = CallFollowUp.objects.get()
    assert follow_up.call == call
    assert follow_up.due_at == T + timedelta(minutes=45)
    assert (follow_up.status, follow_up.outcome, follow_up.done_at) == ("PENDING", "", None)


@pytest.mark.parametrize("disposition", [Disposition.ADVICE_GIVEN, Disposition.SIGNPOSTED])
def test_other_dispositions_make_no_follow_up(clock, handler, disposition):
    submit(handler, disposition)
    assert not CallFollowUp.objects.exists()


def test_the_outcome_is_recorded_once_with_who_and_when_and_logged(clock, handler, coordinator):
    follow_up = submit(handler, Disposition.ADVISED_999, patient=PatientFactory()).follow_up
    clock.shift(timedelta(minutes=50))

    call_follow_up_record(
        follow_up_id=follow_up.pk,
        user=coordinator,
        outcome="CONVEYED",
        note="Ambulance took her to North Hospital; spoke to Nguyễn on the ward.",
    )

    follow_up.refresh_from_db()
    assert (follow_up.status, follow_up.outcome, follow_up.done_by) == (
        "DONE",
        "CONVEYED",
        coordinator,
    )
    assert follow_up.done_at == T + timedelta(minutes=50)
    assert follow_up.note.endswith("Nguyễn on the ward.")
    log = AccessLog.objects.get(object_type="call_follow_up")
    assert (log.action, log.object_id, log.user) == ("UPDATE", str(follow_up.pk), coordinator)
    with pytest.raises(FollowUpAlreadyRecorded, match="already recorded"):
        call_follow_up_record(follow_up_id=follow_up.pk, user=coordinator, outcome="NOT_NEEDED")
    follow_up.refresh_from_db()
    assert follow_up.outcome == "CONVEYED"


def test_the_board_shows_follow_ups_due_overdue_first_in_a_constant_number_of_queries(
    clock, client, handler, coordinator
):
    early = submit(handler, Disposition.ADVISED_999, patient=PatientFactory()).follow_up
    clock.shift(timedelta(minutes=30))
    late = submit(handler, Disposition.WARM_TRANSFER).follow_up
    clock.shift(timedelta(minutes=40))  # the first is 10 minutes overdue, the second due in 20
    client.force_login(coordinator)

    with CaptureQueriesContext(connection) as few:
        page = client.get(reverse("board:board")).content.decode()
    section = page.split('data-testid="board-follow-ups"')[1].split("</section>")[0]
    assert section.index(f"#follow-up-{early.pk}") < section.index(f"#follow-up-{late.pk}")
    assert "Overdue by 10 minutes" in section and "Patient not identified" in section
    assert AccessLog.objects.filter(object_type="coordinator_board_follow_ups").exists()

    for _ in range(15):
        submit(handler, Disposition.ADVISED_999, patient=PatientFactory())
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("board:board")).status_code == 200
    assert len(many) == len(few)
    assert coordinator_board(user=coordinator, now=T) is not None


def test_the_navigation_counts_those_to_confirm_and_those_overdue(clock, handler, coordinator):
    submit(handler, Disposition.ADVISED_999)
    clock.shift(timedelta(minutes=61))
    submit(handler, Disposition.WARM_TRANSFER)
    link = next(link for link in navigation_for(coordinator) if link.label == "Follow-ups")
    with CaptureQueriesContext(connection) as queries:
        assert (link.badge, link.badge_words) == (2, "to confirm: 1 overdue")
    assert len(queries) == 1
    assert not any(link.label == "Follow-ups" for link in navigation_for(handler))


def test_a_coordinator_records_the_outcome_on_the_list_and_sees_it_on_the_call_and_patient(
    clock, client, handler, coordinator
):
    patient = PatientFactory(family_name="O'Brien", given_name="Siân")
    call = submit(handler, Disposition.ADVISED_999, patient=patient)
    follow_up = call.follow_up
    client.force_login(coordinator)
    listing = client.get(reverse("calls:follow-ups")).content.decode()
    assert f'id="follow-up-{follow_up.pk}"' in listing and "O&#x27;BRIEN, Siân" in listing
    assert "To confirm" in client.get(reverse("calls:detail", args=[call.pk])).content.decode()

    response = client.post(
        reverse("calls:follow-up-record", args=[follow_up.pk]),
        {"outcome": "NOT_CONVEYED", "note": "<script>alert(1)</script> paramedics treated"},
    )

    assert response.status_code == 302 and response["Location"] == reverse("calls:follow-ups")
    assert "Nothing to confirm." in client.get(reverse("calls:follow-ups")).content.decode()
    detail = client.get(reverse("calls:detail", args=[call.pk])).content.decode()
    assert "Ambulance attended, patient not taken to hospital" in detail
    assert "&lt;script&gt;alert(1)&lt;/script&gt; paramedics treated" in detail
    record = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Follow-up:" in record and "Ambulance attended, patient not taken" in record


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"note": "Rang the caller"}, "Select what happened after the call."),
        ({"outcome": "TELEPORTED"}, "Select what happened from the list."),
        ({"outcome": "CONVEYED", "note": "x" * 1001}, "at most 1000 characters"),
    ],
)
def test_bad_input_is_explained_keeps_what_was_typed_and_saves_nothing(
    clock, client, handler, coordinator, data, message
):
    follow_up = submit(handler, Disposition.ADVISED_999).follow_up
    client.force_login(coordinator)

    response = client.post(reverse("calls:follow-up-record", args=[follow_up.pk]), data)

    assert response.status_code == 400
    page = response.content.decode()
    assert message in page and "There is a problem" in page
    if "note" in data:
        assert data["note"][:50] in page
    follow_up.refresh_from_db()
    assert follow_up.status == "PENDING"


def test_a_follow_up_recorded_by_someone_else_first_is_said_and_kept(
    clock, client, handler, coordinator, make_user
):
    follow_up = submit(handler, Disposition.WARM_TRANSFER).follow_up
    other = make_user(Role.SPOC_COORDINATOR, username="coord2", is_clinician=True)
    call_follow_up_record(follow_up_id=follow_up.pk, user=other, outcome="TRANSFER_ACCEPTED")
    client.force_login(coordinator)

    response = client.post(
        reverse("calls:follow-up-record", args=[follow_up.pk]),
        {"outcome": "COULD_NOT_CONFIRM"},
        follow=True,
    )

    assert "already recorded this follow-up" in response.content.decode()
    follow_up.refresh_from_db()
    assert (follow_up.outcome, follow_up.done_by) == ("TRANSFER_ACCEPTED", other)


def test_the_api_returns_the_follow_up_with_the_call_lists_and_records_them(
    clock, client, handler, coordinator
):
    client.force_login(handler)
    body = {
        "received_at": (T - timedelta(minutes=3)).isoformat(),
        "caller_type": "CARER_FAMILY",
        "reason": "SYMPTOM_CONTROL",
        "red_flags": ["SEIZURE"],
        "disposition": "ADVISED_999",
    }
    created = client.post(reverse("api-calls"), body, content_type="application/json")
    assert created.status_code == 201, created.json()
    follow_up = created.json()["follow_up"]
    assert follow_up["status"] == "PENDING"
    assert datetime.fromisoformat(follow_up["due_at"]) == T + timedelta(minutes=60)
    body["disposition"] = "SIGNPOSTED"
    assert (
        client.post(reverse("api-calls"), body, content_type="application/json").json()["follow_up"]
        is None
    )
    assert client.get(reverse("api-call-follow-ups")).status_code == 403

    client.force_login(coordinator)
    listed = client.get(reverse("api-call-follow-ups")).json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == follow_up["id"]
    url = reverse("api-call-follow-up", args=[follow_up["id"]])
    refused = client.post(url, {"outcome": "MAYBE"}, content_type="application/json")
    assert refused.status_code == 400 and "outcome" in refused.json()
    done = client.post(url, {"outcome": "CONVEYED"}, content_type="application/json")
    assert done.status_code == 200 and done.json()["status"] == "DONE"
    again = client.post(url, {"outcome": "NOT_NEEDED"}, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "follow_up_already_recorded"
    assert client.get(reverse("api-call-follow-ups")).json() == {"count": 0, "results": []}
