"""The feedback figures (docs/metrics.md, "Friends and Family Test", "Bereaved relatives'
survey", "Feedback comments"): percentages on hand-built answers, suppression, and who sees what
people wrote."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from experience.models import Answer, Invitation
from services.models import OrganisationMembership, TeamMembership
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from tests.clock import WEEKDAY_MORNING
from tests.factories import OrganisationFactory, ServiceFactory, TeamFactory, UserFactory
from tests.referrals.factories import ReferralFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(WEEKDAY_MORNING, tick=False):
        yield


def answered(team: Any, rating: str, *, why: str = "", kind: str = "FFT", **fields: Any) -> Answer:
    """An answer received yesterday to an invitation about a patient of ``team``."""
    now = timezone.now()
    referral = ReferralFactory(team=team)
    patient = referral.patient
    invitation = Invitation.objects.create(
        kind=kind,
        patient=patient,
        referral=referral,
        team=team,
        phone="+447700900123",
        consent_recorded_by=UserFactory(),
        consent_recorded_at=now - timedelta(days=2),
        due_at=now - timedelta(days=2),
        sent_at=now - timedelta(days=2),
        answered_at=now - timedelta(days=1),
    )
    return Answer.objects.create(
        invitation=invitation,
        kind=kind,
        team=team,
        received_at=now - timedelta(days=1),
        rating=rating,
        why=why,
        **fields,
    )


def table(figures: dict[str, Any], key: str) -> Any:
    return next((t for t in figures["tables"] if t["key"] == key), None)


def tile(figures: dict[str, Any], key: str) -> Any:
    return next(t["value"] for t in figures["tiles"] if t["key"] == key)


@pytest.fixture
def feedback(make_user: Any) -> dict[str, Any]:
    """Team A of organisation A with its manager and lead; team B of organisation B with its
    manager; eleven tests and a survey answered about team A, one test about team B."""
    org_a, org_b = OrganisationFactory(name="Org A"), OrganisationFactory(name="Org B")
    team_a = TeamFactory(service=ServiceFactory(organisation=org_a), name="Team A")
    team_b = TeamFactory(service=ServiceFactory(organisation=org_b), name="Team B")
    world: dict[str, Any] = {"org_a": org_a.pk, "team_a": team_a, "team_b": team_b}
    for name, org in (("manager", org_a), ("manager_b", org_b)):
        world[name] = make_user(Role.MANAGER, username=name)
        OrganisationMembership.objects.create(user=world[name], organisation=org)
    world["lead_a"] = make_user(Role.TEAM_LEAD, username="lead_a")
    TeamMembership.objects.create(user=world["lead_a"], team=team_a, role=TeamMembership.Role.LEAD)
    for rating in ["VERY_GOOD"] * 5 + ["GOOD"] * 3 + ["NEITHER", "POOR", "DONT_KNOW"]:
        answered(team_a, rating, why="Kind nurses" if rating == "POOR" else "")
    answered(team_b, "VERY_POOR", why="<script>alert(1)</script> Nobody came")
    answered(
        team_a,
        "GOOD",
        kind="BEREAVED",
        died_where_wanted="YES",
        family_support="SOME",
        why="Thank you",
    )
    return world


def figures_for(client: Any, user: Any, **query: Any) -> dict[str, Any]:
    client.force_login(user)
    response = client.get(reverse("api-dashboard"), query)
    assert response.status_code == 200, response.content
    return response.json()


def test_positive_and_negative_shares_per_team_and_in_all(client, feedback):
    figures = figures_for(client, feedback["manager"], organisation=feedback["org_a"])
    rows = {row[0]: row for row in table(figures, "fft_by_team")["rows"]}
    # Team A: 11 answers, 8 positive (5 very good, 3 good), 1 negative; Don't know counts.
    assert rows[feedback["team_a"].name] == [feedback["team_a"].name, 11, 8, 72.7, 1, 9.1]
    assert tile(figures, "fft_positive") == 72.7
    assert tile(figures, "feedback_answers") == 12  # with the survey
    answers = {row[0]: row[1:] for row in table(figures, "fft_answers")["rows"]}
    assert answers["Very good"] == [5, 45.5] and answers["Don't know"] == [1, 9.1]
    survey = {(row[0], row[1]): row[2:] for row in table(figures, "bereaved_survey")["rows"]}
    assert survey[("Do you feel they died where they wanted to?", "Yes")] == [1, 100.0]


def test_small_numbers_are_suppressed_in_a_cross_organisation_view(client, feedback):
    figures = figures_for(client, feedback["manager"])
    rows = {row[0]: row for row in table(figures, "fft_by_team")["rows"]}
    # Team B: one answer, Very poor: its count and its shares are "<5", its zero stays 0.
    assert rows[feedback["team_b"].name][1:] == ["<5", 0, "<5", "<5", "<5"]
    assert rows["All teams"][1:3] == [12, 8]
    # One survey: every count of it is "<5" or 0.
    survey = table(figures, "bereaved_survey")["rows"]
    assert {row[2] for row in survey} == {"<5", 0}


def test_what_people_wrote_is_for_the_manager_of_the_team_only(client, feedback, make_user):
    manager_figures = figures_for(client, feedback["manager"])
    comments = table(manager_figures, "feedback_comments")
    assert comments is not None
    written = [row[4] for row in comments["rows"]]
    # Team A's comments (the manager's organisation), not team B's (another organisation).
    assert sorted(written) == ["Kind nurses", "Thank you"]
    assert AccessLog.objects.filter(object_type="feedback_comments").count() == 1
    # Team A's lead sees the counts of the team, never the comments; nor does its nurse.
    lead_figures = figures_for(client, feedback["lead_a"])
    assert table(lead_figures, "fft_by_team") is not None
    assert table(lead_figures, "feedback_comments") is None
    nurse = make_user(Role.SPECIALIST_NURSE, username="nurse_fb")
    client.force_login(nurse)
    assert client.get(reverse("api-dashboard")).status_code == 403
    # The CSV is the manager's too, and the page shows the comments escaped.
    client.force_login(feedback["manager"])
    assert client.get(reverse("dashboards:csv", args=["feedback_comments"])).status_code == 200
    client.force_login(feedback["lead_a"])
    assert client.get(reverse("dashboards:csv", args=["feedback_comments"])).status_code == 404


def test_another_organisations_manager_never_sees_the_comments(client, feedback):
    figures = figures_for(client, feedback["manager_b"])
    comments = table(figures, "feedback_comments")
    assert [row[4] for row in comments["rows"]] == ["<script>alert(1)</script> Nobody came"]
    client.force_login(feedback["manager_b"])
    page = client.get(reverse("dashboards:dashboard")).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Nobody came" in page
    assert "<script>alert(1)</script>" not in page
    assert "Kind nurses" not in page
