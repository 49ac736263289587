"""The referral page: its patient, every clock, its whole history, interventions and
assessments, "Why this team?" (the stored routing decision), and a form for exactly the actions
this user may take now (`referrals.actions.actions_for`). Every action is a POST to
`referral_action`, which validates the form and calls the service function its registry entry
names (`referrals.transitions.ACTIONS`)."""

from __future__ import annotations

import io
import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from calls.selectors import patient_banner_for
from experience.selectors import feedback_options
from referrals.actions import ActionNotPermitted, ActorContext, actions_for
from referrals.bereavement import component_label, screen_done_message, screen_rows
from referrals.forms_bereavement import BereavementScreenForm
from referrals.forms_lifecycle import ActionForm
from referrals.models import Referral
from referrals.selectors import referrals_visible_to
from referrals.selectors.alerts import referral_alerts_waiting
from referrals.selectors.letters import gp_letter_shown, referral_letters
from referrals.selectors.queue import (
    ReferralPage,
    reassign_options,
    referral_page,
    route_options,
    team_must_be_chosen,
)
from referrals.services.bereavement import (
    NOT_PERMITTED,
    may_screen_bereavement,
    referral_bereavement_screen,
)
from referrals.transitions import ACTIONS, OPEN_STATUSES, Action
from services.codes import Need
from spoc.accounts.roles import WRITE_CLINICAL
from spoc.core.api import DomainConflict

# The actions the page posts: every registered action with a service (referrals/transitions.py).
PAGE_ACTIONS = {action: spec for action, spec in ACTIONS.items() if spec.service}


def _page_action(action: str) -> str:
    # An action without a form of its own is offered by another's (routing by hand by "route
    # again": a team chosen routes by hand, none sends it back to the ranker).
    return ACTIONS[action].page_as or action


def _form(action: str, referral: Referral | None, data: Any = None) -> ActionForm:
    """The action's form; the choices that depend on the referral come from selectors (a query
    only for the two actions that have them)."""
    options: list[tuple[Any, str]] | None = None
    kwargs: dict[str, Any] = {}
    if action == Action.REASSIGN and referral is not None:
        options = reassign_options(referral=referral)
    elif action == Action.COMPLETE and referral is not None:
        options = feedback_options(patient=referral.patient)
    elif action == Action.REROUTE:
        options = route_options()
        # Awaiting routing, the form routes by hand only: leaving the team empty is no choice.
        kwargs["team_required"] = referral is not None and team_must_be_chosen(referral)
    form_class: type[ActionForm] = PAGE_ACTIONS[action].form_class()
    return form_class(data, options=options, auto_id=f"id_{action}_%s", **kwargs)


def _page_or_404(request: HttpRequest, referral_id: int) -> ReferralPage:
    page = referral_page(user=request.user, referral_id=referral_id)
    if page is None:
        raise Http404("No such referral")
    return page


def _render(
    request: HttpRequest,
    page: ReferralPage,
    *,
    bound: ActionForm | BereavementScreenForm | None = None,
    bound_action: str = "",
    status: int = 200,
) -> HttpResponse:
    referral, screen = page.referral, page.screen
    bereavement = referral.need == Need.BEREAVEMENT_SUPPORT
    screen_form: BereavementScreenForm | None = None
    if bereavement and referral.status in OPEN_STATUSES:
        if isinstance(bound, BereavementScreenForm):
            screen_form = bound
        elif may_screen_bereavement(user=request.user, referral=referral):
            screen_form = BereavementScreenForm(
                initial_answers=screen.answers if screen is not None else None
            )
    actions: list[str] = []
    for action in actions_for(actor=ActorContext.of(request.user), referral=referral):
        action = _page_action(action)
        if action in PAGE_ACTIONS and action not in actions:
            actions.append(action)
    forms = [
        (
            action,
            Action(action).label,
            bound
            if action == bound_action and isinstance(bound, ActionForm)
            else _form(action, referral),
        )
        for action in actions
    ]
    decision = referral.routing_decision or {}
    return render(
        request,
        "referrals/detail.html",
        {
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
            "gp_letters": referral_letters(referral=page.referral, user=request.user),
            # An urgent alert nobody has acknowledged yet, when this user may (the button).
            "alerts_waiting": referral_alerts_waiting(referral=referral, user=request.user),
            "bereavement_referral": bereavement,
            "screen": screen,
            "screen_rows": screen_rows(screen),
            "screen_label": component_label(screen.component) if screen is not None else "",
            "screen_form": screen_form,
        },
        status=status,
    )


@login_required
def referral_detail(request: HttpRequest, referral_id: int) -> HttpResponse:
    return _render(request, _page_or_404(request, referral_id))


