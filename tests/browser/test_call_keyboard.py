"""The call screen by keyboard alone: find the patient, say who is calling and why, tick two needs
(one with a note) and save, with nothing but key presses (no clicks, no ``fill``), within a budget
of key presses. Also: focus lands on the patient banner's heading after picking a search result, a
need's note shows only once its need is ticked, the symptom scores start folded away, the
suggestion comes right after the needs and is a polite live region, and no style sheet or template
of ours removes the focus outline."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from calls.models import Call
from referrals.models import Referral
from spoc.accounts.roles import Role
from tests.browser.steps import CALL_SAVED, handler_on_the_call_screen, sign_in
from tests.referrals.factories import PatientFactory

ROOT = Path(__file__).resolve().parents[2]

# Key presses for the whole journey, counted by Keys below: each keyboard.press (Tab, Space,
# Enter) counts one, and each string typed with keyboard.type counts one, however long (a search,
# a name, the first letters of a select's option, a note). The handler is a clinician, so the
# Phase of Illness is offered. The journey takes 70:
#   -  3: type the search (the box has the focus), Tab to the one result, Enter;
#   -  4: from the banner's heading, Tab past the patient's name link and "Change patient" to "Who
#         is calling", type its option;
#   -  2: Tab to the caller's name, type it;
#   -  5: Tab past phone, relationship and organisation to the reason, type its option;
#   -  3: Tab past the call's notes to the phase of illness, type its option;
#   - 13: Tab past carer coping, where the patient is, the hospital site, the 6 red flags, "None
#         of these" and the folded symptom scores (one stop, not twelve) to the first need, Space;
#   -  2: Tab to its note (shown now), type it;
#   - 11: Tab past its priority and reason and the 7 needs between to carer support, Space;
#   - 17: Tab past carer support's note, whom it is for, their consent, its priority and reason,
#         the care network's 8 needs after it, the call's priority and its reason to the outcome,
#         type its option;
#   - 10: Tab through the call-back time (Chromium makes each part of a date and time box a stop of
#         its own: 7 here) and the call-back note to "Save call", Enter.
# The budget leaves 5 to spare (a locale whose date and time box has other parts), so the test fails
# when the path gets longer (a new stop before the needs, the symptom scores unfolded at first).
KEY_BUDGET = 75


class Keys:
    """The keyboard, counting every press and keeping each place the focus visits."""

    def __init__(self, page):
        self.page = page
        self.count = 0
        self.visited: list[str] = []

    def press(self, key):
        self.page.keyboard.press(key)
        self.count += 1

    def type(self, text):
        self.page.keyboard.type(text)
        self.count += 1

    def focused(self):
        """The focused element's name, id and text (what a Tab stop is known by here)."""
        return self.page.evaluate(
            "() => { const e = document.activeElement;"
            " return e ? [e.getAttribute('name') || '', e.id, e.textContent.trim()] : ['', '', '']; }"
        )

    def tab_to(self, target, *, most=15):
        """Press Tab until the focus is on ``target`` (a name, an id, or a link's or button's text)."""
        for _ in range(most):
            self.press("Tab")
            name, id_, text = self.focused()
            self.visited.append(name or id_ or text)
            if target in (name, id_, text):
                return
        raise AssertionError(f"{target} not reached in {most} Tabs: {self.visited[-most:]}")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_call_by_keyboard_alone(page, live_url, make_user, screenshot):
    patient = PatientFactory(given_name="Mai", family_name="Okafor")
    make_user(Role.CALL_HANDLER, username="handler1", is_clinician=True)
    # Signing in is not part of the call: the journey starts on the call screen.
    sign_in(page, live_url, "handler1")
    page.goto(f"{live_url}/calls/new/")
    keys = Keys(page)

    # Set-up on the page, before any key: the symptom scores are folded away, each need's note is
    # hidden until its need is ticked (nhsuk-frontend's script has run: it sets aria-expanded).
    visit_box = page.locator("#id_needs_0")
    expect(visit_box).to_have_attribute("aria-expanded", "false")
    assert page.get_by_test_id("symptom-scores").get_attribute("open") is None
    assert not page.get_by_label("Pain", exact=True).is_visible()
    visit_note = page.get_by_label("Note for urgent home visit")
    assert not visit_note.is_visible()
    # The search box has the focus when the screen opens (autofocus, applied at a rendering update
    # that may come after the load event).
    expect(page.locator("#call-patient-q")).to_be_focused()

    keys.type("okafor")
    result = page.get_by_test_id("patient-result")
    expect(result).to_have_count(1)
    keys.tab_to("OKAFOR, Mai")
    keys.press("Enter")
    # Focus moves to the banner's heading (templates/includes/patient_banner.html).
    page.wait_for_function(
        "() => document.activeElement && document.activeElement.id === 'patient-banner-heading'"
    )
    assert page.evaluate("document.activeElement.textContent.trim()") == "OKAFOR, Mai"
    assert page.locator("#id_patient").input_value() == str(patient.pk)
    screenshot(page, "1-patient-picked")

    keys.tab_to("caller_type")
    keys.type("Carer")
    expect(page.get_by_label("Who is calling")).to_have_value("CARER_FAMILY")
    keys.tab_to("caller_name")
    keys.type("Siân O'Brien")
    keys.tab_to("reason")
    keys.type("Symptom")
    expect(page.get_by_label("Reason for the call")).to_have_value("SYMPTOM_CONTROL")
    keys.tab_to("phase")
    keys.type("Unstable")
    expect(page.get_by_test_id("suggested-priority")).to_have_text("P2")

    keys.tab_to("id_needs_0")  # the first need's box: urgent home visit
    assert not visit_note.is_visible()
    keys.press("Space")
    expect(visit_box).to_be_checked()
    expect(visit_note).to_be_visible()
    expect(visit_box).to_have_attribute("aria-expanded", "true")
    keys.tab_to("note_urgent_home_visit")
    keys.type("Pain since lunchtime, breakthrough doses not working")

    carer_box = page.locator("#id_needs_8")
    carer_note = page.get_by_label("Note for carer support")
    keys.tab_to("id_needs_8")  # carer support
    assert not carer_note.is_visible()
    keys.press("Space")
    expect(carer_box).to_be_checked()
    expect(carer_note).to_be_visible()
    expect(page.get_by_test_id("need-suggested-carer_support")).to_contain_text("Suggested P4")
    screenshot(page, "2-two-needs-ticked")

    # Past carer support's own fields and the care network's needs after it.
    keys.tab_to("disposition", most=30)
    keys.type("Referrals")
    expect(page.get_by_label("Outcome of the call")).to_have_value("REFERRALS_CREATED")
    keys.tab_to("Save call")
    keys.press("Enter")
    page.wait_for_url(CALL_SAVED)
    screenshot(page, "3-call-saved")

    # A sensible order: the patient, the caller, the reason, triage, the needs with their notes,
    # the call's priority beside the suggestion, the outcome, then save.
    # The patient's name is a stop twice: the search result, then the link in the banner's heading.
    expected = [
        "OKAFOR, Mai",
        "OKAFOR, Mai",
        "caller_type",
        "caller_name",
        "reason",
        "notes",
        "phase",
        *["red_flags"] * 7,
        "note_urgent_home_visit",
        "note_carer_support",
        "chosen_priority",
        "disposition",
        "Save call",
    ]
    stops = [stop for stop in keys.visited if stop in set(expected)]
    assert stops == expected, stops
    assert keys.count <= KEY_BUDGET, (
        f"{keys.count} key presses, budget {KEY_BUDGET}: {keys.visited}"
    )

    call = Call.objects.get()
    assert (call.patient_id, call.caller_type, call.caller_name, call.reason, call.disposition) == (
        patient.pk,
        "CARER_FAMILY",
        "Siân O'Brien",
        "SYMPTOM_CONTROL",
        "REFERRALS_CREATED",
    )
    referrals = {referral.need: referral for referral in Referral.objects.filter(call=call)}
    assert set(referrals) == {"URGENT_HOME_VISIT", "CARER_SUPPORT"}
    assert (
        referrals["URGENT_HOME_VISIT"].note
        == "Pain since lunchtime, breakthrough doses not working"
    )
    assert (referrals["URGENT_HOME_VISIT"].priority, referrals["CARER_SUPPORT"].priority) == (
        "P2",
        "P4",
    )
    assert all(referral.patient_id == patient.pk for referral in referrals.values())


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_suggestion_follows_the_needs_and_is_announced_politely(page, live_url, make_user):
    handler_on_the_call_screen(page, live_url, make_user, clinician=True)

    # Reading order: the needs, then the suggestion, then the end of the call.
    headings = page.locator("main h2").all_inner_texts()
    assert headings.index("Suggested priority") == headings.index("Needs") + 1, headings
    assert headings.index("End the call") > headings.index("Suggested priority")
    # No control between the last need's reason and the suggestion.
    between = page.evaluate("""() => {
        const reasons = document.querySelectorAll('[id^="id_override_reason_"]');
        const last = reasons[reasons.length - 1];
        const suggestion = document.querySelector('#suggestion');
        return [...document.querySelectorAll('input, select, textarea, button, a[href], summary')]
            .filter(e => last.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING
                      && e.compareDocumentPosition(suggestion) & Node.DOCUMENT_POSITION_FOLLOWING).length;
    }""")
    assert between == 0

    # The live region stays in the page while the suggestion inside it is redrawn, so it is announced.
    region = page.get_by_test_id("suggestion-region")
    expect(region).to_have_attribute("aria-live", "polite")
    region.evaluate("region => { window.suggestionRegion = region; }")
    page.get_by_label("Phase of illness").select_option("UNSTABLE")
    expect(region.get_by_test_id("suggested-priority")).to_have_text("P2")
    assert page.evaluate(
        "() => window.suggestionRegion.isConnected && window.suggestionRegion.contains(document.querySelector('#suggestion'))"
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_enter_in_the_search_box_searches_and_change_patient_returns_to_it(
    page, live_url, make_user
):
    PatientFactory(given_name="Mai", family_name="Okafor")
    make_user(Role.CALL_HANDLER, username="handler1")
    sign_in(page, live_url, "handler1")
    page.goto(f"{live_url}/calls/new/")
    page.keyboard.type("okafor")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("patient-result")).to_have_count(1)
    assert page.url.endswith("/calls/new/")  # the half-typed call was not submitted
    assert not Call.objects.exists()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.activeElement && document.activeElement.id === 'patient-banner-heading'"
    )
    page.keyboard.press("Tab")  # the patient's name link
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Change patient"
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.activeElement && document.activeElement.id === 'call-patient-q'"
    )
    assert page.locator("#id_patient").input_value() == ""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_without_javascript_every_note_shows_with_its_label(browser, live_url, make_user):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        handler_on_the_call_screen(page, live_url, make_user)
        for label in ("Note for urgent home visit", "Note for carer support"):
            assert page.get_by_label(label, exact=True).is_visible(), label
        assert page.get_by_role("checkbox", name="Carer support", exact=True).get_attribute(
            "aria-controls"
        ) == ("conditional-id_needs_8")
        # The symptom scores still open with the keyboard (a native <details>).
        summary = page.get_by_test_id("symptom-scores").locator("summary")
        summary.focus()
        page.keyboard.press("Enter")
        expect(page.get_by_label("Pain", exact=True)).to_be_visible()
    finally:
        context.close()


