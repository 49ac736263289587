"""The hub's records as FHIR R4 resources (docs/interop.md): plain functions from rows already
read to the JSON a client receives, with no query of their own. Each resource claims its UK Core
profile; a reference names the resource the API serves for it (`Patient/<id>`,
`HealthcareService/<service id>` for a team, whose service is its one row in the directory).

A referral is two resources: the ServiceRequest (what was asked for whom, how urgently) and the
Task that tracks the work on it (who holds it, its status, its deadlines); both carry the
referral's id."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time
from typing import Any

from django.core.exceptions import ObjectDoesNotExist

from interop.codes import (
    FOCUS_EXTENSION,
    LOCATION_TYPE_SYSTEM,
    NHS_NUMBER_STATUS_EXTENSION,
    NHS_NUMBER_STATUS_SYSTEM,
    NHS_NUMBER_SYSTEM,
    ODS_CODE_SYSTEM,
    PROFILES,
    ROLE_CODE_SYSTEM,
    TASK_CODE_SYSTEM,
    hub_system,
)
from patients.codes import Relationship
from patients.models import Patient, RelatedPerson
from patients.names import display_name
from referrals.models import Referral
from referrals.transitions import FHIR_REQUEST_STATUS, FHIR_TASK_STATUS, ReferralStatus
from services.codes import CLOCKS, CallerType, Need, OrganisationType, ServiceStatus, ServiceType
from services.models import Organisation, Service, Site, Team
from spoc.core.api import api_iso

Resource = dict[str, Any]

# The hub's relationships as HL7 v3 RoleCode personal relationships, where one means the same
# (a paid carer and "other" have none: the hub's own code says it).
ROLE_CODE_OF_RELATIONSHIP: dict[str, tuple[str, str]] = {
    Relationship.SPOUSE_PARTNER: ("SPS", "spouse"),
    Relationship.CHILD: ("CHILD", "child"),
    Relationship.PARENT: ("PRN", "parent"),
    Relationship.SIBLING: ("SIB", "sibling"),
    Relationship.OTHER_RELATIVE: ("FAMMEMB", "family member"),
    Relationship.FRIEND: ("FRND", "unrelated friend"),
    Relationship.NEIGHBOUR: ("NBOR", "neighbor"),
}
# The id of the RelatedPerson contained in a ServiceRequest for one (referenced "#for-person").
FOR_PERSON_ID = "for-person"

# FHIR R4 days-of-week, Monday first as OpeningHours.weekday counts.
DAYS_OF_WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _meta(resource_type: str, last_updated: datetime | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"profile": [PROFILES[resource_type]]}
    if last_updated is not None:
        meta["lastUpdated"] = api_iso(last_updated)
    return meta


def _coded(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _contact(value: object) -> str:
    """A phone in E.164 (+441514960000, stored so by django-phonenumber-field), an email as it is."""
    return str(getattr(value, "as_e164", None) or value or "")


def _telecom(*points: tuple[str, object], use: str = "work") -> list[dict[str, str]]:
    """FHIR ContactPoints from (system, value) pairs, blanks left out, each value once."""
    seen: list[dict[str, str]] = []
    for system, value in points:
        text = _contact(value)
        if text and not any(point["value"] == text for point in seen):
            seen.append({"system": system, "value": text, "use": use})
    return seen


def _team_reference(team: Team) -> dict[str, str]:
    return {"reference": f"HealthcareService/{team.service_id}", "display": team.name}


def patient_resource(patient: Patient) -> Resource:
    """UK Core Patient: the NHS number with how far it is traced, name, sex, date of birth, the
    home address and phones, and the moment of death once recorded. Access information (key
    safes and the like) stays on the hub's own screens."""
    resource: Resource = {
        "resourceType": "Patient",
        "id": str(patient.pk),
        "meta": _meta("Patient", patient.updated_at),
    }
    if patient.nhs_number:
        resource["identifier"] = [
            {
                "extension": [
                    {
                        "url": NHS_NUMBER_STATUS_EXTENSION,
                        "valueCodeableConcept": {
                            "coding": [
                                {
                                    "system": NHS_NUMBER_STATUS_SYSTEM,
                                    "code": patient.nhs_number_status,
                                }
                            ]
                        },
                    }
                ],
                "system": NHS_NUMBER_SYSTEM,
                "value": patient.nhs_number,
            }
        ]
    resource["name"] = [
        {"use": "official", "family": patient.family_name, "given": [patient.given_name]}
    ]
    telecom = _telecom(("phone", patient.phone), ("phone", patient.phone_alt), use="home")
    if telecom:
        resource["telecom"] = telecom
    resource["gender"] = patient.sex  # Sex holds FHIR administrative-gender codes.
    resource["birthDate"] = patient.date_of_birth.isoformat()
    if patient.died_at is not None:
        resource["deceasedDateTime"] = api_iso(patient.died_at)
    address: dict[str, Any] = {"use": "home"}
    lines = [line.strip() for line in patient.address.splitlines() if line.strip()]
    if lines:
        address["line"] = lines
    if patient.postcode:
        address["postalCode"] = patient.postcode
    if len(address) > 1:
        resource["address"] = [address]
    return resource


