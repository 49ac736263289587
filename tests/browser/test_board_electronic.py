"""The coordinator board in Chromium with what partner systems sent: a referral NHS 111 sent
asking for something the hub does not map waits on the board with its sender and requester; a
possible patient match shows the new record beside the patient the hub knew, and the coordinator
merges them from the board; a message the hub could not deliver to the sender is sent again from
it. axe-core finds nothing on the board with these rows, at 1366 px and
375 px (the screenshots go to artifacts/screenshots/)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from patients.models import Patient
from referrals.models import Referral
from referrals.services.routing import referral_route
from services.codes import ServiceType
from spoc.accounts.roles import Role
from tests.browser.hub_pages import PHONE, WIDE
from tests.browser.steps import sign_in_new_page
from tests.browser.test_accessibility import axe_violations, describe
from tests.interop.bars_messages import referral_message
from tests.referrals.electronic import REQUESTER, nhs_111, possible_match, process, undelivered
from tests.services.directory_fixtures import make_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_board_shows_the_sender_and_a_possible_match_is_merged_from_it(
    browser, live_url, make_user, screenshot
):
    # The journey's clock (tests/browser/conftest.py) is 10:30 on Wednesday 10 June 2026 in London.
    make_service("Community Palliative Care", ServiceType.COMMUNITY_SPC, open_24_7=True)
    make_service("SPOC coordinators", ServiceType.SPOC, open_24_7=True, areas=())
    make_user(Role.SPOC_COORDINATOR, username="coord1", is_clinician=True)
    partner = nhs_111()
    message = referral_message(reference="111-CASE-0042", given="Aled", family="Jones")
    message["entry"][1]["resource"]["code"] = {"text": "Syringe driver review"}
    process(partner, message)
    unmapped = Referral.objects.get(sender_reference="111-CASE-0042")
    assert referral_route(referral_id=unmapped.pk) is not None  # to the coordinators
    match, known, referral = possible_match(partner, given="Mai", family="Nguyễn")
    failed = undelivered(unmapped, error="HTTP 503")

    page = sign_in_new_page(browser, live_url, "coord1", viewport=WIDE)
    page.goto(f"{live_url}/board/")
    row = page.get_by_test_id("board-unroutable").get_by_test_id("board-row")
    expect(row).to_contain_text("JONES, Aled")
    expect(row.get_by_test_id("referral-electronic")).to_have_text("Electronic")
    expect(row.get_by_test_id("referral-sender")).to_contain_text("From NHS 111 North West (NLO01)")
    expect(row.get_by_test_id("referral-sender")).to_contain_text(f"Requested by {REQUESTER}")
    expect(row).to_contain_text("Syringe driver review")

    matches = page.get_by_test_id("board-matches")
    expect(matches.get_by_role("heading", level=2)).to_have_text("Possible patient matches 1")
    card = matches.get_by_test_id("possible-match")
    expect(card.get_by_role("heading", level=3)).to_have_text(match.patient_label)
    expect(card.get_by_test_id("match-known-name")).to_have_text("NGUYỄN, Mai")
    expect(card.get_by_role("link", name=f"REF-{referral.pk:06d}")).to_be_visible()
    waiting = page.get_by_test_id("board-undelivered").get_by_test_id("undelivered-row")
    expect(waiting).to_contain_text("NHS 111 North West (NLO01)")
    expect(waiting).to_contain_text("8 tries: HTTP 503")

    found = {}
    for width, viewport in (("wide", WIDE), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        screenshot(page, f"board-electronic-{width}")
        violations = axe_violations(page, live_url)
        if violations:
            found[f"/board/ at {width}"] = violations
    assert not found, "axe-core found:\n" + describe(found)
    # On a phone the board never scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.set_viewport_size(WIDE)
    card.get_by_role("button", name="Same person: merge").click()
    expect(page.get_by_text("Merged into the record of NGUYỄN, Mai")).to_be_visible()
    expect(page.get_by_test_id("possible-match")).to_have_count(0)
    expect(matches).to_contain_text("None.")
    screenshot(page, "board-electronic-merged")
    waiting.get_by_role("button", name="Send again").click()
    expect(page.get_by_text("it will be sent again within a minute")).to_be_visible()
    expect(page.get_by_test_id("undelivered-row")).to_have_count(0)
    failed.refresh_from_db()
    assert failed.status == "PENDING"
    referral.refresh_from_db()
    assert referral.patient_id == known.pk
    assert match.patient_id is not None
    assert not Patient.objects.filter(pk=match.patient_id).exists()

    # The referral page says who sent it.
    page.goto(f"{live_url}/queue/referrals/{referral.pk}/")
    expect(page.get_by_test_id("referral-sent-by")).to_contain_text(
        "NHS 111 North West (ODS NLO01)"
    )
    screenshot(page, "referral-sent-by")
