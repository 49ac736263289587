"""The call handler's API (DESIGN.md §9): patients (search, register, open), calls (one POST saves
the call, its triage and its referrals) and referrals (list, detail).

Every endpoint starts from the permission selectors (`patients_visible_to`,
`referrals_visible_to`) and writes through the same services as the screens (`patient_register`,
`call_submit`), so the API can neither see nor do more than the UI. Break-glass grants live in
the browser session and do not apply here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from patients.codes import (
    IposItem,
    NhsNumberStatus,
    PatientLocation,
    PhaseOfIllness,
    Sex,
    UsualResidence,
)
from patients.forms import PHONE_ERROR
from patients.models import Patient
from patients.names import display_name
from patients.selectors import care_plan_current, patient_search
from patients.services import DuplicateNhsNumber, PatientData, PossibleDuplicates, patient_register
from referrals.codes import CallDirection, CallReason, CarerCoping, Disposition, RedFlag
from referrals.models import Call, Referral
from referrals.selectors import (
    patient_banner_for,
    patients_visible_to,
    referrals_visible_to,
    sees_all_patients,
)
from referrals.services.calls import TEXT_LIMITS, CallInput, NeedRequest, call_submit
from referrals.transitions import FHIR_TASK_STATUS, ReferralStatus
from referrals.triage import InvalidTriage, TriageInput, suggest_priority
from services.codes import CallerType, Need, Priority
from services.models import Site
from spoc.accounts.roles import may_write_clinical
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_list_shown, access_log_record
from spoc.core.schema import ErrorSerializer

# Primary keys are BigAutoField: a larger id cannot exist, and PostgreSQL would refuse to compare it.
MAX_ID = 2**63 - 1
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX = TEXT_LIMITS["idempotency_key"]


# --- Shared ----------------------------------------------------------------------------------


def _iso(value: datetime | date | None) -> str | None:
    """ISO 8601; datetimes in UTC, so a value read back from the database prints the same."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value.isoformat()


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    """A Django ValidationError as DRF-shaped field errors ("__all__" -> "non_field_errors")."""
    if not hasattr(exc, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: list(exc.messages)}
    return {api_settings.NON_FIELD_ERRORS_KEY if field == "__all__" else field: list(messages)
            for field, messages in exc.message_dict.items()}


class TakesCalls(BasePermission):
    message = "Only call handlers and coordinators log calls."

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(request.user.has_perm("accounts.take_calls") and may_write_clinical(request.user))


# --- Patients --------------------------------------------------------------------------------


def _patient_summary(patient: Patient) -> dict[str, Any]:
    return {
        "id": patient.pk,
        "nhs_number": patient.nhs_number,
        "nhs_number_status": patient.nhs_number_status,
        "given_name": patient.given_name,
        "family_name": patient.family_name,
        "display_name": display_name(patient.given_name, patient.family_name),
        "date_of_birth": _iso(patient.date_of_birth),
        "postcode": patient.postcode,
    }


def _patient_detail(patient: Patient, *, user: Any) -> dict[str, Any]:
    banner = patient_banner_for(patient=patient)
    plan = care_plan_current(patient=patient)
    body: dict[str, Any] = {
        **_patient_summary(patient),
        "age": banner.age,
        "sex": patient.sex,
        "address": patient.address,
        "phone": str(patient.phone or ""),
        "phone_alt": str(patient.phone_alt or ""),
        "gp_practice": patient.gp_practice,
        "usual_residence": patient.usual_residence,
        "location": patient.location,
        "location_site_id": patient.location_site_id,
        "interpreter_needed": patient.interpreter_needed,
        "language": patient.language,
        "died_at": _iso(patient.died_at),
        "alerts": [{"code": a.code, "level": a.level, "text": a.text} for a in banner.alerts],
        "care_plan": {
            "version": plan.version,
            "ppd_first": plan.ppd_first,
            "ppd_second": plan.ppd_second,
            "cpr_decision": plan.cpr_decision,
            "cpr_decision_date": _iso(plan.cpr_decision_date),
            "cpr_review_date": _iso(plan.cpr_review_date),
            "respect_exists": plan.respect_exists,
            "review_date": _iso(plan.review_date),
        } if plan is not None else None,
    }
    # Key safe codes and the like: clinicians only, as on the patient page.
    if getattr(user, "is_clinician", False):
        body["access_information"] = patient.access_information
    return body


