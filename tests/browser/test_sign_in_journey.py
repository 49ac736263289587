"""Each role signs in through Debian's Chromium and sees its home page (screenshots kept)."""

import io

import pytest
from django.core.management import call_command

from devtools.demo.users import DEMO_USERS
from tests.browser.hub_pages import DEMO_PATIENTS
from tests.browser.steps import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_users(settings):
    """Every demo user, in the demo area with the patients of the page-wide checks (enough for
    each home page to list rows; the full 300 take half a minute to seed, per test)."""
    settings.DEMO_PASSWORD = "browser-journey-pass"
    call_command("seed_demo", "--patients", str(DEMO_PATIENTS), stdout=io.StringIO())


def test_every_demo_user_signs_in_and_sees_their_home_page(page, live_url, demo_users, screenshot):
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    for demo in DEMO_USERS:
        page.goto(f"{live_url}/")
        assert "/accounts/login/" in page.url
        page.get_by_label("Username").fill(demo.username)
        page.get_by_label("Password").fill("browser-journey-pass")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_url}/")
        assert page.get_by_test_id("roles").inner_text() == demo.role
        screenshot(page, f"home-{demo.username}")
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{live_url}/accounts/login/")
    # No CSP violation or script error on any page (nhsuk-frontend, htmx and our module loaded).
    assert [e for e in console_errors if "assets.nhs.uk" not in e] == []


def test_wrong_password_is_explained_in_the_page(page, live_url, demo_users):
    page.goto(f"{live_url}/accounts/login/")
    page.get_by_label("Username").fill("nurse")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("There is a problem")


def test_idle_warning_offers_to_stay_signed_in_without_losing_typing(
    page, live_url, demo_users, settings
):
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 8
    settings.SESSION_IDLE_WARNING_SECONDS = 6
    sign_in(page, live_url, "auditor", password="browser-journey-pass")
    page.goto(f"{live_url}/audit/access-log/")
    page.get_by_label("Username").fill("typed but not sent")
    dialog = page.get_by_role("dialog")
    dialog.wait_for(state="visible", timeout=10_000)
    dialog.get_by_role("button", name="Stay signed in").click()
    dialog.wait_for(state="hidden", timeout=5_000)
    assert page.get_by_label("Username").input_value() == "typed but not sent"
    assert "/audit/access-log/" in page.url
