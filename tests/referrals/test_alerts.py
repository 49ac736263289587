"""Urgent alerts (referrals.services.alerts): who is texted, the chain when nobody acknowledges,
acknowledging from the text's link and from the referral page, delivery receipts, digests of
routine referrals, and sending that fails."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from referrals.models import Alert, Referral, ReferralEvent
from referrals.selectors.board import coordinator_board
from referrals.services.alerts import alerts_digest, alerts_start_due
from referrals.services.claims import referral_claim
from referrals.services.escalation import escalations_run
from rota.models import ShiftRole
from services.models import TeamMembership
from spoc.accounts.roles import Role
from spoc.core.notify import NotifyFailed
from tests.clock import WEEKDAY_MORNING
from tests.referrals.alerting import (
    COORDINATOR_PHONE,
    LEAD_PHONE,
    NURSE_PHONE,
    routed,
    send_pending,
    staffed,
    walk,
)

pytestmark = pytest.mark.django_db

T = WEEKDAY_MORNING
CALLBACK_TOKEN = "test-notify-callback-token-0123456789"


def minutes(n: float):
    return T + timedelta(minutes=n)


def timeline(referral) -> list[str]:
    return list(
        ReferralEvent.objects.filter(referral=referral, kind__startswith="ALERT_").values_list(
            "kind", flat=True
        )
    )


def signed_in(user, at=None) -> Client:
    """``user``'s browser, signed in now or ``at`` (the moment of the requests that follow, when
    they are made at a fixed moment: the idle timeout counts from the sign-in)."""
    client = Client()
    if at is None:
        client.force_login(user)
    else:
        with time_machine.travel(at, tick=False):
            client.force_login(user)
    return client


def test_a_p1_nobody_acknowledges_goes_from_the_nurse_on_duty_to_the_lead_to_the_coordinator(
    duty_rota, texts, alert_area
):
    staffed(duty_rota, alert_area)
    referral = routed("P1")
    walk(T)
    # P1: 5 minutes to acknowledge each text.
    for moment in (4.9, 5, 9.9, 10, 15, 20, 25, 30, 35):
        walk(minutes(moment))
    assert [(t.phone, t.template_kind) for t in texts] == [
        (NURSE_PHONE, "ALERT"),
        (NURSE_PHONE, "REPEAT"),
        (LEAD_PHONE, "ALERT"),
        (LEAD_PHONE, "REPEAT"),
        (COORDINATOR_PHONE, "ALERT"),
        (COORDINATOR_PHONE, "REPEAT"),
    ]
    rows = list(Alert.objects.filter(referral=referral).order_by("pk"))
    assert [(a.rung, a.step, a.attempt) for a in rows] == [
        ("ON_DUTY", 1, 1),
        ("ON_DUTY", 1, 2),
        ("LEAD", 2, 1),
        ("LEAD", 2, 2),
        ("COORDINATOR", 3, 1),
        ("COORDINATOR", 3, 2),
    ]
    assert [a.end for a in rows] == ["PASSED_ON"] * 5 + ["NOBODY"]
    assert timeline(referral) == ["ALERT_SENT"] * 6 + ["ALERT_NOBODY"]
    # Nobody acknowledged: the coordinator board shows it until someone does.
    with time_machine.travel(minutes(36), tick=False):
        board = coordinator_board(user=alert_area["coordinator"], now=minutes(36))
    section = next(s for s in board.sections if s.key == "unacknowledged")
    assert [r.pk for r in section.rows] == [referral.pk]
    text = texts[0].personalisation
    assert text == {
        "priority": "P1",
        "team": "Community Palliative Care team",
        "what": "new referral waiting to be accepted",
        "link": f"http://127.0.0.1:8000/alerts/{referral.pk}/",
    }


def test_the_window_is_the_priority_s_p3_waits_thirty_minutes(duty_rota, texts, alert_area):
    staffed(duty_rota, alert_area)
    routed("P3")
    walk(T)
    walk(minutes(29))
    assert len(texts) == 1
    walk(minutes(30))
    assert [t.template_kind for t in texts] == ["ALERT", "REPEAT"]


def test_acknowledging_from_the_link_stops_the_chain_and_a_get_never_acknowledges(
    duty_rota, texts, alert_area
):
    staffed(duty_rota, alert_area)
    referral = routed("P1")
    walk(T)
    link = reverse("alerts:acknowledge", args=[referral.pk])
    # A link preview or an SMS app fetching the link: signed out, sent to sign in, nothing done.
    answer = Client().get(link)
    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")
    assert f"next={link}".replace("/", "%2F") in answer["Location"] or "next=" in answer["Location"]
    nurse = signed_in(alert_area["nurse"], at=minutes(1))
    with time_machine.travel(minutes(1), tick=False):
        page = nurse.get(link)
    assert page.status_code == 200
    assert b'data-testid="acknowledge"' in page.content
    assert Alert.objects.get(referral=referral).acknowledged_at is None
    with time_machine.travel(minutes(2), tick=False):
        done = nurse.post(link)
    assert done.status_code == 302 and done["Location"] == link
    alert = Alert.objects.get(referral=referral)
    assert (alert.acknowledged_by, alert.acknowledged_at, alert.end) == (
        alert_area["nurse"],
        minutes(2),
        "ACKNOWLEDGED",
    )
    for moment in (5, 10, 15, 30):
        walk(minutes(moment))
    assert len(texts) == 1
    assert timeline(referral) == ["ALERT_SENT", "ALERT_ACKNOWLEDGED"]
    event = ReferralEvent.objects.get(referral=referral, kind="ALERT_ACKNOWLEDGED")
    assert event.actor == alert_area["nurse"]
    # Once acknowledged, the page says by whom; a second press changes nothing.
    with time_machine.travel(minutes(31), tick=False):
        nurse.get(link)  # the message of the first press
        again = nurse.post(link, follow=True)
    assert "Already acknowledged by PRITCHARD, Siân" in again.content.decode()
    assert Alert.objects.filter(acknowledged_at__isnull=False).count() == 1


def test_the_referral_page_offers_acknowledge_while_an_alert_waits(duty_rota, texts, alert_area):
    staffed(duty_rota, alert_area)
    referral = routed("P2")
    walk(T)
    lead = signed_in(alert_area["lead"], at=minutes(1))
    page_url = reverse("queue:referral", args=[referral.pk])
    with time_machine.travel(minutes(1), tick=False):
        page = lead.get(page_url)
        assert b'data-testid="alert-waiting"' in page.content
        done = lead.post(
            reverse("alerts:acknowledge", args=[referral.pk]), {"next": page_url}, follow=True
        )
    assert done.redirect_chain[-1][0] == page_url
    assert b'data-testid="alert-waiting"' not in done.content
    assert "Urgent alert acknowledged" in done.content.decode()
    assert Alert.objects.get(referral=referral).acknowledged_by == alert_area["lead"]
    walk(minutes(10))
    assert len(texts) == 1


def test_who_may_acknowledge(duty_rota, texts, alert_area, make_user):
    staffed(duty_rota, alert_area)
    referral = routed("P1")
    walk(T)
    link = reverse("alerts:acknowledge", args=[referral.pk])
    other_team = make_user(Role.SPECIALIST_NURSE, username="nurse_b")
    handler = make_user(Role.CALL_HANDLER, username="handler")
    # Another team's nurse does not see the referral: 404. A call handler sees it but is not of
    # the team: 403, and nothing is acknowledged.
    assert signed_in(other_team).get(link).status_code == 404
    assert signed_in(other_team).post(link).status_code == 404
    assert signed_in(handler).get(link).status_code == 403
    assert signed_in(handler).post(link).status_code == 403
    assert Alert.objects.get(referral=referral).acknowledged_at is None
    # The coordinators may, whoever was texted.
    assert signed_in(alert_area["coordinator"]).post(link).status_code == 302
    assert Alert.objects.get(referral=referral).acknowledged_by == alert_area["coordinator"]


def test_someone_on_shift_but_not_of_the_team_may_acknowledge_what_they_were_sent(
    duty_rota, texts, alert_area, make_user
):
    bank = make_user(Role.SPECIALIST_NURSE, username="bank", first_name="Thu", last_name="Lê")
    duty_rota.put(alert_area["team"], bank, "+447700900199")
    referral = routed("P1")
    walk(T)
    assert texts[0].phone == "+447700900199"
    link = reverse("alerts:acknowledge", args=[referral.pk])
    client = signed_in(bank)
    page = client.get(link)
    assert page.status_code == 200
    assert b"Open the referral" not in page.content  # not hers to open
    assert client.post(link).status_code == 302
    assert Alert.objects.get(referral=referral).acknowledged_by == bank


def test_nobody_on_duty_and_no_lead_goes_straight_to_the_coordinator(duty_rota, texts, alert_area):
    TeamMembership.objects.filter(user=alert_area["lead"]).delete()
    duty_rota.put(alert_area["spoc_team"], alert_area["coordinator"], COORDINATOR_PHONE)
    referral = routed("P1")
    walk(T)
    assert [(t.phone, t.template_kind) for t in texts] == [(COORDINATOR_PHONE, "ALERT")]
    assert Alert.objects.get(referral=referral).rung == "COORDINATOR"


def test_the_coordinator_on_shift_comes_before_a_call_handler_on_the_spoc_s_rota(
    duty_rota, texts, alert_area, make_user
):
    TeamMembership.objects.filter(user=alert_area["lead"]).delete()
    handler = make_user(Role.CALL_HANDLER, username="handler")
    duty_rota.put(alert_area["spoc_team"], handler, "+447700900150", role=ShiftRole.CALL_HANDLER)
    duty_rota.put(
        alert_area["spoc_team"],
        alert_area["coordinator"],
        COORDINATOR_PHONE,
        role=ShiftRole.COORDINATOR,
    )
    routed("P1")
    walk(T)
    walk(minutes(5))
    walk(minutes(10))
    assert [t.phone for t in texts] == [COORDINATOR_PHONE, COORDINATOR_PHONE, "+447700900150"]


def test_a_lead_off_shift_is_reached_at_their_work_mobile(duty_rota, texts, alert_area):
    duty_rota.put(alert_area["spoc_team"], alert_area["coordinator"], COORDINATOR_PHONE)
    routed("P2")
    walk(T)
    assert [t.phone for t in texts] == [LEAD_PHONE]


def test_nobody_reachable_at_all_is_shown_on_the_coordinator_board(duty_rota, texts, alert_area):
    alert_area["lead"].work_mobile = ""
    alert_area["lead"].save()
    referral = routed("P1")
    walk(T)
    assert texts == []
    alert = Alert.objects.get(referral=referral)
    assert (alert.status, alert.end, alert.recipient) == ("NO_RECIPIENT", "NOBODY", None)
    assert timeline(referral) == ["ALERT_NOBODY"]
    with time_machine.travel(minutes(1), tick=False):
        board = coordinator_board(user=alert_area["coordinator"], now=minutes(1))
    section = next(s for s in board.sections if s.key == "unacknowledged")
    assert [r.pk for r in section.rows] == [referral.pk]
    # A coordinator acknowledges it from the board's link: it leaves the board.
    signed_in(alert_area["coordinator"]).post(reverse("alerts:acknowledge", args=[referral.pk]))
    with time_machine.travel(minutes(2), tick=False):
        board = coordinator_board(user=alert_area["coordinator"], now=minutes(2))
    assert next(s for s in board.sections if s.key == "unacknowledged").rows == []


def test_p4_and_p5_are_never_urgent_alerts_but_one_digest_an_hour(duty_rota, texts, alert_area):
    staffed(duty_rota, alert_area)
    for n, priority in enumerate(("P4", "P5", "P4")):
        routed(priority, at=minutes(n))
    walk(minutes(3))
    assert texts == [] and not Alert.objects.exclude(reason="DIGEST").exists()
    with time_machine.travel(minutes(5), tick=False):
        alerts_digest()
    send_pending(minutes(5))
    assert [(t.phone, t.template_kind) for t in texts] == [(NURSE_PHONE, "DIGEST")]
    assert texts[0].personalisation == {
        "count": "3 new routine referrals",
        "team": "Community Palliative Care team",
        "link": f"http://127.0.0.1:8000/queue/teams/{alert_area['team'].pk}/",
    }
    # Two more within the hour: none until the hour is up, then only the two.
    routed("P5", at=minutes(20))
    routed("P4", at=minutes(40))
    for moment in (10, 30, 60):
        with time_machine.travel(minutes(moment), tick=False):
            alerts_digest()
    assert len(texts) == 1
    with time_machine.travel(minutes(66), tick=False):
        alerts_digest()
    send_pending(minutes(66))
    assert [t.personalisation["count"] for t in texts] == [
        "3 new routine referrals",
        "2 new routine referrals",
    ]
    with time_machine.travel(minutes(200), tick=False):
        assert alerts_digest() == []


def test_a_referral_claimed_ends_its_chain(duty_rota, texts, alert_area):
    staffed(duty_rota, alert_area)
    referral = routed("P1")
    walk(T)
    with time_machine.travel(minutes(2), tick=False):
        referral_claim(referral_id=referral.pk, user=alert_area["nurse"])
    walk(minutes(6))
    assert len(texts) == 1
    assert Alert.objects.get(referral=referral).end == "RESOLVED"


def test_a_referral_re_prioritised_to_routine_ends_its_chain(duty_rota, texts, alert_area):
    staffed(duty_rota, alert_area)
    referral = routed("P1")
    walk(T)
    Referral.objects.filter(pk=referral.pk).update(priority="P4")
    walk(minutes(6))
    assert len(texts) == 1
    assert Alert.objects.get(referral=referral).end == "RESOLVED"


def claimed_p1(duty_rota, alert_area) -> Referral:
    """A P1 referral whose alert was sent at T, claimed by the nurse a minute later."""
    staffed(duty_rota, alert_area)
    referral = routed("P1")
    walk(T)
    with time_machine.travel(minutes(1), tick=False):
        referral_claim(referral_id=referral.pk, user=alert_area["nurse"])
    walk(minutes(2))
    return referral


def test_a_breach_of_first_contact_starts_a_chain_when_the_escalation_job_records_it(
    duty_rota, texts, alert_area
):
    referral = claimed_p1(duty_rota, alert_area)
    # P1: first contact within 30 minutes.
    with time_machine.travel(minutes(31), tick=False):
        escalations_run()
    send_pending(minutes(31))
    assert [a.reason for a in Alert.objects.filter(referral=referral).order_by("pk")] == [
        "NEW_REFERRAL",
        "CONTACT_BREACHED",
    ]
    assert texts[-1].personalisation["what"] == "first contact overdue"
    assert texts[-1].phone == NURSE_PHONE


def test_a_milestone_whose_chain_the_escalation_job_did_not_start_is_started_by_the_walk(
    duty_rota, texts, alert_area, monkeypatch
):
    """A referral's own start (the task queued with it) looks for its new-referral chain only:
    a milestone's chain is the escalation job's to start, and the walk's when that fails."""
    referral = claimed_p1(duty_rota, alert_area)
    monkeypatch.setattr("referrals.services.escalation._alerts_start", lambda now: None)
    with time_machine.travel(minutes(31), tick=False):
        escalations_run()
        assert alerts_start_due(referral_id=referral.pk) == []
    assert [a.reason for a in Alert.objects.filter(referral=referral)] == ["NEW_REFERRAL"]
    walk(minutes(31.5))
    assert [a.reason for a in Alert.objects.filter(referral=referral).order_by("pk")] == [
        "NEW_REFERRAL",
        "CONTACT_BREACHED",
    ]
    assert texts[-1].personalisation["what"] == "first contact overdue"


