"""NHS.UK design-system classes on Django's widgets, so every form looks and behaves alike."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.forms.boundfield import BoundField
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.safestring import SafeString

_INPUTS = (
    forms.TextInput,
    forms.NumberInput,
    forms.EmailInput,
    forms.URLInput,
    forms.PasswordInput,
    forms.DateInput,
    forms.DateTimeInput,
    forms.TimeInput,
)


# The empty choice of every select. Django's own, "---------", means nothing to a reader.
CHOOSE = "Choose…"
DJANGO_BLANK = "---------"


def nhs_choose_label(field: forms.Field) -> None:
    """Relabel Django's empty choice "---------" as "Choose…" (a ModelChoiceField's empty label, a
    model form's blank choice). A label a form gives itself ("Choose a team", "Any") is kept."""
    if isinstance(field, forms.ModelChoiceField):
        if field.empty_label == DJANGO_BLANK:
            field.empty_label = CHOOSE
            # The widget holds its own copy of the choices, made with the old label.
            field.widget.choices = field.choices
    elif isinstance(field, forms.ChoiceField):
        choices = list(cast(Iterable[tuple[Any, Any]], field.choices))
        if any(value in ("", None) and label == DJANGO_BLANK for value, label in choices):
            field.choices = [
                (value, CHOOSE if value in ("", None) and label == DJANGO_BLANK else label)
                for value, label in choices
            ]


def nhs_field_classes(field: forms.Field, *, in_error: bool) -> None:
    """The NHS.UK class of the field's control, with its error class when the field is in error."""
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
    if isinstance(widget, NhsDateInput):
        # An error the field did not place (from the service): every box is in error.
        if in_error and not widget.parts_in_error:
            widget.parts_in_error = set(NhsDateInput.PARTS)
        return
    # Checkboxes and radios have no error class of their own: their form group carries it.
    if in_error and css in {"nhsuk-input", "nhsuk-textarea", "nhsuk-select"}:
        css += f" {css}--error"
    classes = widget.attrs.get("class", "").split()
    classes += [c for c in css.split() if c not in classes]
    if classes:
        widget.attrs["class"] = " ".join(classes)


def nhs_widget_classes(form: forms.BaseForm) -> None:
    # form._errors, not form.errors: reading .errors would validate the form now, before the
    # view has finished setting it up (disabled fields, querysets).
    errors = getattr(form, "_errors", None) or {}
    for name, field in form.fields.items():
        nhs_choose_label(field)
        nhs_field_classes(field, in_error=bool(errors.get(name)))


class NhsBoundField(BoundField):
    """A field as the hub draws it: its classes are settled when it is drawn, so a field added
    after the form was made, or an error added by the view from a service, is drawn right."""

    def as_widget(
        self,
        widget: forms.Widget | None = None,
        attrs: dict[str, Any] | None = None,
        only_initial: bool = False,
    ) -> SafeString:
        if widget is None:
            nhs_choose_label(self.field)
            errors = getattr(self.form, "_errors", None) or {}
            nhs_field_classes(self.field, in_error=bool(errors.get(self.name)))
        return super().as_widget(widget, attrs, only_initial)

    @property
    def aria_describedby(self) -> str | None:
        """The hint and error message ids as spoc.core.form_renderer.form_group writes them."""
        if self.field.widget.attrs.get("aria-describedby"):
            return None
        ids = []
        if self.auto_id and not self.is_hidden:
            if self.help_text:
                ids.append(f"{self.auto_id}-hint")
            if self.errors:
                ids.append(f"{self.auto_id}-error")
        return " ".join(ids)

    @property
    def first_input_id(self) -> str:
        """The id of the control the error summary links to: the day box of a date, the first
        option of radios and checkboxes, else the field's own control."""
        if isinstance(self.field.widget, (forms.RadioSelect, forms.CheckboxSelectMultiple)):
            first = next(iter(self.subwidgets), None)
            return str(first.id_for_label) if first is not None else ""
        return self.id_for_label


class NhsFormMixin:
    """Mix into a Form: widgets get the design system's classes, errors their error class, the
    empty choice reads "Choose…", and the browser never validates (no ``required`` attribute):
    the server does, and says what is wrong in the error summary (docs/architecture.md, "Forms")."""

    use_required_attribute = False
    bound_field_class: type[BoundField] | None = NhsBoundField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        nhs_widget_classes(self)  # type: ignore[arg-type]

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        nhs_widget_classes(self)  # type: ignore[arg-type]

    def add_error(self, field: str | None, error: Any) -> None:
        # Errors a view adds from the service after cleaning get their error class too.
        super().add_error(field, error)  # type: ignore[misc]
        nhs_widget_classes(self)  # type: ignore[arg-type]


# The date input's hint for a recent or coming date, in the current year (a date of birth keeps
# NhsDateField's default, "For example, 15 3 1948").
THIS_YEAR_HINT = lazy(lambda: f"For example, 15 3 {timezone.localdate().year}", str)()