DETAILS = re.compile(r'<details class="nhsuk-details hub-symptoms"[^>]*>')


def symptoms_tag(content: str) -> str:
    """The opening tag of the symptom scores' details element on the page."""
    found = DETAILS.search(content)
    assert found is not None, content
    return found.group(0)


@pytest.mark.django_db
def test_the_symptom_scores_open_when_one_of_them_is_in_error(client, make_user):
    client.force_login(make_user(Role.CALL_HANDLER))
    patient = PatientFactory()
    form = {
        "idempotency_key": "k" * 32,
        "received_at": "2026-06-10T09:30:00+00:00",
        "patient": patient.pk,
        "caller_type": "",
        "reason": "SYMPTOM_CONTROL",
        "disposition": "ADVICE_GIVEN",
    }
    folded = client.post("/calls/new/", form)
    assert folded.status_code == 200 and "Who is calling" in folded.content.decode()
    assert " open" not in symptoms_tag(folded.content.decode())

    opened = client.post("/calls/new/", {**form, "ipos_pain": "9"})
    content = opened.content.decode()
    assert opened.status_code == 200 and not Call.objects.exists()
    assert symptoms_tag(content).endswith(" open>")
    assert "Select a valid choice. 9 is not one of the available choices." in content


FOCUS_REMOVED = re.compile(
    r"outline(?:-style)?\s*:\s*(?:none|0(?:px)?)\s*(?:!important\s*)?[;}\"']", re.IGNORECASE
)


def test_no_style_sheet_or_template_of_ours_removes_the_focus_outline():
    """A focusable control must keep a visible focus: nothing of ours sets ``outline: none`` or
    ``outline: 0`` (nhsuk-frontend's own focus styles, in static/vendor, are not ours to scan)."""
    files = [
        *sorted((ROOT / "static" / "css").glob("*.css")),
        *sorted((ROOT / "templates").rglob("*.html")),
    ]
    assert any(path.name == "app.css" for path in files) and any(
        path.name == "call_new.html" for path in files
    )
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in files
        for match in FOCUS_REMOVED.finditer(path.read_text(encoding="utf-8"))
    ]
    assert not found, found