@pytest.mark.parametrize(
    "priority, asked", [("P1", True), ("P2", True), ("P3", True), ("P4", False), ("P5", False)]
)
def test_only_an_urgent_referral_queued_asks_the_worker_to_start_its_alert(
    priority, asked, alert_area, monkeypatch, django_capture_on_commit_callbacks
):
    from referrals import tasks

    starts: list[int] = []
    emails: list[int] = []
    monkeypatch.setattr(tasks.alerts_start_task, "delay", starts.append)
    monkeypatch.setattr(tasks.notify_new_referral_task, "delay", emails.append)
    with django_capture_on_commit_callbacks(execute=True):
        referral = routed(priority)
    assert starts == ([referral.pk] if asked else [])
    assert emails == [referral.pk]


def test_a_referral_queued_long_before_the_job_first_sees_it_gets_no_alert(
    duty_rota, texts, alert_area
):
    staffed(duty_rota, alert_area)
    routed("P1")
    walk(minutes(16))  # ALERT_START_WITHIN_MINUTES is 15
    assert texts == [] and not Alert.objects.exists()


def test_a_chain_starts_once_however_often_it_is_asked(duty_rota, texts, alert_area):
    staffed(duty_rota, alert_area)
    referral = routed("P1")
    with time_machine.travel(T, tick=False):
        assert len(alerts_start_due(referral_id=referral.pk)) == 1
        assert alerts_start_due(referral_id=referral.pk) == []
        assert alerts_start_due() == []
    send_pending(T)
    send_pending(T)
    assert len(texts) == 1


