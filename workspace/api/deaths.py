"""`/api/v1/patients/{id}/death/` (docs/design.md §7, §9): record a patient's death, or read it;
`/api/v1/patients/{id}/death/corrections/`: correct it or withdraw it as entered in error.

The same service as the patient page (``workspace.services.death_record``) and the same
permission selector (``patients_visible_to``): 201 with the record, 400 with field errors, 403
for users who may not record deaths, 404 for a patient the user cannot see, 409 when the death is
already recorded (``DeathAlreadyRecorded`` is a ``DomainConflict``, code ``death_already_recorded``).

The 201 body is the record (the same shape as the GET) plus ``effects``: what recording it did,
the same facts the page's message gives (``workspace.views.deaths.death_message``).

A correction goes through ``death_correct`` or ``death_withdraw``, as on the page: 200 with the
record as it now stands and ``correction``; 400 field errors (a reason is required); 403 for
users who are neither team leads nor coordinators; 404 for a patient the user cannot write to or
with no death standing.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from experience.forms import consent_input
from patients.codes import PlaceOfDeath
from patients.models import DeathCorrection, DeathRecord, Patient
from patients.names import display_name
from patients.selectors import death_record_shown
from referrals.bereavement import Answer, Question
from referrals.models import Referral
from referrals.selectors import patients_visible_to
from referrals.services.deaths import REASON_MAX, VERIFIED_BY_MAX, may_record_death
from services.codes import Need
from spoc.accounts.roles import may_write_clinical
from spoc.core.api import MAX_ID, api_field_errors, api_iso
from workspace.services import (
    DeathRecorded,
    death_correct,
    death_record,
    death_withdraw,
)


class BereavementScreenInputSerializer(serializers.Serializer):
    """One person's bereavement risk screen: an answer to every question (docs/triage.md,
    "Bereavement risk screen")."""

    for_person_id = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="One of the ids in bereavement_for."
    )

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        for question in Question:
            fields[question.value.lower()] = serializers.ChoiceField(
                choices=Answer.choices, source=question.value, help_text=str(question.label)
            )
        return fields


class DeathInputSerializer(serializers.Serializer):
    """Parses the body; the rules (not in the future, not before birth, consent to be contacted)
    are the service's."""

    died_at = serializers.DateTimeField(
        help_text="Date and time of death (ISO 8601; without an offset, Europe/London)."
    )
    place = serializers.ChoiceField(
        choices=PlaceOfDeath.choices, help_text="NHS Data Dictionary death location type."
    )
    last_days_place = serializers.ChoiceField(
        choices=PlaceOfDeath.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Where the patient was cared for in the last days of life (death location "
        "type; blank: not known). Compared with the care plan's preferred place of care.",
    )
    expected = serializers.BooleanField(allow_null=True, default=None)
    verified_by = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=VERIFIED_BY_MAX,
        default="",
        trim_whitespace=True,
    )
    bereavement_for = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        default=list,
        max_length=50,
        help_text="Ids of the patient's related people (with consent to be contacted) to offer "
        "bereavement support.",
    )
    bereavement_screens = serializers.ListField(
        child=BereavementScreenInputSerializer(),
        required=False,
        default=list,
        max_length=50,
        help_text="The bereavement risk screen of people in bereavement_for, one each; a person "
        "left out is not screened.",
    )
    survey_to = consent_input(
        'Who agreed to the bereaved relatives\' survey: "person-<related person id>", with a UK '
        'mobile number on their record; empty for nobody (docs/operations.md, "Feedback texts").'
    )


class BereavementReferralSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    for_person_id = serializers.IntegerField()
    for_person_name = serializers.CharField(help_text="FAMILY, Given.")
    status = serializers.CharField()
    priority = serializers.CharField()
    risk_screen_component = serializers.IntegerField(
        allow_null=True,
        help_text="The component of bereavement support its risk screen found (1 to 3); null: "
        "not screened.",
    )
    contact_not_before = serializers.DateTimeField(allow_null=True)


class ClosedReferralSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    need = serializers.CharField()
    team_id = serializers.IntegerField(
        allow_null=True, help_text="Null for a referral not yet routed."
    )
    team_name = serializers.CharField(
        allow_blank=True, help_text="Blank for a referral not yet routed."
    )


class KeptReferralSerializer(ClosedReferralSerializer):
    status = serializers.CharField()
    for_person_id = serializers.IntegerField(
        allow_null=True, help_text="Null for a referral for the patient's own record."
    )


class KeptCallBackSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    due_at = serializers.DateTimeField()
    caller_name = serializers.CharField(allow_blank=True)


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="FAMILY, Given.")


class DeathEffectsSerializer(serializers.Serializer):
    referrals_closed = ClosedReferralSerializer(
        many=True, help_text="The patient's open referrals closed with outcome PATIENT_DIED."
    )
    bereavement_referrals_created = BereavementReferralSerializer(
        many=True, help_text="The bereavement support referrals made by this request."
    )
    bereavement_already_open = PersonSerializer(
        many=True,
        help_text="People ticked who already had an open bereavement support referral, "
        "so were not given a second.",
    )
    call_backs_cancelled = serializers.IntegerField()
    referrals_kept_open = KeptReferralSerializer(
        many=True,
        help_text="Open referrals left open: for a related person, or for carer or bereavement "
        "support (support for the living).",
    )
    call_backs_kept = KeptCallBackSerializer(
        many=True, help_text="The relatives' pending call-backs, left pending."
    )


class CorrectionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=DeathCorrection.Kind.choices)
    before = serializers.DictField(help_text="The fields that changed, as they were.")
    after = serializers.DictField(help_text="The same fields, as they are now.")
    reason = serializers.CharField()
    corrected_at = serializers.DateTimeField()
    corrected_by = serializers.CharField(help_text="Username.")
    effects = serializers.DictField(
        help_text="For a withdrawal: the ids of the referrals reopened (referrals_reopened) or "
        "left as they were (referrals_left_closed), of the bereavement referrals entered in "
        "error (bereavement_cancelled) or kept (bereavement_kept), of the call-backs pending "
        "again (call_backs_restored)."
    )


class DeathRecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    patient_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=DeathRecord.Status.choices)
    died_at = serializers.DateTimeField()
    place = serializers.CharField()
    expected = serializers.BooleanField(allow_null=True)
    verified_by = serializers.CharField(allow_blank=True)
    preferred_place_first = serializers.CharField(allow_blank=True)
    preferred_place_second = serializers.CharField(allow_blank=True)
    preferred_place_achieved = serializers.BooleanField(
        allow_null=True, help_text="Died in the 1st or 2nd preferred place; null: none recorded."
    )
    first_preference_achieved = serializers.BooleanField(
        allow_null=True, help_text="Died in the 1st preferred place; null: none recorded."
    )
    preferred_place_of_care = serializers.CharField(allow_blank=True)
    last_days_place = serializers.CharField(allow_blank=True)
    preferred_care_achieved = serializers.BooleanField(
        allow_null=True,
        help_text="Cared for in the preferred place in the last days; null: either not recorded.",
    )
    recorded_at = serializers.DateTimeField()
    recorded_by = serializers.CharField(help_text="Username.")
    bereavement_referrals = BereavementReferralSerializer(many=True)
    corrections = CorrectionSerializer(many=True, help_text="Oldest first.")


class DeathRecordedSerializer(DeathRecordSerializer):
    effects = DeathEffectsSerializer(help_text="What recording the death did.")


