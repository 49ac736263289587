"""Patient read and search by NHS number (docs/interop.md, "Patient"), seen through the permission
selectors and written to the access log."""

from __future__ import annotations

from datetime import UTC, date, datetime
from urllib.parse import urlencode

import pytest

from interop.codes import NHS_NUMBER_STATUS_EXTENSION, NHS_NUMBER_STATUS_SYSTEM, NHS_NUMBER_SYSTEM
from patients.codes import NhsNumberStatus, Sex
from spoc.audit.models import AccessLog
from tests.interop.conftest import queued
from tests.interop.fhir import fhir_answer, fhir_get, resources_of
from tests.referrals.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_a_patient_reads_as_uk_core_with_the_nhs_number_and_its_trace_status(handler_api):
    patient = PatientFactory(
        nhs_number="9990000018",
        nhs_number_status=NhsNumberStatus.VERIFIED,
        given_name="Siân",
        family_name="Nguyễn",
        sex=Sex.FEMALE,
        date_of_birth=date(1948, 3, 14),
        address="1 Long Lane\nWalton",
        postcode="L9 7AL",
        phone="0151 496 0000",
        phone_alt="07700 900123",
    )
    body = fhir_get(handler_api, f"Patient/{patient.pk}")
    assert body["id"] == str(patient.pk)
    assert body["identifier"] == [
        {
            "extension": [
                {
                    "url": NHS_NUMBER_STATUS_EXTENSION,
                    "valueCodeableConcept": {
                        "coding": [{"system": NHS_NUMBER_STATUS_SYSTEM, "code": "01"}]
                    },
                }
            ],
            "system": NHS_NUMBER_SYSTEM,
            "value": "9990000018",
        }
    ]
    assert body["name"] == [{"use": "official", "family": "Nguyễn", "given": ["Siân"]}]
    assert (body["gender"], body["birthDate"]) == ("female", "1948-03-14")
    assert body["address"] == [
        {"use": "home", "line": ["1 Long Lane", "Walton"], "postalCode": "L9 7AL"}
    ]
    assert body["telecom"] == [
        {"system": "phone", "value": "+441514960000", "use": "home"},
        {"system": "phone", "value": "+447700900123", "use": "home"},
    ]
    assert "deceasedDateTime" not in body


def test_a_patient_who_died_says_when_and_one_without_a_number_has_no_identifier(handler_api):
    died = PatientFactory(died_at=datetime(2026, 5, 1, 3, 30, tzinfo=UTC))
    assert (
        fhir_get(handler_api, f"Patient/{died.pk}")["deceasedDateTime"]
        == "2026-05-01T03:30:00+00:00"
    )
    unknown = PatientFactory(nhs_number=None, nhs_number_status=NhsNumberStatus.TRACE_REQUIRED)
    assert "identifier" not in fhir_get(handler_api, f"Patient/{unknown.pk}")


def test_a_read_is_logged_as_the_patient_opened(handler_api, handler):
    patient = PatientFactory()
    fhir_get(handler_api, f"Patient/{patient.pk}")
    row = AccessLog.objects.get(action=AccessLog.Action.VIEW, object_type="patient")
    assert (row.user, row.patient_id, row.object_id) == (handler, patient.pk, str(patient.pk))


@pytest.mark.parametrize("value", ["https://fhir.nhs.uk/Id/nhs-number|9990000018", "9990000018"])
def test_search_by_nhs_number_finds_the_patient_and_logs_the_count_only(
    handler_api, handler, value
):
    patient = PatientFactory(nhs_number="9990000018")
    PatientFactory()
    body = fhir_get(handler_api, "Patient", {"identifier": value})
    assert body["total"] == 1
    assert [r["id"] for r in resources_of(body)] == [str(patient.pk)]
    assert body["entry"][0]["fullUrl"] == f"http://testserver/fhir/R4/Patient/{patient.pk}"
    row = AccessLog.objects.get(action=AccessLog.Action.SEARCH, object_type="patient")
    assert (row.user, row.detail, row.patient_id) == (handler, {"results": 1}, None)
    assert "9990000018" not in str(row.detail) + row.reason


def test_search_by_post_keeps_the_number_out_of_the_address(handler_api):
    patient = PatientFactory(nhs_number="9990000018")
    response = handler_api.post(
        "/fhir/R4/Patient/_search",
        urlencode({"identifier": f"{NHS_NUMBER_SYSTEM}|9990000018"}),
        content_type="application/x-www-form-urlencoded",
    )
    body = fhir_answer(response, 200)
    assert [r["id"] for r in resources_of(body)] == [str(patient.pk)]
    assert "9990000018" not in response.wsgi_request.get_full_path()


def test_another_identifier_system_or_an_unknown_number_finds_no_one(handler_api):
    PatientFactory(nhs_number="9990000018")
    for value in ("https://example.org/mrn|9990000018", "|9990000018", "9990000026"):
        body = fhir_get(handler_api, "Patient", {"identifier": value})
        assert (body["total"], body.get("entry", [])) == (0, [])
    assert (
        AccessLog.objects.filter(
            action=AccessLog.Action.SEARCH, object_type="patient", detail={"results": 0}
        ).count()
        == 3
    )


def test_a_nurse_reads_her_teams_patients_only_and_others_are_not_found(
    nurse_api, team, other_team
):
    hers = queued(team).patient
    theirs = queued(other_team).patient
    assert fhir_get(nurse_api, f"Patient/{hers.pk}")["id"] == str(hers.pk)
    body = fhir_get(nurse_api, f"Patient/{theirs.pk}", status=404)
    assert body["issue"][0]["code"] == "not-found"
    missing = fhir_get(nurse_api, "Patient/999999", status=404)
    # Not hers and not there answer alike: the API never says a record exists.
    assert missing == body
    assert fhir_get(nurse_api, "Patient", {"identifier": theirs.nhs_number})["total"] == 0
    assert fhir_get(nurse_api, "Patient", {"identifier": hers.nhs_number})["total"] == 1
    assert not AccessLog.objects.filter(action=AccessLog.Action.VIEW, patient_id=theirs.pk).exists()
