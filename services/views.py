from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from services import selectors
from services.codes import Need
from services.forms import (
    CapacityForm,
    ClosureForm,
    DirectorySearchForm,
    ServiceForm,
    WindowFormSet,
)
from services.hours import is_open, next_opening
from services.models import Service
from services.ranking import CAPACITY_STALE_AFTER, winner
from services.services import (
    capacity_report,
    closure_create,
    closure_delete,
    coverage_areas_parse,
    service_update,
)
from spoc.core.htmx import render_page
from spoc.core.replica import replica_reads


@replica_reads
@login_required
def directory_search(request: HttpRequest) -> HttpResponse:
    form = DirectorySearchForm(request.GET or None)
    ranked: list[Any] = []
    services: dict[int, Service] = {}
    searched_at = None
    if form.is_valid():
        searched_at = form.search_at()
        data = form.cleaned_data
        ranked, services = selectors.directory_rank(
            need=data["need"],
            priority=data["priority"],
            at=searched_at,
            postcode=data["postcode"] or None,
            site_id=data["site"].pk if data["site"] else None,
            age=data["age"],
            referrer_type=data["referrer_type"] or None,
        )
    # The service routing would pick from this ranking, marked on the page: the same rule.
    best = winner(ranked, with_intake_team=selectors.services_with_intake_team(services))
    context = {
        "form": form,
        "winner_id": best.candidate.id if best is not None else None,
        "eligible": [(r, services[r.candidate.id]) for r in ranked if r.eligible],
        "excluded": [(r, services[r.candidate.id]) for r in ranked if not r.eligible],
        "searched_at": searched_at,
        "need_label": Need(form.cleaned_data["need"]).label if searched_at else "",
        "now": timezone.now(),
    }
    return render_page(request, "services/directory_search.html", context, fragment="results")


def _service_or_404(service_id: int) -> Service:
    try:
        return selectors.service_detail(service_id=service_id, at=timezone.now())
    except Service.DoesNotExist as exc:
        raise Http404("No such service") from exc


def _form_errors_from(form: Any, exc: ValidationError, *, default_field: str | None = None) -> None:
    """A service's ValidationError on the form's fields (else on ``default_field``, or the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else default_field, errors)
    else:
        form.add_error(default_field, exc.messages)


def _service_page(
    request: HttpRequest, service: Service, *, capacity_form: CapacityForm | None = None
) -> HttpResponse:
    now = timezone.now()
    schedule = selectors.service_schedule(service, at=now)
    capacity = selectors.service_capacity(service)
    return render(
        request,
        "services/service_page.html",
        {
            "service": service,
            "open_now": is_open(schedule, now),
            "next_opening": next_opening(schedule, now),
            "capacity": capacity,
            "capacity_stale": capacity is not None
            and now - capacity.reported_at > CAPACITY_STALE_AFTER,
            "capacity_history": selectors.capacity_history(service=service),
            "can_report_capacity": selectors.team_leads_can_report_capacity(
                user=request.user, service=service
            ),
            "capacity_form": capacity_form or CapacityForm(),
        },
    )


@login_required
def service_page(request: HttpRequest, service_id: int) -> HttpResponse:
    return _service_page(request, _service_or_404(service_id))


def _edit_page(
    request: HttpRequest,
    service: Service,
    *,
    form: ServiceForm | None = None,
    hours: Any = None,
    closure_form: ClosureForm | None = None,
) -> HttpResponse:
    """The edit page; a form posted with errors is drawn as typed, with the error summary (200,
    as the directory's pages always answered a form in error)."""
    if form is None:
        coverage_initial = ", ".join(a.area for a in service.coverage_areas.all())
        form = ServiceForm(instance=service, initial={"coverage": coverage_initial})
    if hours is None:
        initial_windows = [
            {"weekday": h.weekday, "opens": h.opens_at, "closes": h.closes_at}
            for h in service.opening_hours.all()
        ]
        hours = WindowFormSet(initial=initial_windows, prefix="hours")
    return render(
        request,
        "services/service_edit.html",
        {
            "service": service,
            "form": form,
            "hours": hours,
            "closure_form": closure_form or ClosureForm(),
            "closures": service.closures.all(),
        },
    )


@login_required
@permission_required("accounts.manage_directory", raise_exception=True)
def service_edit(request: HttpRequest, service_id: int) -> HttpResponse:
    service = _service_or_404(service_id)
    if request.method != "POST":
        return _edit_page(request, service)
    form = ServiceForm(request.POST, instance=service)
    hours = WindowFormSet(request.POST, prefix="hours")
    if form.is_valid() & hours.is_valid():
        windows = [
            f.window() for f in hours.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        try:
            areas = coverage_areas_parse(form.cleaned_data["coverage"])
            service_update(
                service=service,
                user=request.user,
                data=form.cleaned_data,
                areas=areas,
                sites=form.cleaned_data["sites"],
                windows=windows,
                open_24_7=form.cleaned_data["open_24_7"],
            )
        except ValidationError as exc:
            # The areas' parser names no field: its message is about the coverage.
            _form_errors_from(
                form, exc, default_field=None if hasattr(exc, "error_dict") else "coverage"
            )
        else:
            messages.success(request, f"{service.name} saved.")
            return redirect("services:service", service_id=service.pk)
    # A failed save rolled back; the instance may hold the typed values: draw the page from the
    # database's, with the form as typed.
    service = _service_or_404(service_id)
    return _edit_page(request, service, form=form, hours=hours)


@login_required
@permission_required("accounts.manage_directory", raise_exception=True)
@require_POST
def closure_add(request: HttpRequest, service_id: int) -> HttpResponse:
    service = _service_or_404(service_id)
    form = ClosureForm(request.POST)
    if form.is_valid():
        try:
            closure_create(service=service, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors_from(form, exc)
        else:
            messages.success(request, "Closure added.")
            return redirect("services:edit", service_id=service.pk)
    return _edit_page(request, service, closure_form=form)


@login_required
@permission_required("accounts.manage_directory", raise_exception=True)
@require_POST
def closure_remove(request: HttpRequest, service_id: int, closure_id: int) -> HttpResponse:
    service = _service_or_404(service_id)
    closure_delete(service=service, user=request.user, closure_id=closure_id)
    messages.success(request, "Closure removed.")
    return redirect("services:edit", service_id=service.pk)


@login_required
@require_POST
def capacity_update(request: HttpRequest, service_id: int) -> HttpResponse:
    service = _service_or_404(service_id)
    if not selectors.team_leads_can_report_capacity(user=request.user, service=service):
        raise PermissionDenied("Only a lead of this service's team can update its capacity.")
    form = CapacityForm(request.POST)
    if form.is_valid():
        try:
            capacity_report(
                service=service,
                user=request.user,
                rag=form.cleaned_data["rag"],
                units=form.cleaned_data["units"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            _form_errors_from(form, exc)
        else:
            messages.success(
                request, f"Capacity of {service.name} recorded as {form.cleaned_data['rag']}."
            )
            return redirect("services:service", service_id=service.pk)
    return _service_page(request, service, capacity_form=form)


@login_required
def service_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    rows = []
    for service in selectors.services_with_directory_data(at=now):
        schedule = selectors.service_schedule(service, at=now)
        rows.append((service, is_open(schedule, now), selectors.service_capacity(service)))
    return render(request, "services/service_list.html", {"rows": rows, "now": now})