class DeathCorrectionInputSerializer(serializers.Serializer):
    """Parses the body; the rules (a reason, not in the future, a change) are the service's."""

    withdraw = serializers.BooleanField(
        default=False, help_text="True: withdraw the death as entered in error."
    )
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=REASON_MAX, trim_whitespace=True
    )
    died_at = serializers.DateTimeField(required=False)
    place = serializers.ChoiceField(choices=PlaceOfDeath.choices, required=False)
    last_days_place = serializers.ChoiceField(
        choices=[("", "Not known"), *PlaceOfDeath.choices], required=False
    )
    expected = serializers.BooleanField(allow_null=True, required=False)
    verified_by = serializers.CharField(
        required=False, allow_blank=True, max_length=VERIFIED_BY_MAX, trim_whitespace=True
    )


class DeathCorrectedSerializer(DeathRecordSerializer):
    correction = CorrectionSerializer(help_text="The correction this request made.")


def _screens(items: list[dict[str, Any]]) -> dict[int, dict[str, str]]:
    """Person id -> answers by question; a person given twice is a bad request."""
    screens: dict[int, dict[str, str]] = {}
    for item in items:
        answers = dict(item)
        person_id = answers.pop("for_person_id")
        if person_id in screens:
            raise serializers.ValidationError(
                {"bereavement_screens": [f"Person {person_id} has two risk screens: give one."]}
            )
        screens[person_id] = answers
    return screens


def _bereavement_item(referral: Referral) -> dict[str, Any]:
    person = referral.for_person
    assert person is not None
    screen = getattr(referral, "bereavement_screen", None)
    return {
        "id": referral.pk,
        "for_person_id": person.pk,
        "for_person_name": display_name(person.given_name, person.family_name),
        "status": referral.status,
        "priority": referral.priority,
        "risk_screen_component": screen.component if screen is not None else None,
        "contact_not_before": api_iso(referral.contact_not_before),
    }


def _death_body(record: DeathRecord) -> dict[str, Any]:
    bereavement = (
        Referral.objects.filter(
            patient_id=record.patient_id, need=Need.BEREAVEMENT_SUPPORT, for_person__isnull=False
        )
        .select_related("for_person", "bereavement_screen")
        .order_by("pk")
    )
    return {
        "id": record.pk,
        "patient_id": record.patient_id,
        "died_at": api_iso(record.died_at),
        "place": record.place,
        "expected": record.expected,
        "verified_by": record.verified_by,
        "preferred_place_first": record.preferred_place_first,
        "preferred_place_second": record.preferred_place_second,
        "preferred_place_achieved": record.preferred_place_achieved,
        "first_preference_achieved": record.first_preference_achieved,
        "preferred_place_of_care": record.preferred_place_of_care,
        "last_days_place": record.last_days_place,
        "preferred_care_achieved": record.preferred_care_achieved,
        "recorded_at": api_iso(record.recorded_at),
        "recorded_by": record.recorded_by.get_username(),
        "bereavement_referrals": [_bereavement_item(referral) for referral in bereavement],
        "corrections": [
            _correction_item(correction)
            for correction in record.corrections.select_related("corrected_by").order_by("pk")
        ],
        "status": record.status,
    }


def _correction_item(correction: DeathCorrection) -> dict[str, Any]:
    return {
        "id": correction.pk,
        "kind": correction.kind,
        "before": correction.before,
        "after": correction.after,
        "reason": correction.reason,
        "corrected_at": api_iso(correction.corrected_at),
        "corrected_by": correction.corrected_by.get_username(),
        "effects": correction.effects,
    }


def _referral_item(referral: Referral) -> dict[str, Any]:
    return {
        "id": referral.pk,
        "need": referral.need,
        "team_id": referral.team_id,
        "team_name": referral.team.name if referral.team else "",
    }


