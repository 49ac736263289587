"""The call screen warns while the SPOC is closed, with the out-of-hours divert
(docs/patients-and-calls.md "The call screen", docs/directory.md "The SPOC's hours")."""

from __future__ import annotations

from datetime import datetime

import pytest
import time_machine
from django.urls import reverse

from services.codes import ServiceType
from services.hours import LONDON
from tests.services.directory_fixtures import make_service, make_spoc_8_to_8

pytestmark = pytest.mark.django_db
NEW = reverse("calls:new")


def call_screen_at(client, user, moment: datetime) -> str:
    with time_machine.travel(moment, tick=False):
        client.force_login(user)
        response = client.get(NEW)
    assert response.status_code == 200
    return response.content.decode()


def test_the_call_screen_warns_while_the_spoc_is_closed(client, handler):
    make_spoc_8_to_8()

    page = call_screen_at(client, handler, datetime(2026, 11, 18, 22, 30, tzinfo=LONDON))

    assert 'data-testid="spoc-closed"' in page
    assert "The SPOC is closed until 08:00 tomorrow. Out of hours: Call NHS 111" in page
    assert '<a href="tel:+441514960999">0151 496 0999</a>' in page
    assert "SPOC hours: Mon–Sun 08:00–20:00" in page


def test_the_call_screen_says_nothing_while_the_spoc_is_open(client, handler):
    make_spoc_8_to_8()

    page = call_screen_at(client, handler, datetime(2026, 11, 18, 10, 0, tzinfo=LONDON))

    assert 'data-testid="spoc-closed"' not in page


def test_a_spoc_open_24_7_never_shows_the_warning(client, handler):
    make_service("SPOC Coordinators", ServiceType.SPOC, open_24_7=True, areas=())

    page = call_screen_at(client, handler, datetime(2026, 12, 25, 3, 0, tzinfo=LONDON))

    assert 'data-testid="spoc-closed"' not in page


def test_a_closed_spoc_without_a_divert_still_says_when_it_opens(client, handler):
    make_spoc_8_to_8(out_of_hours_message="", out_of_hours_phone="")

    page = call_screen_at(client, handler, datetime(2026, 11, 19, 7, 0, tzinfo=LONDON))

    assert "The SPOC is closed until 08:00 today.</p>" in page
    assert "Out of hours:" not in page
