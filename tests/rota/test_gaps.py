"""Gaps in cover flagged ahead of time: recorded once, the team's leads emailed once."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from django.core import mail

from rota.models import RotaGap
from rota.selectors import gap_sentence, rota_gaps_ahead
from rota.services import rota_gaps_flag
from rota.tasks import flag_gaps_task
from services.models import Team
from spoc.celery import app
from tests.clock import WEEKDAY_MORNING
from tests.rota.factories import at, member, pattern
from tests.services.directory_fixtures import every_day, make_service

pytestmark = pytest.mark.django_db


def test_gap_tonight_is_recorded_once_and_its_leads_emailed_once(
    morning: Any, rota_team: Team, lead: Any, day_pattern: Any, settings: Any
) -> None:
    settings.ROTA_GAP_LOOKAHEAD_HOURS = 12
    assert rota_gaps_flag() == 1
    gap = RotaGap.objects.get()
    # The nurse works 08:00-16:00; the service is open until 22:00.
    assert (gap.starts_at, gap.ends_at) == (
        at(2026, 6, 10, 16).astimezone(UTC),
        at(2026, 6, 10, 22).astimezone(UTC),
    )
    assert [m.to for m in mail.outbox] == [["lead@example.nhs.uk"]]
    message = mail.outbox[0]
    assert "Evening Star team has nobody on duty from today 16:00" in message.body
    assert f"/rota/teams/{rota_team.pk}/" in message.body
    assert gap.notified_at is not None and gap.recipients == ["lead@example.nhs.uk"]
    # Run again, and again ten minutes on: the same gap, no new record, no new email.
    assert rota_gaps_flag() == 0
    morning.shift(timedelta(minutes=10))
    flag_gaps_task.run()
    assert RotaGap.objects.count() == 1
    assert len(mail.outbox) == 1


def test_gap_seen_growing_as_the_look_ahead_moves_is_extended_not_repeated(
    morning: Any, rota_team: Team, lead: Any, day_pattern: Any, settings: Any
) -> None:
    # 10:30 + 6 h sees 16:00-16:30; later runs see more of the same gap.
    settings.ROTA_GAP_LOOKAHEAD_HOURS = 6
    assert rota_gaps_flag() == 1
    morning.shift(timedelta(hours=3))
    assert rota_gaps_flag() == 0
    gap = RotaGap.objects.get()
    assert gap.ends_at == at(2026, 6, 10, 19, 30).astimezone(UTC)
    assert len(mail.outbox) == 1


def test_no_gap_when_the_service_is_closed_or_the_team_keeps_no_rota(
    morning: Any, make_user: Any, settings: Any
) -> None:
    settings.ROTA_GAP_LOOKAHEAD_HOURS = 12
    office = make_service("Office hours", "COMMUNITY_SPC", hours=every_day(9, 17)).team
    pattern(office, member(office), start=time(9), end=time(17))
    make_service("No rota", "COMMUNITY_SPC", hours=every_day(8, 22))
    assert rota_gaps_ahead(now=WEEKDAY_MORNING, hours=12) == []
    assert rota_gaps_flag() == 0


def test_gap_closed_on_a_bank_holiday_is_not_flagged(make_user: Any, settings: Any) -> None:
    service = make_service(
        "Weekday service", "COMMUNITY_SPC", hours=every_day(9, 17), closed_on_bank_holidays=True
    )
    team = service.team
    pattern(
        team, member(team), weekdays=range(5), start=time(9), end=time(17), on_bank_holidays=False
    )
    # Monday 31 August 2026, a bank holiday: closed, and nobody on the rota, which is right.
    assert rota_gaps_ahead(now=at(2026, 8, 31, 8), hours=12) == []


def test_gaps_ahead_of_many_teams_cost_a_constant_number_of_queries(
    make_user: Any, django_assert_max_num_queries: Any
) -> None:
    for n in range(10):
        team = make_service(f"Team {n}", "COMMUNITY_SPC", hours=every_day(8, 22)).team
        pattern(team, member(team), start=time(8), end=time(16))
    with django_assert_max_num_queries(10):
        found = rota_gaps_ahead(now=WEEKDAY_MORNING, hours=12)
    assert len(found) == 10


def test_gap_sentence_says_when_in_words() -> None:
    now = datetime(2026, 6, 10, 9, 30, tzinfo=UTC)
    assert (
        gap_sentence("Night team", at(2026, 6, 10, 22), now=now)
        == "Night team has nobody on duty from today 22:00"
    )
    assert (
        gap_sentence("Night team", at(2026, 6, 11, 2), now=now)
        == "Night team has nobody on duty from tomorrow 02:00"
    )


def test_gap_job_runs_every_five_minutes_and_expires_before_the_next() -> None:
    job = app.conf.beat_schedule["flag-rota-gaps"]
    assert job["task"] == "rota.flag_gaps"
    assert 0 < job["options"]["expires"] < job["schedule"] == 300.0


def test_a_gap_email_that_fails_is_logged_and_the_gap_still_recorded(
    morning: Any, rota_team: Team, lead: Any, day_pattern: Any, monkeypatch: Any, caplog: Any
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> int:
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("rota.services.send_mail", refuse)
    assert rota_gaps_flag() == 1
    gap = RotaGap.objects.get()
    assert gap.notified_at is None and gap.recipients == []
    assert "Could not email the leads" in caplog.text
