"""Call-backs due on screen: the navigation's count of the user's and the shared list's call-backs
due now and overdue, read out in the link's text, on the home page too, at a constant number of
queries (docs/telephony.md, "Reminders")."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from calls.models import CallBack
from spoc.accounts.roles import Role
from spoc.home.navigation import navigation_for
from tests.clock import WEEKDAY_MORNING
from tests.referrals.factories import CallFactory

pytestmark = pytest.mark.django_db

T = WEEKDAY_MORNING


def call_back(owner=None, *, due, status=CallBack.Status.PENDING) -> CallBack:
    call = CallFactory(received_at=T - timedelta(hours=2))
    return CallBack.objects.create(
        call=call, patient=call.patient, due_at=due, assigned_to=owner, status=status
    )


def signed_in(user) -> Client:
    """``user``'s browser, signed in at T, the pages' moment (not at whatever time the tests run:
    the idle timeout counts from the sign-in)."""
    client = Client()
    with time_machine.travel(T, tick=False):
        client.force_login(user)
    return client


@pytest.fixture
def some_due(handler, make_user):
    colleague = make_user(Role.CALL_HANDLER, username="handler2")
    call_back(handler, due=T - timedelta(minutes=25))  # hers, overdue
    call_back(due=T - timedelta(minutes=2))  # the shared list's, due now
    call_back(due=T - timedelta(hours=3))  # the shared list's, overdue
    call_back(colleague, due=T - timedelta(minutes=40))  # a colleague's: not counted
    call_back(handler, due=T + timedelta(minutes=10))  # not yet due
    call_back(handler, due=T - timedelta(hours=1), status=CallBack.Status.DONE)


def test_the_badge_counts_her_and_the_shared_list_s_call_backs_due_now_and_overdue_in_one_query(
    handler, some_due
):
    link = next(link for link in navigation_for(handler) if link.label == "Call-backs")
    with time_machine.travel(T, tick=False), CaptureQueriesContext(connection) as queries:
        assert (link.badge, link.badge_words) == (3, "due: 2 overdue, 1 due now")
        assert link.badge == 3  # counted once per page
    assert len(queries) == 1


def test_the_count_is_in_the_link_s_text_and_on_the_home_page(handler, some_due):
    with time_machine.travel(T, tick=False):
        page = signed_in(handler).get("/").content.decode()
    assert (
        'href="/calls/call-backs/">Call-backs <strong class="nhsuk-tag nhsuk-tag--white" '
        'data-testid="nav-badge">3<span class="nhsuk-u-visually-hidden"> due: 2 overdue, 1 due '
        "now</span></strong></a>"
    ) in page
    assert "<strong>3 due: 2 overdue, 1 due now</strong>" in page


def test_nothing_due_no_badge(handler):
    call_back(handler, due=T + timedelta(minutes=10))
    with time_machine.travel(T, tick=False):
        page = signed_in(handler).get("/calls/call-backs/").content.decode()
    assert 'data-testid="nav-badge"' not in page


def test_the_list_puts_overdue_first_and_says_how_overdue(handler, some_due):
    with time_machine.travel(T, tick=False):
        page = signed_in(handler).get("/calls/call-backs/").content.decode()
    words = ["Overdue by 3 hours", "Overdue by 40 minutes", "Overdue by 25 minutes", "Due now"]
    assert [page.index(w) for w in words] == sorted(page.index(w) for w in words)


# Measured: the session, the user and the permissions, the navigation's badges, the page's own
# reads (home: the summary; the list: the call-backs with what they follow, their tries, the
# access-log row), whatever the number of call-backs. 4 fewer than before: the session is no
# longer saved on every page (3: savepoint, update, release) and the roles come with the
# permissions (1).
@pytest.mark.parametrize(("path", "budget"), [("/", 8), ("/calls/call-backs/", 9)])
def test_the_pages_with_the_badge_make_as_many_queries_for_two_call_backs_as_for_twelve(
    handler, path, budget
):
    client = signed_in(handler)

    def queries_with(n: int) -> int:
        for minutes in range(n - CallBack.objects.count()):
            call_back(handler if minutes % 2 else None, due=T - timedelta(minutes=minutes * 7))
        with time_machine.travel(T, tick=False), CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        return len(queries)

    assert queries_with(2) == queries_with(12) <= budget
