"""A manager opens the dashboard with demo data in Debian's Chromium (screenshot kept)."""

import io

import pytest
from django.core.management import call_command

from spoc.dashboards.services import summaries_rebuild
from tests.browser.hub_pages import DEMO_PATIENTS
from tests.browser.steps import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_sees_the_dashboard_with_charts_and_tables(page, live_url, settings, screenshot):
    settings.DEMO_PASSWORD = "browser-dashboard-pass"
    # The demo area with the patients of the page-wide checks: enough calls and referrals in the
    # default period for the tiles, the charts and their tables to have data.
    call_command("seed_demo", "--patients", str(DEMO_PATIENTS), stdout=io.StringIO())
    summaries_rebuild()
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, live_url, "manager", password="browser-dashboard-pass")
    page.goto(f"{live_url}/dashboards/")
    assert page.get_by_role("heading", name="Dashboard", exact=True).is_visible()
    calls = page.locator("[data-tile='calls'] .dash-tile__value").inner_text()
    assert calls not in {"0", "–"}
    # Charts drawn from static Chart.js, each above its table.
    page.wait_for_function("document.querySelectorAll('canvas[data-chart]').length > 0")
    assert page.evaluate("typeof window.Chart") == "function"
    assert page.locator("table[data-table-key='referrals_by_need'] tbody tr").count() > 0
    screenshot(page, "dashboard-manager")
    page.get_by_role("link", name="Definition of Patients supported").click()
    page.wait_for_url("**/dashboards/definitions/#patients-supported")
    assert page.locator("#patients-supported").is_visible()
    assert [e for e in console_errors if "assets.nhs.uk" not in e] == []
