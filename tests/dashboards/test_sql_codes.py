"""The dashboard SQL takes its codes from the modules that define them (docs/metrics.md, "Where the
codes come from"): no status, place of death, residence, need, priority, outcome or metric is
written into a statement, or copied into a list of its own, in the dashboard modules."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.db import models

from calls.models import CallBack, TelephonyCall
from patients.codes import PlaceOfDeath, UsualResidence
from referrals.codes import InterventionType, ReferralOutcome
from referrals.models import ReferralEvent
from referrals.transitions import OPEN_STATUSES, Action, ReferralStatus
from services.codes import CallerType, Need, Priority
from spoc.dashboards.models import ANSWER_TARGET_SECONDS, ResponseMinuteStat, TelephonyWaitStat
from spoc.dashboards.services import (
    CALL_BACK_CODES,
    DEATHS_CODES,
    MINUTES_CODES,
    OPEN_STATUS_CODES,
    PENDING_CODE,
    TELEPHONY_HOUR_CODES,
    TELEPHONY_WAIT_CODES,
    USUAL_RESIDENCE_PLACES,
)
from tests.conftest import ROOT

DASHBOARD_SQL_MODULES = ("services.py", "selectors.py", "sqlite.py", "models.py")
# The code lists whose codes the dashboards read from the raw tables.
CODE_LISTS: tuple[type[models.TextChoices], ...] = (
    ReferralStatus,
    PlaceOfDeath,
    UsualResidence,
    Need,
    Priority,
    CallerType,
    InterventionType,
    ReferralOutcome,
    ResponseMinuteStat.Metric,
    TelephonyCall.Outcome,
    CallBack.Status,
    TelephonyWaitStat.Metric,
)
# Quoted in SQL, these are codes too (lower case ones included): an event kind, an action.
SQL_ONLY_CODE_LISTS: tuple[type[models.TextChoices], ...] = (ReferralEvent.Kind, Action)


def _codes(lists: tuple[type[models.TextChoices], ...]) -> set[str]:
    return {str(code) for choices in lists for code in choices.values}


def _strings(source: str) -> list[str]:
    """Every string constant of a module, the literal parts of f-strings included."""
    return [
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def code_literals(source: str, *, defines: tuple[type[models.TextChoices], ...] = ()) -> list[str]:
    """The codes written into the strings of ``source``: quoted as an SQL literal (``'QUEUED'``,
    ``'queued'``, ``'20'``), or a whole Python string equal to a code (a copied list such as
    ``("AWAITING_ROUTING", "QUEUED")``), except the codes of the lists ``source`` defines."""
    quoted = {code.lower() for code in _codes(CODE_LISTS + SQL_ONLY_CODE_LISTS)}
    copied = _codes(CODE_LISTS) - _codes(defines)
    found = []
    for text in _strings(source):
        found += [
            literal for literal in re.findall(r"'([^']*)'", text) if literal.lower() in quoted
        ]
        if text in copied:
            found.append(text)
    return found


@pytest.mark.parametrize("module", DASHBOARD_SQL_MODULES)
def test_no_code_is_written_into_the_dashboard_sql(module: str) -> None:
    path = ROOT / "spoc" / "dashboards" / module
    defines = (ResponseMinuteStat.Metric, TelephonyWaitStat.Metric) if module == "models.py" else ()
    assert code_literals(Path(path).read_text(encoding="utf-8"), defines=defines) == []


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("sql = \"SELECT count(*) FROM r WHERE r.status = 'queued'\"", ["queued"]),
        ("sql = f\"SELECT 1 FROM {t} WHERE kind IN ('CLAIMED', 'ROUTED')\"", ["CLAIMED", "ROUTED"]),
        (
            "sql = \"CASE p.usual_residence WHEN 'OWN_HOME' THEN dr.place IN ('20', '21') END\"",
            ["OWN_HOME", "20", "21"],
        ),
        ('OPEN = ("AWAITING_ROUTING", "QUEUED")', ["AWAITING_ROUTING", "QUEUED"]),
        ("sql = \"SELECT 'Europe/London', '08:00', date_trunc('hour', x)\"", []),
        ('sql = "WHERE status = ANY(%s)"', []),
    ],
)
def test_the_scan_finds_codes_written_into_sql_and_nothing_else(
    source: str, found: list[str]
) -> None:
    assert code_literals(source) == found


def test_the_parameters_are_the_code_modules_own_codes() -> None:
    assert sorted(OPEN_STATUSES) == OPEN_STATUS_CODES
    assert all(type(code) is str for code in OPEN_STATUS_CODES + MINUTES_CODES)
    assert set(MINUTES_CODES) == set(ResponseMinuteStat.Metric.values)
    # Every usual residence has its places of death, each a place-of-death code: a residence added
    # to patients/codes.py fails here rather than counting no death as "at home".
    assert set(USUAL_RESIDENCE_PLACES) == set(UsualResidence.values)
    assert all(
        set(places) <= set(PlaceOfDeath.values) for places in USUAL_RESIDENCE_PLACES.values()
    )
    assert USUAL_RESIDENCE_PLACES[UsualResidence.CARE_HOME] == [PlaceOfDeath.CARE_HOME]
    assert [param for item in USUAL_RESIDENCE_PLACES.items() for param in item] == DEATHS_CODES


def test_the_phone_parameters_are_the_calls_own_codes() -> None:
    outcome, status, metric = TelephonyCall.Outcome, CallBack.Status, TelephonyWaitStat.Metric
    assert TELEPHONY_HOUR_CODES == [
        outcome.ANSWERED,
        outcome.ANSWERED,
        ANSWER_TARGET_SECONDS,
        outcome.ABANDONED,
        outcome.MISSED,
        outcome.VOICEMAIL,
    ]
    assert TELEPHONY_WAIT_CODES == [
        metric.ANSWER,
        outcome.ANSWERED,
        metric.ABANDON,
        outcome.ABANDONED,
    ]
    assert CALL_BACK_CODES == [status.DONE, status.DONE, status.CANCELLED]
    assert PENDING_CODE == status.PENDING
    assert all(
        type(code) is str
        for code in [
            *TELEPHONY_HOUR_CODES[:2],
            *TELEPHONY_HOUR_CODES[3:],
            *TELEPHONY_WAIT_CODES,
            *CALL_BACK_CODES,
            PENDING_CODE,
        ]
    )