def test_a_text_whose_send_was_lost_is_sent_by_the_walk(duty_rota, texts, alert_area, enqueued):
    staffed(duty_rota, alert_area)
    routed("P1")
    walk(T)
    texts.clear()
    with time_machine.travel(minutes(0.1), tick=False):
        alerts_start_due(referral_id=routed("P2", at=minutes(0.1)).pk)
    enqueued.clear()  # the broker lost the send
    walk(minutes(0.5))
    assert texts == []
    walk(minutes(1.2))  # a minute after it was made
    assert [(t.phone, t.personalisation["priority"]) for t in texts] == [(NURSE_PHONE, "P2")]


def test_notify_not_answering_is_recorded_and_tried_again(
    duty_rota, texts, alert_area, monkeypatch
):
    staffed(duty_rota, alert_area)
    referral = routed("P1")

    def down(**kwargs):
        raise NotifyFailed("No answer: ConnectionError", refused=False)

    with monkeypatch.context() as patched:
        patched.setattr("referrals.services.alerts.sms_send", down)
        walk(T)
    alert = Alert.objects.get(referral=referral)
    assert (alert.status, alert.sent_at, alert.send_tries) == ("PENDING", None, 1)
    assert alert.last_error == "No answer: ConnectionError"
    assert alert.next_send_at == T + timedelta(seconds=30)
    walk(minutes(0.25))
    assert texts == []
    walk(minutes(0.5))
    assert len(texts) == 1
    alert.refresh_from_db()
    assert alert.sent_at == minutes(0.5) and alert.last_error == ""


