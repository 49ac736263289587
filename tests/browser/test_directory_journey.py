"""A directory admin changes a service's hours; a call handler then finds it closed then."""

from datetime import timedelta

import pytest
from django.utils import timezone

from spoc.accounts.roles import Role
from tests.browser.steps import sign_in
from tests.services.directory_fixtures import every_day, make_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_shortens_hours_and_the_handler_sees_the_service_closed(
    browser, live_url, make_user, screenshot
):
    service = make_service(
        "Community Palliative Care", "COMMUNITY_SPC", hours=every_day(8, 20), areas=("L9",)
    )
    make_user(Role.DIRECTORY_ADMIN, username="diradmin1")
    make_user(Role.CALL_HANDLER, username="handler1")
    today = timezone.localdate()
    next_monday = today + timedelta(days=(7 - today.weekday()) or 7)
    at = f"{next_monday.isoformat()}T14:00"

    admin = browser.new_context().new_page()
    sign_in(admin, live_url, "diradmin1")
    admin.goto(f"{live_url}/directory/services/{service.pk}/edit/")
    # The first hours row is Monday 08:00-20:00: close at noon instead.
    admin.get_by_label("Closes 1", exact=True).fill("12:00")
    screenshot(admin, "1-admin-edits-monday")
    admin.get_by_role("button", name="Save service").click()
    admin.wait_for_url(f"{live_url}/directory/services/{service.pk}/")
    assert "Monday 08:00–12:00" in admin.get_by_test_id("opening-hours").inner_text()
    screenshot(admin, "2-service-saved")

    handler = browser.new_context().new_page()
    sign_in(handler, live_url, "handler1")
    handler.goto(f"{live_url}/directory/")
    handler.get_by_label("Need").select_option("URGENT_HOME_VISIT")
    handler.get_by_label("Postcode").fill("l9 7al")
    handler.get_by_label("Priority").select_option("P2")
    handler.get_by_label("Open at").fill(at)
    handler.get_by_role("button", name="Find services").click()
    card = handler.get_by_test_id("ranked-service").first
    card.wait_for()
    text = card.inner_text()
    assert "Community Palliative Care" in text
    assert "Closed; opens" in text
    assert "Cannot meet deadline" in text
    screenshot(handler, "3-handler-sees-closed")
