"""The referral page: its patient, clocks, events and "Why this team?" (the stored routing
decision)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from referrals.codes import ReferralOutcome
from referrals.selectors import patient_banner_for, referrals_visible_to
from services.models import TeamMembership
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record


@login_required
def referral_detail(request: HttpRequest, referral_id: int) -> HttpResponse:
    referral = (referrals_visible_to(request.user)
                .select_related("patient", "team", "owner", "call", "created_by", "for_person")
                .filter(pk=referral_id).first())
    if referral is None:
        raise Http404("No such referral")
    access_log_record(action=AccessLog.Action.VIEW, request=request, object_type="referral",
                      object_id=referral.pk, patient_id=referral.patient_id)
    decision = referral.routing_decision or {}
    on_team = referral.team_id is not None and TeamMembership.objects.filter(
        user=request.user, team=referral.team  # type: ignore[misc]
    ).exists()
    return render(request, "referrals/detail.html", {
        "referral": referral,
        "patient": referral.patient,
        "banner": patient_banner_for(patient=referral.patient),
        "events": referral.events.select_related("actor", "team"),
        "candidates": decision.get("candidates", []),
        "winner_id": decision.get("winner_service_id"),
        "decided_at": decision.get("at"),
        "now": timezone.now(),
        "on_team": on_team,
        "outcomes": ReferralOutcome.choices,
    })


