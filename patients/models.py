"""Patients, the people around them, their care plan and assessments (docs/design.md §3)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField

from patients import codes
from patients.carers import CarerHealth, CarerOutcome, OutcomeAnswer
from services.models import Site
from spoc.core.dates import nhs_datetime_short


class Patient(models.Model):
    # NULL when not known yet (status 03 trace required): unique among known numbers only.
    nhs_number = models.CharField("NHS number", max_length=10, null=True, blank=True, unique=True)
    nhs_number_status = models.CharField(
        "NHS number status",
        max_length=2,
        choices=codes.NhsNumberStatus.choices,
        default=codes.NhsNumberStatus.NOT_TRACED,
    )
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    # Accent- and case-folded "family given" (patients.names.search_form), kept on the row so
    # that "sian" finds Siân on PostgreSQL and SQLite alike.
    search_name = models.CharField(max_length=210, db_index=True, editable=False)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=7, choices=codes.Sex.choices, default=codes.Sex.UNKNOWN)
    address = models.TextField(max_length=500, blank=True)
    postcode = models.CharField(max_length=8, blank=True, db_index=True)
    phone = PhoneNumberField(blank=True)
    phone_alt = PhoneNumberField("other phone", blank=True)
    # As said or typed; `registered_practice` when it names a practice of the directory.
    gp_practice = models.CharField("GP practice", max_length=200, blank=True)
    registered_practice = models.ForeignKey(
        "services.Organisation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"org_type": "GP_PRACTICE"},
        verbose_name="registered GP practice",
    )
    usual_residence = models.CharField(
        max_length=13, choices=codes.UsualResidence.choices, blank=True
    )
    location = models.CharField(
        "where the patient is now",
        max_length=9,
        choices=codes.PatientLocation.choices,
        default=codes.PatientLocation.HOME,
    )
    location_site = models.ForeignKey(
        Site,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="hospital site",
    )
    interpreter_needed = models.BooleanField(default=False)
    language = models.CharField("preferred language", max_length=50, blank=True)
    # For equity of access (docs/metrics.md "Equity"): as the patient states it, and the group
    # of their primary diagnosis.
    ethnic_category = models.CharField(
        max_length=2, choices=codes.EthnicCategory.choices, default=codes.EthnicCategory.NOT_KNOWN
    )
    diagnosis_group = models.CharField(
        "primary diagnosis group",
        max_length=16,
        choices=codes.DiagnosisGroup.choices,
        default=codes.DiagnosisGroup.NOT_KNOWN,
    )
    # Shown to clinicians only (key safe code, dog, access route).
    access_information = models.TextField(max_length=1000, blank=True)
    died_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    # Who registered the patient: a member of staff, or a partner system whose message named
    # someone the hub did not know (interop/bars.py).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by_partner = models.ForeignKey(
        "accounts.PartnerSystem",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["family_name", "given_name", "id"]
        indexes = [
            models.Index(fields=["date_of_birth"], name="patient_dob"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(nhs_number__regex=r"^[0-9]{10}$")
                | models.Q(nhs_number__isnull=True),
                name="patient_nhs_number_ten_digits",
            ),
            models.CheckConstraint(
                condition=models.Q(created_by__isnull=False)
                | models.Q(created_by_partner__isnull=False),
                name="patient_registered_by_someone",
            ),
        ]

    def __str__(self) -> str:
        from patients.names import display_name

        number = self.nhs_number or "no NHS number"
        return f"{display_name(self.given_name, self.family_name)} ({number})"


class RelatedPerson(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="related_people")
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    relationship = models.CharField(max_length=14, choices=codes.Relationship.choices)
    phone = PhoneNumberField(blank=True)
    phone_alt = PhoneNumberField("other phone", blank=True)
    address = models.TextField(max_length=500, blank=True)
    postcode = models.CharField(max_length=8, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    is_main_carer = models.BooleanField("main carer", default=False)
    is_next_of_kin = models.BooleanField("next of kin", default=False)
    has_lpa = models.BooleanField("lasting power of attorney (health and welfare)", default=False)
    consent_to_contact = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-is_main_carer", "family_name", "given_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=models.Q(is_main_carer=True),
                name="one_main_carer_per_patient",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name} ({self.get_relationship_display()} of patient {self.patient_id})"


class CarePlan(models.Model):
    """One version of a patient's care plan (EPaCCS core content). Every change adds a version;
    exactly one is current."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="care_plans")
    version = models.PositiveIntegerField()
    is_current = models.BooleanField(default=True)
    ppd_first = models.CharField(
        "preferred place of death (1st)",
        max_length=2,
        choices=codes.PlaceOfDeath.choices,
        blank=True,
    )
    ppd_second = models.CharField(
        "preferred place of death (2nd)",
        max_length=2,
        choices=codes.PlaceOfDeath.choices,
        blank=True,
    )
    ppd_not_stated = models.CharField(
        "preference not stated because",
        max_length=15,
        choices=codes.PreferenceNotStated.choices,
        blank=True,
    )
    # Where the patient wishes to be cared for in the last days of life (docs/metrics.md
    # "Deaths"): the same location codes as the place of death.
    ppc = models.CharField(
        "preferred place of care",
        max_length=2,
        choices=codes.PlaceOfDeath.choices,
        blank=True,
    )
    cpr_decision = models.CharField(
        "CPR decision",
        max_length=9,
        choices=codes.CprDecision.choices,
        default=codes.CprDecision.UNKNOWN,
    )
    cpr_decision_date = models.DateField("CPR decision date", null=True, blank=True)
    cpr_review_date = models.DateField("CPR review date", null=True, blank=True)
    cpr_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    respect_exists = models.BooleanField("ReSPECT form exists", default=False)
    respect_cpr = models.CharField(
        "ReSPECT CPR recommendation", max_length=9, choices=codes.CprDecision.choices, blank=True
    )
    respect_care_focus = models.PositiveSmallIntegerField(
        "ReSPECT care focus (0 living longer – 10 comfort)",
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(10)],
    )
    respect_kept_at = models.CharField("ReSPECT form kept at", max_length=200, blank=True)
    respect_date = models.DateField("ReSPECT completed or reviewed", null=True, blank=True)
    consent_to_share = models.BooleanField(default=False)
    key_worker_name = models.CharField(max_length=200, blank=True)
    key_worker_phone = PhoneNumberField(blank=True)
    primary_diagnosis = models.CharField(max_length=200, blank=True)
    prognosis = models.CharField(max_length=11, choices=codes.Prognosis.choices, blank=True)
    carer_aware_of_prognosis = models.BooleanField(null=True, blank=True)
    anticipatory_meds_issued = models.BooleanField("anticipatory medicines issued", default=False)
    anticipatory_meds_location = models.CharField(
        "anticipatory medicines kept at", max_length=200, blank=True
    )
    review_date = models.DateField("care plan review date", null=True, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["patient", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "version"], name="care_plan_version_unique"),
            models.UniqueConstraint(
                fields=["patient"],
                condition=models.Q(is_current=True),
                name="one_current_care_plan",
            ),
            models.CheckConstraint(
                condition=models.Q(respect_care_focus__isnull=True)
                | models.Q(respect_care_focus__lte=10),
                name="care_focus_0_to_10",
            ),
        ]

    def __str__(self) -> str:
        return f"Care plan v{self.version} of patient {self.patient_id}"


