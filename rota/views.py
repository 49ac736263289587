"""The duty rota's pages: the teams' rotas, a team's rota (this week and next, who is on duty now,
the gaps), and the forms its leads and the SPOC coordinators change it with."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from rota import selectors
from rota.forms import CancelShiftForm, EndPatternForm, ExtraShiftForm, PatternForm, RotaImportForm
from rota.imports import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, RotaImportInvalid
from rota.models import ShiftChange, ShiftPattern
from rota.occurrences import weekdays_of
from rota.services import (
    rota_import_csv,
    shift_change_remove,
    shift_extra_add,
    shift_occurrence_cancel,
    shift_pattern_create,
    shift_pattern_end,
    shift_pattern_update,
)
from services.models import Team


def _form_errors_from(form: Any, exc: ValidationError) -> None:
    """A service's ValidationError on the form's fields (else on the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _posted(request: HttpRequest) -> Any:
    """The posted data, or None for a GET (an unbound form): an empty POST is still checked."""
    return request.POST if request.method == "POST" else None


def _readable_team(request: HttpRequest, team_id: int) -> Team:
    if not selectors.rota_readable_by(request.user, team_id=team_id):
        if not Team.objects.filter(pk=team_id).exists():
            raise Http404("No such team")
        raise PermissionDenied("You may not read this team's rota.")
    try:
        return selectors.rota_team(team_id=team_id)
    except Team.DoesNotExist:
        raise Http404("No such team") from None


def _editable_team(request: HttpRequest, team_id: int) -> Team:
    if not selectors.rota_editable_by(request.user, team_id=team_id):
        raise PermissionDenied("Only the team's leads and the SPOC coordinators change its rota.")
    try:
        return selectors.rota_team(team_id=team_id)
    except Team.DoesNotExist:
        raise Http404("No such team") from None


def _pattern(request: HttpRequest, pattern_id: int) -> ShiftPattern:
    pattern = ShiftPattern.objects.select_related("team", "user").filter(pk=pattern_id).first()
    if pattern is None:
        raise Http404("No such shift pattern")
    _editable_team(request, pattern.team_id)
    return pattern


@login_required
@require_GET
def rota_index(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    teams = selectors.rota_teams_for(user=request.user, at=now)
    if not teams and not selectors.rota_reads_every_team(request.user):
        raise PermissionDenied("Your role does not read the duty rota.")
    return render(request, "rota/index.html", {"teams": teams, "now": now})


@login_required
@require_GET
def rota_team_page(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _readable_team(request, team_id)
    now = timezone.now()
    page = selectors.rota_page(team_id=team.pk, now=now)
    can_edit = selectors.rota_editable_by(request.user, team_id=team.pk)
    context = {
        "rota": page,
        "team": page.team,
        "now": now,
        "can_edit": can_edit,
        "patterns": selectors.rota_patterns(team_id=team.pk, today=timezone.localdate()),
        "changes": selectors.rota_changes_ahead(team_id=team.pk, now=now) if can_edit else [],
        "end_form": EndPatternForm(),
    }
    return render(request, "rota/team.html", context)


def _pattern_page(
    request: HttpRequest, team: Team, form: PatternForm, pattern: ShiftPattern | None = None
) -> HttpResponse:
    return render(
        request, "rota/pattern_form.html", {"team": team, "form": form, "pattern": pattern}
    )


@login_required
def pattern_add(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _editable_team(request, team_id)
    people = selectors.rota_people(team_id=team.pk)
    if request.method != "POST":
        form = PatternForm(
            people=people,
            initial={"valid_from_date": timezone.localdate(), "runs_on_bank_holidays": True},
        )
        return _pattern_page(request, team, form)
    form = PatternForm(request.POST, people=people)
    if form.is_valid():
        try:
            shift_pattern_create(team_id=team.pk, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors_from(form, exc)
        else:
            messages.success(request, "Shift pattern added.")
            return redirect("rota:team", team_id=team.pk)
    return _pattern_page(request, team, form)


@login_required
def pattern_edit(request: HttpRequest, pattern_id: int) -> HttpResponse:
    pattern = _pattern(request, pattern_id)
    team = pattern.team
    people = selectors.rota_people(team_id=team.pk)
    if request.method != "POST":
        form = PatternForm(
            people=people,
            initial={
                "person_id": pattern.user_id,
                "role": pattern.role,
                "phone": pattern.phone.as_national if pattern.phone else "",
                "weekdays": list(weekdays_of(pattern.weekdays)),
                "start_time": pattern.start_time,
                "end_time": pattern.end_time,
                "valid_from_date": pattern.valid_from_date,
                "valid_until_date": pattern.valid_until_date,
                "runs_on_bank_holidays": pattern.runs_on_bank_holidays,
            },
        )
        return _pattern_page(request, team, form, pattern)
    form = PatternForm(request.POST, people=people)
    if form.is_valid():
        try:
            shift_pattern_update(pattern_id=pattern.pk, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors_from(form, exc)
        else:
            messages.success(request, "Shift pattern saved.")
            return redirect("rota:team", team_id=team.pk)
    return _pattern_page(request, team, form, pattern)


@login_required
@require_POST
def pattern_end(request: HttpRequest, pattern_id: int) -> HttpResponse:
    pattern = _pattern(request, pattern_id)
    form = EndPatternForm(request.POST)
    if form.is_valid():
        try:
            shift_pattern_end(
                pattern_id=pattern.pk, user=request.user, last_date=form.cleaned_data["last_date"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "The pattern's last day is set.")
    else:
        messages.error(request, " ".join(str(m) for errors in form.errors.values() for m in errors))
    return redirect("rota:team", team_id=pattern.team_id)


def _occurrence_date(request: HttpRequest) -> date:
    raw = request.POST.get("date") or request.GET.get("date") or ""
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Http404("Say which day's shift, as ?date=YYYY-MM-DD") from None


@login_required
def occurrence_cancel(request: HttpRequest, pattern_id: int) -> HttpResponse:
    pattern = _pattern(request, pattern_id)
    day = _occurrence_date(request)
    people = selectors.rota_people(team_id=pattern.team_id)
    form = CancelShiftForm(_posted(request), people=people)
    if request.method == "POST" and form.is_valid():
        try:
            shift_occurrence_cancel(
                pattern_id=pattern.pk, occurrence_date=day, user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            _form_errors_from(form, exc)
        else:
            replaced = form.cleaned_data.get("person_id") is not None
            messages.success(request, "Shift replaced." if replaced else "Shift cancelled.")
            return redirect("rota:team", team_id=pattern.team_id)
    return render(
        request,
        "rota/cancel_form.html",
        {"team": pattern.team, "pattern": pattern, "day": day, "form": form},
    )


@login_required
def extra_add(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _editable_team(request, team_id)
    people = selectors.rota_people(team_id=team.pk)
    form = ExtraShiftForm(_posted(request), people=people)
    if request.method == "POST" and form.is_valid():
        try:
            shift_extra_add(team_id=team.pk, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors_from(form, exc)
        else:
            messages.success(request, "Extra shift added.")
            return redirect("rota:team", team_id=team.pk)
    return render(request, "rota/extra_form.html", {"team": team, "form": form})


@login_required
@require_POST
def change_remove(request: HttpRequest, change_id: int) -> HttpResponse:
    change = ShiftChange.objects.filter(pk=change_id).first()
    if change is None:
        raise Http404("No such change")
    _editable_team(request, change.team_id)
    shift_change_remove(change_id=change.pk, user=request.user)
    messages.success(request, "Change undone.")
    return redirect("rota:team", team_id=change.team_id)


@login_required
def rota_import(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _editable_team(request, team_id)
    form = RotaImportForm(_posted(request), request.FILES if request.method == "POST" else None)
    problems: list[Any] = []
    if request.method == "POST" and form.is_valid():
        try:
            created = rota_import_csv(
                team_id=team.pk, user=request.user, data=form.cleaned_data["file"].read()
            )
        except RotaImportInvalid as exc:
            problems = exc.problems
            form.add_error("file", "The file has problems: nothing was imported. See the list.")
        else:
            messages.success(
                request, f"{len(created)} shift pattern{'s' if len(created) != 1 else ''} imported."
            )
            return redirect("rota:team", team_id=team.pk)
    return render(
        request,
        "rota/import.html",
        {
            "team": team,
            "form": form,
            "problems": problems,
            "required": REQUIRED_COLUMNS,
            "optional": OPTIONAL_COLUMNS,
        },
    )
