"""The dashboard page, its CSV exports and the breaches drill-down (interfaces only)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token

from spoc.core.dates import nhs_number_format
from spoc.core.exports import csv_response
from spoc.core.replica import read_from_replica, replica_reads
from spoc.dashboards.forms import DashboardFilterForm
from spoc.dashboards.selectors import (
    DashboardForbidden,
    DashboardScope,
    breached_referrals_for_drilldown,
    dashboard_figures,
    dashboard_scope,
    dashboard_table_export,
)


def _scope(request: HttpRequest, form: DashboardFilterForm) -> DashboardScope:
    try:
        return dashboard_scope(user=request.user, **form.scope_filters())
    except DashboardForbidden as exc:
        raise PermissionDenied(str(exc)) from exc


def _form(request: HttpRequest) -> DashboardFilterForm:
    if not request.user.has_perm("accounts.view_dashboards") and not request.user.has_perm(
        "accounts.lead_team"
    ):
        raise PermissionDenied("Dashboards are for managers and team leads.")
    return DashboardFilterForm(request.GET or None)


def figure_shown(value: Any) -> str:
    """A figure as the page shows it: a number with thousands separators (``12,345``), a
    dash for no value, any text (``<5``, a team's name) as it is, even one that starts with
    digits."""
    if value is None:
        return "–"
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return nhs_number_format(value)
    return str(value)


KEY_FIGURES_ID = "key-figures"


def dashboard_sections(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The page's sections in order, for its contents list and its headings: the key figures,
    then each table with its heading's id and its cells as shown."""
    sections: list[dict[str, Any]] = [{"id": KEY_FIGURES_ID, "title": "Key figures"}]
    for table in figures["tables"]:
        sections.append(
            {
                **table,
                "id": f"table-{table['key']}",
                "shown_rows": [[figure_shown(cell) for cell in row] for row in table["rows"]],
            }
        )
    return sections


@replica_reads
@login_required
def dashboard_page(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    context: dict[str, Any] = {"form": form, "query": request.GET.urlencode()}
    if not request.GET:
        form = DashboardFilterForm({})
    if form.is_valid():
        scope = _scope(request, form)
        figures = dashboard_figures(scope=scope, now=timezone.now())
        context["figures"] = figures
        context["sections"] = dashboard_sections(figures)
        context["tiles"] = [
            {**tile, "shown": figure_shown(tile["value"])} for tile in figures["tiles"]
        ]
        context["can_drill_down"] = bool(scope.own_team_ids)
        # Figures read from the replica are as new as its last replayed change (a few seconds
        # behind at most, or they would have come from the primary).
        replica = read_from_replica()
        context["figures_as_of"] = replica.as_of if replica is not None else None
    context["form"] = form
    return render(
        request, "dashboards/dashboard.html", context, status=200 if form.is_valid() else 400
    )


@replica_reads
@login_required
def dashboard_csv(request: HttpRequest, key: str) -> HttpResponseBase:
    form = _form(request)
    if not request.GET:
        form = DashboardFilterForm({})
    if not form.is_valid():
        return HttpResponse(
            "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    scope = _scope(request, form)
    table = dashboard_table_export(scope=scope, now=timezone.now(), key=key)
    if table is None:
        raise Http404("No such table")
    return csv_response(
        rows=[table["columns"], *table["rows"]],
        filename=f"{key}-{scope.date_from:%Y%m%d}-{scope.date_to:%Y%m%d}.csv",
    )


@login_required
def breaches_drilldown(request: HttpRequest) -> HttpResponse:
    """Patient-level rows behind "breaches now": own organisation's teams only; every patient
    shown is written to the access log."""
    form = _form(request)
    if not request.GET:
        form = DashboardFilterForm({})
    if not form.is_valid():
        return render(request, "dashboards/breaches.html", {"form": form, "rows": []}, status=400)
    scope = _scope(request, form)
    rows = breached_referrals_for_drilldown(scope=scope, now=timezone.now())
    return render(
        request, "dashboards/breaches.html", {"form": form, "rows": rows, "now": timezone.now()}
    )


_METRICS_DOC = Path(settings.BASE_DIR) / "docs" / "metrics.md"
# CommonMark with GitHub's tables. Raw HTML in the document is shown as text, never rendered,
# and links to javascript: and the like are refused (markdown-it's own link check).
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")
_HTML = RendererHTML()
_ANCHOR = re.compile(r"\s*\{#([a-z0-9-]+)\}$")
_SECTION_TAGS = {"h1": 1, "h2": 2, "h3": 3}
_NHSUK_CLASSES = {
    "table_open": "nhsuk-table hub-cards",
    "thead_open": "nhsuk-table__head",
    "tbody_open": "nhsuk-table__body",
    "bullet_list_open": "nhsuk-list nhsuk-list--bullet",
    "ordered_list_open": "nhsuk-list nhsuk-list--number",
}


def _plain(inline: Token) -> str:
    return "".join(
        child.content for child in inline.children or [] if child.type in {"text", "code_inline"}
    )


def _nhsuk_tables_and_lists(tokens: list[Token]) -> None:
    """Give tables and lists the design system's classes. Each body cell carries its column's
    heading as plain text: on a phone the rows are cards, each cell under its heading
    (.hub-cards in static/css/app.css)."""
    labels: list[str] = []
    column = 0
    in_body = False
    for n, token in enumerate(tokens):
        if token.type in _NHSUK_CLASSES:
            token.attrSet("class", _NHSUK_CLASSES[token.type])
        if token.type == "thead_open":
            labels, in_body = [], False
        elif token.type == "tbody_open":
            in_body = True
        elif token.type == "tr_open":
            column = 0
            if in_body:
                token.attrSet("class", "nhsuk-table__row")
        elif token.type == "th_open":
            token.attrSet("scope", "col")
            labels.append(_plain(tokens[n + 1]))
        elif token.type == "td_open":
            token.attrSet("data-label", labels[column] if column < len(labels) else "")
            column += 1


def markdown_sections(text: str) -> list[dict[str, Any]]:
    """Markdown cut into sections at its headings of levels 1 to 3: each section's level, title
    (HTML), anchor (from ``## Title {#anchor}``, else empty) and body (HTML). Text before the
    first heading is a section with no title."""
    env: dict[str, Any] = {}
    tokens = _MARKDOWN.parse(text, env)
    _nhsuk_tables_and_lists(tokens)
    sections: list[dict[str, Any]] = []
    section: dict[str, Any] = {"level": 0, "title": "", "anchor": "", "tokens": []}
    n = 0
    while n < len(tokens):
        token = tokens[n]
        if token.type == "heading_open" and token.tag in _SECTION_TAGS:
            sections.append(section)
            children = list(tokens[n + 1].children or [])
            anchor = ""
            match = (
                _ANCHOR.search(children[-1].content)
                if children and children[-1].type == "text"
                else None
            )
            if match:
                anchor = match.group(1)
                children[-1].content = children[-1].content[: match.start()]
            section = {
                "level": _SECTION_TAGS[token.tag],
                "anchor": anchor,
                "tokens": [],
                "title": _HTML.renderInline(children, _MARKDOWN.options, env),
            }
            n += 3  # heading_open, inline, heading_close
            continue
        section["tokens"].append(token)
        n += 1
    sections.append(section)
    return [
        {
            "level": s["level"],
            "title": s["title"],
            "anchor": s["anchor"],
            "html": _HTML.render(s["tokens"], _MARKDOWN.options, env),
        }
        for s in sections
        if s["title"] or s["tokens"]
    ]


def metrics_sections() -> list[dict[str, Any]]:
    """docs/metrics.md as headed sections (the one definition of every figure, shown in the app
    without a second copy)."""
    return markdown_sections(_METRICS_DOC.read_text(encoding="utf-8"))


@login_required
def metrics_page(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboards/metrics.html", {"sections": metrics_sections()})
