"""The coordinator board: what needs a coordinator now, refreshed by htmx polling. Its rows route
by hand or again through the referral page's action (`queue:action`, `reroute`), which comes back
here; a mistake is shown on the referral page with the error summary and what was typed. A
possible patient match is decided here (`possible_match_decision`), and a message that could not
be delivered is sent again (`outbox_message_resend`); the answer is said on the board."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from patients.models import PossibleMatch
from patients.names import display_name
from referrals.models import OutboxMessage
from referrals.selectors.board import board_version, coordinator_board
from referrals.services.electronic import possible_match_decide
from referrals.services.outbox import outbox_resend
from spoc.accounts.roles import WRITE_CLINICAL
from spoc.audit.context import is_poll
from spoc.core.api import DomainConflict
from spoc.core.forms import NhsFormMixin
from spoc.core.htmx import render_page

SAME_PERSON = "same_person"
DIFFERENT_PEOPLE = "different_people"


class PossibleMatchDecisionForm(NhsFormMixin, forms.Form):
    decision = forms.ChoiceField(
        choices=[(SAME_PERSON, "Same person: merge"), (DIFFERENT_PEOPLE, "Different people")]
    )


@login_required
@permission_required("accounts.coordinate", raise_exception=True)
def board_page(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    version = board_version(user=request.user, now=now)
    if is_poll(request) and request.headers.get("X-Board-Version") == version:
        return HttpResponse(status=204)
    board = coordinator_board(user=request.user, now=now)
    return render_page(
        request, "board/board.html", {"board": board, "version": version}, fragment="board"
    )


@login_required
@permission_required(["accounts.coordinate", WRITE_CLINICAL], raise_exception=True)
@require_POST
def possible_match_decision(request: HttpRequest, match_id: int) -> HttpResponse:
    """A coordinator's answer to a possible match, then back to the board with what happened: a
    match already decided (by someone else a moment ago) or a record that cannot be merged is
    said there, and nothing changes."""
    form = PossibleMatchDecisionForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Say whether they are the same person.")
    same_person = form.cleaned_data["decision"] == SAME_PERSON
    try:
        match = possible_match_decide(match_id=match_id, user=request.user, same_person=same_person)
    except PossibleMatch.DoesNotExist:
        messages.warning(
            request, "This possible match has already been decided: nothing was changed."
        )
    except DomainConflict as exc:
        messages.error(request, str(exc))
    else:
        known = display_name(match.candidate.given_name, match.candidate.family_name)
        if same_person:
            messages.success(
                request, f"Merged into the record of {known}: the referrals are on it now."
            )
        else:
            messages.success(
                request,
                f"Kept as two records: {match.patient_label} and {known} are different people.",
            )
    return redirect("board:board")


@login_required
@permission_required("accounts.coordinate", raise_exception=True)
@require_POST
def outbox_message_resend(request: HttpRequest, message_id: int) -> HttpResponse:
    """A coordinator's "send again" for a message that could not be delivered, once the
    receiving system is back or its endpoint is put right; then back to the board."""
    try:
        message = outbox_resend(message_id=message_id, user=request.user)
    except OutboxMessage.DoesNotExist:
        messages.warning(request, "There is no such message to send again: nothing was changed.")
    except DomainConflict as exc:
        messages.warning(request, f"{exc} Nothing was changed.")
    else:
        messages.success(
            request,
            f"{message.get_kind_display()}: it will be sent again within a minute, and what "
            "waited behind it after it.",
        )
    return redirect("board:board")
