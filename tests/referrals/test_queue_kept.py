"""A team queue's rows kept for the polls of its other open tabs (referrals.selectors.queue
team_queue, the ``queue`` cache): a poll under a version already drawn reads no rows, yet shows
every change, draws each row at its own moment, never lends rows to someone who does not see the
team whole, and a full page always reads afresh."""

import logging
from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from referrals.models import Referral
from referrals.selectors.queue import team_queue, team_queue_state
from referrals.services.claims import referral_claim
from referrals.transitions import ReferralStatus
from tests.redis_caches import failing_redis, redis_queue_cache, suite_redis
from tests.referrals.factories import ReferralFactory, member

pytestmark = pytest.mark.django_db

POLL = {"HTTP_HX_REQUEST": "true", "HTTP_X_SPOC_POLL": "1", "HTTP_X_QUEUE_VERSION": "stale"}


def queued(team, count=1, **fields):
    now = timezone.now()
    fields.setdefault("contact_by", now + timedelta(hours=3))
    fields.setdefault("accept_by", now + timedelta(hours=2))
    fields.setdefault("priority", "P3")
    return ReferralFactory.create_batch(count, team=team, status=ReferralStatus.QUEUED, **fields)


def rows(response):
    queue = response.context["queue"]
    return [(row.pk, row.status, row.need_label, row.waiting) for row in queue.rows]


def test_the_other_tabs_polls_take_the_rows_the_first_read(
    client, make_user, team, django_assert_num_queries
):
    nurse, lead = member(make_user, team, "nurse1"), member(make_user, team, "lead1", lead=True)
    queued(team, 5)
    url = reverse("queue:team", args=[team.pk])
    client.force_login(nurse)
    page = client.get(url)
    other = client.__class__()
    other.force_login(lead)
    other.get(url)  # the lead's session and roles, read once before counting
    # Session, user, two-factor device, roles, the lead's teams with her memberships (the page's
    # tabs, and what she sees), the queue's state (its version): the order and the rows (two
    # queries) are those the nurse's page read.
    with django_assert_num_queries(6):
        polled = other.get(url, **POLL)
    assert polled.status_code == 200
    assert rows(polled) == rows(page)
    # The lead's own actions are drawn for her: no row is hers to open.
    assert 'name="claim"' in polled.content.decode()


def test_a_poll_after_a_change_shows_it(client, make_user, team):
    nurse, lead = member(make_user, team, "nurse1"), member(make_user, team, "lead1", lead=True)
    first, _ = queued(team, 2)
    url = reverse("queue:team", args=[team.pk])
    client.force_login(lead)
    client.get(url, **POLL)
    referral_claim(user=nurse, referral_id=first.pk)
    [arrived] = queued(team, need="CARER_SUPPORT")
    polled = client.get(url, **POLL)
    statuses = {pk: status for pk, status, _, _ in rows(polled)}
    assert statuses[first.pk] == ReferralStatus.ACCEPTED
    assert arrived.pk in statuses


