"""What the FHIR API implements, declared once (docs/interop.md): each resource type with its
UK Core profile, its read and search selectors and its search parameters. The routes
(interop/urls.py), the CapabilityStatement that `GET /fhir/R4/metadata` answers and the test that
calls every interaction the statement declares all read this, so the statement can say nothing
the API does not do."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from interop import selectors
from interop.codes import (
    BARS_REFERRAL_REQUEST,
    FHIR_JSON,
    FHIR_VERSION,
    NHS_NUMBER_SYSTEM,
    ODS_CODE_SYSTEM,
    PROCESS_MESSAGE_DEFINITION,
    PROFILES,
    hub_system,
)
from interop.resources import Resource
from interop.search import SearchParam, reference, token
from services.codes import ServiceType
from spoc.accounts.partners import Scope
from spoc.core.api import api_iso

R4 = "http://hl7.org/fhir/SearchParameter/"

_NHS_NUMBER = re.compile(r"[0-9]{10}")
# ODS codes are 3 to 10 letters and digits (NHS Data Dictionary: ORGANISATION CODE); the
# directory's demo and test codes are shorter or longer within the same alphabet.
_ODS_CODE = re.compile(r"[A-Za-z0-9]{1,10}")
_SERVICE_TYPE = re.compile(r"[A-Za-z_]{1,30}")


def _ods_code(value: str) -> str | None:
    code = token(
        value, name="identifier", system=ODS_CODE_SYSTEM, code=_ODS_CODE, shape="an ODS code"
    )
    return code.upper() if code is not None else None


def _service_type(value: str) -> str | None:
    code = token(
        value,
        name="service-type",
        system=hub_system("service-type"),
        code=_SERVICE_TYPE,
        shape="a service type code",
    )
    return code if code in ServiceType.values else None


def _patient(name: str, definition: str) -> SearchParam:
    """A patient reference parameter: `Patient/<id>` or the bare id."""
    return SearchParam(
        name,
        "reference",
        f"{R4}{definition}",
        "The patient: Patient/<id> or <id>.",
        partial(reference, name=name, targets=("Patient",), bare="Patient"),
    )


def _organisation(resource: str) -> SearchParam:
    return SearchParam(
        "organization",
        "reference",
        f"{R4}{resource}-organization",
        "The organisation: Organization/<id> or <id>.",
        partial(reference, name="organization", targets=("Organization",), bare="Organization"),
    )


@dataclass(frozen=True)
class ResourceKind:
    """One resource type the API serves: read by id, and search by ``params`` (with
    ``needs_one``, a search must give at least one)."""

    name: str
    read: Callable[..., Resource | None]
    search: Callable[..., selectors.Found]
    params: tuple[SearchParam, ...]
    needs_one: bool = False
    # The REST framework's throttle scope of its searches (REST_FRAMEWORK, spoc/settings/base.py).
    search_throttle_scope: str | None = None
    # What a partner system's token must carry to read it (staff need only be signed in).
    partner_scope: str = Scope.READ_OWN_REFERRALS
    # Whether its reads may come from the read replica (spoc/core/replica.py): the directory's.
    from_replica: bool = False

    @property
    def profile(self) -> str:
        return PROFILES[self.name]


RESOURCES: dict[str, ResourceKind] = {
    kind.name: kind
    for kind in (
        ResourceKind(
            "Patient",
            selectors.fhir_patient_read,
            selectors.fhir_patient_search,
            (
                SearchParam(
                    "identifier",
                    "token",
                    f"{R4}Patient-identifier",
                    f"The NHS number: {NHS_NUMBER_SYSTEM}|<10 digits> or the 10 digits alone.",
                    partial(
                        token,
                        name="identifier",
                        system=NHS_NUMBER_SYSTEM,
                        code=_NHS_NUMBER,
                        shape="an NHS number of 10 digits",
                    ),
                ),
            ),
            # No listing of every patient: a search says whom it looks for, as on the hub's screens.
            needs_one=True,
            # The same tighter rate as the REST API's patient search: searching is how patients
            # would be scraped.
            search_throttle_scope="patient_search",
        ),
        ResourceKind(
            "ServiceRequest",
            selectors.fhir_service_request_read,
            selectors.fhir_service_request_search,
            (
                _patient("patient", "clinical-patient"),
                _patient("subject", "ServiceRequest-subject"),
            ),
        ),
        ResourceKind(
            "Task",
            selectors.fhir_task_read,
            selectors.fhir_task_search,
            (
                SearchParam(
                    "focus",
                    "reference",
                    f"{R4}Task-focus",
                    "The referral's ServiceRequest: ServiceRequest/<id>.",
                    partial(reference, name="focus", targets=("ServiceRequest",)),
                ),
                SearchParam(
                    "owner",
                    "reference",
                    f"{R4}Task-owner",
                    "The team that holds it, HealthcareService/<id>, or every team of an organisation, "
                    "Organization/<id>.",
                    partial(reference, name="owner", targets=("HealthcareService", "Organization")),
                ),
                _patient("patient", "Task-patient"),
            ),
        ),
        ResourceKind(
            "HealthcareService",
            selectors.fhir_healthcare_service_read,
            selectors.fhir_healthcare_service_search,
            (
                _organisation("HealthcareService"),
                SearchParam(
                    "service-type",
                    "token",
                    f"{R4}HealthcareService-service-type",
                    f"The hub's service type: {hub_system('service-type')}|<code> or the code alone.",
                    _service_type,
                ),
            ),
            partner_scope=Scope.READ_DIRECTORY,
            from_replica=True,
        ),
        ResourceKind(
            "Organization",
            selectors.fhir_organization_read,
            selectors.fhir_organization_search,
            (
                SearchParam(
                    "identifier",
                    "token",
                    f"{R4}Organization-identifier",
                    f"The ODS code: {ODS_CODE_SYSTEM}|<code> or the code alone.",
                    _ods_code,
                ),
            ),
            partner_scope=Scope.READ_DIRECTORY,
            from_replica=True,
        ),
        ResourceKind(
            "Location",
            selectors.fhir_location_read,
            selectors.fhir_location_search,
            (_organisation("Location"),),
            partner_scope=Scope.READ_DIRECTORY,
            from_replica=True,
        ),
    )
}


def _resource_statement(kind: ResourceKind) -> dict[str, Any]:
    return {
        "type": kind.name,
        "profile": kind.profile,
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "versioning": "no-version",
        "readHistory": False,
        "updateCreate": False,
        "conditionalCreate": False,
        "conditionalRead": "not-supported",
        "conditionalUpdate": False,
        "conditionalDelete": "not-supported",
        "searchParam": [
            {
                "name": p.name,
                "definition": p.definition,
                "type": p.type,
                "documentation": p.documentation,
            }
            for p in kind.params
        ],
    }


def capability_statement(*, base: str, now: datetime) -> Resource:
    """The CapabilityStatement of this server (kind instance) at ``base``: every resource type
    of RESOURCES with its profile, read and search-type, and its search parameters, and the
    BaRS messages `$process-message` takes; nothing else (no other writes, no history, no
    system-wide search)."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": api_iso(now),
        "publisher": "SPOC hub",
        "kind": "instance",
        "software": {"name": "SPOC hub"},
        "implementation": {
            "description": "The SPOC hub's FHIR R4 read API",
            "url": base.rstrip("/"),
        },
        "fhirVersion": FHIR_VERSION,
        "format": ["json", FHIR_JSON],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Reads and searches of the patients, referrals (a ServiceRequest and a Task each) and the "
                    "service directory. Searches are strict: an unknown parameter, a modifier or a repeated "
                    "parameter is refused with 400. Results come in pages: _count (0 to 100, 50 by default) "
                    "and the Bundle's next link; total is given when _total=accurate is asked, or when the "
                    "first page holds every match."
                ),
                "security": {
                    "cors": False,
                    "description": (
                        "A staff session (with its second factor where one is required) or an API token "
                        "(Authorization: Token <key>, from POST /api/v1/auth/token/). Each user sees what the "
                        "hub's screens show them: a patient or referral they may not see is not found (404), "
                        "and every read and search of patient data is written to the access log."
                    ),
                },
                "resource": [_resource_statement(kind) for kind in RESOURCES.values()],
                "operation": [
                    {
                        "name": "process-message",
                        "definition": PROCESS_MESSAGE_DEFINITION,
                        "documentation": (
                            "BaRS referrals from partner systems (a token with the referrals:send "
                            "scope): a new referral, an update, or its withdrawal by an update whose "
                            "ServiceRequest is revoked or entered-in-error."
                        ),
                    }
                ],
            }
        ],
        "messaging": [
            {
                "documentation": (
                    "Each message is handled once under its X-Request-ID (else its Bundle id): the "
                    "same message again gets the same answer, another one under that id a 409."
                ),
                "supportedMessage": [{"mode": "receiver", "definition": BARS_REFERRAL_REQUEST}],
            }
        ],
    }
