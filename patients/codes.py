"""Patient-level code lists (docs/reference.md): EPaCCS / PRSB care-plan content and the OACC
clinical measures used at triage and review."""

from __future__ import annotations

from django.db import models


class NhsNumberStatus(models.TextChoices):
    # NHS Data Dictionary: NHS NUMBER STATUS INDICATOR CODE.
    VERIFIED = "01", "01 Present and verified"
    NOT_TRACED = "02", "02 Present, not traced"
    TRACE_REQUIRED = "03", "03 Trace required"
    TRACE_NO_MATCH = "04", "04 Trace attempted, no or multiple match"
    TRACE_TO_RESOLVE = "05", "05 Trace needs resolving"
    TRACE_IN_PROGRESS = "06", "06 Trace in progress"


class Sex(models.TextChoices):
    # FHIR administrative-gender.
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Not known"


class UsualResidence(models.TextChoices):
    OWN_HOME = "OWN_HOME", "Own home"
    OTHER_PRIVATE = "OTHER_PRIVATE", "Other private residence"
    CARE_HOME = "CARE_HOME", "Care home"


class PatientLocation(models.TextChoices):
    """Where the patient is now (docs/reference.md "Patient is now at")."""

    HOME = "HOME", "Home"
    CARE_HOME = "CARE_HOME", "Care home"
    HOSPITAL = "HOSPITAL", "Hospital"
    HOSPICE = "HOSPICE", "Hospice"
    OTHER = "OTHER", "Other"


class PlaceOfDeath(models.TextChoices):
    # NHS Data Dictionary: death location type (also used for preferred place of death).
    HOSPITAL = "10", "Hospital"
    PRIVATE_RESIDENCE = "20", "Private residence"
    OWN_HOME = "21", "Patient's own home"
    OTHER_PRIVATE_RESIDENCE = "22", "Other private residence"
    HOSPICE = "30", "Hospice"
    CARE_HOME = "40", "Care home"
    OTHER = "50", "Other"


class PreferenceNotStated(models.TextChoices):
    UNABLE = "UNABLE", "Unable to express a preference"
    NOT_APPROPRIATE = "NOT_APPROPRIATE", "Discussion not appropriate"
    DECLINED = "DECLINED", "Declined to discuss"
    UNDECIDED = "UNDECIDED", "Undecided"


class CprDecision(models.TextChoices):
    # SNOMED CT: 450475007 for attempted CPR; 450476008 not for attempted CPR.
    FOR_CPR = "450475007", "For attempted CPR"
    NOT_FOR_CPR = "450476008", "Not for attempted CPR (DNACPR)"
    UNKNOWN = "UNKNOWN", "Not known"


class Prognosis(models.TextChoices):
    LAST_DAYS = "LAST_DAYS", "Last days"
    LAST_WEEKS = "LAST_WEEKS", "Last weeks"
    LAST_MONTHS = "LAST_MONTHS", "Last months"


class Relationship(models.TextChoices):
    SPOUSE_PARTNER = "SPOUSE_PARTNER", "Spouse or partner"
    CHILD = "CHILD", "Son or daughter"
    PARENT = "PARENT", "Parent"
    SIBLING = "SIBLING", "Brother or sister"
    OTHER_RELATIVE = "OTHER_RELATIVE", "Other relative"
    FRIEND = "FRIEND", "Friend"
    NEIGHBOUR = "NEIGHBOUR", "Neighbour"
    PAID_CARER = "PAID_CARER", "Paid carer"
    OTHER = "OTHER", "Other"


class PhaseOfIllness(models.TextChoices):
    # OACC Phase of Illness.
    STABLE = "STABLE", "Stable"
    UNSTABLE = "UNSTABLE", "Unstable"
    DETERIORATING = "DETERIORATING", "Deteriorating"
    DYING = "DYING", "Dying"
    DECEASED = "DECEASED", "Deceased (support to family)"


