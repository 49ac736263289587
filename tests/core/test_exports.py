"""Every CSV export is safe in a spreadsheet: no cell a user could write starts a formula."""

from __future__ import annotations

import csv
import io
import math
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from services.models import OrganisationMembership, TeamMembership
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record
from spoc.core.exports import FORMULA_STARTS, csv_cell, csv_response
from spoc.dashboards.services import summaries_refresh
from tests.dashboards.builders import call_at, referral_change, referral_for
from tests.factories import OrganisationFactory, ServiceFactory, TeamFactory
from tests.packages import HUB_PACKAGES

HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def _is_number(cell: str) -> bool:
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


def _formula_cells(content: bytes) -> list[str]:
    """Cells a spreadsheet would run: text (not a number) starting with a formula character."""
    rows = list(csv.reader(io.StringIO(content.decode())))
    return [
        cell
        for row in rows
        for cell in row
        if cell.startswith(FORMULA_STARTS) and not _is_number(cell)
    ]


def _cells(content: bytes) -> set[str]:
    return {cell for row in csv.reader(io.StringIO(content.decode())) for cell in row}


@pytest.mark.parametrize("value", HOSTILE)
def test_a_cell_starting_with_a_formula_character_is_text(value: str) -> None:
    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", [-3, 0, 12, -2.5, Decimal("-1.25"), True])
def test_real_numbers_stay_numbers(value: Any) -> None:
    assert csv_cell(value) == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("Team A", "Team A"),
        ("<5", "<5"),
        (float("-inf"), "'-inf"),
        (Decimal("-Infinity"), "'-Infinity"),
    ],
)
def test_other_values_are_plain_text(value: Any, expected: str) -> None:
    assert csv_cell(value) == expected


def test_every_cell_is_quoted_so_a_semicolon_cannot_start_a_cell() -> None:
    # Where the spreadsheet's list separator is ";", an unquoted `a;=1+1` would be two cells.
    response = csv_response(rows=[["Team", "Calls"], ["a;=1+1", 3]], filename="x.csv")
    assert response.getvalue() == b'"Team","Calls"\r\n"a;=1+1","3"\r\n'
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'


@pytest.fixture
def hostile_world(make_user: Any) -> dict[str, Any]:
    """Users and teams named with formulas, with enough activity to appear in every table. (A
    user's full name loses a leading tab, so the tab starts a team's name.)"""
    org = OrganisationFactory(name="Org A")
    team = TeamFactory(service=ServiceFactory(organisation=org), name=HOSTILE[0])
    other = TeamFactory(service=ServiceFactory(organisation=org), name=HOSTILE[4])
    handler = make_user(
        Role.CALL_HANDLER, username="handler_x", first_name=HOSTILE[2], last_name=""
    )
    nurse = make_user(
        Role.SPECIALIST_NURSE, username="nurse_x", first_name=HOSTILE[3], last_name=""
    )
    nurse2 = make_user(
        Role.SPECIALIST_NURSE, username="nurse_y", first_name=HOSTILE[1], last_name=""
    )
    TeamMembership.objects.create(user=nurse, team=team)
    TeamMembership.objects.create(user=nurse2, team=other)
    manager = make_user(Role.MANAGER, username="manager_x")
    OrganisationMembership.objects.create(user=manager, organisation=org)
    now = timezone.now()
    for n in range(6):
        call = call_at(
            now - timedelta(days=2, hours=n),
            user=handler,
            suggested="P2",
            chosen="P1" if n else "P2",
        )
        referral = referral_for(
            call, team=team if n % 2 else other, contact_by=now - timedelta(hours=1)
        )
        if n < 2:
            referral_change(
                referral,
                status="ACCEPTED",
                owner=nurse if n else nurse2,
                accepted_at=referral.created_at + timedelta(minutes=9),
            )
    summaries_refresh(horizon_seconds=0)
    return {"org": org, "manager": manager}


@pytest.mark.django_db
def test_dashboard_csvs_neutralise_user_and_team_names(
    client: Any, hostile_world: dict[str, Any]
) -> None:
    client.force_login(hostile_world["manager"])
    params = {"organisation": hostile_world["org"].pk}
    figures = client.get(reverse("dashboards:dashboard"), params).context["figures"]
    seen: set[str] = set()
    for table in figures["tables"]:
        response = client.get(reverse("dashboards:csv", args=[table["key"]]), params)
        assert response.status_code == 200
        content = b"".join(response.streaming_content)
        assert _formula_cells(content) == [], table["key"]
        seen |= _cells(content)
    # The hostile names did reach the exports, as text.
    assert {"'" + value for value in HOSTILE[:5]} <= seen


@pytest.mark.django_db
def test_access_log_csv_neutralises_every_text_cell(
    client: Any, auditor: Any, make_user: Any
) -> None:
    actor = make_user(Role.CALL_HANDLER, username="+1")
    for value in HOSTILE:
        access_log_record(
            action=AccessLog.Action.VIEW,
            user=actor,
            object_type=value[:50],
            object_id=value,
            patient_id=1,
            reason=value,
        )
    client.force_login(auditor)
    response = client.get(reverse("audit:access-log"), {"format": "csv", "action": "VIEW"})
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    assert _formula_cells(content) == []
    rows = list(csv.reader(io.StringIO(content.decode())))
    assert len(rows) == 1 + len(HOSTILE)
    assert {"'" + value for value in HOSTILE} <= _cells(content)
    assert {row[1] for row in rows[1:]} == {"'+1"}


def test_no_csv_is_written_outside_the_shared_helper() -> None:
    """A new export must use spoc.core.exports.csv_response, or its cells go out unneutralised."""
    root = Path(settings.BASE_DIR)
    writers = []
    for folder in HUB_PACKAGES:
        for path in (root / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if "csv.writer" in text or "csv.DictWriter" in text or "text/csv" in text:
                writers.append(str(path.relative_to(root)))
    assert writers == ["spoc/core/exports.py"]