@login_required
@require_GET
def referral_letter(request: HttpRequest, referral_id: int, letter_id: int) -> FileResponse:
    """The PDF of a letter to the patient's GP practice about this referral (docs/interop.md,
    "The GP hears back"), as it was sent; 404 for a referral the user may not see."""
    letter = gp_letter_shown(user=request.user, referral_id=referral_id, letter_id=letter_id)
    if letter is None:
        raise Http404("No such letter")
    return FileResponse(
        io.BytesIO(bytes(letter.pdf)),
        content_type="application/pdf",
        filename=f"letter-{letter.letter_id}.pdf",
    )


def _next(request: HttpRequest, referral_id: int) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("queue:referral", args=[referral_id])


@login_required
@permission_required(WRITE_CLINICAL, raise_exception=True)
@require_POST
def referral_action(request: HttpRequest, referral_id: int, action: str) -> HttpResponse:
    """Take ``action``: its form, then its one service function. Field errors re-render the
    referral page with the form as typed (400); a conflict (already claimed, not allowed now)
    is said on the page the user came from."""
    if action not in PAGE_ACTIONS:
        raise Http404("Unknown action")
    return _take(request, referral_id, action)


# The actions a queue row offers (templates/queue/_rows.html): none needs more than the referral.
QUEUE_ROW_ACTIONS = (Action.CLAIM, Action.CONTACT, Action.RELEASE)
# A referral's id as a button sends it (at most 18 digits: a bigint).
REFERRAL_ID = re.compile(r"[0-9]{1,18}")


@login_required
@permission_required(WRITE_CLINICAL, raise_exception=True)
@require_POST
def queue_row_action(request: HttpRequest) -> HttpResponse:
    """An action taken from a row of the queue or the caseload, whose one form posts the button
    pressed: its name is the action, its value the referral's id. Then as `referral_action`;
    anything but one such button is refused with a message (400)."""
    pressed = [
        (action, request.POST[action]) for action in QUEUE_ROW_ACTIONS if action in request.POST
    ]
    if len(pressed) != 1 or not REFERRAL_ID.fullmatch(pressed[0][1]):
        return HttpResponseBadRequest(
            "Choose one action (claim, contact or release) for one referral, by its number."
        )
    action, referral_id = pressed[0]
    return _take(request, int(referral_id), action)


def _take(request: HttpRequest, referral_id: int, action: str) -> HttpResponse:
    """``action`` on the referral (one of PAGE_ACTIONS): see `referral_action`."""
    # The whole page is loaded only to show errors: a claim from the queue stays cheap.
    referral = None
    if action in (Action.REASSIGN, Action.REROUTE, Action.COMPLETE):
        referral = (
            referrals_visible_to(request.user)
            .select_related("patient")
            .filter(pk=referral_id)
            .first()
        )
        if referral is None:
            raise Http404("No such referral")
    form = _form(action, referral, request.POST)
    if not form.is_valid():
        return _render(
            request, _page_or_404(request, referral_id), bound=form, bound_action=action, status=400
        )
    try:
        PAGE_ACTIONS[action].service_function()(
            referral_id=referral_id, user=request.user, **form.service_kwargs()
        )
    except Referral.DoesNotExist as exc:
        raise Http404("No such referral") from exc
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        for field, field_errors in errors.items():
            for error in field_errors:
                form.add_error(field if field in form.fields else None, error)
        return _render(
            request, _page_or_404(request, referral_id), bound=form, bound_action=action, status=400
        )
    except ActionNotPermitted as exc:  # not this user's to take: a refusal, not a conflict
        raise PermissionDenied(str(exc)) from exc
    except DomainConflict as exc:  # already claimed (who and since when), not allowed now
        messages.error(request, str(exc))
    else:
        messages.success(request, PAGE_ACTIONS[action].done)
    return redirect(_next(request, referral_id))


@login_required
@permission_required(WRITE_CLINICAL, raise_exception=True)
@require_POST
def referral_bereavement_screen_answer(request: HttpRequest, referral_id: int) -> HttpResponse:
    """Answer a bereavement referral's risk screen (docs/triage.md, "Bereavement risk screen"):
    the form, then ``referral_bereavement_screen``. 404 for a referral the user may not see, 403
    for one whose screen is not theirs to answer; a missing answer re-renders the page with the
    form as answered (400); a referral that has no screen, or is closed, is said on the page."""
    page = _page_or_404(request, referral_id)
    if not may_screen_bereavement(user=request.user, referral=page.referral):
        raise PermissionDenied(NOT_PERMITTED)
    form = BereavementScreenForm(request.POST)
    if not form.is_valid():
        return _render(
            request,
            page,
            bound=form,
            bound_action="bereavement_screen",
            status=400,
        )
    try:
        referral = referral_bereavement_screen(
            referral_id=referral_id, user=request.user, answers=form.answers()
        )
    except Referral.DoesNotExist as exc:
        raise Http404("No such referral") from exc
    except ActionNotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    except DomainConflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, screen_done_message(referral))
    return redirect(reverse("queue:referral", args=[referral_id]))
