"""The call screen in a browser: each ticked need shows its own suggested priority, kept live."""

import pytest
from playwright.sync_api import expect

from referrals.models import Referral
from tests.browser.steps import CALL_SAVED, handler_on_the_call_screen
from tests.browser.test_accessibility import axe_violations, describe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_carer_support_keeps_its_own_priority_beside_a_red_flag(
    page, live_url, make_user, screenshot
):
    handler_on_the_call_screen(page, live_url, make_user)

    # An unticked need shows no priority (static/js/call-needs.js).
    expect(page.get_by_label("Priority for carer support", exact=True)).to_be_hidden()
    page.get_by_label("Who is calling").select_option("CARER_FAMILY")
    page.get_by_label("Reason for the call").select_option("SYMPTOM_CONTROL")
    page.get_by_role("checkbox", name="Major bleed").check()
    expect(page.get_by_test_id("suggested-priority")).to_have_text("P1")
    page.get_by_role("checkbox", name="Urgent home visit", exact=True).check()
    page.get_by_role("checkbox", name="Carer support", exact=True).check()
    # The live suggestion redrew each need's suggestion beside it.
    expect(page.get_by_test_id("need-suggested-carer_support")).to_contain_text("Suggested P4")
    expect(page.get_by_test_id("need-suggested-urgent_home_visit")).to_contain_text("Suggested P1")
    expect(page.get_by_label("Priority for carer support", exact=True)).to_be_visible()
    screenshot(page, "1-need-priorities")
    # The priorities and reasons shown beside the ticked needs are labelled and described.
    violations = axe_violations(page, live_url)
    assert not violations, describe({"call screen with two needs ticked": violations})

    page.get_by_label("Priority for carer support", exact=True).select_option("P2")
    page.get_by_label("Outcome of the call").select_option("REFERRALS_CREATED")
    page.get_by_role("button", name="Save call").click()
    expect(
        page.get_by_text(
            "Say why you chose P2 for carer support instead of the suggested P4."
        ).first
    ).to_be_visible()
    screenshot(page, "2-need-override-needs-a-reason")

    page.get_by_label("Reason for another priority for carer support").fill(
        "Daughter alone with the bleed"
    )
    page.get_by_role("button", name="Save call").click()
    page.wait_for_url(CALL_SAVED)
    assert dict(Referral.objects.values_list("need", "priority")) == {
        "URGENT_HOME_VISIT": "P1",
        "CARER_SUPPORT": "P2",
    }
