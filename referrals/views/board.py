"""The coordinator board: what needs a coordinator now, refreshed by htmx polling, with routing
by hand and routing again on the page (the other actions are on the referral page)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from referrals.models import Referral
from referrals.selectors_board import board_version, coordinator_board
from referrals.services.lifecycle import referral_reroute
from spoc.accounts.middleware import is_poll
from spoc.accounts.roles import WRITE_CLINICAL
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record
from spoc.core.api import DomainConflict


@login_required
@permission_required("accounts.coordinate", raise_exception=True)
def board_page(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    version = board_version(user=request.user, now=now)
    if is_poll(request) and request.headers.get("X-Board-Version") == version:
        return HttpResponse(status=204)
    board = coordinator_board(user=request.user, now=now)
    if not is_poll(request):
        access_log_record(action=AccessLog.Action.VIEW, user=request.user, object_type="coordinator_board",
                          object_id="", patient_id=None, request=request,
                          detail={"referrals": board.total})
    template = "board/board.html"
    if request.headers.get("HX-Request"):
        template += "#board"
    return render(request, template, {"board": board, "version": version})


@login_required
@permission_required(["accounts.coordinate", WRITE_CLINICAL], raise_exception=True)
@require_POST
def board_route(request: HttpRequest, referral_id: int) -> HttpResponse:
    """Route by hand to the chosen team, or (no team) back to the ranker; a reason either way."""
    raw_team = request.POST.get("team_id", "")
    try:
        team_id = int(raw_team) if raw_team else None
        referral = referral_reroute(referral_id=referral_id, user=request.user,
                                    reason=request.POST.get("reason", ""), team_id=team_id)
    except Referral.DoesNotExist as exc:
        raise Http404("No such referral") from exc
    except ValueError:
        messages.error(request, "Choose a team from the list.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except DomainConflict as exc:
        messages.error(request, str(exc))
    else:
        where = referral.team.name if referral.team else "the ranker"
        messages.success(request, f"REF-{referral.pk:06d} sent to {where}.")
    return redirect("board:board")