class PatientSearchInputSerializer(serializers.Serializer):
    q = serializers.CharField(max_length=200, help_text="NHS number, name, date of birth and/or postcode.")


class PatientInputSerializer(serializers.Serializer):
    """Parses the body; the rules (NHS number check digit, dates, names, postcode, duplicates)
    are patient_register's."""

    nhs_number = serializers.CharField(required=False, allow_blank=True, max_length=20, default="")
    nhs_number_status = serializers.ChoiceField(choices=NhsNumberStatus.choices, default=NhsNumberStatus.NOT_TRACED)
    given_name = serializers.CharField(max_length=100)
    family_name = serializers.CharField(max_length=100)
    date_of_birth = serializers.DateField()
    sex = serializers.ChoiceField(choices=Sex.choices, default=Sex.UNKNOWN)
    address = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    postcode = serializers.CharField(required=False, allow_blank=True, max_length=10, default="")
    phone = PhoneNumberField(region="GB", allow_blank=True, max_length=30, default="", error_messages=PHONE_ERROR)
    phone_alt = PhoneNumberField(region="GB", allow_blank=True, max_length=30, default="", error_messages=PHONE_ERROR)
    gp_practice = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    usual_residence = serializers.ChoiceField(choices=UsualResidence.choices, allow_blank=True, default="")
    location = serializers.ChoiceField(choices=PatientLocation.choices, default=PatientLocation.HOME)
    location_site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all(), allow_null=True, default=None)
    interpreter_needed = serializers.BooleanField(default=False)
    language = serializers.CharField(required=False, allow_blank=True, max_length=50, default="")
    access_information = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
    confirm_not_duplicate = serializers.BooleanField(
        default=False, help_text="Register although patients with the same name or postcode and date of birth exist.")


class PatientSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    nhs_number = serializers.CharField(allow_null=True)
    nhs_number_status = serializers.CharField()
    given_name = serializers.CharField()
    family_name = serializers.CharField()
    display_name = serializers.CharField()
    date_of_birth = serializers.DateField()
    postcode = serializers.CharField(allow_blank=True)


class PatientSearchResultSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = PatientSummarySerializer(many=True)


class AlertSerializer(serializers.Serializer):
    code = serializers.CharField()
    level = serializers.CharField()
    text = serializers.CharField()


class CarePlanSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    ppd_first = serializers.CharField(allow_blank=True)
    ppd_second = serializers.CharField(allow_blank=True)
    cpr_decision = serializers.CharField(allow_blank=True)
    cpr_decision_date = serializers.DateField(allow_null=True)
    cpr_review_date = serializers.DateField(allow_null=True)
    respect_exists = serializers.BooleanField()
    review_date = serializers.DateField(allow_null=True)


class PatientDetailSerializer(PatientSummarySerializer):
    age = serializers.IntegerField(allow_null=True)
    sex = serializers.CharField()
    address = serializers.CharField(allow_blank=True)
    phone = serializers.CharField(allow_blank=True)
    phone_alt = serializers.CharField(allow_blank=True)
    gp_practice = serializers.CharField(allow_blank=True)
    usual_residence = serializers.CharField(allow_blank=True)
    location = serializers.CharField()
    location_site_id = serializers.IntegerField(allow_null=True)
    interpreter_needed = serializers.BooleanField()
    language = serializers.CharField(allow_blank=True)
    died_at = serializers.DateTimeField(allow_null=True)
    alerts = AlertSerializer(many=True)
    care_plan = CarePlanSerializer(allow_null=True)
    access_information = serializers.CharField(allow_blank=True, required=False, help_text="Clinicians only.")


