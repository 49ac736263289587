"""A manager opens the dashboard with demo data in Debian's Chromium (screenshot kept)."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from spoc.dashboards.services import summaries_rebuild
from tests.browser import hub_pages
from tests.browser.hub_pages import DEMO_PATIENTS, seed_demo_area
from tests.browser.steps import sign_in
from tests.browser.test_accessibility import WIDTHS, check_pages, describe
from tests.dashboards.builders import phone_call

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


def test_the_phone_figures_pass_axe_at_both_widths(browser, live_url, settings, screenshot):
    # The demo area has no phone calls: a day's worth, answered, abandoned, missed and left as
    # voicemails, either side of midnight, before the figures are rebuilt.
    seed_demo_area(settings)
    now = timezone.now()
    endings = ("ended", "abandoned", "voicemail", "ended")
    for n in range(16):
        phone_call(
            f"journey-{n}",
            rang_at=now - timedelta(days=n % 3, hours=n * 3 % 24, minutes=n),
            answered_after=n * 9 if n % 4 == 0 else None,
            ended_after=n * 13 + 20,
            ending=endings[n % 4],
        )
    summaries_rebuild()
    found = {}
    for width, viewport in WIDTHS.items():
        page = hub_pages.sign_in(browser, live_url, "manager", viewport=viewport)
        found.update(
            check_pages(page, live_url, [("dashboard-phone", "/dashboards/")], width, screenshot)
        )
        offered = page.locator("table[data-table-key='phone_calls'] tbody tr").first
        assert offered.locator("td").first.inner_text() == "16"
        page.wait_for_function(
            "document.querySelector(\"canvas[data-table='phone_calls_by_hour']\") !== null"
        )
        page.context.close()
    assert not found, "axe-core found:\n" + describe(found)