def related_person_resource(person: RelatedPerson, *, resource_id: str) -> Resource:
    """UK Core RelatedPerson: the patient they are related to, how (the hub's code, with HL7 v3
    RoleCode's where one means the same, and next of kin), name, phone, postcode and date of
    birth: what routing and the team use to reach them."""
    relationship: dict[str, Any] = {
        "coding": [
            {
                "system": hub_system("relationship"),
                "code": person.relationship,
                "display": Relationship(person.relationship).label,
            }
        ],
        "text": Relationship(person.relationship).label,
    }
    national = ROLE_CODE_OF_RELATIONSHIP.get(person.relationship)
    if national is not None:
        relationship["coding"].append(
            {"system": ROLE_CODE_SYSTEM, "code": national[0], "display": national[1]}
        )
    roles = [relationship]
    if person.is_next_of_kin:
        roles.append(
            {"coding": [{"system": ROLE_CODE_SYSTEM, "code": "NOK", "display": "next of kin"}]}
        )
    resource: Resource = {
        "resourceType": "RelatedPerson",
        "id": resource_id,
        "meta": _meta("RelatedPerson"),
        "identifier": [{"system": hub_system("related-person"), "value": str(person.pk)}],
        "active": True,
        "patient": {"reference": f"Patient/{person.patient_id}"},
        "relationship": roles,
        "name": [{"family": person.family_name, "given": [person.given_name]}],
    }
    telecom = _telecom(("phone", person.phone), ("phone", person.phone_alt), use="home")
    if telecom:
        resource["telecom"] = telecom
    if person.date_of_birth is not None:
        resource["birthDate"] = person.date_of_birth.isoformat()
    if person.postcode:
        resource["address"] = [{"use": "home", "postalCode": person.postcode}]
    return resource


def _for_person(referral: Referral, resource: Resource) -> None:
    """A referral for a carer or relative: the person, contained, as the ServiceRequest's focus
    (FOCUS_EXTENSION); its subject stays the patient (docs/interop.md)."""
    person = referral.for_person
    if person is None:
        return
    resource["contained"] = [related_person_resource(person, resource_id=FOR_PERSON_ID)]
    resource["extension"] = [
        {
            "url": FOCUS_EXTENSION,
            "valueReference": {
                "reference": f"#{FOR_PERSON_ID}",
                "type": "RelatedPerson",
                "display": display_name(person.given_name, person.family_name),
            },
        }
    ]


def _requester(referral: Referral) -> dict[str, str] | None:
    """Who asked: the caller's type and organisation (never a name: a relative's is personal
    data), for a referral made by a call; None for one the hub made itself (bereavement support
    after a death)."""
    call = referral.call
    if call is None:
        return None
    who = CallerType(call.caller_type).label
    return {"display": f"{who}, {call.caller_organisation}" if call.caller_organisation else who}


