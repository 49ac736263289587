"""Searches a page at a time, in a fixed number of queries however many match (docs/interop.md,
"Searches")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from referrals.models import Referral
from referrals.transitions import ReferralStatus
from services.models import Site
from tests.interop.fhir import FHIR, fhir_get, resources_of
from tests.referrals.factories import ReferralFactory
from tests.services.directory_fixtures import every_day, make_service

pytestmark = pytest.mark.django_db


def many_referrals(team, count):
    now = timezone.now()
    for n in range(count):
        ReferralFactory(
            status=ReferralStatus.QUEUED,
            team=team,
            call__received_at=now - timedelta(minutes=n),
            accept_by=now + timedelta(minutes=15),
            contact_by=now + timedelta(hours=2),
        )


def queries_for(client, path, params):
    fhir_get(client, path, params)  # the user's permissions, read once per client, are not counted
    with CaptureQueriesContext(connection) as captured:
        fhir_get(client, path, params)
    return len(captured)


@pytest.mark.parametrize("path", ["Task", "ServiceRequest"])
def test_a_search_of_many_referrals_costs_the_same_queries_as_one(handler_api, team, path):
    many_referrals(team, 1)
    one = queries_for(
        handler_api,
        path,
        {"owner": f"HealthcareService/{team.service_id}"} if path == "Task" else {},
    )
    many_referrals(team, 60)
    many = queries_for(
        handler_api,
        path,
        {"owner": f"HealthcareService/{team.service_id}", "_count": 100}
        if path == "Task"
        else {"_count": 100},
    )
    assert many == one


def test_a_search_of_many_services_costs_the_same_queries_as_one(handler_api):
    make_service("Service 0", "COMMUNITY_SPC", hours=every_day(8, 20))
    one = queries_for(handler_api, "HealthcareService", {})
    for n in range(1, 30):
        service = make_service(f"Service {n}", "COMMUNITY_SPC", hours=every_day(8, 20))
        service.sites.add(
            Site.objects.create(organisation=service.organisation, code=f"S{n}", name=f"Site {n}")
        )
    assert queries_for(handler_api, "HealthcareService", {"_count": 100}) == one
    assert queries_for(handler_api, "Location", {"_count": 100}) <= one


def test_results_come_in_pages_linked_next_and_previous(handler_api, team):
    many_referrals(team, 5)
    newest_first = list(
        Referral.objects.order_by("-created_at", "-id").values_list("pk", flat=True)
    )
    first = fhir_get(handler_api, "Task", {"_count": 2})
    assert first["total"] == 5
    assert [r["id"] for r in resources_of(first)] == [str(pk) for pk in newest_first[:2]]
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert links["self"] == f"http://testserver{FHIR}Task?_count=2&_page=1"
    assert set(links) == {"self", "next"}
    last = fhir_get(handler_api, "Task", {"_count": 2, "_page": 3})
    assert [r["id"] for r in resources_of(last)] == [str(newest_first[4])]
    links = {link["relation"]: link["url"] for link in last["link"]}
    assert set(links) == {"self", "previous"} and links["previous"].endswith("_count=2&_page=2")
    counted = fhir_get(handler_api, "Task", {"_count": 0})
    assert (counted["total"], counted.get("entry", [])) == (5, [])
    beyond = fhir_get(handler_api, "Task", {"_count": 2, "_page": 9})
    assert {link["relation"]: link["url"] for link in beyond["link"]}["previous"].endswith(
        "_page=3"
    )
