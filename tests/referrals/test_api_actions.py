"""Referral actions in the API: the same services as the page, 404 when not visible, 403 when the
role may not, 409 when not allowed now, 400 with field errors for bad input, FHIR Task status in
the answer."""

from __future__ import annotations

import pytest

from referrals.models import Intervention, Referral, ReferralEvent
from services.codes import ServiceType
from services.models import TeamMembership
from spoc.accounts.roles import Role
from tests.clients import api_client
from tests.referrals.builders import queued
from tests.referrals.factories import member
from tests.services.directory_fixtures import always_open_area, every_day, make_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def area():
    return {
        **always_open_area(),
        "hah": make_service("Hospice at Home", ServiceType.HOSPICE_AT_HOME, hours=every_day(0, 23)),
    }


def url(referral, action):
    return f"/api/v1/referrals/{referral.pk}/{action}/"


def test_claim_contact_and_complete_through_the_api(make_user, area):
    referral = queued(area["community"].team)
    nurse = member(make_user, area["community"].team, "nurse1")
    api = api_client(nurse)
    claimed = api.post(url(referral, "claim"), {}, format="json")
    assert claimed.status_code == 200
    assert (claimed.json()["status"], claimed.json()["fhir_task_status"]) == (
        "ACCEPTED",
        "accepted",
    )
    assert "contact" in claimed.json()["actions"]
    other = member(make_user, area["community"].team, "nurse2")
    conflict = api_client(other).post(url(referral, "claim"), {}, format="json")
    assert conflict.status_code == 409
    assert conflict.json()["detail"].startswith("Already claimed by")
    assert api.post(url(referral, "contact"), {}, format="json").json()["status"] == "IN_PROGRESS"
    bad = api.post(url(referral, "complete"), {"outcome": "FINE"}, format="json")
    assert bad.status_code == 400
    assert "outcome" in bad.json()
    done = api.post(url(referral, "complete"), {"outcome": "NEEDS_MET"}, format="json")
    assert (done.json()["status"], done.json()["fhir_task_status"], done.json()["outcome"]) == (
        "COMPLETED",
        "completed",
        "NEEDS_MET",
    )


def test_decline_hold_resume_and_reprioritise_through_the_api(make_user, area):
    referral = queued(area["community"].team)
    nurse = member(make_user, area["community"].team, "nurse1")
    api = api_client(nurse)
    api.post(url(referral, "claim"), {}, format="json")
    no_reason = api.post(url(referral, "hold"), {"reason": ""}, format="json")
    assert no_reason.status_code == 400
    assert no_reason.json() == {
        "reason": ["This is required: say why."],
        "code": "invalid",
        "detail": "Invalid input: see the field errors.",
    }
    held = api.post(url(referral, "hold"), {"reason": "In hospital"}, format="json")
    assert (held.json()["status"], held.json()["fhir_task_status"], held.json()["hold_reason"]) == (
        "ON_HOLD",
        "on-hold",
        "In hospital",
    )
    assert api.post(url(referral, "resume"), {}, format="json").json()["status"] == "ACCEPTED"
    changed = api.post(
        url(referral, "reprioritise"), {"priority": "P3", "reason": "Settled"}, format="json"
    )
    assert changed.json()["priority"] == "P3"
    declined = api.post(url(referral, "decline"), {"reason": "NO_CAPACITY"}, format="json")
    assert declined.status_code == 200
    assert declined.json()["status"] == "AWAITING_ROUTING"
    assert (
        Referral.objects.get(pk=referral.pk).events.filter(kind=ReferralEvent.Kind.DECLINED).count()
        == 1
    )


