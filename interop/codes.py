"""The FHIR R4 API's fixed values (docs/interop.md): the version and formats it speaks, the UK Core
profiles its resources claim, the national identifier systems, and the systems of the hub's own
code lists (docs/reference.md "Our code lists").

The hub's own lists have no national code system, so their codings name a URN of the hub's
(``urn:spoc-hub:<list>``): the same in every deployment, never resolvable, and documented in
docs/interop.md ("Code systems")."""

from __future__ import annotations

FHIR_VERSION = "4.0.1"
FHIR_JSON = "application/fhir+json"
# What `_format` may name (FHIR R4 http.html, "Content Types and encodings"); "json" means FHIR
# JSON. XML and Turtle are not offered: the answer to them is 406.
JSON_FORMATS = frozenset({"json", FHIR_JSON, "application/json"})

UK_CORE = "https://fhir.hl7.org.uk/StructureDefinition/"
PROFILES: dict[str, str] = {
    name: f"{UK_CORE}UKCore-{name}"
    for name in (
        "Patient",
        "ServiceRequest",
        "Task",
        "HealthcareService",
        "Organization",
        "Location",
        "RelatedPerson",
    )
}

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_CODE_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
# UK Core: how far the NHS number has been traced (NHS Data Dictionary NHS NUMBER STATUS
# INDICATOR CODE; the hub stores the same codes, patients/codes.py NhsNumberStatus).
NHS_NUMBER_STATUS_EXTENSION = f"{UK_CORE}Extension-UKCore-NHSNumberVerificationStatus"
NHS_NUMBER_STATUS_SYSTEM = (
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland"
)

# BaRS (the Booking and Referral Standard): what a message is (its MessageHeader.eventCoding)
# and whether it is new or an update to something the receiver has (MessageHeader.reason).
BARS_EVENT_SYSTEM = "https://fhir.nhs.uk/CodeSystem/message-events-bars"
BARS_REASON_SYSTEM = "https://fhir.nhs.uk/CodeSystem/message-reason-bars"
# The BaRS MessageDefinition of a referral request, which the hub receives.
BARS_REFERRAL_REQUEST = (
    "https://fhir.nhs.uk/MessageDefinition/bars-message-servicerequest-request-referral"
)
# FHIR R4's $process-message operation.
PROCESS_MESSAGE_DEFINITION = "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message"

# Whom a ServiceRequest is for when not its subject, the patient (docs/interop.md, "A referral for
# a carer or relative"): FHIR R5's ServiceRequest.focus ("someone associated with the subject such
# as a spouse, parent"), carried in R4 by HL7's cross-version extension, its valueReference a
# RelatedPerson.
FOCUS_EXTENSION = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ServiceRequest.focus"
# HL7 v3 RoleCode: the personal relationships a RelatedPerson's relationship may be coded with.
ROLE_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"

# FHIR R4 task-code: the Task asks for its focus, the ServiceRequest, to be fulfilled.
TASK_CODE_SYSTEM = "http://hl7.org/fhir/CodeSystem/task-code"
# FHIR R4 location-physical-type: a site is a building.
LOCATION_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/location-physical-type"


def hub_system(name: str) -> str:
    """The system of one of the hub's own lists: need, priority, referral-status, service-type,
    organisation-type, task-input, referral (the REF- number), site (a site's code),
    relationship and related-person (a related person's id)."""
    return f"urn:spoc-hub:{name}"
