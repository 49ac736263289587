"""NHS.UK design-system classes on Django's widgets, so every form looks and behaves alike."""

from __future__ import annotations

from typing import Any

from django import forms

_INPUTS = (forms.TextInput, forms.NumberInput, forms.EmailInput, forms.URLInput,
           forms.PasswordInput, forms.DateInput, forms.DateTimeInput, forms.TimeInput)


def nhs_widget_classes(form: forms.BaseForm) -> None:
    # form._errors, not form.errors: reading .errors would validate the form now, before the
    # view has finished setting it up (disabled fields, querysets).
    errors = getattr(form, "_errors", None) or {}
    for name, field in form.fields.items():
        widget = field.widget
        # CheckboxSelectMultiple is a subclass of RadioSelect: ask about checkboxes first, or a
        # ticked box is drawn with the radio's styles and looks unticked.
        if isinstance(widget, (forms.CheckboxSelectMultiple, forms.CheckboxInput)):
            css = "nhsuk-checkboxes__input"
        elif isinstance(widget, forms.RadioSelect):
            css = "nhsuk-radios__input"
        elif isinstance(widget, forms.Textarea):
            css = "nhsuk-textarea"
        elif isinstance(widget, forms.Select):
            css = "nhsuk-select"
        elif isinstance(widget, _INPUTS):
            css = "nhsuk-input"
        else:
            css = ""
        if errors.get(name) and css in {"nhsuk-input", "nhsuk-textarea", "nhsuk-select"}:
            css += f" {css}--error"
        classes = widget.attrs.get("class", "").split()
        classes += [c for c in css.split() if c not in classes]
        if classes:
            widget.attrs["class"] = " ".join(classes)


class NhsFormMixin:
    """Mix into a Form: widgets get the design system's classes, errors their error class."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        nhs_widget_classes(self)  # type: ignore[arg-type]

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        nhs_widget_classes(self)  # type: ignore[arg-type]
