"""Call and referral code lists (docs/reference.md "Our code lists"; local)."""

from __future__ import annotations

from django.db import models


class CallReason(models.TextChoices):
    SYMPTOM_CONTROL = "SYMPTOM_CONTROL", "Symptom control"
    MEDICATION_QUERY = "MEDICATION_QUERY", "Medication query"
    REQUEST_VISIT = "REQUEST_VISIT", "Request a visit"
    REQUEST_ADMISSION = "REQUEST_ADMISSION", "Request admission"
    CARE_PACKAGE_EQUIPMENT = "CARE_PACKAGE_EQUIPMENT", "Care package or equipment"
    CARER_CRISIS = "CARER_CRISIS", "Carer crisis"
    DEATH_NOTIFICATION = "DEATH_NOTIFICATION", "Death notification"
    BEREAVEMENT = "BEREAVEMENT", "Bereavement"
    NEW_REFERRAL = "NEW_REFERRAL", "New referral"
    CLINICAL_UPDATE = "CLINICAL_UPDATE", "Clinical update"
    INFORMATION = "INFORMATION", "Information"
    ADMIN = "ADMIN", "Admin"
    OTHER = "OTHER", "Other"


class CarerCoping(models.TextChoices):
    COPING = "COPING", "Coping"
    STRUGGLING = "STRUGGLING", "Struggling"
    CRISIS_TONIGHT = "CRISIS_TONIGHT", "Crisis tonight"
    NO_CARER = "NO_CARER", "No carer"


class RedFlag(models.TextChoices):
    """docs/design.md §4: any of these suggests P1."""

    SPINAL_CORD_COMPRESSION = "SPINAL_CORD_COMPRESSION", "Suspected spinal cord compression"
    MAJOR_BLEED = "MAJOR_BLEED", "Major bleed"
    SEIZURE = "SEIZURE", "Seizure"
    SEPSIS_ON_TREATMENT = "SEPSIS_ON_TREATMENT", "Suspected sepsis on treatment"
    SUDDEN_SEVERE_BREATHLESSNESS = "SUDDEN_SEVERE_BREATHLESSNESS", "Sudden severe breathlessness"
    ACUTE_CONFUSION_WITH_RISK = "ACUTE_CONFUSION_WITH_RISK", "Acute confusion with risk"


class Disposition(models.TextChoices):
    ADVICE_GIVEN = "ADVICE_GIVEN", "Advice given"
    SIGNPOSTED = "SIGNPOSTED", "Signposted"
    REFERRALS_CREATED = "REFERRALS_CREATED", "Referrals created"
    ADVISED_999 = "ADVISED_999", "Advised to ring 999"
    WARM_TRANSFER = "WARM_TRANSFER", "Warm transfer"


class CallDirection(models.TextChoices):
    INBOUND = "INBOUND", "Inbound"
    OUTBOUND = "OUTBOUND", "Outbound"


class DeclineReason(models.TextChoices):
    OUT_OF_AREA = "OUT_OF_AREA", "Out of area"
    NOT_ELIGIBLE = "NOT_ELIGIBLE", "Not eligible"
    NO_CAPACITY = "NO_CAPACITY", "No capacity"
    WRONG_SERVICE = "WRONG_SERVICE", "Wrong service"
    PATIENT_DECLINED = "PATIENT_DECLINED", "Patient declined"
    DUPLICATE = "DUPLICATE", "Duplicate"


class InterventionType(models.TextChoices):
    PHONE_ADVICE = "PHONE_ADVICE", "Phone advice"
    HOME_VISIT = "HOME_VISIT", "Home visit"
    NIGHT_VISIT = "NIGHT_VISIT", "Night visit"
    HOSPICE_AT_HOME_SHIFT = "HOSPICE_AT_HOME_SHIFT", "Hospice at home shift"
    HOSPICE_ADMISSION = "HOSPICE_ADMISSION", "Hospice admission"
    IN_REACH_REVIEW = "IN_REACH_REVIEW", "In-reach review"
    DAY_THERAPY = "DAY_THERAPY", "Day therapy"
    BEREAVEMENT_SESSION = "BEREAVEMENT_SESSION", "Bereavement session"
    CARER_SUPPORT = "CARER_SUPPORT", "Carer support"
    EQUIPMENT_OR_CARE_PACKAGE = "EQUIPMENT_OR_CARE_PACKAGE", "Equipment or care package"


class ReferralOutcome(models.TextChoices):
    NEEDS_MET = "NEEDS_MET", "Needs met"
    TRANSFERRED = "TRANSFERRED", "Transferred"
    PATIENT_DIED = "PATIENT_DIED", "Patient died"
    DECLINED_BY_PATIENT = "DECLINED_BY_PATIENT", "Declined by patient"
    NO_CONTACT = "NO_CONTACT", "No contact"
    OTHER = "OTHER", "Other"


class EscalationMilestone(models.TextChoices):
    """The clock milestones of docs/design.md §6."""

    ACCEPT_OVERDUE = "ACCEPT_OVERDUE", "Not accepted in time"
    CONTACT_AT_RISK = "CONTACT_AT_RISK", "First contact at risk (75% of the time gone)"
    CONTACT_BREACHED = "CONTACT_BREACHED", "First contact overdue (breach)"
