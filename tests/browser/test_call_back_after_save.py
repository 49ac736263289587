"""Back after saving a call never shows that call's answers on the call screen: the next caller
must not inherit the last one's name, reason or needs."""

import pytest
from playwright.sync_api import expect

from tests.browser.steps import CALL_SAVED, handler_on_the_call_screen

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_back_after_save_shows_a_fresh_call_form(page, live_url, make_user, screenshot):
    handler_on_the_call_screen(page, live_url, make_user)

    page.get_by_label("Who is calling").select_option("CARER_FAMILY")
    page.get_by_label("Caller's name").fill("Siân O'Brien")
    page.get_by_label("Reason for the call").select_option("INFORMATION")
    page.get_by_label("Outcome of the call").select_option("ADVICE_GIVEN")
    page.get_by_role("button", name="Save call").click()
    page.wait_for_url(CALL_SAVED)

    page.go_back()
    page.wait_for_load_state("load")
    screenshot(page, "back-after-save")
    expect(page.get_by_label("Caller's name")).to_have_value("")
    expect(page.get_by_label("Who is calling")).not_to_have_value("CARER_FAMILY")
    expect(page.get_by_label("Reason for the call")).not_to_have_value("INFORMATION")
    expect(page.get_by_test_id("draft-restored")).to_have_count(0)
