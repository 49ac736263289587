"""Steps that several browser journeys take the same way: signing in through the sign-in page, a
call handler opening the call screen for a patient, and the call taken about an unstable
patient's symptoms."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from spoc.accounts.roles import Role
from tests.conftest import TEST_PASSWORD
from tests.referrals.factories import PatientFactory

# A saved call's own page, /calls/<id>/ ("**/calls/*/" would match the call screen, /calls/new/,
# so waiting for it there would not wait).
CALL_SAVED = re.compile(r"/calls/\d+/$")


def sign_in(page: Any, live_url: str, username: str, *, password: str = TEST_PASSWORD) -> Any:
    """Sign ``username`` in on ``page`` and wait for the home page; returns the page."""
    page.goto(f"{live_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_url}/")
    return page


def sign_in_new_page(
    browser: Any,
    live_url: str,
    username: str,
    *,
    password: str = TEST_PASSWORD,
    viewport: dict[str, int] | None = None,
) -> Any:
    """A page of its own browser context (its own cookies), so that several people are signed in
    at once."""
    context = browser.new_context(**({"viewport": viewport} if viewport else {}))
    return sign_in(context.new_page(), live_url, username, password=password)


def handler_on_the_call_screen(
    page: Any, live_url: str, make_user: Any, *, clinician: bool = False
) -> Any:
    """A new call handler, ``handler1`` (a clinician if asked: only a clinician is offered the
    Phase of Illness), signed in on ``page`` and on the call screen of a new patient; returns the
    patient."""
    patient = PatientFactory()
    make_user(Role.CALL_HANDLER, username="handler1", is_clinician=clinician)
    sign_in(page, live_url, "handler1")
    page.goto(f"{live_url}/calls/new/?patient={patient.pk}")
    return patient


def describe_overwhelming_pain(page: Any) -> None:
    """A carer calls about a patient in overwhelming pain: the handler (not a clinician, so no
    Phase of Illness) asks the red flags, none present, scores the pain 4, triage suggests P2,
    and the handler ticks an urgent home visit."""
    page.get_by_label("Who is calling").select_option("CARER_FAMILY")
    page.get_by_label("Caller's name").fill("Siân O'Brien")
    page.get_by_label("Reason for the call").select_option("SYMPTOM_CONTROL")
    page.get_by_role("checkbox", name="None of these (asked, none present)").check()
    page.get_by_test_id("symptom-scores").locator("summary").click()
    page.get_by_label("Pain", exact=True).select_option("4")
    expect(page.get_by_test_id("suggested-priority")).to_have_text("P2")
    page.get_by_role("checkbox", name="Urgent home visit", exact=True).check()
