"""Fixtures shared by the referrals tests: a partner team, another team, and a nurse of the first."""

import pytest

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
