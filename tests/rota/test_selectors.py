"""Who is on duty and the gaps in cover, read from the database."""

from __future__ import annotations

from datetime import UTC, date, time, timedelta

import pytest

from rota.selectors import OnDuty, cover_gaps, on_duty, rota_shifts
from tests.factories import TeamFactory
from tests.rota.factories import at, cancel, extra, member, pattern, team_with_cover

pytestmark = pytest.mark.django_db


def test_on_duty_names_the_night_person_after_midnight_with_e164_phone() -> None:
    team, _, night_person = team_with_cover()
    found = on_duty(team_ids=[team.pk], at=at(2026, 6, 11, 2))
    assert found == {
        team.pk: [
            OnDuty(
                team_id=team.pk,
                user_id=night_person.pk,
                name="NGUYỄN, Minh",
                role="Specialist nurse",
                phone="+447700900999",
                starts_at=at(2026, 6, 10, 20).astimezone(UTC),
                ends_at=at(2026, 6, 11, 8).astimezone(UTC),
            )
        ]
    }


def test_on_duty_hands_over_at_the_end_of_a_shift() -> None:
    team, day_person, night_person = team_with_cover()
    assert [d.user_id for d in on_duty(team_ids=[team.pk], at=at(2026, 6, 11, 7, 59))[team.pk]] == [
        night_person.pk
    ]
    assert [d.user_id for d in on_duty(team_ids=[team.pk], at=at(2026, 6, 11, 8))[team.pk]] == [
        day_person.pk
    ]


def test_on_duty_lists_overlapping_people_earliest_start_first() -> None:
    team, day_person, _ = team_with_cover()
    doctor = member(team, first_name="Ana", last_name="Lopez")
    extra(team, doctor, at(2026, 6, 10, 9), at(2026, 6, 10, 13))
    found = on_duty(team_ids=[team.pk], at=at(2026, 6, 10, 10))[team.pk]
    assert [(d.user_id, d.role) for d in found] == [
        (day_person.pk, "Specialist nurse"),
        (doctor.pk, "Doctor"),
    ]


def test_on_duty_leaves_out_a_cancelled_occurrence_and_teams_with_nobody() -> None:
    team, _, night_person = team_with_cover()
    night = night_person.shift_patterns.get()
    cancel(night, date(2026, 6, 10))
    empty = TeamFactory()
    found = on_duty(team_ids=[team.pk, empty.pk], at=at(2026, 6, 11, 2))
    assert found.get(team.pk, []) == []
    assert found.get(empty.pk, []) == []


def test_on_duty_skips_a_pattern_on_a_bank_holiday_it_does_not_run_on() -> None:
    team = TeamFactory()
    nurse = member(team)
    pattern(team, nurse, weekdays=range(5), start=time(9), end=time(17), on_bank_holidays=False)
    # Monday 31 August 2026 is the summer bank holiday in England and Wales.
    assert on_duty(team_ids=[team.pk], at=at(2026, 8, 31, 10)).get(team.pk, []) == []
    assert len(on_duty(team_ids=[team.pk], at=at(2026, 9, 1, 10))[team.pk]) == 1


def test_cover_gaps_finds_the_night_a_pattern_leaves_uncovered() -> None:
    team = TeamFactory()
    nurse = member(team)
    pattern(team, nurse, start=time(8), end=time(22))
    start, end = at(2026, 6, 10, 12), at(2026, 6, 11, 12)
    assert cover_gaps(team_id=team.pk, start=start, end=end) == [
        (at(2026, 6, 10, 22).astimezone(UTC), at(2026, 6, 11, 8).astimezone(UTC))
    ]


def test_cover_gaps_across_the_night_the_clocks_go_back() -> None:
    team, _, _ = team_with_cover()
    start, end = at(2026, 10, 24, 12), at(2026, 10, 26, 12)
    assert cover_gaps(team_id=team.pk, start=start, end=end) == []
    shifts = rota_shifts(team_ids=[team.pk], start=at(2026, 10, 25, 1), end=at(2026, 10, 25, 2))
    (night,) = shifts[team.pk]
    assert night.ends_at - night.starts_at == timedelta(hours=13)


def test_cover_gaps_of_a_team_without_a_rota_is_the_whole_period() -> None:
    team = TeamFactory()
    start, end = at(2026, 6, 10, 12), at(2026, 6, 10, 18)
    assert cover_gaps(team_id=team.pk, start=start, end=end) == [
        (start.astimezone(UTC), end.astimezone(UTC))
    ]


def test_on_duty_costs_the_same_queries_for_many_teams_and_shifts(
    django_assert_max_num_queries,
) -> None:
    teams = [team_with_cover(name=f"Team {n}")[0] for n in range(12)]
    for team in teams[:6]:
        doctor = member(team)
        extra(team, doctor, at(2026, 6, 10, 6), at(2026, 6, 10, 14))
        cancel(team.shift_patterns.order_by("id").first(), date(2026, 6, 9))  # type: ignore[arg-type]
    with django_assert_max_num_queries(2):
        found = on_duty(team_ids=[t.pk for t in teams], at=at(2026, 6, 10, 9))
    assert sum(len(people) for people in found.values()) == 18
    with django_assert_max_num_queries(2):
        cover_gaps(team_id=teams[0].pk, start=at(2026, 6, 1), end=at(2026, 6, 15))
