"""The rota's pages: reading, changing, and who may do which."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

import pytest
from django.urls import reverse

from rota.models import ShiftChange, ShiftPattern
from rota.occurrences import mask_of
from services.models import Team, TeamMembership
from spoc.accounts.roles import Role
from tests.clock import WEEKDAY_MORNING
from tests.rota.factories import member

pytestmark = pytest.mark.django_db


def test_team_page_shows_who_is_on_now_the_shifts_and_the_gaps(
    client: Any, morning: Any, rota_team: Team, nurse: Any, day_pattern: ShiftPattern
) -> None:
    client.force_login(nurse)
    response = client.get(reverse("rota:team", args=[rota_team.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "O&#x27;BRIEN, Siân" in page
    assert 'href="tel:+447700900123"' in page
    assert "07700 900123" in page
    assert "08:00 to 16:00" in page
    assert len(response.context["rota"].days) == 14
    # 16:00-22:00 every day from today (Wednesday) to the end of next week: 12 days.
    assert len(response.context["rota"].gaps) == 12
    assert 'data-testid="rota-gap"' in page
    # A nurse reads her own team's rota but changes nothing.
    assert reverse("rota:pattern-add", args=[rota_team.pk]) not in page


def test_team_page_costs_the_same_queries_with_many_shifts(
    client: Any, morning: Any, rota_team: Team, lead: Any, django_assert_num_queries: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.rota.factories import cancel, extra, pattern

    client.force_login(lead)
    url = reverse("rota:team", args=[rota_team.pk])
    pattern(rota_team, member(rota_team), start=time(8), end=time(16))
    with CaptureQueriesContext(connection) as one_shift:
        client.get(url)
    for n in range(15):
        person = member(rota_team)
        shift = pattern(rota_team, person, start=time(n % 24), end=time((n + 8) % 24))
        cancel(shift, date(2026, 6, 11))
        extra(rota_team, person, WEEKDAY_MORNING, WEEKDAY_MORNING + timedelta(hours=n + 1))
    with django_assert_num_queries(len(one_shift)):
        response = client.get(url)
    assert response.status_code == 200
    assert len(response.context["patterns"]) == 16
    assert len(response.context["changes"]) == 30


def test_nurse_of_another_team_may_not_read_the_rota(
    client: Any, make_user: Any, rota_team: Team
) -> None:
    other = make_user(Role.SPECIALIST_NURSE)
    client.force_login(other)
    assert client.get(reverse("rota:team", args=[rota_team.pk])).status_code == 403


def test_call_handler_reads_every_rota_and_the_index(
    client: Any, morning: Any, make_user: Any, rota_team: Team, day_pattern: ShiftPattern
) -> None:
    client.force_login(make_user(Role.CALL_HANDLER))
    assert client.get(reverse("rota:team", args=[rota_team.pk])).status_code == 200
    response = client.get(reverse("rota:index"))
    assert response.status_code == 200
    assert "O&#x27;BRIEN, Siân" in response.content.decode()


def test_directory_admin_reads_no_rota(client: Any, make_user: Any, rota_team: Team) -> None:
    client.force_login(make_user(Role.DIRECTORY_ADMIN))
    assert client.get(reverse("rota:index")).status_code == 403
    assert client.get(reverse("rota:team", args=[rota_team.pk])).status_code == 403


def test_lead_adds_a_pattern(
    client: Any, morning: Any, rota_team: Team, lead: Any, nurse: Any
) -> None:
    client.force_login(lead)
    assert client.get(reverse("rota:pattern-add", args=[rota_team.pk])).status_code == 200
    response = client.post(
        reverse("rota:pattern-add", args=[rota_team.pk]),
        {
            "person_id": nurse.pk,
            "role": "SPECIALIST_NURSE",
            "phone": "07700 900456",
            "weekdays": ["0", "1", "2", "3", "4"],
            "start_time": "20:00",
            "end_time": "08:00",
            "valid_from_date": "2026-06-10",
            "runs_on_bank_holidays": "on",
        },
    )
    assert response.status_code == 302
    saved = ShiftPattern.objects.get()
    assert saved.weekdays == mask_of(range(5))
    assert saved.phone.as_e164 == "+447700900456"
    assert saved.created_by == lead


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("12345", "Enter a UK phone number"),
        ("+33 1 23 45 67 89", "Enter a UK phone number"),
        ("<script>alert(1)</script>", "Enter a UK phone number"),
    ],
)
def test_pattern_with_a_bad_phone_says_so_and_saves_nothing(
    client: Any, morning: Any, rota_team: Team, lead: Any, nurse: Any, phone: str, message: str
) -> None:
    client.force_login(lead)
    response = client.post(
        reverse("rota:pattern-add", args=[rota_team.pk]),
        {
            "person_id": nurse.pk,
            "role": "SPECIALIST_NURSE",
            "phone": phone,
            "weekdays": ["0"],
            "start_time": "25:00",
            "end_time": "08:00",
            "valid_from_date": "2026-06-10",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert "Enter a time on the 24-hour clock" in page
    assert "<script>alert" not in page
    assert not ShiftPattern.objects.exists()


def test_pattern_form_refuses_a_last_day_before_the_first(
    client: Any, morning: Any, rota_team: Team, lead: Any, nurse: Any
) -> None:
    client.force_login(lead)
    response = client.post(
        reverse("rota:pattern-add", args=[rota_team.pk]),
        {
            "person_id": nurse.pk,
            "role": "DOCTOR",
            "phone": "0151 496 0000",
            "weekdays": ["0"],
            "start_time": "08:00",
            "end_time": "16:00",
            "valid_from_date": "2026-06-10",
            "valid_until_date": "2026-06-01",
        },
    )
    assert "The last day must be on or after the first day" in response.content.decode()
    assert not ShiftPattern.objects.exists()


def test_nurse_may_not_add_a_pattern(client: Any, rota_team: Team, nurse: Any) -> None:
    client.force_login(nurse)
    assert client.get(reverse("rota:pattern-add", args=[rota_team.pk])).status_code == 403
    assert client.post(reverse("rota:pattern-add", args=[rota_team.pk]), {}).status_code == 403


def test_coordinator_edits_and_ends_a_pattern(
    client: Any,
    morning: Any,
    make_user: Any,
    rota_team: Team,
    nurse: Any,
    day_pattern: ShiftPattern,
) -> None:
    client.force_login(make_user(Role.SPOC_COORDINATOR))
    url = reverse("rota:pattern-edit", args=[day_pattern.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "person_id": nurse.pk,
            "role": "TEAM_LEAD",
            "phone": "07700 900999",
            "weekdays": ["5", "6"],
            "start_time": "09:00",
            "end_time": "17:00",
            "valid_from_date": "2026-06-01",
        },
    )
    assert response.status_code == 302
    day_pattern.refresh_from_db()
    assert (day_pattern.role, day_pattern.weekdays) == ("TEAM_LEAD", mask_of([5, 6]))
    response = client.post(
        reverse("rota:pattern-end", args=[day_pattern.pk]), {"last_date": "2026-06-30"}
    )
    assert response.status_code == 302
    day_pattern.refresh_from_db()
    assert day_pattern.valid_until_date == date(2026, 6, 30)


def test_lead_cancels_then_replaces_an_occurrence_and_undoes_it(
    client: Any, morning: Any, rota_team: Team, lead: Any, nurse: Any, day_pattern: ShiftPattern
) -> None:
    client.force_login(lead)
    url = reverse("rota:cancel", args=[day_pattern.pk]) + "?date=2026-06-11"
    assert client.get(url).status_code == 200
    assert client.post(url, {"reason": "Annual leave"}).status_code == 302
    change = ShiftChange.objects.get()
    assert (change.kind, change.occurrence_date) == ("CANCELLED", date(2026, 6, 11))
    again = client.post(url, {"reason": "Twice"})
    assert "already been cancelled or replaced" in again.content.decode()
    assert client.post(reverse("rota:change-remove", args=[change.pk])).status_code == 302
    assert client.post(url, {"person_id": lead.pk}).status_code == 302
    replaced = ShiftChange.objects.get()
    assert (replaced.kind, replaced.user, replaced.phone) == ("REPLACED", lead, day_pattern.phone)


def test_cancelling_a_day_the_pattern_does_not_run_says_so(
    client: Any, morning: Any, rota_team: Team, lead: Any, nurse: Any
) -> None:
    from tests.rota.factories import pattern

    weekdays_only = pattern(rota_team, nurse, weekdays=range(5))
    client.force_login(lead)
    url = reverse("rota:cancel", args=[weekdays_only.pk]) + "?date=2026-06-13"
    response = client.post(url, {})
    assert "The pattern has no shift starting on that day" in response.content.decode()
    assert not ShiftChange.objects.exists()
    assert (
        client.get(reverse("rota:cancel", args=[weekdays_only.pk]) + "?date=soon").status_code
        == 404
    )


def test_lead_adds_a_one_off_shift_and_bad_times_are_refused(
    client: Any, morning: Any, rota_team: Team, lead: Any, nurse: Any
) -> None:
    client.force_login(lead)
    url = reverse("rota:extra-add", args=[rota_team.pk])
    assert client.get(url).status_code == 200
    bad = client.post(
        url,
        {
            "person_id": nurse.pk,
            "role": "DOCTOR",
            "phone": "07700 900321",
            "starts_at": "2026-06-10T22:00",
            "ends_at": "2026-06-10T21:00",
        },
    )
    assert "The shift must end after it starts" in bad.content.decode()
    long = client.post(
        url,
        {
            "person_id": nurse.pk,
            "role": "DOCTOR",
            "phone": "07700 900321",
            "starts_at": "2026-06-10T22:00",
            "ends_at": "2027-06-10T21:00",
            "reason": "x" * 201,
        },
    )
    assert "Ensure this value has at most 200 characters" in long.content.decode()
    good = client.post(
        url,
        {
            "person_id": nurse.pk,
            "role": "DOCTOR",
            "phone": "07700 900321",
            "starts_at": "2026-06-10T16:00",
            "ends_at": "2026-06-10T22:00",
            "reason": "Cover the evening gap",
        },
    )
    assert good.status_code == 302
    extra = ShiftChange.objects.get()
    assert extra.kind == "EXTRA"
    assert extra.starts_at is not None
    assert extra.starts_at.isoformat() == "2026-06-10T15:00:00+00:00"


def test_a_nurse_of_another_team_may_cover_but_not_a_role_without_shifts(
    client: Any, morning: Any, make_user: Any, rota_team: Team, lead: Any
) -> None:
    cover = make_user(Role.SPECIALIST_NURSE, first_name="Ana", last_name="Lopez")
    admin = make_user(Role.DIRECTORY_ADMIN)
    client.force_login(lead)
    url = reverse("rota:extra-add", args=[rota_team.pk])
    shift = {
        "role": "SPECIALIST_NURSE",
        "phone": "07700 900321",
        "starts_at": "2026-06-10T16:00",
        "ends_at": "2026-06-10T22:00",
    }
    page = client.get(url).content.decode()
    assert "LOPEZ, Ana" in page
    assert admin.display_name() not in page
    assert (
        "Select a valid choice"
        in client.post(url, {**shift, "person_id": admin.pk}).content.decode()
    )
    assert not ShiftChange.objects.exists()
    assert client.post(url, {**shift, "person_id": cover.pk}).status_code == 302
    assert ShiftChange.objects.get().user == cover


def test_lead_of_another_team_may_not_change_this_rota(
    client: Any, make_user: Any, rota_team: Team, day_pattern: ShiftPattern
) -> None:
    from tests.factories import TeamFactory

    other_lead = make_user(Role.TEAM_LEAD)
    TeamMembership.objects.create(
        user=other_lead, team=TeamFactory(), role=TeamMembership.Role.LEAD
    )
    client.force_login(other_lead)
    assert client.get(reverse("rota:pattern-edit", args=[day_pattern.pk])).status_code == 403
    assert (
        client.post(
            reverse("rota:pattern-end", args=[day_pattern.pk]), {"last_date": "2026-06-30"}
        ).status_code
        == 403
    )


def test_the_teams_rotas_cost_the_same_queries_with_many_teams(
    client: Any, morning: Any, make_user: Any, django_assert_num_queries: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.rota.factories import pattern, team_with_cover

    client.force_login(make_user(Role.CALL_HANDLER))
    team_with_cover(name="Team 0")
    with CaptureQueriesContext(connection) as one_team:
        client.get(reverse("rota:index"))
    for n in range(1, 20):
        team, person, _ = team_with_cover(name=f"Team {n}")
        pattern(team, person, start=time(9), end=time(12))
    with django_assert_num_queries(len(one_team)):
        response = client.get(reverse("rota:index"))
    assert len(response.context["teams"]) == 20
    # At 10:30 the day person of each team, and the 09:00-12:00 person of all but the first.
    assert response.content.decode().count('href="tel:') == 39
