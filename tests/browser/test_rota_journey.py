"""A team lead keeps the duty rota on a phone: the evening has nobody, she adds a pattern that
covers it, then cancels tonight's shift and sees the gap again (docs/operations.md "The duty
rota"). The journeys run on Wednesday 10 June 2026 at 10:30 (tests/browser/conftest.py)."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from playwright.sync_api import expect

from services.models import TeamMembership
from spoc.accounts.roles import Role
from tests.browser.hub_pages import PHONE
from tests.browser.steps import sign_in_new_page
from tests.rota.factories import pattern
from tests.services.directory_fixtures import every_day, make_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_lead_covers_the_evening_then_cancels_tonight_on_a_phone(
    browser: Any, live_url: str, make_user: Any, screenshot: Any
) -> None:
    team = make_service("Evening Star", "COMMUNITY_SPC", hours=every_day(8, 22)).team
    lead = make_user(Role.TEAM_LEAD, username="lead1", first_name="Declan", last_name="O'Brien")
    nurse = make_user(
        Role.SPECIALIST_NURSE, username="nurse1", first_name="Siân", last_name="Pritchard"
    )
    TeamMembership.objects.create(user=lead, team=team, role=TeamMembership.Role.LEAD)
    TeamMembership.objects.create(user=nurse, team=team)
    pattern(team, nurse, start=time(8), end=time(16))

    page = sign_in_new_page(browser, live_url, "lead1", viewport=PHONE)
    page.goto(f"{live_url}/rota/teams/{team.pk}/")
    expect(page.get_by_test_id("on-duty-person")).to_contain_text("PRITCHARD, Siân")
    expect(page.get_by_test_id("rota-gap").first).to_contain_text("From today 16:00 to today 22:00")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "rota-gaps-phone")

    page.get_by_role("link", name="Add a shift pattern").click()
    page.get_by_label("Person").select_option(label="O'BRIEN, Declan")
    page.get_by_label("Role on the shift").select_option(label="Team lead")
    page.get_by_label("Phone").fill("07700 900321")
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"):
        page.get_by_label(day).check()
    page.get_by_label("Starts at").fill("16:00")
    page.get_by_label("Ends at").fill("22:00")
    page.get_by_label("Also runs on bank holidays").check()
    page.get_by_role("button", name="Save pattern").click()
    expect(page.get_by_text("Shift pattern added.")).to_be_visible()
    expect(page.get_by_test_id("rota-gaps")).to_contain_text("None: somebody is on duty")

    page.get_by_role(
        "link", name="Cancel or replace O'BRIEN, Declan, Wednesday 10 June 2026 16:00"
    ).click()
    page.get_by_label("Reason (optional)").fill("Called to a meeting")
    page.get_by_role("button", name="Cancel or replace this shift").click()
    expect(page.get_by_text("Shift cancelled.")).to_be_visible()
    expect(page.get_by_test_id("rota-gap").first).to_contain_text("From today 16:00 to today 22:00")
    expect(page.get_by_test_id("rota-changes")).to_contain_text("Called to a meeting")
    screenshot(page, "rota-cancelled-phone")