class DuplicatePatientErrorSerializer(ErrorSerializer):
    existing_patient_id = serializers.IntegerField(required=False, help_text="duplicate_nhs_number: the patient "
                                                                             "already registered with it.")
    possible_duplicates = serializers.ListField(child=serializers.IntegerField(), required=False,
                                                help_text="possible_duplicates: their ids.")


class PatientListApi(APIView):
    """Search the patients the user may see; register a patient (handlers and coordinators)."""

    # A tighter rate than the rest of the API: searching is how patients would be scraped.
    throttle_scope = "patient_search"

    @extend_schema(operation_id="patients_list", parameters=[PatientSearchInputSerializer],
                   responses={200: PatientSearchResultSerializer})
    def get(self, request: Request) -> Response:
        params = PatientSearchInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        results = patient_search(patients=patients_visible_to(request.user), query=params.validated_data["q"])
        # The access log keeps the result count, never the search text (patient identifiers).
        access_log_record(action=AccessLog.Action.SEARCH, user=request.user, request=request._request,
                          object_type="patient", detail={"results": len(results)})
        return Response({"count": len(results), "results": [_patient_summary(p) for p in results]})

    @extend_schema(operation_id="patients_create", request=PatientInputSerializer,
                   responses={201: PatientDetailSerializer, 409: DuplicatePatientErrorSerializer})
    def post(self, request: Request) -> Response:
        if not (sees_all_patients(request.user) and may_write_clinical(request.user)):
            raise ApiPermissionDenied("Only call handlers and coordinators register patients.")
        data = PatientInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        confirmed = values.pop("confirm_not_duplicate")
        try:
            patient = patient_register(data=PatientData(**values), user=request.user,
                                       confirmed_not_duplicate=confirmed)
        except DuplicateNhsNumber as exc:
            return Response({"detail": exc.message_dict["nhs_number"][0], "code": exc.code,
                             "existing_patient_id": exc.existing.pk}, status=status.HTTP_409_CONFLICT)
        except PossibleDuplicates as exc:
            return Response({"detail": exc.messages[0], "code": exc.code,
                             "possible_duplicates": [p.pk for p in exc.matches]},
                            status=status.HTTP_409_CONFLICT)
        except ValidationError as exc:
            raise serializers.ValidationError(_errors(exc)) from exc
        return Response(_patient_detail(patient, user=request.user), status=status.HTTP_201_CREATED)


class PatientDetailApi(APIView):
    @extend_schema(operation_id="patients_retrieve", responses={200: PatientDetailSerializer})
    def get(self, request: Request, patient_id: int) -> Response:
        patient = patients_visible_to(request.user).filter(pk=patient_id).first()
        if patient is None:
            raise NotFound("No such patient.")
        access_log_record(action=AccessLog.Action.VIEW, user=request.user, request=request._request,
                          object_type="patient", object_id=patient.pk, patient_id=patient.pk)
        return Response(_patient_detail(patient, user=request.user))


# --- Calls -----------------------------------------------------------------------------------


