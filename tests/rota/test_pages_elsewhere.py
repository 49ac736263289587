"""Who is on duty, and the gaps, on the pages of other apps: the team queue, the coordinator board
and the directory's service page."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from django.urls import reverse

from rota.models import ShiftPattern
from services.models import Team
from spoc.accounts.roles import Role
from tests.rota.factories import member, pattern
from tests.services.directory_fixtures import make_service

pytestmark = pytest.mark.django_db


def test_queue_page_shows_who_is_on_duty_with_a_phone_link(
    client: Any, morning: Any, rota_team: Team, nurse: Any, day_pattern: ShiftPattern
) -> None:
    client.force_login(nurse)
    page = client.get(reverse("queue:team", args=[rota_team.pk])).content.decode()
    assert 'data-testid="on-duty-person"' in page
    assert "O&#x27;BRIEN, Siân</strong>, Specialist nurse" in page
    assert 'href="tel:+447700900123">07700 900123</a>' in page


def test_queue_page_says_plainly_when_nobody_is_on_duty(
    client: Any, morning: Any, rota_team: Team, nurse: Any
) -> None:
    client.force_login(nurse)
    page = client.get(reverse("queue:team", args=[rota_team.pk])).content.decode()
    assert 'data-testid="on-duty-nobody"' in page
    assert "try the duty phone 0151 496 0123" in page


def test_board_lists_who_is_on_duty_and_the_gap_tonight(
    client: Any, morning: Any, make_user: Any, rota_team: Team, day_pattern: ShiftPattern
) -> None:
    night = make_service(
        "Night", "NIGHT_SERVICE", hours=[(d, time(20), time(8)) for d in range(7)]
    ).team
    pattern(night, member(night), start=time(20), end=time(22))
    # The evening gap is over at 22:00; the night's runs past the look-ahead (12 hours, to 22:30).
    client.force_login(make_user(Role.SPOC_COORDINATOR))
    response = client.get(reverse("board:board"))
    page = response.content.decode()
    gaps = [
        gap.sentence(now=response.context["board"].now)
        for gap in response.context["board"].rota.gaps
    ]
    assert gaps == [
        "Evening Star team has nobody on duty from today 16:00",
        "Night team has nobody on duty from today 22:00",
    ]
    assert "Night team has nobody on duty from today 22:00 to today 22:30 at least" in page
    assert page.count('data-testid="board-on-duty"') == 2
    assert "2 gaps in the duty rota" in page


def test_service_page_shows_who_is_on_duty_to_readers_of_the_rota_only(
    client: Any, morning: Any, make_user: Any, rota_team: Team, day_pattern: ShiftPattern
) -> None:
    url = reverse("services:service", args=[rota_team.service.pk])
    client.force_login(make_user(Role.CALL_HANDLER))
    assert 'data-testid="on-duty-person"' in client.get(url).content.decode()
    client.force_login(make_user(Role.DIRECTORY_ADMIN))
    assert 'data-testid="on-duty"' not in client.get(url).content.decode()