def test_route_by_hand_through_the_api_and_the_refusals(make_user, area):
    referral = queued(area["spoc"].team)
    coordinator = make_user(Role.SPOC_COORDINATOR, username="coord")
    api = api_client(coordinator)
    assert (
        api.post(
            url(referral, "reroute"), {"reason": "x", "team": 10**12}, format="json"
        ).status_code
        == 400
    )
    moved = api.post(
        url(referral, "reroute"),
        {"reason": "Duty nurse agreed", "team": area["hah"].team.pk},
        format="json",
    )
    assert moved.status_code == 200
    assert moved.json()["team"]["name"] == "Hospice at Home team"
    assert moved.json()["routing_attempt"] == 1
    # A nurse of another team does not see it: 404, not 403, so nothing leaks.
    outsider = member(make_user, area["community"].team, "outsider")
    assert api_client(outsider).post(url(referral, "claim"), {}, format="json").status_code == 404
    # A nurse of its team may not route by hand: 403 with the reason.
    insider = member(make_user, area["hah"].team, "insider")
    refused = api_client(insider).post(
        url(referral, "reroute"), {"reason": "x", "team": area["community"].team.pk}, format="json"
    )
    assert refused.status_code == 403
    assert "Route by hand" in refused.json()["detail"]


def test_unknown_actions_and_ids_are_404(make_user, area):
    referral = queued(area["community"].team)
    coordinator = make_user(Role.SPOC_COORDINATOR, username="coord")
    api = api_client(coordinator)
    assert api.post(url(referral, "explode"), {}, format="json").status_code == 404
    assert api.post(f"/api/v1/referrals/{2**70}/claim/", {}, format="json").status_code == 404
    assert api.post("/api/v1/referrals/999999/claim/", {}, format="json").status_code == 404
    assert api.get(url(referral, "claim")).status_code == 405


def test_the_nurse_actions_through_the_api(make_user, area):
    referral = queued(area["community"].team)
    nurse = member(make_user, area["community"].team, "nurse1")
    colleague = member(make_user, area["community"].team, "nurse2")
    lead = make_user(Role.TEAM_LEAD, username="lead", is_clinician=True)
    TeamMembership.objects.create(
        user=lead, team=area["community"].team, role=TeamMembership.Role.LEAD
    )
    api = api_client(nurse)
    api.post(url(referral, "claim"), {}, format="json")
    api.post(url(referral, "contact"), {}, format="json")
    visit = api.post(
        url(referral, "intervention"),
        {
            "kind": "HOME_VISIT",
            "admission_avoided": True,
            "bed_days_saved": 3,
            "primary_care_contact_avoided": True,
            "notes": "<script>x</script>",
        },
        format="json",
    )
    assert visit.status_code == 200
    assert Intervention.objects.get(referral=referral).primary_care_contact_avoided is True
    not_a_flag = api.post(
        url(referral, "intervention"),
        {"kind": "PHONE_ADVICE", "primary_care_contact_avoided": "perhaps"},
        format="json",
    )
    assert not_a_flag.status_code == 400
    assert "primary_care_contact_avoided" in not_a_flag.json()
    bad_visit = api.post(
        url(referral, "intervention"), {"kind": "HOME_VISIT", "bed_days_saved": 3}, format="json"
    )
    assert bad_visit.status_code == 400
    assert "bed_days_saved" in bad_visit.json()
    assessed = api.post(
        url(referral, "assess"), {"phase": "DYING", "akps": 30, "ipos": {"PAIN": 2}}, format="json"
    )
    assert assessed.status_code == 200
    assert api.post(url(referral, "assess"), {"akps": 35}, format="json").status_code == 400
    moved = api_client(lead).post(
        url(referral, "reassign"), {"to_user": colleague.pk}, format="json"
    )
    assert moved.json()["owner"] == colleague.get_username()
    done = api_client(colleague).post(
        url(referral, "complete"), {"outcome": "NEEDS_MET"}, format="json"
    )
    assert done.json()["status"] == "COMPLETED"
    assert api.post(url(referral, "reopen"), {"note": ""}, format="json").status_code == 400
    reopened = api.post(url(referral, "reopen"), {"note": "Family rang again"}, format="json")
    assert (reopened.json()["status"], reopened.json()["routing_attempt"]) == ("QUEUED", 1)
    cancelled = api_client(lead).post(
        url(referral, "cancel"), {"reason": "Admitted to hospice"}, format="json"
    )
    assert (cancelled.json()["status"], cancelled.json()["fhir_task_status"]) == (
        "CANCELLED",
        "cancelled",
    )
    assert (
        api_client(lead)
        .post(url(referral, "enter_in_error"), {"reason": "x"}, format="json")
        .status_code
        == 409
    )
