"""The coordinator board: what needs a coordinator now, refreshed by htmx polling. Its rows route
by hand or again through the referral page's action (`queue:action`, `reroute`), which comes back
here; a mistake is shown on the referral page with the error summary and what was typed."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from referrals.selectors.board import board_version, coordinator_board
from spoc.audit.context import is_poll
from spoc.core.htmx import render_page


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
