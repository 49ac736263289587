"""The calls API (docs/design.md §9): one POST saves the call, its triage and its referrals, through
`call_submit`, as the call screen does."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.models import Call, CallFollowUp
from calls.selectors import follow_ups_pending
from calls.services.follow_ups import NOTE_LIMIT, call_follow_up_record
from calls.services.intake import TEXT_LIMITS, CallInput, NeedRequest, call_submit
from calls.triage import InvalidTriage, TriageInput, suggest_priority
from patients.codes import IposItem, PatientLocation, PhaseOfIllness
from referrals.codes import CallDirection, CallReason, CarerCoping, Disposition, RedFlag
from referrals.models import Referral
from referrals.transitions import FHIR_TASK_STATUS
from services.codes import CallerType, Need, Priority
from spoc.accounts.roles import may_write_clinical
from spoc.core.api import MAX_ID, api_field_errors, api_iso

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX = TEXT_LIMITS["idempotency_key"]


class TakesCalls(BasePermission):
    message = "Only call handlers and coordinators log calls."

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(
            request.user.has_perm("accounts.take_calls") and may_write_clinical(request.user)
        )


class NeedInputSerializer(serializers.Serializer):
    need = serializers.ChoiceField(choices=Need.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    priority = serializers.ChoiceField(
        choices=Priority.choices,
        allow_blank=True,
        allow_null=True,
        default=None,
        help_text="Left out: the call's chosen_priority for a clinical need, else this need's own "
        "suggestion (carer support P4, bereavement support P5; docs/triage.md). Another "
        "priority than the need's suggestion needs override_reason.",
    )
    override_reason = serializers.CharField(allow_blank=True, default="")
    for_person_id = serializers.IntegerField(
        allow_null=True,
        default=None,
        min_value=1,
        max_value=MAX_ID,
        help_text="One of the patient's related people (GET /api/v1/patients/{id}/) this need is "
        "for, instead of the patient: carer support and bereavement support only "
        '(docs/routing.md, "Who a referral is for"). It is routed by their postcode and age.',
    )
    for_person_consent = serializers.BooleanField(
        default=False,
        help_text="With for_person_id: the person agreed, on this call, to be contacted about "
        "this need. Required: without it the need is refused.",
    )


class CallInputSerializer(serializers.Serializer):
    """Parses the body (types and code lists, as the call screen's form does); the rules
    (overrides, needs, times, phone numbers, lengths) are call_submit's."""

    received_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True, default=None)
    direction = serializers.ChoiceField(
        choices=CallDirection.choices, default=CallDirection.INBOUND
    )
    caller_type = serializers.ChoiceField(choices=CallerType.choices)
    caller_name = serializers.CharField(allow_blank=True, default="")
    caller_phone = serializers.CharField(allow_blank=True, default="")
    caller_organisation = serializers.CharField(allow_blank=True, default="")
    caller_relationship = serializers.CharField(allow_blank=True, default="")
    patient_id = serializers.IntegerField(
        allow_null=True, default=None, min_value=1, max_value=MAX_ID
    )
    reason = serializers.ChoiceField(choices=CallReason.choices)
    notes = serializers.CharField(allow_blank=True, default="")
    phase = serializers.ChoiceField(
        choices=PhaseOfIllness.choices,
        allow_blank=True,
        allow_null=True,
        default="",
        help_text="OACC Phase of Illness, a clinician's rating: only a user who is a clinician "
        "may send one (400 otherwise). Left out: not assessed, and the suggestion says so.",
    )
    ipos = serializers.DictField(
        child=serializers.IntegerField(min_value=0, max_value=4),
        default=dict,
        help_text="IPOS item code -> score 0-4; items not asked left out.",
    )
    akps = serializers.IntegerField(allow_null=True, default=None)
    red_flags = serializers.ListField(
        child=serializers.ChoiceField(choices=RedFlag.choices),
        allow_null=True,
        default=None,
        help_text="The red flags present; [] when asked and none is present. Left out or null: "
        "not asked, which the suggestion says (it is not read as none present).",
    )
    carer_coping = serializers.ChoiceField(
        choices=CarerCoping.choices, allow_blank=True, allow_null=True, default=""
    )
    # Codes without labels: the patient's `location` has this code list too, and one choice set
    # under two names is a schema warning (drf_spectacular.W001 in `check --deploy`).
    patient_location = serializers.ChoiceField(
        choices=PatientLocation.values, allow_blank=True, allow_null=True, default=""
    )
    patient_site_id = serializers.IntegerField(
        allow_null=True, default=None, min_value=1, max_value=MAX_ID
    )
    chosen_priority = serializers.ChoiceField(
        choices=Priority.choices,
        allow_blank=True,
        allow_null=True,
        default=None,
        help_text="For the clinical needs (and a call without needs). Left out: the suggested "
        "priority. Another priority needs override_reason. Each need may have its own.",
    )
    override_reason = serializers.CharField(allow_blank=True, default="")
    disposition = serializers.ChoiceField(choices=Disposition.choices)
    needs = NeedInputSerializer(many=True, default=list)
    callback_due_at = serializers.DateTimeField(allow_null=True, default=None)
    callback_note = serializers.CharField(allow_blank=True, default="")

    def validate_ipos(self, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(IposItem.values))
        if unknown:
            raise serializers.ValidationError(f"Unknown IPOS item code {unknown[0]!r}.")
        return value


