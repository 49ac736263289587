"""Referral actions in the API (docs/design.md §9): ``POST /api/v1/referrals/{id}/{action}/``.

One view for every action of the registry (`referrals.transitions.ACTIONS`): it validates the body
with the action's serializer and calls the same service function as the referral page, so the API can do no more than the UI. A referral
the user may not see is a 404; an action the user's role or team may not take is a 403
(``not_permitted``); an action the referral's state does not allow now (already claimed, illegal
transition) is a 409 with the reason and its code; bad input is a 400 with field-level messages.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from experience.forms import consent_input
from patients.codes import PhaseOfIllness
from referrals.actions import ActorContext, actions_for
from referrals.api.referrals import (
    ReferralSummarySerializer,
    _referral_summary,
)
from referrals.codes import DeclineReason, InterventionType, ReferralOutcome
from referrals.models import Referral
from referrals.transitions import ACTIONS
from services.codes import Priority
from spoc.accounts.roles import may_write_clinical
from spoc.core.api import MAX_ID, api_field_errors, api_iso


class NoInput(serializers.Serializer):
    pass


class ContactInput(serializers.Serializer):
    at = serializers.DateTimeField(
        required=False, help_text="When first contact was made (default now)."
    )


class CompleteInput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=ReferralOutcome.choices)
    feedback_to = consent_input(
        'Who agreed to a feedback text: "patient" or "person-<related person id>", with a UK '
        "mobile number on their record; empty for nobody (no text is sent)."
    )


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, allow_blank=True, trim_whitespace=True)


class NoteInput(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class DeclineInput(serializers.Serializer):
    reason = serializers.ChoiceField(choices=DeclineReason.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RerouteInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, allow_blank=True)
    team = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        source="team_id",
        help_text="Route by hand to this team; omit to send it back to the ranker.",
    )


class ReprioritiseInput(serializers.Serializer):
    priority = serializers.ChoiceField(choices=Priority.choices)
    reason = serializers.CharField(max_length=500, allow_blank=True)


class ReassignInput(serializers.Serializer):
    to_user = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        source="to_user_id",
        help_text="A member of the referral's team.",
    )


class InterventionInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=InterventionType.choices)
    at = serializers.DateTimeField(
        required=False, default=timezone.now, help_text="When it happened (default now)."
    )
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    admission_avoided = serializers.BooleanField(required=False, default=False)
    bed_days_saved = serializers.IntegerField(required=False, allow_null=True, default=None)
    primary_care_contact_avoided = serializers.BooleanField(
        required=False,
        default=False,
        help_text="A GP or other primary-care contact that would otherwise have been needed.",
    )


class AssessmentInput(serializers.Serializer):
    phase = serializers.ChoiceField(
        choices=PhaseOfIllness.choices, required=False, allow_blank=True, default=""
    )
    akps = serializers.IntegerField(required=False, allow_null=True, default=None)
    ipos = serializers.DictField(child=serializers.IntegerField(), required=False, default=dict)


# The actions the API takes: every registered action with a serializer (referrals/transitions.py).
API_ACTIONS = {action: spec for action, spec in ACTIONS.items() if spec.serializer}


def referral_representation(referral: Referral, *, user: Any) -> dict[str, Any]:
    """The referral after an action: status (and FHIR Task status), clocks, and what the user
    may do next."""
    return {
        **_referral_summary(referral),
        "at_risk_at": api_iso(referral.at_risk_at),
        "contact_not_before": api_iso(referral.contact_not_before),
        "held_at": api_iso(referral.held_at),
        "hold_reason": referral.hold_reason,
        "routing_attempt": referral.routing_attempt,
        "outcome": referral.outcome,
        "actions": actions_for(actor=ActorContext.of(user), referral=referral),
    }


class ReferralAfterActionSerializer(ReferralSummarySerializer):
    at_risk_at = serializers.DateTimeField(allow_null=True)
    contact_not_before = serializers.DateTimeField(allow_null=True)
    held_at = serializers.DateTimeField(allow_null=True)
    hold_reason = serializers.CharField(allow_blank=True)
    routing_attempt = serializers.IntegerField()
    outcome = serializers.CharField(allow_blank=True)
    actions = serializers.ListField(
        child=serializers.CharField(), help_text="What the user may do next."
    )


class ReferralActionApi(APIView):
    @extend_schema(
        operation_id="referrals_action",
        description="Take an action on a referral: " + ", ".join(sorted(API_ACTIONS)) + ". "
        "404: not visible to you; 403: your role or team may not (`not_permitted`); 409: not "
        "allowed now, with the reason and its code (`already_claimed`, `illegal_transition`, "
        "...); 400: bad input.",
        request=dict,
        responses={200: ReferralAfterActionSerializer},
    )
    def post(self, request: Request, referral_id: int, action: str) -> Response:
        spec = API_ACTIONS.get(action)
        if referral_id > MAX_ID:
            raise NotFound("No such referral.")
        if spec is None:
            raise NotFound(f"No action {action!r}. Actions: {', '.join(sorted(API_ACTIONS))}.")
        if not may_write_clinical(request.user):
            raise ApiPermissionDenied("Your role does not change referrals.")
        body = spec.serializer_class()(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            spec.service_function()(
                referral_id=referral_id, user=request.user, **body.validated_data
            )
        except Referral.DoesNotExist as exc:
            raise NotFound("No such referral.") from exc
        except ValidationError as exc:
            raise serializers.ValidationError(api_field_errors(exc)) from exc
        referral = Referral.objects.select_related("team__service", "owner").get(pk=referral_id)
        return Response(referral_representation(referral, user=request.user))
