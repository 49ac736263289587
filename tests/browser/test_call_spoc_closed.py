"""The call screen while the SPOC is closed: the warning says until when and gives the
out-of-hours divert as a number to ring (docs/patients-and-calls.md "The call screen")."""

import pytest
from playwright.sync_api import expect

from services.codes import ServiceType
from tests.browser.steps import handler_on_the_call_screen
from tests.services.directory_fixtures import every_day, make_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_night_spoc_is_closed_mid_morning_and_the_call_screen_says_where_to_send_callers(
    page, live_url, make_user, screenshot
):
    # The journeys run on Wednesday 10 June 2026 at 10:30 (tests/browser/conftest.py).
    make_service(
        "SPOC Coordinators",
        ServiceType.SPOC,
        hours=every_day(20, 8),
        areas=(),
        out_of_hours_message="Ring the out-of-hours GP service on",
        out_of_hours_phone="0151 496 0999",
    )

    handler_on_the_call_screen(page, live_url, make_user)

    callout = page.get_by_test_id("spoc-closed")
    expect(callout).to_contain_text(
        "The SPOC is closed until 20:00 today. Out of hours: Ring the out-of-hours GP service on "
        "0151 496 0999"
    )
    expect(callout.get_by_role("link", name="0151 496 0999")).to_have_attribute(
        "href", "tel:+441514960999"
    )
    screenshot(page, "call-screen-spoc-closed")