def _red_flags(codes: list[str] | None) -> tuple[str, ...] | None:
    """None (not asked) stays None; a list, even empty (asked), becomes a tuple."""
    return None if codes is None else tuple(codes)


def _suggested_priority(data: dict[str, Any]) -> str:
    """The triage rules' suggestion, exactly as the call screen computes it."""
    return suggest_priority(
        TriageInput(
            phase=data.get("phase") or None,
            ipos=data.get("ipos") or {},
            red_flags=_red_flags(data.get("red_flags")),
            carer_coping=data.get("carer_coping") or None,
            reason=data.get("reason") or None,
            patient_location=data.get("patient_location") or None,
        )
    ).priority


def _call_input(
    data: dict[str, Any], *, chosen_priority: str, idempotency_key: str | None
) -> CallInput:
    return CallInput(
        received_at=data["received_at"],
        ended_at=data["ended_at"],
        direction=data["direction"],
        caller_type=data["caller_type"],
        caller_name=data["caller_name"],
        caller_phone=data["caller_phone"],
        caller_organisation=data["caller_organisation"],
        caller_relationship=data["caller_relationship"],
        patient_id=data["patient_id"],
        reason=data["reason"],
        notes=data["notes"],
        phase=data["phase"] or None,
        ipos=dict(data["ipos"]),
        akps=data["akps"],
        red_flags=_red_flags(data["red_flags"]),
        carer_coping=data["carer_coping"] or None,
        patient_location=data["patient_location"] or None,
        patient_site_id=data["patient_site_id"],
        chosen_priority=chosen_priority,
        override_reason=data["override_reason"],
        disposition=data["disposition"],
        needs=tuple(
            NeedRequest(
                need=n["need"],
                note=n["note"],
                priority=n["priority"] or None,
                override_reason=n["override_reason"],
                for_person_id=n["for_person_id"],
                for_person_consent=n["for_person_consent"],
            )
            for n in data["needs"]
        ),
        callback_due_at=data["callback_due_at"],
        callback_note=data["callback_note"],
        idempotency_key=idempotency_key,
    )


def _follow_up_body(follow_up: CallFollowUp) -> dict[str, Any]:
    return {
        "id": follow_up.pk,
        "call_id": follow_up.call_id,
        "due_at": api_iso(follow_up.due_at),
        "status": follow_up.status,
        "outcome": follow_up.outcome,
        "note": follow_up.note,
        "done_at": api_iso(follow_up.done_at) if follow_up.done_at else None,
    }


def _call_follow_up(call: Call) -> CallFollowUp | None:
    try:
        return call.follow_up
    except CallFollowUp.DoesNotExist:
        return None


def _call_body(call: Call, referrals: list[Referral]) -> dict[str, Any]:
    follow_up = _call_follow_up(call)
    return {
        "id": call.pk,
        "received_at": api_iso(call.received_at),
        "patient_id": call.patient_id,
        "suggested_priority": call.suggested_priority,
        "suggestion_reasons": list(call.suggestion_reasons),
        "red_flags": list(call.red_flags) if call.red_flags_asked else None,
        "chosen_priority": call.chosen_priority,
        "disposition": call.disposition,
        "needs_senior_review": call.needs_senior_review,
        "follow_up": _follow_up_body(follow_up) if follow_up is not None else None,
        "referrals": [
            {
                "id": r.pk,
                "need": r.need,
                "priority": r.priority,
                "suggested_priority": r.suggested_priority,
                "override_reason": r.override_reason,
                "for_person_id": r.for_person_id,
                "status": r.status,
                "fhir_task_status": FHIR_TASK_STATUS[r.status],
            }
            for r in referrals
        ],
    }


def _need_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """call_submit keys one need's priority errors by need (``override_reason_carer_support``);
    the API has no such fields, so they join the other problems with the needs (each names its
    need)."""
    merged: dict[str, list[str]] = {}
    for field, messages in errors.items():
        key = (
            "needs" if field.startswith(("override_reason_", "priority_", "for_person_")) else field
        )
        merged.setdefault(key, []).extend(messages)
    return merged


class CallReferralSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    need = serializers.CharField()
    priority = serializers.CharField()
    suggested_priority = serializers.CharField(
        help_text="The triage rules' suggestion for this need."
    )
    override_reason = serializers.CharField(
        allow_blank=True, help_text="Why another priority was chosen; blank when none was."
    )
    for_person_id = serializers.IntegerField(
        allow_null=True, help_text="The related person it is for; null: the patient."
    )
    status = serializers.CharField()
    fhir_task_status = serializers.CharField()


class FollowUpSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    call_id = serializers.IntegerField()
    due_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=CallFollowUp.Status.choices)
    outcome = serializers.CharField(allow_blank=True, help_text="Blank while pending.")
    note = serializers.CharField(allow_blank=True)
    done_at = serializers.DateTimeField(allow_null=True)


class CallSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    received_at = serializers.DateTimeField()
    patient_id = serializers.IntegerField(allow_null=True)
    suggested_priority = serializers.CharField()
    suggestion_reasons = serializers.ListField(child=serializers.CharField(allow_blank=True))
    red_flags = serializers.ListField(
        child=serializers.CharField(),
        allow_null=True,
        help_text="As recorded: null when not asked, [] when asked and none is present.",
    )
    chosen_priority = serializers.CharField()
    disposition = serializers.CharField()
    needs_senior_review = serializers.BooleanField()
    follow_up = FollowUpSerializer(
        allow_null=True,
        help_text="Made with a call advised to ring 999 or warm transferred: the coordinators "
        'confirm what happened (docs/patients-and-calls.md, "Follow-ups"); null otherwise.',
    )
    referrals = CallReferralSerializer(many=True)


class CallCreateApi(APIView):
    """Log a call: the call, its triage and one referral per need, in one transaction.

    Send an `Idempotency-Key` header (up to 64 characters, unique per call): a retry with the
    same key returns the first call's response (201, same body, header `Idempotent-Replayed:
    true`) and saves nothing."""

    permission_classes = [IsAuthenticated, TakesCalls]

    @extend_schema(
        operation_id="calls_create",
        request=CallInputSerializer,
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Up to 64 characters; a retry with the same key saves nothing.",
            )
        ],
        responses={201: CallSerializer},
    )
    def post(self, request: Request) -> Response:
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if len(key) > IDEMPOTENCY_KEY_MAX:
            raise serializers.ValidationError(
                {IDEMPOTENCY_HEADER: [f"Use at most {IDEMPOTENCY_KEY_MAX} characters."]}
            )
        data = CallInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            chosen = values["chosen_priority"] or _suggested_priority(values)
            result = call_submit(
                data=_call_input(values, chosen_priority=chosen, idempotency_key=key or None),
                user=request.user,
                request=request._request,
            )
        except InvalidTriage as exc:
            raise serializers.ValidationError({"triage": [str(exc)]}) from exc
        except ValidationError as exc:
            raise serializers.ValidationError(_need_errors(api_field_errors(exc))) from exc
        response = Response(
            _call_body(result.call, result.referrals), status=status.HTTP_201_CREATED
        )
        if not result.created:
            response["Idempotent-Replayed"] = "true"
        return response


class Coordinates(BasePermission):
    message = "Only SPOC coordinators follow up calls."

    def has_permission(self, request: Any, view: Any) -> bool:
        if not request.user.has_perm("accounts.coordinate"):
            return False
        return request.method in ("GET", "HEAD", "OPTIONS") or may_write_clinical(request.user)


class FollowUpListSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = FollowUpSerializer(many=True)


class FollowUpOutcomeSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=CallFollowUp.Outcome.choices)
    note = serializers.CharField(allow_blank=True, default="", max_length=NOTE_LIMIT)


class FollowUpListApi(APIView):
    """The follow-ups still to confirm, soonest due first (the overdue first), at most 200;
    ``count`` is how many there are."""

    permission_classes = [IsAuthenticated, Coordinates]

    @extend_schema(operation_id="call_follow_ups_list", responses={200: FollowUpListSerializer})
    def get(self, request: Request) -> Response:
        rows, total = follow_ups_pending(user=request.user)
        return Response({"count": total, "results": [_follow_up_body(f) for f in rows]})


class FollowUpRecordApi(APIView):
    """Record what happened after a call advised to ring 999 or warm transferred: 200 with the
    follow-up; 409 ``follow_up_already_recorded`` when it was recorded before (nothing changes)."""

    permission_classes = [IsAuthenticated, Coordinates]

    @extend_schema(
        operation_id="call_follow_ups_record",
        request=FollowUpOutcomeSerializer,
        responses={200: FollowUpSerializer},
    )
    def post(self, request: Request, follow_up_id: int) -> Response:
        data = FollowUpOutcomeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            follow_up = call_follow_up_record(
                follow_up_id=follow_up_id, user=request.user, **data.validated_data
            )
        except CallFollowUp.DoesNotExist as exc:
            raise NotFound("No such follow-up.") from exc
        except ValidationError as exc:
            raise serializers.ValidationError(api_field_errors(exc)) from exc
        return Response(_follow_up_body(follow_up))
