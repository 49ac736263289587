"""A carer's needs assessment (docs/triage.md, "A carer's needs assessment"): the priority rule,
recording one from the patient's page and reading it back."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from patients.carers import (
    CarerHealth,
    CarerOutcome,
    InvalidCarerAnswers,
    OutcomeAnswer,
    assessment_in_force,
    carer_assessment_suggest,
)
from patients.codes import Relationship
from patients.models import CarerAssessment, RelatedPerson
from spoc.audit.models import AccessLog
from tests.referrals.factories import PatientFactory, ReferralFactory, member
from tests.services.directory_fixtures import make_service

ALL_MANAGED = {o.value: OutcomeAnswer.ACHIEVED.value for o in CarerOutcome}


def answers(**changes: str) -> dict[str, str]:
    return {**ALL_MANAGED, **changes}


# --- The rule (pure) ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("health", "outcomes", "impact", "priority", "first_reason"),
    [
        (CarerHealth.DETERIORATING, answers(), False, "P3", "Carer's health getting worse → P3"),
        (
            CarerHealth.NO_CONCERN,
            answers(NUTRITION=OutcomeAnswer.ENDANGERED),
            False,
            "P3",
            "Eating well and keeping up their own nutrition: only by putting someone in danger → P3",
        ),
        (
            CarerHealth.AT_RISK,
            answers(HOME=OutcomeAnswer.NOT_ACHIEVED),
            True,
            "P4",
            "Carer's health at risk → P4",
        ),
        (
            CarerHealth.NO_CONCERN,
            answers(RECREATION=OutcomeAnswer.NOT_ACHIEVED),
            True,
            "P4",
            "Leisure and recreation: not achieved → P4",
        ),
        (
            CarerHealth.AT_RISK,
            answers(RECREATION=OutcomeAnswer.NOT_ACHIEVED),
            False,
            "P5",
            "needs without a significant impact on well-being → P5",
        ),
        (
            CarerHealth.NO_CONCERN,
            answers(CHILD_CARE=OutcomeAnswer.NOT_APPLICABLE),
            True,
            "P5",
            "no unmet needs → P5",
        ),
    ],
)
def test_the_rule_suggests_a_priority_with_its_reasons(
    health, outcomes, impact, priority, first_reason
):
    suggestion = carer_assessment_suggest(
        health=health, outcomes=outcomes, significant_impact=impact
    )

    assert suggestion.priority == priority
    assert suggestion.reasons[0] == first_reason
    assert all(reason.endswith(f"→ {priority}") for reason in suggestion.reasons)


def test_danger_lists_every_reason_and_the_health_first():
    suggestion = carer_assessment_suggest(
        health=CarerHealth.DETERIORATING,
        outcomes=answers(HOME=OutcomeAnswer.ENDANGERED, WORK_LEARNING=OutcomeAnswer.NOT_ACHIEVED),
        significant_impact=True,
    )

    assert suggestion.reasons == (
        "Carer's health getting worse → P3",
        "Keeping their home fit to live in: only by putting someone in danger → P3",
    )


@pytest.mark.parametrize(
    ("health", "outcomes"),
    [
        ("FINE", answers()),
        (CarerHealth.AT_RISK, {k: v for k, v in ALL_MANAGED.items() if k != "HOME"}),
        (CarerHealth.AT_RISK, answers(HOME="SOMETIMES")),
        (CarerHealth.AT_RISK, {**ALL_MANAGED, "PETS": OutcomeAnswer.ACHIEVED.value}),
    ],
)
def test_unknown_or_missing_answers_are_refused(health, outcomes):
    with pytest.raises(InvalidCarerAnswers):
        carer_assessment_suggest(health=health, outcomes=outcomes, significant_impact=True)


# --- The pages ----------------------------------------------------------------------------------


@pytest.fixture
def team(db):
    return make_service("Community Palliative Care", "COMMUNITY_SPC", open_24_7=True).team


@pytest.fixture
def carer(team):
    patient = PatientFactory()
    ReferralFactory(call__patient=patient, patient=patient, team=team, status="QUEUED")
    return RelatedPerson.objects.create(
        patient=patient,
        given_name="Siân",
        family_name="O'Brien",
        relationship=Relationship.SPOUSE_PARTNER,
        is_main_carer=True,
        created_at=timezone.now(),
    )


def form(**changes: str) -> dict[str, str]:
    data = {
        "assessment_date": "2026-12-01",
        "health": CarerHealth.AT_RISK,
        "significant_impact": "yes",
        "notes": "Not slept properly for a week",
        **{f"outcome_{k.lower()}": v for k, v in ALL_MANAGED.items()},
        "outcome_nutrition": OutcomeAnswer.NOT_ACHIEVED,
    }
    return {**data, **changes}


@time_machine.travel("2026-12-02T10:00:00+00:00", tick=False)
def test_a_nurse_records_an_assessment_and_reads_it_from_the_patient_page(
    client, make_user, team, carer
):
    nurse = member(make_user, team, "nurse1")
    client.force_login(nurse)
    patient_page = client.get(reverse("patients:detail", args=[carer.patient_id]))
    list_url = reverse("patients:carer-assessments", args=[carer.patient_id, carer.pk])
    assert list_url in patient_page.content.decode()

    response = client.post(
        reverse("patients:carer-assessment-new", args=[carer.patient_id, carer.pk]), form()
    )

    assert response["Location"] == list_url
    saved = CarerAssessment.objects.get()
    assert (saved.carer, saved.assessment_date, saved.assessed_by) == (
        carer,
        date(2026, 12, 1),
        nurse,
    )
    assert (saved.suggested_priority, saved.outcomes["NUTRITION"]) == ("P4", "NOT_ACHIEVED")
    assert AccessLog.objects.filter(
        object_type="carer_assessment", action=AccessLog.Action.CREATE
    ).exists()
    page = client.get(list_url).content.decode()
    assert "1 December 2026: suggests P4" in page
    assert "Carer&#x27;s health at risk → P4" in page
    assert "Not slept properly for a week" in page
    assert AccessLog.objects.filter(
        object_type="carer_assessment", action=AccessLog.Action.VIEW
    ).exists()


@time_machine.travel("2026-12-02T10:00:00+00:00", tick=False)
@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"assessment_date": "2026-12-25"}, "assessment_date", "today or in the past"),
        ({"assessment_date": "2024-12-01"}, "assessment_date", "last 12 months"),
        ({"outcome_home": ""}, "outcome_home", "Keeping their home fit to live in"),
        ({"health": "FINE"}, "health", ""),
        ({"notes": "x" * 2001}, "notes", "2000"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_saved(
    client, make_user, team, carer, changes, field, message
):
    client.force_login(member(make_user, team, "nurse1"))

    response = client.post(
        reverse("patients:carer-assessment-new", args=[carer.patient_id, carer.pk]),
        form(**{"notes": "<script>alert(1)</script>", **changes}),
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and message in str(errors[field])
    assert "<script>alert(1)</script>" not in response.content.decode()
    assert not CarerAssessment.objects.exists()


def test_a_handler_reads_but_does_not_record_and_another_patients_person_is_not_found(
    client, handler, carer
):
    client.force_login(handler)
    new = reverse("patients:carer-assessment-new", args=[carer.patient_id, carer.pk])
    assert client.get(new).status_code == 403
    other = PatientFactory()
    wrong = reverse("patients:carer-assessments", args=[other.pk, carer.pk])
    assert client.get(wrong).status_code == 404
    assert (
        client.get(reverse("patients:carer-assessments", args=[carer.patient_id, carer.pk]))
        .content.decode()
        .count('data-testid="no-carer-assessments"')
        == 1
    )


def test_an_assessment_is_in_force_for_90_days():
    today = date(2026, 12, 2)
    assert assessment_in_force(today - timedelta(days=90), today=today)
    assert not assessment_in_force(today - timedelta(days=91), today=today)