def test_a_message_notify_refuses_moves_on_at_once_without_the_repeat(
    duty_rota, texts, alert_area, monkeypatch
):
    staffed(duty_rota, alert_area)
    referral = routed("P1")

    def refused(**kwargs):
        raise NotifyFailed(
            "HTTP 400 ValidationError: phone_number Not a UK mobile number", refused=True
        )

    with monkeypatch.context() as patched:
        patched.setattr("referrals.services.alerts.sms_send", refused)
        walk(T)
    assert Alert.objects.get(referral=referral).status == "REFUSED"
    walk(minutes(0.5))
    assert [t.phone for t in texts] == [LEAD_PHONE]
    assert timeline(referral) == ["ALERT_FAILED", "ALERT_SENT"]


def receipt(client: Client, body, token: str | None = CALLBACK_TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(
        reverse("alerts:notify-receipt"), data, content_type="application/json", headers=headers
    )


def notify_receipt_body(notification_id, status: str) -> dict:
    return {
        "id": str(notification_id),
        "reference": "spoc-alert-1",
        "to": NURSE_PHONE,
        "status": status,
        "created_at": "2026-06-10T09:30:00.000000Z",
        "completed_at": "2026-06-10T09:30:05.000000Z",
        "sent_at": "2026-06-10T09:30:01.000000Z",
        "notification_type": "sms",
        "template_id": str(uuid.uuid4()),
        "template_version": 1,
    }


@pytest.fixture
def callback_token(settings):
    settings.NOTIFY_CALLBACK_TOKEN = CALLBACK_TOKEN


def test_delivery_receipts_are_recorded_on_the_alert_and_the_timeline(
    duty_rota, texts, alert_area, callback_token
):
    staffed(duty_rota, alert_area)
    referral = routed("P1")
    walk(T)
    client = Client()
    with time_machine.travel(minutes(0.2), tick=False):
        answer = receipt(client, notify_receipt_body(texts[0].notification_id, "delivered"))
    assert answer.status_code == 200 and answer.json() == {"recorded": True}
    alert = Alert.objects.get(referral=referral)
    assert (alert.status, alert.status_at) == ("delivered", minutes(0.2))
    # Notify retries a receipt it thinks failed: the same one twice writes one line.
    receipt(client, notify_receipt_body(texts[0].notification_id, "delivered"))
    assert timeline(referral) == ["ALERT_SENT", "ALERT_DELIVERED"]
    page = signed_in(alert_area["nurse"]).get(reverse("queue:referral", args=[referral.pk]))
    assert "Urgent alert delivered" in page.content.decode()
    assert "To PRITCHARD, Siân (On duty for the team)" in page.content.decode()


def test_a_failed_delivery_passes_the_chain_on_at_once(
    duty_rota, texts, alert_area, callback_token
):
    staffed(duty_rota, alert_area)
    referral = routed("P2")
    walk(T)
    with time_machine.travel(minutes(0.2), tick=False):
        receipt(Client(), notify_receipt_body(texts[0].notification_id, "temporary-failure"))
    walk(minutes(0.5))
    assert [t.phone for t in texts] == [NURSE_PHONE, LEAD_PHONE]
    assert timeline(referral) == ["ALERT_SENT", "ALERT_FAILED", "ALERT_SENT"]
    page = signed_in(alert_area["lead"]).get(reverse("queue:referral", args=[referral.pk]))
    assert "Not delivered: phone off or unreachable" in page.content.decode()


@pytest.mark.parametrize(
    ("body", "token", "status"),
    [
        ({"id": str(uuid.uuid4()), "status": "delivered"}, None, 401),
        ({"id": str(uuid.uuid4()), "status": "delivered"}, "wrong-token", 403),
        ({"id": str(uuid.uuid4()), "status": "delivered"}, "", 403),
        ("not json", CALLBACK_TOKEN, 400),
        (b"\xff\xfe", CALLBACK_TOKEN, 400),
        ("[" * 100_000, CALLBACK_TOKEN, 400),
        ([{"id": "x"}], CALLBACK_TOKEN, 400),
        ({"status": "delivered"}, CALLBACK_TOKEN, 400),
        ({"id": "not-a-uuid", "status": "delivered"}, CALLBACK_TOKEN, 400),
        ({"id": 12, "status": "delivered"}, CALLBACK_TOKEN, 400),
        ({"id": str(uuid.uuid4()), "status": "<script>alert(1)</script>"}, CALLBACK_TOKEN, 400),
        ({"id": str(uuid.uuid4()), "status": None}, CALLBACK_TOKEN, 400),
        ({"id": str(uuid.uuid4()), "status": "delivered", "x": "a" * 20_000}, CALLBACK_TOKEN, 400),
        # A message the hub does not know: nothing to record, nothing for Notify to retry.
        ({"id": str(uuid.uuid4()), "status": "delivered"}, CALLBACK_TOKEN, 200),
    ],
)
def test_a_bad_receipt_is_refused_never_a_500(body, token, status, callback_token):
    answer = receipt(Client(), body, token=token)
    assert answer.status_code == status
    assert not ReferralEvent.objects.exists()


def test_receipts_are_refused_while_no_callback_token_is_set(settings):
    settings.NOTIFY_CALLBACK_TOKEN = ""
    answer = receipt(Client(), {"id": str(uuid.uuid4()), "status": "delivered"}, token="")
    assert answer.status_code == 403
