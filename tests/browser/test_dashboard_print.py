"""A manager prints the dashboard (static/css/print.css, docs/metrics.md "Reading and printing the
dashboard"): no header, menu, filter bar or buttons on paper, every section there with its
heading, no table wider than the page, nothing read by colour alone; Chromium makes a PDF of it.
Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import pytest

from spoc.dashboards.services import summaries_rebuild
from tests.browser.hub_pages import WIDE, seed_demo_area, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# An A4 page's width less the print stylesheet's margins (210 mm - 2 x 12 mm), in CSS pixels.
A4_PRINTED_WIDTH = round((210 - 2 * 12) / 25.4 * 96)

WIDER_THAN_THE_PAGE = """() => [...document.querySelectorAll('main *')]
    .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5
                 || e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible')
    .slice(0, 8).map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).trim().split(/\\s+/).join('.') : ''))"""


@pytest.fixture
def dashboard(browser, live_url, settings):
    seed_demo_area(settings)
    summaries_rebuild()
    page = sign_in(browser, live_url, "manager", viewport=WIDE)
    page.goto(f"{live_url}/dashboards/")
    return page


def test_the_printed_dashboard_has_its_sections_and_none_of_the_screens_controls(
    dashboard, screenshot
):
    page = dashboard
    sections = page.locator("main section.dash-section")
    count = sections.count()
    assert count > 10
    # On screen: the menu, the filter bar and the contents list are there.
    assert page.get_by_role("navigation", name="Menu").is_visible()
    assert page.get_by_test_id("dashboard-filters").is_visible()
    assert page.get_by_test_id("dashboard-contents").is_visible()

    page.emulate_media(media="print")
    screenshot(page, "dashboard-print")
    assert not page.locator("header.nhsuk-header").is_visible()
    assert not page.get_by_role("navigation", name="Menu").is_visible()
    assert not page.get_by_test_id("dashboard-filters").is_visible()
    assert not page.get_by_test_id("dashboard-contents").is_visible()
    assert not page.locator("footer").is_visible()
    assert page.locator("main button:visible, main .nhsuk-button:visible").count() == 0
    assert page.get_by_role("heading", name="Dashboard", exact=True).is_visible()
    for n in range(count):
        section = sections.nth(n)
        assert section.is_visible()
        heading = section.locator("h2")
        assert heading.is_visible(), heading.inner_text()
        # Each heading is kept with what follows it on paper.
        assert heading.evaluate("h => getComputedStyle(h).breakAfter") == "avoid"
    assert page.locator("table[data-table-key='referrals_by_need'] tbody tr").first.is_visible()


def test_no_printed_table_is_clipped_or_needs_colour(dashboard, screenshot):
    page = dashboard
    # The heatmap is shaded on screen, white text on its darkest cells.
    page.wait_for_function("document.querySelector('table.dash-heatmap td[style]') !== null")
    page.emulate_media(media="print")
    page.set_viewport_size({"width": A4_PRINTED_WIDTH, "height": 1100})
    screenshot(page, "dashboard-print-a4")
    wider = page.evaluate(WIDER_THAN_THE_PAGE)
    assert wider == [], f"wider than an A4 page, or clipped: {wider}"
    # The heatmap reads without colour: black numbers on no shading.
    cells = page.evaluate("""() => [...document.querySelectorAll('table.dash-heatmap tbody td')]
        .map(td => [getComputedStyle(td).color, getComputedStyle(td).backgroundColor])""")
    assert cells and {tuple(c) for c in cells} == {("rgb(0, 0, 0)", "rgba(0, 0, 0, 0)")}


def test_the_dashboard_prints_to_a_pdf(dashboard):
    pdf = dashboard.pdf(format="A4", print_background=False)
    assert pdf.startswith(b"%PDF-")
    assert len(pdf) > 10_000
    assert b"/Type /Page" in pdf
