"""A carer's needs assessment (docs/triage.md, "A carer's needs assessment"): its domains, answers
and the priority it suggests for carer-support referrals. Pure: answers in, a suggestion out.

The domains are those of a carer's eligibility in England, the Care and Support (Eligibility
Criteria) Regulations 2015, regulation 3: whether caring puts the carer's physical or mental
health at risk, and the eight outcomes a carer may be unable to achieve because of caring; with
whether that has, or is likely to have, a significant impact on the carer's well-being. "Unable to
achieve" follows regulation 3(3): not without help, or only with significant pain, distress or
anxiety, or only by endangering the health or safety of the carer or others. The priority rule is
local, ours:

====  =======================================================================================
P3    health deteriorating, or an outcome achieved only by endangering the carer or others
P4    needs that meet the regulations' test: health at risk or an outcome not achieved, with a
      significant impact on well-being
P5    otherwise (information and routine support)
====  =======================================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import models

from services.codes import Priority

CARER_RULES_VERSION = "2026-12"
"""Version of the rule above; stored with each assessment's suggestion."""

# An assessment older than this suggests nothing: a palliative patient's care at home changes in
# weeks, and the default (docs/triage.md) is safer than an old answer (hazard H-027).
ASSESSMENT_VALID_FOR = timedelta(days=90)


class CarerHealth(models.TextChoices):
    """Regulation 3(1)(b)(i): the carer's physical or mental health."""

    NO_CONCERN = "NO_CONCERN", "No concern"
    AT_RISK = "AT_RISK", "At risk of getting worse"
    DETERIORATING = "DETERIORATING", "Getting worse"


class CarerOutcome(models.TextChoices):
    """Regulation 3(2): the outcomes, (a) to (h)."""

    CHILD_CARE = "CHILD_CARE", "Caring for a child they are responsible for"
    OTHER_CARING = "OTHER_CARING", "Caring for anyone else they care for"
    HOME = "HOME", "Keeping their home fit to live in"
    NUTRITION = "NUTRITION", "Eating well and keeping up their own nutrition"
    RELATIONSHIPS = "RELATIONSHIPS", "Keeping up family and other relationships"
    WORK_LEARNING = "WORK_LEARNING", "Work, training, education or volunteering"
    COMMUNITY = "COMMUNITY", "Using local facilities and services"
    RECREATION = "RECREATION", "Leisure and recreation"


class OutcomeAnswer(models.TextChoices):
    """Regulation 3(3): what "unable to achieve" means, and "does not apply"."""

    ACHIEVED = "ACHIEVED", "Manages it without help"
    NOT_ACHIEVED = "NOT_ACHIEVED", "Only with help, or with significant pain, distress or anxiety"
    ENDANGERED = "ENDANGERED", "Only by putting themselves or others in danger"
    NOT_APPLICABLE = "NOT_APPLICABLE", "Does not apply"


@dataclass(frozen=True)
class CarerSuggestion:
    """The priority an assessment suggests for carer support, and why, in words ending in it."""

    priority: str
    reasons: tuple[str, ...]


class InvalidCarerAnswers(ValueError):
    """An unknown domain or answer code; the message names it."""


def carer_assessment_suggest(
    *, health: str, outcomes: Mapping[str, str], significant_impact: bool
) -> CarerSuggestion:
    """The priority for the carer's support (module docstring): every reason that fired at the
    winning priority, in the order of the domains. Every outcome must be answered. Raises
    InvalidCarerAnswers for an unknown or missing code."""
    if health not in CarerHealth.values:
        raise InvalidCarerAnswers(f"Unknown health answer {health!r}.")
    missing = [o.label for o in CarerOutcome if o.value not in outcomes]
    if missing:
        raise InvalidCarerAnswers(f"Answer every outcome: {missing[0]} is not answered.")
    for outcome, answer in outcomes.items():
        if outcome not in CarerOutcome.values or answer not in OutcomeAnswer.values:
            raise InvalidCarerAnswers(f"Unknown outcome or answer {outcome!r}: {answer!r}.")
    endangered = [o.label for o in CarerOutcome if outcomes[o] == OutcomeAnswer.ENDANGERED]
    urgent = [f"{label}: only by putting someone in danger" for label in endangered]
    if health == CarerHealth.DETERIORATING:
        urgent.insert(0, "Carer's health getting worse")
    if urgent:
        return _suggestion(Priority.P3, urgent)
    not_achieved = [o.label for o in CarerOutcome if outcomes[o] == OutcomeAnswer.NOT_ACHIEVED]
    unmet = [f"{label}: not achieved" for label in not_achieved]
    if health == CarerHealth.AT_RISK:
        unmet.insert(0, "Carer's health at risk")
    if unmet and significant_impact:
        return _suggestion(Priority.P4, [*unmet, "with a significant impact on well-being"])
    why = "needs without a significant impact on well-being" if unmet else "no unmet needs"
    return _suggestion(Priority.P5, [why])


def _suggestion(priority: str, parts: list[str]) -> CarerSuggestion:
    return CarerSuggestion(priority, tuple(f"{part} → {priority}" for part in parts))


def assessment_in_force(assessment_date: date, *, today: date) -> bool:
    """Whether an assessment of ``assessment_date`` may still suggest a priority on ``today``."""
    return today - assessment_date <= ASSESSMENT_VALID_FOR
