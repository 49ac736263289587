"""The referrals API (docs/design.md §9): list and detail, from `referrals_visible_to` (the same
permission selector as the screens), so the API can see no more than the UI."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from patients.models import RelatedPerson
from patients.names import display_name
from referrals.models import Referral
from referrals.selectors.queue import referral_list_page, referral_shown
from referrals.transitions import FHIR_TASK_STATUS, ReferralStatus
from services.codes import Need, Priority
from spoc.core.api import MAX_ID, api_iso
from spoc.core.pagination import INVALID_CURSOR, NewestFirstCursorPagination
from spoc.core.schema import ErrorSerializer


class ReferralFilterSerializer(serializers.Serializer):
    patient = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    team = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    status = serializers.ChoiceField(choices=ReferralStatus.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    need = serializers.ChoiceField(choices=Need.choices, required=False)


class TeamRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class RelatedPersonSerializer(serializers.Serializer):
    """One of the patient's carers or relatives, as the API shows them (the patient's record, and
    the person a referral is for)."""

    id = serializers.IntegerField()
    display_name = serializers.CharField(help_text="FAMILY, Given.")
    relationship = serializers.CharField(help_text="The hub's relationship code.")
    phone = serializers.CharField(allow_blank=True, help_text="E.164.")
    postcode = serializers.CharField(allow_blank=True)
    is_main_carer = serializers.BooleanField()
    is_next_of_kin = serializers.BooleanField()
    consent_to_contact = serializers.BooleanField(
        help_text="What their record says; each referral for them keeps its own consent."
    )


def related_person_body(person: RelatedPerson) -> dict[str, Any]:
    return {
        "id": person.pk,
        "display_name": display_name(person.given_name, person.family_name),
        "relationship": person.relationship,
        "phone": str(person.phone or ""),
        "postcode": person.postcode,
        "is_main_carer": person.is_main_carer,
        "is_next_of_kin": person.is_next_of_kin,
        "consent_to_contact": person.consent_to_contact,
    }


class ReferralSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    patient_id = serializers.IntegerField()
    for_person = RelatedPersonSerializer(
        allow_null=True,
        help_text="The carer or relative the referral is for; null: the patient "
        '(docs/routing.md, "Who a referral is for").',
    )
    need = serializers.CharField()
    priority = serializers.CharField()
    status = serializers.CharField()
    fhir_task_status = serializers.CharField()
    team = TeamRefSerializer(allow_null=True)
    owner = serializers.CharField(allow_null=True, help_text="The owner's username.")
    accept_by = serializers.DateTimeField(allow_null=True)
    contact_by = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class ReferralPageSerializer(serializers.Serializer):
    next = serializers.URLField(
        allow_null=True, help_text="The next (older) page; null on the last page."
    )
    previous = serializers.URLField(
        allow_null=True, help_text="The previous (newer) page; null on the first page."
    )
    results = ReferralSummarySerializer(many=True)


class ReferralEventSerializer(serializers.Serializer):
    kind = serializers.CharField()
    at = serializers.DateTimeField()
    actor = serializers.CharField(allow_null=True)
    from_status = serializers.CharField(allow_blank=True)
    to_status = serializers.CharField(allow_blank=True)
    team = TeamRefSerializer(allow_null=True)


class SenderSerializer(serializers.Serializer):
    name = serializers.CharField()
    ods_code = serializers.CharField()


class ReferralDetailSerializer(ReferralSummarySerializer):
    call_id = serializers.IntegerField(allow_null=True)
    sender = SenderSerializer(
        allow_null=True, help_text="The partner system that sent it as a BaRS message, if one did."
    )
    sender_requester = serializers.CharField(allow_blank=True)
    sender_reference = serializers.CharField(allow_blank=True)
    sender_breach_at = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField(allow_blank=True)
    clock_started_at = serializers.DateTimeField(allow_null=True)
    routed_at = serializers.DateTimeField(allow_null=True)
    outcome = serializers.CharField(allow_blank=True)
    updated_at = serializers.DateTimeField()
    routing_decision = serializers.JSONField(help_text="The ranker's decision, as recorded.")
    unroutable_reason = serializers.CharField(allow_blank=True)
    for_person_consent_at = serializers.DateTimeField(
        allow_null=True, help_text="When the person it is for agreed to be contacted."
    )
    for_person_consent_by = serializers.CharField(
        allow_null=True,
        help_text="Who recorded it (a username); null when the partner that sent it did.",
    )
    events = ReferralEventSerializer(many=True)


def _team(team: Any) -> dict[str, Any] | None:
    return {"id": team.pk, "name": team.name} if team is not None else None


def _referral_summary(referral: Referral) -> dict[str, Any]:
    return {
        "id": referral.pk,
        "patient_id": referral.patient_id,
        "for_person": related_person_body(referral.for_person)
        if referral.for_person is not None
        else None,
        "need": referral.need,
        "priority": referral.priority,
        "status": referral.status,
        "fhir_task_status": FHIR_TASK_STATUS[referral.status],
        "team": _team(referral.team),
        "owner": referral.owner.get_username() if referral.owner is not None else None,
        "accept_by": api_iso(referral.accept_by),
        "contact_by": api_iso(referral.contact_by),
        "created_at": api_iso(referral.created_at),
    }


PAGE_NUMBERS_GONE = "The referral list is paged by cursor: follow the `next` link of each page."


class ReferralListApi(APIView):
    """Referrals the user may see, newest first, 50 a page, paged by cursor (`?cursor=`, from the
    `next` and `previous` links): a client paging while referrals arrive sees each once, and no
    page counts the rows (spoc/core/pagination.py)."""

    @extend_schema(
        operation_id="referrals_list",
        parameters=[
            ReferralFilterSerializer,
            OpenApiParameter(
                "cursor",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                description="Where the page starts, as given in a page's `next` or `previous` link.",
            ),
        ],
        responses={
            200: ReferralPageSerializer,
            404: OpenApiResponse(ErrorSerializer, INVALID_CURSOR),
        },
    )
    def get(self, request: Request) -> Response:
        if "page" in request.query_params:
            raise ValidationError({"page": [PAGE_NUMBERS_GONE]})
        params = ReferralFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        filters = params.validated_data
        paginator = NewestFirstCursorPagination()

        def paginate(rows: QuerySet[Referral]) -> tuple[list[Referral], int]:
            page = paginator.paginate_queryset(rows, request, view=self) or []
            return list(page), len(page)

        page = referral_list_page(user=request.user, filters=filters, paginate=paginate)
        return paginator.get_paginated_response([_referral_summary(r) for r in page])


class ReferralDetailApi(APIView):
    @extend_schema(operation_id="referrals_retrieve", responses={200: ReferralDetailSerializer})
    def get(self, request: Request, referral_id: int) -> Response:
        referral = referral_shown(user=request.user, referral_id=referral_id)
        if referral is None:
            raise NotFound("No such referral.")
        events = referral.events.select_related("actor", "team").order_by("at", "id")
        return Response(
            {
                **_referral_summary(referral),
                "call_id": referral.call_id,
                "sender": {"name": referral.sender.name, "ods_code": referral.sender.ods_code}
                if referral.sender is not None
                else None,
                "sender_requester": referral.sender_requester,
                "sender_reference": referral.sender_reference,
                "sender_breach_at": api_iso(referral.sender_breach_at),
                "note": referral.note,
                "clock_started_at": api_iso(referral.clock_started_at),
                "routed_at": api_iso(referral.routed_at),
                "outcome": referral.outcome,
                "updated_at": api_iso(referral.updated_at),
                "routing_decision": referral.routing_decision,
                "unroutable_reason": referral.unroutable_reason,
                "for_person_consent_at": api_iso(referral.for_person_consent_at),
                "for_person_consent_by": referral.for_person_consent_by.get_username()
                if referral.for_person_consent_by is not None
                else None,
                "events": [
                    {
                        "kind": e.kind,
                        "at": api_iso(e.at),
                        "actor": e.actor.get_username() if e.actor is not None else None,
                        "from_status": e.from_status,
                        "to_status": e.to_status,
                        "team": _team(e.team),
                    }
                    for e in events
                ],
            }
        )
