"""The escalation job (referrals.services.escalation): one row per referral, routing attempt and
milestone however often it runs; emails only to whoever is on duty; old milestones recorded
quietly; no patient details in any email."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.utils import timezone

from referrals.models import Escalation, Referral
from referrals.services.claims import referral_claim, referral_contact
from referrals.services.escalation import escalations_run, new_referral_notify
from referrals.services.lifecycle import referral_hold
from referrals.services.routing import referral_route
from services.codes import ServiceType
from services.models import TeamMembership
from services.selectors import routing_directory_forget
from spoc.accounts.roles import Role
from tests.referrals.factories import CallFactory, ReferralFactory
from tests.services.directory_fixtures import every_day, make_service

pytestmark = pytest.mark.django_db

# Wednesday 15-Jan-2025, 14:00 in London (GMT): the community team (08:00-20:00) is open.
AFTERNOON = datetime(2025, 1, 15, 14, 0, tzinfo=UTC)
COORDINATORS = "spoc-duty@example.nhs.uk"
COMMUNITY = "community-duty@example.nhs.uk"
LEAD = "lead@example.nhs.uk"


@pytest.fixture
def area(make_user):
    community = make_service(
        "Community Palliative Care", ServiceType.COMMUNITY_SPC, hours=every_day(8, 20)
    )
    spoc = make_service("SPOC coordinators", ServiceType.SPOC, open_24_7=True)
    community.team.duty_email = COMMUNITY
    community.team.save()
    spoc.team.duty_email = COORDINATORS
    spoc.team.save()
    lead = make_user(Role.TEAM_LEAD, username="lead", email=LEAD, is_clinician=True)
    TeamMembership.objects.create(user=lead, team=community.team, role=TeamMembership.Role.LEAD)
    return {"community": community, "spoc": spoc, "lead": lead}


def routed(at=AFTERNOON, priority="P2"):
    with time_machine.travel(at, tick=False):
        referral = ReferralFactory(call=CallFactory(received_at=at), priority=priority)
        return referral_route(referral_id=referral.pk)


def run_at(moment):
    with time_machine.travel(moment, tick=False):
        return escalations_run()


def milestones(referral):
    return sorted(Escalation.objects.filter(referral=referral).values_list("milestone", flat=True))


def test_not_accepted_in_time_warns_the_open_team_once_however_often_the_job_runs(area):
    referral = routed()
    assert referral.team == area["community"].team
    mail.outbox.clear()
    assert run_at(AFTERNOON + timedelta(minutes=14)).recorded == {}
    run = run_at(AFTERNOON + timedelta(minutes=16))
    assert run.recorded == {"ACCEPT_OVERDUE": 1}
    for minutes in (17, 18, 19):
        assert run_at(AFTERNOON + timedelta(minutes=minutes)).recorded == {}
    assert milestones(referral) == ["ACCEPT_OVERDUE"]
    assert [m.to for m in mail.outbox] == [[COMMUNITY]]
    escalation = Escalation.objects.get(referral=referral)
    assert (escalation.routing_attempt, escalation.due_at) == (1, referral.accept_by)
    assert escalation.recipients == [COMMUNITY]
    body = mail.outbox[0].body
    assert f"REF-{referral.pk:06d}" in body
    assert (
        f"Due: Wednesday 15 January 2025, {timezone.localtime(referral.accept_by):%H:%M}\n" in body
    )
    assert referral.patient.family_name not in body
    assert referral.patient.nhs_number not in body


def test_at_risk_is_recorded_without_email_and_a_breach_goes_to_the_leads_and_the_coordinators(
    area,
):
    referral = routed()
    nurse = area["lead"]
    with time_machine.travel(AFTERNOON + timedelta(minutes=5), tick=False):
        referral_claim(referral_id=referral.pk, user=nurse)
    mail.outbox.clear()
    assert run_at(AFTERNOON + timedelta(minutes=91)).recorded == {"CONTACT_AT_RISK": 1}
    assert mail.outbox == []
    assert run_at(AFTERNOON + timedelta(hours=2, minutes=1)).recorded == {"CONTACT_BREACHED": 1}
    assert sorted(mail.outbox[0].to) == sorted([COMMUNITY, LEAD, COORDINATORS])
    assert run_at(AFTERNOON + timedelta(hours=3)).recorded == {}
    assert len(mail.outbox) == 1


def test_at_night_the_closed_team_is_not_emailed_but_the_coordinators_are(area):
    # Routed at 19:50: the community team can still meet a P3 (4 h) deadline? No: it closes at
    # 20:00 but is open now, so it wins; its accept-by (1 h) falls at 20:50, after closing.
    evening = datetime(2025, 1, 15, 19, 50, tzinfo=UTC)
    referral = routed(at=evening, priority="P3")
    assert referral.team == area["community"].team
    mail.outbox.clear()
    run_at(evening + timedelta(hours=1, minutes=1))
    assert milestones(referral) == ["ACCEPT_OVERDUE"]
    assert [m.to for m in mail.outbox] == [[COORDINATORS]]
    run_at(evening + timedelta(hours=4, minutes=1))
    assert milestones(referral) == ["ACCEPT_OVERDUE", "CONTACT_AT_RISK", "CONTACT_BREACHED"]
    # The breach at midnight: the lead and the team's duty address are off duty.
    assert mail.outbox[-1].to == [COORDINATORS]


def test_milestones_seen_more_than_a_day_late_are_recorded_not_notified(area):
    referral = routed()
    mail.outbox.clear()
    run = run_at(AFTERNOON + timedelta(days=2))
    assert run.recorded == {"ACCEPT_OVERDUE": 1, "CONTACT_AT_RISK": 1, "CONTACT_BREACHED": 1}
    assert run.notified == 0
    assert mail.outbox == []
    assert not Escalation.objects.filter(referral=referral, notified_at__isnull=False).exists()


def test_held_or_contacted_referrals_do_not_escalate(area):
    held, contacted = routed(), routed()
    nurse = area["lead"]
    with time_machine.travel(AFTERNOON + timedelta(minutes=5), tick=False):
        referral_claim(referral_id=held.pk, user=nurse)
        referral_hold(referral_id=held.pk, user=nurse, reason="In hospital")
        referral_claim(referral_id=contacted.pk, user=nurse)
        referral_contact(referral_id=contacted.pk, user=nurse)
    run_at(AFTERNOON + timedelta(hours=3))
    assert milestones(held) == milestones(contacted) == []


def test_a_new_routing_attempt_escalates_afresh(area, make_user):
    from referrals.services.lifecycle import referral_reroute

    referral = routed()
    run_at(AFTERNOON + timedelta(minutes=16))
    coordinator = make_user(Role.SPOC_COORDINATOR, username="coord")
    with time_machine.travel(AFTERNOON + timedelta(minutes=20), tick=False):
        referral_reroute(
            referral_id=referral.pk,
            user=coordinator,
            reason="Back to the same team",
            team_id=area["community"].team.pk,
        )
    run_at(AFTERNOON + timedelta(minutes=36))
    attempts = sorted(
        Escalation.objects.filter(referral=referral, milestone="ACCEPT_OVERDUE").values_list(
            "routing_attempt", flat=True
        )
    )
    assert attempts == [1, 2]


def test_a_new_referral_emails_the_open_team_and_urgent_ones_reach_the_coordinators_at_night(area):
    referral = routed()
    mail.outbox.clear()
    with time_machine.travel(AFTERNOON, tick=False):
        assert new_referral_notify(referral_id=referral.pk) == [COMMUNITY]
    night = datetime(2025, 1, 15, 22, 0, tzinfo=UTC)
    with time_machine.travel(night, tick=False):
        assert new_referral_notify(referral_id=referral.pk) == [COORDINATORS]
    referral.priority = "P5"
    referral.save()
    with time_machine.travel(night, tick=False):
        assert new_referral_notify(referral_id=referral.pk) == []
    assert len(mail.outbox) == 2


def test_new_referral_emails_keep_the_directory_and_see_an_edit_of_it_at_once(
    area, django_assert_num_queries
):
    first, second = routed(), routed()
    routing_directory_forget()
    mail.outbox.clear()
    with time_machine.travel(AFTERNOON, tick=False):
        assert new_referral_notify(referral_id=first.pk) == [COMMUNITY]
        # The referral with the directory's version, then the team's leads: the directory is
        # the one the first email read (five queries fewer).
        with django_assert_num_queries(2):
            assert new_referral_notify(referral_id=second.pk) == [COMMUNITY]
        team = area["community"].team
        team.duty_email = "community-duty-2@example.nhs.uk"
        team.save()
        assert new_referral_notify(referral_id=second.pk) == ["community-duty-2@example.nhs.uk"]
    assert [message.to for message in mail.outbox] == [
        [COMMUNITY],
        [COMMUNITY],
        ["community-duty-2@example.nhs.uk"],
    ]


def test_a_referral_contacted_before_and_queued_again_raises_no_contact_milestones(area):
    referral = routed()
    Referral.objects.filter(pk=referral.pk).update(
        first_contact_at=AFTERNOON + timedelta(minutes=30)
    )
    run = run_at(AFTERNOON + timedelta(hours=3))
    assert run.recorded == {"ACCEPT_OVERDUE": 1}


def test_healthz_reports_milestones_the_job_has_not_recorded(area, client):
    from referrals.services.escalation import escalation_backlog_check

    referral = routed()
    late = AFTERNOON + timedelta(minutes=15 + 6)  # accept-by passed 6 minutes ago
    with time_machine.travel(late, tick=False):
        report = escalation_backlog_check()
        assert report == {
            "ok": False,
            "unrecorded_milestones": {
                "ACCEPT_OVERDUE": 1,
                "CONTACT_AT_RISK": 0,
                "CONTACT_BREACHED": 0,
            },
        }
        assert (
            client.get("/healthz", HTTP_AUTHORIZATION=f"Bearer {settings.HEALTHZ_TOKEN}").json()[
                "escalation"
            ]["ok"]
            is False
        )
        escalations_run()
        assert escalation_backlog_check()["ok"] is True
    assert milestones(referral) == ["ACCEPT_OVERDUE"]


def test_an_email_that_could_not_be_sent_is_tried_again_until_it_is(area, monkeypatch):
    from referrals.services import escalation as module

    referral = routed()
    mail.outbox.clear()
    real_send = module.send_mail

    def mail_server_down(*args, **kwargs):
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr(module, "send_mail", mail_server_down)
    assert run_at(AFTERNOON + timedelta(minutes=16)).notified == 0
    assert Escalation.objects.get(referral=referral).notified_at is None
    monkeypatch.setattr(module, "send_mail", real_send)
    assert run_at(AFTERNOON + timedelta(minutes=17)).notified == 1
    assert run_at(AFTERNOON + timedelta(minutes=18)).notified == 0
    assert [m.to for m in mail.outbox] == [[COMMUNITY]]
    assert Escalation.objects.get(referral=referral).notified_at is not None


def test_an_unsent_warning_is_dropped_once_the_referral_is_accepted(area, monkeypatch):
    from referrals.services import escalation as module

    referral = routed()
    monkeypatch.setattr(module, "send_mail", lambda *a, **k: (_ for _ in ()).throw(OSError("down")))
    run_at(AFTERNOON + timedelta(minutes=16))
    monkeypatch.undo()
    with time_machine.travel(AFTERNOON + timedelta(minutes=17), tick=False):
        referral_claim(referral_id=referral.pk, user=area["lead"])
    mail.outbox.clear()
    assert run_at(AFTERNOON + timedelta(minutes=18)).notified == 0
    assert mail.outbox == []
