"""Texts about overdue call-backs (calls.services.reminders, docs/telephony.md "Reminders"):
once each, when overdue by CALL_BACK_REMIND_AFTER_MINUTES, to the owner on duty, else to the
SPOC coordinator on duty; nobody on duty, no text; Notify's errors tried again; no patient
identifier in the text."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from calls.models import CallBack
from calls.services.reminders import call_back_reminders_send
from calls.tasks import remind_overdue_call_backs_task
from rota.models import ShiftRole
from spoc.core.notify import NotifyFailed, SmsSent
from tests.clock import WEEKDAY_MORNING
from tests.referrals.alerting import COORDINATOR_PHONE, NURSE_PHONE, Text, texts_recorded
from tests.referrals.factories import CallFactory

pytestmark = pytest.mark.django_db

T = WEEKDAY_MORNING
LIST = "http://127.0.0.1:8000/calls/call-backs/"


def minutes(n: float):
    return T + timedelta(minutes=n)


@pytest.fixture
def sms(monkeypatch: pytest.MonkeyPatch) -> list[Text]:
    """Every text asked of Notify by the reminders, in order."""
    return texts_recorded(monkeypatch, "calls.services.reminders.sms_send")


def call_back(owner=None, *, due=T) -> CallBack:
    call = CallFactory(received_at=due - timedelta(hours=1))
    return CallBack.objects.create(call=call, patient=call.patient, due_at=due, assigned_to=owner)


def run(at):
    with time_machine.travel(at, tick=False):
        return call_back_reminders_send()


def coordinator_on_duty(duty_rota, area) -> None:
    duty_rota.put(
        area["spoc_team"], area["coordinator"], COORDINATOR_PHONE, role=ShiftRole.COORDINATOR
    )


def test_an_overdue_call_back_is_texted_once_when_overdue_by_the_setting_s_minutes(
    settings, duty_rota, alert_area, sms
):
    settings.CALL_BACK_REMIND_AFTER_MINUTES = 15
    coordinator_on_duty(duty_rota, alert_area)
    shared = call_back()
    run(minutes(14.9))
    assert sms == []
    run(minutes(20))
    run(minutes(21))
    with time_machine.travel(minutes(22), tick=False):
        remind_overdue_call_backs_task.apply()
    assert [(t.phone, t.template_kind, t.personalisation) for t in sms] == [
        (
            COORDINATOR_PHONE,
            "CALL_BACK_OVERDUE",
            {"what": "A call-back is overdue by 20 minutes", "link": LIST},
        )
    ]
    shared.refresh_from_db()
    assert (shared.reminded_at, shared.reminded_to, shared.reminder_notify_id) == (
        minutes(20),
        alert_area["coordinator"],
        sms[0].notification_id,
    )


def test_the_list_says_due_now_or_overdue_by_and_shows_the_reminder_under_the_call_back(
    duty_rota, alert_area, sms, handler
):
    coordinator_on_duty(duty_rota, alert_area)
    call_back()
    call_back(due=minutes(18))
    run(minutes(20))
    client = Client()
    with time_machine.travel(minutes(21), tick=False):
        client.force_login(handler)  # signed in then, not at whatever time the tests run
        page = client.get("/calls/call-backs/").content.decode()
    assert "Overdue by 21 minutes" in page and "Due now" in page
    assert page.index("Overdue by 21 minutes") < page.index("Due now")
    assert "Reminder texted to Mai Nguyễn at 10:50" in page


def test_the_owner_on_duty_is_texted_and_an_owner_off_duty_falls_back_to_the_coordinator(
    duty_rota, alert_area, sms
):
    coordinator_on_duty(duty_rota, alert_area)
    duty_rota.put(alert_area["team"], alert_area["nurse"], NURSE_PHONE)
    on_duty = call_back(alert_area["nurse"])
    off_duty = call_back(alert_area["lead"], due=minutes(1))
    run(minutes(30))
    assert [(t.phone, t.reference) for t in sms] == [
        (NURSE_PHONE, f"spoc-call-back-{on_duty.pk}"),
        (COORDINATOR_PHONE, f"spoc-call-back-{off_duty.pk}"),
    ]
    assert [t.personalisation["what"] for t in sms] == [
        "A call-back is overdue by 30 minutes",
        "A call-back is overdue by 29 minutes",
    ]


def test_nobody_on_duty_no_text_a_log_line_and_the_list_still_shows_it_overdue(
    alert_area, sms, handler, caplog
):
    overdue = call_back()
    with caplog.at_level(logging.WARNING, logger="calls.services.reminders"):
        run(minutes(20))
    assert sms == []
    assert f"Call-back {overdue.pk} is overdue and nobody is on duty" in caplog.text
    overdue.refresh_from_db()
    assert overdue.reminded_at is None
    client = Client()
    with time_machine.travel(minutes(20), tick=False):
        client.force_login(handler)  # signed in then, not at whatever time the tests run
        page = client.get("/calls/call-backs/").content.decode()
    assert "Overdue by 20 minutes" in page
    assert "Reminder texted" not in page


def test_a_notify_error_is_logged_and_tried_again_on_the_next_run(
    duty_rota, alert_area, monkeypatch, caplog
):
    coordinator_on_duty(duty_rota, alert_area)
    overdue = call_back()
    answers: list[object] = [NotifyFailed("HTTP 500 Exception: down", refused=False)]

    def send(**kwargs):
        answer = answers.pop(0) if answers else SmsSent(notification_id=uuid.uuid4())
        if isinstance(answer, NotifyFailed):
            raise answer
        return answer

    monkeypatch.setattr("calls.services.reminders.sms_send", send)
    with caplog.at_level(logging.WARNING, logger="calls.services.reminders"):
        first = run(minutes(20))
    assert (first.sent, first.failed) == ([], [overdue.pk])
    assert "HTTP 500 Exception: down" in caplog.text
    overdue.refresh_from_db()
    assert (overdue.reminded_at, overdue.reminder_error) == (None, "HTTP 500 Exception: down")
    second = run(minutes(21))
    assert second.sent == [overdue.pk]
    overdue.refresh_from_db()
    assert (overdue.reminded_at, overdue.reminder_error) == (minutes(21), "")


def test_a_call_back_another_run_is_sending_is_left_to_it(duty_rota, alert_area, sms):
    coordinator_on_duty(duty_rota, alert_area)
    taken = call_back()
    CallBack.objects.filter(pk=taken.pk).update(reminder_sending_until=minutes(20.5))
    run(minutes(20))
    assert sms == []
    run(minutes(21))
    assert len(sms) == 1


def test_done_and_cancelled_call_backs_are_not_texted(duty_rota, alert_area, sms):
    coordinator_on_duty(duty_rota, alert_area)
    for status in (CallBack.Status.DONE, CallBack.Status.CANCELLED):
        CallBack.objects.filter(pk=call_back().pk).update(status=status)
    run(minutes(30))
    assert sms == []


def test_the_fake_notify_receives_exactly_the_reminder_and_no_patient_identifier(
    notify, duty_rota, alert_area
):
    coordinator_on_duty(duty_rota, alert_area)
    overdue = call_back()
    patient = overdue.patient
    assert patient is not None and patient.nhs_number and patient.postcode
    run(minutes(25))
    run(minutes(26))
    assert [(m.phone_number, m.template_kind, m.body) for m in notify.all()] == [
        (
            COORDINATOR_PHONE,
            "CALL_BACK_OVERDUE",
            f"SPOC hub: A call-back is overdue by 25 minutes. See the call-backs: {LIST}",
        )
    ]
    overdue.refresh_from_db()
    assert str(overdue.reminder_notify_id) == notify.all()[0].id
    identifiers = [
        patient.given_name,
        patient.family_name,
        patient.nhs_number,
        patient.postcode,
        patient.postcode.replace(" ", ""),
        patient.date_of_birth.isoformat(),
        patient.date_of_birth.strftime("%d/%m/%Y"),
    ]
    sent = json.dumps([(m.body, m.personalisation, m.reference or "") for m in notify.all()])
    for identifier in identifiers:
        assert identifier.lower() not in sent.lower(), identifier
