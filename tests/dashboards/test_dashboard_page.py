"""How the dashboard page reads: NHS.UK filter controls, a contents list that leads to every
section's heading, every figure with thousands separators."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from services.models import OrganisationMembership
from spoc.accounts.roles import Role
from spoc.dashboards.services import summaries_refresh
from spoc.dashboards.views import KEY_FIGURES_ID, figure_shown
from tests.dashboards.builders import call_at, intervention_for, referral_change, referral_for
from tests.factories import OrganisationFactory, ServiceFactory, TeamFactory

URL = reverse("dashboards:dashboard")


class _Page(HTMLParser):
    """The parts of the page the tests read: contents links, the main content's h2 ids and titles, labels, controls,
    and the text of every tile value and table cell."""

    def __init__(self) -> None:
        super().__init__()
        self.contents: list[tuple[str, str]] = []
        self.headings: dict[str, str] = {}
        self.labels: dict[str, str] = {}
        self.controls: dict[str, dict[str, str]] = {}
        self.figures: list[str] = []
        self._open: list[tuple[str, dict[str, str]]] = []
        self._text: list[str] = []
        self._in_contents = False
        self._in_main = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self._in_main = self._in_main or tag == "main"
        if tag == "nav" and "nhsuk-contents-list" in found.get("class", ""):
            self._in_contents = True
        if tag in {"select", "input"} and found.get("name"):
            self.controls[found["name"]] = found
        if (
            (tag == "a" and self._in_contents)
            or (tag == "h2" and found.get("id") and self._in_main)
            or tag == "label"
            or (tag == "span" and found.get("class") == "dash-tile__value")
            or (tag in {"td", "th"} and self._open and self._open[-1][0] == "tbody")
        ):
            self._open.append((tag, found))
            self._text = []
        elif tag == "tbody":
            self._open.append((tag, found))

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav":
            self._in_contents = False
        if tag == "main":
            self._in_main = False
        if not self._open or self._open[-1][0] != tag:
            return
        _, found = self._open.pop()
        text = " ".join("".join(self._text).split())
        if tag == "a":
            self.contents.append((found["href"], text))
        elif tag == "h2":
            self.headings[found["id"]] = text
        elif tag == "label":
            self.labels[found.get("for", "")] = text
        elif tag in {"span", "td", "th"}:
            self.figures.append(text)


def _read(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@pytest.fixture
def manager(make_user: Any) -> Any:
    """A manager of one organisation whose team saved 4 bed days (£1,600 at £400 a bed day)."""
    organisation = OrganisationFactory(name="Org A")
    team = TeamFactory(service=ServiceFactory(organisation=organisation), name="Team A")
    handler = make_user(Role.CALL_HANDLER, username="handler_p")
    manager = make_user(Role.MANAGER, username="manager_p")
    OrganisationMembership.objects.create(user=manager, organisation=organisation)
    now = timezone.now()
    for n in range(6):
        referral = referral_for(
            call_at(now - timedelta(days=2, hours=n), user=handler),
            team=team,
            contact_by=now + timedelta(days=1),
        )
        if n == 0:
            referral_change(
                referral,
                status="ACCEPTED",
                owner=handler,
                accepted_at=referral.created_at + timedelta(minutes=9),
            )
            intervention_for(referral, at=now - timedelta(days=1), user=handler, bed_days=4)
    summaries_refresh(horizon_seconds=0)
    manager.organisation = organisation
    return manager


@pytest.mark.django_db
def test_the_contents_list_links_to_every_sections_heading(client: Any, manager: Any) -> None:
    client.force_login(manager)
    response = client.get(URL, {"organisation": manager.organisation.pk})
    assert response.status_code == 200
    page = _read(response.content.decode())
    tables = response.context["figures"]["tables"]
    # One link per section, in the page's order, each to a heading of the page with its title.
    assert [href for href, _ in page.contents] == [
        f"#{KEY_FIGURES_ID}",
        *[f"#table-{t['key']}" for t in tables],
    ]
    assert page.contents == [(f"#{id_}", title) for id_, title in page.headings.items()]
    assert dict(page.contents)["#table-referrals_by_team"] == "Referrals by team"
    assert page.headings[KEY_FIGURES_ID] == "Key figures"


@pytest.mark.django_db
def test_every_figure_of_a_thousand_or_more_has_thousands_separators(
    client: Any, manager: Any, settings: Any
) -> None:
    settings.BED_DAY_COST_GBP = 1400
    client.force_login(manager)
    response = client.get(URL, {"organisation": manager.organisation.pk})
    html = response.content.decode()
    figures = _read(html).figures
    # 4 bed days at £1,400: the tile and the savings table say 5,600, and the cost reads £1,400.
    assert (
        next(t for t in response.context["figures"]["tiles"] if t["key"] == "pounds_saved")["value"]
        == 5600
    )
    assert "5,600" in figures and "5600" not in figures
    assert "1,400" in figures
    assert "£1,400</strong> per bed day" in html
    # No figure on the page is four digits or more without its separators.
    assert [f for f in figures if re.fullmatch(r"-?\d{4,}(\.\d+)?", f)] == []


@pytest.mark.django_db
def test_the_filter_bar_is_nhs_form_controls_each_labelled(client: Any, manager: Any) -> None:
    client.force_login(manager)
    page = _read(client.get(URL).content.decode())
    for name, css in [
        ("date_from", "nhsuk-input"),
        ("date_to", "nhsuk-input"),
        ("organisation", "nhsuk-select"),
        ("team", "nhsuk-select"),
        ("priority", "nhsuk-select"),
    ]:
        control = page.controls[name]
        assert css in control["class"].split(), name
        assert page.labels[control["id"]], f"{name} has no label"
    assert page.controls["date_from"]["type"] == "date"
    assert {page.labels["id_date_from"], page.labels["id_date_to"]} == {"From", "To"}


@pytest.mark.django_db
def test_a_wrong_filter_is_marked_in_error_on_its_control(client: Any, manager: Any) -> None:
    client.force_login(manager)
    response = client.get(URL, {"date_from": "2026-05-01", "date_to": "2026-04-01"})
    assert response.status_code == 400
    page = _read(response.content.decode())
    assert "nhsuk-input--error" in page.controls["date_from"]["class"]
    assert "The start of the period must be on or before its end." in response.content.decode()
    assert page.contents == []  # no figures, so no contents


def test_figures_are_shown_with_separators_and_text_as_it_is() -> None:
    assert figure_shown(1234567) == "1,234,567"
    assert figure_shown(12345.5) == "12,345.5"
    assert figure_shown(Decimal("1000")) == "1,000"
    assert figure_shown(999) == "999"
    assert figure_shown(0) == "0"
    assert figure_shown(None) == "–"
    # Text is never given separators: a suppressed count, a name that starts with digits.
    assert figure_shown("<5") == "<5"
    assert figure_shown("1000 Lives team") == "1000 Lives team"
