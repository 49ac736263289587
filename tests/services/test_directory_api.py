from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rest_framework.test import APIClient

from services.models import CapacityStatus, TeamMembership
from spoc.accounts.roles import Role
from tests.clients import api_client
from tests.services.directory_fixtures import small_directory

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def api(handler):
    return api_client(handler)


@pytest.fixture(autouse=True)
def _the_searches_day():
    """The morning of the searches' day (24 November 2026): a search's time must lie within a
    year of now, so the tests' fixed times stay searchable whenever the suite runs."""
    with time_machine.travel(datetime(2026, 11, 24, 9, 0, tzinfo=LONDON), tick=True):
        yield


@pytest.fixture
def directory():
    return small_directory()


def test_ranked_search_returns_order_and_explanations(api, directory):
    at = datetime(2026, 11, 24, 23, 30, tzinfo=LONDON).isoformat()
    response = api.get(
        "/api/v1/services/",
        {"need": "URGENT_HOME_VISIT", "postcode": "l9 7al", "priority": "P2", "at": at},
    )
    assert response.status_code == 200
    body = response.json()
    results = body["results"]
    assert [r["name"] for r in results if r["eligible"]][:1] == ["Night Service"]
    assert len(results) == 4  # every service explained, the in-patient unit excluded
    ipu = next(r for r in results if r["name"] == "In-patient Unit")
    assert ipu["rank"] is None and "does not provide" in ipu["excluded_reason"]
    night = results[0]
    assert night["can_meet_deadline"] is True
    assert night["contact_by"].startswith("2026-11-25T01:30")
    assert night["reasons"]


def test_plain_list_without_a_need(api, directory):
    response = api.get("/api/v1/services/")
    assert [s["name"] for s in response.json()["results"]] == sorted(
        s.name for s in directory.values()
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"need": "URGENT_HOME_VISIT", "postcode": "ZZZ"}, "postcode"),
        ({"need": "FLYING_VISIT", "postcode": "L9 7AL"}, "need"),
        ({"need": "URGENT_HOME_VISIT", "postcode": "L9 7AL", "age": "-1"}, "age"),
        ({"need": "URGENT_HOME_VISIT", "postcode": "L9 7AL", "at": "yesterday"}, "at"),
    ],
)
def test_bad_parameters_get_field_level_json_errors(api, directory, params, field):
    response = api.get("/api/v1/services/", params)
    assert response.status_code == 400
    assert field in response.json()


def test_service_detail_and_404(api, directory):
    service = directory["night"]
    body = api.get(f"/api/v1/services/{service.pk}/").json()
    assert body["opening_hours"][0] == {"weekday": 0, "opens_at": "20:00", "closes_at": "08:00"}
    assert body["team"]["name"] == "Night Service team"
    assert api.get("/api/v1/services/999999/").status_code == 404


def test_teams_list(api, directory):
    names = [t["name"] for t in api.get("/api/v1/teams/").json()["results"]]
    assert names == sorted(f"{s.name} team" for s in directory.values())


def test_capacity_by_the_services_lead_only(make_user, directory):
    service = directory["ipu"]
    lead = make_user(Role.TEAM_LEAD)
    TeamMembership.objects.create(user=lead, team=service.team, role=TeamMembership.Role.LEAD)
    outsider = make_user(Role.TEAM_LEAD)
    client = APIClient()
    client.force_authenticate(outsider)
    refused = client.post(
        f"/api/v1/services/{service.pk}/capacity/", {"rag": "RED", "units": 0}, format="json"
    )
    assert refused.status_code == 403
    client.force_authenticate(lead)
    bad = client.post(
        f"/api/v1/services/{service.pk}/capacity/", {"rag": "PURPLE", "units": -1}, format="json"
    )
    assert bad.status_code == 400 and set(bad.json()) == {"rag", "units", "detail", "code"}
    ok = client.post(
        f"/api/v1/services/{service.pk}/capacity/", {"rag": "AMBER", "units": 1}, format="json"
    )
    assert ok.status_code == 201
    assert ok.json()["reported_by"] == lead.username
    assert CapacityStatus.objects.get(service=service).rag == "AMBER"


def test_api_requires_authentication(directory):
    assert APIClient().get("/api/v1/services/").status_code in (401, 403)


def test_api_search_query_count_is_constant(api, directory, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        assert (
            api.get(
                "/api/v1/services/", {"need": "URGENT_HOME_VISIT", "postcode": "L9 7AL"}
            ).status_code
            == 200
        )
