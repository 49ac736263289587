"""The call screen (docs/design.md §1, §4): find or register the patient, triage with a live
suggestion, choose needs, end the call. One submit saves everything (call_submit)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from calls.forms import (
    CallBackAttemptForm,
    CallBackDoneForm,
    CallForm,
    SeniorReviewForm,
    TriageForm,
    need_consent_field_name,
    need_for_field_name,
    need_note_field_name,
    need_override_field_name,
    need_priority_field_name,
)
from calls.models import Call, CallBack, TelephonyCall
from calls.selectors import (
    call_backs_pending,
    call_shown,
    calls_awaiting_review,
    open_referrals_for_needs,
    patient_banner_for,
    recent_calls_for_handler,
)
from calls.selectors.telephony import (
    call_back_number,
    call_back_to_make,
    phone_matches,
    telephony_call_to_record,
)
from calls.services.intake import (
    CallInput,
    NeedRequest,
    call_submit,
    carer_assessed,
    phase_recordable_by,
)
from calls.services.reviews import call_back_complete, call_senior_review
from calls.services.telephony import CallBackClosed, call_back_attempt_record
from calls.telephony import national
from calls.triage import (
    CarerAssessed,
    InvalidTriage,
    Suggestion,
    TriageInput,
    suggest_need_priority,
    suggest_priority,
)
from patients.selectors import patient_shown
from referrals.access import visible_patients
from referrals.selectors import referrals_visible_to
from services.codes import Need
from services.selectors import spoc_hours
from spoc.accounts.roles import WRITE_CLINICAL
from spoc.core.htmx import render_page


def _patient_panel_context(
    request: HttpRequest, patient_id: int | None, *, shown: bool = False
) -> dict[str, Any]:
    """The patient panel; ``shown``: this request shows the patient to the handler (a read of
    their record, access-logged), not a redraw while the call is being typed."""
    if not patient_id:
        return {"patient": None, "people": []}
    patient = (
        patient_shown(
            patients=visible_patients(request),
            patient_id=patient_id,
            detail={"from": "call screen"},
        )
        if shown
        else visible_patients(request).filter(pk=patient_id).first()
    )
    if patient is None:
        return {"patient": None, "people": []}
    open_by_need = open_referrals_for_needs(patient_id=patient.pk, needs=list(Need.values))
    return {
        "patient": patient,
        "banner": patient_banner_for(patient=patient),
        "open_by_need": {need: refs for need, refs in open_by_need.items() if refs},
        # Whom carer and bereavement support may be for (docs/patients-and-calls.md).
        "people": list(patient.related_people.all()),
    }


def _call_input(form: CallForm, suggested: str) -> CallInput:
    data = form.cleaned_data
    needs = tuple(
        NeedRequest(
            need=need,
            note=data.get(need_note_field_name(need), ""),
            priority=data.get(need_priority_field_name(need)) or None,
            override_reason=data.get(need_override_field_name(need), ""),
            for_person_id=data.get(need_for_field_name(need)),
            for_person_consent=bool(data.get(need_consent_field_name(need))),
        )
        for need in data["needs"]
    )
    return CallInput(
        received_at=data["received_at"],
        ended_at=timezone.now(),
        direction="OUTBOUND" if data["call_back"] else "INBOUND",
        caller_type=data["caller_type"],
        caller_name=data["caller_name"],
        caller_phone=str(data["caller_phone"]) if data["caller_phone"] else "",
        caller_organisation=data["caller_organisation"],
        caller_relationship=data["caller_relationship"],
        patient_id=data["patient"],
        reason=data["reason"],
        notes=data["notes"],
        phase=data.get("phase") or None,
        ipos=form.ipos_scores(),
        akps=None,
        red_flags=data["red_flags"],
        carer_coping=data["carer_coping"] or None,
        patient_location=data["patient_location"] or None,
        patient_site_id=data["patient_site"].pk if data["patient_site"] else None,
        chosen_priority=data["chosen_priority"] or suggested,
        override_reason=data["override_reason"],
        disposition=data["disposition"],
        needs=needs,
        callback_due_at=data["callback_due_at"],
        callback_note=data["callback_note"],
        idempotency_key=data["idempotency_key"],
        telephony_call_id=data["telephony_call"],
        call_back_id=data["call_back"],
    )


def _triage_input(data: dict[str, Any], ipos: dict[str, int]) -> TriageInput:
    return TriageInput(
        phase=data.get("phase") or None,
        ipos=ipos,
        red_flags=data.get("red_flags"),
        carer_coping=data.get("carer_coping") or None,
        reason=data.get("reason") or None,
        patient_location=data.get("patient_location") or None,
    )


def _suggestion(data: dict[str, Any], ipos: dict[str, int]) -> Any:
    return suggest_priority(_triage_input(data, ipos))


def _need_suggestions(
    data: dict[str, Any], ipos: dict[str, int], *, carer: CarerAssessed | None = None
) -> list[tuple[str, Suggestion | None]]:
    """(need code, its suggestion) for every need, in the code list's order; no suggestion when
    the triage answers cannot be judged yet. ``carer``: what the assessment of the carer that
    carer support is for says (``carer_assessed``)."""
    try:
        triage = _triage_input(data, ipos)
    except InvalidTriage:
        return [(need, None) for need in Need.values]
    return [(need, suggest_need_priority(triage, need, carer=carer)) for need in Need.values]


def _need_rows(form: CallForm) -> list[dict[str, Any]]:
    """Each need's checkbox, note, priority select, reason and suggestion, for the needs part."""
    data = getattr(form, "cleaned_data", {})
    suggestions = (
        dict(
            _need_suggestions(
                data,
                form.ipos_scores(),
                carer=carer_assessed(
                    patient_id=data.get("patient"),
                    person_id=data.get(need_for_field_name(Need.CARER_SUPPORT)),
                ),
            )
        )
        if form.is_bound
        else {}
    )
    return [
        {
            "need": need,
            "box": box,
            "note": note,
            "priority": priority,
            "reason": reason,
            "suggestion": suggestions.get(need),
            "for_fields": form.need_for_fields(need),
        }
        for need, box, note, priority, reason in form.need_choices()
    ]