def service_request_resource(referral: Referral) -> Resource:
    """UK Core ServiceRequest for a referral: the need as its code, the FHIR priority of the
    hub's priority (services/codes.py CLOCKS), the status from FHIR_REQUEST_STATUS, the patient,
    when it was made, who asked, the team that holds it and, for a carer or relative, that person
    as its focus. Reads ``referral.call``, ``referral.team`` and ``referral.for_person``: select
    them with the referral."""
    resource: Resource = {
        "resourceType": "ServiceRequest",
        "id": str(referral.pk),
        "meta": _meta("ServiceRequest", referral.updated_at),
    }
    _for_person(referral, resource)
    resource |= {
        "identifier": [{"system": hub_system("referral"), "value": f"REF-{referral.pk:06d}"}],
        "status": FHIR_REQUEST_STATUS[referral.status],
        "intent": "order",
        "priority": CLOCKS[referral.priority].fhir_priority,
        "code": _coded(hub_system("need"), referral.need, Need(referral.need).label),
        "subject": {"reference": f"Patient/{referral.patient_id}"},
        "authoredOn": api_iso(referral.created_at),
    }
    requester = _requester(referral)
    if requester is not None:
        resource["requester"] = requester
    if referral.team is not None:
        resource["performer"] = [_team_reference(referral.team)]
    if referral.note:
        resource["note"] = [{"text": referral.note}]
    return resource


def _status_reason(referral: Referral) -> str:
    if referral.status == ReferralStatus.ON_HOLD:
        return referral.hold_reason
    if referral.status == ReferralStatus.CANCELLED:
        return referral.cancel_reason
    return ""


def task_resource(referral: Referral) -> Resource:
    """UK Core Task for the work on a referral: the FHIR Task status (FHIR_TASK_STATUS) and the
    hub's own status as its business status, the team that holds it as owner, the
    ServiceRequest as focus, the first-contact deadline as the restriction's end and both
    deadlines as inputs. Reads ``referral.team``: select it with the referral."""
    resource: Resource = {
        "resourceType": "Task",
        "id": str(referral.pk),
        "meta": _meta("Task", referral.updated_at),
        "identifier": [{"system": hub_system("referral"), "value": f"REF-{referral.pk:06d}"}],
        "basedOn": [{"reference": f"ServiceRequest/{referral.pk}"}],
        "status": FHIR_TASK_STATUS[referral.status],
    }
    reason = _status_reason(referral)
    if reason:
        resource["statusReason"] = {"text": reason}
    resource.update(
        {
            "businessStatus": _coded(
                hub_system("referral-status"),
                referral.status,
                ReferralStatus(referral.status).label,
            ),
            "intent": "order",
            "priority": CLOCKS[referral.priority].fhir_priority,
            "code": {"coding": [{"system": TASK_CODE_SYSTEM, "code": "fulfill"}]},
            "focus": {"reference": f"ServiceRequest/{referral.pk}"},
            "for": {"reference": f"Patient/{referral.patient_id}"},
            "authoredOn": api_iso(referral.created_at),
            "lastModified": api_iso(referral.updated_at),
        }
    )
    if referral.accepted_at is not None:
        resource["executionPeriod"] = {"start": api_iso(referral.accepted_at)}
        if referral.closed_at is not None and referral.closed_at >= referral.accepted_at:
            resource["executionPeriod"]["end"] = api_iso(referral.closed_at)
    if referral.team is not None:
        resource["owner"] = _team_reference(referral.team)
    if referral.contact_by is not None:
        resource["restriction"] = {"period": {"end": api_iso(referral.contact_by)}}
    inputs = [
        {"type": _coded(hub_system("task-input"), code, label), "valueDateTime": api_iso(moment)}
        for code, label, moment in (
            ("accept-by", "Accept by", referral.accept_by),
            ("contact-by", "First contact by", referral.contact_by),
        )
        if moment is not None
    ]
    if inputs:
        resource["input"] = inputs
    return resource


def _fhir_time(value: time) -> str:
    return value.strftime("%H:%M:%S")


def _available_times(service: Service, hours: Iterable[Any]) -> list[dict[str, Any]]:
    """Weekly opening as FHIR availableTime. A window past midnight (closing at or before it
    opens) is two: from its opening on its day with no end, then from midnight to its closing
    on the next day (FHIR times stop at 23:59:59)."""
    if service.open_24_7:
        return [{"daysOfWeek": list(DAYS_OF_WEEK), "allDay": True}]
    available: list[dict[str, Any]] = []
    for window in hours:
        day = DAYS_OF_WEEK[window.weekday]
        if window.closes_at > window.opens_at:
            available.append(
                {
                    "daysOfWeek": [day],
                    "availableStartTime": _fhir_time(window.opens_at),
                    "availableEndTime": _fhir_time(window.closes_at),
                }
            )
            continue
        available.append({"daysOfWeek": [day], "availableStartTime": _fhir_time(window.opens_at)})
        if window.closes_at != time(0):
            available.append(
                {
                    "daysOfWeek": [DAYS_OF_WEEK[(window.weekday + 1) % 7]],
                    "availableStartTime": "00:00:00",
                    "availableEndTime": _fhir_time(window.closes_at),
                }
            )
    return available


