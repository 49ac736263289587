"""The feedback form behind a text's link (docs/security.md, "The feedback form"): no sign-in,
one answer per link, nothing about the patient on the page. An answered, expired, cancelled or
unknown link gets the same page and status, so the page never tells whether a link existed."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from experience.forms import BereavedSurveyForm, FftForm
from experience.models import Invitation
from experience.selectors import invitation_open
from experience.services import InvitationClosed, answer_submit
from spoc.core.throttles import FeedbackFormThrottle


def _closed(request: HttpRequest) -> HttpResponse:
    return render(request, "experience/closed.html", status=404)


@never_cache
@require_http_methods(["GET", "POST"])
def feedback_form(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the questions of the link's invitation; POST: its answers, once, then the thanks
    page (POST-redirect-GET)."""
    if not FeedbackFormThrottle().allow_request(request, None):
        return render(request, "experience/too_many.html", status=429)
    invitation = invitation_open(token=token, now=timezone.now())
    if invitation is None:
        return _closed(request)
    form_class = FftForm if invitation.kind == Invitation.Kind.FFT else BereavedSurveyForm
    form = form_class(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            answer_submit(token=token, **form.cleaned_data)
        except InvitationClosed:
            return _closed(request)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(name if name in form.fields else None, error)
        else:
            return redirect("feedback:thanks")
    return render(
        request,
        "experience/form.html",
        {"form": form, "survey": invitation.kind == Invitation.Kind.BEREAVED},
        status=400 if form.errors else 200,
    )


@never_cache
@require_GET
def feedback_thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "experience/thanks.html")
