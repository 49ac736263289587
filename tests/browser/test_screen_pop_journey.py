"""The phone rings, the handler answers on their extension, and their page pops the call: the fake
phone (devtools/fake_phone.py) sends the hub its signed events, the home page opens the call
screen by itself, offering the patient the carer who is calling cares for, and a call answered
while the handler is on a blank call screen is offered there ("Incoming call from ..."). axe-core finds nothing on either page, at 1366 and 375 px
(docs/telephony.md, "The screen pop")."""

import pytest
from playwright.sync_api import expect

from devtools.fake_phone import Phone
from spoc.accounts.roles import Role
from tests.browser.hub_pages import PHONE, WIDE
from tests.browser.steps import sign_in_new_page
from tests.browser.test_accessibility import axe_violations, describe
from tests.calls.telephony_steps import CARER_NUMBER, SECRET, patient_with_carer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("width", "viewport"), [("wide", WIDE), ("phone", PHONE)])
def test_an_answered_call_pops_the_call_screen_with_the_carers_patient(
    browser, live_url, make_user, screenshot, width, viewport
):
    cared_for = patient_with_carer(family_name="Nguyễn-O'Brien", given_name="Siân")
    make_user(Role.CALL_HANDLER, username="handler1", phone_extension="2001")
    page = sign_in_new_page(browser, live_url, "handler1", viewport=viewport)
    expect(page.get_by_test_id("screen-pop")).to_have_count(0)

    phone = Phone(hub_url=live_url, secret=SECRET, caller=CARER_NUMBER)
    assert phone.ring() == 200
    assert phone.answer("2001") == 200

    # The home page opens the call screen by itself for the call just answered.
    page.wait_for_url("**/calls/new/?telephony=*", timeout=15_000)
    expect(page.get_by_test_id("phone-call")).to_contain_text("Call from 0151 496 0123")
    expect(page.get_by_label("Caller's phone")).to_have_value("0151 496 0123")
    match = page.get_by_test_id("phone-match")
    expect(match).to_have_count(1)
    expect(match).to_contain_text("NGUYỄN-O'BRIEN, Siân")
    expect(match).to_contain_text("Siân Nguyễn, son or daughter (main carer)")
    screenshot(page, f"screen-pop-call-screen-{width}")
    found = {}
    if violations := axe_violations(page, live_url):
        found[f"call screen for the phone call at {width}"] = violations

    # Picking the offered patient puts their banner on the call screen.
    match.get_by_role("link").click()
    expect(page.locator("#patient-banner-heading")).to_contain_text("NGUYỄN-O'BRIEN")
    expect(page.locator("#id_patient")).to_have_value(str(cared_for.pk))

    # A call answered while the handler is on a blank call screen is offered, never opened over it.
    page.goto(f"{live_url}/calls/new/")
    assert phone.ring() == 200
    assert phone.answer("2001") == 200
    pop = page.get_by_test_id("screen-pop")
    expect(pop).to_contain_text("Incoming call from 0151 496 0123", timeout=15_000)
    screenshot(page, f"screen-pop-offered-{width}")
    if violations := axe_violations(page, live_url):
        found[f"call screen with the pop at {width}"] = violations
    page.get_by_role("link", name="Open the call screen").click()
    page.wait_for_url("**/calls/new/?telephony=*")
    expect(page.get_by_test_id("phone-call")).to_contain_text("Call from 0151 496 0123")
    assert not found, "axe-core found:\n" + describe(found)


@pytest.mark.parametrize(("width", "viewport"), [("wide", WIDE), ("phone", PHONE)])
def test_a_caller_who_gives_up_is_on_the_missed_calls_list_with_the_patient(
    browser, live_url, make_user, screenshot, width, viewport
):
    patient_with_carer(family_name="Kowalski")
    make_user(Role.SPOC_COORDINATOR, username="coord1")
    phone = Phone(hub_url=live_url, secret=SECRET, caller=CARER_NUMBER)
    assert phone.ring() == 200
    assert phone.give_up() == 200
    voicemail = Phone(hub_url=live_url, secret=SECRET, caller="07700 900456")
    assert voicemail.ring() == 200
    assert voicemail.voicemail("https://recordings.example.net/vm/1.mp3") == 200

    page = sign_in_new_page(browser, live_url, "coord1", viewport=viewport)
    page.get_by_role("link", name="Missed calls").first.click()
    rows = page.get_by_test_id("missed-call")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("Caller gave up")
    expect(rows.nth(1)).to_contain_text("KOWALSKI, Siân")
    expect(rows.nth(0)).to_contain_text("listen to the voicemail")
    screenshot(page, f"missed-calls-{width}")
    violations = axe_violations(page, live_url)
    assert not violations, "axe-core found:\n" + describe({f"missed calls at {width}": violations})
