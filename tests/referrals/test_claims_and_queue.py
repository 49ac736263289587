import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from referrals.actions import ActionNotPermitted
from referrals.models import Referral, ReferralEvent
from referrals.services.claims import (
    ReferralAlreadyClaimed,
    referral_claim,
    referral_complete,
    referral_contact,
    referral_release,
)
from referrals.transitions import IllegalAction, ReferralStatus
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from tests.clock import WEEKDAY_MORNING
from tests.referrals.builders import queued
from tests.referrals.factories import PatientFactory, ReferralFactory, member
from tests.services.directory_fixtures import every_day, make_service

pytestmark = pytest.mark.django_db


def test_claim_then_contact_then_complete_writes_an_event_each(make_user, team):
    nurse = member(make_user, team, "nurse1")
    referral = queued(team)
    referral_claim(referral_id=referral.pk, user=nurse)
    referral_contact(referral_id=referral.pk, user=nurse)
    done = referral_complete(referral_id=referral.pk, user=nurse, outcome="NEEDS_MET")
    assert (done.status, done.outcome, done.owner) == ("COMPLETED", "NEEDS_MET", nurse)
    assert list(done.events.values_list("kind", "from_status", "to_status")) == [
        ("CLAIMED", "QUEUED", "ACCEPTED"),
        ("CONTACTED", "ACCEPTED", "IN_PROGRESS"),
        ("COMPLETED", "IN_PROGRESS", "COMPLETED"),
    ]
    assert AccessLog.objects.filter(object_type="referral", object_id=str(referral.pk)).count() == 3


def test_the_same_nurse_claiming_twice_gets_her_claim_back(make_user, team):
    nurse = member(make_user, team, "nurse1")
    referral = queued(team)
    referral_claim(referral_id=referral.pk, user=nurse)
    assert referral_claim(referral_id=referral.pk, user=nurse).owner == nurse
    assert ReferralEvent.objects.filter(referral=referral, kind="CLAIMED").count() == 1


def test_a_second_nurse_is_told_who_has_it_and_since_when_in_london_time(make_user, team):
    first, second = member(make_user, team, "nurse1"), member(make_user, team, "nurse2")
    first.first_name, first.last_name = "Siân", "O'Brien"
    first.save()
    # 13:32 UTC on 1 July 2026 is 14:32 in London (BST).
    with time_machine.travel(datetime(2026, 7, 1, 13, 32, tzinfo=UTC), tick=False):
        referral = queued(team)
        referral_claim(referral_id=referral.pk, user=first)
        with pytest.raises(ReferralAlreadyClaimed) as claimed:
            referral_claim(referral_id=referral.pk, user=second)
    assert str(claimed.value) == "Already claimed by O'BRIEN, Siân at 14:32 on 1 July 2026."


def test_release_returns_it_to_the_queue_and_only_the_owner_may(make_user, team):
    first, second = member(make_user, team, "nurse1"), member(make_user, team, "nurse2")
    referral = queued(team)
    referral_claim(referral_id=referral.pk, user=first)
    with pytest.raises(ActionNotPermitted, match="You may not do this to this referral: Release"):
        referral_release(referral_id=referral.pk, user=second)
    released = referral_release(referral_id=referral.pk, user=first)
    assert (released.status, released.owner) == ("QUEUED", None)
    assert referral_claim(referral_id=referral.pk, user=second).owner == second


def test_illegal_steps_are_refused(make_user, team):
    nurse = member(make_user, team, "nurse1")
    referral = queued(team)
    referral_claim(referral_id=referral.pk, user=nurse)
    with pytest.raises(IllegalAction):
        referral_complete(
            referral_id=referral.pk, user=nurse, outcome="NEEDS_MET"
        )  # no contact yet
    cancelled = queued(team, status=ReferralStatus.CANCELLED)
    with pytest.raises(IllegalAction):
        referral_claim(referral_id=cancelled.pk, user=nurse)


def test_another_teams_referral_cannot_be_claimed(make_user, team):
    other = make_service("Hospice at Home", "HOSPICE_AT_HOME", hours=every_day(8, 22)).team
    nurse = member(make_user, team, "nurse1")
    referral = queued(other)
    with pytest.raises(Referral.DoesNotExist):
        referral_claim(referral_id=referral.pk, user=nurse)
    coordinator = make_user(Role.SPOC_COORDINATOR)  # sees it, but is not on the team
    with pytest.raises(ActionNotPermitted):
        referral_claim(referral_id=referral.pk, user=coordinator)


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_claims_have_exactly_one_winner(make_user, team):
    nurses = [member(make_user, team, "nurse1"), member(make_user, team, "nurse2")]
    referral = queued(team)
    outcomes: list[str] = []
    barrier = threading.Barrier(20)

    def claim(index: int) -> None:
        user = nurses[index % 2]
        barrier.wait()
        try:
            won = referral_claim(referral_id=referral.pk, user=user)
            outcomes.append(f"ok:{won.owner_id}")
        except ReferralAlreadyClaimed:
            outcomes.append("refused")
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    referral.refresh_from_db()
    assert ReferralEvent.objects.filter(referral=referral, kind="CLAIMED").count() == 1
    winners = {o for o in outcomes if o.startswith("ok")}
    assert winners == {f"ok:{referral.owner_id}"}
    # The winner's other threads got the claim back; the other nurse's ten were all refused.
    assert outcomes.count("refused") == 10


