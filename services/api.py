"""Directory API (docs/design.md §9): services ranked for a need, service detail, teams, capacity."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from services import selectors
from services.codes import CallerType, CapacityRag, Need, Priority
from services.forms import SEARCH_WINDOW
from services.hours import is_open, next_opening
from services.models import Service, Site
from services.postcodes import InvalidPostcode, normalise_postcode
from services.services import capacity_report


class SearchInputSerializer(serializers.Serializer):
    need = serializers.ChoiceField(choices=Need.choices, required=False)
    postcode = serializers.CharField(required=False, max_length=10)
    site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all(), required=False)
    at = serializers.DateTimeField(required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.P3)
    age = serializers.IntegerField(required=False, min_value=0, max_value=130)
    referrer_type = serializers.ChoiceField(choices=CallerType.choices, required=False)

    def validate_at(self, value: Any) -> Any:
        if abs(value - timezone.now()) > SEARCH_WINDOW:
            raise serializers.ValidationError("Choose a time within a year of today.")
        return value

    def validate_postcode(self, value: str) -> str:
        try:
            return normalise_postcode(value)
        except InvalidPostcode as exc:
            raise serializers.ValidationError(str(exc)) from exc


class OrganisationRefSerializer(serializers.Serializer):
    ods_code = serializers.CharField()
    name = serializers.CharField()


class ServiceTeamSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    duty_phone = serializers.CharField(allow_blank=True)
    duty_email = serializers.CharField(allow_blank=True)


class OpeningHoursSerializer(serializers.Serializer):
    weekday = serializers.IntegerField()
    opens_at = serializers.CharField(help_text="HH:MM, Europe/London.")
    closes_at = serializers.CharField(help_text="HH:MM, Europe/London.")


class EligibilitySerializer(serializers.Serializer):
    min_age = serializers.IntegerField(allow_null=True)
    max_age = serializers.IntegerField(allow_null=True)
    referrer_types = serializers.ListField(child=serializers.CharField())
    accepts_self_referral = serializers.BooleanField()


class CapacitySerializer(serializers.Serializer):
    rag = serializers.CharField()
    units = serializers.IntegerField(allow_null=True)
    reported_at = serializers.DateTimeField()


class ServiceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    service_type = serializers.CharField()
    status = serializers.CharField()
    organisation = OrganisationRefSerializer()
    team = ServiceTeamSerializer(allow_null=True)
    phone = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)
    alert = serializers.CharField(allow_blank=True)
    open_24_7 = serializers.BooleanField()
    open_now = serializers.BooleanField()
    next_opening_at = serializers.DateTimeField(allow_null=True)
    coverage_areas = serializers.ListField(child=serializers.CharField())
    site_ids = serializers.ListField(child=serializers.IntegerField())
    opening_hours = OpeningHoursSerializer(many=True)
    eligibility = EligibilitySerializer()
    capacity = CapacitySerializer(allow_null=True)


class RankedServiceSerializer(ServiceSerializer):
    """A service with the ranker's verdict (the fields below are there only when `need` was given)."""

    eligible = serializers.BooleanField(required=False)
    rank = serializers.IntegerField(allow_null=True, required=False)
    can_meet_deadline = serializers.BooleanField(required=False)
    earliest_response_at = serializers.DateTimeField(allow_null=True, required=False)
    accept_by = serializers.DateTimeField(allow_null=True, required=False)
    contact_by = serializers.DateTimeField(allow_null=True, required=False)
    reasons = serializers.ListField(child=serializers.CharField(), required=False)
    excluded_reason = serializers.CharField(allow_null=True, required=False)


class ServiceListSerializer(serializers.Serializer):
    need = serializers.CharField(required=False, help_text="With `need` only.")
    priority = serializers.CharField(required=False, help_text="With `need` only.")
    at = serializers.DateTimeField(required=False, help_text="With `need` only.")
    results = RankedServiceSerializer(many=True)


class TeamSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    service_id = serializers.IntegerField()
    service_name = serializers.CharField()
    organisation = serializers.CharField()
    duty_phone = serializers.CharField(allow_blank=True)
    duty_email = serializers.CharField(allow_blank=True)


class TeamListSerializer(serializers.Serializer):
    results = TeamSerializer(many=True)


class CapacityReportSerializer(serializers.Serializer):
    service_id = serializers.IntegerField()
    rag = serializers.CharField()
    units = serializers.IntegerField(allow_null=True)
    reported_at = serializers.DateTimeField()
    reported_by = serializers.CharField(help_text="Username.")