class NeedInputSerializer(serializers.Serializer):
    need = serializers.ChoiceField(choices=Need.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    priority = serializers.ChoiceField(
        choices=Priority.choices, allow_blank=True, allow_null=True, default=None,
        help_text="Left out: the call's chosen_priority for a clinical need, else this need's own "
                  "suggestion (carer support P4, bereavement support P5; docs/triage.md). Another "
                  "priority than the need's suggestion needs override_reason.")
    override_reason = serializers.CharField(allow_blank=True, default="")


class CallInputSerializer(serializers.Serializer):
    """Parses the body (types and code lists, as the call screen's form does); the rules
    (overrides, needs, times, phone numbers, lengths) are call_submit's."""

    received_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True, default=None)
    direction = serializers.ChoiceField(choices=CallDirection.choices, default=CallDirection.INBOUND)
    caller_type = serializers.ChoiceField(choices=CallerType.choices)
    caller_name = serializers.CharField(allow_blank=True, default="")
    caller_phone = serializers.CharField(allow_blank=True, default="")
    caller_organisation = serializers.CharField(allow_blank=True, default="")
    caller_relationship = serializers.CharField(allow_blank=True, default="")
    patient_id = serializers.IntegerField(allow_null=True, default=None, min_value=1, max_value=MAX_ID)
    reason = serializers.ChoiceField(choices=CallReason.choices)
    notes = serializers.CharField(allow_blank=True, default="")
    phase = serializers.ChoiceField(choices=PhaseOfIllness.choices, allow_blank=True, allow_null=True, default="")
    ipos = serializers.DictField(child=serializers.IntegerField(min_value=0, max_value=4), default=dict,
                                 help_text="IPOS item code -> score 0-4; items not asked left out.")
    akps = serializers.IntegerField(allow_null=True, default=None)
    red_flags = serializers.ListField(child=serializers.ChoiceField(choices=RedFlag.choices), default=list)
    carer_coping = serializers.ChoiceField(choices=CarerCoping.choices, allow_blank=True, allow_null=True, default="")
    # Codes without labels: the patient's `location` has this code list too, and one choice set
    # under two names is a schema warning (drf_spectacular.W001 in `check --deploy`).
    patient_location = serializers.ChoiceField(choices=PatientLocation.values, allow_blank=True, allow_null=True,
                                               default="")
    patient_site_id = serializers.IntegerField(allow_null=True, default=None, min_value=1, max_value=MAX_ID)
    chosen_priority = serializers.ChoiceField(
        choices=Priority.choices, allow_blank=True, allow_null=True, default=None,
        help_text="For the clinical needs (and a call without needs). Left out: the suggested "
                  "priority. Another priority needs override_reason. Each need may have its own.")
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


def _suggested_priority(data: dict[str, Any]) -> str:
    """The triage rules' suggestion, exactly as the call screen computes it."""
    return suggest_priority(TriageInput(
        phase=data.get("phase") or None, ipos=data.get("ipos") or {},
        red_flags=tuple(data.get("red_flags") or ()), carer_coping=data.get("carer_coping") or None,
        reason=data.get("reason") or None, patient_location=data.get("patient_location") or None,
    )).priority


def _call_input(data: dict[str, Any], *, chosen_priority: str, idempotency_key: str | None) -> CallInput:
    return CallInput(
        received_at=data["received_at"], ended_at=data["ended_at"], direction=data["direction"],
        caller_type=data["caller_type"], caller_name=data["caller_name"],
        caller_phone=data["caller_phone"], caller_organisation=data["caller_organisation"],
        caller_relationship=data["caller_relationship"], patient_id=data["patient_id"],
        reason=data["reason"], notes=data["notes"], phase=data["phase"] or None,
        ipos=dict(data["ipos"]), akps=data["akps"], red_flags=tuple(data["red_flags"]),
        carer_coping=data["carer_coping"] or None, patient_location=data["patient_location"] or None,
        patient_site_id=data["patient_site_id"], chosen_priority=chosen_priority,
        override_reason=data["override_reason"], disposition=data["disposition"],
        needs=tuple(NeedRequest(need=n["need"], note=n["note"], priority=n["priority"] or None,
                                override_reason=n["override_reason"]) for n in data["needs"]),
        callback_due_at=data["callback_due_at"], callback_note=data["callback_note"],
        idempotency_key=idempotency_key,
    )