class NhsDateInput(forms.MultiWidget):
    """The NHS.UK date input: day, month and year boxes (``<name>_day``, ``_month``, ``_year``),
    drawn by spoc.core.form_renderer.form_group in a fieldset with a legend and a hint. A form
    posted with one ISO value under the field's own name (``2026-06-10``) is read as well."""

    template_name = "core/widgets/nhs_date_input.html"
    PARTS = ("day", "month", "year")
    is_nhs_date_input = True

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        def box(width: int) -> forms.TextInput:
            return forms.TextInput(
                attrs={
                    "class": f"nhsuk-input nhsuk-date-input__input nhsuk-input--width-{width}",
                    "inputmode": "numeric",
                    "autocomplete": "off",
                }
            )

        super().__init__({"day": box(2), "month": box(2), "year": box(4)}, attrs)
        self.parts_in_error: set[str] = set()

    def decompress(self, value: Any) -> list[Any]:
        if isinstance(value, datetime.date):
            return [str(value.day), str(value.month), str(value.year)]
        return [None, None, None]

    def value_from_datadict(self, data: Mapping[str, Any], files: Any, name: str) -> Any:
        if all(f"{name}_{part}" not in data for part in self.PARTS) and data.get(name):
            try:
                return self.decompress(datetime.date.fromisoformat(str(data[name])))
            except ValueError:
                return [str(data[name]), "", ""]
        return super().value_from_datadict(data, files, name)

    def value_omitted_from_data(self, data: Mapping[str, Any], files: Any, name: str) -> bool:
        return name not in data and super().value_omitted_from_data(data, files, name)

    def id_for_label(self, id_: str) -> str:
        return f"{id_}_0" if id_ else ""

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        for part, label, subwidget in zip(
            self.PARTS, ("Day", "Month", "Year"), context["widget"]["subwidgets"], strict=True
        ):
            subwidget["label"] = label
            if part in self.parts_in_error:
                subwidget["attrs"]["class"] += " nhsuk-input--error"
        return context


class NhsDateField(forms.MultiValueField):
    """A date typed in three boxes (NHS.UK date input), with the design system's messages.

    ``subject`` names the date in messages, as written mid-sentence ("date of birth", "CPR decision
    date": "Date of birth must include a year");
    ``not_future`` refuses a date after today (in Europe/London). The boxes in error are marked."""

    widget = NhsDateInput
    default_error_messages = {
        "required": "Enter the {subject}",
        "incomplete": "{Subject} must include a {parts}",
        "invalid": "Enter a real date",
        "year": "Year must include 4 numbers",
        "future": "{Subject} must be today or in the past",
    }

    def __init__(self, *, subject: str = "date", not_future: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "For example, 15 3 1948")
        boxes = (
            forms.CharField(required=False),
            forms.CharField(required=False),
            forms.CharField(required=False),
        )
        super().__init__(boxes, require_all_fields=False, **kwargs)
        self.subject = subject
        self.not_future = not_future

    def _fail(
        self, code: str, boxes: list[str] | tuple[str, ...], **params: str
    ) -> ValidationError:
        assert isinstance(self.widget, NhsDateInput)
        self.widget.parts_in_error = set(boxes)
        message = self.error_messages[code].format(
            subject=self.subject, Subject=self.subject[:1].upper() + self.subject[1:], **params
        )
        return ValidationError(message, code=code)

    def clean(self, value: Any) -> datetime.date | None:
        assert isinstance(self.widget, NhsDateInput)
        self.widget.parts_in_error = set()
        if isinstance(value, datetime.date):  # a disabled field keeps its initial date
            return value
        boxes = list(value) if isinstance(value, (list, tuple)) else []
        boxes = [*boxes, "", "", ""][:3]
        day, month, year = (str(v if v is not None else "").strip() for v in boxes)
        typed = dict(zip(NhsDateInput.PARTS, (day, month, year), strict=True))
        if not any(typed.values()):
            if self.required:
                raise self._fail("required", NhsDateInput.PARTS)
            return None
        missing = [part for part, text in typed.items() if not text]
        if missing:
            raise self._fail("incomplete", missing, parts=" and a ".join(missing))
        not_numbers = [part for part, text in typed.items() if not text.isdigit()]
        if not_numbers:
            raise self._fail("invalid", not_numbers)
        if len(year) != 4:
            raise self._fail("year", ["year"])
        try:
            result = datetime.date(int(year), int(month), int(day))
        except ValueError:
            raise self._fail("invalid", NhsDateInput.PARTS) from None
        if self.not_future and result > timezone.localdate():
            raise self._fail("future", NhsDateInput.PARTS)
        return result

    def compress(self, data_list: list[Any]) -> datetime.date | None:
        """The date of three boxes already checked by clean() (which reports what is wrong)."""
        if not data_list or not all(str(part).strip() for part in data_list):
            return None
        day, month, year = (int(part) for part in data_list)
        return datetime.date(year, month, day)
