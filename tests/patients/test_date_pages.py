"""Pages show dates in the NHS.UK style and take dates of birth and death in three boxes."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from patients.models import Patient
from referrals.transitions import ReferralStatus
from tests.clock import WEEKDAY_MORNING
from tests.referrals.factories import CallFactory, PatientFactory, ReferralFactory, member
from tests.services.directory_fixtures import every_day, make_service

pytestmark = pytest.mark.django_db


def register(**overrides):
    data = {"nhs_number": "", "nhs_number_status": "03", "given_name": "Siân", "family_name": "O'Brien",
            "date_of_birth_day": "4", "date_of_birth_month": "3", "date_of_birth_year": "1950",
            "sex": "female", "address": "1 Dock Road", "postcode": "l9 7al", "phone": "", "phone_alt": "",
            "gp_practice": "", "usual_residence": "OWN_HOME", "location": "HOME", "location_site": "",
            "language": "", "access_information": ""}
    data.update(overrides)
    return data


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
    response = client.post(reverse("patients:register"), register(date_of_birth_day="31", date_of_birth_month="2"))
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
    referral = ReferralFactory(status=ReferralStatus.QUEUED, team=team, call=CallFactory(received_at=WEEKDAY_MORNING),
                               accept_by=WEEKDAY_MORNING + timedelta(hours=1),
                               contact_not_before=datetime(2026, 6, 1, 8, 10, tzinfo=UTC))
    client.force_login(nurse)
    content = client.get(reverse("queue:referral", args=[referral.pk])).content.decode()
    assert "Clock started</dt><dd class=\"nhsuk-summary-list__value\">today 10:30</dd>" in content
    assert "today 11:30" in content
    assert "1 June 2026, 09:10" in content
    assert "-Jun-" not in content