def _call_body(call: Call, referrals: list[Referral]) -> dict[str, Any]:
    return {
        "id": call.pk,
        "received_at": _iso(call.received_at),
        "patient_id": call.patient_id,
        "suggested_priority": call.suggested_priority,
        "suggestion_reasons": list(call.suggestion_reasons),
        "chosen_priority": call.chosen_priority,
        "disposition": call.disposition,
        "needs_senior_review": call.needs_senior_review,
        "referrals": [
            {"id": r.pk, "need": r.need, "priority": r.priority,
             "suggested_priority": r.suggested_priority, "override_reason": r.override_reason,
             "status": r.status, "fhir_task_status": FHIR_TASK_STATUS[r.status]}
            for r in referrals
        ],
    }


def _need_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """call_submit keys one need's priority errors by need (``override_reason_carer_support``);
    the API has no such fields, so they join the other problems with the needs (each names its
    need)."""
    merged: dict[str, list[str]] = {}
    for field, messages in errors.items():
        key = "needs" if field.startswith(("override_reason_", "priority_")) else field
        merged.setdefault(key, []).extend(messages)
    return merged


class CallReferralSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    need = serializers.CharField()
    priority = serializers.CharField()
    suggested_priority = serializers.CharField(help_text="The triage rules' suggestion for this need.")
    override_reason = serializers.CharField(allow_blank=True,
                                            help_text="Why another priority was chosen; blank when none was.")
    status = serializers.CharField()
    fhir_task_status = serializers.CharField()


class CallSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    received_at = serializers.DateTimeField()
    patient_id = serializers.IntegerField(allow_null=True)
    suggested_priority = serializers.CharField()
    suggestion_reasons = serializers.ListField(child=serializers.CharField(allow_blank=True))
    chosen_priority = serializers.CharField()
    disposition = serializers.CharField()
    needs_senior_review = serializers.BooleanField()
    referrals = CallReferralSerializer(many=True)


class CallCreateApi(APIView):
    """Log a call: the call, its triage and one referral per need, in one transaction.

    Send an `Idempotency-Key` header (up to 64 characters, unique per call): a retry with the
    same key returns the first call's response (201, same body, header `Idempotent-Replayed:
    true`) and saves nothing."""

    permission_classes = [IsAuthenticated, TakesCalls]

    @extend_schema(
        operation_id="calls_create", request=CallInputSerializer,
        parameters=[OpenApiParameter(IDEMPOTENCY_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER,
                                     description="Up to 64 characters; a retry with the same key saves nothing.")],
        responses={201: CallSerializer},
    )
    def post(self, request: Request) -> Response:
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if len(key) > IDEMPOTENCY_KEY_MAX:
            raise serializers.ValidationError({IDEMPOTENCY_HEADER: [f"Use at most {IDEMPOTENCY_KEY_MAX} characters."]})
        data = CallInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            chosen = values["chosen_priority"] or _suggested_priority(values)
            result = call_submit(data=_call_input(values, chosen_priority=chosen, idempotency_key=key or None),
                                 user=request.user, request=request._request)
        except InvalidTriage as exc:
            raise serializers.ValidationError({"triage": [str(exc)]}) from exc
        except ValidationError as exc:
            raise serializers.ValidationError(_need_errors(_errors(exc))) from exc
        response = Response(_call_body(result.call, result.referrals), status=status.HTTP_201_CREATED)
        if not result.created:
            response["Idempotent-Replayed"] = "true"
        return response


# --- Referrals -------------------------------------------------------------------------------


