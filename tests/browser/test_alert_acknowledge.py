"""Acknowledging an urgent alert in a real browser: the page the text links to and the referral
page's warning pass axe-core at desktop and phone widths, and the Acknowledge button on either
stops the alert (docs/operations.md, "Urgent alerts and acknowledgement")."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from referrals.models import Alert, Referral
from tests.browser.hub_pages import seed_demo_area, sign_in, team_referral_path
from tests.browser.test_accessibility import WIDTHS, axe_violations, describe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def alert_waiting(referral: Referral, user: Any) -> Alert:
    """An urgent alert texted to ``user`` about ``referral``, not yet acknowledged."""
    assert referral.team_id is not None
    return Alert.objects.create(
        referral=referral,
        team_id=referral.team_id,
        routing_attempt=referral.routing_attempt,
        reason=Alert.Reason.NEW_REFERRAL,
        priority="P1",
        recipient=user,
        rung=Alert.Rung.ON_DUTY,
        phone="+447700900101",
        created_at=timezone.now(),
        sent_at=timezone.now(),
        status=Alert.Status.DELIVERED,
    )


@pytest.mark.parametrize("where", ["link", "referral page"])
def test_acknowledging_from_the_link_or_the_referral_page(
    browser, live_url, settings, screenshot, where
):
    from spoc.accounts.models import User

    seed_demo_area(settings)
    nurse = User.objects.get(username="nurse")
    referral_path = team_referral_path("nurse")
    referral = Referral.objects.get(pk=int(referral_path.strip("/").rsplit("/", 1)[-1]))
    alert = alert_waiting(referral, nurse)
    path = f"/alerts/{referral.pk}/" if where == "link" else referral_path
    name = "alert-page" if where == "link" else "referral-alert"
    found: dict[str, list[dict[str, Any]]] = {}
    for width, viewport in WIDTHS.items():
        page = sign_in(browser, live_url, "nurse", viewport=viewport)
        response = page.goto(f"{live_url}{path}")
        assert response is not None and response.ok
        page.get_by_test_id("acknowledge").wait_for()
        screenshot(page, f"{name}-{width}")
        violations = axe_violations(page, live_url)
        if violations:
            found[f"{path} at {width}"] = violations
        page.context.close()
    assert not found, "axe-core found:\n" + describe(found)
    page = sign_in(browser, live_url, "nurse", viewport=WIDTHS["phone"])
    page.goto(f"{live_url}{path}")
    page.get_by_test_id("acknowledge").click()
    # The form posts and comes back to the same address, so waiting for the address would not wait:
    # the message is what says the page after the post is there.
    expect(page.locator(".hub-message")).to_contain_text("Acknowledged")
    page.wait_for_load_state("load")
    expect(page).to_have_url(f"{live_url}{path}")
    expect(page.get_by_test_id("acknowledge")).to_have_count(0)
    alert.refresh_from_db()
    assert alert.acknowledged_by == nurse and alert.end == Alert.End.ACKNOWLEDGED
