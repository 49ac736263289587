"""Recording a death from the patient page (docs/design.md §7): one form, one call to
``workspace.services.death_record``, and a message saying what it did."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from calls.selectors import patient_banner_for
from experience.forms import NOBODY, consent_field
from experience.selectors import feedback_options
from patients.codes import PlaceOfDeath
from patients.models import DeathCorrection, DeathRecord, Patient, RelatedPerson
from patients.names import display_name
from referrals.access import writable_patient
from referrals.bereavement import ANSWER_ALL, Answer, Question, screen_is_blank
from referrals.models import Referral
from referrals.services.deaths import (
    CORRECT_REFUSED,
    DeathAlreadyRecorded,
    death_problems,
    may_correct_death,
    may_record_death,
)
from spoc.accounts.roles import may_write_clinical
from spoc.core.dates import nhs_date, nhs_datetime, nhs_datetime_short
from spoc.core.forms import THIS_YEAR_HINT, NhsDateField, NhsFormMixin
from workspace.services import (
    DeathCorrected,
    DeathRecorded,
    death_correct,
    death_record,
    death_withdraw,
)

TIME = forms.TimeInput(
    attrs={
        "inputmode": "numeric",
        "autocomplete": "off",
        "spellcheck": "false",
        "class": "nhsuk-input--width-4",
    },
    format="%H:%M",
)
EXPECTED_CHOICES = [("yes", "Yes"), ("no", "No"), ("unknown", "Not known")]
# Service argument -> form field, for the service's messages.
_FIELD_OF = {"died_at": "died_date"}


class _Choices(forms.RadioSelect):
    """Radios whose field points at its first option, so the error summary's link lands on it."""

    def id_for_label(self, id_: str, index: str | None = None) -> str:
        return super().id_for_label(id_, "0" if index is None else index)


class _Boxes(forms.CheckboxSelectMultiple):
    def id_for_label(self, id_: str, index: str | None = None) -> str:
        return super().id_for_label(id_, "0" if index is None else index)


def offered_by_default(person: RelatedPerson) -> bool:
    """Ticked when the form first shows: the main carer and the next of kin, when they consented
    to be contacted (the service refuses anyone who has not, so ticking them would only make the
    page fail)."""
    return person.consent_to_contact and (person.is_main_carer or person.is_next_of_kin)


class DeathFactsForm(NhsFormMixin, forms.Form):
    """The facts of a death, as recorded and as corrected (``templates/patients/
    death_facts.html``); the rules (not in the future, not before birth) are the service's
    (``death_problems``)."""

    use_required_attribute = False  # the page's own messages, not the browser's

    died_date = NhsDateField(
        label="Date of death", subject="date of death", help_text=THIS_YEAR_HINT
    )
    died_time = forms.TimeField(
        label="Time of death",
        widget=TIME,
        input_formats=["%H:%M", "%H.%M", "%H:%M:%S"],
        help_text="Use the 24-hour clock, for example 14:30. England's time (as on a clock here).",
        error_messages={
            "required": "Enter the time of death",
            "invalid": "Enter the time of death on the 24-hour clock, like 14:30",
        },
    )
    place = forms.ChoiceField(
        label="Place of death",
        choices=PlaceOfDeath.choices,
        widget=_Choices,
        help_text="Where the patient died. Each place has its national death location code.",
        error_messages={"required": "Select the place of death"},
    )
    last_days_place = forms.ChoiceField(
        label="Where was the patient cared for in the last days of life?",
        required=False,
        choices=[("", "Not known"), *PlaceOfDeath.choices],
        help_text="Where they were for most of their last days, which may differ from where they "
        "died. Compared with the preferred place of care.",
    )
    expected = forms.ChoiceField(
        label="Was the death expected?",
        choices=EXPECTED_CHOICES,
        widget=_Choices,
        initial="unknown",
    )
    verified_by = forms.CharField(
        label="Verified by (optional)",
        required=False,
        max_length=200,
        help_text="Name and role of who verified the death",
    )

    def died_at(self) -> datetime | None:
        """Date and time as entered, in Europe/London (the hub's time zone); None until both
        have been read."""
        day, at = self.cleaned_data.get("died_date"), self.cleaned_data.get("died_time")
        if day is None or at is None:
            return None
        return timezone.make_aware(datetime.combine(day, at))

    def expected_value(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.cleaned_data.get("expected", ""))


