"""BaRS messages as partner systems send them, for the contract tests: a referral from an NHS 111
provider to the service (the structure of the BaRS referral request: a MessageHeader first with
the servicerequest-request event and the reason new or update, focused on the ServiceRequest; the
ServiceRequest for the Patient, asked by a PractitionerRole of an Organization; observations of
symptoms), and its updates. All data is fictional; NHS numbers are from the 999 range."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from interop.codes import (
    BARS_EVENT_SYSTEM,
    BARS_REASON_SYSTEM,
    BARS_REFERRAL_REQUEST,
    FOCUS_EXTENSION,
    NHS_NUMBER_SYSTEM,
    ODS_CODE_SYSTEM,
    ROLE_CODE_SYSTEM,
    hub_system,
)

# A valid synthetic NHS number (check digit 3) and one whose check digit is wrong.
NHS_NUMBER = "9990001243"
BAD_NHS_NUMBER = "9990001244"


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def referral_message(
    *,
    reference: str = "111-CASE-0001",
    reason: str = "new",
    status: str = "active",
    priority: str | None = "asap",
    need: str | None = "URGENT_HOME_VISIT",
    nhs_number: str | None = NHS_NUMBER,
    given: str = "Siân",
    family: str = "O'Brien",
    birth_date: str = "1948-03-14",
    postcode: str = "L9 7AL",
    note: str = "Pain uncontrolled since this morning; family struggling.",
    breach: str | None = "2026-12-02T12:00:00+00:00",
    message_id: str | None = None,
    practice: str = "A81001",
) -> dict[str, Any]:
    """A BaRS referral request Bundle (``reason`` new or update)."""
    header, request, patient, role, person, organisation, observation = (_urn() for _ in range(7))
    patient_resource: dict[str, Any] = {
        "resourceType": "Patient",
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": "female",
        "birthDate": birth_date,
        "address": [{"line": ["12 Long Lane"], "city": "Liverpool", "postalCode": postcode}],
        "generalPractitioner": [
            {"identifier": {"system": ODS_CODE_SYSTEM, "value": practice}, "type": "Organization"}
        ],
    }
    if nhs_number is not None:
        patient_resource["identifier"] = [{"system": NHS_NUMBER_SYSTEM, "value": nhs_number}]
    service_request: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "identifier": [{"system": "https://111.example.nhs.uk/case", "value": reference}],
        "status": status,
        "intent": "plan",
        "category": [
            {
                "coding": [
                    {
                        "system": "https://fhir.nhs.uk/CodeSystem/message-category-servicerequest",
                        "code": "referral",
                    }
                ]
            }
        ],
        "subject": {"reference": patient},
        "authoredOn": "2026-12-02T09:55:00+00:00",
        "requester": {"reference": role},
        "supportingInfo": [{"reference": observation}],
    }
    if priority is not None:
        service_request["priority"] = priority
    if need is not None:
        service_request["code"] = {"coding": [{"system": hub_system("need"), "code": need}]}
    if note:
        service_request["note"] = [{"text": note}]
    if breach is not None:
        service_request["occurrencePeriod"] = {"start": "2026-12-02T10:00:00+00:00", "end": breach}
    header_id = message_id or str(uuid.uuid4())
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": "2026-12-02T10:00:00+00:00"},
        "type": "message",
        "timestamp": "2026-12-02T10:00:00+00:00",
        "entry": [
            {
                "fullUrl": header,
                "resource": {
                    "resourceType": "MessageHeader",
                    "id": header_id,
                    "eventCoding": {"system": BARS_EVENT_SYSTEM, "code": "servicerequest-request"},
                    "reason": {"coding": [{"system": BARS_REASON_SYSTEM, "code": reason}]},
                    "destination": [{"endpoint": "https://spoc.example.nhs.uk/fhir/R4/"}],
                    "source": {"endpoint": "https://111.example.nhs.uk/fhir"},
                    "focus": [{"reference": request}],
                    "definition": BARS_REFERRAL_REQUEST,
                },
            },
            {"fullUrl": request, "resource": service_request},
            {"fullUrl": patient, "resource": patient_resource},
            {
                "fullUrl": role,
                "resource": {
                    "resourceType": "PractitionerRole",
                    "practitioner": {"reference": person},
                    "organization": {"reference": organisation},
                    "code": [{"text": "Clinical advisor"}],
                },
            },
            {
                "fullUrl": person,
                "resource": {
                    "resourceType": "Practitioner",
                    "name": [{"family": "Nguyễn", "given": ["Thu"], "prefix": ["Dr"]}],
                },
            },
            {
                "fullUrl": organisation,
                "resource": {
                    "resourceType": "Organization",
                    "identifier": [{"system": ODS_CODE_SYSTEM, "value": "NLO01"}],
                    "name": "NHS 111 North West",
                },
            },
            {
                "fullUrl": observation,
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "Pain score"},
                    "subject": {"reference": patient},
                    "valueQuantity": {"value": 8, "unit": "out of 10"},
                },
            },
        ],
    }


def update_message(
    original: dict[str, Any], *, status: str = "active", note: str = "Now also vomiting."
) -> dict[str, Any]:
    """An update to ``original``'s referral: the same ServiceRequest identifier, a new message."""
    message = copy.deepcopy(original)
    message["id"] = str(uuid.uuid4())
    header = message["entry"][0]["resource"]
    header["id"] = str(uuid.uuid4())
    header["reason"]["coding"][0]["code"] = "update"
    request = message["entry"][1]["resource"]
    request["status"] = status
    request["note"] = [{"text": note}] if note else []
    if not note:
        del request["note"]
    message["entry"] = [
        e for e in message["entry"] if e["resource"]["resourceType"] != "Observation"
    ]
    request.pop("supportingInfo", None)
    return message


def for_relative(
    message: dict[str, Any],
    *,
    given: str = "Seán",
    family: str = "Nguyễn",
    relationship: tuple[str, str] = (ROLE_CODE_SYSTEM, "CHILD"),
    birth_date: str | None = "1975-06-01",
    postcode: str = "L20 3AB",
    phone: str = "07911 123456",
    contained: bool = False,
    need: str = "CARER_SUPPORT",
) -> dict[str, Any]:
    """``message`` (a new referral) asking ``need`` for the patient's relative: a RelatedPerson of
    the patient, in the Bundle (or contained in the ServiceRequest), as the ServiceRequest's focus
    (FHIR R5's ServiceRequest.focus, by HL7's cross-version extension)."""
    message = copy.deepcopy(message)
    request = message["entry"][1]["resource"]
    patient_url = request["subject"]["reference"]
    person: dict[str, Any] = {
        "resourceType": "RelatedPerson",
        "patient": {"reference": patient_url},
        "relationship": [{"coding": [{"system": relationship[0], "code": relationship[1]}]}],
        "name": [{"family": family, "given": [given]}],
        "telecom": [{"system": "phone", "value": phone}],
        "address": [{"postalCode": postcode}],
    }
    if birth_date is not None:
        person["birthDate"] = birth_date
    request["code"] = {"coding": [{"system": hub_system("need"), "code": need}]}
    if contained:
        person["id"] = "carer"
        request["contained"] = [person]
        reference = "#carer"
    else:
        reference = _urn()
        message["entry"].append({"fullUrl": reference, "resource": person})
    request["extension"] = [{"url": FOCUS_EXTENSION, "valueReference": {"reference": reference}}]
    return message
