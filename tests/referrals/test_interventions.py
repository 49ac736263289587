"""Interventions and clinical review assessments recorded on a referral."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from patients.models import Assessment
from referrals.actions import ActionNotPermitted
from referrals.models import Intervention, Referral, ReferralEvent
from referrals.services.claims import referral_claim
from referrals.services.interventions import assessment_record, intervention_record
from referrals.transitions import IllegalAction, ReferralStatus
from spoc.accounts.models import User
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from tests.clock import WEEKDAY_MORNING
from tests.referrals.factories import CallFactory, ReferralFactory, member
from tests.services.directory_fixtures import every_day, make_service

pytestmark = pytest.mark.django_db


def claimed(team, nurse):
    now = timezone.now()
    referral = ReferralFactory(
        team=team,
        status=ReferralStatus.QUEUED,
        contact_by=now + timedelta(hours=2),
        accept_by=now + timedelta(minutes=15),
        call=CallFactory(received_at=now - timedelta(hours=1)),
    )
    return referral_claim(referral_id=referral.pk, user=nurse)


def visit(
    referral: Referral,
    user: User,
    *,
    kind: str = "HOME_VISIT",
    at: datetime | None = None,
    notes: str = "Syringe driver set up",
    admission_avoided: bool = True,
    bed_days_saved: int | None = 4,
) -> Intervention:
    """A home visit five minutes ago that avoided an admission, unless the arguments say otherwise."""
    return intervention_record(
        referral_id=referral.pk,
        user=user,
        kind=kind,
        at=at or timezone.now() - timedelta(minutes=5),
        notes=notes,
        admission_avoided=admission_avoided,
        bed_days_saved=bed_days_saved,
    )


def test_an_intervention_is_recorded_with_its_event_and_log(make_user, team):
    nurse = member(make_user, team, "nurse1")
    referral = claimed(team, nurse)
    intervention = visit(referral, nurse)
    assert (intervention.kind, intervention.by, intervention.bed_days_saved) == (
        "HOME_VISIT",
        nurse,
        4,
    )
    event = ReferralEvent.objects.get(referral=referral, kind="INTERVENTION")
    assert event.data["intervention_id"] == intervention.pk and event.data["bed_days_saved"] == 4
    assert (event.from_status, event.to_status) == ("ACCEPTED", "ACCEPTED")
    assert (
        AccessLog.objects.filter(
            object_type="referral", object_id=str(referral.pk), detail__action="intervention"
        ).count()
        == 1
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kind": "MAGIC"}, "kind"),
        # Callables are read when the test runs, not when the suite is collected.
        ({"at": lambda: timezone.now() + timedelta(days=1)}, "at"),
        ({"at": lambda: timezone.now() - timedelta(days=400)}, "at"),
        ({"admission_avoided": False, "bed_days_saved": 3}, "bed_days_saved"),
        ({"admission_avoided": True, "bed_days_saved": None}, "bed_days_saved"),
        ({"bed_days_saved": 0}, "bed_days_saved"),
        ({"bed_days_saved": 366}, "bed_days_saved"),
        ({"notes": "x" * 2001}, "notes"),
        ({"notes": "bad\x00byte"}, "notes"),
    ],
)
def test_bad_intervention_input_is_a_field_error_and_saves_nothing(
    make_user, team, overrides, field
):
    nurse = member(make_user, team, "nurse1")
    referral = claimed(team, nurse)
    overrides = {name: value() if callable(value) else value for name, value in overrides.items()}
    with pytest.raises(ValidationError) as exc:
        visit(referral, nurse, **overrides)
    assert list(exc.value.message_dict) == [field]
    assert not Intervention.objects.exists()
    assert not ReferralEvent.objects.filter(kind="INTERVENTION").exists()


def test_an_intervention_needs_the_owner_or_a_lead_and_a_claimed_referral(make_user, team):
    nurse, colleague = member(make_user, team, "nurse1"), member(make_user, team, "nurse2")
    lead = member(make_user, team, "lead1", role=Role.TEAM_LEAD, lead=True)
    referral = claimed(team, nurse)
    with pytest.raises(ActionNotPermitted):
        visit(referral, colleague)
    assert visit(referral, lead, admission_avoided=False, bed_days_saved=None).by == lead
    waiting = ReferralFactory(team=team, status=ReferralStatus.QUEUED)
    with pytest.raises(IllegalAction):
        visit(waiting, lead)
    other = make_service("Hospice at Home", "HOSPICE_AT_HOME", hours=every_day(8, 22)).team
    outsider = member(make_user, other, "nurse3")
    with pytest.raises(Referral.DoesNotExist):
        visit(referral, outsider)
    assert Intervention.objects.count() == 1


def test_an_assessment_is_a_clinician_review_of_the_patient(make_user, team):
    nurse = member(make_user, team, "nurse1")
    referral = claimed(team, nurse)
    assessment = assessment_record(
        referral_id=referral.pk,
        user=nurse,
        phase="DETERIORATING",
        akps=40,
        ipos={"PAIN": 3, "BREATHLESSNESS": 0, "FAMILY_ANXIETY": ""},
    )
    assert (assessment.patient_id, assessment.source, assessment.akps) == (
        referral.patient_id,
        "CLINICIAN_REVIEW",
        40,
    )
    assert assessment.ipos == {"PAIN": 3, "BREATHLESSNESS": 0}
    event = ReferralEvent.objects.get(referral=referral, kind="ASSESSED")
    assert event.data["assessment_id"] == assessment.pk


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"akps": 35}, "akps"),
        ({"akps": 110}, "akps"),
        ({"phase": "SLEEPY"}, "phase"),
        ({"ipos": {"PAIN": 5}}, "ipos_PAIN"),
        ({"ipos": {"PAIN": -1}}, "ipos_PAIN"),
        ({"ipos": {"HAPPINESS": 2}}, "ipos"),
        ({}, "phase"),
    ],
)
def test_bad_assessment_input_is_refused(make_user, team, kwargs, field):
    nurse = member(make_user, team, "nurse1")
    referral = claimed(team, nurse)
    with pytest.raises(ValidationError) as exc:
        assessment_record(referral_id=referral.pk, user=nurse, **kwargs)
    assert list(exc.value.message_dict) == [field]
    assert not Assessment.objects.exists()


# The page takes a wall-clock time: in the hour the clocks go back, "10 minutes ago" is ambiguous
# and refused whatever else the form holds.
@time_machine.travel(WEEKDAY_MORNING, tick=True)
def test_intervention_and_assessment_through_the_page(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    referral = claimed(team, nurse)
    client.force_login(nurse)
    when = (timezone.localtime() - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M")
    url = reverse("queue:action", args=[referral.pk, "intervention"])
    bad = client.post(
        url, {"kind": "HOME_VISIT", "at": when, "admission_avoided": "on", "bed_days_saved": "400"}
    )
    assert (
        bad.status_code == 400
        and "Ensure this value is less than or equal to 365" in bad.content.decode()
    )
    missing = client.post(url, {"kind": "HOME_VISIT", "at": when, "admission_avoided": "on"})
    assert missing.status_code == 400 and "Estimate the bed days saved" in missing.content.decode()
    assert not Intervention.objects.exists()
    client.post(
        url,
        {
            "kind": "HOME_VISIT",
            "at": when,
            "admission_avoided": "on",
            "bed_days_saved": "3",
            "primary_care_contact_avoided": "on",
            "notes": "Seen with Siân O'Brien",
        },
    )
    saved = Intervention.objects.get()
    assert saved.primary_care_contact_avoided and saved.bed_days_saved == 3
    event = ReferralEvent.objects.get(referral=referral, kind="INTERVENTION")
    assert event.data["primary_care_contact_avoided"] is True
    client.post(
        reverse("queue:action", args=[referral.pk, "assess"]),
        {"phase": "UNSTABLE", "akps": "30", "ipos_PAIN": "4"},
    )
    content = client.get(reverse("queue:referral", args=[referral.pk])).content.decode()
    assert 'data-testid="referral-interventions"' in content and "Yes, 3 bed days" in content
    assert "Seen with Siân O&#x27;Brien" in content
    assert (
        'data-testid="referral-assessments"' in content
        and "Pain 4" in content
        and "Unstable" in content
    )