class ReferralFilterSerializer(serializers.Serializer):
    patient = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    team = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    status = serializers.ChoiceField(choices=ReferralStatus.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    need = serializers.ChoiceField(choices=Need.choices, required=False)


class TeamRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ReferralSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    patient_id = serializers.IntegerField()
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
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ReferralSummarySerializer(many=True)


class ReferralEventSerializer(serializers.Serializer):
    kind = serializers.CharField()
    at = serializers.DateTimeField()
    actor = serializers.CharField(allow_null=True)
    from_status = serializers.CharField(allow_blank=True)
    to_status = serializers.CharField(allow_blank=True)
    team = TeamRefSerializer(allow_null=True)


class ReferralDetailSerializer(ReferralSummarySerializer):
    call_id = serializers.IntegerField(allow_null=True)
    note = serializers.CharField(allow_blank=True)
    clock_started_at = serializers.DateTimeField(allow_null=True)
    routed_at = serializers.DateTimeField(allow_null=True)
    outcome = serializers.CharField(allow_blank=True)
    updated_at = serializers.DateTimeField()
    routing_decision = serializers.JSONField(help_text="The ranker's decision, as recorded.")
    unroutable_reason = serializers.CharField(allow_blank=True)
    events = ReferralEventSerializer(many=True)


def _team(team: Any) -> dict[str, Any] | None:
    return {"id": team.pk, "name": team.name} if team is not None else None


def _referral_summary(referral: Referral) -> dict[str, Any]:
    return {
        "id": referral.pk,
        "patient_id": referral.patient_id,
        "need": referral.need,
        "priority": referral.priority,
        "status": referral.status,
        "fhir_task_status": FHIR_TASK_STATUS[referral.status],
        "team": _team(referral.team),
        "owner": referral.owner.get_username() if referral.owner is not None else None,
        "accept_by": _iso(referral.accept_by),
        "contact_by": _iso(referral.contact_by),
        "created_at": _iso(referral.created_at),
    }


class ReferralListApi(APIView):
    """Referrals the user may see, newest first, paginated (`?page=`)."""

    @extend_schema(
        operation_id="referrals_list",
        parameters=[ReferralFilterSerializer, OpenApiParameter("page", OpenApiTypes.INT, OpenApiParameter.QUERY)],
        responses={200: ReferralPageSerializer, 404: OpenApiResponse(ErrorSerializer, "No such page.")},
    )
    def get(self, request: Request) -> Response:
        params = ReferralFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        filters = params.validated_data
        rows = referrals_visible_to(request.user).select_related("team", "owner")
        for name in ("status", "priority", "need"):
            if name in filters:
                rows = rows.filter(**{name: filters[name]})
        if "patient" in filters:
            rows = rows.filter(patient_id=filters["patient"])
        if "team" in filters:
            rows = rows.filter(team_id=filters["team"])
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(rows.order_by("-created_at", "-id"), request, view=self)
        if "patient" in filters:
            # One patient's referrals is a look-up of their record: logged, with the count only.
            access_log_record(action=AccessLog.Action.SEARCH, user=request.user, request=request._request,
                              object_type="referral", patient_id=filters["patient"],
                              detail={"results": paginator.page.paginator.count})
        else:
            access_log_list_shown(request=request._request, object_type="referral_list",
                                  patient_ids=(r.patient_id for r in page or []))
        return paginator.get_paginated_response([_referral_summary(r) for r in page or []])


class ReferralDetailApi(APIView):
    @extend_schema(operation_id="referrals_retrieve", responses={200: ReferralDetailSerializer})
    def get(self, request: Request, referral_id: int) -> Response:
        referral = (referrals_visible_to(request.user).select_related("team", "owner")
                    .filter(pk=referral_id).first())
        if referral is None:
            raise NotFound("No such referral.")
        events = referral.events.select_related("actor", "team").order_by("at", "id")
        access_log_record(action=AccessLog.Action.VIEW, user=request.user, request=request._request,
                          object_type="referral", object_id=referral.pk, patient_id=referral.patient_id)
        return Response({
            **_referral_summary(referral),
            "call_id": referral.call_id,
            "note": referral.note,
            "clock_started_at": _iso(referral.clock_started_at),
            "routed_at": _iso(referral.routed_at),
            "outcome": referral.outcome,
            "updated_at": _iso(referral.updated_at),
            "routing_decision": referral.routing_decision,
            "unroutable_reason": referral.unroutable_reason,
            "events": [
                {"kind": e.kind, "at": _iso(e.at),
                 "actor": e.actor.get_username() if e.actor is not None else None,
                 "from_status": e.from_status, "to_status": e.to_status, "team": _team(e.team)}
                for e in events
            ],
        })
