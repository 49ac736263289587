"""BaRS referrals for a carer or relative (docs/interop.md, "A referral for a carer or relative"):
contract tests of `POST /fhir/R4/$process-message` with a ServiceRequest whose focus is a
RelatedPerson of its subject, and the ServiceRequest the hub serves for such a referral."""

from __future__ import annotations

import pytest

from interop.codes import FOCUS_EXTENSION, hub_system
from interop.resources import FOR_PERSON_ID
from patients.codes import Relationship
from patients.models import RelatedPerson
from referrals.models import Referral, ReferralEvent
from referrals.services.routing import referral_route
from services.codes import Need, ServiceType
from tests.interop.bars_messages import for_relative, referral_message
from tests.interop.conftest import partner_client
from tests.interop.fhir import fhir_get
from tests.interop.test_process_message import refused, send
from tests.referrals.factories import PatientFactory, ReferralFactory
from tests.services.directory_fixtures import make_service

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("morning")]


@pytest.fixture
def partner():
    return partner_client("NHS 111 North West", "NLO01")


@pytest.fixture
def carers_services():
    return {
        "north": make_service(
            "Northbank Carers", ServiceType.CARER_SUPPORT, open_24_7=True, areas=("L9",)
        ).team,
        "south": make_service(
            "Southmere Carers", ServiceType.CARER_SUPPORT, open_24_7=True, areas=("L20",)
        ).team,
        "spoc": make_service("SPOC", ServiceType.SPOC, open_24_7=True, areas=()).team,
    }


@pytest.mark.parametrize("contained", [False, True], ids=["in the bundle", "contained"])
def test_a_message_for_a_relative_registers_them_and_routes_by_their_postcode(
    partner, carers_services, contained
):
    answer = send(partner, for_relative(referral_message(), contained=contained))

    referral = Referral.objects.select_related("for_person", "patient").get()
    person = referral.for_person
    assert person is not None and person.patient == referral.patient
    assert (person.given_name, person.family_name, person.relationship, person.postcode) == (
        "Seán",
        "Nguyễn",
        Relationship.CHILD,
        "L20 3AB",
    )
    assert str(person.phone.as_national) == "07911 123456"
    assert (referral.need, referral.for_person_consent_by) == (Need.CARER_SUPPORT, None)
    assert referral.for_person_consent_at == referral.created_at
    assert ReferralEvent.objects.get(referral=referral).data["for_person_id"] == person.pk
    # The patient lives in L9, the son in L20: his carers' service.
    routed = referral_route(referral_id=referral.pk)
    assert routed is not None and routed.team == carers_services["south"]
    # The answer says whom it is for as the hub understood it.
    request = answer["entry"][1]["resource"]
    assert request["extension"][0]["valueReference"]["reference"] == f"#{FOR_PERSON_ID}"
    assert request["contained"][0]["name"] == [{"family": "Nguyễn", "given": ["Seán"]}]


def test_a_relative_already_recorded_is_matched_not_registered_again(partner, carers_services):
    send(partner, referral_message())
    patient = Referral.objects.get().patient
    known = RelatedPerson.objects.create(
        patient=patient,
        given_name="Sean",
        family_name="NGUYEN",
        relationship=Relationship.CHILD,
        created_at=patient.created_at,
    )

    send(partner, for_relative(referral_message(reference="111-CASE-0002")))

    assert RelatedPerson.objects.get() == known
    assert Referral.objects.get(sender_reference="111-CASE-0002").for_person == known


@pytest.mark.parametrize(
    ("change", "element", "says"),
    [
        ({"need": Need.URGENT_HOME_VISIT}, "ServiceRequest.extension", "Only carer support"),
        ({"family": "<script>alert(1)</script>"}, "RelatedPerson.name.family", ""),
        ({"postcode": "NOT A POSTCODE"}, "RelatedPerson.address.postalCode", ""),
        ({"birth_date": "2999-01-01"}, "RelatedPerson.birthDate", "past"),
    ],
)
def test_what_cannot_be_accepted_about_the_relative_is_refused_naming_it(
    partner, carers_services, change, element, says
):
    where, diagnostics = refused(partner, for_relative(referral_message(), **change))

    assert where == element
    assert says in diagnostics
    assert not Referral.objects.exists() and not RelatedPerson.objects.exists()


def test_a_relative_of_someone_else_is_refused(partner, carers_services):
    message = for_relative(referral_message())
    # The RelatedPerson names another patient than the ServiceRequest's subject.
    other = {"resourceType": "Patient", "birthDate": "1950-01-01"}
    message["entry"].append({"fullUrl": "urn:uuid:other-patient", "resource": other})
    message["entry"][-2]["resource"]["patient"] = {"reference": "urn:uuid:other-patient"}

    assert refused(partner, message)[0] == "RelatedPerson.patient"


def test_the_fhir_api_serves_a_carers_referral_with_the_carer_as_focus(handler_api):
    patient = PatientFactory()
    carer = RelatedPerson.objects.create(
        patient=patient,
        given_name="Siân",
        family_name="O'Brien",
        relationship=Relationship.SPOUSE_PARTNER,
        phone="+447700900123",
        postcode="L20 3AB",
        is_next_of_kin=True,
        created_at=patient.created_at,
    )
    referral = ReferralFactory(
        call__patient=patient, patient=patient, for_person=carer, need=Need.CARER_SUPPORT
    )

    body = fhir_get(handler_api, f"ServiceRequest/{referral.pk}")

    assert body["subject"] == {"reference": f"Patient/{patient.pk}"}
    assert body["extension"] == [
        {
            "url": FOCUS_EXTENSION,
            "valueReference": {
                "reference": f"#{FOR_PERSON_ID}",
                "type": "RelatedPerson",
                "display": "O'BRIEN, Siân",
            },
        }
    ]
    [person] = body["contained"]
    assert person["patient"] == {"reference": f"Patient/{patient.pk}"}
    assert [c["code"] for r in person["relationship"] for c in r["coding"]] == [
        "SPOUSE_PARTNER",
        "SPS",
        "NOK",
    ]
    assert person["relationship"][0]["coding"][0]["system"] == hub_system("relationship")
    assert person["telecom"] == [{"system": "phone", "value": "+447700900123", "use": "home"}]
    assert person["address"] == [{"use": "home", "postalCode": "L20 3AB"}]