def _service_summary(service: Any, *, now: Any) -> dict[str, Any]:
    schedule = selectors.service_schedule(service, at=now)
    capacity = selectors.service_capacity(service)
    opening = next_opening(schedule, now)
    return {
        "id": service.pk,
        "name": service.name,
        "service_type": service.service_type,
        "status": service.status,
        "organisation": {
            "ods_code": service.organisation.ods_code,
            "name": service.organisation.name,
        },
        "team": {
            "id": service.team.pk,
            "name": service.team.name,
            "duty_phone": str(service.team.duty_phone or ""),
            "duty_email": service.team.duty_email,
        }
        if hasattr(service, "team")
        else None,
        "phone": str(service.phone or ""),
        "email": service.email,
        "alert": service.alert,
        "open_24_7": service.open_24_7,
        "open_now": is_open(schedule, now),
        "next_opening_at": opening.isoformat() if opening else None,
        "coverage_areas": [a.area for a in service.coverage_areas.all()],
        "site_ids": [s.pk for s in service.sites.all()],
        "opening_hours": [
            {
                "weekday": h.weekday,
                "opens_at": h.opens_at.strftime("%H:%M"),
                "closes_at": h.closes_at.strftime("%H:%M"),
            }
            for h in service.opening_hours.all()
        ],
        "eligibility": {
            "min_age": service.min_age,
            "max_age": service.max_age,
            "referrer_types": service.referrer_types,
            "accepts_self_referral": service.accepts_self_referral,
        },
        "capacity": {
            "rag": capacity.rag,
            "units": capacity.units,
            "reported_at": capacity.reported_at.isoformat(),
        }
        if capacity
        else None,
    }


def _ranked(ranked: Any, service: Any, *, now: Any) -> dict[str, Any]:
    return {
        **_service_summary(service, now=now),
        "eligible": ranked.eligible,
        "rank": ranked.rank,
        "can_meet_deadline": ranked.can_meet_deadline,
        "earliest_response_at": ranked.earliest_response_at.isoformat()
        if ranked.earliest_response_at
        else None,
        "accept_by": ranked.accept_by.isoformat() if ranked.accept_by else None,
        "contact_by": ranked.contact_by.isoformat() if ranked.contact_by else None,
        "reasons": list(ranked.reasons),
        "excluded_reason": ranked.excluded_reason,
    }


class ServiceListApi(APIView):
    """Without `need`: every service. With `need` (and `postcode`, or `site` for a hospital
    review): every service in the ranker's order, each with why it won, lost or was excluded."""

    @extend_schema(
        operation_id="services_list",
        parameters=[SearchInputSerializer],
        responses={200: ServiceListSerializer},
    )
    def get(self, request: Request) -> Response:
        params = SearchInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        now = timezone.now()
        if "need" not in data:
            services = selectors.services_with_directory_data(at=now)
            return Response({"results": [_service_summary(s, now=now) for s in services]})
        at = data.get("at") or now
        ranked, services_by_id = selectors.directory_rank(
            need=data["need"],
            priority=data["priority"],
            at=at,
            postcode=data.get("postcode"),
            site_id=data["site"].pk if data.get("site") else None,
            age=data.get("age"),
            referrer_type=data.get("referrer_type"),
        )
        return Response(
            {
                "need": data["need"],
                "priority": data["priority"],
                "at": at.isoformat(),
                "results": [_ranked(r, services_by_id[r.candidate.id], now=at) for r in ranked],
            }
        )


class ServiceDetailApi(APIView):
    @extend_schema(operation_id="services_retrieve", responses={200: ServiceSerializer})
    def get(self, request: Request, service_id: int) -> Response:
        now = timezone.now()
        try:
            service = selectors.service_detail(service_id=service_id, at=now)
        except Service.DoesNotExist as exc:
            raise NotFound("No such service.") from exc
        return Response(_service_summary(service, now=now))


class TeamListApi(APIView):
    @extend_schema(operation_id="teams_list", responses={200: TeamListSerializer})
    def get(self, request: Request) -> Response:
        return Response(
            {
                "results": [
                    {
                        "id": t.pk,
                        "name": t.name,
                        "service_id": t.service_id,
                        "service_name": t.service.name,
                        "organisation": t.service.organisation.name,
                        "duty_phone": str(t.duty_phone or ""),
                        "duty_email": t.duty_email,
                    }
                    for t in selectors.teams_list()
                ]
            }
        )


class CapacityInputSerializer(serializers.Serializer):
    rag = serializers.ChoiceField(choices=CapacityRag.choices)
    units = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=10_000)
    note = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class ServiceCapacityApi(APIView):
    @extend_schema(
        operation_id="services_capacity_create",
        request=CapacityInputSerializer,
        responses={201: CapacityReportSerializer},
    )
    def post(self, request: Request, service_id: int) -> Response:
        service = get_object_or_404(Service, pk=service_id)
        data = CapacityInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            report = capacity_report(
                service=service,
                user=request.user,
                rag=data.validated_data["rag"],
                units=data.validated_data.get("units"),
                note=data.validated_data["note"],
            )
        except PermissionDenied as exc:
            raise ApiPermissionDenied(str(exc)) from exc
        except ValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return Response(
            {
                "service_id": service.pk,
                "rag": report.rag,
                "units": report.available_units,
                "reported_at": report.reported_at.isoformat(),
                "reported_by": request.user.get_username(),
            },
            status=status.HTTP_201_CREATED,
        )
