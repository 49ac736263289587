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
from django.utils.html import escape

from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record
from spoc.core.dates import nhs_number_format
from spoc.core.exports import csv_response
from spoc.dashboards.forms import DashboardFilterForm
from spoc.dashboards.selectors import (
    DashboardForbidden,
    DashboardScope,
    breached_referrals_for_drilldown,
    dashboard_figures,
    dashboard_scope,
    dashboard_table,
)


def _scope(request: HttpRequest, form: DashboardFilterForm) -> DashboardScope:
    data = form.cleaned_data
    try:
        return dashboard_scope(
            user=request.user, date_from=data["date_from"], date_to=data["date_to"],
            priority=data.get("priority") or None,
            organisation_id=data["organisation"].pk if data.get("organisation") else None,
            team_id=data["team"].pk if data.get("team") else None)
    except DashboardForbidden as exc:
        raise PermissionDenied(str(exc)) from exc


def _form(request: HttpRequest) -> DashboardFilterForm:
    if not request.user.has_perm("accounts.view_dashboards") and not request.user.has_perm("accounts.lead_team"):
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
        sections.append({**table, "id": f"table-{table['key']}",
                         "shown_rows": [[figure_shown(cell) for cell in row] for row in table["rows"]]})
    return sections


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
        context["tiles"] = [{**tile, "shown": figure_shown(tile["value"])} for tile in figures["tiles"]]
        context["can_drill_down"] = bool(scope.own_team_ids)
    context["form"] = form
    return render(request, "dashboards/dashboard.html", context, status=200 if form.is_valid() else 400)


@login_required
def dashboard_csv(request: HttpRequest, key: str) -> HttpResponseBase:
    form = _form(request)
    if not request.GET:
        form = DashboardFilterForm({})
    if not form.is_valid():
        return HttpResponse("; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items()),
                        status=400, content_type="text/plain; charset=utf-8")
    scope = _scope(request, form)
    table = dashboard_table(figures=dashboard_figures(scope=scope, now=timezone.now()), key=key)
    if table is None:
        raise Http404("No such table")
    access_log_record(action=AccessLog.Action.EXPORT, request=request, object_type="dashboard", object_id=key,
                      detail={"rows": len(table["rows"]), "from": scope.date_from.isoformat(),
                              "to": scope.date_to.isoformat()})
    return csv_response(rows=[table["columns"], *table["rows"]],
                        filename=f"{key}-{scope.date_from:%Y%m%d}-{scope.date_to:%Y%m%d}.csv")


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
    for referral in rows:
        access_log_record(action=AccessLog.Action.VIEW, request=request, object_type="referral",
                          object_id=referral.pk, patient_id=referral.patient_id, reason="dashboard drill-down")
    return render(request, "dashboards/breaches.html", {"form": form, "rows": rows, "now": timezone.now()})


_METRICS_DOC = Path(settings.BASE_DIR) / "docs" / "metrics.md"
_HEADING = re.compile(r"^(#{1,3}) (.+?)(?: \{#([a-z0-9-]+)\})?$")
_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")


def _inline(text: str) -> str:
    html = str(escape(text))
    html = _CODE.sub(r"<code>\1</code>", html)
    return _BOLD.sub(r"<strong>\1</strong>", html)


def metrics_sections() -> list[dict[str, Any]]:
    """docs/metrics.md as headed sections of paragraphs and list items (the one definition of
    every figure, shown in the app without a second copy)."""
    sections: list[dict[str, Any]] = []
    blocks: list[dict[str, Any]] = []
    for raw in _METRICS_DOC.read_text(encoding="utf-8").splitlines():
        line = raw.rstrip()
        match = _HEADING.match(line)
        if match:
            blocks = []
            sections.append({"level": len(match.group(1)), "title": match.group(2), "anchor": match.group(3) or "",
                             "blocks": blocks})
        elif not line:
            blocks.append({"kind": "break"})
        elif line.startswith("|"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if set("".join(cells)) <= {"-", ":"}:
                continue  # the header's underline
            if not blocks or blocks[-1]["kind"] != "table":
                blocks.append({"kind": "table", "header": [_inline(c) for c in cells], "labels": cells, "rows": []})
            else:
                # Each cell with its column's heading as plain text: on a phone the rows are
                # cards, each cell under its heading (.hub-cards in static/css/app.css).
                labels = [_CODE.sub(r"\1", _BOLD.sub(r"\1", label)) for label in blocks[-1]["labels"]]
                blocks[-1]["rows"].append([{"label": labels[n] if n < len(labels) else "", "html": _inline(cell)}
                                           for n, cell in enumerate(cells)])
        elif line.lstrip().startswith("- "):
            blocks.append({"kind": "item", "html": _inline(line.lstrip()[2:])})
        elif blocks and blocks[-1]["kind"] in {"item", "para"}:
            blocks[-1]["html"] += " " + _inline(line.strip())
        else:
            blocks.append({"kind": "para", "html": _inline(line.strip())})
    return sections


@login_required
def metrics_page(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboards/metrics.html", {"sections": metrics_sections()})
