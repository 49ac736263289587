"""NHS.UK design-system classes on Django's widgets, so every form looks and behaves alike."""

from __future__ import annotations

from typing import Any

from django import forms

_INPUTS = (forms.TextInput, forms.NumberInput, forms.EmailInput, forms.URLInput,
           forms.PasswordInput, forms.DateInput, forms.DateTimeInput, forms.TimeInput)


def nhs_widget_classes(form: forms.BaseForm) -> None:
    for name, field in form.fields.items():
        widget = field.widget
        if isinstance(widget, (forms.CheckboxSelectMultiple, forms.RadioSelect)):
            css = ""
        elif isinstance(widget, forms.CheckboxInput):
            css = "nhsuk-checkboxes__input"
        elif isinstance(widget, forms.Textarea):
            css = "nhsuk-textarea"
        elif isinstance(widget, forms.Select):
            css = "nhsuk-select"
        elif isinstance(widget, _INPUTS):
            css = "nhsuk-input"
        else:
            css = ""
        if form.errors.get(name) and css in {"nhsuk-input", "nhsuk-textarea", "nhsuk-select"}:
            css += f" {css}--error"
        if css:
            widget.attrs["class"] = " ".join(filter(None, [widget.attrs.get("class", ""), css])).strip()


class NhsFormMixin:
    """Mix into a Form: widgets get the design system's classes, errors their error class."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        nhs_widget_classes(self)  # type: ignore[arg-type]

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        nhs_widget_classes(self)  # type: ignore[arg-type]