# --- The queue page ----------------------------------------------------------------------------


def test_queue_shows_breached_first_then_the_nearest_due(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    now = timezone.now()
    later = queued(team, contact_by=now + timedelta(hours=3))
    sooner = queued(team, contact_by=now + timedelta(hours=1))
    breached = queued(team, contact_by=now - timedelta(minutes=5))
    client.force_login(nurse)
    response = client.get(reverse("queue:mine"))
    assert [r.pk for r in response.context["rows"]] == [breached.pk, sooner.pk, later.pk]
    assert b"Breached" in response.content


def test_queue_claim_through_the_page(client, make_user, team):
    first, second = member(make_user, team, "nurse1"), member(make_user, team, "nurse2")
    referral = queued(team)
    client.force_login(first)
    client.post(reverse("queue:action", args=[referral.pk, "claim"]))
    client.force_login(second)
    response = client.post(reverse("queue:action", args=[referral.pk, "claim"]), follow=True)
    assert b"Already claimed by" in response.content
    assert client.get(reverse("queue:action", args=[referral.pk, "claim"])).status_code == 405


def test_queue_rows_act_through_one_form_per_table_named_by_the_referral(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    waiting = [queued(team) for _ in range(3)]
    client.force_login(nurse)
    content = client.get(reverse("queue:mine")).content.decode()
    # One form per table (waiting, in progress), none per row; each button says its action and
    # the referral, to the eye and to a screen reader.
    assert content.count('<form method="post"') == 2
    assert content.count(f'action="{reverse("queue:row-action")}"') == 2
    for referral in waiting:
        assert (
            f'name="claim" value="{referral.pk}">Claim<span class="nhsuk-u-visually-hidden"> '
            f"referral {referral.pk}</span>"
        ) in content
        # The rows' links, built from a prefix reversed once per page, are the routes' own.
        assert f'href="{reverse("patients:detail", args=[referral.patient_id])}"' in content
        assert f'href="{reverse("queue:referral", args=[referral.pk])}"' in content
    first = waiting[0]
    act = reverse("queue:row-action")
    response = client.post(act, {"claim": str(first.pk), "next": reverse("queue:mine")})
    assert response["Location"] == reverse("queue:mine")
    assert Referral.objects.get(pk=first.pk).owner == nurse
    caseload = client.get(reverse("queue:caseload")).content.decode()
    assert f'name="contact" value="{first.pk}"' in caseload
    assert f'name="release" value="{first.pk}"' in caseload
    client.post(act, {"release": str(first.pk)})
    assert Referral.objects.get(pk=first.pk).status == ReferralStatus.QUEUED
    client.post(act, {"claim": str(first.pk)})
    client.post(act, {"contact": str(first.pk)})
    assert Referral.objects.get(pk=first.pk).status == ReferralStatus.IN_PROGRESS
    # Someone else's claim is refused with the message the referral page's action gives.
    second = member(make_user, team, "nurse2")
    client.force_login(second)
    refused = client.post(act, {"claim": str(first.pk)}, follow=True)
    assert b"Already claimed by" in refused.content


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"claim": ""},
        {"claim": "12x"},
        {"claim": "9" * 19},
        {"claim": "1", "release": "2"},
        {"reassign": "1"},
    ],
    ids=["nothing", "empty", "not-a-number", "too-long", "two-buttons", "not-a-row-action"],
)
def test_a_queue_row_action_without_one_button_is_refused_with_a_message(
    client, make_user, team, data
):
    referral = queued(team)
    client.force_login(member(make_user, team, "nurse1"))
    response = client.post(reverse("queue:row-action"), data)
    assert response.status_code == 400
    assert b"Choose one action" in response.content
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.QUEUED


def test_a_queue_row_action_on_a_referral_out_of_sight_is_not_found(client, make_user, team):
    other = make_service("Hospice at Home", "HOSPICE_AT_HOME", hours=every_day(8, 22)).team
    hidden = queued(other)
    client.force_login(member(make_user, team, "nurse1"))
    assert client.post(reverse("queue:row-action"), {"claim": str(hidden.pk)}).status_code == 404
    assert client.post(reverse("queue:row-action"), {"claim": "999999999"}).status_code == 404


