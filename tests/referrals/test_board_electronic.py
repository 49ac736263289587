"""Referrals and patients from partner systems' messages on the staff screens: the board shows
each electronic referral's sender and lists the open possible patient matches, decided from
there; the referral page says who sent it and shows the sender's updates; a referral made by no
member of staff renders wherever it is shown. The data comes through the real BaRS service
(tests/referrals/electronic.py)."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from patients.models import Patient, PossibleMatch
from referrals.models import Referral
from referrals.selectors.board import coordinator_board
from referrals.services.electronic import possible_match_decide
from referrals.services.routing import referral_route
from referrals.transitions import ReferralStatus
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from tests.referrals import test_board as board_tests
from tests.referrals.electronic import (
    REQUESTER,
    nhs_111,
    possible_match,
    sent,
    undelivered,
    undelivered_letter,
    updated,
)
from tests.referrals.factories import CallFactory, PatientFactory, member

pytestmark = pytest.mark.django_db

# The board tests' area (a community team and the coordinators') and their board's referrals.
area = board_tests.area
build_board = board_tests.build_board

# A Wednesday morning (the message's breach time is 12:00 that day); the community team is open.
MORNING = "2026-12-02T10:00:00+00:00"
SENDER = "From NHS 111 North West (NLO01)"


@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def partner():
    return nhs_111()


@pytest.fixture
def coordinator(make_user):
    return make_user(Role.SPOC_COORDINATOR, username="coord", is_clinician=True)


def page_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def decide(client, match: PossibleMatch, decision: str):
    url = reverse("board:possible-match-decision", args=[match.pk])
    return client.post(url, {"decision": decision}, follow=True)


def said(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- The board -----------------------------------------------------------------------------------


def test_every_row_of_an_electronic_referral_shows_its_sender_and_requester(
    client, clock, area, partner, coordinator
):
    referral, _ = sent(partner)
    clock.shift(timedelta(minutes=10))  # routing is late: the referral waits on the board
    client.force_login(coordinator)
    page = page_of(client, reverse("board:board"))
    waiting = page.split('data-testid="board-waiting"')[1].split("</section>")[0]
    assert f"REF-{referral.pk:06d}" in waiting
    assert "Electronic" in waiting and SENDER in waiting
    assert f"Requested by {REQUESTER}" in waiting


def test_the_matches_section_lists_the_open_matches_only_most_recent_first(
    client, clock, partner, coordinator, make_user
):
    decided, _, _ = possible_match(partner, n=1, given="Aled", family="Jones")
    possible_match_decide(
        match_id=decided.pk, user=make_user(Role.SPOC_COORDINATOR), same_person=False
    )
    older, known_older, referral_older = possible_match(partner, n=2)
    clock.shift(timedelta(minutes=1))
    newer, _, referral_newer = possible_match(partner, n=3, given="Mai", family="Nguyễn")

    board = coordinator_board(user=coordinator, now=older.found_at)
    assert [row.match.pk for row in board.matches] == [newer.pk, older.pk]
    assert board.matches_total == 2
    assert [r.pk for r in board.matches[1].referrals] == [referral_older.pk]

    client.force_login(coordinator)
    page = page_of(client, reverse("board:board"))
    section = page.split('data-testid="board-matches"')[1]
    assert "Possible patient matches" in page and "2 possible patient matches to confirm" in page
    assert "JONES" not in section  # decided
    assert newer.patient_label in section and older.patient_label in section
    assert "NGUYỄN, Mai" in section and "O'BRIEN, Siân" in section
    assert reverse("patients:detail", args=[known_older.pk]) in section
    assert reverse("queue:referral", args=[referral_newer.pk]) in section
    assert "Registered from a message of NHS 111 North West (NLO01)" in section
    assert "Not known" in section  # the known patient's NHS number
    assert section.count('name="csrfmiddlewaretoken"') == 2
    assert section.count('value="same_person"') == section.count('value="different_people"') == 2
    log = AccessLog.objects.get(user=coordinator, object_type="coordinator_board")
    assert log.detail == {"referrals": 0, "possible_matches": 2, "undelivered_messages": 0}


def test_same_person_from_the_board_merges_the_records(client, clock, partner, coordinator):
    match, known, referral = possible_match(partner)
    new_id = match.patient_id
    assert new_id is not None
    client.force_login(coordinator)
    response = decide(client, match, "same_person")
    assert response.redirect_chain == [(reverse("board:board"), 302)]
    assert any(m.startswith("Merged") and "O'BRIEN, Siân" in m for m in said(response))
    referral.refresh_from_db()
    assert referral.patient == known
    assert not Patient.objects.filter(pk=new_id).exists()
    match.refresh_from_db()
    assert (match.status, match.decided_by) == (PossibleMatch.Status.SAME_PERSON, coordinator)
    assert (
        "None." in html.unescape(response.content.decode()).split('data-testid="board-matches"')[1]
    )


def test_different_people_from_the_board_keeps_both(client, clock, partner, coordinator):
    match, known, referral = possible_match(partner)
    client.force_login(coordinator)
    response = decide(client, match, "different_people")
    assert response.redirect_chain == [(reverse("board:board"), 302)]
    assert any(m.startswith("Kept as two records") for m in said(response))
    match.refresh_from_db()
    assert match.status == PossibleMatch.Status.DIFFERENT_PEOPLE
    referral.refresh_from_db()
    assert referral.patient_id == match.patient_id != known.pk


def test_a_second_decision_is_told_it_was_already_decided_and_changes_nothing(
    client, clock, partner, coordinator
):
    match, _, referral = possible_match(partner)
    client.force_login(coordinator)
    decide(client, match, "different_people")
    response = decide(client, match, "same_person")
    assert response.status_code == 200
    assert said(response) == ["This possible match has already been decided: nothing was changed."]
    match.refresh_from_db()
    assert match.status == PossibleMatch.Status.DIFFERENT_PEOPLE
    assert Referral.objects.get(pk=referral.pk).patient_id == match.patient_id


def test_a_record_with_more_on_it_cannot_be_merged_and_the_board_says_why(
    client, clock, partner, coordinator
):
    match, _, _ = possible_match(partner)
    CallFactory(patient=match.patient)  # a call about the new record since it arrived
    client.force_login(coordinator)
    response = decide(client, match, "same_person")
    assert response.status_code == 200
    [message] = response.context["messages"]
    assert message.level_tag == "error" and "cannot be merged here" in str(message)
    match.refresh_from_db()
    assert match.status == PossibleMatch.Status.OPEN


def test_only_coordinators_decide_and_only_by_post(client, clock, partner, coordinator, make_user):
    match, _, _ = possible_match(partner)
    url = reverse("board:possible-match-decision", args=[match.pk])
    for role in (Role.CALL_HANDLER, Role.SPECIALIST_NURSE, Role.MANAGER):
        client.force_login(make_user(role))
        assert client.post(url, {"decision": "same_person"}).status_code == 403
    client.force_login(coordinator)
    assert client.get(url).status_code == 405
    assert client.post(url, {"decision": "maybe"}).status_code == 400
    match.refresh_from_db()
    assert match.status == PossibleMatch.Status.OPEN


def electronic(partner, n: int) -> Referral:
    """A referral of a patient new to the hub, like no other: no possible match."""
    birth = f"1951-01-{n + 1:02d}"
    referral, _ = sent(partner, reference=f"111-CASE-{n:04d}", nhs_number=None, birth_date=birth)
    return referral


def test_the_board_costs_the_same_number_of_queries_with_electronic_referrals_and_matches(
    client, clock, area, partner, coordinator
):
    client.force_login(coordinator)
    build_board(area)
    possible_match(partner, n=0)
    undelivered_letter(electronic(partner, 0))
    clock.shift(timedelta(minutes=10))
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("board:board")).status_code == 200
    for n in range(1, 21):
        build_board(area)
        possible_match(partner, n=n)
        referral = electronic(partner, n)
        undelivered(referral)
        undelivered_letter(referral)  # a letter to the patient's practice, which has no partner
    clock.shift(timedelta(minutes=10))
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("board:board"))
    assert response.status_code == 200
    board = response.context["board"]
    # Waiting: two of each build_board (ten minutes on, its fresh one too), an electronic one and
    # the one of each match.
    waiting = next(s for s in board.sections if s.key == "waiting")
    assert (board.matches_total, waiting.total) == (21, 84)
    assert sum(r.sender is not None for r in waiting.rows) == 42
    assert board.undelivered_total == 41
    assert "Walton Surgery (Y" in response.content.decode()
    # 22 (the user's teams are read once per request, their permissions with their roles), 2 for
    # the duty rota (no team keeps one
    # here: its patterns and changes), 1 for the urgent alerts nobody acknowledged and 1 for the
    # navigation's count of call-backs due; 3 for the follow-ups of 999 advice and warm transfers
    # (the navigation's count, the section's rows and its access-log row;
    # tests/calls/test_follow_ups.py keeps them constant in rows).
    assert len(many) == len(few) == 29


def test_a_poll_sees_a_match_decided_elsewhere(client, clock, partner, coordinator, make_user):
    match, _, _ = possible_match(partner)
    client.force_login(coordinator)
    page = client.get(reverse("board:board")).content.decode()
    version = page.split('"X-Board-Version": "')[1].split('"')[0]
    headers = {"HX-Request": "true", "X-Spoc-Poll": "1", "X-Board-Version": version}
    assert client.get(reverse("board:board"), headers=headers).status_code == 204
    possible_match_decide(
        match_id=match.pk, user=make_user(Role.SPOC_COORDINATOR), same_person=False
    )
    assert client.get(reverse("board:board"), headers=headers).status_code == 200


# --- The referral page, the patient page, the queue and the API ----------------------------------


def test_the_referral_page_says_who_sent_it_and_shows_the_senders_updates(
    client, clock, partner, coordinator
):
    referral, message = sent(partner)
    clock.shift(timedelta(minutes=20))
    updated(partner, message, note="Now also vomiting.")
    client.force_login(coordinator)
    page = page_of(client, reverse("queue:referral", args=[referral.pk]))
    sent_by = page.split('data-testid="referral-sent-by"')[1].split("</dd>")[0]
    assert "Sent by" in sent_by and "NHS 111 North West (ODS NLO01)" in sent_by
    assert f"Requested by {REQUESTER}" in sent_by
    assert "Their reference: 111-CASE-0001" in sent_by
    assert "Their breach time: today 12:00" in sent_by
    history = page.split('data-testid="referral-events"')[1]
    assert "Created</strong> by NHS 111 North West" in history
    assert "Update from the sender</strong>: NHS 111 North West" in history
    assert "Note: Now also vomiting." in history


def test_a_referral_the_sender_withdrew_shows_who_cancelled_it(client, clock, partner, coordinator):
    referral, message = sent(partner)
    updated(partner, message, status="revoked", note="Admitted to hospital.")
    client.force_login(coordinator)
    history = page_of(client, reverse("queue:referral", args=[referral.pk])).split(
        'data-testid="referral-events"'
    )[1]
    assert "Cancelled</strong> by NHS 111 North West" in history
    assert "Admitted to hospital." in history


def test_a_referral_made_by_no_member_of_staff_renders_wherever_it_is_shown(
    client, clock, area, partner, coordinator, make_user
):
    referral, _ = sent(partner)
    assert referral.created_by is None and referral.call is None
    routed = referral_route(referral_id=referral.pk)
    assert routed is not None and routed.status == ReferralStatus.QUEUED
    nurse = member(make_user, area["community"].team, "nurse1")

    client.force_login(nurse)
    queue = page_of(client, reverse("queue:mine"))
    assert "O'BRIEN, Siân" in queue
    assert client.get(reverse("queue:caseload")).status_code == 200
    assert "Sent by" in page_of(client, reverse("queue:referral", args=[referral.pk]))

    client.force_login(coordinator)
    patient_page = page_of(client, reverse("patients:detail", args=[referral.patient_id]))
    registered = patient_page.split('data-testid="patient-registered"')[1].split("</dd>")[0]
    assert "from a message of NHS 111 North West (ODS NLO01)" in registered
    timeline = patient_page.split('data-testid="timeline"')[1]
    assert SENDER in timeline and f"Requested by {REQUESTER}" in timeline

    api = APIClient()
    api.force_authenticate(coordinator)
    answer = api.get(reverse("api-referral", args=[referral.pk]))
    assert answer.status_code == 200
    assert answer.json()["call_id"] is None
    body = answer.json()
    assert (body["sender"], body["sender_requester"], body["sender_reference"]) == (
        {"name": "NHS 111 North West", "ods_code": "NLO01"},
        REQUESTER,
        "111-CASE-0001",
    )
    assert body["sender_breach_at"] == "2026-12-02T12:00:00+00:00"
    assert {e["actor"] for e in answer.json()["events"]} == {None}
    listed = api.get(reverse("api-referrals"), {"patient": referral.patient_id})
    assert [r["id"] for r in listed.json()["results"]] == [referral.pk]


def test_the_patient_page_says_which_member_of_staff_registered_a_patient(
    client, clock, coordinator
):
    patient = PatientFactory(created_by=coordinator)
    client.force_login(coordinator)
    page = page_of(client, reverse("patients:detail", args=[patient.pk]))
    registered = page.split('data-testid="patient-registered"')[1].split("</dd>")[0]
    assert f"by {coordinator.display_name()}" in registered
