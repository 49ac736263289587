"""Decline, route again, route by hand, hold, resume and re-prioritise (referrals.services.lifecycle),
with the clocks they fix, under frozen time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from referrals.actions import ActionNotPermitted
from referrals.models import Referral, ReferralEvent
from referrals.services.claims import referral_claim, referral_contact
from referrals.services.lifecycle import (
    referral_decline,
    referral_hold,
    referral_reprioritise,
    referral_reroute,
    referral_resume,
)
from referrals.services.routing import referral_route
from referrals.transitions import IllegalAction, ReferralStatus
from services.codes import ServiceType
from services.models import TeamMembership
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from tests.referrals.factories import CallFactory, ReferralFactory
from tests.services.directory_fixtures import every_day, make_service

pytestmark = pytest.mark.django_db

# Wednesday 15-Jan-2025, 14:00 in London (GMT).
WEDNESDAY_2PM = datetime(2025, 1, 15, 14, 0, tzinfo=UTC)


@pytest.fixture
def area():
    return {
        "community": make_service(
            "Community Palliative Care", ServiceType.COMMUNITY_SPC, hours=every_day(8, 20)
        ),
        "hah": make_service("Hospice at Home", ServiceType.HOSPICE_AT_HOME, hours=every_day(8, 22)),
        "night": make_service("Night Service", ServiceType.NIGHT_SERVICE, hours=every_day(20, 8)),
        "spoc": make_service("SPOC coordinators", ServiceType.SPOC, open_24_7=True),
    }


def member(make_user, service, username, role=Role.SPECIALIST_NURSE, lead=False):
    user = make_user(role, username=username, is_clinician=True)
    TeamMembership.objects.create(
        user=user,
        team=service.team,
        role=TeamMembership.Role.LEAD if lead else TeamMembership.Role.MEMBER,
    )
    return user


def routed(priority="P2", **fields):
    """A referral from a call at ``received_at`` (default WEDNESDAY_2PM), routed at that moment."""
    received_at = fields.pop("received_at", None) or WEDNESDAY_2PM
    with time_machine.travel(received_at, tick=False):
        referral = ReferralFactory(
            call=CallFactory(received_at=received_at), priority=priority, **fields
        )
        return referral_route(referral_id=referral.pk)


def test_a_decline_sends_the_referral_back_to_routing_without_that_service(make_user, area):
    with time_machine.travel(WEDNESDAY_2PM, tick=False):
        referral = routed()
        assert referral.team == area["community"].team
        contact_by = referral.contact_by
        nurse = member(make_user, area["community"], "nurse1")
        declined = referral_decline(
            referral_id=referral.pk, user=nurse, reason="NO_CAPACITY", note="Two off sick"
        )
    assert (declined.status, declined.team, declined.owner) == (
        ReferralStatus.AWAITING_ROUTING,
        None,
        None,
    )
    assert declined.declined_service_ids == [area["community"].pk]
    event = declined.events.get(kind=ReferralEvent.Kind.DECLINED)
    assert (event.team, event.actor, event.data["reason"], event.data["note"]) == (
        area["community"].team,
        nurse,
        "NO_CAPACITY",
        "Two off sick",
    )
    assert AccessLog.objects.filter(
        user=nurse, object_type="referral", object_id=str(referral.pk)
    ).exists()

    # Routed again ten minutes later: the next service, the accept clock restarted, the
    # first-contact clock still counted from the call.
    later = WEDNESDAY_2PM + timedelta(minutes=10)
    with time_machine.travel(later, tick=False):
        again = referral_route(referral_id=referral.pk)
    assert again is not None
    assert again.team == area["hah"].team
    assert again.routing_attempt == 2
    assert again.accept_clock_started_at == later
    assert again.accept_by == later + timedelta(minutes=15)
    assert again.contact_by == contact_by == WEDNESDAY_2PM + timedelta(hours=2)
    assert again.at_risk_at == WEDNESDAY_2PM + timedelta(minutes=90)
    candidates = {c["service_name"]: c for c in again.routing_decision["candidates"]}
    assert (
        candidates["Community Palliative Care"]["excluded_reason"]
        == "Excluded: declined this referral before"
    )


def test_after_two_declines_the_coordinators_decide(make_user, area):
    with time_machine.travel(WEDNESDAY_2PM, tick=False):
        referral = routed()
        first = member(make_user, area["community"], "nurse1")
        referral_decline(referral_id=referral.pk, user=first, reason="NO_CAPACITY")
        referral = referral_route(referral_id=referral.pk)
        assert referral is not None
        second = member(make_user, area["hah"], "nurse2")
        referral_decline(referral_id=referral.pk, user=second, reason="WRONG_SERVICE")
        referral = referral_route(referral_id=referral.pk)
    assert referral is not None
    assert referral.team == area["spoc"].team
    assert referral.status == ReferralStatus.QUEUED
    assert referral.unroutable_reason == (
        "Declined by Community Palliative Care and Hospice at Home: a coordinator decides where it goes"
    )
    assert referral.events.filter(kind=ReferralEvent.Kind.UNROUTABLE, data__attempt=3).exists()


def test_a_decline_is_refused_with_a_clear_reason(make_user, area):
    referral = routed()
    outsider = member(make_user, area["hah"], "outsider")
    with pytest.raises(Referral.DoesNotExist):  # another team's referral: not even visible
        referral_decline(referral_id=referral.pk, user=outsider, reason="NO_CAPACITY")
    coordinator = make_user(Role.SPOC_COORDINATOR, username="coord")
    with pytest.raises(ActionNotPermitted):  # sees it, but only its team declines
        referral_decline(referral_id=referral.pk, user=coordinator, reason="NO_CAPACITY")
    nurse = member(make_user, area["community"], "nurse1")
    with pytest.raises(ValidationError) as caught:
        referral_decline(referral_id=referral.pk, user=nurse, reason="BORED")
    assert "reason" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        referral_decline(referral_id=referral.pk, user=nurse, reason="NO_CAPACITY", note="x" * 501)
    assert "note" in caught.value.message_dict
    referral_claim(referral_id=referral.pk, user=nurse)
    referral_contact(referral_id=referral.pk, user=nurse)
    with pytest.raises(IllegalAction):
        referral_decline(referral_id=referral.pk, user=nurse, reason="NO_CAPACITY")
    assert Referral.objects.get(pk=referral.pk).declined_service_ids == []


def test_a_coordinator_routes_by_hand_with_a_reason(make_user, area):
    with time_machine.travel(WEDNESDAY_2PM, tick=False):
        referral = routed()
    coordinator = make_user(Role.SPOC_COORDINATOR, username="coord")
    moment = WEDNESDAY_2PM + timedelta(minutes=30)
    with time_machine.travel(moment, tick=False):
        with pytest.raises(ValidationError) as caught:
            referral_reroute(
                referral_id=referral.pk, user=coordinator, reason=" ", team_id=area["hah"].team.pk
            )
        assert "reason" in caught.value.message_dict
        moved = referral_reroute(
            referral_id=referral.pk,
            user=coordinator,
            reason="Family know this team",
            team_id=area["hah"].team.pk,
        )
    assert (moved.status, moved.team, moved.routing_attempt) == (
        ReferralStatus.QUEUED,
        area["hah"].team,
        2,
    )
    assert moved.accept_by == moment + timedelta(minutes=15)
    assert moved.contact_by == WEDNESDAY_2PM + timedelta(hours=2)
    assert moved.routing_decision["manual"]["reason"] == "Family know this team"
    event = moved.events.get(kind=ReferralEvent.Kind.ROUTED_MANUALLY)
    assert event.data["from_team"] == area["community"].team.name


def test_route_again_sends_it_back_to_the_ranker_and_a_nurse_may_not(make_user, area):
    referral = routed()
    nurse = member(make_user, area["community"], "nurse1")
    with pytest.raises(ActionNotPermitted):
        referral_reroute(referral_id=referral.pk, user=nurse, reason="Wrong team")
    handler = make_user(Role.CALL_HANDLER, username="handler")
    back = referral_reroute(referral_id=referral.pk, user=handler, reason="Address corrected")
    assert (back.status, back.team) == (ReferralStatus.AWAITING_ROUTING, None)
    assert back.events.get(kind=ReferralEvent.Kind.REROUTE_REQUESTED).team == area["community"].team


def test_an_inactive_team_cannot_be_chosen(make_user, area):
    referral = routed()
    area["hah"].status = "INACTIVE"
    area["hah"].save()
    coordinator = make_user(Role.SPOC_COORDINATOR, username="coord")
    with pytest.raises(ValidationError) as caught:
        referral_reroute(
            referral_id=referral.pk, user=coordinator, reason="x", team_id=area["hah"].team.pk
        )
    assert caught.value.message_dict == {"team_id": ["Choose an active team."]}


def test_a_hold_stops_both_clocks_and_resume_returns_to_where_it_was(make_user, area):
    with time_machine.travel(WEDNESDAY_2PM, tick=False):
        referral = routed()
        nurse = member(make_user, area["community"], "nurse1")
        referral_claim(referral_id=referral.pk, user=nurse)
    with time_machine.travel(WEDNESDAY_2PM + timedelta(minutes=20), tick=False):
        with pytest.raises(ValidationError):
            referral_hold(referral_id=referral.pk, user=nurse, reason="")
        held = referral_hold(
            referral_id=referral.pk, user=nurse, reason="Admitted to hospital overnight"
        )
    assert (held.status, held.status_before_hold) == (
        ReferralStatus.ON_HOLD,
        ReferralStatus.ACCEPTED,
    )
    # Three hours on hold.
    with time_machine.travel(WEDNESDAY_2PM + timedelta(hours=3, minutes=20), tick=False):
        resumed = referral_resume(referral_id=referral.pk, user=nurse, note="Home again")
    assert resumed.status == ReferralStatus.ACCEPTED
    assert resumed.owner == nurse
    assert resumed.contact_by == WEDNESDAY_2PM + timedelta(hours=5)
    assert resumed.clock_started_at == WEDNESDAY_2PM + timedelta(hours=3)
    assert (resumed.held_at, resumed.hold_reason, resumed.status_before_hold) == (None, "", "")
    event = resumed.events.get(kind=ReferralEvent.Kind.RESUMED)
    assert (event.data["held_minutes"], event.data["hold_reason"]) == (
        180,
        "Admitted to hospital overnight",
    )
    with pytest.raises(IllegalAction):
        referral_resume(referral_id=referral.pk, user=nurse)


def test_a_new_priority_recomputes_the_clocks_from_the_same_starts(make_user, area):
    with time_machine.travel(WEDNESDAY_2PM, tick=False):
        referral = routed()
    handler = make_user(Role.CALL_HANDLER, username="handler")
    with time_machine.travel(WEDNESDAY_2PM + timedelta(minutes=5), tick=False):
        with pytest.raises(ValidationError) as caught:
            referral_reprioritise(
                referral_id=referral.pk, user=handler, priority="P2", reason="same"
            )
        assert caught.value.message_dict == {"priority": ["The referral is already P2."]}
        with pytest.raises(ValidationError):
            referral_reprioritise(referral_id=referral.pk, user=handler, priority="P9", reason="x")
        changed = referral_reprioritise(
            referral_id=referral.pk,
            user=handler,
            priority="P3",
            reason="GP visited; symptoms settled",
        )
    assert changed.priority == "P3"
    assert changed.accept_by == WEDNESDAY_2PM + timedelta(hours=1)
    assert changed.contact_by == WEDNESDAY_2PM + timedelta(hours=4)
    assert changed.events.get(kind=ReferralEvent.Kind.REPRIORITISED).data == {
        "from": "P2",
        "to": "P3",
        "reason": "GP visited; symptoms settled",
    }


def test_a_p4_at_a_weekday_service_counts_its_hours_over_the_weekend(make_user):
    weekdays = [(d, time(9), time(17)) for d in range(5)]
    make_service("Community Palliative Care", ServiceType.COMMUNITY_SPC, hours=weekdays)
    make_service("SPOC coordinators", ServiceType.SPOC, open_24_7=True)
    friday_4pm = datetime(2025, 1, 17, 16, 0, tzinfo=UTC)
    with time_machine.travel(friday_4pm, tick=False):
        referral = routed(priority="P4", need="SPECIALIST_FOLLOW_UP", received_at=friday_4pm)
    # 4 service hours: 1 on Friday, 3 on Monday from 09:00. 2 working days: Tuesday, same time.
    assert referral.accept_by == datetime(2025, 1, 20, 12, 0, tzinfo=UTC)
    assert referral.contact_by == datetime(2025, 1, 21, 16, 0, tzinfo=UTC)


def test_a_p3_clock_runs_in_real_time_across_the_autumn_clock_change(make_user, area):
    # 26-Oct-2025: clocks go back at 02:00 BST. A P3 call at 00:30 BST (23:30 UTC) is due 4 real
    # hours later, 03:30 UTC = 03:30 GMT, not 04:30 on the wall.
    call_at = datetime(2025, 10, 25, 23, 30, tzinfo=UTC)
    with time_machine.travel(call_at, tick=False):
        referral = routed(priority="P3", need="OVERNIGHT_SUPPORT", received_at=call_at)
    assert referral.team == area["night"].team
    assert referral.contact_by == datetime(2025, 10, 26, 3, 30, tzinfo=UTC)


def test_a_claimed_referral_is_declined_by_its_owner_or_a_lead_only(make_user, area):
    referral = routed()
    owner = member(make_user, area["community"], "owner")
    colleague = member(make_user, area["community"], "colleague")
    lead = member(make_user, area["community"], "lead", role=Role.TEAM_LEAD, lead=True)
    referral_claim(referral_id=referral.pk, user=owner)
    with pytest.raises(ActionNotPermitted):
        referral_decline(referral_id=referral.pk, user=colleague, reason="NO_CAPACITY")
    declined = referral_decline(referral_id=referral.pk, user=lead, reason="WRONG_SERVICE")
    assert (declined.status, declined.owner) == (ReferralStatus.AWAITING_ROUTING, None)


def test_a_duplicate_is_cancelled_not_declined(make_user, area):
    referral = routed()
    nurse = member(make_user, area["community"], "nurse1")
    with pytest.raises(ValidationError) as caught:
        referral_decline(referral_id=referral.pk, user=nurse, reason="DUPLICATE")
    assert "cancelled, not declined" in caught.value.message_dict["reason"][0]


def test_a_p4_held_through_the_working_week_keeps_the_opening_time_it_had_left(make_user):
    weekdays = [(d, time(9), time(17)) for d in range(5)]
    service = make_service("Community Palliative Care", ServiceType.COMMUNITY_SPC, hours=weekdays)
    make_service("SPOC coordinators", ServiceType.SPOC, open_24_7=True)
    friday_4pm = datetime(2025, 1, 17, 16, 0, tzinfo=UTC)
    referral = routed(priority="P4", need="SPECIALIST_FOLLOW_UP", received_at=friday_4pm)
    assert referral.contact_by == datetime(2025, 1, 21, 16, 0, tzinfo=UTC)
    lead = member(make_user, service, "lead", role=Role.TEAM_LEAD, lead=True)
    with time_machine.travel(datetime(2025, 1, 20, 11, 0, tzinfo=UTC), tick=False):
        referral_hold(referral_id=referral.pk, user=lead, reason="Patient in hospital")
    with time_machine.travel(datetime(2025, 1, 22, 11, 0, tzinfo=UTC), tick=False):
        resumed = referral_resume(referral_id=referral.pk, user=lead)
    assert resumed.status == ReferralStatus.QUEUED
    assert resumed.accept_by == datetime(2025, 1, 22, 12, 0, tzinfo=UTC)
    assert resumed.contact_by == datetime(2025, 1, 23, 16, 0, tzinfo=UTC)