def test_kept_rows_are_drawn_at_the_moment_of_each_poll(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        [referral] = queued(team, created_at=start - timedelta(minutes=5))
        url = reverse("queue:team", args=[team.pk])
        client.force_login(nurse)
        page = client.get(url)
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        polled = client.get(url, **POLL)
    assert polled.context["version"] == page.context["version"]  # the rows were kept
    assert rows(page) == [(referral.pk, "QUEUED", referral.get_need_display(), "5 minutes")]
    assert rows(polled)[0][3] == "25 minutes"


def test_rows_are_kept_apart_for_each_filter_and_limit(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    [urgent] = queued(team, priority="P1")
    queued(team, 2)
    url = reverse("queue:team", args=[team.pk])
    client.force_login(nurse)
    assert len(rows(client.get(url))) == 3
    assert [pk for pk, *_ in rows(client.get(url, {"priority": "P1"}, **POLL))] == [urgent.pk]
    # Filters the form refuses are ignored, as on the page: the unfiltered rows, kept or not.
    bad = client.get(url, {"priority": "P9", "status": "<script>", "need": "x" * 500}, **POLL)
    assert bad.status_code == 200 and len(rows(bad)) == 3
    now = timezone.now()
    state = team_queue_state(user=nurse, team=team, now=now)
    team_queue(user=nurse, team=team, now=now, state=state)
    cut = team_queue(user=nurse, team=team, now=now, state=state, limit=1, reuse=True)
    assert ([row.pk for row in cut.rows], cut.total) == ([urgent.pk], 3)


def test_a_change_of_status_changes_the_version_whatever_its_time_stamp(make_user, team):
    """Time stamps are taken before commit, so a change can commit after a later-stamped one:
    the counts of each status still tell the version has changed (a claim, a first contact, a
    hold), and no tab takes rows kept from before it."""
    nurse = member(make_user, team, "nurse1")
    now = timezone.now()
    [accepted] = ReferralFactory.create_batch(
        1,
        team=team,
        status=ReferralStatus.ACCEPTED,
        owner=nurse,
        updated_at=now - timedelta(hours=1),
    )
    queued(team, updated_at=now)
    before = team_queue_state(user=nurse, team=team, now=now).version
    Referral.objects.filter(pk=accepted.pk).update(
        status=ReferralStatus.IN_PROGRESS,
        first_contact_at=now - timedelta(minutes=59),
        updated_at=now - timedelta(minutes=59),
    )
    assert team_queue_state(user=nurse, team=team, now=now).version != before


@override_settings(QUEUE_STATE_KEPT_SECONDS=1)
def test_rows_and_state_kept_for_the_team_are_never_lent_to_someone_who_does_not_see_it_whole(
    make_user, team, other_team
):
    nurse = member(make_user, team, "nurse1")
    outsider = member(make_user, other_team, "nurse2")
    queued(team, 3)
    now = timezone.now()
    state = team_queue_state(user=nurse, team=team, now=now)
    assert state.open_count == 3
    assert team_queue_state(user=nurse, team=team, now=now, reuse=True).open_count == 3
    assert len(team_queue(user=nurse, team=team, now=now, state=state).rows) == 3
    # The same team, version, filters and limit: she reads only what she may see (nothing of
    # this team), neither its state nor its rows.
    assert team_queue_state(user=outsider, team=team, now=now, reuse=True).open_count == 0
    lent = team_queue(user=outsider, team=team, now=now, state=state, reuse=True)
    assert (lent.rows, lent.total) == ([], 0)


def test_a_full_page_reads_afresh_and_keeps_what_it_read(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    [referral] = queued(team, need="SYMPTOM_CONTROL")
    url = reverse("queue:team", args=[team.pk])
    client.force_login(nurse)
    client.get(url)
    # A change the version cannot see (updated_at untouched): a full page still shows it, and the
    # polls after it take what the page read.
    Referral.objects.filter(pk=referral.pk).update(need="CARER_SUPPORT")
    label = dict(Referral._meta.get_field("need").flatchoices)["CARER_SUPPORT"]
    assert rows(client.get(url))[0][2] == label
    assert rows(client.get(url, **POLL))[0][2] == label


@override_settings(QUEUE_STATE_KEPT_SECONDS=1)
def test_the_tabs_polling_in_the_same_second_read_the_queue_s_state_once(
    client, make_user, team, django_assert_num_queries
):
    nurse, lead = member(make_user, team, "nurse1"), member(make_user, team, "lead1", lead=True)
    queued(team, 3)
    url = reverse("queue:team", args=[team.pk])
    start = timezone.now()
    other = client.__class__()
    other.force_login(lead)
    client.force_login(nurse)
    with time_machine.travel(start, tick=False):
        other.get(url)  # the lead's session and roles, read once before counting
        page = client.get(url)
        # Session, user, two-factor device, roles, the lead's teams with her memberships: the
        # state, the order and the rows are those the nurse's page read.
        with django_assert_num_queries(5):
            polled = other.get(url, **POLL)
    assert polled.context["version"] == page.context["version"]
    assert rows(polled) == rows(page)


@override_settings(QUEUE_STATE_KEPT_SECONDS=1)
def test_a_change_reaches_the_polls_once_the_kept_state_has_expired(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    queued(team, 2)
    url = reverse("queue:team", args=[team.pk])
    client.force_login(nurse)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        page = client.get(url)
        [arrived] = queued(team, priority="P1")
        # Within the second, a poll shows the queue as the page read it...
        within = client.get(url, **POLL)
    with time_machine.travel(start + timedelta(seconds=1), tick=False):
        # ...the first poll after it shows the new referral, and raises the urgent banner.
        after = client.get(url, **POLL)
    assert within.context["version"] == page.context["version"]
    assert arrived.pk not in [pk for pk, *_ in rows(within)]
    assert after.context["version"] != page.context["version"]
    assert rows(after)[0][0] == arrived.pk and after.context["urgent_count"] == 1


@override_settings(QUEUE_STATE_KEPT_SECONDS=1)
def test_a_full_page_reads_the_state_afresh_and_the_polls_after_it_take_it(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    queued(team, 2)
    url = reverse("queue:team", args=[team.pk])
    client.force_login(nurse)
    with time_machine.travel(timezone.now(), tick=False):
        page = client.get(url)
        [arrived] = queued(team)
        reloaded = client.get(url)
        polled = client.get(url, **POLL)
    assert reloaded.context["version"] != page.context["version"]
    assert arrived.pk in [pk for pk, *_ in rows(reloaded)]
    assert polled.context["version"] == reloaded.context["version"]


def test_rows_kept_in_redis_are_shared_by_every_web_process(
    client, make_user, team, django_assert_num_queries
):
    """Kept in Redis, the rows one web process read serve the polls another process answers
    (here the same process, its own memory holding nothing)."""
    nurse, lead = member(make_user, team, "nurse1"), member(make_user, team, "lead1", lead=True)
    queued(team, 3, for_person=None)
    url = reverse("queue:team", args=[team.pk])
    client.force_login(nurse)
    other = client.__class__()
    other.force_login(lead)
    with suite_redis("queue", caches=redis_queue_cache) as (server, prefix):
        page = client.get(url)
        [key] = server.keys(f"{prefix}:*")
        assert server.ttl(key) > 0  # it expires
        other.get(url)  # the lead's session and roles, read once before counting
        with django_assert_num_queries(6):
            polled = other.get(url, **POLL)
    assert rows(polled) == rows(page)


def test_the_state_kept_in_redis_expires_and_serves_every_web_process(
    client, make_user, team, django_assert_num_queries
):
    """The queue's state kept in Redis, as production keeps it: with a time to live of
    QUEUE_STATE_KEPT_SECONDS (a minute here, so that a slow machine still polls within it), and
    taken by the poll another process answers."""
    nurse, lead = member(make_user, team, "nurse1"), member(make_user, team, "lead1", lead=True)
    queued(team, 3)
    url = reverse("queue:team", args=[team.pk])
    client.force_login(nurse)
    other = client.__class__()
    other.force_login(lead)
    with suite_redis("queue", caches=redis_queue_cache, QUEUE_STATE_KEPT_SECONDS=60) as (
        server,
        prefix,
    ):
        page = client.get(url)
        [state_key] = [key for key in server.keys(f"{prefix}:*") if b"team-queue-state-" in key]
        assert 0 < server.ttl(state_key) <= 60
        other.get(url)  # the lead's session and roles, read once before counting
        # Session, user, two-factor device, roles, her teams with her memberships: the state,
        # the order and the rows are taken from Redis.
        with django_assert_num_queries(5):
            polled = other.get(url, **POLL)
    assert polled.context["version"] == page.context["version"]
    assert rows(polled) == rows(page)


@pytest.mark.parametrize("kept_seconds", [0, 1])
@pytest.mark.parametrize("fault", ["stalled", "refused"])
def test_a_queue_cache_that_fails_costs_one_poll_and_the_rows_are_read_from_the_database(
    client, make_user, team, fault, kept_seconds, caplog
):
    nurse = member(make_user, team, "nurse1")
    first, _ = queued(team, 2)
    url = reverse("queue:team", args=[team.pk])
    client.force_login(nurse)
    with (
        failing_redis(fault) as stalled,
        override_settings(
            CACHES=redis_queue_cache(stalled.location, "q"),
            QUEUE_STATE_KEPT_SECONDS=kept_seconds,
        ),
        caplog.at_level(logging.WARNING, logger="referrals.selectors.queue"),
    ):
        polls = [client.get(url, **POLL)]
        offered = len(stalled.accepted)
        referral_claim(user=nurse, referral_id=first.pk)
        polls += [client.get(url, **POLL), client.get(url)]
    assert [poll.status_code for poll in polls] == [200, 200, 200]
    assert [len(poll.context["queue"].rows) for poll in polls] == [2, 2, 2]
    # The claim is shown at once: the rows came from the database.
    assert {row.status for row in polls[1].context["queue"].rows} == {"QUEUED", "ACCEPTED"}
    assert caplog.text.count("Team queue cache unreachable") == 1
    if fault == "stalled":
        # One connection, by the first poll; the cache then rests, and nothing more is sent.
        assert offered == len(stalled.accepted) == 1
