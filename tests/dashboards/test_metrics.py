"""Every dashboard figure on a small hand-built dataset; expected values worked out by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from spoc.accounts.roles import Role
from spoc.dashboards.models import CallHourStat
from spoc.dashboards.selectors import DashboardScope, dashboard_figures, percentile
from spoc.dashboards.services import summaries_refresh
from tests.dashboards.builders import (
    admission_of,
    call_at,
    death_of,
    equity_of,
    intervention_for,
    local,
    referral_change,
    referral_for,
    table_rows,
)
from tests.factories import OrganisationFactory, ServiceFactory, TeamFactory

NOW = local(2026, 4, 30, 12, 0)


def _scope(
    team_ids: tuple[int, ...] | None = None,
    *,
    suppress: bool = False,
    priority: str | None = None,
    date_from: date = date(2026, 3, 1),
    date_to: date = date(2026, 4, 30),
) -> DashboardScope:
    return DashboardScope(
        date_from, date_to, priority, None, None, team_ids, suppress=suppress, own_team_ids=()
    )


def _tile(figures: dict[str, Any], key: str) -> Any:
    return next(t["value"] for t in figures["tiles"] if t["key"] == key)


@pytest.fixture
def dataset(make_user: Any) -> dict[str, Any]:
    """Two organisations, one team each; four calls, three referrals, two interventions, three deaths."""
    org_a, org_b = OrganisationFactory(name="Org A"), OrganisationFactory(name="Org B")
    team_a = TeamFactory(service=ServiceFactory(organisation=org_a), name="Team A")
    team_b = TeamFactory(service=ServiceFactory(organisation=org_b), name="Team B")
    handler = make_user(
        Role.CALL_HANDLER, username="handler_h", first_name="Siân", last_name="O'Brien"
    )
    # Monday 2 March 2026, 09:00: in hours. 19:00 the same day: out of hours, priority overridden.
    c1 = call_at(local(2026, 3, 2, 9), user=handler)
    c2 = call_at(
        local(2026, 3, 2, 19), user=handler, caller_type="CARER_FAMILY", suggested="P3", chosen="P2"
    )
    # Saturday 7 March (weekend) and Good Friday 3 April 2026 (bank holiday): out of hours.
    c3 = call_at(local(2026, 3, 7, 10), user=handler, chosen="P3", suggested="P3")
    call_at(local(2026, 4, 3, 10), user=handler, chosen="P4", suggested="P4")
    r1 = referral_for(c1, team=team_a, status="QUEUED", contact_by=local(2026, 3, 2, 11))
    referral_change(r1, status="ACCEPTED", owner=handler, accepted_at=local(2026, 3, 2, 9, 10))
    referral_change(
        r1, kind="CONTACTED", status="IN_PROGRESS", first_contact_at=local(2026, 3, 2, 10)
    )
    referral_for(
        c2,
        team=team_a,
        need="CARER_SUPPORT",
        status="IN_PROGRESS",
        owner=handler,
        accepted_at=local(2026, 3, 2, 19, 30),
        first_contact_at=local(2026, 3, 2, 22),
        contact_by=local(2026, 3, 2, 21),
    )
    referral_for(c3, team=team_b, priority="P3", status="QUEUED", contact_by=local(2026, 3, 7, 14))
    intervention_for(r1, at=local(2026, 3, 3, 11), user=handler, bed_days=5)
    intervention_for(
        r1, at=local(2026, 3, 4, 11), kind="PHONE_ADVICE", user=handler, primary_care=True
    )
    p1, p2, p3 = c1.patient, c2.patient, c3.patient
    assert p1 is not None and p2 is not None and p3 is not None
    # p1: died at home as preferred, usual residence own home, 3 emergency admissions in 90 days
    # (plus one elective, and one emergency 91 days before: neither counts).
    death_of(
        p1,
        at=local(2026, 3, 20, 8),
        place="21",
        first="20",
        user=handler,
        usual_residence="OWN_HOME",
    )
    for day in (date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)):
        admission_of(p1, on=day)
    admission_of(p1, on=date(2026, 2, 10), emergency=False)
    admission_of(p1, on=date(2025, 12, 19))
    # p2: died in hospital, preferred home; usual residence care home; 2 emergency admissions.
    death_of(
        p2,
        at=local(2026, 3, 21, 8),
        place="10",
        first="20",
        user=handler,
        usual_residence="CARE_HOME",
    )
    admission_of(p2, on=date(2026, 3, 1))
    admission_of(p2, on=date(2026, 3, 10))
    # p3: no preference recorded, usual residence not recorded.
    death_of(p3, at=local(2026, 3, 22, 8), place="30", user=handler)
    summaries_refresh(horizon_seconds=0)
    return {"team_a": team_a, "team_b": team_b, "org_a": org_a, "handler": handler}


@pytest.mark.django_db
def test_call_figures(dataset: dict[str, Any]) -> None:
    figures = dashboard_figures(scope=_scope(), now=NOW)
    assert _tile(figures, "calls") == 4
    # 19:00 Monday, Saturday, Good Friday: 3 of 4.
    assert _tile(figures, "out_of_hours") == 75.0
    heat = {row[0]: row[1:] for row in table_rows(figures, "calls_heatmap")}
    assert heat["Monday"][9] == 1 and heat["Monday"][19] == 1 and heat["Monday"][24] == 2
    assert heat["Saturday"][10] == 1 and heat["Friday"][10] == 1 and heat["Sunday"][24] == 0
    assert dict(map(tuple, table_rows(figures, "calls_by_caller_type"))) == {
        "GP": 3,
        "Carer or family": 1,
    }
    assert table_rows(figures, "overrides_by_handler") == [["Siân O'Brien", 4, 1, 25.0]]


@pytest.mark.django_db
def test_referral_figures(dataset: dict[str, Any]) -> None:
    figures = dashboard_figures(scope=_scope(), now=NOW)
    assert _tile(figures, "referrals") == 3
    assert dict(map(tuple, table_rows(figures, "referrals_by_need"))) == {
        "Urgent home visit": 2,
        "Carer support": 1,
    }
    assert dict(map(tuple, table_rows(figures, "referrals_by_team"))) == {"Team A": 2, "Team B": 1}
    assert dict(map(tuple, table_rows(figures, "referrals_by_status"))) == {
        "In progress": 2,
        "Queued": 1,
    }
    assert dict(map(tuple, table_rows(figures, "caseload_by_team"))) == {"Team A": 2, "Team B": 1}
    assert table_rows(figures, "caseload_by_nurse") == [["Siân O'Brien", "Team A", 2]]
    # r3 (P3, Team B) was due at 14:00 on 7 March and is still queued.
    assert table_rows(figures, "breaches_now") == [["Team B", "P3", 1]]
    assert _tile(figures, "breaches_now") == 1


@pytest.mark.django_db
def test_response_times_and_compliance(dataset: dict[str, Any]) -> None:
    figures = dashboard_figures(scope=_scope(), now=NOW)
    # P2: accepted after 10 and 30 minutes; contacted after 60 and 180 minutes.
    # Nearest rank: median = 1st of 2 values, 90th = 2nd of 2.
    assert table_rows(figures, "response_times") == [
        ["P2", 2, 10, 30, 2, 60, 180],
        ["All", 2, 10, 30, 2, 60, 180],
    ]
    # P2: r1 on time, r2 late; P3: r3 overdue now. Overall 1 of 3.
    assert table_rows(figures, "compliance") == [["P2", 1, 1, 0, 50.0], ["P3", 0, 0, 1, 0.0]]
    assert _tile(figures, "compliance") == 33.3


@pytest.mark.django_db
def test_patients_interventions_and_savings(dataset: dict[str, Any], settings: Any) -> None:
    settings.BED_DAY_COST_GBP = 400
    figures = dashboard_figures(scope=_scope(), now=NOW)
    assert _tile(figures, "patients_supported") == 4
    team_a = dashboard_figures(scope=_scope((dataset["team_a"].pk,)), now=NOW)
    # Team A: p1 and p2 by referral; calls belong to no team.
    assert _tile(team_a, "patients_supported") == 2
    assert {r[0]: r[1:] for r in table_rows(figures, "interventions_by_type")} == {
        "Home visit": [1, 1, 5, 0],
        "Phone advice": [1, 0, 0, 1],
    }
    assert table_rows(figures, "savings") == [[1, 5, 400, 2000]]
    assert _tile(figures, "primary_care_avoided") == 1
    assert _tile(figures, "pounds_saved") == 2000


@pytest.mark.django_db
def test_death_indicators(dataset: dict[str, Any]) -> None:
    figures = dashboard_figures(scope=_scope(), now=NOW)
    assert table_rows(figures, "deaths") == [
        ["Died in first preferred place (benchmark)", 1, 2, 50.0],
        ["Died in first or second preferred place", 1, 2, 50.0],
        ["No preferred place recorded", 1, 3, 33.3],
        ["Cared for in preferred place in last days", 0, 0, None],
        ["Died in usual place of residence", 1, 2, 50.0],
        ["3+ emergency admissions in last 90 days of life", 1, 3, 33.3],
    ]
    assert _tile(figures, "died_in_preferred_place") == 50.0
    # Deaths belong to the team of the latest referral before them: Team B has p3 only.
    team_b = dashboard_figures(scope=_scope((dataset["team_b"].pk,)), now=NOW)
    assert table_rows(team_b, "deaths")[2] == ["No preferred place recorded", 1, 1, 100.0]


@pytest.mark.django_db
def test_first_preference_is_the_benchmark_and_the_second_is_shown_beside_it(
    make_user: Any,
) -> None:
    """Five deaths: the 1st preference met (a preferred private residence met by the own home),
    the 2nd met, neither met, no preference at all, and a 1st met that the place of care
    missed."""
    handler = make_user(Role.CALL_HANDLER, username="handler_pref")
    patients = [call_at(local(2026, 3, 2, 9), user=handler).patient for _ in range(5)]
    cases = [
        {"place": "21", "first": "20", "care_preferred": "21", "last_days_place": "21"},
        {"place": "30", "first": "21", "second": "30", "care_preferred": "21"},
        {"place": "10", "first": "21", "second": "30", "last_days_place": "10"},
        {"place": "10", "care_preferred": "30", "last_days_place": "30"},
        {"place": "40", "first": "40", "care_preferred": "21", "last_days_place": "10"},
    ]
    for n, (patient, case) in enumerate(zip(patients, cases, strict=True)):
        assert patient is not None
        death_of(patient, at=local(2026, 3, 10 + n, 8), user=handler, **case)
    summaries_refresh(horizon_seconds=0)
    rows = {
        row[0]: row[1:] for row in table_rows(dashboard_figures(scope=_scope(), now=NOW), "deaths")
    }
    # Of the four with a preference: the 1st met twice; the 1st or 2nd three times.
    assert rows["Died in first preferred place (benchmark)"] == [2, 4, 50.0]
    assert rows["Died in first or second preferred place"] == [3, 4, 75.0]
    # The death with no preference is not in those denominators, but a figure of its own.
    assert rows["No preferred place recorded"] == [1, 5, 20.0]
    # Both places of care known for three deaths (not the second or third): met twice.
    assert rows["Cared for in preferred place in last days"] == [2, 3, 66.7]
    # Across organisations the same figures are all small numbers.
    suppressed = dashboard_figures(scope=_scope(suppress=True), now=NOW)
    assert table_rows(suppressed, "deaths")[0] == [
        "Died in first preferred place (benchmark)",
        "<5",
        "<5",
        "<5",
    ]


@pytest.mark.django_db
def test_new_admission_recomputes_the_death_outcome(dataset: dict[str, Any]) -> None:
    from patients.models import DeathRecord

    p2 = DeathRecord.objects.get(place="10").patient
    admission_of(p2, on=date(2026, 3, 15))
    summaries_refresh(horizon_seconds=0)
    figures = dashboard_figures(scope=_scope(), now=NOW)
    assert table_rows(figures, "deaths")[5] == [
        "3+ emergency admissions in last 90 days of life",
        2,
        3,
        66.7,
    ]


@pytest.mark.django_db
def test_priority_filter(dataset: dict[str, Any]) -> None:
    figures = dashboard_figures(scope=_scope(priority="P3"), now=NOW)
    assert _tile(figures, "calls") == 1
    assert _tile(figures, "referrals") == 1
    assert _tile(figures, "patients_supported") == 1


@pytest.mark.django_db
def test_suppression_in_cross_organisation_view(dataset: dict[str, Any]) -> None:
    figures = dashboard_figures(scope=_scope(suppress=True), now=NOW)
    assert _tile(figures, "calls") == "<5"
    assert _tile(figures, "out_of_hours") == "<5"
    assert dict(map(tuple, table_rows(figures, "referrals_by_team"))) == {
        "Team A": "<5",
        "Team B": "<5",
    }
    heat = {row[0]: row[1:] for row in table_rows(figures, "calls_heatmap")}
    assert heat["Sunday"][0] == 0


@pytest.mark.django_db
def test_equity_breakdowns_by_ethnic_category_diagnosis_and_deprivation(make_user: Any) -> None:
    """Six patients in three areas: referrals contacted on time, late and overdue now, and
    deaths in and away from the first preferred place, by group."""
    handler = make_user(Role.CALL_HANDLER, username="handler_eq")
    team = TeamFactory(name="Team E")
    groups = [
        ("A", "CANCER", "L9 7AL", 1),
        ("A", "CANCER", "L9 7AL", 1),
        ("H", "HEART_DISEASE", "L20 3AB", 10),
        ("N", "DEMENTIA_FRAILTY", "L20 3AB", 10),
        ("Z", "CANCER", "PR8 1AA", None),
        ("99", "NOT_KNOWN", "", None),
    ]
    patients = []
    for n, (ethnic, diagnosis, postcode, decile) in enumerate(groups):
        call = call_at(local(2026, 3, 2, 9 + n), user=handler)
        patient = equity_of(
            call.patient, ethnic=ethnic, diagnosis=diagnosis, postcode=postcode, decile=decile
        )
        patients.append(patient)
        # On time (n even), late (n = 1, 3), overdue now (n = 5: never contacted).
        contacted = {
            0: local(2026, 3, 2, 9, 30),
            1: local(2026, 3, 2, 13),
            2: local(2026, 3, 2, 11, 30),
            3: local(2026, 3, 2, 15),
            4: local(2026, 3, 2, 13, 30),
        }.get(n)
        referral_for(
            call,
            team=team,
            status="IN_PROGRESS" if contacted else "QUEUED",
            owner=handler if contacted else None,
            first_contact_at=contacted,
            contact_by=call.received_at + timedelta(hours=2),
        )
    # Deaths: the 1st preference met (A, cancer, decile 1), missed (H, heart, decile 10), none
    # recorded (Z, cancer).
    death_of(patients[0], at=local(2026, 3, 20, 8), place="21", first="21", user=handler)
    death_of(patients[2], at=local(2026, 3, 21, 8), place="10", first="21", user=handler)
    death_of(patients[4], at=local(2026, 3, 22, 8), place="30", user=handler)
    summaries_refresh(horizon_seconds=0)
    figures = dashboard_figures(scope=_scope(), now=NOW)
    by_ethnic = {row[0]: row[1:] for row in table_rows(figures, "equity_ethnic_category")}
    assert by_ethnic == {
        "White - British": [2, 1, 1, 0, 50.0, 1, 1, 1, 100.0],
        "Asian or Asian British - Indian": [1, 1, 0, 0, 100.0, 1, 1, 0, 0.0],
        "Black or Black British - African": [1, 0, 1, 0, 0.0, 0, 0, 0, None],
        "Not stated": [1, 1, 0, 0, 100.0, 1, 0, 0, None],
        "Not known": [1, 0, 0, 1, 0.0, 0, 0, 0, None],
    }
    by_diagnosis = {row[0]: row[1:] for row in table_rows(figures, "equity_diagnosis_group")}
    assert by_diagnosis["Cancer"] == [3, 2, 1, 0, 66.7, 2, 1, 1, 100.0]
    assert by_diagnosis["Heart disease"][5:] == [1, 1, 0, 0.0]
    assert list(by_diagnosis) == ["Cancer", "Heart disease", "Dementia and frailty", "Not known"]
    deciles = {row[0]: row[1:] for row in table_rows(figures, "equity_deprivation_decile")}
    assert list(deciles) == ["1 (most deprived)", "10 (least deprived)", "Not known"]
    assert deciles["1 (most deprived)"][:5] == [2, 1, 1, 0, 50.0]
    assert deciles["Not known"][:5] == [2, 1, 0, 1, 50.0]
    # Every referral is in each breakdown once.
    for key in ("equity_ethnic_category", "equity_diagnosis_group", "equity_deprivation_decile"):
        assert sum(row[1] for row in table_rows(figures, key)) == 6
    # Across organisations every group here is a small number: 1-4 shown as <5, zero as 0.
    hidden = dashboard_figures(scope=_scope(suppress=True), now=NOW)
    hidden_ethnic = {row[0]: row[1:] for row in table_rows(hidden, "equity_ethnic_category")}
    assert hidden_ethnic["White - British"] == ["<5", "<5", "<5", 0, "<5", "<5", "<5", "<5", "<5"]
    assert hidden_ethnic["Not known"][5:] == [0, 0, 0, None]


def test_percentile_nearest_rank() -> None:
    assert percentile({}, 0.5) is None
    assert percentile({5: 1}, 0.9) == 5
    # 10 values 1..10: median is the 5th, 90th percentile the 9th.
    assert percentile(dict.fromkeys(range(1, 11), 1), 0.5) == 5
    assert percentile(dict.fromkeys(range(1, 11), 1), 0.9) == 9
    assert percentile({0: 3, 7: 1}, 0.9) == 7


@pytest.mark.django_db
def test_october_day_has_25_hour_buckets(make_user: Any) -> None:
    handler = make_user(Role.CALL_HANDLER, username="handler_oct")
    # Sunday 25 October 2026 runs from 23:00 UTC on the 24th to 00:00 UTC on the 26th: one call at
    # half past every real hour, so 01:30 comes twice (BST, then GMT).
    first = datetime.fromisoformat("2026-10-24T23:30:00+00:00")
    for hour in range(25):
        call_at(first + timedelta(hours=hour), user=handler)
    summaries_refresh(horizon_seconds=0)
    rows = CallHourStat.objects.filter(local_date=date(2026, 10, 25))
    assert rows.count() == 25
    assert rows.filter(local_hour=1).count() == 2
    assert sum(r.calls for r in rows) == 25
    figures = dashboard_figures(
        scope=_scope(date_from=date(2026, 10, 25), date_to=date(2026, 10, 25)), now=NOW
    )
    heat = {row[0]: row[1:] for row in table_rows(figures, "calls_heatmap")}
    assert heat["Sunday"][1] == 2 and heat["Sunday"][0] == 1 and heat["Sunday"][24] == 25
    # Weekend: all out of hours.
    assert _tile(figures, "out_of_hours") == 100.0


@pytest.mark.django_db
def test_long_response_times_are_reported_to_their_bucket(make_user: Any) -> None:
    handler = make_user(Role.CALL_HANDLER, username="handler_long")
    team = TeamFactory(name="Team L")
    # Four P5 referrals months apart, so a year is read from blocks of several sizes, each accepted
    # after 5 minutes and contacted after 59 min, 2 h 17 min, 16 h 40 min and 2 days 3 h 17 min.
    for created, after in (
        (local(2026, 1, 5, 9), 59),
        (local(2026, 4, 14, 9), 137),
        (local(2026, 7, 1, 9), 1_000),
        (local(2026, 11, 20, 9), 3_077),
    ):
        call = call_at(created, user=handler, chosen="P5", suggested="P5")
        referral_for(
            call,
            team=team,
            priority="P5",
            status="IN_PROGRESS",
            owner=handler,
            accepted_at=created + timedelta(minutes=5),
            first_contact_at=created + timedelta(minutes=after),
            contact_by=created + timedelta(days=5),
        )
    summaries_refresh(horizon_seconds=0)
    # To the minute under an hour (59), to 5 minutes under 4 hours (137 -> 135), to 15 minutes under
    # a day (1,000 -> 990), to the hour beyond (3,077 -> 3,060). Nearest rank of 4: the median is the
    # 2nd, the 90th percentile the 4th.
    year = dashboard_figures(
        scope=_scope(date_from=date(2026, 1, 1), date_to=date(2026, 12, 31)), now=NOW
    )
    assert table_rows(year, "response_times") == [
        ["P5", 4, 5, 5, 4, 135, 3_060],
        ["All", 4, 5, 5, 4, 135, 3_060],
    ]
    team_year = dashboard_figures(
        scope=_scope((team.pk,), date_from=date(2025, 12, 1), date_to=date(2026, 11, 30)), now=NOW
    )
    assert table_rows(team_year, "response_times") == table_rows(year, "response_times")
    # One day alone; and a period that ends the day before the last referral.
    day = dashboard_figures(
        scope=_scope(date_from=date(2026, 11, 20), date_to=date(2026, 11, 20)), now=NOW
    )
    assert table_rows(day, "response_times")[-1] == ["All", 1, 5, 5, 1, 3_060, 3_060]
    before = dashboard_figures(
        scope=_scope(date_from=date(2026, 1, 5), date_to=date(2026, 11, 19)), now=NOW
    )
    assert table_rows(before, "response_times")[-1] == ["All", 3, 5, 5, 3, 135, 990]


@pytest.mark.django_db
def test_a_period_that_ends_before_it_starts_counts_nothing(dataset: dict[str, Any]) -> None:
    figures = dashboard_figures(
        scope=_scope(date_from=date(2026, 4, 30), date_to=date(2026, 3, 1)), now=NOW
    )
    assert _tile(figures, "calls") == 0 and _tile(figures, "referrals") == 0
    assert table_rows(figures, "response_times") == [["All", 0, None, None, 0, None, None]]
    assert table_rows(figures, "deaths")[0] == [
        "Died in first preferred place (benchmark)",
        0,
        0,
        None,
    ]