class JustInCaseMedicine(models.Model):
    """One just-in-case (anticipatory) medicine kept in the patient's home, as the prescription
    wrote it (docs/patients-and-calls.md, "Just-in-case medicines"; hazard H-033).

    Rows are never changed or deleted: a medicine used up, destroyed or changed is *removed*
    (``removed_at``, who and why) and a changed one recorded again, so the record keeps its whole
    history, like the care plan's versions. The current medicines are those not removed."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="jic_medicines")
    name = models.CharField("medicine", max_length=200)
    dose_route = models.CharField("dose and route, as prescribed", max_length=300)
    quantity = models.CharField("quantity supplied", max_length=100)
    kept_at = models.CharField("kept at", max_length=200)
    prescribed_by = models.CharField(max_length=200)
    prescribed_date = models.DateField("date prescribed")
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    removed_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["patient", "name", "pk"]
        indexes = [
            models.Index(
                fields=["patient"],
                condition=models.Q(removed_at__isnull=True),
                name="jic_medicine_current",
            )
        ]
        constraints = [
            # A removal says who and why; a medicine still at home has neither.
            models.CheckConstraint(
                condition=(
                    models.Q(removed_at__isnull=True, removed_by__isnull=True, removed_reason="")
                    | (
                        models.Q(removed_at__isnull=False, removed_by__isnull=False)
                        & ~models.Q(removed_reason="")
                    )
                ),
                name="jic_medicine_removal_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.pk}) for patient {self.patient_id}"


class Assessment(models.Model):
    """Phase of Illness, AKPS and IPOS, from a call's triage or a clinician's review."""

    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.CASCADE, related_name="assessments"
    )
    source = models.CharField(max_length=16, choices=codes.AssessmentSource.choices)
    phase = models.CharField(max_length=13, choices=codes.PhaseOfIllness.choices, blank=True)
    akps = models.PositiveSmallIntegerField("AKPS", null=True, blank=True)
    # {"PAIN": 3, ...}: IPOS item code -> score 0-4.
    ipos = models.JSONField("IPOS", default=dict, blank=True)
    assessed_at = models.DateTimeField()
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-assessed_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(akps__isnull=True) | models.Q(akps__lte=100),
                name="akps_0_to_100",
            ),
        ]

    def __str__(self) -> str:
        return f"Assessment {self.pk} ({self.get_source_display()}) at {nhs_datetime_short(self.assessed_at)}"


class DeathRecordQuerySet(models.QuerySet["DeathRecord"]):
    def recorded(self) -> DeathRecordQuerySet:
        """The deaths standing: not withdrawn as entered in error."""
        return self.filter(status=DeathRecord.Status.RECORDED)


class DeathRecord(models.Model):
    """A patient's death (docs/design.md §7). At most one ``RECORDED`` per patient;
    ``Patient.died_at`` mirrors its ``died_at``.

    The preferred place of death in force when the death was recorded is kept with it, so that
    "died in the preferred place" never changes when the care plan is edited afterwards.
    A correction changes the record and keeps the values before and after in a
    ``DeathCorrection``; a death recorded in error is ``WITHDRAWN``, never deleted, and the
    patient's death may then be recorded again on a new row.
    """

    class Status(models.TextChoices):
        RECORDED = "RECORDED", "Recorded"
        WITHDRAWN = "WITHDRAWN", "Withdrawn: entered in error"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="deaths")
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.RECORDED)
    died_at = models.DateTimeField()
    place = models.CharField(
        "actual place of death", max_length=2, choices=codes.PlaceOfDeath.choices
    )
    expected = models.BooleanField(null=True, blank=True)
    verified_by = models.CharField(max_length=200, blank=True)
    # The care plan's preferred places at the time (blank: none recorded).
    preferred_place_first = models.CharField(
        max_length=2, choices=codes.PlaceOfDeath.choices, blank=True
    )
    preferred_place_second = models.CharField(
        max_length=2, choices=codes.PlaceOfDeath.choices, blank=True
    )
    # None: no preference recorded, so neither achieved nor missed. Met by the 1st or 2nd
    # preference; ``first_preference_achieved`` by the 1st only (the national benchmark).
    preferred_place_achieved = models.BooleanField(null=True, blank=True)
    first_preference_achieved = models.BooleanField(null=True, blank=True)
    # The care plan's preferred place of care at the time, where the patient was cared for in
    # the last days of life (as the recorder knows it; blank: not known), and whether the two
    # meet (None: either is not recorded).
    preferred_place_of_care = models.CharField(
        max_length=2, choices=codes.PlaceOfDeath.choices, blank=True
    )
    last_days_place = models.CharField(
        "where the patient was cared for in the last days of life",
        max_length=2,
        choices=codes.PlaceOfDeath.choices,
        blank=True,
    )
    preferred_care_achieved = models.BooleanField(null=True, blank=True)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    objects = DeathRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-died_at"]
        indexes = [models.Index(fields=["died_at"], name="death_died_at")]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=models.Q(status="RECORDED"),
                name="one_recorded_death_per_patient",
            ),
        ]

    def __str__(self) -> str:
        return f"Death {self.pk} of patient {self.patient_id} at {nhs_datetime_short(self.died_at)}"


class DeathCorrection(models.Model):
    """One correction of a ``DeathRecord`` (docs/patients-and-calls.md, "Correcting or
    withdrawing a death"): the values before and after (the fields that changed; for a
    withdrawal, the status), why, who and when, and what the correction did to referrals and
    call-backs. Append-only: the history of a death is its record plus these rows."""

    class Kind(models.TextChoices):
        CORRECTED = "CORRECTED", "Corrected"
        WITHDRAWN = "WITHDRAWN", "Withdrawn: entered in error"

    record = models.ForeignKey(DeathRecord, on_delete=models.PROTECT, related_name="corrections")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=9, choices=Kind.choices)
    # {"died_at": ..., "place": ..., "expected": ..., "verified_by": ...,
    #  "preferred_place_achieved": ...}: only the fields that changed, in JSON's own types
    # (times as ISO 8601).
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    reason = models.TextField(max_length=1000)
    # What it did: the ids of the referrals reopened and cancelled, of the call-backs restored.
    effects = models.JSONField(default=dict, blank=True)
    corrected_at = models.DateTimeField()
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["corrected_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} death {self.record_id} at {nhs_datetime_short(self.corrected_at)}"


class HospitalAdmission(models.Model):
    """A hospital admission, recorded on the patient or imported (docs/design.md §3, §8: 3+ emergency
    admissions in the last 90 days of life)."""

    class Source(models.TextChoices):
        RECORDED = "RECORDED", "Recorded in the hub"
        IMPORTED = "IMPORTED", "Imported"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="admissions")
    admitted_on = models.DateField()
    discharged_on = models.DateField(null=True, blank=True)
    emergency = models.BooleanField()
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.RECORDED)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-admitted_on", "-id"]
        indexes = [
            models.Index(fields=["patient", "admitted_on"], name="admission_patient_admitted")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "admitted_on", "emergency"], name="admission_unique_per_day"
            ),
            models.CheckConstraint(
                condition=models.Q(discharged_on__isnull=True)
                | models.Q(discharged_on__gte=models.F("admitted_on")),
                name="admission_discharged_after_admitted",
            ),
        ]

    def __str__(self) -> str:
        kind = "emergency" if self.emergency else "elective"
        return f"Admission of patient {self.patient_id} on {self.admitted_on:%d-%b-%Y} ({kind})"


class PossibleMatch(models.Model):
    """A patient registered from a partner's message who may be someone the hub already knows
    (same name, date of birth and postcode, no NHS number to tell). Never merged silently: a
    coordinator says whether they are the same person (``patient_for_message`` in
    patients/services.py records the match; ``possible_match_decide`` in
    referrals/services/electronic.py decides it)."""

    class Status(models.TextChoices):
        OPEN = "OPEN", "To confirm"
        SAME_PERSON = "SAME_PERSON", "Same person: records merged"
        DIFFERENT_PEOPLE = "DIFFERENT_PEOPLE", "Different people"

    # The record the message registered; gone once merged into the candidate.
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    candidate = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    # How the new record read when the match was found (kept after a merge removes it).
    patient_label = models.CharField(max_length=300)
    found_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["found_at", "id"]
        indexes = [models.Index(fields=["status", "found_at"], name="possible_match_open")]

    def __str__(self) -> str:
        return f"{self.patient_label}: {self.get_status_display()}"


class CarerAssessment(models.Model):
    """A carer's needs assessment (patients/carers.py; docs/triage.md, "A carer's needs
    assessment"): the answers by domain, when and by whom, and the priority they suggest for the
    carer's support, kept as suggested then (the rules may change later)."""

    carer = models.ForeignKey(RelatedPerson, on_delete=models.PROTECT, related_name="assessments")
    assessment_date = models.DateField()
    health = models.CharField(max_length=13, choices=CarerHealth.choices)
    # {"HOME": "NOT_ACHIEVED", ...}: every CarerOutcome -> an OutcomeAnswer.
    outcomes = models.JSONField()
    significant_impact = models.BooleanField("significant impact on well-being")
    notes = models.TextField(max_length=2000, blank=True)
    suggested_priority = models.CharField(max_length=2)
    reasons = models.JSONField(default=list)
    rules_version = models.CharField(max_length=10)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-assessment_date", "-recorded_at", "-id"]
        indexes = [
            models.Index(fields=["carer", "assessment_date"], name="carer_assessment_latest")
        ]

    def __str__(self) -> str:
        return f"Carer's assessment {self.pk} of person {self.carer_id} on {self.assessment_date:%d-%b-%Y}"

    def outcome_answers(self) -> list[tuple[str, str]]:
        """(outcome, answer) in words, in the order of the regulations."""
        return [
            (o.label, OutcomeAnswer(self.outcomes[o]).label if o in self.outcomes else "Not asked")
            for o in CarerOutcome
        ]