@login_required
@permission_required(["accounts.take_calls", WRITE_CLINICAL], raise_exception=True)
def call_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = CallForm(request.POST, clinician=phase_recordable_by(request.user))
        if form.is_valid():
            try:
                suggested = _suggestion(form.cleaned_data, form.ipos_scores()).priority
                result = call_submit(
                    data=_call_input(form, suggested), user=request.user, request=request
                )
            except InvalidTriage as exc:
                form.add_error(None, str(exc))
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    target = {"patient_id": "patient", "patient_site_id": "patient_site"}.get(
                        field, field
                    )
                    form.add_error(target if target in form.fields else None, errors)
            else:
                if not result.created:
                    messages.info(request, "This call was already saved; nothing was added twice.")
                else:
                    messages.success(
                        request,
                        f"Call saved with {len(result.referrals)} referral{'s' if len(result.referrals) != 1 else ''}.",
                    )
                return redirect("calls:detail", call_id=result.call.pk)
        patient_id = form.cleaned_data.get("patient")
        phone_call = _phone_call_or_none(form.cleaned_data.get("telephony_call"))
        call_back = _call_back_or_none(form.cleaned_data.get("call_back"))
    else:
        patient_id = request.GET.get("patient")
        # Opened from a screen pop: the phone call's number and times (docs/telephony.md).
        phone_call = _phone_call_or_none(_int_or_none(request.GET.get("telephony")))
        # Or to call someone back, from the call-backs list.
        call_back = (
            None if phone_call else _call_back_or_none(_int_or_none(request.GET.get("call_back")))
        )
        if call_back is not None and not patient_id:
            patient_id = call_back.patient_id
        form = CallForm(
            clinician=phase_recordable_by(request.user),
            initial={
                "idempotency_key": uuid.uuid4().hex,
                # UTC with its offset: a naive local time is ambiguous in the October clock change.
                "received_at": (phone_call.rang_at if phone_call else timezone.now()).isoformat(
                    timespec="seconds"
                ),
                "patient": patient_id,
                "telephony_call": phone_call.pk if phone_call else None,
                "caller_phone": national(phone_call.caller_number)
                if phone_call
                else call_back_number(call_back)
                if call_back
                else "",
                "call_back": call_back.pk if call_back else None,
            },
        )
    suggestion = None
    if form.is_bound:
        try:
            suggestion = _suggestion(getattr(form, "cleaned_data", {}), form.ipos_scores())
        except InvalidTriage:
            suggestion = None
    # The symptom scores are folded away unless one of them is in error.
    symptoms_open = form.is_bound and any(field.errors for field in form.ipos_fields())
    panel = _patient_panel_context(request, _int_or_none(patient_id), shown=not form.is_bound)
    form.offer_people(panel["people"])
    context = {
        "form": form,
        "suggestion": suggestion,
        "need_rows": _need_rows(form),
        "symptoms_open": symptoms_open,
        # Closed now: the warning with the divert (docs/patients-and-calls.md "The call screen").
        "spoc": spoc_hours(at=timezone.now()),
        **panel,
        "phone_call": phone_call,
        "call_back": call_back,
        "call_back_number": call_back_number(call_back) if call_back else "",
    }
    number = (
        phone_call.caller_number
        if phone_call is not None
        else call_back.telephony_call.caller_number
        if call_back is not None and call_back.telephony_call is not None
        else ""
    )
    if number and context["patient"] is None:
        context["phone_matches"] = phone_matches(patients=visible_patients(request), number=number)
    return render(request, "calls/call_new.html", context)


