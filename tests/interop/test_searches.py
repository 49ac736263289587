"""Searches a page at a time, in a fixed number of queries however many match (docs/interop.md,
"Searches")."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from referrals.models import Referral
from referrals.transitions import ReferralStatus
from services.models import Service, Site
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


def links_of(body):
    return {link["relation"]: link["url"] for link in body["link"]}


def walk(client, path, params):
    """Every page of a search along its next links: the pages' bodies."""
    pages = [fhir_get(client, path, params)]
    while "next" in links_of(pages[-1]):
        query = parse_qs(urlsplit(links_of(pages[-1])["next"]).query)
        pages.append(fhir_get(client, path, {name: value[0] for name, value in query.items()}))
    return pages


def ids_of(pages):
    return [r["id"] for page in pages for r in resources_of(page)]


def test_results_come_in_pages_linked_by_a_cursor_newest_first(handler_api, team):
    many_referrals(team, 5)
    newest_first = [
        str(pk)
        for pk in Referral.objects.order_by("-created_at", "-id").values_list("pk", flat=True)
    ]
    pages = walk(handler_api, "Task", {"_count": 2})
    assert ids_of(pages) == newest_first
    assert [len(resources_of(page)) for page in pages] == [2, 2, 1]
    # No page counts what it does not hold, and there is no previous link.
    assert ["total" in page for page in pages] == [False, False, False]
    assert all(set(links_of(page)) <= {"self", "next"} for page in pages)
    assert links_of(pages[0])["self"] == f"http://testserver{FHIR}Task?_count=2"
    assert links_of(pages[1])["self"] == links_of(pages[0])["next"]


def test_the_total_is_given_when_asked_or_when_one_page_holds_every_match(handler_api, team):
    many_referrals(team, 5)
    assert fhir_get(handler_api, "Task", {})["total"] == 5
    pages = walk(handler_api, "Task", {"_count": 2, "_total": "accurate"})
    assert [page["total"] for page in pages] == [5, 5, 5]
    assert all("_total=accurate" in links_of(page)["self"] for page in pages)
    counted = fhir_get(handler_api, "Task", {"_count": 0})
    assert (counted["total"], counted.get("entry", []), set(links_of(counted))) == (
        5,
        [],
        {"self"},
    )
    assert "total" not in fhir_get(handler_api, "Task", {"_count": 2, "_total": "none"})


def test_a_referral_arriving_between_pages_shifts_nothing_and_ties_are_paged_by_id(
    handler_api, team
):
    many_referrals(team, 3)
    # Three more in the same instant as the newest: told apart by their ids.
    newest = Referral.objects.order_by("-created_at", "-id").first()
    assert newest is not None
    for _ in range(3):
        ReferralFactory(status=ReferralStatus.QUEUED, team=team)
    Referral.objects.exclude(pk=newest.pk).filter(created_at__gt=newest.created_at).update(
        created_at=newest.created_at
    )
    before = [
        str(pk)
        for pk in Referral.objects.order_by("-created_at", "-id").values_list("pk", flat=True)
    ]
    first = fhir_get(handler_api, "ServiceRequest", {"_count": 2})
    ReferralFactory(status=ReferralStatus.QUEUED, team=team)  # newer than every one above
    query = parse_qs(urlsplit(links_of(first)["next"]).query)
    rest = walk(handler_api, "ServiceRequest", {name: value[0] for name, value in query.items()})
    assert ids_of([first, *rest]) == before


def test_the_directory_is_paged_by_name_through_the_same_cursor(handler_api):
    for name in ("Wirral", "Aintree", "Knowsley", "Bootle", "Sefton"):
        make_service(name, "COMMUNITY_SPC")
    by_name = [
        str(pk) for pk in Service.objects.order_by("name", "id").values_list("pk", flat=True)
    ]
    pages = walk(handler_api, "HealthcareService", {"_count": 2})
    assert ids_of(pages) == by_name and len(pages) == 3


def test_a_deep_page_costs_the_same_queries_as_the_first(handler_api, team):
    many_referrals(team, 7)
    first = fhir_get(handler_api, "ServiceRequest", {"_count": 2})
    query = parse_qs(urlsplit(links_of(first)["next"]).query)
    deeper = {name: value[0] for name, value in query.items()}
    assert queries_for(handler_api, "ServiceRequest", deeper) == queries_for(
        handler_api, "ServiceRequest", {"_count": 2}
    )