def _effects(result: DeathRecorded) -> dict[str, Any]:
    return {
        "referrals_closed": [_referral_item(referral) for referral in result.closed],
        "referrals_kept_open": [
            {
                **_referral_item(referral),
                "status": referral.status,
                "for_person_id": referral.for_person_id,
            }
            for referral in result.kept_open
        ],
        "call_backs_kept": [
            {
                "id": cb.pk,
                "due_at": api_iso(cb.due_at),
                "caller_name": cb.call.caller_name if cb.call else "",
            }
            for cb in result.call_backs_kept
        ],
        "bereavement_referrals_created": [
            _bereavement_item(referral) for referral in result.bereavement
        ],
        "bereavement_already_open": [
            {"id": person.pk, "name": display_name(person.given_name, person.family_name)}
            for person in result.already_supported
        ],
        "call_backs_cancelled": result.call_backs_cancelled,
    }


class PatientDeathApi(APIView):
    """Record a patient's death (clinicians working a team queue, coordinators), or read it."""

    @extend_schema(operation_id="patients_death_retrieve", responses={200: DeathRecordSerializer})
    def get(self, request: Request, patient_id: int) -> Response:
        record = death_record_shown(
            patients=patients_visible_to(request.user), patient_id=patient_id
        )
        if record is None:
            raise NotFound("No death is recorded for this patient.")
        return Response(_death_body(record))

    @extend_schema(
        operation_id="patients_death_create",
        request=DeathInputSerializer,
        responses={201: DeathRecordedSerializer},
    )
    def post(self, request: Request, patient_id: int) -> Response:
        if not (may_record_death(request.user) and may_write_clinical(request.user)):
            raise ApiPermissionDenied(
                "Only clinicians working a team queue and coordinators record deaths."
            )
        data = DeathInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            result = death_record(
                patient_id=patient_id,
                user=request.user,
                died_at=values["died_at"],
                place=values["place"],
                last_days_place=values["last_days_place"],
                expected=values["expected"],
                verified_by=values["verified_by"],
                bereavement_for=list(values["bereavement_for"]),
                survey_to=values["survey_to"],
                bereavement_screens=_screens(values["bereavement_screens"]),
                request=request._request,
            )
        except PermissionDenied as exc:
            raise ApiPermissionDenied(str(exc)) from exc
        except Patient.DoesNotExist as exc:
            raise NotFound("No such patient.") from exc
        except ValidationError as exc:
            raise serializers.ValidationError(api_field_errors(exc)) from exc
        body = {**_death_body(result.record), "effects": _effects(result)}
        return Response(body, status=status.HTTP_201_CREATED)


class PatientDeathCorrectionApi(APIView):
    """Correct a recorded death, or withdraw it as entered in error (team leads, coordinators)."""

    @extend_schema(
        operation_id="patients_death_correct",
        request=DeathCorrectionInputSerializer,
        responses={200: DeathCorrectedSerializer},
    )
    def post(self, request: Request, patient_id: int) -> Response:
        data = DeathCorrectionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        withdraw, reason = values.pop("withdraw"), values.pop("reason")
        try:
            if withdraw:
                result = death_withdraw(
                    patient_id=patient_id,
                    user=request.user,
                    reason=reason,
                    request=request._request,
                )
            else:
                result = death_correct(
                    patient_id=patient_id,
                    user=request.user,
                    reason=reason,
                    changes=values,
                    request=request._request,
                )
        except PermissionDenied as exc:
            raise ApiPermissionDenied(str(exc)) from exc
        except (Patient.DoesNotExist, DeathRecord.DoesNotExist) as exc:
            raise NotFound("No death is recorded for this patient.") from exc
        except ValidationError as exc:
            raise serializers.ValidationError(api_field_errors(exc)) from exc
        body = {**_death_body(result.record), "correction": _correction_item(result.correction)}
        return Response(body)


# Included under /api/v1/patients/<id>/death/ by spoc/urls.py.
urlpatterns = [
    path("", PatientDeathApi.as_view(), name="api-patient-death"),
    path(
        "corrections/",
        PatientDeathCorrectionApi.as_view(),
        name="api-patient-death-corrections",
    ),
]
