"""The duty rota's API (docs/operations.md "The duty rota"): a team's shifts over a period, and
who is on duty now. Read only; the same permissions as the rota's page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from rota import selectors
from services.models import Team

# A range longer than this is refused: a month of a large team is a few hundred shifts.
MAX_RANGE = timedelta(days=31)
DEFAULT_RANGE = timedelta(days=7)


class RangeInputSerializer(serializers.Serializer):
    # `from` is a Python keyword: the field is named in __init__.
    to = serializers.DateTimeField(
        required=False, help_text="End of the period, exclusive (default: 7 days after from)."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["from"] = serializers.DateTimeField(
            required=False, help_text="Start of the period (default: now)."
        )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start = attrs.get("from") or timezone.now()
        end = attrs.get("to") or start + DEFAULT_RANGE
        if end <= start:
            raise serializers.ValidationError({"to": ["Must be after from."]})
        if end - start > MAX_RANGE:
            raise serializers.ValidationError({"to": ["Ask for 31 days at most."]})
        return {"from": start, "to": end}


class ShiftSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    name = serializers.CharField(help_text="FAMILY, Given.")
    role = serializers.CharField(help_text="The role on the shift, for people.")
    role_code = serializers.CharField()
    phone = serializers.CharField(help_text="E.164, like +447700900123.")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    kind = serializers.ChoiceField(
        choices=["PATTERN", "EXTRA", "REPLACED"],
        help_text="An occurrence of a weekly pattern, an extra shift, or a replacement.",
    )
    pattern_id = serializers.IntegerField(allow_null=True)
    occurrence_date = serializers.DateField(
        allow_null=True, help_text="The local date the pattern's occurrence starts on."
    )
    change_id = serializers.IntegerField(allow_null=True)


class RotaSerializer(serializers.Serializer):
    team_id = serializers.IntegerField()
    # "from" is a keyword: declared by name below.
    to = serializers.DateTimeField()
    shifts = ShiftSerializer(many=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["from"] = serializers.DateTimeField()


class OnDutySerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    name = serializers.CharField(help_text="FAMILY, Given.")
    role = serializers.CharField(help_text="The role on the shift, for people.")
    phone = serializers.CharField(help_text="E.164, like +447700900123.")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


class TeamOnDutySerializer(serializers.Serializer):
    team_id = serializers.IntegerField()
    at = serializers.DateTimeField()
    on_duty = OnDutySerializer(many=True, help_text="Earliest start first; empty: nobody.")


def _team_readable(request: Request, team_id: int) -> int:
    if not Team.objects.filter(pk=team_id).exists():
        raise NotFound("No such team.")
    if not selectors.rota_readable_by(request.user, team_id=team_id):
        raise ApiPermissionDenied("You may not read this team's rota.")
    return team_id


class TeamRotaApi(APIView):
    @extend_schema(
        operation_id="teams_rota_retrieve",
        parameters=[RangeInputSerializer],
        responses={200: RotaSerializer},
    )
    def get(self, request: Request, team_id: int) -> Response:
        team_id = _team_readable(request, team_id)
        params = RangeInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        start, end = params.validated_data["from"], params.validated_data["to"]
        shifts = selectors.rota_shifts(team_ids=[team_id], start=start, end=end).get(team_id, [])
        return Response(
            {
                "team_id": team_id,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "shifts": [
                    {
                        "user_id": s.user_id,
                        "name": s.name,
                        "role": s.role,
                        "role_code": s.role_code,
                        "phone": s.phone,
                        "starts_at": s.starts_at.isoformat(),
                        "ends_at": s.ends_at.isoformat(),
                        "kind": s.kind,
                        "pattern_id": s.pattern_id,
                        "occurrence_date": s.occurrence_date.isoformat()
                        if s.occurrence_date
                        else None,
                        "change_id": s.change_id,
                    }
                    for s in shifts
                ],
            }
        )


class TeamOnDutyApi(APIView):
    @extend_schema(operation_id="teams_on_duty_retrieve", responses={200: TeamOnDutySerializer})
    def get(self, request: Request, team_id: int) -> Response:
        team_id = _team_readable(request, team_id)
        now = timezone.now()
        people = selectors.on_duty(team_ids=[team_id], at=now).get(team_id, [])
        return Response(
            {
                "team_id": team_id,
                "at": now.isoformat(),
                "on_duty": [
                    {
                        "user_id": p.user_id,
                        "name": p.name,
                        "role": p.role,
                        "phone": p.phone,
                        "starts_at": p.starts_at.isoformat(),
                        "ends_at": p.ends_at.isoformat(),
                    }
                    for p in people
                ],
            }
        )
