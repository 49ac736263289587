"""The referral page: its patient, every clock, its whole history, interventions and
assessments, "Why this team?" (the stored routing decision), and a form for exactly the actions
this user may take now (`referrals.actions.actions_for`). Every action is a POST to
`referral_action`, which validates its form and calls one service function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from calls.selectors import patient_banner_for
from referrals.actions import ActionNotPermitted, ActorContext, actions_for
from referrals.forms_lifecycle import ACTION_FORMS, ActionForm
from referrals.models import Referral
from referrals.selectors import referrals_visible_to
from referrals.selectors.queue import (
    ReferralPage,
    reassign_options,
    referral_page,
    route_options,
    team_must_be_chosen,
)
from referrals.services.claims import (
    referral_cancel,
    referral_claim,
    referral_complete,
    referral_contact,
    referral_enter_in_error,
    referral_reassign,
    referral_release,
    referral_reopen,
)
from referrals.services.interventions import assessment_record, intervention_record
from referrals.services.lifecycle import (
    referral_decline,
    referral_hold,
    referral_reprioritise,
    referral_reroute,
    referral_resume,
)
from referrals.transitions import Action
from spoc.accounts.roles import WRITE_CLINICAL
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record
from spoc.core.api import DomainConflict

# The one service function behind each action the page posts.
SERVICES: dict[str, Callable[..., Any]] = {
    Action.CLAIM: referral_claim,
    Action.RELEASE: referral_release,
    Action.CONTACT: referral_contact,
    Action.INTERVENTION: intervention_record,
    Action.ASSESS: assessment_record,
    Action.COMPLETE: referral_complete,
    Action.REASSIGN: referral_reassign,
    Action.HOLD: referral_hold,
    Action.RESUME: referral_resume,
    Action.REPRIORITISE: referral_reprioritise,
    Action.DECLINE: referral_decline,
    Action.REROUTE: referral_reroute,
    Action.CANCEL: referral_cancel,
    Action.REOPEN: referral_reopen,
    Action.ENTER_IN_ERROR: referral_enter_in_error,
}

DONE: dict[str, str] = {
    Action.CLAIM: "You have claimed the referral.",
    Action.RELEASE: "Released to the team's queue.",
    Action.CONTACT: "First contact recorded.",
    Action.INTERVENTION: "Intervention recorded.",
    Action.ASSESS: "Assessment recorded.",
    Action.COMPLETE: "Referral completed.",
    Action.REASSIGN: "Referral reassigned.",
    Action.HOLD: "Referral put on hold: its clocks are paused.",
    Action.RESUME: "Referral resumed: its clocks run again.",
    Action.REPRIORITISE: "Priority changed: the clocks are recomputed.",
    Action.DECLINE: "Declined: the referral is being routed again.",
    Action.REROUTE: "Routed again: to the team chosen, or, with none chosen, back to the ranker.",
    Action.CANCEL: "Referral cancelled.",
    Action.REOPEN: "Referral reopened: it is back in the team's queue.",
    Action.ENTER_IN_ERROR: "Referral marked entered in error.",
}


def _page_action(action: str) -> str:
    # Routing by hand and routing again share the "reroute" form.
    return Action.REROUTE if action == Action.ROUTE_MANUALLY else action


def _form(action: str, referral: Referral | None, data: Any = None) -> ActionForm:
    """The action's form; the choices that depend on the referral come from selectors (a query
    only for the two actions that have them)."""
    options: list[tuple[Any, str]] | None = None
    kwargs: dict[str, Any] = {}
    if action == Action.REASSIGN and referral is not None:
        options = reassign_options(referral=referral)
    elif action == Action.REROUTE:
        options = route_options()
        # Awaiting routing, the form routes by hand only: leaving the team empty is no choice.
        kwargs["team_required"] = referral is not None and team_must_be_chosen(referral)
    return ACTION_FORMS[action](data, options=options, auto_id=f"id_{action}_%s", **kwargs)


def _page_or_404(request: HttpRequest, referral_id: int) -> ReferralPage:
    page = referral_page(user=request.user, referral_id=referral_id)
    if page is None:
        raise Http404("No such referral")
    return page


def _render(request: HttpRequest, page: ReferralPage, *, bound: ActionForm | None = None, bound_action: str = "",
            status: int = 200) -> HttpResponse:
    referral = page.referral
    access_log_record(action=AccessLog.Action.VIEW, request=request, object_type="referral",
                      object_id=referral.pk, patient_id=referral.patient_id)
    actions: list[str] = []
    for action in actions_for(actor=ActorContext.of(request.user), referral=referral):
        action = _page_action(action)
        if action in ACTION_FORMS and action not in actions:
            actions.append(action)
    forms = [(action, Action(action).label,
              bound if action == bound_action and bound is not None else _form(action, referral))
             for action in actions]
    decision = referral.routing_decision or {}
    return render(request, "referrals/detail.html", {
        "referral": referral,
        "patient": referral.patient,
        "banner": patient_banner_for(patient=referral.patient),
        "events": page.events,
        "interventions": page.interventions,
        "assessments": page.assessments,
        "candidates": decision.get("candidates", []),
        "winner_id": decision.get("winner_service_id"),
        "decided_at": decision.get("at"),
        "manual": decision.get("manual"),
        "now": timezone.now(),
        "action_forms": forms,
        "bound_action": bound_action,
        "bound_form": bound,
    }, status=status)


@login_required
def referral_detail(request: HttpRequest, referral_id: int) -> HttpResponse:
    return _render(request, _page_or_404(request, referral_id))


def _next(request: HttpRequest, referral_id: int) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return reverse("queue:referral", args=[referral_id])


@login_required
@permission_required(WRITE_CLINICAL, raise_exception=True)
@require_POST
def referral_action(request: HttpRequest, referral_id: int, action: str) -> HttpResponse:
    """Take ``action``: its form, then its one service function. Field errors re-render the
    referral page with the form as typed (400); a conflict (already claimed, not allowed now)
    is said on the page the user came from."""
    if action not in SERVICES:
        raise Http404("Unknown action")
    # The whole page is loaded only to show errors: a claim from the queue stays cheap.
    referral = None
    if action in (Action.REASSIGN, Action.REROUTE):
        referral = referrals_visible_to(request.user).filter(pk=referral_id).first()
        if referral is None:
            raise Http404("No such referral")
    form = _form(action, referral, request.POST)
    if not form.is_valid():
        return _render(request, _page_or_404(request, referral_id), bound=form, bound_action=action, status=400)
    try:
        SERVICES[action](referral_id=referral_id, user=request.user, **form.service_kwargs())
    except Referral.DoesNotExist as exc:
        raise Http404("No such referral") from exc
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        for field, field_errors in errors.items():
            for error in field_errors:
                form.add_error(field if field in form.fields else None, error)
        return _render(request, _page_or_404(request, referral_id), bound=form, bound_action=action, status=400)
    except ActionNotPermitted as exc:  # not this user's to take: a refusal, not a conflict
        raise PermissionDenied(str(exc)) from exc
    except DomainConflict as exc:  # already claimed (who and since when), not allowed now
        messages.error(request, str(exc))
    else:
        messages.success(request, DONE[action])
    return redirect(_next(request, referral_id))
