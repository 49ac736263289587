"""The bereavement risk screen's form on a bereavement referral's page (docs/triage.md,
"Bereavement risk screen"): one yes / no / not known for every question; the rule is
``referrals.bereavement``'s, the saving ``referral_bereavement_screen``'s."""

from __future__ import annotations

from typing import Any

from django import forms

from referrals.bereavement import Answer, Question
from spoc.core.forms import NhsFormMixin


class _Choices(forms.RadioSelect):
    """Radios whose field points at its first option, so the error summary's link lands on it."""

    def id_for_label(self, id_: str, index: str | None = None) -> str:
        return super().id_for_label(id_, "0" if index is None else index)


class BereavementScreenForm(NhsFormMixin, forms.Form):
    def __init__(self, *args: Any, initial_answers: dict[str, str] | None = None, **kwargs: Any):
        kwargs.setdefault("auto_id", "id_screen_%s")
        super().__init__(*args, **kwargs)
        for question in Question:
            self.fields[question.value.lower()] = forms.ChoiceField(
                label=str(question.label),
                choices=Answer.choices,
                widget=_Choices,
                initial=(initial_answers or {}).get(question.value),
                error_messages={"required": "Answer yes, no or not known"},
            )

    def answers(self) -> dict[str, str]:
        return {question.value: self.cleaned_data[question.value.lower()] for question in Question}
