"""Reassign, cancel, reopen, enter in error; the referral page's forms; caseload, printable queue,
filters, badges and the navigation count."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from referrals.actions import ActionNotPermitted, ActorContext, actions_for
from referrals.models import Intervention, Referral, ReferralEvent
from referrals.services.claims import (
    ReopenWindowClosed,
    referral_cancel,
    referral_claim,
    referral_complete,
    referral_contact,
    referral_enter_in_error,
    referral_reassign,
    referral_reopen,
)
from referrals.transitions import IllegalAction, ReferralStatus
from services.models import TeamMembership
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from spoc.home.navigation import navigation_for
from tests.calls.telephony_steps import patient_with_carer
from tests.referrals.factories import CallFactory, PatientFactory, ReferralFactory, member

pytestmark = pytest.mark.django_db


def queued(team, **fields):
    now = timezone.now()
    fields.setdefault("contact_by", now + timedelta(hours=2))
    fields.setdefault("accept_by", now + timedelta(minutes=15))
    fields.setdefault("accept_clock_started_at", now)
    fields.setdefault("status", ReferralStatus.QUEUED)
    return ReferralFactory(team=team, **fields)


def claimed(team, nurse, **fields):
    referral = queued(team, **fields)
    return referral_claim(referral_id=referral.pk, user=nurse)


def in_progress(team, nurse, **fields):
    referral = claimed(team, nurse, **fields)
    return referral_contact(referral_id=referral.pk, user=nurse)


def completed(team, nurse, **fields):
    referral = in_progress(team, nurse, **fields)
    return referral_complete(referral_id=referral.pk, user=nurse, outcome="NEEDS_MET")


def logged(referral, action="UPDATE"):
    return AccessLog.objects.filter(
        action=action, object_type="referral", object_id=str(referral.pk)
    ).count()


# --- Reassign ---------------------------------------------------------------------------------


def test_a_lead_reassigns_to_another_member_with_from_and_to(make_user, team):
    first, second = member(make_user, team, "nurse1"), member(make_user, team, "nurse2")
    lead = member(make_user, team, "lead1", role=Role.TEAM_LEAD, lead=True)
    referral = claimed(team, first)
    done = referral_reassign(referral_id=referral.pk, user=lead, to_user_id=second.pk)
    assert (done.owner, done.status) == (second, "ACCEPTED")
    event = done.events.get(kind="REASSIGNED")
    assert (event.actor, event.data["from_user_id"], event.data["to_user_id"]) == (
        lead,
        first.pk,
        second.pk,
    )
    assert logged(referral) == 2  # the claim and the reassignment


def test_reassign_is_refused_to_a_nurse_outside_the_team_to_a_non_lead_and_from_the_queue(
    make_user, team, other_team
):
    first, second = member(make_user, team, "nurse1"), member(make_user, team, "nurse2")
    lead = member(make_user, team, "lead1", role=Role.TEAM_LEAD, lead=True)
    outsider = member(make_user, other_team, "nurse3")
    referral = claimed(team, first)
    with pytest.raises(ActionNotPermitted):
        referral_reassign(referral_id=referral.pk, user=second, to_user_id=second.pk)
    with pytest.raises(ValidationError, match="member of the referral's team") as exc:
        referral_reassign(referral_id=referral.pk, user=lead, to_user_id=outsider.pk)
    assert exc.value.message_dict == {"to_user_id": ["Choose a member of the referral's team."]}
    waiting = queued(team)
    with pytest.raises(IllegalAction):
        referral_reassign(referral_id=waiting.pk, user=lead, to_user_id=second.pk)
    assert Referral.objects.get(pk=referral.pk).owner == first
    assert not ReferralEvent.objects.filter(kind="REASSIGNED").exists()


# --- Cancel and entered in error ---------------------------------------------------------------


def test_cancel_needs_a_reason_and_closes_the_referral(make_user, team):
    nurse = member(make_user, team, "nurse1")
    referral = claimed(team, nurse)
    with pytest.raises(ValidationError, match="required") as exc:
        referral_cancel(referral_id=referral.pk, user=nurse, reason="   ")
    assert list(exc.value.message_dict) == ["reason"]
    assert Referral.objects.get(pk=referral.pk).status == "ACCEPTED"
    done = referral_cancel(
        referral_id=referral.pk, user=nurse, reason="Family asked Siân O'Brien to stop"
    )
    assert (done.status, done.cancel_reason) == ("CANCELLED", "Family asked Siân O'Brien to stop")
    assert done.closed_at is not None
    assert done.events.get(kind="CANCELLED").data == {"reason": "Family asked Siân O'Brien to stop"}
    with pytest.raises(IllegalAction):
        referral_cancel(referral_id=referral.pk, user=nurse, reason="again")


def test_cancel_is_refused_to_another_teams_nurse_and_to_a_member_who_does_not_own_it(
    make_user, team, other_team
):
    first, second = member(make_user, team, "nurse1"), member(make_user, team, "nurse2")
    outsider = member(make_user, other_team, "nurse3")
    referral = claimed(team, first)
    with pytest.raises(Referral.DoesNotExist):
        referral_cancel(referral_id=referral.pk, user=outsider, reason="x")
    with pytest.raises(ActionNotPermitted):
        referral_cancel(referral_id=referral.pk, user=second, reason="x")


def test_entered_in_error_is_for_leads_with_a_reason(make_user, team):
    nurse = member(make_user, team, "nurse1")
    lead = member(make_user, team, "lead1", role=Role.TEAM_LEAD, lead=True)
    referral = claimed(team, nurse)
    with pytest.raises(ActionNotPermitted):
        referral_enter_in_error(referral_id=referral.pk, user=nurse, reason="Wrong patient")
    with pytest.raises(Exception, match="required"):
        referral_enter_in_error(referral_id=referral.pk, user=lead, reason="")
    done = referral_enter_in_error(referral_id=referral.pk, user=lead, reason="Wrong patient")
    assert done.status == "ENTERED_IN_ERROR" and done.closed_at is not None
    assert done.events.get(kind="ENTERED_IN_ERROR").data["reason"] == "Wrong patient"
    with pytest.raises(IllegalAction):
        referral_enter_in_error(referral_id=referral.pk, user=lead, reason="again")


def test_first_contact_cannot_be_in_the_future_or_before_the_referral(make_user, team):
    nurse = member(make_user, team, "nurse1")
    referral = claimed(team, nurse)
    with pytest.raises(Exception, match="future"):
        referral_contact(
            referral_id=referral.pk, user=nurse, at=timezone.now() + timedelta(hours=1)
        )
    with pytest.raises(Exception, match="before the referral"):
        referral_contact(
            referral_id=referral.pk, user=nurse, at=referral.created_at - timedelta(days=1)
        )
    assert Referral.objects.get(pk=referral.pk).status == "ACCEPTED"


# --- Reopen ------------------------------------------------------------------------------------


def test_reopen_within_30_days_returns_to_the_same_queue_with_the_accept_clock_restarted(
    make_user, team
):
    nurse = member(make_user, team, "nurse1")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        referral = completed(team, nurse)
    reopen_at = start + timedelta(days=29, hours=23)
    with time_machine.travel(reopen_at, tick=False):
        with pytest.raises(Exception, match="required"):
            referral_reopen(referral_id=referral.pk, user=nurse, note="")
        done = referral_reopen(referral_id=referral.pk, user=nurse, note="Pain back, daughter rang")
    assert (done.status, done.team, done.owner, done.outcome, done.closed_at) == (
        "QUEUED",
        team,
        None,
        "",
        None,
    )
    assert done.accept_clock_started_at == reopen_at
    # The clocks module recomputed the accept deadline from the restart (P2: 15 minutes).
    assert done.accept_by is not None and done.accept_by > reopen_at
    assert done.first_contact_at is not None  # the first first contact is kept
    event = done.events.get(kind="REOPENED")
    assert (event.from_status, event.to_status, event.data["note"]) == (
        "COMPLETED",
        "QUEUED",
        "Pain back, daughter rang",
    )


def test_reopen_after_30_days_or_of_an_open_referral_is_refused(make_user, team):
    nurse = member(make_user, team, "nurse1")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        referral = completed(team, nurse)
    with (
        time_machine.travel(start + timedelta(days=30, minutes=1), tick=False),
        pytest.raises(ReopenWindowClosed),
    ):
        referral_reopen(referral_id=referral.pk, user=nurse, note="Too late")
    assert Referral.objects.get(pk=referral.pk).status == "COMPLETED"
    open_one = claimed(team, nurse)
    with pytest.raises(IllegalAction):
        referral_reopen(referral_id=open_one.pk, user=nurse, note="Not closed")
    assert not ReferralEvent.objects.filter(kind="REOPENED").exists()


# --- The referral page -------------------------------------------------------------------------


def _offered(content):
    return set(re.findall(r'data-testid="action-([a-z_]+)"', content))


def test_the_page_offers_exactly_the_permitted_actions(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    lead = member(make_user, team, "lead1", role=Role.TEAM_LEAD, lead=True)
    referral = claimed(team, nurse)
    for user, expected in (
        (
            nurse,
            {
                "release",
                "contact",
                "intervention",
                "assess",
                "hold",
                "reprioritise",
                "decline",
                "cancel",
            },
        ),
        (
            lead,
            {
                "reassign",
                "intervention",
                "assess",
                "decline",
                "hold",
                "reprioritise",
                "cancel",
                "enter_in_error",
            },
        ),
    ):
        client.force_login(user)
        content = client.get(reverse("queue:referral", args=[referral.pk])).content.decode()
        expected_actions = set(
            actions_for(
                actor=ActorContext.of(user),
                referral=Referral.objects.select_related("team__service").get(pk=referral.pk),
            )
        )
        assert _offered(content) == expected == expected_actions


def test_an_invalid_action_keeps_its_errors_on_the_page_and_saves_nothing(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    referral = claimed(team, nurse)
    client.force_login(nurse)
    url = reverse("queue:action", args=[referral.pk, "cancel"])
    assert client.get(url).status_code == 405
    response = client.post(url, {"reason": ""})
    assert response.status_code == 400
    content = response.content.decode()
    assert "There is a problem" in content and 'data-testid="action-cancel" open' in content
    assert Referral.objects.get(pk=referral.pk).status == "ACCEPTED"
    response = client.post(url, {"reason": "<script>alert(1)</script> Nguyễn family"}, follow=True)
    content = response.content.decode()
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt; Nguyễn family" in content
        and "<script>alert(1)" not in content
    )
    assert Referral.objects.get(pk=referral.pk).status == "CANCELLED"


def test_a_service_field_error_lands_on_its_field(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    referral = claimed(team, nurse)
    client.force_login(nurse)
    future = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("queue:action", args=[referral.pk, "contact"]), {"at": future})
    assert response.status_code == 400
    assert "First contact cannot be in the future." in response.content.decode()
    assert response.context["bound_action"] == "contact"


def test_another_teams_referral_is_404_for_page_and_actions(client, make_user, team, other_team):
    nurse = member(make_user, team, "nurse1")
    hidden = queued(other_team)
    client.force_login(nurse)
    assert client.get(reverse("queue:referral", args=[hidden.pk])).status_code == 404
    assert client.post(reverse("queue:action", args=[hidden.pk, "claim"])).status_code == 404
    assert client.post(reverse("queue:action", args=[hidden.pk, "nonsense"])).status_code == 404
    assert Referral.objects.get(pk=hidden.pk).status == "QUEUED"


def test_hold_and_resume_through_the_page(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    referral = claimed(team, nurse)
    client.force_login(nurse)
    client.post(
        reverse("queue:action", args=[referral.pk, "hold"]), {"reason": "In hospital until Friday"}
    )
    content = client.get(reverse("queue:referral", args=[referral.pk])).content.decode()
    assert "On hold since" in content and "In hospital until Friday" in content
    assert "resume" in _offered(content)
    client.post(reverse("queue:action", args=[referral.pk, "resume"]), {"note": ""})
    assert Referral.objects.get(pk=referral.pk).status == "ACCEPTED"


def test_the_page_shows_the_whole_history_within_a_constant_query_budget(
    client, make_user, team, django_assert_max_num_queries
):
    nurse = member(make_user, team, "nurse1")
    referral = in_progress(team, nurse)
    now = timezone.now()
    ReferralEvent.objects.bulk_create(
        [
            ReferralEvent(
                referral=referral, kind="HELD", at=now, actor=nurse, data={"reason": f"r{i}"}
            )
            for i in range(200)
        ]
    )
    Intervention.objects.bulk_create(
        [
            Intervention(referral=referral, kind="HOME_VISIT", at=now, by=nurse, recorded_at=now)
            for _ in range(50)
        ]
    )
    client.force_login(nurse)
    # 18: one of them for an urgent alert waiting to be acknowledged (none here), one for the
    # people the Complete form may offer a feedback text to (however many there are), one for the
    # banner's medicines in the home. 4 fewer than before: the session is no longer saved on
    # every page (3: savepoint, update, release) and the roles come with the permissions (1);
    # and one more fewer: the user's teams are read once per request, not by each selector.
    with django_assert_max_num_queries(18):
        response = client.get(reverse("queue:referral", args=[referral.pk]))
    content = response.content.decode()
    assert content.count('data-testid="referral-event"') == 202  # claimed, contacted + 200
    assert content.count("Home visit") >= 50
    assert logged(referral, "VIEW") == 1


def test_the_referral_page_reads_a_carer_and_their_consent_only_for_a_referral_that_has_them(
    client, make_user, team
):
    """The referral's own query joins what every page shows (patient, team, service, owner,
    call, creator); whom it is for and who recorded their consent cost a query each, only on the
    page of a referral for a carer."""
    nurse = member(make_user, team, "nurse1")
    plain = in_progress(team, nurse)
    patient = patient_with_carer()
    carer = patient.related_people.get()
    for_carer = in_progress(
        team,
        nurse,
        patient=patient,
        need="CARER_SUPPORT",
        for_person=carer,
        for_person_consent_at=timezone.now(),
        for_person_consent_by=nurse,
    )
    client.force_login(nurse)
    pages = {}
    for name, referral in (("plain", plain), ("for_carer", for_carer)):
        with CaptureQueriesContext(connection) as queries:
            pages[name] = client.get(reverse("queue:referral", args=[referral.pk]))
        assert pages[name].status_code == 200
        own = next(
            q["sql"] for q in queries.captured_queries if '"referrals_referral"."id" = ' in q["sql"]
        )
        assert own.count(" JOIN ") == 6, own
        pages[name] = (len(queries.captured_queries), pages[name].content.decode())
    assert pages["for_carer"][0] == pages["plain"][0] + 2
    assert "NGUYỄN, Siân" in pages["for_carer"][1]
    assert f"recorded by {nurse.display_name()}" in pages["for_carer"][1]
    assert 'data-testid="referral-for-person"' not in pages["plain"][1]


# --- Caseload, printable queue, filters, badges, navigation -----------------------------------


def test_caseload_is_her_claimed_referrals_across_her_teams(
    client, make_user, team, other_team, django_assert_max_num_queries
):
    nurse = member(make_user, team, "nurse1")
    TeamMembership.objects.create(user=nurse, team=other_team)
    colleague = member(make_user, team, "nurse2")
    mine = [claimed(team, nurse), in_progress(other_team, nurse)]
    for _ in range(30):
        claimed(team, nurse)
    claimed(team, colleague)
    queued(team)
    completed(team, nurse)
    client.force_login(nurse)
    # With the access-log row of the list; 4 fewer than before: no session save on each page (3:
    # savepoint, update, release), the roles read with the permissions (1).
    with django_assert_max_num_queries(9):
        response = client.get(reverse("queue:caseload"))
    rows = response.context["rows"]
    assert len(rows) == 32 and {m.pk for m in mine} <= {r.pk for r in rows}
    assert all(r.owner_id == nurse.pk for r in rows)


def test_the_printable_queue_is_logged_as_an_export_and_only_for_her_teams(
    client, make_user, team, other_team
):
    nurse = member(make_user, team, "nurse1")
    queued(team, patient=PatientFactory(family_name="Nguyễn"))
    client.force_login(nurse)
    response = client.get(reverse("queue:print", args=[team.pk]))
    content = response.content.decode()
    assert response.status_code == 200 and "NGUYỄN" in content and "Claim" not in content
    log = AccessLog.objects.get(action="EXPORT", object_type="team_queue")
    assert log.detail == {"rows": 1, "format": "print"}
    assert client.get(reverse("queue:print", args=[other_team.pk])).status_code == 404


def test_filters_narrow_the_queue_and_the_poll_keeps_them(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    p1 = queued(team, priority="P1")
    queued(team, priority="P3")
    queued(team, priority="P1", need="CARER_SUPPORT")
    client.force_login(nurse)
    response = client.get(
        reverse("queue:team", args=[team.pk]), {"priority": "P1", "need": "URGENT_HOME_VISIT"}
    )
    assert [r.pk for r in response.context["rows"]] == [p1.pk]
    assert (
        f'hx-get="/queue/teams/{team.pk}/?priority=P1&amp;need=URGENT_HOME_VISIT"'
        in response.content.decode()
    )
    bad = client.get(
        reverse("queue:team", args=[team.pk]), {"priority": "P9", "status": "<script>"}
    )
    assert bad.status_code == 200 and len(bad.context["rows"]) == 3


def test_badges_breached_at_risk_and_accept_overdue_and_a_poll_sees_them_flip(
    client, make_user, team
):
    nurse = member(make_user, team, "nurse1")
    now = timezone.now()
    at_risk = queued(
        team,
        clock_started_at=now - timedelta(minutes=100),
        contact_by=now + timedelta(minutes=20),
        at_risk_at=now - timedelta(minutes=10),
        accept_by=now - timedelta(minutes=5),
    )
    fine = queued(
        team,
        clock_started_at=now,
        contact_by=now + timedelta(hours=2),
        at_risk_at=now + timedelta(minutes=90),
        accept_by=now + timedelta(minutes=15),
    )
    client.force_login(nurse)
    response = client.get(reverse("queue:mine"))
    rows = {r.pk: r for r in response.context["rows"]}
    assert (
        rows[at_risk.pk].at_risk,
        rows[at_risk.pk].accept_overdue,
        rows[at_risk.pk].breached,
    ) == (True, True, False)
    assert (rows[fine.pk].at_risk, rows[fine.pk].accept_overdue, rows[fine.pk].breached) == (
        False,
        False,
        False,
    )
    content = response.content.decode()
    assert (
        'data-testid="badge-at-risk"' in content and 'data-testid="badge-accept-overdue"' in content
    )
    only_at_risk = client.get(reverse("queue:team", args=[team.pk]), {"flag": "at_risk"})
    assert [r.pk for r in only_at_risk.context["rows"]] == [at_risk.pk]
    version = response.context["version"]
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_X_SPOC_POLL": "1", "HTTP_X_QUEUE_VERSION": version}
    assert client.get(reverse("queue:team", args=[team.pk]), **headers).status_code == 204
    with time_machine.travel(now + timedelta(minutes=30)):  # past the first one's contact-by
        flipped = client.get(reverse("queue:team", args=[team.pk]), **headers)
    assert flipped.status_code == 200 and 'data-testid="badge-breached"' in flipped.content.decode()


def test_the_queue_row_shows_age_and_postcode_area_only(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    queued(
        team,
        call=CallFactory(
            patient=PatientFactory(postcode="L9 7AL", given_name="Siân", family_name="O'Brien")
        ),
    )
    client.force_login(nurse)
    content = client.get(reverse("queue:mine")).content.decode()
    assert "O&#x27;BRIEN, Siân" in content and " · L9<" in content and "7AL" not in content
    assert re.search(r"· \d+ y", content)


def test_the_navigation_badge_counts_queued_referrals_of_her_teams_in_one_query(
    make_user, team, other_team
):
    nurse = member(make_user, team, "nurse1")
    for _ in range(3):
        queued(team)
    claimed(team, nurse)
    queued(other_team)
    links = navigation_for(nurse)
    queue_link = next(link for link in links if link.label == "Team queue")
    with CaptureQueriesContext(connection) as queries:
        assert queue_link.badge == 3
        assert queue_link.badge == 3  # counted once per page
    assert len(queries) == 1
    assert all(link.badge is None for link in links if link.label != "Team queue")


def test_handlers_recent_calls_show_each_referrals_progress(client, make_user, team, handler):
    nurse = member(make_user, team, "nurse1")
    call = CallFactory(handled_by=handler)
    referral = in_progress(team, nurse, call=call)
    client.force_login(handler)
    content = client.get(reverse("calls:mine")).content.decode()
    accepted = timezone.localtime(referral.accepted_at).strftime("%H:%M")
    assert (
        f"Accepted by {team.name} " in content
        and accepted in content
        and "first contact" in content
    )


def test_a_nurse_declines_and_a_handler_routes_by_hand_through_the_page(
    client, make_user, team, other_team, handler
):
    nurse = member(make_user, team, "nurse1")
    referral = queued(team)
    client.force_login(nurse)
    url = reverse("queue:action", args=[referral.pk, "decline"])
    assert client.post(url, {"reason": "BORED"}).status_code == 400
    client.post(url, {"reason": "NO_CAPACITY", "note": "No nurse free tonight"})
    declined = Referral.objects.get(pk=referral.pk)
    assert (declined.status, declined.team) == ("AWAITING_ROUTING", None)
    client.force_login(handler)
    content = client.get(reverse("queue:referral", args=[referral.pk])).content.decode()
    assert _offered(content) == {
        "reroute",
        "reprioritise",
    }  # routing by hand shares the reroute form
    response = client.post(
        reverse("queue:action", args=[referral.pk, "reroute"]),
        {"team_id": str(other_team.pk), "reason": "Hospice at Home has a nurse free"},
    )
    assert response.status_code == 302
    routed = Referral.objects.get(pk=referral.pk)
    assert (routed.status, routed.team) == ("QUEUED", other_team)
    history = client.get(reverse("queue:referral", args=[referral.pk])).content.decode()
    assert "Reason: No capacity" in history and "Hospice at Home has a nurse free" in history


def test_a_lead_reassigns_through_the_page_to_team_members_only(
    client, make_user, team, other_team
):
    first, second = member(make_user, team, "nurse1"), member(make_user, team, "nurse2")
    second.first_name, second.last_name = "Minh", "Nguyễn"
    second.save()
    lead = member(make_user, team, "lead1", role=Role.TEAM_LEAD, lead=True)
    outsider = member(make_user, other_team, "nurse3")
    referral = claimed(team, first)
    client.force_login(lead)
    content = client.get(reverse("queue:referral", args=[referral.pk])).content.decode()
    select = re.search(r'<select name="to_user_id".*?</select>', content, re.S)
    assert select is not None
    options = select.group(0)
    assert f'<option value="{second.pk}">NGUYỄN, Minh</option>' in options
    assert f'value="{outsider.pk}"' not in options and f'value="{first.pk}"' not in options
    url = reverse("queue:action", args=[referral.pk, "reassign"])
    assert client.post(url, {"to_user_id": str(outsider.pk)}).status_code == 400
    response = client.post(url, {"to_user_id": str(second.pk)}, follow=True)
    assert "Referral reassigned." in response.content.decode()
    assert Referral.objects.get(pk=referral.pk).owner == second
    assert "to NGUYỄN, Minh" in response.content.decode()


def test_a_claim_from_the_queue_is_cheap(client, make_user, team, django_assert_max_num_queries):
    nurse = member(make_user, team, "nurse1")
    referral = queued(team)
    client.force_login(nurse)
    # Session and user (3), permissions (2), visibility, the referral, the actor's teams, the
    # conditional update, the refresh, the event, the access log, savepoints. 3 fewer than before:
    # the session is no longer saved on every request (savepoint, update, release).
    # One more fewer: the user's teams are read once per request, not by each selector.
    with django_assert_max_num_queries(13):
        response = client.post(
            reverse("queue:action", args=[referral.pk, "claim"]), {"next": "/queue/"}
        )
    assert response["Location"] == "/queue/"
    assert Referral.objects.get(pk=referral.pk).owner == nurse