class IposItem(models.TextChoices):
    """IPOS items, each scored 0 (not at all) to 4 (overwhelmingly)."""

    PAIN = "PAIN", "Pain"
    BREATHLESSNESS = "BREATHLESSNESS", "Shortness of breath"
    WEAKNESS = "WEAKNESS", "Weakness or lack of energy"
    NAUSEA = "NAUSEA", "Nausea"
    VOMITING = "VOMITING", "Vomiting"
    POOR_APPETITE = "POOR_APPETITE", "Poor appetite"
    CONSTIPATION = "CONSTIPATION", "Constipation"
    SORE_DRY_MOUTH = "SORE_DRY_MOUTH", "Sore or dry mouth"
    DROWSINESS = "DROWSINESS", "Drowsiness"
    POOR_MOBILITY = "POOR_MOBILITY", "Poor mobility"
    PATIENT_ANXIETY = "PATIENT_ANXIETY", "Patient anxiety"
    FAMILY_ANXIETY = "FAMILY_ANXIETY", "Family anxiety"


IPOS_SCORES = [
    (0, "0 Not at all"),
    (1, "1 Slightly"),
    (2, "2 Moderately"),
    (3, "3 Severely"),
    (4, "4 Overwhelmingly"),
]
AKPS_SCORES = [(score, str(score)) for score in range(100, -1, -10)]


class AssessmentSource(models.TextChoices):
    CALL_TRIAGE = "CALL_TRIAGE", "Call triage"
    CLINICIAN_REVIEW = "CLINICIAN_REVIEW", "Clinician review"


class EthnicCategory(models.TextChoices):
    # NHS Data Dictionary: ETHNIC CATEGORY (the 16+1 categories of the 2001 census; Z when the
    # person chose not to state it, the default code 99 when it is not known).
    WHITE_BRITISH = "A", "White - British"
    WHITE_IRISH = "B", "White - Irish"
    WHITE_OTHER = "C", "White - Any other White background"
    MIXED_WHITE_BLACK_CARIBBEAN = "D", "Mixed - White and Black Caribbean"
    MIXED_WHITE_BLACK_AFRICAN = "E", "Mixed - White and Black African"
    MIXED_WHITE_ASIAN = "F", "Mixed - White and Asian"
    MIXED_OTHER = "G", "Mixed - Any other mixed background"
    ASIAN_INDIAN = "H", "Asian or Asian British - Indian"
    ASIAN_PAKISTANI = "J", "Asian or Asian British - Pakistani"
    ASIAN_BANGLADESHI = "K", "Asian or Asian British - Bangladeshi"
    ASIAN_OTHER = "L", "Asian or Asian British - Any other Asian background"
    BLACK_CARIBBEAN = "M", "Black or Black British - Caribbean"
    BLACK_AFRICAN = "N", "Black or Black British - African"
    BLACK_OTHER = "P", "Black or Black British - Any other Black background"
    OTHER_CHINESE = "R", "Other Ethnic Groups - Chinese"
    OTHER_ANY = "S", "Other Ethnic Groups - Any other ethnic group"
    NOT_STATED = "Z", "Not stated"
    NOT_KNOWN = "99", "Not known"


class DiagnosisGroup(models.TextChoices):
    """The primary diagnosis in groups (local; docs/patients-and-calls.md "Equity"): cancer and
    the non-cancer conditions most palliative care is for, so that access can be compared."""

    CANCER = "CANCER", "Cancer"
    HEART_DISEASE = "HEART_DISEASE", "Heart disease"
    RESPIRATORY = "RESPIRATORY", "Respiratory disease"
    DEMENTIA_FRAILTY = "DEMENTIA_FRAILTY", "Dementia and frailty"
    NEUROLOGICAL = "NEUROLOGICAL", "Neurological disease"
    RENAL = "RENAL", "Kidney disease"
    LIVER = "LIVER", "Liver disease"
    OTHER = "OTHER", "Other condition"
    NOT_KNOWN = "NOT_KNOWN", "Not known"
