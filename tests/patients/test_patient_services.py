"""patients.services: registering and updating patients, the people around them and the care plan."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError

from devtools.nhs_numbers import synthetic_nhs_number
from patients.codes import (
    CprDecision,
    NhsNumberStatus,
    PatientLocation,
    PlaceOfDeath,
    PreferenceNotStated,
    Prognosis,
    Relationship,
)
from patients.models import CarePlan, Patient, RelatedPerson
from patients.nhs_number import format_nhs_number
from patients.selectors import care_plan_current, care_plan_history
from patients.services import (
    DuplicateNhsNumber,
    PatientData,
    PossibleDuplicates,
    care_plan_update,
    patient_register,
    patient_update,
    related_person_save,
)
from spoc.accounts.models import User
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from tests.factories import OrganisationFactory
from tests.referrals.factories import PatientFactory

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 3, 16)
# Valid numbers from the range reserved for testing, shown with spaces as people type them.
NUMBER_A = synthetic_nhs_number(11)
NUMBER_B = synthetic_nhs_number(12)


@pytest.fixture(autouse=True)
def frozen_today() -> Iterator[None]:
    with time_machine.travel(datetime(2026, 3, 16, 10, 0, tzinfo=LONDON), tick=False):
        yield


@pytest.fixture
def handler_user(make_user: Callable[..., Any]) -> Any:
    return make_user(Role.CALL_HANDLER)


@pytest.fixture
def nurse(make_user: Callable[..., Any]) -> Any:
    return make_user(Role.SPECIALIST_NURSE, is_clinician=True)


@pytest.fixture
def senior(make_user: Callable[..., Any]) -> Any:
    user = make_user(Role.SPECIALIST_NURSE, is_clinician=True)
    user.user_permissions.add(Permission.objects.get(codename="record_cpr_decision"))
    # A fresh instance: has_perm caches the permissions it has seen.
    return User.objects.get(pk=user.pk)


def patient_data(**overrides: Any) -> PatientData:
    fields: dict[str, Any] = {
        "given_name": "Siân",
        "family_name": "Nguyễn",
        "date_of_birth": date(1948, 3, 14),
        "nhs_number": format_nhs_number(NUMBER_A),
        "nhs_number_status": NhsNumberStatus.VERIFIED,
        "address": "12 Rice Lane\nLiverpool",
        "postcode": "l97al",
        "phone": "0151 496 0101",
    }
    fields.update(overrides)
    return PatientData(**fields)


def years_ago(years: int, *, days: int = 0) -> date:
    return date(TODAY.year - years, TODAY.month, TODAY.day - days)


def assert_field_error(exc_info: pytest.ExceptionInfo[ValidationError], field: str) -> None:
    assert field in exc_info.value.message_dict, exc_info.value.message_dict


# --- patient_register: the happy path --------------------------------------------------------------


def test_register_normalises_nhs_number_name_postcode_and_phone(handler_user):
    patient = patient_register(data=patient_data(), user=handler_user)

    patient = Patient.objects.get(pk=patient.pk)
    assert patient.nhs_number == NUMBER_A
    assert " " not in patient.nhs_number
    assert patient.given_name == "Siân"
    assert patient.family_name == "Nguyễn"
    assert patient.search_name == "nguyen sian"
    assert "sian" in patient.search_name
    assert patient.postcode == "L9 7AL"
    assert patient.phone.as_e164 == "+441514960101"
    assert str(patient.phone.as_national) == "0151 496 0101"
    assert (
        phonenumbers.format_number(patient.phone, phonenumbers.PhoneNumberFormat.NATIONAL)
        == "0151 496 0101"
    )
    assert patient.created_by == handler_user
    assert patient.created_at == patient.updated_at


def test_register_accepts_nhs_number_with_hyphens_and_surrounding_spaces(handler_user):
    raw = f"  {NUMBER_A[:3]}-{NUMBER_A[3:6]}-{NUMBER_A[6:]} "
    patient = patient_register(data=patient_data(nhs_number=raw), user=handler_user)
    assert patient.nhs_number == NUMBER_A


def test_register_writes_a_create_row_in_the_access_log(handler_user):
    patient = patient_register(data=patient_data(), user=handler_user)

    row = AccessLog.objects.get(action=AccessLog.Action.CREATE, object_type="patient")
    assert row.patient_id == patient.pk
    assert row.object_id == str(patient.pk)
    assert row.user == handler_user
    # Never identifiers in the log's detail.
    assert NUMBER_A not in str(row.detail)


def test_register_without_nhs_number_when_a_trace_is_required(handler_user):
    patient = patient_register(
        data=patient_data(nhs_number="", nhs_number_status=NhsNumberStatus.TRACE_REQUIRED),
        user=handler_user,
    )
    assert patient.nhs_number is None
    assert Patient.objects.get(pk=patient.pk).nhs_number_status == NhsNumberStatus.TRACE_REQUIRED


def test_two_patients_without_nhs_number_can_both_be_registered(handler_user):
    for given, postcode in (("Mai", "L9 7AL"), ("Anh", "L4 0TH")):
        patient_register(
            data=patient_data(
                given_name=given,
                nhs_number="",
                postcode=postcode,
                nhs_number_status=NhsNumberStatus.TRACE_REQUIRED,
            ),
            user=handler_user,
        )
    assert Patient.objects.filter(nhs_number__isnull=True).count() == 2


def test_register_hospital_location_keeps_the_site(handler_user):
    site = OrganisationFactory().sites.create(code="AINT", name="Aintree University Hospital")
    patient = patient_register(
        data=patient_data(location=PatientLocation.HOSPITAL, location_site=site),
        user=handler_user,
    )
    assert Patient.objects.get(pk=patient.pk).location_site == site


def test_register_drops_the_site_when_not_in_hospital(handler_user):
    site = OrganisationFactory().sites.create(code="AINT", name="Aintree University Hospital")
    patient = patient_register(
        data=patient_data(location=PatientLocation.HOME, location_site=site), user=handler_user
    )
    assert Patient.objects.get(pk=patient.pk).location_site is None


def test_register_accepts_a_date_of_birth_of_today(handler_user):
    patient = patient_register(data=patient_data(date_of_birth=TODAY), user=handler_user)
    assert patient.date_of_birth == TODAY


def test_register_accepts_a_date_of_birth_exactly_120_years_ago(handler_user):
    patient = patient_register(data=patient_data(date_of_birth=years_ago(120)), user=handler_user)
    assert patient.date_of_birth == date(1906, 3, 16)


@pytest.mark.parametrize(
    "family_name", ["O'Brien", "O’Brien", "Nguyễn", "Zoë-Ann", "St. John", "Mc Donald"]
)
def test_register_accepts_real_family_names(handler_user, family_name):
    patient = patient_register(data=patient_data(family_name=family_name), user=handler_user)
    assert Patient.objects.get(pk=patient.pk).family_name == family_name


@pytest.mark.parametrize("given_name", ["Siân", "Zoë-Ann", "Mai", "Seán"])
def test_register_accepts_real_given_names(handler_user, given_name):
    patient = patient_register(data=patient_data(given_name=given_name), user=handler_user)
    assert Patient.objects.get(pk=patient.pk).given_name == given_name


def test_register_strips_and_collapses_spaces_in_names(handler_user):
    patient = patient_register(
        data=patient_data(given_name="  Mary   Ann ", family_name=" O'Brien "), user=handler_user
    )
    assert (patient.given_name, patient.family_name) == ("Mary Ann", "O'Brien")
    assert patient.search_name == "obrien mary ann"


# --- patient_register: every rule refuses with a field-keyed error and saves nothing ----------------


BAD_CHECK_DIGIT = NUMBER_A[:9] + str((int(NUMBER_A[9]) + 1) % 10)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"nhs_number": BAD_CHECK_DIGIT}, "nhs_number", id="nhs-bad-check-digit"),
        pytest.param({"nhs_number": NUMBER_A[:9]}, "nhs_number", id="nhs-nine-digits"),
        pytest.param({"nhs_number": NUMBER_A + "1"}, "nhs_number", id="nhs-eleven-digits"),
        pytest.param({"nhs_number": "999 ABC 1234"}, "nhs_number", id="nhs-letters"),
        pytest.param(
            {"nhs_number": "", "nhs_number_status": NhsNumberStatus.VERIFIED},
            "nhs_number_status",
            id="no-number-status-01",
        ),
        pytest.param(
            {"nhs_number": "", "nhs_number_status": NhsNumberStatus.NOT_TRACED},
            "nhs_number_status",
            id="no-number-status-02",
        ),
        pytest.param(
            {"nhs_number": "   ", "nhs_number_status": NhsNumberStatus.VERIFIED},
            "nhs_number_status",
            id="blank-number-status-01",
        ),
        pytest.param({"date_of_birth": date(2026, 3, 17)}, "date_of_birth", id="dob-tomorrow"),
        pytest.param({"date_of_birth": date(2030, 1, 1)}, "date_of_birth", id="dob-future"),
        pytest.param({"date_of_birth": years_ago(121)}, "date_of_birth", id="dob-121-years-ago"),
        pytest.param(
            {"date_of_birth": years_ago(120, days=1)}, "date_of_birth", id="dob-120-years-and-a-day"
        ),
        pytest.param({"postcode": "L9 7A"}, "postcode", id="postcode-short-inward"),
        pytest.param({"postcode": "9L 7AL"}, "postcode", id="postcode-digit-first"),
        pytest.param({"postcode": "LIVERPOOL"}, "postcode", id="postcode-word"),
        pytest.param({"postcode": "L9 7AL X"}, "postcode", id="postcode-trailing"),
        pytest.param(
            {"location": PatientLocation.HOSPITAL, "location_site": None},
            "location_site",
            id="hospital-without-site",
        ),
        pytest.param({"given_name": ""}, "given_name", id="given-empty"),
        pytest.param({"given_name": "   "}, "given_name", id="given-spaces"),
        pytest.param({"family_name": ""}, "family_name", id="family-empty"),
        pytest.param({"family_name": "A" * 101}, "family_name", id="family-101-chars"),
        pytest.param({"given_name": "B" * 101}, "given_name", id="given-101-chars"),
        pytest.param(
            {"family_name": "<script>alert(1)</script>"}, "family_name", id="family-script"
        ),
        pytest.param({"given_name": "<script>alert(1)</script>"}, "given_name", id="given-script"),
        pytest.param({"given_name": "Mai1"}, "given_name", id="given-digit"),
        pytest.param({"family_name": "Nguyen\u202e"}, "family_name", id="family-bidi-override"),
        pytest.param({"phone": "12345"}, "phone", id="phone-invalid"),
        pytest.param({"sex": "dragon"}, "sex", id="sex-not-a-choice"),
        pytest.param({"ethnic_category": "9"}, "ethnic_category", id="ethnic-9-withdrawn"),
        pytest.param({"ethnic_category": "a"}, "ethnic_category", id="ethnic-lower-case"),
        pytest.param({"diagnosis_group": "Cancer"}, "diagnosis_group", id="diagnosis-label"),
    ],
)
def test_register_refuses_invalid_data_with_a_field_keyed_error(handler_user, overrides, field):
    before = Patient.objects.count()
    with pytest.raises(ValidationError) as exc_info:
        patient_register(data=patient_data(**overrides), user=handler_user)
    assert_field_error(exc_info, field)
    assert Patient.objects.count() == before
    assert not AccessLog.objects.filter(action=AccessLog.Action.CREATE).exists()


def test_register_reports_every_invalid_field_at_once(handler_user):
    with pytest.raises(ValidationError) as exc_info:
        patient_register(
            data=patient_data(
                given_name="", nhs_number="123", date_of_birth=date(2027, 1, 1), postcode="nope"
            ),
            user=handler_user,
        )
    assert {"given_name", "nhs_number", "date_of_birth", "postcode"} <= set(
        exc_info.value.message_dict
    )
    assert Patient.objects.count() == 0


def test_register_keeps_the_ethnic_category_and_diagnosis_group(handler_user):
    patient = patient_register(
        data=patient_data(ethnic_category="Z", diagnosis_group="DEMENTIA_FRAILTY"),
        user=handler_user,
    )
    patient.refresh_from_db()
    assert (patient.ethnic_category, patient.diagnosis_group) == ("Z", "DEMENTIA_FRAILTY")
    default = patient_register(
        data=patient_data(nhs_number="", nhs_number_status=NhsNumberStatus.TRACE_REQUIRED),
        user=handler_user,
        confirmed_not_duplicate=True,
    )
    assert (default.ethnic_category, default.diagnosis_group) == ("99", "NOT_KNOWN")


def test_a_hundred_character_name_is_accepted(handler_user):
    patient = patient_register(data=patient_data(family_name="A" * 100), user=handler_user)
    assert len(patient.family_name) == 100


# --- patient_register: duplicates --------------------------------------------------------------------


def test_register_existing_nhs_number_raises_with_the_existing_patient(handler_user):
    existing = PatientFactory(
        nhs_number=NUMBER_A,
        given_name="Someone",
        family_name="Else",
        date_of_birth=date(1960, 1, 1),
        postcode="M1 1AA",
    )
    with pytest.raises(DuplicateNhsNumber) as exc_info:
        patient_register(
            data=patient_data(nhs_number=format_nhs_number(NUMBER_A)), user=handler_user
        )
    assert exc_info.value.existing == existing
    assert "nhs_number" in exc_info.value.message_dict
    assert Patient.objects.count() == 1


def test_existing_nhs_number_is_refused_even_when_confirmed_not_duplicate(handler_user):
    PatientFactory(nhs_number=NUMBER_A)
    with pytest.raises(DuplicateNhsNumber):
        patient_register(data=patient_data(), user=handler_user, confirmed_not_duplicate=True)
    assert Patient.objects.count() == 1


def test_same_name_and_date_of_birth_is_a_possible_duplicate(handler_user):
    existing = PatientFactory(
        given_name="Sian", family_name="Nguyen", date_of_birth=date(1948, 3, 14), postcode="M1 1AA"
    )
    with pytest.raises(PossibleDuplicates) as exc_info:
        patient_register(
            data=patient_data(nhs_number=format_nhs_number(NUMBER_B)), user=handler_user
        )
    assert exc_info.value.matches == [existing]
    assert "__all__" in exc_info.value.message_dict
    assert Patient.objects.count() == 1


def test_same_date_of_birth_and_postcode_is_a_possible_duplicate(handler_user):
    existing = PatientFactory(
        given_name="Anh", family_name="Tran", date_of_birth=date(1948, 3, 14), postcode="L9 7AL"
    )
    with pytest.raises(PossibleDuplicates) as exc_info:
        patient_register(data=patient_data(postcode="l9  7al"), user=handler_user)
    assert exc_info.value.matches == [existing]
    assert Patient.objects.count() == 1


def test_possible_duplicates_lists_every_match_once(handler_user):
    by_name = PatientFactory(
        given_name="Siân", family_name="Nguyễn", date_of_birth=date(1948, 3, 14), postcode="M1 1AA"
    )
    by_postcode = PatientFactory(
        given_name="Anh", family_name="Tran", date_of_birth=date(1948, 3, 14), postcode="L9 7AL"
    )
    both = PatientFactory(
        given_name="Sian", family_name="Nguyen", date_of_birth=date(1948, 3, 14), postcode="L9 7AL"
    )
    with pytest.raises(PossibleDuplicates) as exc_info:
        patient_register(data=patient_data(), user=handler_user)
    assert exc_info.value.matches == [by_name, by_postcode, both]


def test_confirmed_not_duplicate_registers_despite_a_possible_duplicate(handler_user):
    PatientFactory(
        given_name="Sian", family_name="Nguyen", date_of_birth=date(1948, 3, 14), postcode="L9 7AL"
    )
    patient = patient_register(data=patient_data(), user=handler_user, confirmed_not_duplicate=True)
    assert Patient.objects.count() == 2
    assert patient.pk is not None


def test_same_name_and_postcode_with_another_date_of_birth_is_no_duplicate(handler_user):
    PatientFactory(
        given_name="Siân", family_name="Nguyễn", date_of_birth=date(1948, 3, 15), postcode="L9 7AL"
    )
    patient_register(data=patient_data(), user=handler_user)
    assert Patient.objects.count() == 2


def test_same_date_of_birth_without_a_postcode_matches_on_name_only(handler_user):
    PatientFactory(
        given_name="Anh", family_name="Tran", date_of_birth=date(1948, 3, 14), postcode=""
    )
    patient_register(data=patient_data(postcode=""), user=handler_user)
    assert Patient.objects.count() == 2


# --- patient_update --------------------------------------------------------------------------------


def registered(user: Any, **overrides: Any) -> Patient:
    patient = patient_register(data=patient_data(**overrides), user=user)
    return Patient.objects.get(pk=patient.pk)


def test_update_saves_the_changes_and_refolds_the_name(handler_user, nurse):
    patient = registered(handler_user)
    with time_machine.travel(datetime(2026, 3, 16, 11, 0, tzinfo=LONDON), tick=False):
        patient_update(
            patient=patient,
            data=patient_data(
                given_name="Zoë-Ann",
                postcode="l4 0th",
                phone="0151 496 0202",
                interpreter_needed=True,
                language="Vietnamese",
            ),
            user=nurse,
        )
    patient = Patient.objects.get(pk=patient.pk)
    assert patient.given_name == "Zoë-Ann"
    assert patient.search_name == "nguyen zoe ann"
    assert patient.postcode == "L4 0TH"
    assert patient.phone.as_e164 == "+441514960202"
    assert (patient.interpreter_needed, patient.language) == (True, "Vietnamese")
    assert patient.updated_at > patient.created_at
    assert patient.created_by == handler_user


def test_update_logs_the_names_of_the_changed_fields(handler_user, nurse):
    patient = registered(handler_user)
    patient_update(
        patient=patient,
        data=patient_data(given_name="Mai", postcode="L4 0TH", phone="0151 496 0202"),
        user=nurse,
    )
    row = AccessLog.objects.get(action=AccessLog.Action.UPDATE, object_type="patient")
    assert row.patient_id == patient.pk
    assert row.object_id == str(patient.pk)
    assert row.user == nurse
    assert row.detail == {"fields": ["given_name", "phone", "postcode"]}


def test_update_with_the_same_data_logs_no_changed_fields(handler_user):
    patient = registered(handler_user)
    patient_update(patient=patient, data=patient_data(), user=handler_user)
    row = AccessLog.objects.get(action=AccessLog.Action.UPDATE, object_type="patient")
    assert row.detail == {"fields": []}


def test_update_to_another_patients_nhs_number_raises_duplicate(handler_user):
    other = PatientFactory(
        nhs_number=NUMBER_B,
        given_name="Anh",
        family_name="Tran",
        date_of_birth=date(1950, 1, 1),
        postcode="M1 1AA",
    )
    patient = registered(handler_user)
    with pytest.raises(DuplicateNhsNumber) as exc_info:
        patient_update(
            patient=patient,
            data=patient_data(nhs_number=format_nhs_number(NUMBER_B)),
            user=handler_user,
        )
    assert exc_info.value.existing == other
    assert Patient.objects.get(pk=patient.pk).nhs_number == NUMBER_A
    assert not AccessLog.objects.filter(action=AccessLog.Action.UPDATE).exists()


def test_update_keeping_its_own_nhs_number_is_no_duplicate(handler_user):
    patient = registered(handler_user)
    patient_update(
        patient=patient, data=patient_data(nhs_number=NUMBER_A, given_name="Mai"), user=handler_user
    )
    assert Patient.objects.get(pk=patient.pk).given_name == "Mai"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"nhs_number": BAD_CHECK_DIGIT}, "nhs_number"),
        ({"date_of_birth": date(2026, 3, 17)}, "date_of_birth"),
        ({"postcode": "L9"}, "postcode"),
        ({"family_name": "<b>x</b>"}, "family_name"),
        ({"nhs_number": "", "nhs_number_status": NhsNumberStatus.VERIFIED}, "nhs_number_status"),
    ],
)
def test_invalid_update_changes_nothing(handler_user, overrides, field):
    patient = registered(handler_user)
    with pytest.raises(ValidationError) as exc_info:
        patient_update(patient=patient, data=patient_data(**overrides), user=handler_user)
    assert_field_error(exc_info, field)
    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.nhs_number, stored.date_of_birth, stored.postcode, stored.family_name) == (
        NUMBER_A,
        date(1948, 3, 14),
        "L9 7AL",
        "Nguyễn",
    )
    assert not AccessLog.objects.filter(action=AccessLog.Action.UPDATE).exists()


# --- related_person_save ---------------------------------------------------------------------------


def carer_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "given_name": "Thanh",
        "family_name": "Nguyễn",
        "relationship": Relationship.SPOUSE_PARTNER,
        "phone": "0151 496 0303",
        "postcode": "l97al",
        "is_main_carer": True,
    }
    values.update(overrides)
    return values


def test_related_person_is_saved_with_a_normalised_postcode_and_logged(handler_user):
    patient = PatientFactory()
    person = related_person_save(
        patient=patient, user=handler_user, values=carer_values(has_lpa=True)
    )
    person = RelatedPerson.objects.get(pk=person.pk)
    assert person.patient == patient
    assert person.postcode == "L9 7AL"
    assert person.phone.as_e164 == "+441514960303"
    assert (person.is_main_carer, person.has_lpa) == (True, True)
    row = AccessLog.objects.get(object_type="related_person")
    assert (row.action, row.patient_id, row.object_id) == (
        AccessLog.Action.CREATE,
        patient.pk,
        str(person.pk),
    )


def test_editing_a_related_person_is_logged_as_an_update(handler_user):
    patient = PatientFactory()
    person = related_person_save(patient=patient, user=handler_user, values=carer_values())
    related_person_save(
        patient=patient,
        user=handler_user,
        values=carer_values(phone="0151 496 0404"),
        person=person,
    )
    assert RelatedPerson.objects.get(pk=person.pk).phone.as_e164 == "+441514960404"
    assert list(
        AccessLog.objects.filter(object_type="related_person")
        .order_by("id")
        .values_list("action", flat=True)
    ) == [AccessLog.Action.CREATE, AccessLog.Action.UPDATE]


def test_a_new_main_carer_takes_the_flag_from_the_previous_one(handler_user):
    patient = PatientFactory()
    first = related_person_save(patient=patient, user=handler_user, values=carer_values())
    second = related_person_save(
        patient=patient,
        user=handler_user,
        values=carer_values(given_name="Linh", relationship=Relationship.CHILD),
    )
    assert RelatedPerson.objects.filter(patient=patient, is_main_carer=True).get() == second
    assert not RelatedPerson.objects.get(pk=first.pk).is_main_carer


def test_editing_someone_into_main_carer_moves_the_flag(handler_user):
    patient = PatientFactory()
    first = related_person_save(patient=patient, user=handler_user, values=carer_values())
    second = related_person_save(
        patient=patient,
        user=handler_user,
        values=carer_values(given_name="Linh", is_main_carer=False),
    )
    related_person_save(
        patient=patient, user=handler_user, values=carer_values(given_name="Linh"), person=second
    )
    assert list(RelatedPerson.objects.filter(patient=patient, is_main_carer=True)) == [second]
    assert not RelatedPerson.objects.get(pk=first.pk).is_main_carer


def test_main_carer_of_another_patient_is_left_alone(handler_user):
    patient, other = PatientFactory(), PatientFactory()
    theirs = related_person_save(patient=other, user=handler_user, values=carer_values())
    related_person_save(patient=patient, user=handler_user, values=carer_values())
    assert RelatedPerson.objects.get(pk=theirs.pk).is_main_carer
    assert RelatedPerson.objects.filter(is_main_carer=True).count() == 2


def test_resaving_the_main_carer_keeps_the_flag(handler_user):
    patient = PatientFactory()
    person = related_person_save(patient=patient, user=handler_user, values=carer_values())
    related_person_save(patient=patient, user=handler_user, values=carer_values(), person=person)
    assert RelatedPerson.objects.get(pk=person.pk).is_main_carer


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"postcode": "L9 7"}, "postcode"),
        ({"postcode": "XX"}, "postcode"),
        ({"date_of_birth": date(2026, 3, 17)}, "date_of_birth"),
        ({"given_name": ""}, "given_name"),
        ({"family_name": "<script>alert(1)</script>"}, "family_name"),
        ({"relationship": "LODGER"}, "relationship"),
    ],
)
def test_invalid_related_person_is_refused_and_the_main_carer_kept(handler_user, overrides, field):
    patient = PatientFactory()
    carer = related_person_save(patient=patient, user=handler_user, values=carer_values())
    with pytest.raises(ValidationError) as exc_info:
        related_person_save(
            patient=patient,
            user=handler_user,
            values={**carer_values(given_name="Linh"), **overrides},
        )
    assert_field_error(exc_info, field)
    assert list(RelatedPerson.objects.filter(patient=patient)) == [carer]
    assert RelatedPerson.objects.get(pk=carer.pk).is_main_carer


def test_related_person_born_today_is_accepted(handler_user):
    person = related_person_save(
        patient=PatientFactory(),
        user=handler_user,
        values=carer_values(date_of_birth=TODAY, is_main_carer=False),
    )
    assert person.date_of_birth == TODAY


# --- care_plan_update ------------------------------------------------------------------------------


def test_non_clinician_cannot_change_the_care_plan(handler_user):
    patient = PatientFactory()
    with pytest.raises(PermissionDenied):
        care_plan_update(
            patient=patient, user=handler_user, values={"ppd_first": PlaceOfDeath.OWN_HOME}
        )
    assert not CarePlan.objects.exists()


def test_senior_non_clinician_cannot_change_the_care_plan(make_user):
    user = make_user(Role.CALL_HANDLER)
    user.user_permissions.add(Permission.objects.get(codename="record_cpr_decision"))
    user = User.objects.get(pk=user.pk)
    with pytest.raises(PermissionDenied):
        care_plan_update(
            patient=PatientFactory(),
            user=user,
            values={"cpr_decision": CprDecision.NOT_FOR_CPR, "cpr_decision_date": TODAY},
        )
    assert not CarePlan.objects.exists()


def test_clinician_records_the_first_care_plan_without_cpr_fields(nurse):
    patient = PatientFactory()
    plan = care_plan_update(
        patient=patient,
        user=nurse,
        values={
            "ppd_first": PlaceOfDeath.OWN_HOME,
            "ppd_second": PlaceOfDeath.HOSPICE,
            "prognosis": Prognosis.LAST_WEEKS,
            "primary_diagnosis": "Lung cancer",
        },
    )
    plan = CarePlan.objects.get(pk=plan.pk)
    assert (plan.version, plan.is_current) == (1, True)
    assert (plan.ppd_first, plan.ppd_second) == ("21", "30")
    assert plan.cpr_decision == CprDecision.UNKNOWN
    assert plan.cpr_recorded_by is None
    assert plan.created_by == nurse


def full_values(**overrides: Any) -> dict[str, Any]:
    """Every field, as the care-plan form sends them."""
    values: dict[str, Any] = {
        "ppd_first": "",
        "ppd_second": "",
        "ppd_not_stated": "",
        "cpr_decision": CprDecision.UNKNOWN,
        "cpr_decision_date": None,
        "cpr_review_date": None,
        "respect_exists": False,
        "respect_cpr": "",
        "respect_care_focus": None,
        "respect_kept_at": "",
        "respect_date": None,
        "consent_to_share": False,
        "key_worker_name": "",
        "key_worker_phone": "",
        "primary_diagnosis": "",
        "prognosis": "",
        "carer_aware_of_prognosis": None,
        "anticipatory_meds_issued": False,
        "anticipatory_meds_location": "",
        "review_date": None,
    }
    values.update(overrides)
    return values


def test_clinician_records_the_first_care_plan_from_a_full_form(nurse):
    plan = care_plan_update(
        patient=PatientFactory(),
        user=nurse,
        values=full_values(ppd_first=PlaceOfDeath.HOSPICE, key_worker_phone="0151 496 0505"),
    )
    assert plan.ppd_first == "30"
    assert plan.key_worker_phone.as_e164 == "+441514960505"


def test_clinician_without_cpr_permission_cannot_record_a_cpr_decision(nurse):
    patient = PatientFactory()
    with pytest.raises(PermissionDenied):
        care_plan_update(
            patient=patient,
            user=nurse,
            values={
                "ppd_first": PlaceOfDeath.OWN_HOME,
                "cpr_decision": CprDecision.NOT_FOR_CPR,
                "cpr_decision_date": TODAY,
            },
        )
    assert not CarePlan.objects.exists()


def test_clinician_without_cpr_permission_cannot_change_a_recorded_cpr_decision(nurse, senior):
    patient = PatientFactory()
    care_plan_update(
        patient=patient,
        user=senior,
        values={"cpr_decision": CprDecision.NOT_FOR_CPR, "cpr_decision_date": date(2026, 3, 1)},
    )
    for change in (
        {"cpr_decision": CprDecision.FOR_CPR},
        {"cpr_decision_date": date(2026, 3, 2)},
        {"cpr_review_date": date(2026, 6, 1)},
        {"cpr_decision": CprDecision.UNKNOWN},
    ):
        with pytest.raises(PermissionDenied):
            care_plan_update(patient=patient, user=nurse, values=change)
    assert CarePlan.objects.filter(patient=patient).count() == 1
    current = care_plan_current(patient=patient)
    assert current is not None
    assert current.cpr_decision == CprDecision.NOT_FOR_CPR


def test_clinician_without_cpr_permission_changes_other_fields_and_keeps_the_dnacpr(nurse, senior):
    patient = PatientFactory()
    care_plan_update(
        patient=patient,
        user=senior,
        values={
            "cpr_decision": CprDecision.NOT_FOR_CPR,
            "cpr_decision_date": date(2026, 3, 1),
            "cpr_review_date": date(2026, 6, 1),
            "ppd_first": PlaceOfDeath.OWN_HOME,
        },
    )
    plan = care_plan_update(
        patient=patient,
        user=nurse,
        values={
            "ppd_first": PlaceOfDeath.HOSPICE,
            "prognosis": Prognosis.LAST_DAYS,
        },
    )
    plan = CarePlan.objects.get(pk=plan.pk)
    assert (plan.version, plan.ppd_first, plan.prognosis) == (2, "30", "LAST_DAYS")
    assert plan.cpr_decision == CprDecision.NOT_FOR_CPR
    assert (plan.cpr_decision_date, plan.cpr_review_date) == (date(2026, 3, 1), date(2026, 6, 1))
    assert plan.cpr_recorded_by == senior
    assert plan.created_by == nurse


def test_clinician_without_cpr_permission_may_resubmit_the_unchanged_cpr_decision(nurse, senior):
    patient = PatientFactory()
    care_plan_update(
        patient=patient,
        user=senior,
        values=full_values(
            cpr_decision=CprDecision.NOT_FOR_CPR, cpr_decision_date=date(2026, 3, 1)
        ),
    )
    plan = care_plan_update(
        patient=patient,
        user=nurse,
        values=full_values(
            cpr_decision=CprDecision.NOT_FOR_CPR,
            cpr_decision_date=date(2026, 3, 1),
            ppd_first=PlaceOfDeath.CARE_HOME,
        ),
    )
    assert (plan.ppd_first, plan.cpr_decision, plan.cpr_recorded_by) == (
        "40",
        CprDecision.NOT_FOR_CPR,
        senior,
    )


def test_senior_clinician_records_a_dnacpr_decision(senior):
    patient = PatientFactory()
    plan = care_plan_update(
        patient=patient,
        user=senior,
        values={
            "cpr_decision": CprDecision.NOT_FOR_CPR,
            "cpr_decision_date": date(2026, 3, 10),
            "cpr_review_date": date(2026, 6, 10),
        },
    )
    plan = CarePlan.objects.get(pk=plan.pk)
    assert plan.cpr_decision == "450476008"
    assert plan.cpr_decision_date == date(2026, 3, 10)
    assert plan.cpr_recorded_by == senior


def test_cpr_recorder_is_kept_when_a_later_version_leaves_cpr_alone(senior, make_user):
    other_senior = make_user(Role.SPECIALIST_NURSE, is_clinician=True)
    other_senior.user_permissions.add(Permission.objects.get(codename="record_cpr_decision"))
    other_senior = User.objects.get(pk=other_senior.pk)
    patient = PatientFactory()
    care_plan_update(
        patient=patient,
        user=senior,
        values={"cpr_decision": CprDecision.FOR_CPR, "cpr_decision_date": date(2026, 3, 10)},
    )
    plan = care_plan_update(
        patient=patient, user=other_senior, values={"primary_diagnosis": "Heart failure"}
    )
    assert plan.cpr_recorded_by == senior
    plan = care_plan_update(
        patient=patient,
        user=other_senior,
        values={"cpr_decision": CprDecision.NOT_FOR_CPR, "cpr_decision_date": TODAY},
    )
    assert plan.cpr_recorded_by == other_senior


def test_every_save_adds_a_version_and_exactly_one_is_current(nurse):
    patient = PatientFactory()
    for diagnosis in ("Lung cancer", "Lung cancer with bone metastases", "Lung cancer, end stage"):
        care_plan_update(patient=patient, user=nurse, values={"primary_diagnosis": diagnosis})
    plans = list(CarePlan.objects.filter(patient=patient).order_by("version"))
    assert [p.version for p in plans] == [1, 2, 3]
    assert [p.is_current for p in plans] == [False, False, True]
    assert [p.primary_diagnosis for p in plans] == [
        "Lung cancer",
        "Lung cancer with bone metastases",
        "Lung cancer, end stage",
    ]
    assert care_plan_current(patient=patient) == plans[2]
    assert [p.version for p in care_plan_history(patient=patient)] == [3, 2, 1]


def test_versions_are_counted_per_patient(nurse):
    first, second = PatientFactory(), PatientFactory()
    care_plan_update(patient=first, user=nurse, values={"primary_diagnosis": "A"})
    care_plan_update(patient=first, user=nurse, values={"primary_diagnosis": "B"})
    plan = care_plan_update(patient=second, user=nurse, values={"primary_diagnosis": "C"})
    assert plan.version == 1
    assert CarePlan.objects.filter(is_current=True).count() == 2


def test_care_plan_change_is_logged_with_its_version_and_fields(nurse):
    patient = PatientFactory()
    care_plan_update(patient=patient, user=nurse, values={"primary_diagnosis": "Lung cancer"})
    plan = care_plan_update(
        patient=patient,
        user=nurse,
        values={"ppd_first": PlaceOfDeath.HOSPICE, "review_date": date(2026, 5, 1)},
    )
    row = AccessLog.objects.filter(object_type="care_plan").latest("id")
    assert (row.action, row.patient_id, row.object_id, row.user) == (
        AccessLog.Action.UPDATE,
        patient.pk,
        str(plan.pk),
        nurse,
    )
    assert row.detail == {"fields": ["ppd_first", "review_date"], "version": 2}


def test_review_date_exactly_three_months_ahead_is_accepted(nurse):
    plan = care_plan_update(
        patient=PatientFactory(), user=nurse, values={"review_date": date(2026, 6, 16)}
    )
    assert plan.review_date == date(2026, 6, 16)


@pytest.mark.parametrize("review", [date(2026, 6, 17), date(2026, 7, 16), date(2027, 3, 16)])
def test_review_date_more_than_three_months_ahead_is_refused(nurse, review):
    patient = PatientFactory()
    with pytest.raises(ValidationError) as exc_info:
        care_plan_update(patient=patient, user=nurse, values={"review_date": review})
    assert_field_error(exc_info, "review_date")
    assert not CarePlan.objects.exists()


def test_three_months_is_counted_in_calendar_months_at_a_month_end(nurse):
    with time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=LONDON), tick=False):
        plan = care_plan_update(
            patient=PatientFactory(), user=nurse, values={"review_date": date(2027, 2, 28)}
        )
        assert plan.review_date == date(2027, 2, 28)
        with pytest.raises(ValidationError) as exc_info:
            care_plan_update(
                patient=plan.patient, user=nurse, values={"review_date": date(2027, 3, 1)}
            )
    assert_field_error(exc_info, "review_date")


@pytest.mark.parametrize("decision", [CprDecision.NOT_FOR_CPR, CprDecision.FOR_CPR])
def test_cpr_decision_without_a_date_is_refused(senior, decision):
    with pytest.raises(ValidationError) as exc_info:
        care_plan_update(patient=PatientFactory(), user=senior, values={"cpr_decision": decision})
    assert_field_error(exc_info, "cpr_decision_date")
    assert not CarePlan.objects.exists()


def test_cpr_decision_dated_in_the_future_is_refused(senior):
    with pytest.raises(ValidationError) as exc_info:
        care_plan_update(
            patient=PatientFactory(),
            user=senior,
            values={
                "cpr_decision": CprDecision.NOT_FOR_CPR,
                "cpr_decision_date": date(2026, 3, 17),
            },
        )
    assert_field_error(exc_info, "cpr_decision_date")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        pytest.param(
            {"ppd_first": "21", "ppd_second": "21"}, "ppd_second", id="second-equals-first"
        ),
        pytest.param(
            {"ppd_first": "", "ppd_second": "30"}, "ppd_second", id="second-without-first"
        ),
        pytest.param({"ppd_second": "10"}, "ppd_second", id="second-equals-kept-first"),
        pytest.param(
            {"ppd_not_stated": PreferenceNotStated.UNABLE},
            "ppd_not_stated",
            id="not-stated-beside-kept-first",
        ),
        pytest.param(
            {"ppd_first": "21", "ppd_not_stated": PreferenceNotStated.DECLINED},
            "ppd_not_stated",
            id="ppd-and-not-stated",
        ),
        pytest.param({"ppd_first": "99"}, "ppd_first", id="ppd-not-a-code"),
        pytest.param({"respect_care_focus": 11}, "respect_care_focus", id="care-focus-over-10"),
        pytest.param({"prognosis": "LAST_YEARS"}, "prognosis", id="prognosis-not-a-choice"),
    ],
)
def test_invalid_care_plan_is_refused_and_the_current_version_kept(nurse, values, field):
    patient = PatientFactory()
    current = care_plan_update(
        patient=patient, user=nurse, values={"ppd_first": PlaceOfDeath.HOSPITAL}
    )
    with pytest.raises(ValidationError) as exc_info:
        care_plan_update(patient=patient, user=nurse, values=values)
    assert_field_error(exc_info, field)
    assert list(CarePlan.objects.filter(patient=patient)) == [current]
    assert CarePlan.objects.get(pk=current.pk).is_current


def test_second_preference_without_a_first_on_a_first_plan_is_refused(nurse):
    with pytest.raises(ValidationError) as exc_info:
        care_plan_update(
            patient=PatientFactory(), user=nurse, values={"ppd_second": PlaceOfDeath.HOSPICE}
        )
    assert_field_error(exc_info, "ppd_second")
    assert not CarePlan.objects.exists()


def test_preference_not_stated_alone_is_accepted(nurse):
    plan = care_plan_update(
        patient=PatientFactory(),
        user=nurse,
        values={"ppd_not_stated": PreferenceNotStated.UNDECIDED},
    )
    assert (plan.ppd_first, plan.ppd_not_stated) == ("", "UNDECIDED")


def test_a_preference_replaces_not_stated_when_cleared_together(nurse):
    patient = PatientFactory()
    care_plan_update(
        patient=patient, user=nurse, values={"ppd_not_stated": PreferenceNotStated.UNDECIDED}
    )
    plan = care_plan_update(
        patient=patient, user=nurse, values={"ppd_first": "21", "ppd_not_stated": ""}
    )
    assert (plan.ppd_first, plan.ppd_not_stated) == ("21", "")


def test_fields_left_out_keep_their_current_value(nurse):
    patient = PatientFactory()
    care_plan_update(
        patient=patient,
        user=nurse,
        values={
            "ppd_first": "21",
            "respect_exists": True,
            "respect_kept_at": "Kitchen drawer",
            "consent_to_share": True,
        },
    )
    plan = care_plan_update(
        patient=patient, user=nurse, values={"prognosis": Prognosis.LAST_MONTHS}
    )
    assert (plan.ppd_first, plan.respect_exists, plan.respect_kept_at, plan.consent_to_share) == (
        "21",
        True,
        "Kitchen drawer",
        True,
    )
    assert plan.prognosis == "LAST_MONTHS"
