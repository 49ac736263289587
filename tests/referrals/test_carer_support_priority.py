"""Carer support's priority follows the carer's latest needs assessment in force (docs/triage.md,
"A carer's needs assessment"): in the pure rules, in call_submit and on the call screen's live
suggestion, with the assessment named in the reason."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from calls.triage import CarerAssessed, TriageInput, suggest_need_priority
from patients.carers import CarerHealth, CarerOutcome, OutcomeAnswer
from patients.codes import Relationship
from patients.models import RelatedPerson
from patients.services import carer_assessment_record
from referrals.codes import CarerCoping
from referrals.models import Referral
from services.codes import Need
from spoc.accounts.roles import Role
from tests.referrals.factories import PatientFactory
from tests.referrals.test_call_screen import NEW, payload

pytestmark = pytest.mark.django_db

TODAY = "2026-12-02T10:00:00+00:00"
EXHAUSTED = CarerAssessed(
    who="O'BRIEN, Siân",
    assessment_date=date(2026, 11, 20),
    priority="P5",
    reason="no unmet needs → P5",
)


def test_the_assessments_priority_replaces_the_default_with_its_reason():
    suggestion = suggest_need_priority(TriageInput(), Need.CARER_SUPPORT, carer=EXHAUSTED)

    assert suggestion.priority == "P5"
    assert suggestion.reasons == (
        "Carer support: O'BRIEN, Siân's assessment of 20 November 2026: no unmet needs → P5",
    )


def test_a_crisis_tonight_still_raises_it_above_a_routine_assessment():
    crisis = TriageInput(carer_coping=CarerCoping.CRISIS_TONIGHT)

    suggestion = suggest_need_priority(crisis, Need.CARER_SUPPORT, carer=EXHAUSTED)

    assert suggestion.priority == "P3"
    assert suggestion.reasons[0] == "Carer support: carer in crisis tonight → P3"
    assert suggestion.reasons[1].endswith("no unmet needs → P5")


def test_clinical_needs_ignore_the_carers_assessment():
    urgent = CarerAssessed(who="X", assessment_date=date(2026, 12, 1), priority="P3", reason="r")
    assert suggest_need_priority(TriageInput(), Need.URGENT_HOME_VISIT, carer=urgent).priority == (
        "P5"
    )


@pytest.fixture
def family(make_user):
    patient = PatientFactory()
    people = {
        name: RelatedPerson.objects.create(
            patient=patient,
            given_name=name,
            family_name="Nguyễn",
            relationship=Relationship.CHILD,
            is_main_carer=main,
            created_at=timezone.now(),
        )
        for name, main in (("Mai", True), ("Seán", False))
    }
    nurse = make_user(Role.SPECIALIST_NURSE, username="assessor", is_clinician=True)
    return patient, people, nurse


def assess(carer, nurse, *, on: date, health: str) -> None:
    carer_assessment_record(
        carer=carer,
        user=nurse,
        assessment_date=on,
        health=health,
        outcomes={o.value: OutcomeAnswer.ACHIEVED.value for o in CarerOutcome},
        significant_impact=False,
    )


@time_machine.travel(TODAY, tick=False)
def test_the_saved_referral_takes_the_chosen_carers_latest_assessment(client, handler, family):
    patient, people, nurse = family
    assess(people["Seán"], nurse, on=date(2026, 10, 1), health=CarerHealth.NO_CONCERN)
    assess(people["Seán"], nurse, on=date(2026, 11, 25), health=CarerHealth.DETERIORATING)
    assess(people["Mai"], nurse, on=date(2026, 11, 30), health=CarerHealth.NO_CONCERN)
    client.force_login(handler)
    data = payload(patient, needs=["CARER_SUPPORT"], carer_coping="STRUGGLING", phase="")
    data |= {
        "for_person_carer_support": str(people["Seán"].pk),
        "for_person_consent_carer_support": "on",
    }

    assert client.post(NEW, data).status_code == 302

    referral = Referral.objects.select_related("call").get()
    assert referral.call is not None
    assert (referral.for_person, referral.suggested_priority, referral.priority) == (
        people["Seán"],
        "P3",
        "P3",
    )
    assert (
        "Carer support: NGUYỄN, Seán's assessment of 25 November 2026: Carer's health getting "
        "worse → P3"
    ) in referral.call.suggestion_reasons


@time_machine.travel(TODAY, tick=False)
def test_carer_support_for_the_patient_takes_the_main_carers_and_an_old_one_counts_for_nothing(
    client, handler, family
):
    patient, people, nurse = family
    # 92 days before: past the 90 days an assessment is in force.
    assess(people["Mai"], nurse, on=date(2026, 9, 1), health=CarerHealth.DETERIORATING)
    client.force_login(handler)
    suggestion = client.post(
        reverse("calls:suggestion"), payload(patient, carer_coping="STRUGGLING", phase="")
    ).content.decode()
    assert "Suggested <strong>P4</strong>: Carer support: default → P4" in suggestion

    assess(people["Mai"], nurse, on=date(2026, 11, 30), health=CarerHealth.NO_CONCERN)
    suggestion = client.post(
        reverse("calls:suggestion"), payload(patient, carer_coping="STRUGGLING", phase="")
    ).content.decode()
    assert (
        "Suggested <strong>P5</strong>: Carer support: NGUYỄN, Mai&#x27;s assessment of "
        "30 November 2026: no unmet needs → P5"
    ) in suggestion
