"""The hub's form pages explain themselves, as drawn: the directory's service edit, closure and
capacity forms, the directory search, registering a patient, adding a carer, the care plan and
signing in. Posted with errors, each page answers (never a 500) with the error summary at the top,
in page order, each error linked to its field's first control, every field in error drawn in error,
and every typed value kept, with nothing saved (docs/architecture.md, "Forms")."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.models import Patient, RelatedPerson
from referrals.transitions import ReferralStatus
from services.models import CapacityStatus, Closure, Service, Site, TeamMembership
from spoc.accounts.roles import Role
from tests.core.forms_html import error_summary, page_problems, parse, summary_texts
from tests.factories import OrganisationFactory
from tests.referrals.factories import PatientFactory, ReferralFactory, member
from tests.services.directory_fixtures import edit_payload, every_day, make_service

pytestmark = pytest.mark.django_db


def links(html):
    return [line.href for line in error_summary(html)]


def by_id(html, element_id):
    return next(n for n in parse(html).walk() if n.attrs.get("id") == element_id)


def text_of(html, element_id):
    return " ".join(by_id(html, element_id).text).strip()


@pytest.fixture
def service():
    Site.objects.create(
        organisation=OrganisationFactory(), code="RVY", name="Aintree University Hospital"
    )
    return make_service("Community Palliative Care", "COMMUNITY_SPC", hours=every_day(8, 20))


@pytest.fixture
def diradmin(make_user):
    return make_user(Role.DIRECTORY_ADMIN, username="diradmin1")


def test_a_service_edit_with_errors_lists_them_in_page_order_and_keeps_what_was_typed(
    client, diradmin, service
):
    client.force_login(diradmin)
    url = reverse("services:edit", args=[service.pk])
    page = client.get(url).content.decode()
    assert page_problems(page) == []
    # Wrong: the name, the email, the minimum age and the second opening times.
    typed = edit_payload(
        service,
        name="",
        description="Typed and kept: Nguyễn's team",
        phone="",
        email="not an email",
        min_age="old",
        coverage="L9",
        sites=[str(Site.objects.get().pk)],
        **{"hours-1-opens": "25:99", "hours-1-closes": ""},
    )
    response = client.post(url, typed)
    assert response.status_code == 200
    html = response.content.decode()
    assert links(html) == [
        "#id_name",
        "#id_email",
        "#id_min_age",
        "#id_hours-1-opens",
        "#id_hours-1-closes",
    ]
    texts = summary_texts(html)
    assert texts[-2:] == [
        "Opens 2: Enter a real time, like 08:00",
        "Closes 2: Enter the closing time",
    ]
    assert page_problems(html) == []
    assert "<title>Error: Edit Community Palliative Care" in html
    assert text_of(html, "id_description") == "Typed and kept: Nguyễn's team"
    assert by_id(html, "id_min_age").attrs["value"] == "old"
    assert by_id(html, "id_hours-1-opens").attrs["value"] == "25:99"
    assert "checked" in by_id(html, "id_sites_0").attrs
    assert Service.objects.get(pk=service.pk).name == "Community Palliative Care"


def test_a_closure_with_errors_comes_back_on_the_edit_page_and_adds_nothing(
    client, diradmin, service
):
    client.force_login(diradmin)
    url = reverse("services:closure-add", args=[service.pk])
    response = client.post(
        url, {"starts_at": "2026-12-24T12:00", "ends_at": "", "reason": "Christmas training"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert summary_texts(html) == ["Until: This field is required."]
    assert links(html) == ["#id_ends_at"]
    assert by_id(html, "id_starts_at").attrs["value"] == "2026-12-24T12:00"
    assert by_id(html, "id_reason").attrs["value"] == "Christmas training"
    assert page_problems(html) == []
    # The service's own refusal lands on its field too.
    response = client.post(
        url, {"starts_at": "2026-12-27T08:00", "ends_at": "2026-12-24T12:00", "reason": "Backwards"}
    )
    html = response.content.decode()
    assert summary_texts(html) == ["Until: The closure must end after it starts."]
    assert page_problems(html) == []
    assert not Closure.objects.exists()


def test_capacity_without_a_choice_is_explained_and_records_nothing(client, make_user, service):
    lead = make_user(Role.TEAM_LEAD)
    TeamMembership.objects.create(user=lead, team=service.team, role=TeamMembership.Role.LEAD)
    client.force_login(lead)
    page = client.get(reverse("services:service", args=[service.pk])).content.decode()
    assert page_problems(page) == []
    assert not any(n.tag == "input" and "checked" in n.attrs for n in parse(page).walk())
    response = client.post(
        reverse("services:capacity", args=[service.pk]),
        {"units": "5", "note": "Two nurses off sick"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert summary_texts(html) == ["Capacity now: Choose the capacity now: green, amber or red"]
    assert links(html) == ["#id_rag_0"]
    assert by_id(html, "id_units").attrs["value"] == "5"
    assert by_id(html, "id_note").attrs["value"] == "Two nurses off sick"
    assert page_problems(html) == []
    assert not CapacityStatus.objects.exists()
    # Someone who may not report capacity is refused, whatever they post.
    client.force_login(make_user(Role.SPECIALIST_NURSE))
    assert client.post(reverse("services:capacity", args=[service.pk]), {}).status_code == 403


def test_a_directory_search_with_a_bad_postcode_is_explained(client, handler, service):
    client.force_login(handler)
    response = client.get(
        reverse("services:search"),
        {"need": "URGENT_HOME_VISIT", "postcode": "nowhere", "priority": "P2"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert links(html) == ["#id_postcode"]
    assert by_id(html, "id_postcode").attrs["value"] == "nowhere"
    assert page_problems(html) == []


def test_registering_a_patient_with_errors_lists_them_as_the_page_draws_them(client, handler):
    client.force_login(handler)
    url = reverse("patients:register")
    assert page_problems(client.get(url).content.decode()) == []
    response = client.post(
        url,
        {
            "given_name": "",
            "family_name": "",
            "date_of_birth_day": "31",
            "date_of_birth_month": "2",
            "date_of_birth_year": "1948",
            "sex": "female",
            "nhs_number": "",
            "nhs_number_status": "02",
            "location": "HOME",
            "phone": "not a phone",
            "gp_practice": "Aintree Park GP",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert links(html) == ["#id_given_name", "#id_family_name", "#id_date_of_birth_0", "#id_phone"]
    assert page_problems(html) == []
    assert by_id(html, "id_gp_practice").attrs["value"] == "Aintree Park GP"
    assert by_id(html, "id_date_of_birth_0").attrs["value"] == "31"
    assert not Patient.objects.exists()


def test_a_carer_needs_a_relationship_chosen_not_guessed(client, handler):
    patient = PatientFactory()
    client.force_login(handler)
    url = reverse("patients:person-add", args=[patient.pk])
    page = client.get(url).content.decode()
    assert page_problems(page) == []
    chosen = [
        o.attrs.get("value") for o in by_id(page, "id_relationship").walk() if "selected" in o.attrs
    ]
    assert chosen == [""]
    response = client.post(
        url, {"given_name": "Siân", "family_name": "O'Brien", "relationship": ""}
    )
    html = response.content.decode()
    assert summary_texts(html) == ["Relationship: Choose the person's relationship to the patient"]
    assert by_id(html, "id_given_name").attrs["value"] == "Siân"
    assert page_problems(html) == []
    assert not RelatedPerson.objects.exists()


def test_a_care_plan_with_errors_lists_them_in_page_order(client, make_user):
    team = make_service("Community Palliative Care", "COMMUNITY_SPC", hours=every_day(8, 20)).team
    nurse = member(make_user, team, "nurse1")
    now = timezone.now()
    referral = ReferralFactory(
        team=team,
        status=ReferralStatus.QUEUED,
        accept_by=now + timedelta(minutes=15),
        contact_by=now + timedelta(hours=2),
        accept_clock_started_at=now,
    )
    client.force_login(nurse)
    url = reverse("patients:care-plan", args=[referral.patient_id])
    assert page_problems(client.get(url).content.decode()) == []
    response = client.post(
        url,
        {
            "base_version": "0",
            "cpr_decision": "UNKNOWN",
            "respect_care_focus": "11",
            "respect_date_day": "40",
            "respect_date_month": "1",
            "respect_date_year": "2026",
            "respect_kept_at": "Kitchen drawer",
            "key_worker_phone": "12",
            "review_date_day": "1",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert links(html) == [
        "#id_respect_care_focus",
        "#id_respect_date_0",
        "#id_key_worker_phone",
        "#id_review_date_0",
    ]
    assert by_id(html, "id_respect_kept_at").attrs["value"] == "Kitchen drawer"
    assert page_problems(html) == []


def test_signing_in_empty_says_what_is_missing(client):
    response = client.post(reverse("login"), {"username": "", "password": ""})
    html = response.content.decode()
    assert links(html) == ["#id_username", "#id_password"]
    assert page_problems(html) == []
    response = client.post(reverse("login"), {"username": "nobody", "password": "wrong-password"})
    html = response.content.decode()
    assert links(html) == ["#id_username"] and by_id(html, "id_username").attrs["value"] == "nobody"
    assert page_problems(html) == []
