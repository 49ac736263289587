"""The triage override report per need: each need of a call has its own priority and override."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from spoc.accounts.roles import Role
from spoc.dashboards.selectors import DashboardScope, dashboard_figures, dashboard_table
from spoc.dashboards.services import summaries_refresh
from tests.dashboards.builders import call_at, local, referral_for
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

NOW = local(2026, 4, 30, 12, 0)


def _rows(date_from: date = date(2026, 3, 1), date_to: date = date(2026, 4, 30)) -> list[list[Any]]:
    scope = DashboardScope(
        date_from, date_to, None, None, None, None, suppress=False, own_team_ids=()
    )
    table = dashboard_table(
        figures=dashboard_figures(scope=scope, now=NOW), key="overrides_by_need"
    )
    assert table is not None
    assert table["columns"] == ["Need", "Referrals from calls", "Overrides", "Override rate %"]
    return table["rows"]


@pytest.fixture
def calls(make_user: Any) -> None:
    handler = make_user(Role.CALL_HANDLER, username="handler_n")
    team = TeamFactory()
    # A red-flag call: the visit at its P1, carer support raised from its P4 with a reason.
    red_flag = call_at(local(2026, 3, 2, 9), user=handler, suggested="P1", chosen="P1")
    referral_for(red_flag, team=team, priority="P1", suggested_priority="P1")
    referral_for(
        red_flag,
        team=team,
        need="CARER_SUPPORT",
        priority="P2",
        suggested_priority="P4",
        override_reason="Daughter alone with a major bleed",
    )
    # An unstable patient: the visit lowered with a reason, carer support at its P4.
    unstable = call_at(local(2026, 4, 14, 15), user=handler, suggested="P2", chosen="P3")
    referral_for(
        unstable, team=team, priority="P3", suggested_priority="P2", override_reason="GP visiting"
    )
    referral_for(unstable, team=team, need="CARER_SUPPORT", priority="P4", suggested_priority="P4")
    referral_for(unstable, team=team, need="DAY_THERAPY", priority="P5", suggested_priority="P5")
    # Not made by a call's triage (no suggestion kept): not in the report.
    referral_for(unstable, team=team, need="BEREAVEMENT_SUPPORT", priority="P5")
    summaries_refresh(horizon_seconds=0)


def test_overrides_are_counted_per_need(calls: None) -> None:
    assert _rows() == [
        ["Carer support", 2, 1, 50.0],
        ["Urgent home visit", 2, 1, 50.0],
        ["Day therapy", 1, 0, 0.0],
    ]


def test_overrides_per_need_follow_the_period(calls: None) -> None:
    assert _rows(date(2026, 3, 1), date(2026, 3, 31)) == [
        ["Carer support", 1, 1, 100.0],
        ["Urgent home visit", 1, 0, 0.0],
    ]
