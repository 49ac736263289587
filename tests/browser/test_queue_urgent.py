"""Urgent work on top, in a real browser: a nurse has her team's queue open when a P1 referral
arrives; at the page's next poll the banner appears in the live region that was there from the
start and the P1 is the first row; she claims it and the banner goes, and it goes too from a
colleague's open queue at the poll after the claim."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from referrals.transitions import ReferralStatus
from services.codes import ServiceType
from services.models import TeamMembership
from spoc.accounts.roles import Role
from tests.browser.steps import sign_in_new_page
from tests.referrals.factories import PatientFactory, ReferralFactory
from tests.services.directory_fixtures import make_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Past the queue's poll interval (templates/queue/queue.html: every 15 s).
NEXT_POLL_MS = 16_000


def waiting(team, priority, family_name, minutes):
    now = timezone.now()
    return ReferralFactory(
        team=team,
        priority=priority,
        status=ReferralStatus.QUEUED,
        patient=PatientFactory(family_name=family_name, postcode="L9 7AL"),
        accept_by=now + timedelta(minutes=min(minutes, 15)),
        contact_by=now + timedelta(minutes=minutes),
    )


def open_queue(page, live_url):
    page.goto(f"{live_url}/queue/")
    expect(page.get_by_test_id("queue")).to_be_visible()
    # Mark the live region: the banner must arrive inside this very element, not a new one, for a
    # screen reader to announce it.
    page.get_by_test_id("urgent-alert").evaluate(
        "region => { region.dataset.fromTheStart = 'yes'; }"
    )


def test_a_new_p1_raises_the_banner_tops_the_queue_and_goes_when_claimed(
    browser, live_url, make_user, screenshot
):
    community = make_service(
        "Community Palliative Care", ServiceType.COMMUNITY_SPC, open_24_7=True, areas=("L9",)
    )
    for username, first, last in (("nurse_a", "Siân", "O'Brien"), ("nurse_b", "Minh", "Nguyễn")):
        nurse = make_user(
            Role.SPECIALIST_NURSE,
            username=username,
            first_name=first,
            last_name=last,
            is_clinician=True,
        )
        TeamMembership.objects.create(user=nurse, team=community.team)
    waiting(community.team, "P3", "Okafor", minutes=60)

    nurse_a = sign_in_new_page(browser, live_url, "nurse_a")
    nurse_b = sign_in_new_page(browser, live_url, "nurse_b")
    for page in (nurse_a, nurse_b):
        open_queue(page, live_url)
        expect(page.get_by_test_id("urgent-banner")).to_have_count(0)
    region = nurse_a.get_by_test_id("urgent-alert")
    expect(region).to_have_attribute("aria-live", "assertive")
    screenshot(nurse_a, "1-queue-open-nothing-urgent")

    # A P1 arrives for the team, its deadline later than the P3's.
    p1 = waiting(community.team, "P1", "Kowalczyk", minutes=120)

    # At the next poll: the banner, in the live region that was there from the start, and the P1
    # first, highlighted in words.
    for page in (nurse_a, nurse_b):
        page.clock.fast_forward(NEXT_POLL_MS)
        banner = page.get_by_test_id("urgent-alert").get_by_test_id("urgent-banner")
        expect(banner).to_contain_text("Urgent referral waiting to be claimed")
        expect(banner).to_contain_text("1 P1 waiting to be claimed")
        expect(page.get_by_test_id("urgent-alert")).to_have_attribute("data-from-the-start", "yes")
        first = page.get_by_test_id("queue-waiting").get_by_test_id("queue-row").first
        expect(first).to_have_attribute("data-referral", str(p1.pk))
        expect(first).to_contain_text("KOWALCZYK")
        expect(first.get_by_test_id("badge-urgent")).to_have_text("Urgent: not claimed")
        expect(page.get_by_test_id("queue-waiting-count")).to_have_text("2")
    screenshot(nurse_a, "2-p1-arrives-banner-and-first-row")

    # Nurse A claims it: her page comes back without the banner, the P1 in progress.
    first = nurse_a.get_by_test_id("queue-waiting").get_by_test_id("queue-row").first
    first.get_by_role("button", name=re.compile("^Claim")).click()
    expect(nurse_a.get_by_text("You have claimed the referral.")).to_be_visible()
    expect(nurse_a.get_by_test_id("urgent-banner")).to_have_count(0)
    progress = nurse_a.get_by_test_id("queue-in-progress").get_by_test_id("queue-row")
    expect(progress.filter(has_text="KOWALCZYK")).to_have_count(1)
    screenshot(nurse_a, "3-claimed-banner-gone")

    # Nurse B's open queue loses the banner at the poll after the claim.
    expect(nurse_b.get_by_test_id("urgent-banner")).to_be_visible()
    nurse_b.clock.fast_forward(NEXT_POLL_MS)
    expect(nurse_b.get_by_test_id("urgent-banner")).to_have_count(0)
    row_b = (
        nurse_b.get_by_test_id("queue-in-progress")
        .get_by_test_id("queue-row")
        .filter(has_text="KOWALCZYK")
    )
    expect(row_b.get_by_test_id("queue-owner")).to_contain_text("O'BRIEN, Siân")
    expect(nurse_b.get_by_test_id("urgent-alert")).to_have_attribute("data-from-the-start", "yes")
    screenshot(nurse_b, "4-colleague-poll-banner-gone")