def _call_back_or_none(call_back_id: int | None) -> CallBack | None:
    if call_back_id is None:
        return None
    return call_back_to_make(call_back_id=call_back_id)


def _phone_call_or_none(telephony_call_id: int | None) -> TelephonyCall | None:
    if telephony_call_id is None:
        return None
    return telephony_call_to_record(telephony_call_id=telephony_call_id)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@login_required
@permission_required("accounts.take_calls", raise_exception=True)
def call_patient_panel(request: HttpRequest) -> HttpResponse:
    """The call screen's patient panel, swapped in by htmx when the handler picks a patient, with
    the choice of whom carer and bereavement support are for, out of band (the patient's
    people; nothing else of the needs is redrawn)."""
    context = _patient_panel_context(request, _int_or_none(request.GET.get("patient")), shown=True)
    form = CallForm()
    form.offer_people(context["people"])
    context["need_for_rows"] = [
        {"need": need, "for_fields": fields}
        for need in Need.values
        if (fields := form.need_for_fields(need)) is not None
    ]
    return render(request, "calls/call_new.html#patient-panel", context)


@login_required
@permission_required("accounts.take_calls", raise_exception=True)
def call_suggestion(request: HttpRequest) -> HttpResponse:
    """The live triage suggestion (pure rules; nothing saved)."""
    form = TriageForm(request.POST or request.GET, clinician=phase_recordable_by(request.user))
    panel = _patient_panel_context(request, _int_or_none(request.POST.get("patient")))
    suggestion = None
    error = ""
    need_suggestions: list[tuple[str, Suggestion | None]] = [(need, None) for need in Need.values]
    if form.is_valid():
        ipos = {
            key.removeprefix("ipos_").upper(): value
            for key, value in form.cleaned_data.items()
            if key.startswith("ipos_") and value is not None
        }
        try:
            suggestion = _suggestion(form.cleaned_data, ipos)
        except InvalidTriage as exc:
            error = str(exc)
        else:
            # Only a patient the handler may see (the panel's) has their carer's assessment read.
            carer = carer_assessed(
                patient_id=panel["patient"].pk if panel["patient"] else None,
                person_id=_int_or_none(request.POST.get(need_for_field_name(Need.CARER_SUPPORT))),
            )
            need_suggestions = _need_suggestions(form.cleaned_data, ipos, carer=carer)
    else:
        error = "Check the triage answers."
    # Each need's suggestion is swapped in beside it, out of band (the needs part is not redrawn,
    # so nothing the handler chose there is lost).
    context = {
        "suggestion": suggestion,
        "suggestion_error": error,
        "need_suggestions": need_suggestions,
        **panel,
    }
    return render(request, "calls/call_new.html#suggestion", context)


@login_required
def call_detail(request: HttpRequest, call_id: int) -> HttpResponse:
    call = call_shown(user=request.user, patients=visible_patients(request), call_id=call_id)
    if call is None:
        raise Http404("No such call")
    referrals = (
        referrals_visible_to(request.user)
        .filter(call=call)
        .select_related("team", "owner", "for_person")
        .order_by("id")
    )
    context = {
        "call": call,
        "referrals": referrals,
        "call_backs": call.call_backs.prefetch_related("attempts"),
        "banner": patient_banner_for(patient=call.patient) if call.patient else None,
        "patient": call.patient,
        "now": timezone.now(),
    }
    return render_page(request, "calls/call_detail.html", context, fragment="referrals")


@login_required
@permission_required("accounts.take_calls", raise_exception=True)
def my_calls(request: HttpRequest) -> HttpResponse:
    return render(
        request, "calls/my_calls.html", {"calls": recent_calls_for_handler(user=request.user)}
    )


