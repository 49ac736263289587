"""Fixtures shared by the referrals tests: a partner team, another team, and a nurse of the first;
the morning partners' messages are sent."""

from collections.abc import Iterator

import pytest
import time_machine

from tests.referrals.factories import member
from tests.services.directory_fixtures import every_day, make_service


@pytest.fixture
def team():
    return make_service("Community Palliative Care", "COMMUNITY_SPC", hours=every_day(8, 20)).team


@pytest.fixture
def other_team():
    return make_service("Hospice at Home", "HOSPICE_AT_HOME", hours=every_day(8, 22)).team


@pytest.fixture
def nurse(make_user, team):
    return member(make_user, team, "nurse1")


# A Wednesday morning, when the messages of tests/interop/bars_messages.py are sent (their breach
# time is 12:00 that day): the community team (08:00-20:00) is open.
MORNING = "2026-12-02T10:00:00+00:00"


@pytest.fixture
def morning() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller
