from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import format_lazy
from phonenumber_field.formfields import PhoneNumberField

from patients import codes
from patients.carers import CarerHealth, CarerOutcome, OutcomeAnswer
from patients.medicines import MedicineData
from patients.services import PatientData
from services.models import Site
from services.practices import practice_labels
from spoc.core.forms import THIS_YEAR_HINT, NhsDateField, NhsFormMixin

PHONE_ERROR = {"invalid": "Enter a UK phone number, like 0151 496 0000 or 07911 123456."}


def blank(choices: Any, label: str = "Not recorded") -> list[tuple[str, str]]:
    return [("", label), *choices]


class PatientForm(NhsFormMixin, forms.Form):
    """Field rules that need the database or other records (duplicates, NHS number check digit,
    postcode, date limits) are enforced by patients.services; this form parses input. Its fields
    are in the order templates/patients/_patient_fields.html draws them (the error summary's)."""

    given_name = forms.CharField(label="Given name", max_length=100)
    family_name = forms.CharField(label="Family name", max_length=100)
    date_of_birth = NhsDateField(label="Date of birth", subject="date of birth", not_future=True)
    sex = forms.ChoiceField(choices=codes.Sex.choices, initial=codes.Sex.UNKNOWN)
    nhs_number = forms.CharField(
        label="NHS number",
        required=False,
        max_length=20,
        help_text="10 digits, spaces allowed",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    nhs_number_status = forms.ChoiceField(
        label="NHS number status",
        choices=codes.NhsNumberStatus.choices,
        initial=codes.NhsNumberStatus.NOT_TRACED,
    )
    address = forms.CharField(
        required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
    postcode = forms.CharField(required=False, max_length=10)
    phone = PhoneNumberField(required=False, region="GB", error_messages=PHONE_ERROR)
    phone_alt = PhoneNumberField(
        label="Other phone", required=False, region="GB", error_messages=PHONE_ERROR
    )
    gp_practice = forms.CharField(
        label="GP practice",
        required=False,
        max_length=200,
        help_text="Start typing the practice's name or ODS code and choose it from the list to link the practice",
        widget=forms.TextInput(attrs={"list": "gp-practices", "autocomplete": "off"}),
    )
    usual_residence = forms.ChoiceField(required=False, choices=blank(codes.UsualResidence.choices))
    location = forms.ChoiceField(
        label="Where the patient is now",
        choices=codes.PatientLocation.choices,
        initial=codes.PatientLocation.HOME,
    )
    location_site = forms.ModelChoiceField(
        label="Hospital site", required=False, queryset=Site.objects.order_by("name")
    )
    interpreter_needed = forms.BooleanField(required=False)
    language = forms.CharField(label="Preferred language", required=False, max_length=50)
    # Left out of a post, they are not known (the codes' own default).
    ethnic_category = forms.TypedChoiceField(
        label="Ethnic category",
        required=False,
        empty_value=codes.EthnicCategory.NOT_KNOWN,
        choices=codes.EthnicCategory.choices,
        initial=codes.EthnicCategory.NOT_KNOWN,
        help_text="As the patient states it. Not stated: they chose not to say; not known: not "
        "asked yet.",
        error_messages={"invalid_choice": "Choose an ethnic category from the list"},
    )
    diagnosis_group = forms.TypedChoiceField(
        label="Primary diagnosis group",
        required=False,
        empty_value=codes.DiagnosisGroup.NOT_KNOWN,
        choices=codes.DiagnosisGroup.choices,
        initial=codes.DiagnosisGroup.NOT_KNOWN,
        help_text="The group of the condition palliative care is for",
        error_messages={"invalid_choice": "Choose a diagnosis group from the list"},
    )
    access_information = forms.CharField(
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Key safe, access route. Shown to clinicians only.",
    )
    confirm_not_duplicate = forms.BooleanField(
        required=False, label="I have checked: this is a different person"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The directory's practices, offered as the practice is typed (services/practices.py).
        self.practice_labels = practice_labels()

    def patient_data(self) -> PatientData:
        data = {k: v for k, v in self.cleaned_data.items() if k != "confirm_not_duplicate"}
        data.setdefault("access_information", "")
        for phone in ("phone", "phone_alt"):
            data[phone] = data[phone] or ""
        return PatientData(**data)


class RelatedPersonForm(NhsFormMixin, forms.Form):
    given_name = forms.CharField(max_length=100)
    family_name = forms.CharField(max_length=100)
    # Nothing chosen for the user: a relationship guessed by the first option would be wrong data.
    relationship = forms.ChoiceField(
        choices=blank(codes.Relationship.choices, "Choose…"),
        error_messages={"required": "Choose the person's relationship to the patient"},
    )
    phone = PhoneNumberField(required=False, region="GB", error_messages=PHONE_ERROR)
    phone_alt = PhoneNumberField(
        label="Other phone", required=False, region="GB", error_messages=PHONE_ERROR
    )
    address = forms.CharField(
        required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
    postcode = forms.CharField(required=False, max_length=10)
    date_of_birth = NhsDateField(
        label="Date of birth", subject="date of birth", not_future=True, required=False
    )
    is_main_carer = forms.BooleanField(label="Main carer", required=False)
    is_next_of_kin = forms.BooleanField(label="Next of kin", required=False)
    has_lpa = forms.BooleanField(
        label="Lasting power of attorney (health and welfare)", required=False
    )
    consent_to_contact = forms.BooleanField(label="Consents to be contacted", required=False)

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for phone in ("phone", "phone_alt"):
            data[phone] = data[phone] or ""
        return data


class CarePlanForm(NhsFormMixin, forms.Form):
    """Its fields are in the order templates/patients/care_plan.html draws them (the error summary's)."""

    # The version the editor saw, so that saving over a newer version is refused.
    base_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    ppd_first = forms.ChoiceField(
        label="Preferred place of death (1st)",
        required=False,
        choices=blank(codes.PlaceOfDeath.choices),
    )
    ppd_second = forms.ChoiceField(
        label="Preferred place of death (2nd)",
        required=False,
        choices=blank(codes.PlaceOfDeath.choices),
    )
    ppd_not_stated = forms.ChoiceField(
        label="No preference stated because",
        required=False,
        choices=blank(codes.PreferenceNotStated.choices),
    )
    ppc = forms.ChoiceField(
        label="Preferred place of care",
        required=False,
        choices=blank(codes.PlaceOfDeath.choices),
        help_text="Where the patient wishes to be cared for in the last days of life",
    )
    cpr_decision = forms.ChoiceField(
        label="CPR decision", choices=codes.CprDecision.choices, initial=codes.CprDecision.UNKNOWN
    )
    cpr_decision_date = NhsDateField(
        label="CPR decision date",
        subject="CPR decision date",
        required=False,
        help_text=THIS_YEAR_HINT,
    )
    cpr_review_date = NhsDateField(
        label="CPR review date", subject="CPR review date", required=False, help_text=THIS_YEAR_HINT
    )
    respect_exists = forms.BooleanField(label="ReSPECT form exists", required=False)
    respect_cpr = forms.ChoiceField(
        label="ReSPECT CPR recommendation", required=False, choices=blank(codes.CprDecision.choices)
    )
    respect_care_focus = forms.IntegerField(
        label="ReSPECT care focus (0 living longer – 10 comfort)",
        required=False,
        min_value=0,
        max_value=10,
    )
    respect_date = NhsDateField(
        label="ReSPECT completed or reviewed",
        subject="ReSPECT date",
        required=False,
        help_text=THIS_YEAR_HINT,
    )
    respect_kept_at = forms.CharField(label="ReSPECT form kept at", required=False, max_length=200)
    primary_diagnosis = forms.CharField(required=False, max_length=200)
    prognosis = forms.ChoiceField(required=False, choices=blank(codes.Prognosis.choices))
    carer_aware_of_prognosis = forms.NullBooleanField(
        required=False,
        widget=forms.Select(
            choices=[("unknown", "Not recorded"), ("true", "Yes"), ("false", "No")]
        ),
    )
    key_worker_name = forms.CharField(required=False, max_length=200)
    key_worker_phone = PhoneNumberField(required=False, region="GB", error_messages=PHONE_ERROR)
    anticipatory_meds_issued = forms.BooleanField(
        label="Anticipatory medicines issued", required=False
    )
    anticipatory_meds_location = forms.CharField(
        label="Anticipatory medicines kept at", required=False, max_length=200
    )
    consent_to_share = forms.BooleanField(required=False)
    review_date = NhsDateField(
        label="Care plan review date",
        subject="care plan review date",
        required=False,
        help_text=format_lazy("No more than 3 months ahead. {}", THIS_YEAR_HINT),
    )

    def values(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if k != "base_version"}
        data["key_worker_phone"] = data["key_worker_phone"] or ""
        return data


class BreakGlassForm(NhsFormMixin, forms.Form):
    reason = forms.CharField(
        min_length=10,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why you need this record now. Your access is logged and reviewed by the Caldicott guardian.",
        error_messages={"min_length": "Give a reason of at least 10 characters."},
    )


def outcome_field_name(outcome: str) -> str:
    return f"outcome_{outcome.lower()}"


class CarerAssessmentForm(NhsFormMixin, forms.Form):
    """A carer's needs assessment (patients/carers.py): the date, the carer's health, each outcome
    and the impact on their well-being. The rule and its checks are carer_assessment_record's."""

    assessment_date = NhsDateField(
        label="Date of the assessment",
        subject="date of the assessment",
        not_future=True,
        help_text=THIS_YEAR_HINT,
    )
    health = forms.ChoiceField(
        label="Because of caring, the carer's physical or mental health is",
        choices=CarerHealth.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Say how caring affects the carer's health."},
    )
    significant_impact = forms.TypedChoiceField(
        label="Is there, or is there likely to be, a significant impact on their well-being?",
        choices=[("yes", "Yes"), ("no", "No")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": "Say whether there is a significant impact on well-being."},
    )
    notes = forms.CharField(
        label="Notes", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for outcome in CarerOutcome:
            self.fields[outcome_field_name(outcome.value)] = forms.ChoiceField(
                label=outcome.label,
                choices=OutcomeAnswer.choices,
                widget=forms.RadioSelect,
                error_messages={"required": f"Answer “{outcome.label}”."},
            )
        self.order_fields(
            [
                "assessment_date",
                "health",
                *(outcome_field_name(o.value) for o in CarerOutcome),
                "significant_impact",
                "notes",
            ]
        )

    def outcome_fields(self) -> list[Any]:
        return [self[outcome_field_name(o.value)] for o in CarerOutcome]

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "assessment_date": data["assessment_date"],
            "health": data["health"],
            "outcomes": {o.value: data[outcome_field_name(o.value)] for o in CarerOutcome},
            "significant_impact": data["significant_impact"],
            "notes": data["notes"],
        }


class JustInCaseMedicineForm(NhsFormMixin, forms.Form):
    """One medicine as the prescription wrote it; the limits and the date's bounds are checked
    again by ``jic_medicine_add``. In the order templates/patients/medicines.html draws them."""

    name = forms.CharField(
        label="Medicine",
        max_length=200,
        help_text="Name, strength and form, as on the label: Morphine sulfate 10 mg/1 ml injection",
    )
    dose_route = forms.CharField(
        label="Dose and route, as prescribed",
        max_length=300,
        help_text="Copy the prescription exactly: 2.5 mg to 5 mg subcutaneously, hourly if needed",
    )
    quantity = forms.CharField(label="Quantity supplied", max_length=100)
    kept_at = forms.CharField(
        label="Where they are kept", max_length=200, help_text="So a visiting nurse can find them"
    )
    prescribed_by = forms.CharField(label="Prescribed by", max_length=200)
    prescribed_date = NhsDateField(
        label="Date prescribed", subject="date prescribed", not_future=True
    )

    def medicine_data(self) -> MedicineData:
        return MedicineData(**self.cleaned_data)


class MedicineRemoveForm(NhsFormMixin, forms.Form):
    removed_reason = forms.CharField(
        label="Why it is no longer at home",
        max_length=300,
        error_messages={"required": "Enter why it is no longer at home"},
        help_text="Used, out of date and destroyed, changed, or taken away",
    )
