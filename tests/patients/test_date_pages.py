"""Pages show dates in the NHS.UK style and take dates of birth and death in three boxes."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from patients.codes import PlaceOfDeath
from patients.models import CarePlan, DeathRecord, Patient
from referrals.transitions import ReferralStatus
from spoc.accounts.roles import Role
from tests.clock import WEEKDAY_MORNING
from tests.referrals.builders import patient_form
from tests.referrals.factories import CallFactory, PatientFactory, ReferralFactory, member
from tests.services.directory_fixtures import every_day, make_service

pytestmark = pytest.mark.django_db


def register(**overrides):
    """The register form with the date of birth typed in its three boxes."""
    boxes = {"date_of_birth_day": "4", "date_of_birth_month": "3", "date_of_birth_year": "1950"}
    data = patient_form(phone="", **{**boxes, **overrides})
    del data["date_of_birth"]
    return data


def death_form(*, day: str) -> dict[str, str]:
    """An expected death in a hospice at 08:05 on `day` June 2026, the date typed in its boxes."""
    return {
        "died_date_day": day,
        "died_date_month": "6",
        "died_date_year": "2026",
        "died_time": "08:05",
        "place": PlaceOfDeath.HOSPICE,
        "expected": "yes",
        "verified_by": "",
    }


def test_the_register_page_asks_for_the_date_of_birth_in_three_boxes(client, handler):
    client.force_login(handler)
    content = client.get(reverse("patients:register")).content.decode()
    assert '<div class="nhsuk-date-input" id="id_date_of_birth">' in content
    for box in ("day", "month", "year"):
        assert f'name="date_of_birth_{box}"' in content
    assert "For example, 15 3 1948" in content
    assert 'type="date"' not in content


def test_a_patient_registered_from_three_boxes_is_born_that_day_and_shown_so(client, handler):
    client.force_login(handler)
    response = client.post(reverse("patients:register"), register())
    patient = Patient.objects.get()
    assert patient.date_of_birth == date(1950, 3, 4)
    content = client.get(response["Location"]).content.decode()
    assert "<dt>Born</dt><dd>4 March 1950 (" in content


def test_31_february_is_explained_and_what_was_typed_is_kept(client, handler):
    client.force_login(handler)
    response = client.post(
        reverse("patients:register"), register(date_of_birth_day="31", date_of_birth_month="2")
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "Enter a real date" in content
    assert 'href="#id_date_of_birth_0">Date of birth: Enter a real date' in content
    assert 'value="31"' in content and 'value="1950"' in content and "1 Dock Road" in content
    assert content.count("nhsuk-date-input__input nhsuk-input--width-") == 3
    assert content.count("nhsuk-input--error") >= 3
    assert not Patient.objects.exists()


def test_the_edit_page_shows_the_date_of_birth_in_its_boxes(client, handler):
    patient = PatientFactory(date_of_birth=date(1948, 3, 14))
    client.force_login(handler)
    content = client.get(reverse("patients:edit", args=[patient.pk])).content.decode()
    assert 'name="date_of_birth_day" value="14"' in content
    assert 'name="date_of_birth_month" value="3"' in content
    assert 'name="date_of_birth_year" value="1948"' in content


@time_machine.travel(WEEKDAY_MORNING, tick=False)
def test_the_referral_page_says_today_and_dates_older_moments_in_words(client, make_user):
    team = make_service("Community Palliative Care", "COMMUNITY_SPC", hours=every_day(8, 20)).team
    nurse = member(make_user, team, "nurse1")
    # 10:30 BST today, and 09:10 BST on 1 June 2026.
    referral = ReferralFactory(
        status=ReferralStatus.QUEUED,
        team=team,
        call=CallFactory(received_at=WEEKDAY_MORNING),
        accept_by=WEEKDAY_MORNING + timedelta(hours=1),
        contact_not_before=datetime(2026, 6, 1, 8, 10, tzinfo=UTC),
    )
    client.force_login(nurse)
    content = client.get(reverse("queue:referral", args=[referral.pk])).content.decode()
    assert 'Clock started</dt><dd class="nhsuk-summary-list__value">today 10:30</dd>' in content
    assert "today 11:30" in content
    assert "1 June 2026, 09:10" in content
    assert "-Jun-" not in content


@time_machine.travel(WEEKDAY_MORNING, tick=False)
def test_a_death_typed_in_boxes_and_a_24_hour_time_is_recorded_in_london_time(client, make_user):
    coordinator = make_user(Role.SPOC_COORDINATOR, username="coord1", is_clinician=True)
    patient = PatientFactory(date_of_birth=date(1948, 3, 14))
    client.force_login(coordinator)
    page = client.get(reverse("patients:death", args=[patient.pk])).content.decode()
    assert (
        'name="died_date_day"' in page and 'name="died_time"' in page and 'type="time"' not in page
    )
    response = client.post(
        reverse("patients:death", args=[patient.pk]),
        death_form(day="10"),
    )
    assert response.status_code == 302
    # 08:05 BST is 07:05 UTC.
    assert DeathRecord.objects.get(patient=patient).died_at == datetime(
        2026, 6, 10, 7, 5, tzinfo=UTC
    )
    detail = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Died today 08:05" in detail


@time_machine.travel(WEEKDAY_MORNING, tick=False)
def test_a_death_in_the_future_is_refused_on_all_three_boxes(client, make_user):
    coordinator = make_user(Role.SPOC_COORDINATOR, username="coord1", is_clinician=True)
    patient = PatientFactory(date_of_birth=date(1948, 3, 14))
    client.force_login(coordinator)
    response = client.post(
        reverse("patients:death", args=[patient.pk]),
        death_form(day="11"),
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "A death cannot be recorded in the future." in content
    assert content.count("nhsuk-date-input__input nhsuk-input--width-2 nhsuk-input--error") == 2
    assert content.count("nhsuk-date-input__input nhsuk-input--width-4 nhsuk-input--error") == 1
    assert 'value="11"' in content and not DeathRecord.objects.exists()


@time_machine.travel(WEEKDAY_MORNING, tick=False)
def test_care_plan_dates_are_typed_in_boxes_and_a_nurse_cannot_change_the_cpr_date(
    client, make_user
):
    team = make_service("Community Palliative Care", "COMMUNITY_SPC", hours=every_day(8, 20)).team
    nurse = member(make_user, team, "nurse1")
    patient = PatientFactory()
    ReferralFactory(call__patient=patient, patient=patient, status=ReferralStatus.QUEUED, team=team)
    client.force_login(nurse)
    page = client.get(reverse("patients:care-plan", args=[patient.pk])).content.decode()
    assert (
        'name="review_date_day"' in page
        and "No more than 3 months ahead. For example, 15 3 2026" in page
    )
    response = client.post(
        reverse("patients:care-plan", args=[patient.pk]),
        {
            "ppd_first": "21",
            "cpr_decision": "450476008",
            "base_version": "0",
            "cpr_decision_date_day": "1",
            "cpr_decision_date_month": "6",
            "cpr_decision_date_year": "2026",
            "review_date_day": "1",
            "review_date_month": "8",
            "review_date_year": "2026",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    plan = CarePlan.objects.get(patient=patient, is_current=True)
    # The CPR fields are disabled for a nurse: what she posts is ignored.
    assert (plan.review_date, plan.cpr_decision_date) == (date(2026, 8, 1), None)
    detail = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "1 August 2026" in detail


def test_a_carers_date_of_birth_is_optional_and_typed_in_boxes(client, handler):
    patient = PatientFactory()
    client.force_login(handler)
    url = reverse("patients:person-add", args=[patient.pk])
    data = {
        "given_name": "Siân",
        "family_name": "O'Brien",
        "relationship": "SPOUSE_PARTNER",
        "phone": "",
        "phone_alt": "",
        "address": "",
        "postcode": "",
        "date_of_birth_day": "",
        "date_of_birth_month": "",
        "date_of_birth_year": "",
    }
    assert client.post(url, data).status_code == 302
    data.update(
        date_of_birth_day="2", date_of_birth_month="13", date_of_birth_year="1950", given_name="Ann"
    )
    response = client.post(url, data)
    assert response.status_code == 200 and "Enter a real date" in response.content.decode()


@time_machine.travel(WEEKDAY_MORNING, tick=False)
def test_the_call_page_is_headed_with_its_time_and_date(client, handler):
    call = CallFactory(handled_by=handler, received_at=WEEKDAY_MORNING)
    client.force_login(handler)
    content = client.get(reverse("calls:detail", args=[call.pk])).content.decode()
    assert "Call at 10:30 on 10 June 2026</h1>" in content


@time_machine.travel(WEEKDAY_MORNING, tick=False)
def test_the_dashboard_gives_its_period_in_words(client, make_user):
    client.force_login(make_user(Role.MANAGER, username="manager_a"))
    content = client.get(
        reverse("dashboards:dashboard"), {"date_from": "2026-01-01", "date_to": "2026-06-10"}
    ).content.decode()
    assert "Period: <strong>1 January 2026</strong> to <strong>10 June 2026</strong>" in content
