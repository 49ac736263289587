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

_PARAMS = {
    "from": "date_from",
    "to": "date_to",
    "team": "team",
    "organisation": "organisation",
    "priority": "priority",
}


class PeriodSerializer(serializers.Serializer):
    # "from" is a Python keyword: the field is declared under that name by hand.
    to = serializers.DateField()


PeriodSerializer._declared_fields["from"] = serializers.DateField()


class DashboardFiltersSerializer(serializers.Serializer):
    organisation = serializers.IntegerField(allow_null=True)
    team = serializers.IntegerField(allow_null=True)
    priority = serializers.CharField(allow_null=True)


class TileSerializer(serializers.Serializer):
    key = serializers.CharField()
    # The serializer's metaclass takes its fields out of the class, so this does not replace
    # Field.label at run time; the stubs cannot tell.
    label = serializers.CharField()  # type: ignore[assignment]
    value = serializers.JSONField(
        allow_null=True,
        help_text="A number, or a string when a small count is "
        "suppressed; null when there is nothing to measure.",
    )
    definition = serializers.CharField(help_text="Anchor in docs/metrics.md.")


class TableSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(
        child=serializers.ListField(child=serializers.JSONField(allow_null=True))
    )
    definition = serializers.CharField()
    chart = serializers.CharField(allow_null=True)


class DashboardSerializer(serializers.Serializer):
    period = PeriodSerializer()
    filters = DashboardFiltersSerializer()
    suppressed = serializers.BooleanField(
        help_text='Small counts are suppressed (docs/metrics.md, "Access").'
    )
    bed_day_cost_gbp = serializers.IntegerField()
    bed_day_cost_source = serializers.CharField()
    tiles = TileSerializer(many=True)
    tables = TableSerializer(many=True)


class DashboardApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(name, OpenApiTypes.STR, description=f"filter: {field}")
            for name, field in _PARAMS.items()
        ],
        responses={200: DashboardSerializer},
        summary="Dashboard figures for a period, organisation, team and priority",
    )
    def get(self, request: Request) -> Response:
        form = DashboardFilterForm(
            {field: request.query_params.get(name, "") for name, field in _PARAMS.items()}
        )
        if not form.is_valid():
            # The messages of each field's ErrorList (iterating one gives its messages).
            errors = {
                next((n for n, f in _PARAMS.items() if f == k), k): [str(m) for m in v]
                for k, v in form.errors.items()
            }
            raise serializers.ValidationError(errors)
        try:
            scope = dashboard_scope(user=request.user, **form.scope_filters())
        except DashboardForbidden as exc:
            raise ApiPermissionDenied(str(exc), code=exc.code) from exc
        return Response(dashboard_figures(scope=scope, now=timezone.now()))
