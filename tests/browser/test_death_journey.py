"""Recording a death in Chromium: the coordinator opens "Record a death" from the patient page,
finds the main carer ticked, makes a mistake and is told about it without losing what she typed,
records the death, and reads the message saying what was closed and who will get bereavement
support, and the banner saying where the patient died and whether it was where they wished."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from patients.codes import CprDecision, PlaceOfDeath, Relationship
from patients.models import CarePlan, DeathRecord, RelatedPerson
from referrals.models import Referral
from referrals.transitions import ReferralStatus
from services.codes import Need, ServiceType
from spoc.accounts.roles import Role
from tests.browser.steps import sign_in
from tests.referrals.factories import CallFactory, PatientFactory, ReferralFactory
from tests.services.directory_fixtures import make_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_coordinator_records_a_death_reads_what_happened_and_corrects_it(
    page, live_url, make_user, screenshot
):
    # The journey's clock (tests/browser/conftest.py) is 10:30 on Wednesday 10 June 2026 in London.
    community = make_service(
        "Community Palliative Care", ServiceType.COMMUNITY_SPC, open_24_7=True, areas=("L9",)
    )
    coordinator = make_user(Role.SPOC_COORDINATOR, username="coord1", is_clinician=True)
    patient = PatientFactory(given_name="Mai", family_name="Nguyễn", postcode="L9 7AL")
    CarePlan.objects.create(
        patient=patient,
        version=1,
        ppd_first=PlaceOfDeath.OWN_HOME,
        cpr_decision=CprDecision.NOT_FOR_CPR,
        respect_exists=True,
        created_at=timezone.now(),
        created_by=coordinator,
    )
    ReferralFactory(
        call=CallFactory(patient=patient),
        patient=patient,
        status=ReferralStatus.QUEUED,
        team=community.team,
        need=Need.URGENT_HOME_VISIT,
    )
    carer = RelatedPerson.objects.create(
        patient=patient,
        given_name="Siân",
        family_name="O'Brien",
        relationship=Relationship.CHILD,
        is_main_carer=True,
        consent_to_contact=True,
        created_at=timezone.now(),
    )
    RelatedPerson.objects.create(
        patient=patient,
        given_name="Minh",
        family_name="Nguyễn",
        relationship=Relationship.SIBLING,
        is_next_of_kin=True,
        consent_to_contact=False,
        created_at=timezone.now(),
    )

    sign_in(page, live_url, "coord1")
    page.goto(f"{live_url}/patients/{patient.pk}/")
    banner = page.get_by_test_id("patient-banner")
    expect(banner.locator('[data-alert="CPR"]')).to_be_visible()
    page.get_by_test_id("record-death").click()

    # The main carer who consented is ticked; the next of kin who did not consent is not.
    form = page.get_by_test_id("death-form")
    expect(form.get_by_role("checkbox", name="O'BRIEN, Siân")).to_be_checked()
    expect(form.get_by_role("checkbox", name="NGUYỄN, Minh")).not_to_be_checked()
    # No place of death is chosen for the user.
    for _code, label in PlaceOfDeath.choices:
        expect(form.get_by_role("radio", name=label, exact=True)).not_to_be_checked()
    screenshot(page, "1-form")

    # Tomorrow, and no place: both are reported at once, and nothing typed is lost.
    form.get_by_label("Day", exact=True).fill("11")
    form.get_by_label("Month", exact=True).fill("6")
    form.get_by_label("Year", exact=True).fill("2026")
    form.get_by_label("Time of death").fill("08:05")
    form.get_by_label("Verified by (optional)").fill("Dr Siân O'Brien, GP")
    form.get_by_role("button", name="Record the death").click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("Date of death: A death cannot be recorded in the future.")
    expect(summary).to_contain_text("Place of death: Select the place of death")
    expect(form.get_by_label("Day", exact=True)).to_have_value("11")
    expect(form.get_by_label("Time of death")).to_have_value("08:05")
    expect(form.get_by_label("Verified by (optional)")).to_have_value("Dr Siân O'Brien, GP")
    expect(form.get_by_role("checkbox", name="O'BRIEN, Siân")).to_be_checked()
    screenshot(page, "2-errors")
    assert not DeathRecord.objects.exists()

    # Corrected: this morning, at home.
    form.get_by_label("Day", exact=True).fill("10")
    form.get_by_role("radio", name="Patient's own home", exact=True).check()
    form.get_by_role("button", name="Record the death").click()
    page.wait_for_url(f"{live_url}/patients/{patient.pk}/")

    message = page.get_by_role("status").filter(has_text="Death recorded")
    expect(message).to_have_text(
        "Death recorded for NGUYỄN, Mai. 1 open referral closed: urgent home visit (Community Palliative "
        "Care team). Bereavement support referral made for O'BRIEN, Siân (son or daughter): being routed "
        "now, with no contact before 24 June 2026."
    )
    expect(banner.get_by_test_id("banner-death")).to_have_text(
        "Died 10 June 2026, at patient's own home (preferred: patient's own home, achieved)"
    )
    # Nothing that only matters to a living patient is left in the banner.
    for code in ("CPR", "CPR_UNKNOWN", "RESPECT", "PPD", "NO_PPD"):
        expect(banner.locator(f'[data-alert="{code}"]')).to_have_count(0)
    expect(banner.locator('[data-alert="OPEN_REFERRALS"]')).to_have_text("1 open referral")
    screenshot(page, "3-recorded")
    record = DeathRecord.objects.get(patient=patient)
    assert record.preferred_place_achieved is True and record.verified_by == "Dr Siân O'Brien, GP"
    assert Referral.objects.filter(for_person=carer, need=Need.BEREAVEMENT_SUPPORT).count() == 1

    # The place was wrong: the coordinator corrects it, with a reason, and both versions stay.
    page.get_by_test_id("correct-death").click()
    correction = page.get_by_test_id("death-correct-form")
    correction.get_by_role("radio", name="Hospice", exact=True).check()
    correction.get_by_role("button", name="Save the correction").click()
    expect(page.get_by_test_id("error-summary")).to_contain_text("This is required: say why.")
    correction.get_by_label("Reason").fill("The hospice rang: she was moved there at 07:00.")
    correction.get_by_role("button", name="Save the correction").click()
    page.wait_for_url(f"{live_url}/patients/{patient.pk}/")
    expect(page.get_by_role("status").filter(has_text="corrected")).to_contain_text(
        "place of death from patient's own home to hospice"
    )
    expect(page.get_by_test_id("death-corrections")).to_contain_text(
        "Reason: The hospice rang: she was moved there at 07:00."
    )
    screenshot(page, "4-corrected")
    record.refresh_from_db()
    assert record.place == PlaceOfDeath.HOSPICE and record.corrections.count() == 1
