"""The call handler's journey, with a real Celery worker routing the referrals."""

import pytest
from playwright.sync_api import expect

from services.codes import ServiceType
from spoc.accounts.roles import Role
from tests.browser.steps import CALL_SAVED, describe_overwhelming_pain, sign_in
from tests.services.directory_fixtures import every_day, make_service

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_handler_registers_a_patient_logs_two_needs_and_sees_them_queued(
    page, live_url, make_user, celery_worker_process, screenshot
):
    make_service(
        "Community Palliative Care", ServiceType.COMMUNITY_SPC, open_24_7=True, areas=("L9",)
    )
    make_service(
        "Carers Together", ServiceType.CARER_SUPPORT, hours=every_day(9, 17), areas=("L9",)
    )
    make_service("SPOC Coordination", ServiceType.SPOC, open_24_7=True, areas=())
    make_user(Role.CALL_HANDLER, username="handler1")

    sign_in(page, live_url, "handler1")
    page.get_by_role("link", name="New call").first.click()
    page.wait_for_url("**/calls/new/")
    screenshot(page, "1-new-call")

    # Nobody matches: register the patient from the call screen.
    page.get_by_label("Find the patient").fill("Nguyễn")
    page.get_by_text("No patient matches").wait_for()
    page.get_by_test_id("register-patient-link").click()
    page.get_by_label("Given name").fill("Mai")
    page.get_by_label("Family name").fill("Nguyễn")
    born = page.get_by_role("group", name="Date of birth")
    born.get_by_label("Day").fill("12")
    born.get_by_label("Month").fill("7")
    born.get_by_label("Year").fill("1951")
    page.get_by_label("NHS number status").select_option("03")
    page.get_by_label("Postcode").fill("l9 7al")
    screenshot(page, "2-register")
    page.get_by_role("button", name="Register patient").click()
    page.get_by_test_id("patient-banner").wait_for()
    assert "NGUYỄN, Mai" in page.get_by_test_id("patient-banner").inner_text()

    describe_overwhelming_pain(page)
    page.get_by_role("checkbox", name="Carer support", exact=True).check()
    page.get_by_label("Outcome of the call").select_option("REFERRALS_CREATED")
    screenshot(page, "3-call-triaged")
    page.get_by_role("button", name="Save call").click()
    page.wait_for_url(CALL_SAVED)

    # The worker routes both referrals; the page polls until they are queued.
    rows = page.get_by_test_id("call-referral")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=call-referral]')].length === 2 && "
        "[...document.querySelectorAll('[data-testid=call-referral]')].every(r => r.innerText.includes('Queued'))",
        timeout=30_000,
    )
    texts = sorted(rows.all_inner_texts())
    assert "Carers Together team" in texts[0] and "Community Palliative Care team" in texts[1]
    screenshot(page, "4-referrals-queued")

    page.get_by_role("link", name="Patient record").click()
    timeline = page.get_by_test_id("timeline-referral")
    # The count waits for the patient's page to have loaded, not just for its address.
    expect(timeline).to_have_count(2)
    text = " ".join(timeline.all_inner_texts())
    assert "Community Palliative Care team" in text and "Carers Together team" in text
    assert text.count("Queued") == 2
    screenshot(page, "5-patient-timeline")