def test_unchanged_poll_answers_204_and_is_not_logged(
    client, make_user, team, django_assert_num_queries
):
    nurse = member(make_user, team, "nurse1")
    queued(team, patient=PatientFactory())
    client.force_login(nurse)
    version = client.get(reverse("queue:mine")).context["version"]
    before = AccessLog.objects.count()
    # Session, user and two-factor device (3), roles with every permission (1), the user's
    # teams with her memberships (what she may see), and the version, what the rows show from
    # other tables included: nothing rendered.
    with django_assert_num_queries(6):
        poll = client.get(
            reverse("queue:team", args=[team.pk]),
            HTTP_HX_REQUEST="true",
            HTTP_X_SPOC_POLL="1",
            HTTP_X_QUEUE_VERSION=version,
        )
    assert poll.status_code == 204
    queued(team)
    changed = client.get(
        reverse("queue:team", args=[team.pk]),
        HTTP_HX_REQUEST="true",
        HTTP_X_SPOC_POLL="1",
        HTTP_X_QUEUE_VERSION=version,
    )
    assert changed.status_code == 200 and changed.content.decode().lstrip().startswith(
        '<div id="queue"'
    )
    assert AccessLog.objects.count() == before


def test_queue_query_count_is_constant_with_500_referrals(
    client, make_user, team, django_assert_max_num_queries
):
    nurse = member(make_user, team, "nurse1")
    ReferralFactory.create_batch(
        500, status=ReferralStatus.QUEUED, team=team, contact_by=timezone.now()
    )
    client.force_login(nurse)
    # Session, user, permissions, teams, the version, the order and then the rows, the access
    # checks, the access-log row, the navigation badge and who is on duty (the rota's patterns
    # and changes): the same with 5 rows. 4 fewer than before: no session save on each page (3:
    # savepoint, update, release), the roles read with the permissions (1).
    # One more fewer: the user's teams are read once per request, not by each selector; and
    # one more: her teams (the page's tabs) and her memberships (what she sees) in one query.
    with django_assert_max_num_queries(13):
        response = client.get(reverse("queue:mine"))
    # The 100 most urgent are shown, and the caption says how many there are.
    assert len(response.context["rows"]) == 100
    assert "The 100 most urgent of 500 open referrals" in response.content.decode()


def test_a_long_queue_keeps_the_breached_and_at_risk_ones_on_the_page(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    now = timezone.now()
    ReferralFactory.create_batch(
        150,
        status=ReferralStatus.QUEUED,
        team=team,
        contact_by=now + timedelta(hours=3),
        at_risk_at=now + timedelta(hours=2),
    )
    late = queued(team, contact_by=now + timedelta(days=9), at_risk_at=now - timedelta(minutes=1))
    breached = queued(
        team, contact_by=now - timedelta(minutes=1), at_risk_at=now - timedelta(minutes=30)
    )
    client.force_login(nurse)
    rows = client.get(reverse("queue:mine")).context["rows"]
    assert [row.pk for row in rows[:2]] == [breached.pk, late.pk]
    assert (rows[0].breached, rows[1].at_risk) == (True, True)
    printable = client.get(reverse("queue:print", args=[team.pk])).context["rows"]
    assert len(printable) == 152


def test_a_nurse_never_sees_another_teams_queue(client, make_user, team):
    other = make_service("Hospice at Home", "HOSPICE_AT_HOME", hours=every_day(8, 22)).team
    nurse = member(make_user, team, "nurse1")
    client.force_login(nurse)
    assert client.get(reverse("queue:team", args=[other.pk])).status_code == 404
    client.force_login(make_user(Role.CALL_HANDLER))
    assert client.get(reverse("queue:mine")).status_code == 403


# Routed while the team (open 08:00-20:00) is open: at night the referral would go elsewhere.
@time_machine.travel(WEEKDAY_MORNING, tick=True)
def test_referral_page_explains_why_this_team_and_is_logged(client, make_user, team):
    from referrals.services.routing import referral_route

    make_service("SPOC Coordination", "SPOC", open_24_7=True, areas=())
    nurse = member(make_user, team, "nurse1")
    referral = ReferralFactory(patient=PatientFactory(postcode="L9 7AL"))
    referral_route(referral_id=referral.pk)
    client.force_login(nurse)
    response = client.get(reverse("queue:referral", args=[referral.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="why-this-team"' in content and "Chosen" in content
    assert "Preferred service type 1 of 3" in content
    assert AccessLog.objects.filter(
        action="VIEW", object_type="referral", object_id=str(referral.pk)
    ).exists()
    other = make_service("Hospice at Home", "HOSPICE_AT_HOME", hours=every_day(8, 22)).team
    hidden = queued(other)
    assert client.get(reverse("queue:referral", args=[hidden.pk])).status_code == 404


def test_coordinators_work_their_own_queue_and_next_never_leaves_the_site(client, make_user):
    spoc = make_service("SPOC Coordination", "SPOC", open_24_7=True, areas=()).team
    coordinator = member(make_user, spoc, "coord1", role=Role.SPOC_COORDINATOR)
    referral = queued(spoc)
    client.force_login(coordinator)
    assert client.get(reverse("queue:mine")).status_code == 200
    response = client.post(
        reverse("queue:action", args=[referral.pk, "claim"]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("queue:referral", args=[referral.pk])
    assert Referral.objects.get(pk=referral.pk).owner == coordinator


def test_call_screen_timer_starts_from_the_call(client, handler):
    client.force_login(handler)
    content = client.get(reverse("calls:new")).content.decode()
    assert 'data-call-timer="20' in content
