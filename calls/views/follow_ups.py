"""The follow-ups of calls that advised 999 or transferred the caller: the coordinators' list, and
recording what happened (docs/patients-and-calls.md, "Follow-ups")."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from calls.forms import CallFollowUpForm
from calls.models import CallFollowUp
from calls.selectors import follow_ups_pending
from calls.services.follow_ups import FollowUpAlreadyRecorded, call_follow_up_record
from spoc.accounts.roles import WRITE_CLINICAL


def _form_id(follow_up_id: int) -> str:
    return f"id_follow_up_{follow_up_id}_%s"


@login_required
@permission_required("accounts.coordinate", raise_exception=True)
def follow_ups_list(request: HttpRequest) -> HttpResponse:
    return _follow_ups_page(request)


def _follow_ups_page(
    request: HttpRequest,
    *,
    bound: CallFollowUpForm | None = None,
    bound_id: int = 0,
    status: int = 200,
) -> HttpResponse:
    """The follow-ups to confirm, overdue first, each with its form; ``bound``: the one just posted
    with an error, shown as typed with the error summary."""
    pending, total = follow_ups_pending(user=request.user)
    rows = [
        (
            follow_up,
            bound
            if bound is not None and follow_up.pk == bound_id
            else CallFollowUpForm(auto_id=_form_id(follow_up.pk)),
        )
        for follow_up in pending
    ]
    return render(
        request,
        "calls/follow_ups.html",
        {"rows": rows, "total": total, "bound": bound, "now": timezone.now()},
        status=status,
    )


@login_required
@permission_required(["accounts.coordinate", WRITE_CLINICAL], raise_exception=True)
@require_POST
def follow_up_record(request: HttpRequest, follow_up_id: int) -> HttpResponse:
    """Record what happened after the call (the outcome is required), then back to the list."""
    form = CallFollowUpForm(request.POST, auto_id=_form_id(follow_up_id))
    if form.is_valid():
        try:
            call_follow_up_record(follow_up_id=follow_up_id, user=request.user, **form.cleaned_data)
        except CallFollowUp.DoesNotExist as exc:
            raise Http404("No such follow-up") from exc
        except FollowUpAlreadyRecorded as exc:
            messages.info(request, str(exc))
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "Follow-up recorded.")
    if form.errors:
        return _follow_ups_page(request, bound=form, bound_id=follow_up_id, status=400)
    return redirect("calls:follow-ups")
