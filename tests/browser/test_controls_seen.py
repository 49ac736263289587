"""What a person sees, not what the DOM says: a ticked checkbox or radio looks different from an
unticked one, and a focused control looks different from an unfocused one (screenshots compared
pixel for pixel)."""

import hashlib

import pytest
from playwright.sync_api import expect

from spoc.accounts.roles import Role
from tests.browser.steps import sign_in
from tests.referrals.factories import member
from tests.services.directory_fixtures import make_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def picture(item):
    return hashlib.sha256(item.screenshot(animations="disabled")).hexdigest()


def assert_seen(page, control, item, name, screenshot):
    """Unticked, focused and ticked are three different pictures of the control's item."""
    page.mouse.move(0, 0)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    unticked = picture(item)
    control.focus()
    focused = picture(item)
    assert focused != unticked, f"{name}: focus is invisible"
    control.check()
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.mouse.move(0, 0)
    ticked = picture(item)
    expect(control).to_be_checked()
    assert ticked != unticked, f"{name}: ticked looks unticked"
    screenshot(page, name)


def test_call_screen_needs_and_red_flags_show_their_ticks_and_focus(
    page, live_url, make_user, screenshot
):
    make_user(Role.CALL_HANDLER, username="handler1")
    sign_in(page, live_url, "handler1")
    page.goto(f"{live_url}/calls/new/")
    for label in ("Urgent home visit", "Carer support"):
        box = page.get_by_role("checkbox", name=label, exact=True)
        assert_seen(page, box, box.locator("xpath=.."), f"need-{label}", screenshot)
    flags = page.locator("input[name=red_flags]")
    assert flags.count() > 0
    first = flags.first
    assert_seen(page, first, first.locator("xpath=.."), "red-flag", screenshot)


def test_directory_radios_show_the_choice_and_focus(page, live_url, make_user, screenshot):
    service = make_service(
        "Community Palliative Care", "COMMUNITY_SPC", open_24_7=True, areas=("L9",)
    )
    member(make_user, service.team, "lead1", role=Role.TEAM_LEAD, lead=True)
    sign_in(page, live_url, "lead1")
    page.goto(f"{live_url}/directory/services/{service.pk}/")
    radio = page.locator("input[name=rag]").nth(1)
    assert_seen(page, radio, radio.locator("xpath=.."), "capacity-radio", screenshot)