class DeathForm(DeathFactsForm):
    """Recording a death: its facts and who is offered bereavement support (consent is the
    service's rule)."""

    bereavement_for = forms.TypedMultipleChoiceField(
        label="Offer bereavement support to",
        required=False,
        coerce=int,
        widget=_Boxes,
        help_text="The main carer and next of kin who consented to be contacted are ticked. "
        "Only people who have consented can be offered support. Select all that apply.",
    )

    # docs/operations.md, "Feedback texts": a survey some months on, only with consent.
    survey_to = consent_field(
        "Who agreed to a text, some months from now, asking about the care?",
        "Ask only if it feels right. Only people with a mobile number on their record are "
        "listed; the survey is texted about three months after the death.",
    )

    def __init__(
        self,
        *args: Any,
        people: list[RelatedPerson],
        survey_options: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        self.people = people
        # Only the first showing is pre-ticked: a bound form (a re-display after an error) shows
        # the user's own choice.
        kwargs.setdefault(
            "initial", {"bereavement_for": [p.pk for p in people if offered_by_default(p)]}
        )
        super().__init__(*args, **kwargs)
        field = self.fields["bereavement_for"]
        assert isinstance(field, forms.TypedMultipleChoiceField)
        field.choices = [
            (person.pk, display_name(person.given_name, person.family_name)) for person in people
        ]
        survey = self.fields["survey_to"]
        assert isinstance(survey, forms.ChoiceField)
        survey.choices = [("", NOBODY), *(survey_options or [])]
        # docs/triage.md, "Bereavement risk screen": optional, per person; nothing answered is
        # "not screened".
        for person in people:
            for question in Question:
                self.fields[_screen_field(person, question)] = forms.ChoiceField(
                    label=str(question.label),
                    choices=Answer.choices,
                    required=False,
                    widget=_Choices,
                )
        # Drawn before the survey question: the error summary follows the page's order.
        self.fields["survey_to"] = self.fields.pop("survey_to")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        ticked = set(cleaned.get("bereavement_for") or [])
        for person, answers in self._screen_answers().items():
            if screen_is_blank(answers):
                continue
            name = display_name(person.given_name, person.family_name)
            if person.pk not in ticked:
                self.add_error(
                    _screen_field(person, Question.SUDDEN_OR_TRAUMATIC),
                    f"Tick {name} to offer bereavement support, or clear their risk screen.",
                )
                continue
            missing = [q for q in Question if not answers.get(q)]
            if missing:
                self.add_error(_screen_field(person, missing[0]), f"For {name}: {ANSWER_ALL}")
        return cleaned

    def _screen_answers(self) -> dict[RelatedPerson, dict[str, str]]:
        data = getattr(self, "cleaned_data", {})
        return {
            person: {q.value: data.get(_screen_field(person, q)) or "" for q in Question}
            for person in self.people
        }

    def bereavement_screens(self) -> dict[int, dict[str, str]]:
        """Each person's answers by question, for the service (nothing answered: not screened)."""
        return {person.pk: answers for person, answers in self._screen_answers().items()}

    def person_rows(self) -> list[dict[str, Any]]:
        """For the checkboxes: each person's box, with who they are as its hint."""
        boxes = {str(option.data["value"]): option for option in self["bereavement_for"]}
        rows = []
        for person in self.people:
            roles = [person.get_relationship_display()]
            if person.is_main_carer:
                roles.append("main carer")
            if person.is_next_of_kin:
                roles.append("next of kin")
            rows.append(
                {
                    "box": boxes[str(person.pk)],
                    "roles": ", ".join(roles),
                    "consented": person.consent_to_contact,
                    "name": display_name(person.given_name, person.family_name),
                    "screen": [self[_screen_field(person, q)] for q in Question],
                    "screen_errors": any(self[_screen_field(person, q)].errors for q in Question),
                }
            )
        return rows


def _screen_field(person: RelatedPerson, question: str) -> str:
    return f"screen_{person.pk}_{str(question).lower()}"


def death_message(patient: Patient, result: DeathRecorded) -> str:
    """What saving did, in words: the referrals closed (need and team), the bereavement referrals
    made and for whom, or that there were none."""
    parts = [f"Death recorded for {display_name(patient.given_name, patient.family_name)}."]
    if result.closed:
        closed = [
            f"{r.get_need_display().lower()} ({r.team.name if r.team else 'not yet routed to a team'})"
            for r in result.closed
        ]
        count = len(closed)
        parts.append(f"{count} open referral{'s' if count != 1 else ''} closed: {_join(closed)}.")
    else:
        parts.append("There were no open referrals to close.")
    if result.kept_open:
        kept = [_kept(r) for r in result.kept_open]
        count = len(kept)
        parts.append(
            f"{count} referral{'s' if count != 1 else ''} for the people left "
            f"{'stay' if count != 1 else 'stays'} open: {_join(kept)}."
        )
    if result.bereavement:
        people = [_person(r.for_person) for r in result.bereavement if r.for_person is not None]
        first = min(r.contact_not_before for r in result.bereavement if r.contact_not_before)
        parts.append(
            f"Bereavement support referral{'s' if len(people) != 1 else ''} made for "
            f"{_join(people)}: being routed now, with no contact before {nhs_date(first)}."
        )
    else:
        parts.append("No bereavement support referrals were made.")
    for person in result.already_supported:
        parts.append(
            f"{_person(person)} already has an open bereavement support referral, so no "
            f"second one was made."
        )
    if result.call_backs_cancelled:
        count = result.call_backs_cancelled
        parts.append(f"{count} pending call-back{'s' if count != 1 else ''} cancelled.")
    if result.call_backs_kept:
        kept = [
            f"{cb.call.caller_name if cb.call and cb.call.caller_name else 'a relative'} "
            f"(due {nhs_datetime_short(cb.due_at)})"
            for cb in result.call_backs_kept
        ]
        count = len(kept)
        parts.append(
            f"{count} call-back{'s' if count != 1 else ''} to the family "
            f"{'stay' if count != 1 else 'stays'} pending: {_join(kept)}."
        )
    return " ".join(parts)


def _kept(referral: Referral) -> str:
    """ "carer support for O'BRIEN, Siân (spouse or partner), Carers Together": a referral that
    stays open after a death."""
    who = f" for {_person(referral.for_person)}" if referral.for_person else ""
    team = referral.team.name if referral.team else "not yet routed to a team"
    return f"{referral.get_need_display().lower()}{who}, {team}"


def _person(person: RelatedPerson) -> str:
    return f"{display_name(person.given_name, person.family_name)} ({person.get_relationship_display().lower()})"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


@login_required
def patient_death_record(request: HttpRequest, patient_id: int) -> HttpResponse:
    if not (may_record_death(request.user) and may_write_clinical(request.user)):
        raise PermissionDenied(
            "Only clinicians working a team queue and coordinators record deaths."
        )
    # A patient in the user's care: break-glass opens a record for reading only.
    patient = writable_patient(request, patient_id, shows="patient", page="death")
    if DeathRecord.objects.recorded().filter(patient=patient).exists():
        messages.info(request, "This patient's death is already recorded.")
        return redirect("patients:detail", patient_id=patient.pk)
    people = list(patient.related_people.all())
    form = DeathForm(
        request.POST if request.method == "POST" else None,
        people=people,
        survey_options=feedback_options(patient=patient, survey=True),
    )
    if request.method == "POST" and not form.is_valid():
        # Some fields could not be read: check the rest too, so every problem shows at once.
        problems: dict[str, list[str]] = {}
        death_problems(
            problems,
            patient=patient,
            died_at=form.died_at(),
            place=form.cleaned_data.get("place"),
            last_days_place=form.cleaned_data.get("last_days_place", ""),
            expected=form.expected_value(),
            verified_by=form.cleaned_data.get("verified_by", ""),
            bereavement_for=list(form.cleaned_data.get("bereavement_for", [])),
        )
        _add_errors(form, problems, skip_broken=True)
    elif request.method == "POST":
        died_at = form.died_at()
        assert died_at is not None  # both parts were read
        try:
            result = death_record(
                patient_id=patient.pk,
                user=request.user,
                died_at=died_at,
                place=form.cleaned_data["place"],
                last_days_place=form.cleaned_data["last_days_place"],
                expected=form.expected_value(),
                verified_by=form.cleaned_data["verified_by"],
                bereavement_for=list(form.cleaned_data["bereavement_for"]),
                survey_to=form.cleaned_data["survey_to"],
                bereavement_screens=form.bereavement_screens(),
                request=request,
            )
        except DeathAlreadyRecorded as exc:
            messages.info(request, str(exc))
            return redirect("patients:detail", patient_id=patient.pk)
        except ValidationError as exc:
            _add_errors(form, exc.message_dict)
        else:
            messages.success(request, death_message(patient, result))
            return redirect("patients:detail", patient_id=patient.pk)
    return _death_page(request, "patients/death.html", form, patient, has_people=bool(people))


def _add_errors(
    form: DeathFactsForm, errors: dict[str, list[str]], *, skip_broken: bool = False
) -> None:
    """The service's messages at their fields. ``skip_broken``: leave out a field (or, for the
    date and time of death, the date) that already has its own error, and the service's "give
    the date and time" when the form has said which part is missing."""
    for name, messages_ in errors.items():
        target = _FIELD_OF.get(name, name)
        if skip_broken and (
            target in form.errors or (name == "died_at" and "died_time" in form.errors)
        ):
            continue
        form.add_error(target if target in form.fields else None, messages_)


WHAT_CHOICES = [
    ("correct", "Correct the death's details"),
    ("withdraw", "Withdraw it: this death was recorded in error"),
]
# The fields a withdrawal does not read.
_FACTS = ("died_date", "died_time", "place", "last_days_place", "expected", "verified_by")


class DeathCorrectionForm(DeathFactsForm):
    """Correcting or withdrawing a recorded death: the facts as they should be (shown as they
    are), or a withdrawal, and always a reason (the service's rule too)."""

    what = forms.ChoiceField(
        label="What do you need to do?",
        choices=WHAT_CHOICES,
        widget=_Choices,
        initial="correct",
        error_messages={"required": "Select whether to correct or withdraw the death"},
    )
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Why the record was wrong and how you know (kept with the death's history)",
    )
    field_order = ["what", *_FACTS, "reason"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        if self.cleaned_data.get("what") == "withdraw":
            for name in _FACTS:
                self.errors.pop(name, None)
        return self.cleaned_data

    def withdrawing(self) -> bool:
        return self.cleaned_data.get("what") == "withdraw"


def correction_initial(record: DeathRecord) -> dict[str, Any]:
    """The form as the record stands."""
    local = timezone.localtime(record.died_at)
    return {
        "what": "correct",
        "died_date": local.date(),
        "died_time": local.time().replace(second=0, microsecond=0),
        "place": record.place,
        "last_days_place": record.last_days_place,
        "expected": {True: "yes", False: "no"}.get(record.expected, "unknown"),  # type: ignore[arg-type]
        "verified_by": record.verified_by,
    }


def correction_message(patient: Patient, result: DeathCorrected) -> str:
    """What the correction or withdrawal did, in words."""
    name = display_name(patient.given_name, patient.family_name)
    correction = result.correction
    if correction.kind == DeathCorrection.Kind.CORRECTED:
        changes = [change_words(name_, correction) for name_ in correction.before]
        parts = [f"Death of {name} corrected: {'; '.join(changes)}."]
        parts.append("The dashboards will show the corrected figures within a few minutes.")
    else:
        parts = [f"The death recorded for {name} was withdrawn as entered in error."]
        if result.reopened:
            reopened = [
                f"{r.get_need_display().lower()} ({r.get_status_display().lower()}, "
                f"{r.team.name if r.team else 'awaiting routing'})"
                for r in result.reopened
            ]
            parts.append(
                f"{len(reopened)} referral{'s' if len(reopened) != 1 else ''} reopened where "
                f"{'they were' if len(reopened) != 1 else 'it was'}: {_join(reopened)}."
            )
        if result.left_closed:
            parts.append(
                f"{len(result.left_closed)} referral{'s' if len(result.left_closed) != 1 else ''} "
                "the death closed had changed since and stayed as it is: check it."
            )
        if result.bereavement_cancelled:
            people = [_person(r.for_person) for r in result.bereavement_cancelled if r.for_person]
            parts.append(f"Bereavement support entered in error for {_join(people)}.")
        if result.bereavement_kept:
            people = [_person(r.for_person) for r in result.bereavement_kept if r.for_person]
            parts.append(
                f"Bereavement support for {_join(people)} stays open: their team is in contact "
                "and should close it with them."
            )
        if result.call_backs_restored:
            count = len(result.call_backs_restored)
            parts.append(f"{count} call-back{'s' if count != 1 else ''} pending again.")
    if result.gp_letter_sent:
        parts.append(
            "A letter about the death has already gone to the GP practice: tell the practice "
            "of this correction."
        )
    return " ".join(parts)


def change_words(name: str, correction: DeathCorrection) -> str:
    """ "place of death from hospital to hospice": one field of a correction, before and after."""
    label = CHANGE_LABELS.get(name, name)
    return f"{label} from {_shown(name, correction.before[name])} to {_shown(name, correction.after[name])}"


def corrections_worded(deaths: list[DeathRecord]) -> list[DeathRecord]:
    """``deaths`` (from ``deaths_of``), each correction given ``changes``: its fields in words,
    for the patient page's history."""
    for record in deaths:
        for correction in record.corrections.all():
            correction.changes = [change_words(name, correction) for name in correction.before]  # type: ignore[attr-defined]
    return deaths


CHANGE_LABELS = {
    "died_at": "time of death",
    "place": "place of death",
    "last_days_place": "place of care in the last days",
    "first_preference_achieved": "1st preference",
    "preferred_care_achieved": "preferred place of care",
    "expected": "expected",
    "verified_by": "verified by",
    "preferred_place_achieved": "preferred place",
    "status": "status",
}


def _shown(name: str, value: Any) -> str:
    if name == "died_at" and value:
        return nhs_datetime(datetime.fromisoformat(value))
    if name in ("place", "last_days_place"):
        if not value:
            return "not known"
        return PlaceOfDeath(value).label.lower() if value in PlaceOfDeath.values else str(value)
    if name == "expected":
        return {True: "yes", False: "no"}.get(value, "not known")
    if name in ("preferred_place_achieved", "first_preference_achieved", "preferred_care_achieved"):
        return {True: "achieved", False: "not achieved"}.get(value, "no preference recorded")
    if name == "status":
        return DeathRecord.Status(value).label.lower()
    return f"\u201c{value}\u201d" if value else "not recorded"


@login_required
def patient_death_correct(request: HttpRequest, patient_id: int) -> HttpResponse:
    if not (may_correct_death(request.user) and may_write_clinical(request.user)):
        raise PermissionDenied(CORRECT_REFUSED)
    patient = writable_patient(request, patient_id, shows="patient", page="death_correction")
    record = DeathRecord.objects.recorded().filter(patient=patient).first()
    if record is None:
        messages.info(request, "No death is recorded for this patient.")
        return redirect("patients:detail", patient_id=patient.pk)
    form = DeathCorrectionForm(
        request.POST if request.method == "POST" else None, initial=correction_initial(record)
    )
    if request.method == "POST" and form.is_valid():
        try:
            if form.withdrawing():
                result = death_withdraw(
                    patient_id=patient.pk,
                    user=request.user,
                    reason=form.cleaned_data["reason"],
                    request=request,
                )
            else:
                result = death_correct(
                    patient_id=patient.pk,
                    user=request.user,
                    reason=form.cleaned_data["reason"],
                    changes={
                        "died_at": form.died_at(),
                        "place": form.cleaned_data["place"],
                        "last_days_place": form.cleaned_data["last_days_place"],
                        "expected": form.expected_value(),
                        "verified_by": form.cleaned_data["verified_by"],
                    },
                    request=request,
                )
        except ValidationError as exc:
            _add_errors(form, exc.message_dict)
        else:
            messages.success(request, correction_message(patient, result))
            return redirect("patients:detail", patient_id=patient.pk)
    return _death_page(request, "patients/death_correct.html", form, patient, record=record)


def _death_page(
    request: HttpRequest, template: str, form: DeathFactsForm, patient: Patient, **extra: Any
) -> HttpResponse:
    return render(
        request,
        template,
        {"form": form, "patient": patient, "banner": patient_banner_for(patient=patient), **extra},
    )
