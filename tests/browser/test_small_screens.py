"""The work pages on a phone (375 x 812): the team queue, the caseload, the call screen, the patient
page, the referral page, the handler's recent calls and the coordinator's board fit the screen's
width, so nothing needs sideways scrolling; their tables' rows become cards (.hub-cards in
static/css/app.css, CSS only). Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import pytest

from tests.browser.hub_pages import (
    PHONE,
    patient_path,
    seed_demo_area,
    service_path,
    sign_in,
    team_referral_path,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDER_THAN_THE_SCREEN = """() => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
    .slice(0, 8).map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).trim().split(/\\s+/).join('.') : ''))"""


def assert_fits(page, name, screenshot):
    screenshot(page, f"{name}-phone")
    scroll_width, inner_width = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width, (
        f"{name} scrolls sideways at {inner_width} px: {scroll_width} px wide; "
        f"wider than the screen: {page.evaluate(WIDER_THAN_THE_SCREEN)}"
    )


def test_the_nurse_pages_fit_a_phone(browser, live_url, settings, screenshot):
    seed_demo_area(settings)
    page = sign_in(browser, live_url, "nurse", viewport=PHONE)
    pages = [
        ("team-queue", "/queue/"),
        ("caseload", "/queue/caseload/"),
        ("referral-page", team_referral_path("nurse")),
        ("patient-page", patient_path("nurse")),
    ]
    for name, path in pages:
        page.goto(f"{live_url}{path}")
        assert_fits(page, name, screenshot)
    # The queue's rows are cards: one column, each cell labelled by its column's heading.
    page.goto(f"{live_url}/queue/")
    row = page.get_by_test_id("queue-row").first
    assert row.evaluate("r => getComputedStyle(r).display") == "block"


def test_the_call_screen_patient_page_and_recent_calls_fit_a_phone(
    browser, live_url, settings, screenshot
):
    seed_demo_area(settings)
    page = sign_in(browser, live_url, "handler", viewport=PHONE)
    patient = patient_path("handler")
    patient_id = patient.strip("/").split("/")[-1]
    for name, path in [
        ("call-screen", f"/calls/new/?patient={patient_id}"),
        ("patient-page", patient),
        ("my-calls", "/calls/"),
    ]:
        page.goto(f"{live_url}{path}")
        assert_fits(page, name, screenshot)


def test_the_coordinator_board_fits_a_phone(browser, live_url, settings, screenshot):
    seed_demo_area(settings)
    page = sign_in(browser, live_url, "coordinator", viewport=PHONE)
    page.goto(f"{live_url}/board/")
    assert page.get_by_test_id("board-row").count() > 0
    assert_fits(page, "board", screenshot)


def test_the_metric_definitions_and_the_access_log_fit_a_phone(
    browser, live_url, settings, screenshot
):
    seed_demo_area(settings)
    manager = sign_in(browser, live_url, "manager", viewport=PHONE)
    manager.goto(f"{live_url}/dashboards/definitions/")
    assert manager.locator("main table.hub-cards").count() > 0
    assert_fits(manager, "definitions", screenshot)
    auditor = sign_in(browser, live_url, "auditor", viewport=PHONE)
    auditor.goto(f"{live_url}/audit/access-log/")
    assert auditor.get_by_test_id("access-log-row").count() > 0
    assert_fits(auditor, "access-log", screenshot)


def test_the_directory_service_list_and_edit_pages_fit_a_phone(
    browser, live_url, settings, screenshot
):
    """The directory admin's service list and service edit page (its rows cards too), and the edit
    page answered with errors."""
    seed_demo_area(settings)
    page = sign_in(browser, live_url, "diradmin", viewport=PHONE)
    edit = service_path() + "edit/"
    for name, path in [("service-list", "/directory/services/"), ("service-edit", edit)]:
        page.goto(f"{live_url}{path}")
        assert_fits(page, name, screenshot)
    # The service list's and the opening hours' rows are cards.
    page.goto(f"{live_url}/directory/services/")
    assert (
        page.get_by_test_id("service-row").first.evaluate("r => getComputedStyle(r).display")
        == "block"
    )
    # Saved with its name cleared, the browser sends the form (no pop-up): the server's error
    # summary comes back at the top, and the page with its errors still fits.
    page.goto(f"{live_url}{edit}")
    hours_row = page.get_by_test_id("hours-table").locator("tr.nhsuk-table__row").first
    assert hours_row.evaluate("r => getComputedStyle(r).display") == "block"
    page.locator("#id_name").fill("")
    page.get_by_role("button", name="Save service").click()
    summary = page.get_by_test_id("error-summary")
    summary.wait_for()
    # The page answered is measured once its style sheets are in (its load event), not as soon as
    # the summary is parsed.
    page.wait_for_load_state("load")
    assert summary.inner_text().startswith("There is a problem")
    assert page.locator("#id_name").evaluate("e => e.classList.contains('nhsuk-input--error')")
    assert_fits(page, "service-edit-errors", screenshot)
