"""The rota's API: a team's shifts over a period and who is on duty now."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest

from rota.models import ShiftPattern
from services.models import Team
from spoc.accounts.roles import Role
from tests.rota.factories import cancel, member, pattern

pytestmark = pytest.mark.django_db


def test_rota_lists_the_shifts_of_a_range_earliest_first(
    client: Any, morning: Any, rota_team: Team, nurse: Any, day_pattern: ShiftPattern
) -> None:
    night = pattern(rota_team, member(rota_team), start=time(22), end=time(8))
    cancel(night, date(2026, 6, 10))
    client.force_login(nurse)
    response = client.get(
        f"/api/v1/teams/{rota_team.pk}/rota/",
        {"from": "2026-06-10T00:00:00+01:00", "to": "2026-06-11T12:00:00+01:00"},
    )
    assert response.status_code == 200
    body = response.json()
    # The night that began the evening before, the two days; the cancelled night is not there.
    assert [(s["kind"], s["starts_at"], s["ends_at"]) for s in body["shifts"]] == [
        ("PATTERN", "2026-06-09T21:00:00+00:00", "2026-06-10T07:00:00+00:00"),
        ("PATTERN", "2026-06-10T07:00:00+00:00", "2026-06-10T15:00:00+00:00"),
        ("PATTERN", "2026-06-11T07:00:00+00:00", "2026-06-11T15:00:00+00:00"),
    ]
    first = body["shifts"][1]
    assert (first["name"], first["role"], first["phone"], first["occurrence_date"]) == (
        "O'BRIEN, Siân",
        "Specialist nurse",
        "+447700900123",
        "2026-06-10",
    )


def test_rota_defaults_to_a_week_from_now_and_refuses_bad_ranges(
    client: Any, morning: Any, rota_team: Team, nurse: Any, day_pattern: ShiftPattern
) -> None:
    client.force_login(nurse)
    url = f"/api/v1/teams/{rota_team.pk}/rota/"
    week = client.get(url).json()
    assert len(week["shifts"]) == 8  # today's, still running, and the next seven days'
    backwards = client.get(url, {"from": "2026-06-10T10:00:00Z", "to": "2026-06-09T10:00:00Z"})
    assert backwards.status_code == 400
    assert backwards.json()["code"] == "invalid"
    assert "to" in backwards.json()
    too_long = client.get(url, {"from": "2026-06-01T00:00:00Z", "to": "2026-08-01T00:00:00Z"})
    assert too_long.status_code == 400
    assert client.get(url, {"from": "soon"}).status_code == 400


def test_on_duty_says_who_is_on_now(
    client: Any, morning: Any, make_user: Any, rota_team: Team, day_pattern: ShiftPattern
) -> None:
    client.force_login(make_user(Role.CALL_HANDLER))
    body = client.get(f"/api/v1/teams/{rota_team.pk}/on-duty/").json()
    assert body["at"] == "2026-06-10T09:30:00+00:00"
    assert [(p["name"], p["phone"], p["ends_at"]) for p in body["on_duty"]] == [
        ("O'BRIEN, Siân", "+447700900123", "2026-06-10T15:00:00+00:00")
    ]


def test_on_duty_of_a_team_with_nobody_is_an_empty_list(
    client: Any, morning: Any, make_user: Any, rota_team: Team
) -> None:
    client.force_login(make_user(Role.SPOC_COORDINATOR))
    assert client.get(f"/api/v1/teams/{rota_team.pk}/on-duty/").json()["on_duty"] == []


def test_rota_api_refuses_whom_the_page_refuses(
    client: Any, make_user: Any, rota_team: Team
) -> None:
    client.force_login(make_user(Role.SPECIALIST_NURSE))
    for path in ("rota", "on-duty"):
        response = client.get(f"/api/v1/teams/{rota_team.pk}/{path}/")
        assert response.status_code == 403
        assert response.json()["code"] == "not_permitted"
        assert client.get(f"/api/v1/teams/999999/{path}/").status_code == 404
