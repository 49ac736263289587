"""BaRS referrals in (docs/interop.md, "Referrals in"): a partner system posts a message Bundle to
`$process-message`; the hub reads it, checks it, finds or registers the patient, makes or updates
the referral and answers with a response message, or with an OperationOutcome that names the
element it cannot accept.

Each message is handled once: the answer is kept under the message's id (its X-Request-ID, else
the Bundle's id), so the same message sent again gets the same answer and another message under
the same id is refused (409)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from fhir.resources.R4B.bundle import Bundle
from phonenumber_field.phonenumber import to_python
from pydantic import ValidationError as ModelError

from interop.codes import (
    BARS_EVENT_SYSTEM,
    BARS_REASON_SYSTEM,
    FOCUS_EXTENSION,
    NHS_NUMBER_STATUS_EXTENSION,
    NHS_NUMBER_STATUS_SYSTEM,
    NHS_NUMBER_SYSTEM,
    ODS_CODE_SYSTEM,
    ROLE_CODE_SYSTEM,
    hub_system,
)
from interop.models import InboundMessage
from interop.resources import (
    ROLE_CODE_OF_RELATIONSHIP,
    Resource,
    service_request_resource,
    task_resource,
)
from patients.codes import NhsNumberStatus, Relationship, Sex
from patients.models import RelatedPerson
from patients.services import PatientData, patient_for_message, related_person_for_message
from referrals.models import Referral
from referrals.services.electronic import (
    SenderUpdate,
    SentReferral,
    referral_receive,
    referral_sender_update,
)
from services.codes import PERSON_NEEDS, Need, Priority
from spoc.accounts.models import PartnerSystem
from spoc.core.api import DomainConflict, api_iso

MESSAGE_KEY_MAX = 64
REQUEST_EVENT = "servicerequest-request"
RESPONSE_EVENT = "servicerequest-response"
NEW, UPDATE = "new", "update"

# docs/interop.md, "Urgency": the ServiceRequest's FHIR priority to the hub's priority. P4 has
# no FHIR value of its own: a sender that means "soon" says `urgent` and gets the same day.
PRIORITY_OF_FHIR: dict[str, str] = {
    "stat": Priority.P1,
    "asap": Priority.P2,
    "urgent": Priority.P3,
    "routine": Priority.P5,
}
# docs/interop.md, "What is asked": a need the hub cannot map is sent to the coordinators,
# labelled with this placeholder until one of them routes it by hand.
UNMAPPED_NEED = Need.SPECIALIST_FOLLOW_UP
# The ServiceRequest statuses by which a sender withdraws its request.
WITHDRAWN = {"revoked": "withdrew the request", "entered-in-error": "sent the request in error"}
GENDER_SEX = {"male": Sex.MALE, "female": Sex.FEMALE, "other": Sex.OTHER}

# Where each field the patient services check is in the message.
PATIENT_ELEMENTS = {
    "nhs_number": "Patient.identifier",
    "nhs_number_status": "Patient.identifier",
    "given_name": "Patient.name.given",
    "family_name": "Patient.name.family",
    "date_of_birth": "Patient.birthDate",
    "postcode": "Patient.address.postalCode",
    "address": "Patient.address",
    "phone": "Patient.telecom",
}
# Where each field of a related person is in the message.
RELATED_PERSON_ELEMENTS = {
    "given_name": "RelatedPerson.name.given",
    "family_name": "RelatedPerson.name.family",
    "date_of_birth": "RelatedPerson.birthDate",
    "postcode": "RelatedPerson.address.postalCode",
    "address": "RelatedPerson.address",
    "phone": "RelatedPerson.telecom",
    "relationship": "RelatedPerson.relationship",
}
RELATIONSHIP_OF_ROLE_CODE = {code: ours for ours, (code, _) in ROLE_CODE_OF_RELATIONSHIP.items()}
REFERRAL_ELEMENTS = {
    "note": "ServiceRequest.note",
    "sender_requester": "ServiceRequest.requester",
    "patient": "ServiceRequest.subject",
}
# A breach time further than this from now is a mistake (or a year typed wrong).
BREACH_WITHIN = timedelta(days=366)


class Refusal(Exception):
    """What the hub cannot accept in a message: an HTTP status and an OperationOutcome issue that
    names the element (a FHIRPath expression)."""

    def __init__(self, status: int, code: str, element: str, diagnostics: str) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.element = element
        self.diagnostics = diagnostics

    def outcome(self) -> Resource:
        issue: dict[str, Any] = {"severity": "error", "code": self.code}
        if self.element:
            issue["expression"] = [self.element]
        issue["diagnostics"] = self.diagnostics
        return {"resourceType": "OperationOutcome", "issue": [issue]}


def _unacceptable(element: str, diagnostics: str, code: str = "invalid") -> Refusal:
    return Refusal(422, code, element, diagnostics)


@dataclass(frozen=True)
class Answer:
    status: int
    body: Resource


def message_process(*, partner: PartnerSystem, body: bytes, request_id: str, base: str) -> Answer:
    """Handle one message from ``partner`` (``base``: the hub's FHIR base URL, for references
    in the answer). Never raises for what the partner sent: every refusal is an Answer."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return Answer(400, _unacceptable("", "The body is not JSON.").outcome())
    except RecursionError:
        return Answer(400, _unacceptable("", "The body is nested too deeply.").outcome())
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        return Answer(422, _unacceptable("Bundle", "Send a message Bundle.").outcome())
    if _has_nul(data):
        # FHIR's strings hold no NUL, and PostgreSQL can store none (not even in the answer kept).
        return Answer(
            422,
            _unacceptable("Bundle", "Text in a message may not hold the NUL character.").outcome(),
        )
    key = (request_id or str(data.get("id") or "")).strip()
    if not key:
        return Answer(
            422, _unacceptable("Bundle.id", "A message needs an id (or an X-Request-ID).").outcome()
        )
    if len(key) > MESSAGE_KEY_MAX or not key.isprintable():
        return Answer(
            422,
            _unacceptable(
                "Bundle.id",
                f"A message id is at most {MESSAGE_KEY_MAX} characters, with no control characters.",
            ).outcome(),
        )
    try:
        digest = hashlib.sha256(
            json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
    except RecursionError:
        return Answer(400, _unacceptable("", "The body is nested too deeply.").outcome())
    earlier = InboundMessage.objects.filter(partner=partner, message_key=key).first()
    if earlier is not None:
        return _repeat(earlier, digest)
    # The same message again under another request id (a gateway that makes a new one for each
    # retry): the first answer, not a second referral.
    same = InboundMessage.objects.filter(partner=partner, digest=digest).first()
    if same is not None:
        return Answer(same.status_code, same.response)
    try:
        with transaction.atomic():
            event, answer, referral = _handle(partner=partner, data=data, key=key, base=base)
            InboundMessage.objects.create(
                partner=partner,
                message_key=key,
                digest=digest,
                received_at=timezone.now(),
                event=event,
                status_code=answer.status,
                response=answer.body,
                referral=referral,
            )
        return answer
    except Refusal as refusal:
        answer = Answer(refusal.status, refusal.outcome())
    except IntegrityError:
        # The same id taken by a message handled at the same moment.
        earlier = InboundMessage.objects.filter(partner=partner, message_key=key).first()
        if earlier is None:
            raise
        return _repeat(earlier, digest)
    try:
        with transaction.atomic():
            InboundMessage.objects.create(
                partner=partner,
                message_key=key,
                digest=digest,
                received_at=timezone.now(),
                event="",
                status_code=answer.status,
                response=answer.body,
            )
    except IntegrityError:
        earlier = InboundMessage.objects.filter(partner=partner, message_key=key).first()
        if earlier is not None:
            return _repeat(earlier, digest)
    return answer


def _has_nul(data: Any) -> bool:
    """Whether a NUL character is anywhere in the parsed JSON, keys included (without
    recursion: a message may be nested deeply)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _repeat(earlier: InboundMessage, digest: str) -> Answer:
    if earlier.digest == digest:
        return Answer(earlier.status_code, earlier.response)
    return Answer(
        409,
        Refusal(
            409,
            "duplicate",
            "Bundle.id",
            "Another message was already received with this id: give each message its own.",
        ).outcome(),
    )


class _Message:
    """A message Bundle that passed the FHIR model's checks, with its references resolved."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.by_url: dict[str, dict[str, Any]] = {}
        for entry in data.get("entry") or []:
            resource = entry.get("resource") or {}
            for url in (entry.get("fullUrl"), _local_url(resource)):
                if url:
                    self.by_url[url] = resource

    def find(self, reference: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """The resource in the message a Reference points to, if any. An absolute reference
        (https://host/fhir/Patient/1) is found by its type and id."""
        url = str((reference or {}).get("reference") or "")
        return self.by_url.get(url) or self.by_url.get("/".join(url.split("/")[-2:]))

    def resolve(
        self, reference: Mapping[str, Any] | None, element: str, *types: str
    ) -> dict[str, Any]:
        """The resource a Reference points to, which must be in the message and one of
        ``types``; refused (naming ``element``) otherwise."""
        found = self.find(reference)
        if found is None:
            raise _unacceptable(element, f"{element} must refer to a resource in the message.")
        if found.get("resourceType") not in types:
            raise _unacceptable(element, f"{element} must refer to a {' or '.join(types)}.")
        return found

    def all_of(self, resource_type: str) -> list[dict[str, Any]]:
        return [
            entry.get("resource") or {}
            for entry in self.data.get("entry") or []
            if (entry.get("resource") or {}).get("resourceType") == resource_type
        ]


def _local_url(resource: Mapping[str, Any]) -> str:
    if resource.get("resourceType") and resource.get("id"):
        return f"{resource['resourceType']}/{resource['id']}"
    return ""


def _handle(
    *, partner: PartnerSystem, data: dict[str, Any], key: str, base: str
) -> tuple[str, Answer, Referral]:
    """Check the message and act on it, inside the caller's transaction. Raises Refusal."""
    try:
        Bundle.model_validate(data)
    except RecursionError as exc:
        raise _unacceptable(
            "Bundle", "The message is nested too deeply.", code="structure"
        ) from exc
    except ModelError as exc:
        first = exc.errors()[0]
        raise _unacceptable(
            _element(data, first["loc"]), _plain(first["msg"]), code="structure"
        ) from exc
    if data.get("type") != "message":
        raise _unacceptable("Bundle.type", "The Bundle's type must be message.")
    message = _Message(data)
    entries = data.get("entry") or []
    header = (entries[0].get("resource") or {}) if entries else {}
    if header.get("resourceType") != "MessageHeader":
        raise _unacceptable("Bundle.entry[0]", "A message starts with its MessageHeader.")
    event = header.get("eventCoding") or {}
    if event.get("system") != BARS_EVENT_SYSTEM or event.get("code") != REQUEST_EVENT:
        raise _unacceptable(
            "MessageHeader.eventCoding",
            f"This service takes referrals: the event is {REQUEST_EVENT} of {BARS_EVENT_SYSTEM}.",
            code="not-supported",
        )
    reason = _code_in(header.get("reason"), BARS_REASON_SYSTEM)
    if reason not in (NEW, UPDATE):
        raise _unacceptable(
            "MessageHeader.reason",
            f"The reason must be {NEW} or {UPDATE}, of {BARS_REASON_SYSTEM}.",
            code="code-invalid",
        )
    focus = (header.get("focus") or [None])[0]
    request = message.resolve(focus, "MessageHeader.focus", "ServiceRequest")
    reference = _reference_of(request)
    message_id = str(header.get("id") or key)[:MESSAGE_KEY_MAX]
    note = _note(message, request)
    if reason == UPDATE:
        status = request.get("status") or ""
        withdrawn = WITHDRAWN.get(status, "")
        cancel_reason = ""
        if withdrawn:
            cancel_reason = f"{partner.name} {withdrawn}" + (f": {note}" if note else ".")
        try:
            referral = referral_sender_update(
                update=SenderUpdate(
                    sender=partner,
                    reference=reference,
                    message_id=message_id,
                    note=note,
                    cancel_reason=cancel_reason,
                )
            )
        except Referral.DoesNotExist as exc:
            raise Refusal(
                404,
                "not-found",
                "ServiceRequest.identifier",
                "You sent no referral with this identifier: send it as new.",
            ) from exc
        except ValidationError as exc:
            raise _unacceptable("ServiceRequest.note", _first_message(exc)) from exc
        return UPDATE, _response(referral, header=header, key=key, base=base), referral
    if request.get("status") != "active":
        raise _unacceptable("ServiceRequest.status", "A new referral's status must be active.")
    patient_resource = message.resolve(request.get("subject"), "ServiceRequest.subject", "Patient")
    priority = PRIORITY_OF_FHIR.get(request.get("priority") or "")
    if priority is None:
        raise _unacceptable(
            "ServiceRequest.priority",
            "The urgency must be one of routine, urgent, asap or stat (FHIR request-priority).",
            code="code-invalid",
        )
    need, coordinators_reason = _need_of(request)
    person_resource = _for_person_of(message, request, subject=patient_resource)
    if person_resource is not None and need not in PERSON_NEEDS:
        raise _unacceptable(
            "ServiceRequest.extension",
            "Only carer support and bereavement support can be for a related person: send the "
            "patient's own care for the patient, without a focus.",
            code="business-rule",
        )
    try:
        patient = patient_for_message(
            data=_patient_data(patient_resource, message=message), partner=partner
        )
        for_person = (
            _related_person(patient, person_resource) if person_resource is not None else None
        )
        referral = referral_receive(
            patient=patient,
            sent=SentReferral(
                sender=partner,
                reference=reference,
                message_id=message_id,
                requester=_requester(message, request, partner)[:300],
                need=need,
                priority=priority,
                note=note,
                breach_at=_breach_at(request),
                coordinators_reason=coordinators_reason,
                for_person=for_person,
            ),
        )
    except ValidationError as exc:
        field, text = _first_error(exc)
        element = PATIENT_ELEMENTS.get(field) or REFERRAL_ELEMENTS.get(field) or "Bundle"
        raise _unacceptable(element, text) from exc
    except DomainConflict as exc:
        raise Refusal(409, "duplicate", "ServiceRequest.identifier", str(exc)) from exc
    return NEW, _response(referral, header=header, key=key, base=base), referral


def _for_person_of(
    message: _Message, request: Mapping[str, Any], *, subject: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The RelatedPerson the request is for (docs/interop.md, "A referral for a carer or
    relative"): the valueReference of its one FOCUS_EXTENSION, to a RelatedPerson in the message
    or contained in the ServiceRequest (``#id``), whose patient is the ServiceRequest's subject.
    None when the request has no focus: it is for the patient. Refused otherwise."""
    element = "ServiceRequest.extension"
    focus = [e for e in request.get("extension") or [] if e.get("url") == FOCUS_EXTENSION]
    if not focus:
        return None
    if len(focus) > 1:
        raise _unacceptable(element, "A referral is for one person: give one focus.")
    reference = focus[0].get("valueReference")
    if not reference:
        raise _unacceptable(element, "The focus must be a valueReference to a RelatedPerson.")
    url = str(reference.get("reference") or "")
    if url.startswith("#"):
        found = next((r for r in request.get("contained") or [] if f"#{r.get('id')}" == url), None)
        if found is None or found.get("resourceType") != "RelatedPerson":
            raise _unacceptable(
                element, "The focus must refer to a RelatedPerson contained in the ServiceRequest."
            )
    else:
        found = message.resolve(reference, element, "RelatedPerson")
    if message.find(found.get("patient")) is not subject:
        raise _unacceptable(
            "RelatedPerson.patient",
            "The related person must be related to the ServiceRequest's subject, the patient.",
        )
    return found


def _related_person(patient: Any, resource: Mapping[str, Any]) -> RelatedPerson:
    """The patient's related person the resource names, matched or registered; a problem with
    what it says is refused naming its element."""
    try:
        return related_person_for_message(patient=patient, values=_related_person_data(resource))
    except ValidationError as exc:
        field, text = _first_error(exc)
        raise _unacceptable(RELATED_PERSON_ELEMENTS.get(field, "RelatedPerson"), text) from exc


def _related_person_data(resource: Mapping[str, Any]) -> dict[str, Any]:
    """A RelatedPerson as the values of the hub's record (patients.services.related_person_save):
    the relationship by the hub's code, else HL7 v3 RoleCode's, else "Other"; NOK makes them
    next of kin."""
    name: dict[str, Any] = next(
        (n for n in resource.get("name") or [] if n.get("use") in (None, "official", "usual")),
        {},
    )
    codings = [
        coding
        for concept in resource.get("relationship") or []
        for coding in (concept or {}).get("coding") or []
    ]
    relationship = next(
        (
            str(c["code"])
            for c in codings
            if c.get("system") == hub_system("relationship")
            and c.get("code") in Relationship.values
        ),
        None,
    ) or next(
        (
            RELATIONSHIP_OF_ROLE_CODE[c["code"]]
            for c in codings
            if c.get("system") == ROLE_CODE_SYSTEM and c.get("code") in RELATIONSHIP_OF_ROLE_CODE
        ),
        Relationship.OTHER,
    )
    address = (resource.get("address") or [{}])[0]
    phone = next(
        (t.get("value") for t in resource.get("telecom") or [] if t.get("system") == "phone"), ""
    )
    return {
        "given_name": " ".join(name.get("given") or []),
        "family_name": str(name.get("family") or ""),
        "relationship": relationship,
        "is_next_of_kin": any(
            c.get("system") == ROLE_CODE_SYSTEM and c.get("code") == "NOK" for c in codings
        ),
        # UK numbers as a sender writes them, national or E.164 (invalid ones are refused).
        "phone": to_python(phone, region="GB") if phone else "",
        "address": ", ".join([*(address.get("line") or []), address.get("city") or ""]).strip(", ")[
            :500
        ],
        "postcode": str(address.get("postalCode") or ""),
        "date_of_birth": parse_date(str(resource.get("birthDate") or "")),
    }


def _element(data: dict[str, Any], loc: tuple[Any, ...]) -> str:
    """A pydantic location as FHIRPath, from the resource it is in: ('entry', 2, 'resource',
    'name', 0, 'family') in a Patient is Patient.name[0].family; Bundle.<path> outside them."""
    path = "Bundle"
    parts = list(loc)
    if len(parts) > 3 and parts[0] == "entry" and parts[2] == "resource":
        entries = data.get("entry")
        entry = entries[parts[1]] if isinstance(entries, list) else None
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and isinstance(resource.get("resourceType"), str):
            path, parts = resource["resourceType"], parts[3:]
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _plain(text: str) -> str:
    text = text.removeprefix("Value error, ").strip()
    return text if text.endswith(".") else f"{text}."


def _code_in(concept: Mapping[str, Any] | None, system: str) -> str:
    for coding in (concept or {}).get("coding") or []:
        if coding.get("system") == system:
            return str(coding.get("code") or "")
    return ""


def _reference_of(request: Mapping[str, Any]) -> str:
    identifiers = request.get("identifier") or []
    value = next((i.get("value") for i in identifiers if i.get("value")), None) or request.get("id")
    if not value:
        raise _unacceptable(
            "ServiceRequest.identifier",
            "The ServiceRequest needs an identifier: its updates will name it.",
            code="required",
        )
    if len(str(value)) > MESSAGE_KEY_MAX or not str(value).isprintable():
        raise _unacceptable(
            "ServiceRequest.identifier",
            f"An identifier is at most {MESSAGE_KEY_MAX} characters, with no control characters.",
        )
    return str(value)


def _need_of(request: Mapping[str, Any]) -> tuple[str, str]:
    """The need the request asks for (docs/interop.md, "What is asked"), and the reason to send
    it to the coordinators when the hub cannot tell."""
    asked = [
        coding
        for concept in (request.get("code"), *(request.get("category") or []))
        for coding in (concept or {}).get("coding") or []
    ]
    for coding in asked:
        if coding.get("system") == hub_system("need") and coding.get("code") in Need.values:
            return str(coding["code"]), ""
    said = ", ".join(
        f"{c.get('display') or c.get('code')}" for c in asked if c.get("code") or c.get("display")
    )
    text = (request.get("code") or {}).get("text") or said or "nothing coded"
    return UNMAPPED_NEED, (
        f"Sent electronically asking for \u201c{text}\u201d, which the hub does not map to a need:"
        " read the referral and route it by hand."
    )[:300]


def _note(message: _Message, request: Mapping[str, Any]) -> str:
    """The sender's notes, then the symptoms it observed and the answers it recorded."""
    lines = [str(n.get("text")).strip() for n in request.get("note") or [] if n.get("text")]
    for observation in message.all_of("Observation"):
        what = _concept_text(observation.get("code"))
        value = _value_text(observation)
        if what:
            lines.append(f"{what}: {value}" if value else what)
    for response in message.all_of("QuestionnaireResponse"):
        for item in _items(response.get("item") or []):
            answers = ", ".join(_value_text(a) for a in item.get("answer") or [])
            if item.get("text") and answers:
                lines.append(f"{item['text']}: {answers}")
    return "\n".join(line for line in lines if line)


def _items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for item in items:
        found.append(item)
        found.extend(_items(item.get("item") or []))
    return found


def _concept_text(concept: Mapping[str, Any] | None) -> str:
    concept = concept or {}
    codings = concept.get("coding") or []
    return str(
        concept.get("text") or next((c.get("display") for c in codings if c.get("display")), "")
    )


def _value_text(holder: Mapping[str, Any]) -> str:
    for name, value in holder.items():
        if not name.startswith("value"):
            continue
        if isinstance(value, dict):
            if "value" in value:
                return f"{value['value']} {value.get('unit') or ''}".strip()
            return _concept_text(value) or str(value.get("code") or value.get("display") or "")
        return str(value)
    return ""


def _requester(message: _Message, request: Mapping[str, Any], partner: PartnerSystem) -> str:
    """Who asked, as the referral page shows it: the person, their role, their organisation
    and its ODS code, as far as the message says; else the sending system."""
    requester = request.get("requester")
    if not requester:
        return f"{partner.name} ({partner.ods_code})"
    resource = message.resolve(
        requester, "ServiceRequest.requester", "Practitioner", "PractitionerRole", "Organization"
    )
    parts: list[str] = []
    organisation = None
    if resource["resourceType"] == "PractitionerRole":
        if resource.get("practitioner"):
            person = message.resolve(
                resource["practitioner"], "PractitionerRole.practitioner", "Practitioner"
            )
            parts.append(_human_name(person))
        parts.extend(_concept_text(code) for code in resource.get("code") or [])
        if resource.get("organization"):
            organisation = message.resolve(
                resource["organization"], "PractitionerRole.organization", "Organization"
            )
    elif resource["resourceType"] == "Practitioner":
        parts.append(_human_name(resource))
    else:
        organisation = resource
    if organisation is not None:
        parts.append(_organisation_named(organisation))
    return ", ".join(part for part in parts if part) or f"{partner.name} ({partner.ods_code})"


def _human_name(resource: Mapping[str, Any]) -> str:
    name = (resource.get("name") or [{}])[0]
    if name.get("text"):
        return str(name["text"])
    words = [*(name.get("prefix") or []), *(name.get("given") or []), name.get("family") or ""]
    return " ".join(words).strip()


def _patient_data(resource: Mapping[str, Any], *, message: _Message) -> PatientData:
    number = next(
        (i for i in resource.get("identifier") or [] if i.get("system") == NHS_NUMBER_SYSTEM),
        None,
    )
    nhs_number = str((number or {}).get("value") or "")
    status = NhsNumberStatus.NOT_TRACED if nhs_number else NhsNumberStatus.TRACE_REQUIRED
    for extension in (number or {}).get("extension") or []:
        if extension.get("url") == NHS_NUMBER_STATUS_EXTENSION:
            code = _code_in(extension.get("valueCodeableConcept"), NHS_NUMBER_STATUS_SYSTEM)
            if code in NhsNumberStatus.values:
                status = NhsNumberStatus(code)
    name: dict[str, Any] = next(
        (n for n in resource.get("name") or [] if n.get("use") in (None, "official", "usual")),
        {},
    )
    birth = parse_date(str(resource.get("birthDate") or ""))
    if birth is None:
        raise _unacceptable(
            "Patient.birthDate", "The patient's date of birth is required.", code="required"
        )
    address = (resource.get("address") or [{}])[0]
    phone = next(
        (t.get("value") for t in resource.get("telecom") or [] if t.get("system") == "phone"), ""
    )
    return PatientData(
        given_name=" ".join(name.get("given") or []),
        family_name=str(name.get("family") or ""),
        date_of_birth=birth,
        nhs_number=nhs_number,
        nhs_number_status=status,
        sex=GENDER_SEX.get(resource.get("gender") or "", Sex.UNKNOWN),
        address=", ".join([*(address.get("line") or []), address.get("city") or ""]).strip(", ")[
            :500
        ],
        postcode=str(address.get("postalCode") or ""),
        phone=phone or "",
        gp_practice=_practice_of(resource, message=message)[:200],
    )


def _organisation_named(organisation: Mapping[str, Any]) -> str:
    """An Organization as the hub writes one: "Name (ODS code)", or whichever of the two it has."""
    ods = next(
        (
            str(i.get("value"))
            for i in organisation.get("identifier") or []
            if i.get("system") == ODS_CODE_SYSTEM and i.get("value")
        ),
        "",
    )
    name = str(organisation.get("name") or "")
    return f"{name} ({ods})" if name and ods else name or ods


def _practice_of(resource: Mapping[str, Any], *, message: _Message) -> str:
    """The patient's GP practice as the message names it (Patient.generalPractitioner: an ODS
    code, or an Organization in the message), as the patient form takes it: "Name (ODS code)",
    which the directory's practices are matched by (services/practices.py)."""
    for reference in resource.get("generalPractitioner") or []:
        identifier = reference.get("identifier") or {}
        if identifier.get("system") == ODS_CODE_SYSTEM and identifier.get("value"):
            return str(identifier["value"])
        organisation = message.find(reference)
        if organisation is not None and organisation.get("resourceType") == "Organization":
            return _organisation_named(organisation)
    return ""


def _breach_at(request: Mapping[str, Any]) -> datetime | None:
    moment = (request.get("occurrencePeriod") or {}).get("end") or request.get("occurrenceDateTime")
    if not moment:
        return None
    try:
        parsed = parse_datetime(str(moment))
    except ValueError:
        parsed = None
    if parsed is None or timezone.is_naive(parsed):
        raise _unacceptable(
            "ServiceRequest.occurrencePeriod.end",
            "The breach time must be a date and time with its time zone.",
        )
    now = timezone.now()
    try:
        sane = now - BREACH_WITHIN <= parsed <= now + BREACH_WITHIN
    except OverflowError:
        sane = False
    if not sane:
        raise _unacceptable(
            "ServiceRequest.occurrencePeriod.end", "The breach time must be within a year of now."
        )
    return parsed


def _first_error(exc: ValidationError) -> tuple[str, str]:
    if hasattr(exc, "error_dict"):
        field, errors = next(iter(exc.message_dict.items()))
        return field, errors[0]
    return "", exc.messages[0]


def _first_message(exc: ValidationError) -> str:
    return _first_error(exc)[1]


def _response(referral: Referral, *, header: Mapping[str, Any], key: str, base: str) -> Answer:
    """The answer to a message: a response message with the referral as the hub holds it."""
    referral = Referral.objects.select_related("team", "call", "sender", "for_person").get(
        pk=referral.pk
    )
    return Answer(
        200,
        response_message(
            referral, base=base, responding_to=str(header.get("id") or key), code="ok"
        ),
    )


def response_message(referral: Referral, *, base: str, responding_to: str, code: str) -> Resource:
    """A BaRS response message (servicerequest-response) about ``referral``: its ServiceRequest
    and Task as the FHIR read API serves them. Reads ``referral.team`` and ``referral.call``."""
    header_id = str(uuid.uuid4())
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "message",
        "timestamp": api_iso(timezone.now()),
        "entry": [
            {
                "fullUrl": f"urn:uuid:{header_id}",
                "resource": {
                    "resourceType": "MessageHeader",
                    "id": header_id,
                    "eventCoding": {"system": BARS_EVENT_SYSTEM, "code": RESPONSE_EVENT},
                    "source": {"endpoint": base},
                    "response": {"identifier": responding_to, "code": code},
                    "focus": [{"reference": f"{base}ServiceRequest/{referral.pk}"}],
                },
            },
            {
                "fullUrl": f"{base}ServiceRequest/{referral.pk}",
                "resource": service_request_resource(referral),
            },
            {"fullUrl": f"{base}Task/{referral.pk}", "resource": task_resource(referral)},
        ],
    }