@login_required
@permission_required("accounts.take_calls", raise_exception=True)
def call_backs_due(request: HttpRequest) -> HttpResponse:
    return _call_backs_page(request)


def _call_backs_page(
    request: HttpRequest,
    *,
    bound: CallBackAttemptForm | CallBackDoneForm | None = None,
    bound_id: int = 0,
    status: int = 200,
) -> HttpResponse:
    """The call-backs due, each with its forms for marking it done (with its outcome) and for a
    try that reached nobody; ``bound``: the one just posted with an error, shown as typed with
    the error summary."""

    def form_of(call_back: CallBack, form_class: type[Any], prefix: str) -> Any:
        if isinstance(bound, form_class) and call_back.pk == bound_id:
            return bound
        return form_class(auto_id=f"id_{prefix}_{call_back.pk}_%s")

    rows = [
        (
            call_back,
            form_of(call_back, CallBackAttemptForm, "attempt"),
            form_of(call_back, CallBackDoneForm, "done"),
        )
        for call_back in call_backs_pending()
    ]
    return render(
        request,
        "calls/call_backs.html",
        {"rows": rows, "bound": bound, "now": timezone.now()},
        status=status,
    )


@login_required
@permission_required(["accounts.take_calls", WRITE_CLINICAL], raise_exception=True)
@require_POST
def call_back_attempt(request: HttpRequest, call_back_id: int) -> HttpResponse:
    """A try at a call-back that reached nobody ("No answer, tried 14:32"); it stays due."""
    form = CallBackAttemptForm(request.POST, auto_id=f"id_attempt_{call_back_id}_%s")
    if not form.is_valid():
        return _call_backs_page(request, bound=form, bound_id=call_back_id, status=400)
    try:
        attempt = call_back_attempt_record(
            call_back_id=call_back_id, user=request.user, **form.cleaned_data
        )
    except CallBack.DoesNotExist as exc:
        raise Http404("No such call-back") from exc
    except CallBackClosed:
        messages.info(request, "This call-back was already done or cancelled.")
    else:
        messages.success(request, f"Recorded: {attempt}.")
    return redirect("calls:call-backs")


@login_required
@permission_required(["accounts.take_calls", WRITE_CLINICAL], raise_exception=True)
@require_POST
def call_back_done(request: HttpRequest, call_back_id: int) -> HttpResponse:
    """Mark a call-back done, saying what happened (required)."""
    form = CallBackDoneForm(request.POST, auto_id=f"id_done_{call_back_id}_%s")
    if not form.is_valid():
        return _call_backs_page(request, bound=form, bound_id=call_back_id, status=400)
    try:
        call_back_complete(call_back_id=call_back_id, user=request.user, **form.cleaned_data)
    except CallBack.DoesNotExist as exc:
        raise Http404("No such call-back") from exc
    messages.success(request, "Call-back marked done.")
    return redirect("calls:call-backs")


@login_required
@permission_required("accounts.coordinate", raise_exception=True)
def senior_reviews(request: HttpRequest) -> HttpResponse:
    return _senior_reviews_page(request)


def _senior_reviews_page(
    request: HttpRequest,
    *,
    bound: SeniorReviewForm | None = None,
    bound_call_id: int = 0,
    status: int = 200,
) -> HttpResponse:
    """The calls awaiting review, each with its comment box; ``bound``: the one just posted with
    an error, shown as typed with the error summary."""
    pending = calls_awaiting_review()
    reviews = [
        (
            call,
            bound
            if bound is not None and call.pk == bound_call_id
            else SeniorReviewForm(auto_id=f"id_review_{call.pk}_%s"),
        )
        for call in pending
    ]
    return render(
        request,
        "calls/senior_reviews.html",
        {"reviews": reviews, "bound": bound, "now": timezone.now()},
        status=status,
    )


@login_required
@permission_required(["accounts.coordinate", WRITE_CLINICAL], raise_exception=True)
@require_POST
def senior_review_record(request: HttpRequest, call_id: int) -> HttpResponse:
    form = SeniorReviewForm(request.POST, auto_id=f"id_review_{call_id}_%s")
    if not form.is_valid():
        return _senior_reviews_page(request, bound=form, bound_call_id=call_id, status=400)
    try:
        call_senior_review(call_id=call_id, user=request.user, comment=form.cleaned_data["comment"])
    except Call.DoesNotExist as exc:
        raise Http404("No such call awaiting review") from exc
    messages.success(request, "Review recorded.")
    return redirect("calls:reviews")
