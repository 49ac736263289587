"""The patients API (docs/design.md §9): search, register and open a patient, from
`patients_visible_to` and through `patient_register`, as the screens do. Break-glass grants live in
the browser session and do not apply here."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.selectors import patient_banner_for
from patients.codes import (
    DiagnosisGroup,
    EthnicCategory,
    NhsNumberStatus,
    PatientLocation,
    Sex,
    UsualResidence,
)
from patients.forms import PHONE_ERROR
from patients.models import Patient
from patients.names import display_name
from patients.selectors import care_plan_current, patient_shown
from patients.services import DuplicateNhsNumber, PatientData, PossibleDuplicates, patient_register
from referrals.api.referrals import RelatedPersonSerializer, related_person_body
from referrals.selectors import patients_visible_to, sees_all_patients
from services.deprivation import deprivation_decile
from services.models import Site
from spoc.accounts.roles import may_write_clinical
from spoc.core.api import api_field_errors, api_iso
from spoc.core.schema import ErrorSerializer
from workspace.selectors import patients_found


def _patient_summary(patient: Patient) -> dict[str, Any]:
    return {
        "id": patient.pk,
        "nhs_number": patient.nhs_number,
        "nhs_number_status": patient.nhs_number_status,
        "given_name": patient.given_name,
        "family_name": patient.family_name,
        "display_name": display_name(patient.given_name, patient.family_name),
        "date_of_birth": api_iso(patient.date_of_birth),
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
        "registered_practice": (
            {
                "ods_code": patient.registered_practice.ods_code,
                "name": patient.registered_practice.name,
            }
            if patient.registered_practice
            else None
        ),
        "usual_residence": patient.usual_residence,
        "location": patient.location,
        "location_site_id": patient.location_site_id,
        "interpreter_needed": patient.interpreter_needed,
        "language": patient.language,
        "ethnic_category": patient.ethnic_category,
        "diagnosis_group": patient.diagnosis_group,
        "deprivation_decile": deprivation_decile(postcode=patient.postcode),
        "died_at": api_iso(patient.died_at),
        "alerts": [{"code": a.code, "level": a.level, "text": a.text} for a in banner.alerts],
        # Whom carer and bereavement support may be for (POST /api/v1/calls/, for_person_id).
        "related_people": [related_person_body(p) for p in patient.related_people.all()],
        "care_plan": {
            "version": plan.version,
            "ppd_first": plan.ppd_first,
            "ppd_second": plan.ppd_second,
            "ppc": plan.ppc,
            "cpr_decision": plan.cpr_decision,
            "cpr_decision_date": api_iso(plan.cpr_decision_date),
            "cpr_review_date": api_iso(plan.cpr_review_date),
            "respect_exists": plan.respect_exists,
            "review_date": api_iso(plan.review_date),
        }
        if plan is not None
        else None,
    }
    # Key safe codes and the like: clinicians only, as on the patient page.
    if getattr(user, "is_clinician", False):
        body["access_information"] = patient.access_information
    return body


class PatientSearchInputSerializer(serializers.Serializer):
    q = serializers.CharField(
        max_length=200, help_text="NHS number, name, date of birth and/or postcode."
    )


class PatientInputSerializer(serializers.Serializer):
    """Parses the body; the rules (NHS number check digit, dates, names, postcode, duplicates)
    are patient_register's."""

    nhs_number = serializers.CharField(required=False, allow_blank=True, max_length=20, default="")
    nhs_number_status = serializers.ChoiceField(
        choices=NhsNumberStatus.choices, default=NhsNumberStatus.NOT_TRACED
    )
    given_name = serializers.CharField(max_length=100)
    family_name = serializers.CharField(max_length=100)
    date_of_birth = serializers.DateField()
    sex = serializers.ChoiceField(choices=Sex.choices, default=Sex.UNKNOWN)
    address = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    postcode = serializers.CharField(required=False, allow_blank=True, max_length=10, default="")
    phone = PhoneNumberField(
        region="GB", allow_blank=True, max_length=30, default="", error_messages=PHONE_ERROR
    )
    phone_alt = PhoneNumberField(
        region="GB", allow_blank=True, max_length=30, default="", error_messages=PHONE_ERROR
    )
    gp_practice = serializers.CharField(
        required=False, allow_blank=True, max_length=200, default=""
    )
    usual_residence = serializers.ChoiceField(
        choices=UsualResidence.choices, allow_blank=True, default=""
    )
    location = serializers.ChoiceField(
        choices=PatientLocation.choices, default=PatientLocation.HOME
    )
    location_site = serializers.PrimaryKeyRelatedField(
        queryset=Site.objects.all(), allow_null=True, default=None
    )
    interpreter_needed = serializers.BooleanField(default=False)
    language = serializers.CharField(required=False, allow_blank=True, max_length=50, default="")
    ethnic_category = serializers.ChoiceField(
        choices=EthnicCategory.choices,
        default=EthnicCategory.NOT_KNOWN,
        help_text="NHS Data Dictionary ETHNIC CATEGORY: A-S, Z not stated, 99 not known.",
    )
    diagnosis_group = serializers.ChoiceField(
        choices=DiagnosisGroup.choices, default=DiagnosisGroup.NOT_KNOWN
    )
    access_information = serializers.CharField(
        required=False, allow_blank=True, max_length=1000, default=""
    )
    confirm_not_duplicate = serializers.BooleanField(
        default=False,
        help_text="Register although patients with the same name or postcode and date of birth exist.",
    )


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
    ppc = serializers.CharField(allow_blank=True, help_text="Preferred place of care.")
    cpr_decision = serializers.CharField(allow_blank=True)
    cpr_decision_date = serializers.DateField(allow_null=True)
    cpr_review_date = serializers.DateField(allow_null=True)
    respect_exists = serializers.BooleanField()
    review_date = serializers.DateField(allow_null=True)


