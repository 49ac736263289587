"""What the urgent alert tests share: an area with a community team, its lead and the SPOC
coordinators; who is on shift; the texts sent, as GOV.UK Notify would have taken them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine

from referrals.models import Alert, Referral
from referrals.services.alerts import alert_send, alerts_walk
from referrals.services.routing import referral_route
from rota.models import ShiftRole
from services.codes import ServiceType
from services.models import Team, TeamMembership
from spoc.accounts.models import User
from spoc.accounts.roles import Role
from spoc.core.notify import SmsSent
from tests.clock import WEEKDAY_MORNING
from tests.referrals.factories import CallFactory, ReferralFactory
from tests.rota.factories import extra
from tests.services.directory_fixtures import every_day, make_service

NURSE_PHONE = "+447700900101"
LEAD_PHONE = "+447700900102"
COORDINATOR_PHONE = "+447700900103"


class Rota:
    """Who is on shift: a one-off shift on the duty rota (rota.models), two hours before
    WEEKDAY_MORNING to ten after, per person put."""

    def put(
        self,
        team: Team,
        user: User,
        phone: str,
        *,
        hours: int = 12,
        role: str = ShiftRole.SPECIALIST_NURSE,
    ) -> None:
        start = WEEKDAY_MORNING - timedelta(hours=2)
        extra(team, user, start, start + timedelta(hours=hours), role=role, phone=phone)


@dataclass
class Text:
    phone: str
    template_kind: str
    personalisation: dict[str, str]
    reference: str
    notification_id: uuid.UUID


@pytest.fixture
def duty_rota(db: None) -> Rota:
    return Rota()


# The alerts whose send was enqueued after commit, as the broker holds them for the worker.
ENQUEUED: list[int] = []


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sends enqueued after commit wait in ENQUEUED for ``send_pending``, as in the broker."""
    ENQUEUED.clear()
    monkeypatch.setattr("referrals.services.alerts._send_after_commit", ENQUEUED.extend)
    return ENQUEUED


@pytest.fixture
def texts(monkeypatch: pytest.MonkeyPatch, enqueued: list[int]) -> list[Text]:
    """Every text the hub asked Notify to send, in order (Notify itself is the outside world:
    tests/referrals/test_notify_contract.py plays it over HTTP)."""
    return texts_recorded(monkeypatch, "referrals.services.alerts.sms_send")


def texts_recorded(monkeypatch: pytest.MonkeyPatch, target: str) -> list[Text]:
    """``target`` (a module's ``sms_send``) records each text and answers as Notify would."""
    sent: list[Text] = []

    def send(*, phone: str, template_kind: str, personalisation: dict[str, str], reference: str):
        text = Text(phone, template_kind, personalisation, reference, uuid.uuid4())
        sent.append(text)
        return SmsSent(notification_id=text.notification_id)

    monkeypatch.setattr(target, send)
    return sent


@pytest.fixture
def alert_area(make_user: Callable[..., User]) -> dict[str, Any]:
    """A community team open 08:00-20:00 with a nurse and a lead (with a work mobile), and the
    SPOC coordinators' team with a coordinator."""
    community = make_service(
        "Community Palliative Care", ServiceType.COMMUNITY_SPC, hours=every_day(8, 20)
    )
    spoc = make_service("SPOC coordinators", ServiceType.SPOC, open_24_7=True)
    nurse = make_user(
        Role.SPECIALIST_NURSE, username="nurse", first_name="Siân", last_name="Pritchard"
    )
    lead = make_user(
        Role.TEAM_LEAD,
        username="lead",
        first_name="Declan",
        last_name="O'Brien",
        work_mobile=LEAD_PHONE,
    )
    coordinator = make_user(
        Role.SPOC_COORDINATOR, username="coordinator", first_name="Mai", last_name="Nguyễn"
    )
    TeamMembership.objects.create(user=nurse, team=community.team)
    TeamMembership.objects.create(user=lead, team=community.team, role=TeamMembership.Role.LEAD)
    TeamMembership.objects.create(user=coordinator, team=spoc.team)
    return {
        "team": community.team,
        "spoc_team": spoc.team,
        "nurse": nurse,
        "lead": lead,
        "coordinator": coordinator,
    }


def staffed(rota: Rota, area: dict[str, Any]) -> None:
    """The nurse on shift for the community team, the coordinator for the SPOC."""
    rota.put(area["team"], area["nurse"], NURSE_PHONE)
    rota.put(area["spoc_team"], area["coordinator"], COORDINATOR_PHONE, role=ShiftRole.COORDINATOR)


def routed(priority: str = "P1", at: datetime = WEEKDAY_MORNING) -> Referral:
    with time_machine.travel(at, tick=False):
        referral = ReferralFactory(call=CallFactory(received_at=at), priority=priority)
        queued = referral_route(referral_id=referral.pk)
    assert queued is not None
    return queued


def send_pending(at: datetime) -> list[Alert]:
    """Run the sends enqueued so far, as the worker would (``alerts.send``)."""
    sent = []
    with time_machine.travel(at, tick=False):
        while ENQUEUED:
            alert = alert_send(alert_id=ENQUEUED.pop(0))
            if alert is not None:
                sent.append(alert)
    return sent


def walk(at: datetime) -> None:
    """One run of the alert walk at ``at``, then the sends it enqueued."""
    with time_machine.travel(at, tick=False):
        alerts_walk()
    send_pending(at)
