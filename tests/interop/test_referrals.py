"""A referral as a ServiceRequest and a Task (docs/interop.md, "ServiceRequest", "Task"): read and
search through `referrals_visible_to`, with the statuses and priorities of the hub's own maps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from interop.codes import hub_system
from referrals.models import Referral
from referrals.transitions import FHIR_REQUEST_STATUS, FHIR_TASK_STATUS, ReferralStatus
from services.codes import CLOCKS, CallerType, Need, Priority
from spoc.audit.models import AccessLog
from tests.interop.conftest import queued
from tests.interop.fhir import fhir_get, resources_of
from tests.referrals.factories import PatientFactory, ReferralFactory

pytestmark = pytest.mark.django_db

ACCEPT_BY = datetime(2026, 6, 10, 10, 45, tzinfo=UTC)
CONTACT_BY = datetime(2026, 6, 10, 12, 30, tzinfo=UTC)


@pytest.fixture
def referral(team):
    return queued(
        team,
        need=Need.URGENT_HOME_VISIT,
        priority=Priority.P2,
        note="Pain out of control.",
        call__caller_type=CallerType.GP,
        call__caller_organisation="Walton Surgery",
        accept_by=ACCEPT_BY,
        contact_by=CONTACT_BY,
    )


def test_a_referral_reads_as_a_uk_core_service_request(handler_api, referral, team):
    body = fhir_get(handler_api, f"ServiceRequest/{referral.pk}")
    assert (body["status"], body["intent"], body["priority"]) == ("active", "order", "asap")
    assert body["code"] == {
        "coding": [
            {
                "system": hub_system("need"),
                "code": "URGENT_HOME_VISIT",
                "display": "Urgent home visit",
            }
        ],
        "text": "Urgent home visit",
    }
    assert body["subject"] == {"reference": f"Patient/{referral.patient_id}"}
    assert body["authoredOn"] == referral.created_at.astimezone(UTC).isoformat()
    assert body["requester"] == {"display": "GP, Walton Surgery"}
    assert body["performer"] == [
        {"reference": f"HealthcareService/{team.service_id}", "display": team.name}
    ]
    assert body["note"] == [{"text": "Pain out of control."}]
    assert body["identifier"] == [
        {"system": hub_system("referral"), "value": f"REF-{referral.pk:06d}"}
    ]


def test_a_referral_reads_as_a_task_with_its_owner_deadlines_and_the_hubs_own_status(
    handler_api, referral, team
):
    body = fhir_get(handler_api, f"Task/{referral.pk}")
    assert (body["status"], body["intent"], body["priority"]) == ("ready", "order", "asap")
    assert body["businessStatus"] == {
        "coding": [
            {"system": hub_system("referral-status"), "code": "QUEUED", "display": "Queued"}
        ],
        "text": "Queued",
    }
    assert body["focus"] == {"reference": f"ServiceRequest/{referral.pk}"}
    assert body["for"] == {"reference": f"Patient/{referral.patient_id}"}
    assert body["owner"] == {
        "reference": f"HealthcareService/{team.service_id}",
        "display": team.name,
    }
    assert body["restriction"] == {"period": {"end": "2026-06-10T12:30:00+00:00"}}
    assert [(i["type"]["coding"][0]["code"], i["valueDateTime"]) for i in body["input"]] == [
        ("accept-by", "2026-06-10T10:45:00+00:00"),
        ("contact-by", "2026-06-10T12:30:00+00:00"),
    ]


@pytest.mark.parametrize("status", ReferralStatus.values)
def test_every_status_maps_through_the_hubs_two_maps(handler_api, team, status):
    fields: dict[str, object] = {"owner": None}
    if status in (ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS):
        fields = {"owner": PatientFactory().created_by, "accepted_at": timezone.now()}
    referral = queued(team, **fields)
    Referral.objects.filter(pk=referral.pk).update(
        status=status,
        hold_reason="Admitted to hospital" if status == ReferralStatus.ON_HOLD else "",
    )
    assert (
        fhir_get(handler_api, f"ServiceRequest/{referral.pk}")["status"]
        == FHIR_REQUEST_STATUS[status]
    )
    task = fhir_get(handler_api, f"Task/{referral.pk}")
    assert (task["status"], task["businessStatus"]["coding"][0]["code"]) == (
        FHIR_TASK_STATUS[status],
        status,
    )
    if status == ReferralStatus.ON_HOLD:
        assert task["statusReason"] == {"text": "Admitted to hospital"}


@pytest.mark.parametrize("priority", Priority.values)
def test_every_priority_maps_to_the_fhir_priority_kept_with_its_clock(handler_api, team, priority):
    referral = queued(team, priority=priority)
    expected = {"P1": "stat", "P2": "asap", "P3": "urgent", "P4": "urgent", "P5": "routine"}[
        priority
    ]
    assert CLOCKS[priority].fhir_priority == expected
    assert fhir_get(handler_api, f"ServiceRequest/{referral.pk}")["priority"] == expected
    assert fhir_get(handler_api, f"Task/{referral.pk}")["priority"] == expected


def test_a_referral_awaiting_routing_has_no_owner_nor_performer_and_one_without_a_call_no_requester(
    handler_api,
):
    now = timezone.now()
    referral = ReferralFactory(
        call=None,
        patient=PatientFactory(),
        clock_started_at=now,
        created_at=now,
        created_by=PatientFactory().created_by,
    )
    request = fhir_get(handler_api, f"ServiceRequest/{referral.pk}")
    assert "performer" not in request and "requester" not in request
    task = fhir_get(handler_api, f"Task/{referral.pk}")
    assert "owner" not in task and "restriction" not in task and "input" not in task


def test_search_by_patient_or_subject_is_one_look_up_of_the_record(
    handler_api, handler, team, other_team
):
    patient = PatientFactory()
    first = queued(team, patient=patient, created_at=timezone.now() - timedelta(hours=1))
    second = queued(other_team, patient=patient)
    queued(team)
    for params in (
        {"patient": patient.pk},
        {"patient": f"Patient/{patient.pk}"},
        {"subject": f"Patient/{patient.pk}"},
        {"subject": f"Patient/{patient.pk}", "patient": patient.pk},
    ):
        body = fhir_get(handler_api, "ServiceRequest", params)
        assert [r["id"] for r in resources_of(body)] == [str(second.pk), str(first.pk)]
    rows = AccessLog.objects.filter(action=AccessLog.Action.SEARCH, object_type="referral")
    assert [(r.user, r.patient_id, r.detail) for r in rows] == [
        (handler, patient.pk, {"results": 2})
    ] * 4
    assert (
        fhir_get(
            handler_api,
            "ServiceRequest",
            {"subject": f"Patient/{patient.pk}", "patient": PatientFactory().pk},
        )["total"]
        == 0
    )


def test_tasks_search_by_focus_owner_and_patient(handler_api, team, other_team, referral):
    elsewhere = queued(other_team)
    by_focus = fhir_get(handler_api, "Task", {"focus": f"ServiceRequest/{referral.pk}"})
    assert [r["id"] for r in resources_of(by_focus)] == [str(referral.pk)]
    by_team = fhir_get(handler_api, "Task", {"owner": f"HealthcareService/{other_team.service_id}"})
    assert [r["id"] for r in resources_of(by_team)] == [str(elsewhere.pk)]
    by_organisation = fhir_get(
        handler_api, "Task", {"owner": f"Organization/{team.service.organisation_id}"}
    )
    assert [r["id"] for r in resources_of(by_organisation)] == [str(referral.pk)]
    by_patient = fhir_get(handler_api, "Task", {"patient": f"Patient/{elsewhere.patient_id}"})
    assert [r["id"] for r in resources_of(by_patient)] == [str(elsewhere.pk)]
    # A focus that is no ServiceRequest is a task of nothing.
    assert fhir_get(handler_api, "Task", {"focus": f"Patient/{referral.patient_id}"})["total"] == 0
    assert (
        AccessLog.objects.filter(action=AccessLog.Action.LIST, object_type="referral_list").count()
        == 4
    )


def test_a_nurse_sees_only_her_teams_referrals_and_the_rest_are_not_found(
    nurse_api, nurse, team, other_team
):
    hers = queued(team)
    theirs = queued(other_team)
    assert fhir_get(nurse_api, f"Task/{hers.pk}")["id"] == str(hers.pk)
    for path in (f"Task/{theirs.pk}", f"ServiceRequest/{theirs.pk}"):
        assert fhir_get(nurse_api, path, status=404)["issue"][0]["code"] == "not-found"
    assert [r["id"] for r in resources_of(fhir_get(nurse_api, "Task"))] == [str(hers.pk)]
    assert fhir_get(nurse_api, "ServiceRequest", {"patient": theirs.patient_id})["total"] == 0
    assert (
        fhir_get(nurse_api, "Task", {"owner": f"HealthcareService/{other_team.service_id}"})[
            "total"
        ]
        == 0
    )
    assert not AccessLog.objects.filter(
        action=AccessLog.Action.VIEW, object_id=str(theirs.pk)
    ).exists()
    view = AccessLog.objects.get(action=AccessLog.Action.VIEW, object_type="referral")
    assert (view.user, view.object_id, view.patient_id) == (nurse, str(hers.pk), hers.patient_id)
