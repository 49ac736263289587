"""The team queue puts urgent work on top: "Waiting to be claimed" first, by priority, then "In
progress"; a banner while a P1 or P2 waits to be claimed, brought by the poll and taken away by
the poll after the claim (referrals/selectors/queue.py, referrals/views/queue.py)."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from referrals.models import Referral
from referrals.selectors.queue import team_queue, team_queue_state
from referrals.services.claims import referral_claim
from referrals.transitions import ReferralStatus
from tests.plans import plan
from tests.referrals.factories import ReferralFactory, member

pytestmark = pytest.mark.django_db

POLL = {"HTTP_HX_REQUEST": "true", "HTTP_X_SPOC_POLL": "1"}
OOB_BANNER = '<div id="urgent-alert" hx-swap-oob="innerHTML">'


def queued(team, priority="P2", minutes=120, **fields):
    """A referral waiting in ``team``'s queue, its first contact due in ``minutes``."""
    now = timezone.now()
    fields.setdefault("contact_by", now + timedelta(minutes=minutes))
    fields.setdefault("accept_by", now + timedelta(minutes=min(minutes, 15)))
    fields.setdefault("status", ReferralStatus.QUEUED)
    return ReferralFactory(team=team, priority=priority, **fields)


def accepted(team, owner, priority="P2", minutes=120):
    return queued(
        team,
        priority,
        minutes,
        status=ReferralStatus.ACCEPTED,
        owner=owner,
        accepted_at=timezone.now(),
    )


def pks(rows):
    return [row.pk for row in rows]


def poll(client, team, page):
    """The page's own poll: its URL with the version and urgent fingerprint it was drawn with."""
    return client.get(
        reverse("queue:team", args=[team.pk]),
        **POLL,
        HTTP_X_QUEUE_VERSION=page.context["version"],
        HTTP_X_QUEUE_URGENT=page.context["urgent_version"],
    )


def first_row(content):
    return re.search(r'<tr class="[^"]*" data-testid="queue-row" data-referral="(\d+)"', content)


# --- The order -----------------------------------------------------------------------------------


