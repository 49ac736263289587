"""BaRS referrals in: contract tests of `POST /fhir/R4/$process-message` built from the BaRS
referral request (tests/interop/bars_messages.py). Every answer is read back with the
fhir.resources models; every refusal is a 422 (or 404, 409) OperationOutcome naming the element."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from interop.codes import FHIR_JSON
from interop.models import InboundMessage
from patients.models import Patient, PossibleMatch
from referrals.models import Referral, ReferralEvent
from referrals.services.claims import referral_claim
from referrals.services.electronic import possible_match_decide
from referrals.services.routing import referral_route
from referrals.transitions import ReferralStatus
from services.codes import Need, OrganisationType, Priority, ServiceType
from spoc.accounts.partners import Scope
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from spoc.core.api import DomainConflict
from tests.factories import OrganisationFactory
from tests.interop.bars_messages import BAD_NHS_NUMBER, NHS_NUMBER, referral_message, update_message
from tests.interop.conftest import partner_client
from tests.interop.fhir import FHIR, fhir_answer, fhir_get
from tests.referrals.factories import PatientFactory, member
from tests.services.directory_fixtures import every_day, make_service

# A Wednesday morning: the community team (08:00-20:00) is open.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("morning")]


@pytest.fixture
def partner():
    return partner_client("NHS 111 North West", "NLO01")


def routed(referral_id: int) -> Referral:
    referral = referral_route(referral_id=referral_id)
    assert referral is not None
    return referral


def send(client: APIClient, message: Any, *, status: int = 200, **headers: Any) -> dict[str, Any]:
    body = message if isinstance(message, (bytes, str)) else json.dumps(message)
    response = client.post(FHIR + "$process-message", body, content_type=FHIR_JSON, **headers)
    return fhir_answer(response, status)


def refused(client: APIClient, message: Any, status: int = 422) -> tuple[str, str]:
    """The element a refusal names and what it says; nothing was kept but the answer."""
    body = send(client, message, status=status)
    [issue] = body["issue"]
    return (issue.get("expression") or [""])[0], issue["diagnostics"]


@pytest.fixture
def community():
    return make_service(
        "Community Palliative Care", ServiceType.COMMUNITY_SPC, hours=every_day(8, 20)
    ).team


@pytest.fixture
def coordinators():
    return make_service("SPOC coordinators", ServiceType.SPOC, open_24_7=True).team


def test_a_111_referral_registers_the_patient_and_is_routed_to_the_team(partner, community):
    message = referral_message()
    answer = send(partner, message)

    referral = Referral.objects.select_related("patient").get()
    header, request, task = (entry["resource"] for entry in answer["entry"])
    assert header["eventCoding"]["code"] == "servicerequest-response"
    assert header["response"] == {
        "identifier": message["entry"][0]["resource"]["id"],
        "code": "ok",
    }
    assert (request["id"], request["status"], request["priority"]) == (
        str(referral.pk),
        "active",
        "asap",
    )
    assert task["status"] == "requested"
    assert (referral.need, referral.priority, referral.status) == (
        Need.URGENT_HOME_VISIT,
        Priority.P2,
        ReferralStatus.AWAITING_ROUTING,
    )
    assert (referral.sender, referral.sender_reference, referral.created_by) == (
        partner.system,
        "111-CASE-0001",
        None,
    )
    assert (
        referral.sender_requester == "Dr Thu Nguyễn, Clinical advisor, NHS 111 North West (NLO01)"
    )
    assert referral.sender_breach_at == datetime.fromisoformat("2026-12-02T12:00:00+00:00")
    assert referral.note == (
        "Pain uncontrolled since this morning; family struggling.\nPain score: 8 out of 10"
    )
    patient = referral.patient
    assert (patient.nhs_number, patient.given_name, patient.family_name) == (
        NHS_NUMBER,
        "Siân",
        "O'Brien",
    )
    assert (patient.created_by, patient.created_by_partner) == (None, partner.system)
    [created] = ReferralEvent.objects.filter(referral=referral)
    assert (created.kind, created.actor, created.data["sender"]) == (
        ReferralEvent.Kind.CREATED,
        None,
        "NHS 111 North West",
    )
    creations = AccessLog.objects.filter(
        action=AccessLog.Action.CREATE, object_type__in=("patient", "referral")
    ).order_by("id")
    assert [(row.object_type, row.username) for row in creations] == [
        ("patient", f"partner:{partner.system.client_id}"),
        ("referral", f"partner:{partner.system.client_id}"),
    ]

    queued = routed(referral.pk)
    assert (queued.status, queued.team) == (ReferralStatus.QUEUED, community)


def test_the_patients_gp_practice_is_the_directorys_practice_with_that_ods_code(partner, community):
    practice = OrganisationFactory(
        ods_code="A81001", name="The Surgery", org_type=OrganisationType.GP_PRACTICE
    )
    send(partner, referral_message())
    patient = Referral.objects.get().patient
    assert (patient.gp_practice, patient.registered_practice) == ("A81001", practice)


def test_a_known_nhs_number_finds_the_patient_the_hub_has(partner, community):
    known = PatientFactory(nhs_number=NHS_NUMBER, given_name="Sian", family_name="OBrien")
    send(partner, referral_message())
    assert Referral.objects.get().patient == known
    assert Patient.objects.count() == 1
    assert not PossibleMatch.objects.exists()


def test_the_same_person_without_an_nhs_number_is_a_possible_match_for_a_coordinator(
    partner, community, make_user
):
    known = PatientFactory(
        nhs_number=None,
        nhs_number_status="03",
        given_name="Siân",
        family_name="O'Brien",
        date_of_birth="1948-03-14",
        postcode="L9 7AL",
    )
    send(partner, referral_message())
    referral = Referral.objects.get()
    assert referral.patient != known  # never merged silently
    [match] = PossibleMatch.objects.all()
    assert (match.patient, match.candidate, match.status) == (
        referral.patient,
        known,
        PossibleMatch.Status.OPEN,
    )

    coordinator = make_user(Role.SPOC_COORDINATOR)
    possible_match_decide(match_id=match.pk, user=coordinator, same_person=True)
    referral.refresh_from_db()
    known.refresh_from_db()
    assert referral.patient == known
    moved = referral.events.get(kind=ReferralEvent.Kind.PATIENT_CONFIRMED)
    assert (moved.actor, moved.data["to_patient_id"]) == (coordinator, known.pk)
    assert known.nhs_number == NHS_NUMBER  # the number the message brought
    assert not Patient.objects.exclude(pk=known.pk).exists()
    match.refresh_from_db()
    assert (match.status, match.patient, match.decided_by) == (
        PossibleMatch.Status.SAME_PERSON,
        None,
        coordinator,
    )


def test_different_people_keep_their_own_records(partner, community, make_user):
    known = PatientFactory(
        nhs_number=None, given_name="Siân", family_name="O'Brien", date_of_birth="1948-03-14"
    )
    send(partner, referral_message(nhs_number=None))
    [match] = PossibleMatch.objects.all()
    possible_match_decide(
        match_id=match.pk, user=make_user(Role.SPOC_COORDINATOR), same_person=False
    )
    match.refresh_from_db()
    assert match.status == PossibleMatch.Status.DIFFERENT_PEOPLE
    assert Referral.objects.get().patient != known
    assert Patient.objects.count() == 2
    # The decision about who someone is is in the access log, on the patient the hub knew.
    [decided] = AccessLog.objects.filter(object_type="possible_match")
    assert (decided.patient_id, decided.detail["decision"]) == (known.pk, "different_people")
    with pytest.raises(PossibleMatch.DoesNotExist):  # decided once
        possible_match_decide(
            match_id=match.pk, user=make_user(Role.SPOC_COORDINATOR), same_person=True
        )


def test_an_nhs_number_of_someone_born_on_another_day_is_refused(partner, community):
    someone_else = PatientFactory(nhs_number=NHS_NUMBER, date_of_birth="1930-01-01")
    element, text = refused(partner, referral_message(birth_date="1948-03-14"))
    assert element == "Patient.identifier"
    assert "another date of birth" in text
    assert "1930" not in text  # the other patient's date of birth is not told
    assert not Referral.objects.exists()
    assert Patient.objects.get() == someone_else


def test_no_referral_for_care_of_a_patient_whose_death_is_recorded(partner, community):
    PatientFactory(nhs_number=NHS_NUMBER, died_at="2026-12-01T08:00:00+00:00")
    element, text = refused(partner, referral_message(need="URGENT_HOME_VISIT"))
    assert element == "ServiceRequest.subject"
    assert "death recorded" in text
    # Bereavement support is for the people left behind: that may be referred.
    send(partner, referral_message(reference="111-CASE-0002", need="BEREAVEMENT_SUPPORT"))
    assert Referral.objects.get().need == Need.BEREAVEMENT_SUPPORT


def test_verification_of_an_expected_death_may_be_referred_after_the_death(partner, community):
    PatientFactory(nhs_number=NHS_NUMBER, died_at="2026-12-01T08:00:00+00:00")
    send(partner, referral_message(need="VERIFICATION_OF_DEATH"))
    assert Referral.objects.get().need == Need.VERIFICATION_OF_DEATH


@pytest.mark.parametrize(
    "need", ["DISTRICT_NURSING", "JUST_IN_CASE_MEDICINES", "RAPID_DISCHARGE", "CHC_FAST_TRACK"]
)
def test_the_care_networks_needs_are_read_from_the_hubs_need_codes(partner, community, need):
    send(partner, referral_message(need=need))
    referral = Referral.objects.get()
    assert (referral.need, referral.unroutable_reason) == (need, "")


def test_the_same_message_under_a_new_request_id_gets_the_first_answer(partner, community):
    message = referral_message()
    first = send(partner, message, HTTP_X_REQUEST_ID="try-1")
    assert send(partner, message, HTTP_X_REQUEST_ID="try-2") == first
    assert Referral.objects.count() == 1


@pytest.mark.parametrize(
    "where",
    [
        ("entry", 2, "resource", "address", 0, "line", 0),
        ("entry", 3, "resource", "code", 0, "text"),
        ("entry", 0, "resource", "\u0000extra"),
    ],
)
def test_a_nul_anywhere_in_a_message_is_refused_not_a_failure(partner, where):
    message: Any = referral_message()
    holder = message
    for part in where[:-1]:
        holder = holder[part]
    holder[where[-1]] = "12 Long\u0000Lane"
    element, text = refused(partner, message)
    assert (element, text) == ("Bundle", "Text in a message may not hold the NUL character.")
    assert not Referral.objects.exists()


@pytest.mark.parametrize(
    ("change", "element"),
    [
        ({"id": "bad\u0001id"}, "Bundle.id"),
        ({"reference": "111\u0007CASE"}, "ServiceRequest.identifier"),
        ({"breach": "0001-01-01T00:00:00+14:00"}, "ServiceRequest.occurrencePeriod.end"),
        ({"breach": "9999-12-31T23:59:59-12:00"}, "ServiceRequest.occurrencePeriod.end"),
        ({"breach": "2030-12-02T12:00:00+00:00"}, "ServiceRequest.occurrencePeriod.end"),
    ],
)
def test_what_the_database_could_not_hold_is_refused_not_a_failure(partner, change, element):
    message = referral_message(**{k: v for k, v in change.items() if k != "id"})
    if "id" in change:
        message["id"] = change["id"]
    named, _ = refused(partner, message)
    assert named == element
    assert not Referral.objects.exists()


def test_a_bad_nhs_number_is_refused_naming_the_identifier_and_nothing_is_saved(partner):
    message = referral_message(nhs_number=BAD_NHS_NUMBER)
    element, text = refused(partner, message)
    assert element == "Patient.identifier"
    assert "NHS number" in text
    assert not Patient.objects.exists() and not Referral.objects.exists()
    # The same message again gets the same answer.
    assert refused(partner, message) == (element, text)
    assert InboundMessage.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "element"),
    [
        ({"priority": "whenever"}, "ServiceRequest.priority"),
        ({"priority": None}, "ServiceRequest.priority"),
        ({"birth_date": "2030-01-01"}, "Patient.birthDate"),
        ({"postcode": "NOT A POSTCODE"}, "Patient.address.postalCode"),
        ({"family": ""}, "Patient.name[0].family"),
        ({"family": "<script>"}, "Patient.name.family"),
        ({"note": "x" * 2001}, "ServiceRequest.note"),
        ({"breach": "2026-12-02T12:00:00"}, "ServiceRequest.occurrencePeriod.end"),
        ({"status": "draft"}, "ServiceRequest.status"),
    ],
)
def test_what_the_hub_cannot_accept_is_a_422_naming_the_element(partner, change, element):
    named, text = refused(partner, referral_message(**change))
    assert named == element
    assert text.endswith(".")
    assert not Referral.objects.exists()


def test_a_message_with_no_subject_is_refused_by_its_structure(partner):
    message = referral_message()
    del message["entry"][1]["resource"]["subject"]
    element, _ = refused(partner, message)
    assert element == "ServiceRequest.subject"


def test_a_message_that_is_not_a_referral_request_is_not_supported(partner):
    message = referral_message()
    message["entry"][0]["resource"]["eventCoding"]["code"] = "booking-request"
    body = send(partner, message, status=422)
    assert body["issue"][0]["code"] == "not-supported"
    assert body["issue"][0]["expression"] == ["MessageHeader.eventCoding"]


def test_a_repeated_request_id_gets_the_first_answer_and_a_conflicting_one_a_409(
    partner, community
):
    message = referral_message()
    first = send(partner, message, HTTP_X_REQUEST_ID="req-1")
    assert send(partner, message, HTTP_X_REQUEST_ID="req-1") == first
    other = referral_message(reference="111-CASE-0002")
    body = send(partner, other, status=409, HTTP_X_REQUEST_ID="req-1")
    assert (body["issue"][0]["code"], body["issue"][0]["expression"]) == (
        "duplicate",
        ["Bundle.id"],
    )
    # Without X-Request-ID, the Bundle's id is the message's.
    third = referral_message(reference="111-CASE-0003")
    send(partner, third)
    send(partner, referral_message(reference="111-CASE-0004") | {"id": third["id"]}, status=409)
    assert sorted(Referral.objects.values_list("sender_reference", flat=True)) == [
        "111-CASE-0001",
        "111-CASE-0003",
    ]


def test_a_second_new_message_for_the_same_request_is_a_409(partner, community):
    send(partner, referral_message())
    element, text = refused(partner, referral_message(), status=409)
    assert element == "ServiceRequest.identifier"
    assert "send an update" in text


def test_an_update_adds_to_the_note_and_the_timeline(partner, community):
    original = referral_message()
    send(partner, original)
    answer = send(partner, update_message(original, note="Now also vomiting."))
    referral = Referral.objects.get()
    event = referral.events.get(kind=ReferralEvent.Kind.SENDER_UPDATE)
    assert event.data["note"] == "Now also vomiting."
    assert event.actor is None
    assert answer["entry"][1]["resource"]["status"] == "active"
    # Whoever holds the referral reads it with the referral, marked as the sender's.
    assert referral.note.endswith(
        "\n\n[Update from NHS 111 North West, 2 Dec 2026, 10:00] Now also vomiting."
    )
    assert referral.note.startswith("Pain uncontrolled since this morning")


def test_a_long_withdrawal_still_withdraws_and_keeps_the_whole_note(partner, community):
    original = referral_message()
    send(partner, original)
    why = "Admitted to hospital overnight after a fall. " * 15
    send(partner, update_message(original, status="revoked", note=why.strip()))
    referral = Referral.objects.get()
    assert referral.status == ReferralStatus.CANCELLED
    assert len(referral.cancel_reason) == 500 and referral.cancel_reason.endswith("\u2026")
    event = referral.events.get(kind=ReferralEvent.Kind.CANCELLED)
    assert event.data["note"] == why.strip()


def test_an_update_that_revokes_the_request_cancels_the_referral(partner, community):
    original = referral_message()
    send(partner, original)
    answer = send(partner, update_message(original, status="revoked", note="Admitted to hospital."))
    referral = Referral.objects.get()
    assert referral.status == ReferralStatus.CANCELLED
    assert (
        referral.cancel_reason == "NHS 111 North West withdrew the request: Admitted to hospital."
    )
    assert answer["entry"][1]["resource"]["status"] == "revoked"
    assert answer["entry"][2]["resource"]["status"] == "cancelled"


def test_a_withdrawal_does_not_cancel_a_completed_referral(partner, community):
    original = referral_message()
    send(partner, original)
    Referral.objects.update(status=ReferralStatus.COMPLETED)
    answer = send(partner, update_message(original, status="entered-in-error", note=""))
    assert Referral.objects.get().status == ReferralStatus.COMPLETED
    assert answer["entry"][1]["resource"]["status"] == "completed"


def test_an_update_to_a_request_the_partner_never_sent_is_a_404(partner):
    element, _ = refused(partner, update_message(referral_message()), status=404)
    assert element == "ServiceRequest.identifier"


def test_a_request_the_hub_cannot_map_goes_to_the_coordinators_with_the_reason(
    partner, community, coordinators
):
    message = referral_message(need=None)
    message["entry"][1]["resource"]["code"] = {"text": "Syringe driver review"}
    send(partner, message)
    referral = routed(Referral.objects.get().pk)
    assert referral.team == coordinators
    assert "Syringe driver review" in referral.unroutable_reason


def test_staff_and_partners_without_the_scope_cannot_send_messages(partner, make_user):
    staff = APIClient()
    staff.force_authenticate(make_user(Role.SPOC_COORDINATOR))
    send(staff, referral_message(), status=403)
    reader = partner_client("Aintree Hospital", "REM", (Scope.READ_OWN_REFERRALS,))
    send(reader, referral_message(), status=403)
    response = partner.post(FHIR + "$process-message", "<Bundle/>", content_type="application/xml")
    assert response.status_code == 415
    assert not Referral.objects.exists()


@pytest.mark.parametrize("depth", [600, 5_000, 100_000])
def test_a_body_nested_too_deeply_is_refused_not_a_failure(partner, depth):
    nested = "[" * depth + "]" * depth
    body = f'{{"resourceType": "Bundle", "id": "deep", "type": "message", "entry": {nested}}}'
    response = partner.post(FHIR + "$process-message", body, content_type=FHIR_JSON)
    assert response.status_code in (400, 422), response.content[:300]
    assert response.json()["resourceType"] == "OperationOutcome"
    assert not Referral.objects.exists()


def test_a_message_too_large_is_a_413_operation_outcome(partner, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    message = referral_message(note="x" * 20_000)
    body = send(partner, message, status=413)
    assert body["issue"][0]["code"] == "too-long"
    assert not Referral.objects.exists()


def test_the_sender_reads_its_referral_and_sees_it_accepted_when_a_nurse_claims_it(
    partner, community, make_user
):
    send(partner, referral_message())
    referral = routed(Referral.objects.get().pk)
    nurse = member(make_user, community, "nurse1")
    referral_claim(referral_id=referral.pk, user=nurse)
    task = fhir_get(partner, f"Task/{referral.pk}")
    assert task["status"] == "accepted"
    other = partner_client("Aintree Hospital", "REM")
    fhir_get(other, f"Task/{referral.pk}", status=404)
    fhir_get(other, f"ServiceRequest/{referral.pk}", status=404)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)
PATHS = st.sampled_from(
    [
        ("entry", 0, "resource", "reason"),
        ("entry", 1, "resource", "priority"),
        ("entry", 1, "resource", "subject"),
        ("entry", 1, "resource", "identifier"),
        ("entry", 1, "resource", "code"),
        ("entry", 1, "resource", "occurrencePeriod"),
        ("entry", 2, "resource", "identifier"),
        ("entry", 2, "resource", "birthDate"),
        ("entry", 2, "resource", "name"),
        ("entry", 2, "resource", "address"),
        ("entry", 3, "resource", "practitioner"),
        ("entry",),
        ("id",),
    ]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=PATHS, value=JSON_VALUES)
def test_no_message_makes_the_hub_fail(partner, community, path, value):
    message: Any = referral_message(reference="fuzz")
    holder = message
    for part in path[:-1]:
        holder = holder[part]
    holder[path[-1]] = value
    response = partner.post(FHIR + "$process-message", json.dumps(message), content_type=FHIR_JSON)
    assert response.status_code < 500, response.content[:300]
    fhir_answer(response, response.status_code)


def test_a_match_whose_known_patient_has_died_keeps_care_referrals_apart(
    partner, community, make_user
):
    PatientFactory(
        nhs_number=None,
        given_name="Siân",
        family_name="O'Brien",
        date_of_birth="1948-03-14",
        postcode="L9 7AL",
        died_at="2026-11-30T08:00:00+00:00",
    )
    send(partner, referral_message(nhs_number=None))
    [match] = PossibleMatch.objects.all()
    coordinator = make_user(Role.SPOC_COORDINATOR)
    with pytest.raises(DomainConflict, match="has died"):
        possible_match_decide(match_id=match.pk, user=coordinator, same_person=True)
    assert Referral.objects.get().patient == match.patient


def test_only_someone_who_may_change_the_record_answers_a_match(partner, community, make_user):
    PatientFactory(
        nhs_number=None, given_name="Siân", family_name="O'Brien", date_of_birth="1948-03-14"
    )
    send(partner, referral_message(nhs_number=None))
    [match] = PossibleMatch.objects.all()
    with pytest.raises(PossibleMatch.DoesNotExist):
        possible_match_decide(match_id=match.pk, user=make_user(Role.AUDITOR), same_person=True)
    match.refresh_from_db()
    assert match.status == PossibleMatch.Status.OPEN
