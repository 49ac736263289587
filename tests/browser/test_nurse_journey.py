"""The nurse's journey in three browser contexts (a call handler, nurse A and nurse B), with a real
Celery worker routing the referral: the handler's referral appears in the team's queue, nurse A
claims it, nurse B sees it claimed, nurse A records first contact and a home visit and completes
it, and the handler sees the outcome."""

import re

import pytest
from playwright.sync_api import expect

from services.codes import ServiceType
from services.models import TeamMembership
from spoc.accounts.roles import Role
from tests.browser.steps import CALL_SAVED, describe_overwhelming_pain, sign_in_new_page
from tests.referrals.factories import PatientFactory
from tests.services.directory_fixtures import make_service

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_two_nurses_one_claim_contact_visit_complete_and_the_handler_sees_it(
    browser, live_url, make_user, celery_worker_process, screenshot
):
    community = make_service(
        "Community Palliative Care", ServiceType.COMMUNITY_SPC, open_24_7=True, areas=("L9",)
    )
    make_service("SPOC Coordination", ServiceType.SPOC, open_24_7=True, areas=())
    make_user(Role.CALL_HANDLER, username="handler1")
    nurse_a = make_user(
        Role.SPECIALIST_NURSE,
        username="nurse_a",
        first_name="Siân",
        last_name="O'Brien",
        is_clinician=True,
    )
    nurse_b = make_user(
        Role.SPECIALIST_NURSE,
        username="nurse_b",
        first_name="Minh",
        last_name="Nguyễn",
        is_clinician=True,
    )
    for nurse in (nurse_a, nurse_b):
        TeamMembership.objects.create(user=nurse, team=community.team)
    patient = PatientFactory(given_name="Mai", family_name="Nguyễn", postcode="L9 7AL")

    # The call handler logs the call; the worker routes the referral into the community team's queue.
    handler = sign_in_new_page(browser, live_url, "handler1")
    handler.goto(f"{live_url}/calls/new/?patient={patient.pk}")
    handler.get_by_test_id("patient-banner").wait_for()
    describe_overwhelming_pain(handler)
    handler.get_by_label("Outcome of the call").select_option("REFERRALS_CREATED")
    handler.get_by_role("button", name="Save call").click()
    handler.wait_for_url(CALL_SAVED)
    expect(handler.get_by_test_id("call-referral")).to_contain_text("Queued", timeout=30_000)
    screenshot(handler, "1-handler-referral-queued")

    # Both nurses see it in their team's queue, with its badges and due times.
    nurse_a_page = sign_in_new_page(browser, live_url, "nurse_a")
    nurse_b_page = sign_in_new_page(browser, live_url, "nurse_b")
    for page in (nurse_a_page, nurse_b_page):
        page.get_by_role("navigation", name="Menu").get_by_role("link", name="Team queue").click()
        row = page.get_by_test_id("queue-row").filter(has_text="NGUYỄN, Mai")
        expect(row).to_contain_text("Queued")
        expect(row).to_contain_text("L9")
    screenshot(nurse_b_page, "2-nurse-b-queue")

    # Nurse A claims it; nurse B's queue shows who has it at its next poll (every 15 s).
    row_a = nurse_a_page.get_by_test_id("queue-row").filter(has_text="NGUYỄN, Mai")
    row_a.get_by_role("button", name=re.compile("^Claim")).click()
    expect(nurse_a_page.get_by_text("You have claimed the referral.")).to_be_visible()
    row_b = nurse_b_page.get_by_test_id("queue-row").filter(has_text="NGUYỄN, Mai")
    expect(row_b.get_by_test_id("queue-status")).to_have_text("Accepted", timeout=25_000)
    expect(row_b.get_by_test_id("queue-owner")).to_contain_text("O'BRIEN, Siân")
    expect(row_b.get_by_role("button", name=re.compile("^Claim"))).to_have_count(0)
    screenshot(nurse_b_page, "3-nurse-b-sees-it-claimed")

    # Nurse A: first contact, a home visit, then complete.
    nurse_a_page.get_by_test_id("queue-referral-link").first.click()
    expect(nurse_a_page.get_by_test_id("referral-status")).to_have_text("Accepted")
    contact = nurse_a_page.get_by_test_id("action-contact")
    contact.locator("summary").click()
    contact.get_by_role("button", name="Record first contact").click()
    expect(nurse_a_page.get_by_test_id("referral-status")).to_have_text("In progress")
    visit = nurse_a_page.get_by_test_id("action-intervention")
    visit.locator("summary").click()
    visit.get_by_label("What was done").select_option("HOME_VISIT")
    visit.get_by_label("Notes").fill("Syringe driver set up; daughter Siân coping")
    visit.get_by_label("A hospital admission was avoided").check()
    visit.get_by_label("Bed days saved").fill("3")
    screenshot(nurse_a_page, "4-nurse-a-records-a-visit")
    visit.get_by_role("button", name="Record an intervention").click()
    expect(nurse_a_page.get_by_test_id("referral-interventions")).to_contain_text("Home visit")
    complete = nurse_a_page.get_by_test_id("action-complete")
    complete.locator("summary").click()
    complete.get_by_label("Outcome").select_option("NEEDS_MET")
    complete.get_by_role("button", name="Complete").click()
    expect(nurse_a_page.get_by_test_id("referral-status")).to_have_text("Completed")
    events = nurse_a_page.get_by_test_id("referral-events")
    for kind in (
        "Created",
        "Routed",
        "Claimed",
        "First contact",
        "Intervention recorded",
        "Completed",
    ):
        expect(events).to_contain_text(kind)
    screenshot(nurse_a_page, "5-nurse-a-completed")

    # The handler sees the outcome: on the patient timeline and in her recent calls.
    handler.goto(f"{live_url}/patients/{patient.pk}/")
    expect(handler.get_by_test_id("timeline-referral")).to_contain_text("Completed")
    screenshot(handler, "6-handler-patient-timeline")
    handler.goto(f"{live_url}/calls/")
    progress = handler.get_by_test_id("my-call-referral")
    expect(progress).to_contain_text("Accepted by Community Palliative Care team")
    expect(progress).to_contain_text("first contact")
    expect(progress).to_contain_text("completed")
    expect(progress).to_contain_text("needs met")
    screenshot(handler, "7-handler-recent-calls")
