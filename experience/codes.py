"""The answers of the feedback form and the bereaved relatives' survey (docs/metrics.md,
"Feedback")."""

from __future__ import annotations

from django.db import models


class FftAnswer(models.TextChoices):
    """NHS England, the Friends and Family Test (since April 2020): the question "Overall, how
    was your experience of our service?" and these six answers, worded exactly so."""

    VERY_GOOD = "VERY_GOOD", "Very good"
    GOOD = "GOOD", "Good"
    NEITHER = "NEITHER", "Neither good nor poor"
    POOR = "POOR", "Poor"
    VERY_POOR = "VERY_POOR", "Very poor"
    DONT_KNOW = "DONT_KNOW", "Don't know"


# NHS England's FFT figures: positive is Very good or Good, negative Poor or Very poor, each as a
# share of every answer ("Don't know" included).
FFT_POSITIVE = frozenset({FftAnswer.VERY_GOOD, FftAnswer.GOOD})
FFT_NEGATIVE = frozenset({FftAnswer.POOR, FftAnswer.VERY_POOR})


class DiedWhereWanted(models.TextChoices):
    YES = "YES", "Yes"
    NO = "NO", "No"
    NOT_SAID = "NOT_SAID", "They had not said where, or we did not know"
    DONT_KNOW = "DONT_KNOW", "Don't know"


class FamilySupport(models.TextChoices):
    ENOUGH = "ENOUGH", "Yes, as much as we wanted"
    SOME = "SOME", "Yes, some, but not as much as we wanted"
    NONE = "NONE", "No, we did not get the support we wanted"
    NOT_WANTED = "NOT_WANTED", "We did not want any support"
    DONT_KNOW = "DONT_KNOW", "Don't know"
