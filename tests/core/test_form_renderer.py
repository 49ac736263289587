"""The hub's form renderer (spoc/core/form_renderer.py) writes exactly what Django's widget
templates write, for every widget of every form of the hub and for awkward values, and the call
screen no longer draws its widgets through templates; every field's form group is what the
template it replaces drew (tests/core/field_group.html)."""

from __future__ import annotations

import datetime
import importlib
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django import forms
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.template import Context, Engine
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from spoc.core.form_renderer import HubFormRenderer, form_group
from tests.referrals.factories import PatientFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
HUB_APPS = {
    "calls",
    "experience",
    "interop",
    "patients",
    "referrals",
    "rota",
    "services",
    "spoc",
    "workspace",
}
AWKWARD = 'O\'Brien "Siân" <script>alert(1)</script> & Nguyễn'
DJANGO = DjangoTemplates()
HUB = HubFormRenderer()


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def hub_forms() -> list[type[forms.BaseForm]]:
    """Every form class of the hub, from every ``forms*.py`` of its apps."""
    for path in ROOT.glob("*/**/forms*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        if module.split(".")[0] in HUB_APPS:
            importlib.import_module(module)
    found = {
        cls
        for cls in _subclasses(forms.BaseForm)
        if cls.__module__.split(".")[0] in HUB_APPS and not cls.__name__.startswith("Base")
    }
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def made(cls: type[forms.BaseForm], data: dict[str, Any] | None) -> forms.BaseForm:
    try:
        return cls(data)
    except TypeError:  # the rota's shift forms take the team's people
        return cls(data, people=[])  # type: ignore[call-arg]


def awkward_data(form: forms.BaseForm) -> dict[str, Any]:
    """A value for every field that shows in its widget: an awkward text, or a choice (and an
    unknown one) for a field with choices."""
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        choices = [str(value) for value, _label in getattr(field, "choices", [])][-2:]
        if isinstance(field.widget, forms.SelectMultiple | forms.CheckboxSelectMultiple):
            data[form.add_prefix(name)] = [*choices, AWKWARD]
        elif choices:
            data[form.add_prefix(name)] = choices[-1]
        else:
            data[form.add_prefix(name)] = AWKWARD
    return data


def drawn(form: forms.BaseForm, renderer: DjangoTemplates) -> list[str]:
    """Each widget of ``form`` and each option of its choice widgets, as ``renderer`` draws them."""
    out = []
    for bound in form:
        widget = bound.field.widget
        attrs = bound.build_widget_attrs({"id": bound.auto_id} if bound.auto_id else {})
        out.append(widget.render(bound.html_name, bound.value(), attrs, renderer))
        for option in bound.subwidgets:
            out.append(widget._render(option.template_name, {"widget": option.data}, renderer))
    return out


@pytest.mark.parametrize("bound", [False, True], ids=["unbound", "bound with awkward values"])
def test_every_widget_of_every_form_is_drawn_as_djangos_templates_draw_it(bound):
    classes = hub_forms()
    assert len(classes) >= 40
    for cls in classes:
        form = made(cls, None)
        if bound:
            form = made(cls, awkward_data(form))
            form.is_valid()
        assert drawn(form, HUB) == drawn(form, DJANGO), cls.__name__


# The form group each field was drawn in by a template before `form_group` wrote it in Python.
FIELD_GROUP = Engine.get_default().from_string((ROOT / "tests/core/field_group.html").read_text())


@pytest.mark.parametrize("bound", [False, True], ids=["unbound", "bound with awkward values"])
def test_every_field_of_every_form_is_in_the_form_group_the_template_drew(bound):
    """Label or legend, hint, error message and control, byte for byte, with and without a
    larger label."""
    for cls in hub_forms():
        form = made(cls, None)
        if bound:
            form = made(cls, awkward_data(form))
            form.is_valid()
        for field in form:
            for size in ("", "s"):
                expected = FIELD_GROUP.render(Context({"field": field, "label_size": size}))
                assert form_group(field, size) == expected, f"{cls.__name__}.{field.name}"


class _Choices(forms.Form):
    grouped = forms.ChoiceField(
        choices=[
            ("", "Choose"),
            ("Clinical", [("P1", "P1 <Emergency>"), ("P2", gettext_lazy("P2 Urgent"))]),
            (AWKWARD, [(AWKWARD, AWKWARD)]),
            (3, 3),
        ]
    )
    several = forms.MultipleChoiceField(choices=[("A", "A & B"), ("B", AWKWARD)])
    boxes = forms.MultipleChoiceField(
        choices=[("A", "A"), ("Group", [("B", "B"), ("C", "C")])],
        widget=forms.CheckboxSelectMultiple(attrs={"class": "nhsuk-checkboxes__input"}),
    )
    radios = forms.ChoiceField(choices=[(1, "One"), (2, AWKWARD)], widget=forms.RadioSelect)
    unlabelled = forms.ChoiceField(choices=[("X", "X")], widget=forms.RadioSelect(attrs={}))
    tick = forms.BooleanField()
    when = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    number = forms.IntegerField(widget=forms.NumberInput(attrs={"min": 0, "step": 0.5}))
    text = forms.CharField(
        widget=forms.Textarea(
            attrs={
                "rows": 1,
                "readonly": True,
                "disabled": False,
                "data-safe": mark_safe("<b>"),
                "data-none": None,
                "data-x": AWKWARD,
            }
        )
    )
    hidden = forms.CharField(widget=forms.HiddenInput)
    several_hidden = forms.MultipleChoiceField(
        choices=[("A", "A"), ("B", "B")], widget=forms.MultipleHiddenInput
    )
    password = forms.CharField(widget=forms.PasswordInput(render_value=True))
    email = forms.EmailField()


CHOICES_DATA = {
    "grouped": AWKWARD,
    "several": ["A", "B"],
    "boxes": ["A", "C"],
    "radios": "2",
    "tick": "on",
    "when": "2026-03-29T01:30",
    "number": "-0.5",
    "text": f"\n{AWKWARD}\n",
    "hidden": AWKWARD,
    "several_hidden": ["A", "B"],
    "password": AWKWARD,
    "email": AWKWARD,
}


@pytest.mark.parametrize("data", [None, CHOICES_DATA], ids=["unbound", "bound"])
def test_awkward_values_and_attributes_are_drawn_as_djangos_templates_draw_them(data):
    form = _Choices(
        data, initial={"when": datetime.datetime(2026, 10, 25, 1, 30, tzinfo=datetime.UTC)}
    )
    form.is_valid()
    assert drawn(form, HUB) == drawn(form, DJANGO)
    # Whole widgets too, with their labels wrapped round each box (as {{ field }} draws them).
    for name in ("boxes", "radios", "unlabelled"):
        assert str(form[name]) == form[name].as_widget()
        widget = form.fields[name].widget
        value = form[name].value()
        assert widget.render(name, value, {"id": f"id_{name}"}, HUB) == widget.render(
            name, value, {"id": f"id_{name}"}, DJANGO
        )
        assert widget.render(name, value, None, HUB) == widget.render(name, value, None, DJANGO)


class _OwnOption(forms.Select):
    option_template_name = "django/forms/widgets/input.html"


def test_an_option_with_a_template_of_its_own_is_drawn_by_that_template():
    widget = _OwnOption(choices=[("a", "A"), ("b", AWKWARD)])
    widget.input_type = "text"  # type: ignore[attr-defined]
    assert widget.render("x", "b", {"id": "id_x"}, HUB) == widget.render(
        "x", "b", {"id": "id_x"}, DJANGO
    )


def test_the_hub_draws_its_forms_with_its_renderer():
    assert isinstance(get_default_renderer(), HubFormRenderer)


def test_the_call_screen_draws_no_widget_through_a_template(client, handler):
    client.force_login(handler)
    response = client.get(reverse("calls:new"))
    assert response.status_code == 200
    names = {template.name for template in response.templates}
    assert "calls/call_new.html" in names
    assert not {name for name in names if name and name.startswith("django/forms/widgets/")}


# What differs between two loads of the call screen: the CSRF token (masked afresh on each page)
# and the new call's idempotency key.
TOKENS = re.compile(
    r'(name="csrfmiddlewaretoken" value="|"X-CSRFToken": "|name="idempotency_key" value=")[^"]*'
)


def _page(client, settings, renderer: str, *args: Any, **kwargs: Any) -> str:
    settings.FORM_RENDERER = renderer
    if "data" in kwargs:
        response = client.post(reverse("calls:new"), kwargs["data"])
    else:
        response = client.get(reverse("calls:new"), *args)
    assert response.status_code == 200
    return TOKENS.sub(r"\1…", response.content.decode())


@time_machine.travel(datetime.datetime(2026, 3, 29, 0, 30, tzinfo=datetime.UTC), tick=False)
def test_the_call_screen_is_the_page_djangos_templates_draw(client, settings, handler):
    patient = PatientFactory(given_name="Siân", family_name="O'Brien")
    client.force_login(handler)
    ours, djangos = (
        "spoc.core.form_renderer.HubFormRenderer",
        "django.forms.renderers.DjangoTemplates",
    )
    for query in ({}, {"patient": patient.pk}):
        assert _page(client, settings, ours, query) == _page(client, settings, djangos, query)
    # Shown again with errors: the values typed and the errors, drawn the same.
    typed = {
        "idempotency_key": uuid.uuid4().hex,
        "received_at": timezone.now().isoformat(),
        "patient": patient.pk,
        "caller_type": "CARER_FAMILY",
        "caller_name": AWKWARD,
        "caller_phone": "not a phone",
        "reason": "SYMPTOM_CONTROL",
        "notes": AWKWARD,
        "ipos_pain": "9",
        "red_flags": ["NONE", "MAJOR_BLEED"],
        "needs": ["URGENT_HOME_VISIT", "CARER_SUPPORT"],
        "note_urgent_home_visit": "x" * 2001,
        "priority_carer_support": "P1",
        "disposition": "",
    }
    ours_page = _page(client, settings, ours, data=typed)
    assert ours_page == _page(client, settings, djangos, data=typed)
    assert "O&#x27;Brien &quot;Siân&quot; &lt;script&gt;" in ours_page
    assert "<script>alert(1)</script>" not in ours_page


def test_two_loads_of_the_call_screen_never_share_a_token_or_a_key(client, handler):
    """Nothing of one request's form is kept for the next: each page has its own CSRF token and
    its own idempotency key."""
    client.force_login(handler)
    pages = [client.get(reverse("calls:new")).content.decode() for _ in range(2)]
    tokens = [re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page) for page in pages]
    keys = [re.findall(r'name="idempotency_key" value="([^"]+)"', page) for page in pages]
    assert all(tokens) and all(len(found) == 1 for found in keys)
    assert not set(tokens[0]) & set(tokens[1])
    assert keys[0] != keys[1]
