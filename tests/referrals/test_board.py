"""The coordinator board: each list holds what it says, with the action to take; coordinators
only; routing by hand from the board; cheap polls; a query count that does not grow."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from referrals.models import Referral, ReferralEvent
from referrals.selectors.board import coordinator_board
from referrals.transitions import ReferralStatus
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from tests.factories import UserFactory
from tests.referrals.factories import ReferralFactory
from tests.rota.factories import member, pattern
from tests.services.directory_fixtures import always_open_area

pytestmark = pytest.mark.django_db


@pytest.fixture
def area():
    return always_open_area()


def referral(team=None, **fields):
    now = timezone.now()
    if team is not None:
        fields.setdefault("status", ReferralStatus.QUEUED)
        fields.setdefault("accept_by", now + timedelta(minutes=15))
        fields.setdefault("contact_by", now + timedelta(hours=2))
        fields.setdefault("at_risk_at", now + timedelta(hours=1))
    return ReferralFactory(team=team, **fields)


def build_board(area):
    now = timezone.now()
    return {
        "waiting": referral(created_at=now - timedelta(minutes=10)),
        "fresh": referral(created_at=now - timedelta(seconds=5)),
        "unroutable": referral(area["spoc"].team, unroutable_reason="No service covers ZZ1 1ZZ"),
        "declined": referral(
            area["spoc"].team, declined_service_ids=[1, 2], unroutable_reason="Declined by A and B"
        ),
        "accept": referral(area["community"].team, accept_by=now - timedelta(minutes=1)),
        "at_risk": referral(area["community"].team, at_risk_at=now - timedelta(minutes=1)),
        "breached": referral(
            area["community"].team,
            contact_by=now - timedelta(minutes=1),
            at_risk_at=now - timedelta(hours=1),
            accept_by=now - timedelta(hours=2),
        ),
        "fine": referral(area["community"].team),
        "contacted": referral(
            area["community"].team,
            status=ReferralStatus.IN_PROGRESS,
            owner=UserFactory(),
            contact_by=now - timedelta(minutes=5),
        ),
    }


def test_each_list_holds_exactly_what_it_says(make_user, area):
    made = build_board(area)
    coordinator = make_user(Role.SPOC_COORDINATOR, username="coord")
    board = coordinator_board(user=coordinator, now=timezone.now())
    by_key = {section.key: {r.pk for r in section.rows} for section in board.sections}
    assert by_key == {
        "unacknowledged": set(),
        "waiting": {made["waiting"].pk},
        "unroutable": {made["unroutable"].pk},
        "declined": {made["declined"].pk},
        "breached": {made["breached"].pk},
        "accept": {made["accept"].pk},
        "at_risk": {made["at_risk"].pk},
    }
    assert board.routing_alert == 1
    assert board.total == 6


def test_the_page_is_for_coordinators_and_logs_the_view(client, make_user, area):
    build_board(area)
    nurse = make_user(Role.SPECIALIST_NURSE, username="nurse")
    client.force_login(nurse)
    assert client.get(reverse("board:board")).status_code == 403
    coordinator = make_user(Role.SPOC_COORDINATOR, username="coord")
    client.force_login(coordinator)
    response = client.get(reverse("board:board"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "No service covers ZZ1 1ZZ" in page
    assert "Routing is late" in page
    # How long it has waited, said as the rest of the hub says a duration.
    assert "Saved 10 minutes ago" in page
    log = AccessLog.objects.get(user=coordinator, object_type="coordinator_board")
    assert log.detail == {"referrals": 6, "possible_matches": 0, "undelivered_messages": 0}


def test_a_poll_with_nothing_new_is_an_empty_answer_and_not_logged(client, make_user, area):
    build_board(area)
    coordinator = make_user(Role.SPOC_COORDINATOR, username="coord")
    client.force_login(coordinator)
    # The clock stands still: the minute is part of the board's version, and a page and its poll
    # on either side of a minute's turn would differ by it.
    with time_machine.travel(timezone.now(), tick=False):
        page = client.get(reverse("board:board")).content.decode()
        version = page.split('"X-Board-Version": "')[1].split('"')[0]
        headers = {"HX-Request": "true", "X-Spoc-Poll": "1", "X-Board-Version": version}
        assert client.get(reverse("board:board"), headers=headers).status_code == 204
    assert AccessLog.objects.filter(object_type="coordinator_board").count() == 1


def test_a_coordinator_routes_by_hand_from_the_board(client, make_user, area):
    made = build_board(area)
    coordinator = make_user(Role.SPOC_COORDINATOR, username="coord")
    client.force_login(coordinator)
    board = client.get(reverse("board:board")).content.decode()
    url = reverse("queue:action", args=[made["unroutable"].pk, "reroute"])
    # The row posts to the referral page's action and comes back to the board; the server checks.
    assert f'action="{url}"' in board and "required" not in board.split('id="board-unroutable"')[1]
    back = reverse("board:board")
    response = client.post(url, {"team_id": area["community"].team.pk, "reason": "", "next": back})
    page = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in page and "Say why the referral is routed again" in page
    assert (
        f'<option value="{area["community"].team.pk}" selected>' in page
    )  # the team chosen is kept
    response = client.post(
        url,
        {
            "team_id": area["community"].team.pk,
            "reason": "Spoke to <b>duty</b> nurse",
            "next": back,
        },
    )
    assert response.status_code == 302 and response["Location"] == back
    made["unroutable"].refresh_from_db()
    assert made["unroutable"].team == area["community"].team
    event = made["unroutable"].events.get(kind=ReferralEvent.Kind.ROUTED_MANUALLY)
    assert event.data["reason"] == "Spoke to <b>duty</b> nurse"
    assert client.post(url, {"team_id": "abc", "reason": "x", "next": back}).status_code == 400
    assert (
        client.post(reverse("queue:action", args=[10**9, "reroute"]), {"reason": "x"}).status_code
        == 404
    )


def test_a_referral_declined_twice_needs_a_team_chosen(client, make_user, area):
    made = build_board(area)
    client.force_login(make_user(Role.SPOC_COORDINATOR, username="coord"))
    declined = made["declined"]
    team_before = declined.team_id
    response = client.post(
        reverse("queue:action", args=[declined.pk, "reroute"]),
        {"team_id": "", "reason": "Both teams full", "next": reverse("board:board")},
    )
    assert response.status_code == 400
    assert "Choose the team to route the referral to" in response.content.decode()
    declined.refresh_from_db()
    assert (
        declined.team_id == team_before
        and not declined.events.filter(kind=ReferralEvent.Kind.ROUTED_MANUALLY).exists()
    )


def test_the_board_costs_the_same_number_of_queries_with_many_more_referrals(
    client, make_user, area
):
    coordinator = make_user(Role.SPOC_COORDINATOR, username="coord")
    client.force_login(coordinator)
    build_board(area)
    # A 24-hour shift every day: somebody is on duty whenever the test runs.
    pattern(area["community"].team, member(area["community"].team), start=time(8), end=time(8))
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("board:board")).status_code == 200
    for _ in range(30):
        build_board(area)
        for service in area.values():
            pattern(service.team, member(service.team), start=time(8), end=time(8))
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("board:board")).status_code == 200
    assert len(many) == len(few)
    # 19 for the referrals, 2 for the possible matches (their version for polls, the matches), 2
    # for the messages not delivered (the same), 5 for the duty rota (patterns, changes, and the
    # services of the teams with shifts, their hours and closures), 1 for the urgent alerts
    # nobody acknowledged, 1 for the navigation's count of call-backs due, 3 for the follow-ups
    # of 999 advice and warm transfers (the navigation's count, the "Follow-ups due" rows and
    # their access-log row; tests/calls/test_follow_ups.py keeps them constant in rows).
    assert len(many) <= 33


def test_a_referral_just_declined_is_not_yet_late_for_routing(make_user, area):
    now = timezone.now()
    declined = referral(created_at=now - timedelta(hours=3))
    Referral.objects.filter(pk=declined.pk).update(updated_at=now - timedelta(seconds=5))
    coordinator = make_user(Role.SPOC_COORDINATOR, username="coord")
    board = coordinator_board(user=coordinator, now=now)
    assert next(s for s in board.sections if s.key == "waiting").rows == []
    assert board.routing_alert == 0
