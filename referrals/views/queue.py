"""Team queues: the specialist nurse's worklist, refreshed by htmx polling."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from referrals.codes import ReferralOutcome
from referrals.models import Referral
from referrals.selectors_queue import team_queue, team_queue_version, teams_for_queue
from referrals.services.claims import (
    ReferralAlreadyClaimed,
    referral_claim,
    referral_complete,
    referral_contact,
    referral_release,
)
from spoc.accounts.middleware import is_poll
from spoc.core.api import DomainConflict


@login_required
@permission_required("accounts.work_team_queue", raise_exception=True)
def queue_page(request: HttpRequest, team_id: int | None = None) -> HttpResponse:
    teams = list(teams_for_queue(user=request.user))
    if not teams:
        return render(request, "queue/queue.html", {"teams": [], "team": None})
    team = next((t for t in teams if t.pk == team_id), None) if team_id else teams[0]
    if team is None:
        raise Http404("Not one of your teams")
    version = team_queue_version(user=request.user, team=team)
    # A poll whose version has not changed gets an empty 204: the page keeps its place.
    if is_poll(request) and request.headers.get("X-Queue-Version") == version:
        return HttpResponse(status=204)
    now = timezone.now()
    context = {"teams": teams, "team": team, "rows": team_queue(user=request.user, team=team, now=now),
               "now": now, "version": version, "outcomes": ReferralOutcome.choices}
    template = "queue/queue.html"
    if request.headers.get("HX-Request"):
        template += "#queue"
    return render(request, template, context)


def _act(request: HttpRequest, referral_id: int, action: str) -> HttpResponse:
    try:
        if action == "claim":
            referral = referral_claim(referral_id=referral_id, user=request.user)
            messages.success(request, f"You have claimed the referral for {referral.patient}.")
        elif action == "release":
            referral_release(referral_id=referral_id, user=request.user)
            messages.success(request, "Released to the team's queue.")
        elif action == "contact":
            referral_contact(referral_id=referral_id, user=request.user)
            messages.success(request, "First contact recorded.")
        elif action == "complete":
            referral_complete(referral_id=referral_id, user=request.user,
                              outcome=request.POST.get("outcome", ""))
            messages.success(request, "Referral completed.")
    except Referral.DoesNotExist as exc:
        raise Http404("No such referral") from exc
    except ReferralAlreadyClaimed as exc:
        messages.error(request, str(exc))
    except (DomainConflict, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = ""
    return redirect(target or "queue:mine")


@login_required
@permission_required("accounts.work_team_queue", raise_exception=True)
@require_POST
def referral_action(request: HttpRequest, referral_id: int, action: str) -> HttpResponse:
    if action not in {"claim", "release", "contact", "complete"}:
        raise Http404("Unknown action")
    return _act(request, referral_id, action)