class PracticeSerializer(serializers.Serializer):
    ods_code = serializers.CharField()
    name = serializers.CharField()


class PatientDetailSerializer(PatientSummarySerializer):
    age = serializers.IntegerField(allow_null=True)
    sex = serializers.CharField()
    address = serializers.CharField(allow_blank=True)
    phone = serializers.CharField(allow_blank=True)
    phone_alt = serializers.CharField(allow_blank=True)
    gp_practice = serializers.CharField(allow_blank=True, help_text="As typed or said.")
    registered_practice = PracticeSerializer(
        allow_null=True, help_text="The practice of the directory it names."
    )
    usual_residence = serializers.CharField(allow_blank=True)
    location = serializers.CharField()
    location_site_id = serializers.IntegerField(allow_null=True)
    interpreter_needed = serializers.BooleanField()
    language = serializers.CharField(allow_blank=True)
    ethnic_category = serializers.CharField()
    diagnosis_group = serializers.CharField()
    deprivation_decile = serializers.IntegerField(
        allow_null=True,
        help_text="The postcode area's deprivation decile, 1 most deprived to 10 least; null "
        "when not known.",
    )
    died_at = serializers.DateTimeField(allow_null=True)
    alerts = AlertSerializer(many=True)
    related_people = RelatedPersonSerializer(many=True)
    care_plan = CarePlanSerializer(allow_null=True)
    access_information = serializers.CharField(
        allow_blank=True, required=False, help_text="Clinicians only."
    )


class DuplicatePatientErrorSerializer(ErrorSerializer):
    existing_patient_id = serializers.IntegerField(
        required=False, help_text="duplicate_nhs_number: the patient already registered with it."
    )
    possible_duplicates = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text="possible_duplicates: their ids.",
    )


class PatientListApi(APIView):
    """Search the patients the user may see; register a patient (handlers and coordinators)."""

    # A tighter rate than the rest of the API: searching is how patients would be scraped.
    throttle_scope = "patient_search"

    @extend_schema(
        operation_id="patients_list",
        parameters=[PatientSearchInputSerializer],
        responses={200: PatientSearchResultSerializer},
    )
    def get(self, request: Request) -> Response:
        params = PatientSearchInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        results = patients_found(
            patients=patients_visible_to(request.user), query=params.validated_data["q"]
        )
        return Response({"count": len(results), "results": [_patient_summary(p) for p in results]})

    @extend_schema(
        operation_id="patients_create",
        request=PatientInputSerializer,
        responses={201: PatientDetailSerializer, 409: DuplicatePatientErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        if not (sees_all_patients(request.user) and may_write_clinical(request.user)):
            raise ApiPermissionDenied("Only call handlers and coordinators register patients.")
        data = PatientInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        confirmed = values.pop("confirm_not_duplicate")
        try:
            patient = patient_register(
                data=PatientData(**values), user=request.user, confirmed_not_duplicate=confirmed
            )
        except DuplicateNhsNumber as exc:
            return Response(
                {
                    "detail": exc.message_dict["nhs_number"][0],
                    "code": exc.code,
                    "existing_patient_id": exc.existing.pk,
                },
                status=status.HTTP_409_CONFLICT,
            )
        except PossibleDuplicates as exc:
            return Response(
                {
                    "detail": exc.messages[0],
                    "code": exc.code,
                    "possible_duplicates": [p.pk for p in exc.matches],
                },
                status=status.HTTP_409_CONFLICT,
            )
        except ValidationError as exc:
            raise serializers.ValidationError(api_field_errors(exc)) from exc
        return Response(_patient_detail(patient, user=request.user), status=status.HTTP_201_CREATED)


class PatientDetailApi(APIView):
    @extend_schema(operation_id="patients_retrieve", responses={200: PatientDetailSerializer})
    def get(self, request: Request, patient_id: int) -> Response:
        patient = patient_shown(patients=patients_visible_to(request.user), patient_id=patient_id)
        if patient is None:
            raise NotFound("No such patient.")
        return Response(_patient_detail(patient, user=request.user))
