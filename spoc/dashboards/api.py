"""``GET /api/v1/dashboard/``: the same figures as the page (docs/metrics.md)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from spoc.dashboards.forms import DashboardFilterForm
from spoc.dashboards.selectors import DashboardForbidden, dashboard_figures, dashboard_scope

_PARAMS = {"from": "date_from", "to": "date_to", "team": "team", "organisation": "organisation",
           "priority": "priority"}


class DashboardApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter(name, OpenApiTypes.STR, description=f"filter: {field}")
                    for name, field in _PARAMS.items()],
        responses=OpenApiTypes.OBJECT,
        summary="Dashboard figures for a period, organisation, team and priority",
    )
    def get(self, request: Request) -> Response:
        form = DashboardFilterForm({field: request.query_params.get(name, "") for name, field in _PARAMS.items()})
        if not form.is_valid():
            errors = {next((n for n, f in _PARAMS.items() if f == k), k): v for k, v in form.errors.items()}
            raise serializers.ValidationError(errors)
        data = form.cleaned_data
        try:
            scope = dashboard_scope(
                user=request.user, date_from=data["date_from"], date_to=data["date_to"],
                priority=data.get("priority") or None,
                organisation_id=data["organisation"].pk if data.get("organisation") else None,
                team_id=data["team"].pk if data.get("team") else None)
        except DashboardForbidden as exc:
            raise ApiPermissionDenied(str(exc)) from exc
        return Response(dashboard_figures(scope=scope, now=timezone.now()))