def healthcare_service_resource(service: Service) -> Resource:
    """UK Core HealthcareService for a service of the directory (and its intake team, whose
    queue a Task's owner names): its organisation, type, the hospital sites it serves, phones
    and email (the service's, then the team's duty line), weekly opening. Inactive services are
    not active; a temporarily closed one still is, with the closure said in its exceptions.
    Reads the service's organisation, team, sites and opening hours: select and prefetch them."""
    try:
        team: Team | None = service.team
    except ObjectDoesNotExist:
        team = None
    resource: Resource = {
        "resourceType": "HealthcareService",
        "id": str(service.pk),
        "meta": _meta("HealthcareService"),
        "active": service.status != ServiceStatus.INACTIVE,
        "providedBy": {
            "reference": f"Organization/{service.organisation_id}",
            "display": service.organisation.name,
        },
        "type": [
            _coded(
                hub_system("service-type"),
                service.service_type,
                ServiceType(service.service_type).label,
            )
        ],
        "name": service.name,
    }
    sites = [
        {"reference": f"Location/{site.pk}", "display": site.name} for site in service.sites.all()
    ]
    if sites:
        resource["location"] = sites
    if service.description:
        resource["extraDetails"] = service.description
    telecom = _telecom(
        ("phone", service.phone),
        ("email", service.email),
        ("phone", team.duty_phone if team else ""),
        ("email", team.duty_email if team else ""),
    )
    if telecom:
        resource["telecom"] = telecom
    available = _available_times(service, service.opening_hours.all())
    if available:
        resource["availableTime"] = available
    if service.status == ServiceStatus.TEMPORARILY_CLOSED:
        resource["availabilityExceptions"] = "Temporarily closed."
    return resource


def organization_resource(organisation: Organisation) -> Resource:
    """UK Core Organization: the ODS code, name and the hub's organisation type."""
    return {
        "resourceType": "Organization",
        "id": str(organisation.pk),
        "meta": _meta("Organization"),
        "identifier": [{"system": ODS_CODE_SYSTEM, "value": organisation.ods_code}],
        "active": True,
        "type": [
            _coded(
                hub_system("organisation-type"),
                organisation.org_type,
                OrganisationType(organisation.org_type).label,
            )
        ],
        "name": organisation.name,
    }


def location_resource(site: Site) -> Resource:
    """UK Core Location for a site (a hospital or hospice building): its code, name, postcode and
    the organisation that runs it."""
    resource: Resource = {
        "resourceType": "Location",
        "id": str(site.pk),
        "meta": _meta("Location"),
        "identifier": [{"system": hub_system("site"), "value": site.code}],
        "status": "active",
        "name": site.name,
        "mode": "instance",
        "physicalType": {
            "coding": [{"system": LOCATION_TYPE_SYSTEM, "code": "bu", "display": "Building"}]
        },
    }
    if site.postcode:
        resource["address"] = {"postalCode": site.postcode}
    resource["managingOrganization"] = {
        "reference": f"Organization/{site.organisation_id}",
        "display": site.organisation.name,
    }
    return resource


def operation_outcome(*, code: str, diagnostics: str, severity: str = "error") -> Resource:
    """An OperationOutcome with one issue (FHIR R4 issue-type ``code``: not-found, invalid,
    not-supported, login, forbidden, throttled, transient, exception)."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }


def searchset(
    *,
    base: str,
    self_url: str,
    resources: list[Resource],
    total: int | None,
    next_url: str | None = None,
) -> Resource:
    """A searchset Bundle of ``resources`` (one page of the matches), with its self link, the
    next page's link when there is one, and ``total`` when it is known (Bundle.total is 0..1)."""
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        **({"total": total} if total is not None else {}),
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base}{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }
