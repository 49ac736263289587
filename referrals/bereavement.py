"""The bereavement risk screen (docs/triage.md, "Bereavement risk screen"): its questions, the
answers it takes, and the rule that turns them into a component of bereavement support and a
priority. Pure: no database, tested without one.

The basis is the three-component model of NICE's guidance "Improving supportive and palliative
care for adults with cancer" (2004): component 1, information about bereavement and the support
available, for everyone bereaved; component 2, support from volunteers, self-help and
non-specialist groups, for those who need more than that; component 3, specialist help (mental
health services, psychological support, specialist counselling) for those at risk of complex
grief. The questions ask after the risk factors that guidance and its bereavement sources name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import models

from services.codes import SPECIALIST_BEREAVEMENT_COMPONENT, Priority


class Answer(models.TextChoices):
    YES = "YES", "Yes"
    NO = "NO", "No"
    UNKNOWN = "UNKNOWN", "Not known"


class Question(models.TextChoices):
    """The screen's questions, asked about the bereaved person, in the order they are shown."""

    SUDDEN_OR_TRAUMATIC = (
        "SUDDEN_OR_TRAUMATIC",
        "Was the death sudden, unexpected or traumatic for them?",
    )
    MENTAL_HEALTH = (
        "MENTAL_HEALTH",
        "Have they had a mental health problem (such as depression, anxiety or self-harm)?",
    )
    LITTLE_SUPPORT = "LITTLE_SUPPORT", "Do they have little or no support from family or friends?"
    OTHER_LOSSES = (
        "OTHER_LOSSES",
        "Are they facing other recent losses or stresses (another death, illness, money, housing)?",
    )
    DEPENDENT_RELATIONSHIP = (
        "DEPENDENT_RELATIONSHIP",
        "Was their relationship with the person who died very dependent or difficult?",
    )
    CHILD_BEREAVED = (
        "CHILD_BEREAVED",
        "Is a child or young person bereaved (they are one, or one in their care)?",
    )


COMPONENT_LABELS: dict[int, str] = {
    1: "Component 1: information about bereavement and support",
    2: "Component 2: support from volunteers, groups or non-specialist services",
    3: "Component 3: specialist bereavement help",
}
# Two risk factors or more: specialist help first (docs/triage.md, "Bereavement risk screen").
SPECIALIST_AT_RISK_FACTORS = 2
# The priority of a bereavement referral by its screen: component 3 "soon", anything else, and an
# unscreened referral, routine (docs/triage.md).
SPECIALIST_PRIORITY = Priority.P4
ROUTINE_PRIORITY = Priority.P5
ANSWER_ALL = "Answer every question of the risk screen (yes, no or not known), or none of them."


def screen_component(answers: Mapping[str, str]) -> int:
    """The component of bereavement support these answers point to, one for every question:
    3 when two or more risk factors are present; 2 when one is, or when any answer is "not
    known" (an unanswered risk is not taken for no risk); 1 only when every answer is no. Raises
    ``ValueError`` for answers that are not a complete screen (``screen_problems``)."""
    if screen_problems(answers):
        raise ValueError("not a complete bereavement risk screen")
    present = sum(1 for question in Question.values if answers[question] == Answer.YES)
    if present >= SPECIALIST_AT_RISK_FACTORS:
        return SPECIALIST_BEREAVEMENT_COMPONENT
    if present or any(answers[question] == Answer.UNKNOWN for question in Question.values):
        return 2
    return 1


def screen_priority(component: int | None) -> str:
    """The priority of a bereavement referral screened with this result (``None``: not
    screened)."""
    return (
        SPECIALIST_PRIORITY if component == SPECIALIST_BEREAVEMENT_COMPONENT else ROUTINE_PRIORITY
    )


def screen_problems(answers: Any) -> list[str]:
    """What is wrong with ``answers`` as a screen (empty when it is a complete one): a mapping of
    every question to an answer, nothing else."""
    if not isinstance(answers, Mapping):
        return ["Give the risk screen's answers by question."]
    problems = []
    unknown = sorted(str(key) for key in answers if key not in Question.values)
    if unknown:
        problems.append(f"These are not questions of the risk screen: {', '.join(unknown)}.")
    if any(answers.get(question) not in Answer.values for question in Question.values):
        problems.append(ANSWER_ALL)
    return problems


def screen_is_blank(answers: Mapping[str, Any]) -> bool:
    """Nothing answered: the person is not screened."""
    return not any(answers.get(question) for question in Question.values)


def component_label(component: int | None) -> str:
    return COMPONENT_LABELS.get(component or 0, "Not screened")


def screen_rows(screen: Any) -> list[tuple[str, str]]:
    """Each question with its answer in words, for the referral page (empty: not screened)."""
    if screen is None:
        return []
    labels = dict(Answer.choices)
    return [
        (str(question.label), str(labels.get(screen.answers.get(question.value), "Not answered")))
        for question in Question
    ]


def screen_done_message(referral: Any) -> str:
    """What saving a screen did to the referral, in words."""
    screen = referral.bereavement_screen
    parts = [f"Risk screen saved: {component_label(screen.component).lower()}."]
    parts.append(f"The referral is {referral.priority}.")
    if referral.status == "AWAITING_ROUTING":
        parts.append("It is being routed again for this result.")
    return " ".join(parts)


def screen_event_lines(data: Mapping[str, Any]) -> list[str]:
    """A screen's event on the referral's history: its result, the risk factors found, and the
    result of the screen it replaced."""
    lines = [component_label(data.get("component"))]
    present = [
        str(question.label)
        for question in Question
        if (data.get("answers") or {}).get(question.value) == Answer.YES
    ]
    if present:
        lines.append(f"Yes: {' '.join(present)}")
    previous = data.get("previous")
    if previous:
        lines.append(f"Replaces: {component_label(previous.get('component')).lower()}")
    return lines
