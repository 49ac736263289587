"""The hub's form renderer (``FORM_RENDERER``): Django's own widgets, drawn without its template
engine.

Django draws each widget from a template, and each option of a select or each box of a group
through an include of its own: the call screen's 86 widgets cost more CPU than the rest of the
page together (docs/performance.md, "The call screen"). ``HubFormRenderer`` writes the markup of
Django's standard widget templates (``django/forms/widgets/``: the inputs, the textarea, the select
and its options, the checkboxes and radios) in Python, character for character what those
templates write, with the same escaping: a value is shown as the template engine shows it
(``render_value_in_context``: localised, escaped unless already safe), an attribute's value as
``stringformat:'s'`` then escaped, an attribute ``True`` bare and ``False`` left out. Any other
template (a widget of our own, such as ``core/widgets/nhs_date_input.html``, the admin's, the
form and error templates) is drawn by Django's templates as before.

``tests/core/test_form_renderer.py`` compares both renderers' output for every widget of every
form of the hub and for awkward values (quotes, scripts, accents, ``True``/``False`` attributes,
option groups, custom option templates), so a Django upgrade that changes its templates fails
there first.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

from django.forms import BoundField
from django.forms.renderers import DjangoTemplates
from django.http import HttpRequest
from django.template.base import render_value_in_context
from django.template.context import Context
from django.template.defaultfilters import stringformat
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, SafeString

WIDGETS = "django/forms/widgets/"

# Read-only: render_value_in_context reads only its autoescape, use_l10n and use_tz.
_CONTEXT = Context(autoescape=True)


def _value(value: Any) -> str:
    """``{{ value }}``."""
    if type(value) is str:  # most of them: not localised, not safe; escaped as escape() does
        return html.escape(value)
    return render_value_in_context(value, _CONTEXT)


def _formatted(value: Any) -> str:
    """``{{ value|stringformat:'s' }}`` (an ``is_safe`` filter: safe in, safe out)."""
    if type(value) is str:
        return html.escape(value)
    text = stringformat(value, "s")
    return _value(SafeString(text) if isinstance(value, SafeData) else text)


def _attrs(attrs: Mapping[str, Any]) -> str:
    """``django/forms/widgets/attrs.html``."""
    return "".join(
        f" {_value(name)}" if value is True else f' {_value(name)}="{_formatted(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


class HubFormRenderer(DjangoTemplates):
    """Django's template-based form renderer, but for the standard widget templates, which it
    writes in Python (module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        draw: dict[str, Callable[[dict[str, Any]], str]] = {
            f"{WIDGETS}input.html": self._input,
            f"{WIDGETS}input_option.html": self._input_option,
            f"{WIDGETS}select.html": self._select,
            f"{WIDGETS}select_option.html": self._select_option,
            f"{WIDGETS}textarea.html": self._textarea,
            f"{WIDGETS}multiple_input.html": self._multiple_input,
        }
        # Templates that are an include of one of the above followed by a newline.
        includes = {
            "input.html": (
                "checkbox",
                "color",
                "date",
                "datetime",
                "email",
                "file",
                "hidden",
                "number",
                "password",
                "search",
                "tel",
                "text",
                "time",
                "url",
            ),
            "input_option.html": ("checkbox_option", "radio_option"),
            "multiple_input.html": ("checkbox_select", "radio"),
        }
        for included, names in includes.items():
            for name in names:
                draw[f"{WIDGETS}{name}.html"] = self._then_newline(draw[f"{WIDGETS}{included}"])
        self._draw = draw

    def render(
        self, template_name: str, context: dict[str, Any], request: HttpRequest | None = None
    ) -> str:
        draw = self._draw.get(template_name)
        if draw is None or request is not None or context.keys() != {"widget"}:
            return super().render(template_name, context, request)
        # As BaseRenderer.render, which strips what the template wrote (an include does not).
        return draw(context["widget"]).strip()

    @staticmethod
    def _then_newline(draw: Callable[[dict[str, Any]], str]) -> Callable[[dict[str, Any]], str]:
        return lambda widget: draw(widget) + "\n"

    def _option(self, option: dict[str, Any]) -> str:
        """``{% include option.template_name with widget=option %}``: not stripped."""
        draw = self._draw.get(option["template_name"])
        if draw is None:
            return self.get_template(option["template_name"]).render({"widget": option})
        return draw(option)

    def _input(self, widget: dict[str, Any]) -> str:
        value = widget["value"]
        shown = f' value="{_formatted(value)}"' if value != None else ""  # noqa: E711 (as the template)
        return (
            f'<input type="{_value(widget["type"])}" name="{_value(widget["name"])}"'
            f"{shown}{_attrs(widget['attrs'])}>\n"
        )

    def _input_option(self, widget: dict[str, Any]) -> str:
        if not widget.get("wrap_label"):
            return self._input(widget) + "\n"
        label_for = widget["attrs"].get("id")
        opening = f'<label for="{_value(label_for)}">' if label_for else "<label>"
        return f"{opening}{self._input(widget)} {_value(widget['label'])}</label>\n"

    def _select(self, widget: dict[str, Any]) -> str:
        parts = [f'<select name="{_value(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group_name, group_choices, _index in widget["optgroups"]:
            if group_name:
                parts.append(f'\n  <optgroup label="{_value(group_name)}">')
            parts.extend(f"\n  {self._option(option)}" for option in group_choices)
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>\n")
        return "".join(parts)

    def _select_option(self, widget: dict[str, Any]) -> str:
        return (
            f'<option value="{_formatted(widget["value"])}"{_attrs(widget["attrs"])}>'
            f"{_value(widget['label'])}</option>\n"
        )

    def _textarea(self, widget: dict[str, Any]) -> str:
        value = _value(widget["value"]) if widget["value"] else ""
        return f'<textarea name="{_value(widget["name"])}"{_attrs(widget["attrs"])}>\n{value}</textarea>\n'

    def _multiple_input(self, widget: dict[str, Any]) -> str:
        attrs = widget["attrs"]
        parts = [
            "<div",
            f' id="{_value(attrs["id"])}"' if attrs.get("id") else "",
            f' class="{_value(attrs["class"])}"' if attrs.get("class") else "",
            ">",
        ]
        for group, options, _index in widget["optgroups"]:
            if group:
                parts.append(f"\n  <div><label>{_value(group)}</label>")
            parts.extend(f"<div>\n    {self._option(option)}</div>" for option in options)
            if group:
                parts.append("\n  </div>")
        parts.append("\n</div>\n")
        return "".join(parts)


def _error_message(field: BoundField, auto_id: str) -> str:
    """The field's error messages, after a visually hidden "Error:"."""
    messages = " ".join(conditional_escape(str(message)) for message in field.errors)
    return (
        f'<span class="nhsuk-error-message" id="{auto_id}-error">'
        f'<span class="nhsuk-u-visually-hidden">Error:</span> {messages}</span>'
    )


def form_group(field: BoundField, label_size: str = "") -> SafeString:
    """A field in its NHS.UK form group, as ``{% form_field %}`` draws it (spoc/core/templatetags/
    hub.py): its label (a legend for radios, a group of checkboxes and a date), hint, error
    message and control, with the ids the control's ``aria-describedby`` names
    (`spoc.core.forms.NhsBoundField.aria_describedby`). ``label_size``: a text box's label drawn
    larger (``s``, ``m``). Every value escaped as ``{{ value }}`` escapes it;
    ``tests/core/test_form_renderer.py`` holds it to the template it replaces."""
    widget = field.field.widget
    input_type = getattr(widget, "input_type", None)
    in_error = bool(field.errors)
    help_text = field.help_text
    auto_id = _value(field.auto_id)
    label = _value(field.label)
    hint = f'<div class="nhsuk-hint" id="{auto_id}-hint">{_value(help_text)}</div>'
    shown_hint = hint if help_text else ""
    error = _error_message(field, auto_id) if in_error else ""
    legend = f'<legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s">{label}</legend>'
    if input_type == "radio" or (
        input_type == "checkbox" and getattr(widget, "allow_multiple_selected", False)
    ):
        described = " ".join(
            ([f"{auto_id}-hint"] if help_text else []) + ([f"{auto_id}-error"] if in_error else [])
        )
        aria = f' aria-describedby="{described}"' if described else ""
        kind, group = (
            ("radios", "nhsuk-radios nhsuk-radios--inline")
            if input_type == "radio"
            else ("checkboxes", "nhsuk-checkboxes nhsuk-checkboxes--small")
        )
        options = "".join(
            f'<div class="nhsuk-{kind}__item">{_value(option.tag())}'
            f'<label class="nhsuk-label nhsuk-{kind}__label" for="{_value(option.id_for_label)}">'
            f"{_value(option.choice_label)}</label></div>"
            for option in field
        )
        inside = (
            f'\n  <fieldset class="nhsuk-fieldset"{aria}>\n    {legend}\n    {shown_hint}\n'
            f'    {error}\n    \n    <div class="{group}">{options}</div>\n    \n  </fieldset>\n'
        )
    elif input_type == "checkbox":
        inside = (
            f'\n  {error}\n  <div class="nhsuk-checkboxes nhsuk-checkboxes--small">'
            f'<div class="nhsuk-checkboxes__item">{_value(field.as_widget())}'
            f'<label class="nhsuk-label nhsuk-checkboxes__label" for="{_value(field.id_for_label)}">'
            f"{label}</label></div></div>\n  {shown_hint}\n"
        )
    elif getattr(widget, "is_nhs_date_input", False):
        described = f"{auto_id}-hint {auto_id}-error" if in_error else f"{auto_id}-hint"
        inside = (
            f'\n  <fieldset class="nhsuk-fieldset" role="group" aria-describedby="{described}">\n'
            f"    {legend}\n    {hint}\n    {error}\n    {_value(field.as_widget())}\n"
            "  </fieldset>\n"
        )
    else:
        size = f" nhsuk-label--{_value(label_size)}" if label_size else ""
        inside = (
            f'\n  <label class="nhsuk-label{size}" for="{_value(field.id_for_label)}">{label}</label>'
            f"\n  {shown_hint}\n  {error}\n  {_value(field.as_widget())}\n"
        )
    group_class = "nhsuk-form-group nhsuk-form-group--error" if in_error else "nhsuk-form-group"
    return SafeString(f'\n<div class="{group_class}">\n{inside}\n</div>\n\n')
