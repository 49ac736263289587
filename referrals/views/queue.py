"""The nurse's worklists: the team queue (refreshed by htmx polling, with a banner while urgent
referrals wait to be claimed), her own caseload and the printable queue. Actions are posted to
the referral page's action view (`workspace.views.referrals.referral_action`)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from referrals.codes import ReferralOutcome
from referrals.forms_lifecycle import QueueFilterForm
from referrals.selectors.queue import (
    QUEUE_LIMIT,
    caseload_for,
    team_queue,
    team_queue_state,
)
from rota.selectors import on_duty
from services.models import Team
from services.selectors import teams_of
from spoc.audit.context import is_poll, is_polled_fragment
from spoc.audit.models import AccessLog
from spoc.core.htmx import render_page


def _row_links() -> dict[str, str]:
    """The links of a worklist's rows as the start of a URL to which a row adds its id and "/"
    (``patients:detail`` and ``queue:referral`` both end so): a page of rows reverses each once,
    not once per row."""
    return {
        name: reverse(url_name, args=[0]).removesuffix("0/")
        for name, url_name in (
            ("patient_url", "patients:detail"),
            ("referral_url", "queue:referral"),
        )
    }


def _team(request: HttpRequest, team_id: int | None) -> tuple[list[Team], Team | None]:
    """The user's teams, and the one asked for (her first when none is): None when she has no
    team or it is not one of hers."""
    teams = teams_of(user=request.user)
    if team_id is None:
        return teams, teams[0] if teams else None
    return teams, next((t for t in teams if t.pk == team_id), None)


@login_required
@permission_required("accounts.work_team_queue", raise_exception=True)
def queue_page(request: HttpRequest, team_id: int | None = None) -> HttpResponse:
    teams, team = _team(request, team_id)
    if team is None:
        if request.headers.get("HX-Request"):
            # The open tab of a nurse who has left the team: its block says so, stops polling
            # and empties the urgent banner, instead of keeping rows no longer hers to see.
            return render(request, "queue/_left_team.html", {"teams": teams})
        if teams:
            raise Http404("Not one of your teams")
        return render(request, "queue/queue.html", {"teams": [], "team": None})
    now = timezone.now()
    # Every open tab of the team polls: in the same second they read its state once, and after
    # each change the first reads the rows and the others, on any web process, take them
    # (referrals.selectors.queue).
    polled = is_polled_fragment(request)
    state = team_queue_state(user=request.user, team=team, now=now, reuse=polled)
    version = state.version
    # A poll whose version has not changed gets an empty 204: the page keeps its place.
    if is_poll(request) and request.headers.get("X-Queue-Version") == version:
        return HttpResponse(status=204)
    filter_form = QueueFilterForm(request.GET)
    filters = filter_form.filters()
    query = urlencode({name: value for name, value in filters.items() if value})
    queue = team_queue(
        user=request.user,
        team=team,
        now=now,
        status=filters["status"],
        priority=filters["priority"],
        need=filters["need"],
        flag=filters["flag"],
        state=state,
        shown=AccessLog.Action.LIST,
        reuse=polled,
    )
    context = {
        "teams": teams,
        "team": team,
        "queue": queue,
        "rows": queue.rows,
        "now": now,
        "version": version,
        "limit": QUEUE_LIMIT,
        "urgent": state.urgent_waiting,
        "urgent_count": state.urgent_count,
        "urgent_version": state.urgent_version,
        # An htmx answer redraws the urgent banner only when the urgent referrals waiting
        # are not those the page shows, so a screen reader announces it once per change.
        "urgent_changed": (
            bool(request.headers.get("HX-Request"))
            and request.headers.get("X-Queue-Urgent") != state.urgent_version
        ),
        "outcomes": ReferralOutcome.choices,
        "filter_form": filter_form,
        "filtered": bool(query),
        "query": f"?{query}" if query else "",
        # Who is on duty, above the polled fragment: read for the whole page only (two queries).
        "on_duty": (
            []
            if request.headers.get("HX-Request")
            else on_duty(team_ids=[team.pk], at=now).get(team.pk, [])
        ),
        **_row_links(),
    }
    return render_page(request, "queue/queue.html", context, fragment="queue")


@login_required
@permission_required("accounts.work_team_queue", raise_exception=True)
def caseload_page(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    rows = caseload_for(user=request.user, now=now)
    return render(
        request,
        "queue/caseload.html",
        {"rows": rows, "now": now, "outcomes": ReferralOutcome.choices, **_row_links()},
    )


@login_required
@permission_required("accounts.work_team_queue", raise_exception=True)
def queue_print(request: HttpRequest, team_id: int) -> HttpResponse:
    """Today's open referrals of one team, for paper (a fallback when systems are down): an
    export, so it is access-logged with its row count."""
    _, team = _team(request, team_id)
    if team is None:
        raise Http404("Not one of your teams")
    now = timezone.now()
    queue = team_queue(
        user=request.user, team=team, now=now, limit=None, shown=AccessLog.Action.EXPORT
    )
    return render(
        request, "queue/print.html", {"team": team, "queue": queue, "rows": queue.rows, "now": now}
    )
