"""Back after saving a call never shows that call's answers on the call screen: the next caller
must not inherit the last one's name, reason or needs."""

import pytest
from playwright.sync_api import expect

from spoc.accounts.roles import Role
from tests.conftest import TEST_PASSWORD
from tests.referrals.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_back_after_save_shows_a_fresh_call_form(page, live_url, make_user, screenshot):
    patient = PatientFactory()
    make_user(Role.CALL_HANDLER, username="handler1")
    page.goto(f"{live_url}/accounts/login/")
    page.get_by_label("Username").fill("handler1")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_url}/calls/new/?patient={patient.pk}")

    page.get_by_label("Who is calling").select_option("CARER_FAMILY")
    page.get_by_label("Caller's name").fill("Siân O'Brien")
    page.get_by_label("Reason for the call").select_option("INFORMATION")
    page.get_by_label("Outcome of the call").select_option("ADVICE_GIVEN")
    page.get_by_role("button", name="Save call").click()
    page.wait_for_url("**/calls/*/")

    page.go_back()
    page.wait_for_load_state("load")
    screenshot(page, "back-after-save")
    expect(page.get_by_label("Caller's name")).to_have_value("")
    expect(page.get_by_label("Who is calling")).not_to_have_value("CARER_FAMILY")
    expect(page.get_by_label("Reason for the call")).not_to_have_value("INFORMATION")
    expect(page.get_by_test_id("draft-restored")).to_have_count(0)
