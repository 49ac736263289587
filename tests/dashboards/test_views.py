"""The dashboard page, CSV export, API: permissions, suppression, same numbers, query budget."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from patients.codes import DiagnosisGroup, EthnicCategory
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from spoc.dashboards.services import summaries_refresh
from spoc.dashboards.views import markdown_sections
from tests.dashboards.builders import (
    call_at,
    dashboard_world,
    death_of,
    equity_of,
    intervention_for,
    phone_call,
    referral_change,
    referral_for,
)
from tests.dashboards.test_feedback import answered

RANGE = {"date_from": "", "date_to": ""}


@pytest.fixture
def world(make_user: Any) -> dict[str, Any]:
    return dashboard_world(make_user)


def _tile(data: dict[str, Any], key: str) -> Any:
    return next(t["value"] for t in data["tiles"] if t["key"] == key)


@pytest.mark.django_db
def test_nurse_and_call_handler_are_refused(client: Any, world: dict[str, Any]) -> None:
    client.force_login(world["nurse"])
    assert client.get(reverse("dashboards:dashboard")).status_code == 403
    assert client.get(reverse("api-dashboard")).status_code == 403


@pytest.mark.django_db
def test_team_lead_sees_own_team_only(client: Any, world: dict[str, Any]) -> None:
    client.force_login(world["lead"])
    data = client.get(reverse("api-dashboard")).json()
    assert _tile(data, "referrals") == 7 and data["suppressed"] is False
    # The SPOC's lines belong to no team: a team lead sees the phone figures too.
    assert _tile(data, "phone_calls_offered") == 6
    assert _tile(data, "answered_in_target") == 66.7 and _tile(data, "abandoned") == 33.3
    assert client.get(reverse("api-dashboard"), {"team": world["team_b"].pk}).status_code == 403


@pytest.mark.django_db
def test_manager_cross_organisation_view_suppresses_small_numbers(
    client: Any, world: dict[str, Any]
) -> None:
    client.force_login(world["manager"])
    data = client.get(reverse("api-dashboard")).json()
    assert data["suppressed"] is True
    teams = dict(
        map(tuple, next(t for t in data["tables"] if t["key"] == "referrals_by_team")["rows"])
    )
    assert teams == {"Team A": 7, "Team B": "<5"}
    assert _tile(data, "breaches_now") == "<5"
    assert _tile(data, "phone_calls_offered") == 6 and _tile(data, "abandoned") == "<5"
    own = client.get(reverse("api-dashboard"), {"organisation": world["org_a"].pk}).json()
    assert own["suppressed"] is False and _tile(own, "referrals") == 7
    other = client.get(reverse("api-dashboard"), {"organisation": world["org_b"].pk}).json()
    assert other["suppressed"] is True and _tile(other, "referrals") == "<5"


@pytest.mark.django_db
def test_page_api_and_csv_show_the_same_numbers(client: Any, world: dict[str, Any]) -> None:
    client.force_login(world["manager"])
    params = {"organisation": world["org_a"].pk}
    page = client.get(reverse("dashboards:dashboard"), params)
    assert page.status_code == 200
    figures = page.context["figures"]
    api = client.get(reverse("api-dashboard"), params).json()
    assert api["tables"] == figures["tables"] and api["tiles"] == figures["tiles"]
    html = page.content.decode()
    assert 'href="/dashboards/definitions/#referrals"' in html
    assert "£400" in html and "BED_DAY_COST_GBP" in html
    for table in figures["tables"]:
        response = client.get(reverse("dashboards:csv", args=[table["key"]]), params)
        assert response.status_code == 200
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert rows[0] == table["columns"]
        assert rows[1:] == [["" if v is None else str(v) for v in row] for row in table["rows"]]
    exports = AccessLog.objects.filter(action=AccessLog.Action.EXPORT, object_type="dashboard")
    assert exports.count() == len(figures["tables"])
    assert exports.filter(user=world["manager"], object_id="referrals_by_team").exists()


@pytest.mark.django_db
def test_bad_filters_get_field_messages(client: Any, world: dict[str, Any]) -> None:
    client.force_login(world["manager"])
    response = client.get(
        reverse("api-dashboard"), {"from": "2026-05-01", "to": "2026-04-01", "priority": "P9"}
    )
    assert response.status_code == 400
    body = response.json()
    assert "from" in str(body) and "priority" in str(body)
    page = client.get(reverse("dashboards:dashboard"), {"date_from": "not a date"})
    assert page.status_code == 400 and "Enter a valid date" in page.content.decode()
    mismatch = client.get(
        reverse("api-dashboard"), {"organisation": world["org_b"].pk, "team": world["team_a"].pk}
    )
    assert mismatch.status_code == 400 and "team" in mismatch.json().__str__()


@pytest.mark.django_db
def test_breaches_drilldown_is_own_organisation_only_and_logged(
    client: Any, world: dict[str, Any]
) -> None:
    client.force_login(world["manager"])
    response = client.get(reverse("dashboards:breaches"))
    assert response.status_code == 200
    # Team B's overdue referrals belong to another organisation: not listed.
    assert response.context["rows"] == []
    team_a = world["team_a"]
    overdue = team_a.referrals.first()
    overdue.contact_by = timezone.now() - timedelta(minutes=5)
    overdue.save()
    response = client.get(reverse("dashboards:breaches"))
    assert [r.pk for r in response.context["rows"]] == [overdue.pk]
    assert "O&#x27;BRIEN" in response.content.decode() or "O&#39;BRIEN" in response.content.decode()
    assert (
        AccessLog.objects.filter(
            action=AccessLog.Action.VIEW,
            patient_id=overdue.patient_id,
            reason="dashboard drill-down",
        ).count()
        == 1
    )


@pytest.mark.django_db
def test_query_count_is_constant_in_the_number_of_rows(
    client: Any, world: dict[str, Any], make_user: Any
) -> None:
    client.force_login(world["manager"])
    url, page = reverse("api-dashboard"), reverse("dashboards:dashboard")
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as small_page:
        assert client.get(page).status_code == 200
    handler = make_user(Role.CALL_HANDLER, username="handler_more")
    now = timezone.now()
    for n in range(40):
        call = call_at(now - timedelta(days=n % 20, hours=n), user=handler, caller_type="OOH_111")
        # Patients of every equity group, some of whom die with and without a preference.
        patient = equity_of(
            call.patient,
            ethnic=EthnicCategory.values[n % len(EthnicCategory.values)],
            diagnosis=DiagnosisGroup.values[n % len(DiagnosisGroup.values)],
            postcode=f"L{n % 10 + 1} 1AA",
            decile=n % 10 + 1 if n % 7 else None,
        )
        if n % 4 == 0:
            death_of(
                patient,
                at=now - timedelta(hours=n),
                place="21",
                first="21" if n % 8 else "",
                user=handler,
            )
        referral = referral_for(
            call,
            team=world["team_b"] if n % 2 else world["team_a"],
            contact_by=now - timedelta(hours=1),
        )
        if n % 3 == 0:
            referral_change(
                referral,
                status="ACCEPTED",
                owner=make_user(username=f"nurse_more{n}"),
                accepted_at=referral.created_at + timedelta(minutes=n),
            )
            intervention_for(
                referral,
                at=now - timedelta(days=1),
                user=handler,
                bed_days=n % 5 or None,
                primary_care=n % 2 == 0,
            )
        # Phone calls answered, abandoned and missed, each missed one with its call-back.
        phone_call(
            f"more-{n}",
            rang_at=now - timedelta(days=n % 20, hours=n),
            answered_after=n * 7 if n % 3 else None,
            ended_after=n * 11 + 5,
            ending="abandoned" if n % 2 else "ended",
        )
        # Feedback answers, with comments (read straight from the answers, one query per table).
        answered(world["team_a"], "GOOD" if n % 2 else "POOR", why=f"Comment {n}")
    summaries_refresh(horizon_seconds=0)
    with CaptureQueriesContext(connection) as large:
        assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as large_page:
        assert client.get(page).status_code == 200
    assert len(large) == len(small)
    assert len(large_page) == len(small_page)
    # The phone figures read four summary tables once each; the feedback figures read the answers
    # three times (the test, the survey, the comments) and log the comments shown; the equity
    # tables read two summary tables (their overdue counts come with the open caseload's query).
    assert len(large) <= 31


@pytest.mark.django_db
def test_definitions_page_has_an_anchor_for_every_tile_and_table(
    client: Any, world: dict[str, Any]
) -> None:
    client.force_login(world["manager"])
    figures = client.get(reverse("api-dashboard")).json()
    html = client.get(reverse("dashboards:metrics")).content.decode()
    for item in [*figures["tiles"], *figures["tables"]]:
        assert f'id="{item["definition"]}"' in html
    assert '<th scope="col">table</th>' in html and "<code>PatientFirstDay</code>" in html
    # docs/metrics.md is CommonMark: its emphasis shows as emphasis, not as asterisks.
    assert "office day (<em>local</em>," in html


def test_definitions_show_raw_html_as_text_and_refuse_script_links() -> None:
    sections = markdown_sections(
        "Before any heading.\n\n# Doc\n\n## Rule *one* {#rule}\n\n"
        "In *local* time <script>alert(1)</script> [here](javascript:alert(1)).\n\n"
        "| `code` | **b** |\n|---|---|\n| <b>1</b> | 2 |\n\n- a\n- b\n"
    )
    assert [(s["level"], s["title"], s["anchor"]) for s in sections] == [
        (0, "", ""),
        (1, "Doc", ""),
        (2, "Rule <em>one</em>", "rule"),
    ]
    html = sections[2]["html"]
    assert "<em>local</em>" in html and "<script>" not in html and "&lt;script&gt;" in html
    assert "<a " not in html and "href" not in html
    assert '<th scope="col"><code>code</code></th>' in html and "&lt;b&gt;1&lt;/b&gt;" in html
    assert '<td data-label="code">' in html and '<td data-label="b">2</td>' in html
    assert html.count("<li>") == 2 and html.count('<ul class="nhsuk-list nhsuk-list--bullet">') == 1
