"""Just-in-case medicines on the patient record: the services, the page, who may use them, the
access log, and the banner on the call screen (docs/patients-and-calls.md, "Just-in-case
medicines"; hazard H-033)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patients.medicines import MedicineData, jic_medicine_add, jic_medicine_remove
from patients.models import JustInCaseMedicine, Patient
from patients.selectors import jic_medicines_shown
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from tests.clock import WEEKDAY_MORNING
from tests.referrals.factories import PatientFactory

pytestmark = pytest.mark.django_db

TODAY = WEEKDAY_MORNING.date()


@pytest.fixture(autouse=True)
def weekday_morning():
    with time_machine.travel(WEEKDAY_MORNING, tick=False):
        yield


@pytest.fixture
def coordinator(make_user):
    return make_user(Role.SPOC_COORDINATOR, username="coord1", is_clinician=True)


@pytest.fixture
def patient() -> Patient:
    return PatientFactory(given_name="Mai", family_name="Nguyễn", date_of_birth=date(1948, 3, 14))


def data(**changes: Any) -> MedicineData:
    values: dict[str, Any] = {
        "name": "Midazolam 10 mg/2 ml injection",
        "dose_route": "2.5 mg to 5 mg subcutaneously, hourly if needed, for agitation",
        "quantity": "10 ampoules",
        "kept_at": "Kitchen drawer, in the grey box",
        "prescribed_by": "Dr Siân O'Brien, Northbank Health Centre",
        "prescribed_date": TODAY - timedelta(days=2),
    }
    values.update(changes)
    return MedicineData(**values)


def form(**changes: str) -> dict[str, str]:
    day = TODAY - timedelta(days=2)
    values = {
        "name": "Morphine sulfate 10 mg/1 ml injection",
        "dose_route": "2.5 mg subcutaneously, hourly if needed, for pain or breathlessness",
        "quantity": "10 ampoules",
        "kept_at": "Kitchen drawer",
        "prescribed_by": "Dr Siân O'Brien",
        "prescribed_date_day": str(day.day),
        "prescribed_date_month": str(day.month),
        "prescribed_date_year": str(day.year),
    }
    values.update(changes)
    return values


# --- The services ---------------------------------------------------------------------------------


def test_a_clinician_records_a_medicine_as_written_with_its_access_log_row(patient, coordinator):
    medicine = jic_medicine_add(patient=patient, user=coordinator, data=data())

    medicine.refresh_from_db()
    assert medicine.prescribed_by == "Dr Siân O'Brien, Northbank Health Centre"
    assert medicine.recorded_by == coordinator and medicine.recorded_at == WEEKDAY_MORNING
    assert medicine.removed_at is None
    row = AccessLog.objects.get(object_type="jic_medicine")
    assert (row.action, row.patient_id, row.object_id) == ("CREATE", patient.pk, str(medicine.pk))


def test_a_call_handler_may_not_record_medicines(patient, handler):
    with pytest.raises(PermissionDenied):
        jic_medicine_add(patient=patient, user=handler, data=data())
    assert not JustInCaseMedicine.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "   "}, "name", "Enter the medicine."),
        ({"dose_route": ""}, "dose_route", "Enter the dose and route."),
        ({"kept_at": "x" * 201}, "kept_at", "This is 201 characters long; the most is 200."),
        ({"quantity": "10\x00"}, "quantity", "Remove the null character pasted into this text."),
        (
            {"prescribed_date": TODAY + timedelta(days=1)},
            "prescribed_date",
            "The date prescribed cannot be in the future.",
        ),
        (
            {"prescribed_date": date(1948, 3, 13)},
            "prescribed_date",
            "The date prescribed cannot be before the patient was born.",
        ),
        ({"prescribed_date": None}, "prescribed_date", "Enter the date it was prescribed."),
    ],
)
def test_bad_input_is_refused_with_a_message_and_saves_nothing(
    patient, coordinator, changes, field, message
):
    with pytest.raises(ValidationError) as caught:
        jic_medicine_add(patient=patient, user=coordinator, data=data(**changes))
    assert caught.value.message_dict[field] == [message]
    assert not JustInCaseMedicine.objects.exists()
    assert not AccessLog.objects.filter(object_type="jic_medicine").exists()


def test_removing_keeps_the_medicine_in_the_history_with_who_and_why(patient, coordinator):
    used = jic_medicine_add(patient=patient, user=coordinator, data=data())
    kept = jic_medicine_add(
        patient=patient, user=coordinator, data=data(name="Water for injection")
    )

    jic_medicine_remove(
        patient=patient, user=coordinator, medicine_id=used.pk, reason="  Used overnight  "
    )

    used.refresh_from_db()
    assert used.removed_by == coordinator and used.removed_reason == "Used overnight"
    assert [m.pk for m in jic_medicines_shown(patient=patient)] == [kept.pk, used.pk]
    with pytest.raises(ValidationError, match="already removed"):
        jic_medicine_remove(patient=patient, user=coordinator, medicine_id=used.pk, reason="Again")


def test_a_removal_needs_a_reason_and_the_patients_own_medicine(patient, coordinator):
    medicine = jic_medicine_add(patient=patient, user=coordinator, data=data())
    with pytest.raises(ValidationError) as caught:
        jic_medicine_remove(patient=patient, user=coordinator, medicine_id=medicine.pk, reason="")
    assert caught.value.message_dict == {"removed_reason": ["Enter why it was removed."]}
    with pytest.raises(JustInCaseMedicine.DoesNotExist):
        jic_medicine_remove(
            patient=PatientFactory(), user=coordinator, medicine_id=medicine.pk, reason="Used"
        )
    medicine.refresh_from_db()
    assert medicine.removed_at is None


# --- The page -------------------------------------------------------------------------------------


def test_the_page_lists_the_medicines_and_logs_the_read(client, patient, coordinator):
    jic_medicine_add(patient=patient, user=coordinator, data=data())
    client.force_login(coordinator)

    response = client.get(reverse("patients:medicines", args=[patient.pk]))

    assert response.status_code == 200
    assert "Midazolam 10 mg/2 ml injection" in response.content.decode()
    row = AccessLog.objects.get(object_type="jic_medicines")
    assert (row.action, row.patient_id, row.detail) == ("VIEW", patient.pk, {"medicines": 1})


def test_recording_on_the_page_redirects_and_a_script_stays_text(client, patient, coordinator):
    client.force_login(coordinator)
    url = reverse("patients:medicines", args=[patient.pk])

    response = client.post(url, form(kept_at="<script>alert(1)</script> by the bed"))

    assert response.status_code == 302 and response["Location"] == url
    page = client.get(url).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; by the bed" in page
    assert "<script>alert(1)</script>" not in page


def test_a_future_date_on_the_page_shows_the_error_and_keeps_what_was_typed(
    client, patient, coordinator
):
    client.force_login(coordinator)
    tomorrow = TODAY + timedelta(days=1)

    response = client.post(
        reverse("patients:medicines", args=[patient.pk]),
        form(prescribed_date_day=str(tomorrow.day), prescribed_by="Dr Nguyễn"),
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "There is a problem" in page and "Date prescribed must be today or in the past" in page
    assert 'value="Dr Nguyễn"' in page
    assert not JustInCaseMedicine.objects.exists()


def test_removing_on_the_page_without_a_reason_says_so(client, patient, coordinator):
    medicine = jic_medicine_add(patient=patient, user=coordinator, data=data())
    client.force_login(coordinator)
    url = reverse("patients:medicine-remove", args=[patient.pk, medicine.pk])

    refused = client.post(url, {"removed_reason": ""})
    done = client.post(url, {"removed_reason": "Destroyed: out of date"})

    assert (
        refused.status_code == 200
        and "Enter why it is no longer at home" in refused.content.decode()
    )
    assert done.status_code == 302
    medicine.refresh_from_db()
    assert medicine.removed_reason == "Destroyed: out of date"


def test_a_call_handler_gets_403_from_the_page(client, patient, handler):
    client.force_login(handler)
    assert client.get(reverse("patients:medicines", args=[patient.pk])).status_code == 403


# --- Out of hours: the banner on the call screen -------------------------------------------------


def test_the_call_screen_banner_shows_the_medicines_to_a_clinician_and_where_to_anyone(
    client, patient, coordinator, handler
):
    jic_medicine_add(patient=patient, user=coordinator, data=data())
    url = f"{reverse('calls:new')}?patient={patient.pk}"

    client.force_login(coordinator)
    clinician = client.get(url).content.decode()
    client.force_login(handler)
    handlers = client.get(url).content.decode()

    where = "Just-in-case medicines at home (1), kept at Kitchen drawer, in the grey box"
    assert where in clinician and where in handlers
    assert 'data-testid="banner-medicines"' in clinician
    assert "2.5 mg to 5 mg subcutaneously" in clinician
    assert "2.5 mg to 5 mg subcutaneously" not in handlers


def test_the_banner_reads_the_medicines_in_one_query_however_many(client, patient, coordinator):
    """The patient page and every banner: one query for the medicines, whatever their number."""
    url = reverse("patients:detail", args=[patient.pk])
    client.force_login(coordinator)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    jic_medicine_add(patient=patient, user=coordinator, data=data())
    one = queries()
    for number in range(9):
        jic_medicine_add(patient=patient, user=coordinator, data=data(name=f"Medicine {number}"))
    assert queries() == one