def test_a_p1_created_last_is_the_first_row_waiting_to_be_claimed(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    breached_p3 = queued(team, "P3", minutes=-30)
    p2 = queued(team, "P2", minutes=60)
    p1 = queued(team, "P1", minutes=240)  # created last, with the furthest deadline
    client.force_login(nurse)
    response = client.get(reverse("queue:mine"))
    queue = response.context["queue"]
    assert pks(queue.waiting) == [p1.pk, p2.pk, breached_p3.pk]
    content = response.content.decode()
    row = first_row(content)
    assert row is not None and int(row.group(1)) == p1.pk
    # Highlighted by a row style and in words, not by colour alone.
    assert "hub-row--urgent" in row.group(0)
    assert content.index('data-testid="badge-urgent"') > row.start()
    assert "Urgent: not claimed" in content


def test_p2_comes_before_p3_whatever_their_deadlines_and_badges_stay(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    now = timezone.now()
    breached_p3 = queued(team, "P3", minutes=-5)
    at_risk_p3 = queued(team, "P3", minutes=20, at_risk_at=now - timedelta(minutes=1))
    later_p2 = queued(team, "P2", minutes=110)
    sooner_p2 = queued(team, "P2", minutes=90)
    client.force_login(nurse)
    response = client.get(reverse("queue:mine"))
    waiting = response.context["queue"].waiting
    # By priority, then breached, at risk and the nearest deadline within a priority.
    assert pks(waiting) == [sooner_p2.pk, later_p2.pk, breached_p3.pk, at_risk_p3.pk]
    assert (waiting[2].breached, waiting[3].at_risk) == (True, True)
    content = response.content.decode()
    assert 'data-testid="badge-breached"' in content and 'data-testid="badge-at-risk"' in content
    # P3s are not urgent: no highlight.
    assert not waiting[2].urgent_waiting and waiting[0].urgent_waiting


def test_an_in_progress_p1_is_in_the_second_section_ordered_by_its_clock(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    colleague = member(make_user, team, "nurse2")
    waiting_p3 = queued(team, "P3", minutes=300)
    held_p1 = accepted(team, colleague, "P1", minutes=60)
    breached_p3 = accepted(team, colleague, "P3", minutes=-10)
    on_hold = accepted(team, colleague, "P2", minutes=30)
    Referral.objects.filter(pk=on_hold.pk).update(status=ReferralStatus.ON_HOLD)
    client.force_login(nurse)
    response = client.get(reverse("queue:mine"))
    queue = response.context["queue"]
    assert pks(queue.waiting) == [waiting_p3.pk]
    # As before the sections: breached first, then the nearest deadline, whatever the priority.
    assert pks(queue.in_progress) == [breached_p3.pk, on_hold.pk, held_p1.pk]
    assert not any(row.urgent_waiting for row in queue.in_progress)
    assert pks(response.context["rows"]) == [waiting_p3.pk, breached_p3.pk, on_hold.pk, held_p1.pk]
    content = response.content.decode()
    waiting_heading = content.index(
        '<h2 class="nhsuk-heading-m" id="queue-waiting">Waiting to be claimed'
    )
    progress_heading = content.index(
        '<h2 class="nhsuk-heading-m" id="queue-in-progress">In progress'
    )
    assert waiting_heading < content.index(f'data-referral="{waiting_p3.pk}"') < progress_heading
    assert progress_heading < content.index(f'data-referral="{held_p1.pk}"')


def test_headings_count_each_section_beyond_the_hundred_shown(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    ReferralFactory.create_batch(
        101,
        status=ReferralStatus.QUEUED,
        team=team,
        priority="P3",
        contact_by=timezone.now() + timedelta(hours=3),
    )
    for minutes in (10, 20):
        accepted(team, nurse, "P1", minutes=minutes)
    client.force_login(nurse)
    response = client.get(reverse("queue:mine"))
    queue = response.context["queue"]
    assert (
        len(queue.waiting),
        queue.waiting_total,
        len(queue.in_progress),
        queue.in_progress_total,
    ) == (100, 101, 0, 2)
    content = response.content.decode()
    assert 'data-testid="queue-waiting-count">101<' in content
    assert 'data-testid="queue-in-progress-count">2<' in content
    assert "The 100 most urgent of 103 open referrals" in content
    assert "The 2 in progress come after the 100 most urgent referrals" in content


def test_filters_narrow_both_sections_and_their_counts(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    p1 = queued(team, "P1")
    queued(team, "P3")
    mine = accepted(team, nurse, "P1")
    accepted(team, nurse, "P3")
    queue = team_queue(user=nurse, team=team, now=timezone.now(), priority="P1")
    assert (pks(queue.waiting), pks(queue.in_progress)) == ([p1.pk], [mine.pk])
    assert (queue.waiting_total, queue.in_progress_total) == (1, 1)


def test_the_printable_queue_has_the_same_order_and_sections(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    p3 = queued(team, "P3", minutes=-5)
    p1 = queued(team, "P1", minutes=200)
    held = accepted(team, nurse, "P1", minutes=5)
    client.force_login(nurse)
    page = client.get(reverse("queue:mine")).context["rows"]
    printed = client.get(reverse("queue:print", args=[team.pk]))
    assert pks(printed.context["rows"]) == pks(page) == [p1.pk, p3.pk, held.pk]
    content = printed.content.decode()
    assert content.index("Waiting to be claimed (2)") < content.index("In progress (1)")


def test_the_order_and_the_state_read_only_columns_of_the_open_queue_index(make_user, team):
    """Priority is in ``referral_open_queue``: every column of the referral table that the order
    and the poll's state read is in that index, so PostgreSQL answers both from an index-only
    scan of the team's open referrals (docs/performance.md, "team queue")."""
    nurse = member(make_user, team, "nurse1")
    queued(team, "P1")
    with CaptureQueriesContext(connection) as queries:
        team_queue(user=nurse, team=team, now=timezone.now())
        team_queue_state(user=nurse, team=team, now=timezone.now())
    order = next(q["sql"] for q in queries.captured_queries if "ORDER BY CASE" in q["sql"])
    state = next(q["sql"] for q in queries.captured_queries if "SUM(" in q["sql"])
    [index] = [i for i in Referral._meta.indexes if i.name == "referral_open_queue"]
    indexed = {*index.fields, *index.include}
    covered = {field.column for field in Referral._meta.concrete_fields if field.name in indexed}
    for sql in (order, state):
        read = set(re.findall(r'"referrals_referral"\."(\w+)"', sql))
        assert "priority" in read and read <= covered, read - covered


def _queue_orders(nurse, team, state, limit):
    """The rows of a page of ``limit`` read with ``state``, and the SQL of its order."""
    with CaptureQueriesContext(connection) as queries:
        page = team_queue(user=nurse, team=team, now=timezone.now(), limit=limit, state=state)
    orders = [q["sql"] for q in queries.captured_queries if "ORDER BY CASE" in q["sql"]]
    return pks(page.rows), orders


def test_a_page_read_from_the_priorities_that_fill_it_is_the_queues_first_rows(make_user, team):
    """A page cut short orders only the referrals waiting of the first priorities that fill it
    (by the state's counts), and its rows are the whole queue's first, for every length."""
    nurse = member(make_user, team, "nurse1")
    colleague = member(make_user, team, "nurse2")
    for priority, minutes in [("P2", 30), ("P3", -20), ("P2", -5), ("P1", 90), ("P3", 10)]:
        queued(team, priority, minutes=minutes)
    queued(team, "P2", minutes=200, at_risk_at=timezone.now() - timedelta(minutes=1))
    queued(team, "P1", minutes=5)
    accepted(team, colleague, "P1", minutes=-30)
    accepted(team, colleague, "P3", minutes=15)
    state = team_queue_state(user=nurse, team=team, now=timezone.now())
    assert state.waiting_by_priority == {"P1": 2, "P2": 3, "P3": 2, "P4": 0, "P5": 0}
    whole = pks(team_queue(user=nurse, team=team, now=timezone.now(), limit=None).rows)
    assert len(whole) == 9
    for limit in range(1, 11):
        rows, [order] = _queue_orders(nurse, team, state, limit)  # one order query, always
        assert rows == whole[:limit], limit
        read = re.findall(r'"referrals_referral"\."priority" IN \(([^)]*)\)', order)
        if limit <= 2:
            assert read == ["'P1'"]
        elif limit <= 5:
            assert read == ["'P1', 'P2'"]
        elif limit <= 7:
            assert read == ["'P1', 'P2', 'P3'"]
        else:  # the waiting do not fill the page: the whole queue is ordered
            assert read == []


def test_counts_older_than_the_rows_order_the_whole_queue(make_user, team):
    """The state is kept for a second: when the priorities it chose no longer fill the page
    (their referrals claimed since), the whole queue is ordered instead, and nothing is
    missed."""
    nurse = member(make_user, team, "nurse1")
    urgent = [queued(team, "P1", minutes=minutes) for minutes in (10, 20, 30)]
    later = [queued(team, "P4", minutes=minutes) for minutes in (40, 50)]
    state = team_queue_state(user=nurse, team=team, now=timezone.now())
    for referral in urgent[:2]:
        referral_claim(referral_id=referral.pk, user=nurse)
    rows, orders = _queue_orders(nurse, team, state, limit=3)
    assert rows == [urgent[2].pk, later[0].pk, later[1].pk]
    assert len(orders) == 2 and "IN ('P1')" in orders[0] and '"priority" IN' not in orders[1]


def test_a_waiting_referral_of_a_priority_not_among_the_codes_is_not_left_out(make_user, team):
    """The priorities are chosen only when every referral waiting has one of the codes: any
    other value (never written by the hub) sorts where the database puts it."""
    nurse = member(make_user, team, "nurse1")
    queued(team, "P1")
    queued(team, "P1")
    odd = queued(team, "P2")
    Referral.objects.filter(pk=odd.pk).update(priority="P0")
    state = team_queue_state(user=nurse, team=team, now=timezone.now())
    assert (state.waiting_count, sum(state.waiting_by_priority.values())) == (3, 2)
    rows, orders = _queue_orders(nurse, team, state, limit=2)
    assert rows[0] == odd.pk and '"priority" IN' not in orders[0]


def test_the_order_of_a_page_reads_its_priorities_from_the_index(make_user, team):
    """The priority is a key of ``referral_open_queue``: the chosen priorities are an index
    condition, not a filter of every open referral of the team (with the table's statistics
    taken and every other plan barred, as the test tables are too small for the planner to
    choose it alone)."""
    nurse = member(make_user, team, "nurse1")
    queued(team, "P1")
    queued(team, "P2")
    ReferralFactory.create_batch(
        40, status=ReferralStatus.QUEUED, team=team, priority="P3", contact_by=timezone.now()
    )
    state = team_queue_state(user=nurse, team=team, now=timezone.now())
    _, [order] = _queue_orders(nurse, team, state, limit=2)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE referrals_referral")
    read = plan(order, "seqscan", "bitmapscan")
    assert "Index Only Scan using referral_open_queue" in read, read
    [condition] = [line for line in read.splitlines() if "Index Cond" in line]
    assert "priority" in condition, read


# --- The banner ----------------------------------------------------------------------------------


def test_the_live_region_is_in_the_page_from_the_start(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    queued(team, "P3")
    client.force_login(nurse)
    content = client.get(reverse("queue:mine")).content.decode()
    assert re.search(r'<div id="urgent-alert" [^>]*aria-live="assertive"', content)
    assert 'data-testid="urgent-banner"' not in content


@pytest.mark.parametrize(("priority", "banner"), [("P1", True), ("P2", True), ("P3", False)])
def test_a_new_p1_or_p2_brings_the_banner_on_the_next_poll_and_a_p3_does_not(
    client, make_user, team, priority, banner
):
    nurse = member(make_user, team, "nurse1")
    queued(team, "P3")
    client.force_login(nurse)
    page = client.get(reverse("queue:mine"))
    queued(team, priority)
    answer = poll(client, team, page)
    content = answer.content.decode()
    assert answer.status_code == 200
    # The banner comes out of band into the page's live region, after the rows' block.
    assert (OOB_BANNER in content) is banner
    assert ('data-testid="urgent-banner"' in content) is banner
    if banner:
        assert content.index('<div id="queue"') < content.index(OOB_BANNER)
        assert f"1 {priority}</strong> waiting to be claimed" in content


def test_the_banner_goes_on_the_poll_after_the_claim(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    colleague = member(make_user, team, "nurse2")
    p1 = queued(team, "P1")
    client.force_login(nurse)
    page = client.get(reverse("queue:mine"))
    assert 'data-testid="urgent-banner"' in page.content.decode()
    assert page.context["urgent"] == {"P1": 1, "P2": 0}
    referral_claim(referral_id=p1.pk, user=colleague)
    answer = poll(client, team, page)
    content = answer.content.decode()
    assert answer.status_code == 200
    # The live region is emptied: no banner, and the P1 is now in progress.
    oob = content[content.index(OOB_BANNER) :]
    assert 'data-testid="urgent-banner"' not in oob
    assert pks(answer.context["queue"].in_progress) == [p1.pk]
    assert 'data-testid="urgent-banner"' not in client.get(reverse("queue:mine")).content.decode()


def test_a_poll_that_changes_other_rows_leaves_the_banner_alone(client, make_user, team):
    """The banner is redrawn (and so announced again) only when the urgent referrals waiting
    change, not each time anything else in the queue does."""
    nurse = member(make_user, team, "nurse1")
    queued(team, "P1")
    client.force_login(nurse)
    page = client.get(reverse("queue:mine"))
    queued(team, "P3")
    answer = poll(client, team, page)
    assert answer.status_code == 200 and OOB_BANNER not in answer.content.decode()
    # Another P1 arriving as the first is claimed changes the set, though not the count.
    first = Referral.objects.get(priority="P1")
    referral_claim(referral_id=first.pk, user=nurse)
    queued(team, "P1")
    again = poll(client, team, answer)
    assert (
        OOB_BANNER in again.content.decode()
        and 'data-testid="urgent-banner"' in again.content.decode()
    )


def test_an_unchanged_poll_with_a_p1_waiting_still_answers_204(
    client, make_user, team, django_assert_max_num_queries
):
    nurse = member(make_user, team, "nurse1")
    queued(team, "P1")
    client.force_login(nurse)
    page = client.get(reverse("queue:mine"))
    # The same budget as any unchanged poll (tests/referrals/test_claims_and_queue.py).
    with django_assert_max_num_queries(6):
        answer = poll(client, team, page)
    assert answer.status_code == 204 and answer.content == b""


# --- Query budgets -------------------------------------------------------------------------------


def test_the_queue_in_two_sections_costs_the_same_queries_with_many_rows(
    client, make_user, team, django_assert_max_num_queries, django_assert_num_queries
):
    nurse = member(make_user, team, "nurse1")
    for priority in ("P1", "P2", "P3"):
        ReferralFactory.create_batch(
            60,
            status=ReferralStatus.QUEUED,
            team=team,
            priority=priority,
            contact_by=timezone.now() + timedelta(hours=1),
        )
    ReferralFactory.create_batch(
        60,
        status=ReferralStatus.ACCEPTED,
        team=team,
        owner=nurse,
        priority="P1",
        contact_by=timezone.now() + timedelta(hours=1),
    )
    client.force_login(nurse)
    nurse.get_all_permissions()  # cached on the user, as for the request's user
    now = timezone.now()
    state = team_queue_state(user=nurse, team=team, now=now)
    # The selector: the user's teams (visibility; outside a request read again for whether she
    # sees the team whole, once per request in a page), the order, the rows; the totals of the
    # page cut to 100 are the state's.
    with django_assert_num_queries(4):
        queue = team_queue(user=nurse, team=team, now=now, state=state)
    assert (queue.waiting_total, queue.in_progress_total, len(queue.rows)) == (180, 60, 100)
    # Filtered and still cut: one more query counts the sections.
    with django_assert_num_queries(5):
        only_p1 = team_queue(user=nurse, team=team, now=now, state=state, priority="P1")
    assert (only_p1.waiting_total, only_p1.in_progress_total, len(only_p1.waiting)) == (60, 60, 60)
    # The page: as tests/referrals/test_claims_and_queue.py's 500 referrals (4 fewer than before:
    # no session save on each page (3: savepoint, update, release), the roles read with the
    # permissions (1)).
    # One more fewer: the user's teams are read once per request, not by each selector; and
    # one more: her teams (the page's tabs) and her memberships (what she sees) in one query.
    with django_assert_max_num_queries(13):
        response = client.get(reverse("queue:mine"))
    assert [row.priority for row in response.context["rows"][:61]] == ["P1"] * 60 + ["P2"]
