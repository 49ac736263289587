"""Every form control gets the NHS.UK class of its own kind: a checkbox drawn with the radio's
styles looks unticked when it is ticked."""

import copy
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest
from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.template.loader import render_to_string

from services.models import Site
from spoc.core.form_renderer import form_group
from spoc.core.forms import NhsDateField, NhsFormMixin
from tests.core.forms_html import (
    error_summary,
    posting_forms_without_novalidate,
    required_controls,
    summary_problems,
    unstyled_errors,
)
from tests.packages import HUB_PACKAGES

EXPECTED = {"checkbox": "nhsuk-checkboxes__input", "radio": "nhsuk-radios__input"}


class Sample(NhsFormMixin, forms.Form):
    many = forms.MultipleChoiceField(
        choices=[("A", "A"), ("B", "B")], widget=forms.CheckboxSelectMultiple
    )
    one = forms.ChoiceField(choices=[("A", "A"), ("B", "B")], widget=forms.RadioSelect)
    tick = forms.BooleanField(required=False)


def test_checkbox_lists_are_checkboxes_and_radio_lists_radios():
    form = Sample()
    assert form.fields["many"].widget.attrs["class"] == "nhsuk-checkboxes__input"
    assert form.fields["one"].widget.attrs["class"] == "nhsuk-radios__input"
    assert form.fields["tick"].widget.attrs["class"] == "nhsuk-checkboxes__input"
    html = str(form["many"])
    assert 'type="checkbox"' in html and "nhsuk-radios" not in html


def _hub_form_classes():
    for package in HUB_PACKAGES:
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
            if (
                ".migrations" in info.name
                or ".management" in info.name
                or info.name.startswith("spoc.settings")
            ):
                continue
            module = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, forms.BaseForm) and cls.__module__ == info.name:
                    yield cls


def _our_forms():
    return (cls for cls in _hub_form_classes() if issubclass(cls, NhsFormMixin))


@pytest.mark.django_db
def test_every_form_in_the_hub_classes_each_choice_control_by_its_input_type():
    """A sweep of every NhsFormMixin form: each checkbox or radio widget carries the class of its
    own input type."""
    checked = 0
    for cls in set(_our_forms()):
        fields = getattr(cls, "base_fields", {})
        for name, field in fields.items():
            input_type = getattr(field.widget, "input_type", None)
            if input_type not in EXPECTED:
                continue
            probe = type("Probe", (NhsFormMixin, forms.Form), {name: copy.deepcopy(field)})
            assert EXPECTED[input_type] in probe().fields[name].widget.attrs["class"].split(), (
                f"{cls.__name__}.{name}"
            )
            checked += 1
    # The call screen's needs and red flags, death's place and offer-to, the directory's lists...
    assert checked >= 8


# --- Every form explains itself (docs/architecture.md, "Forms") -------------------------------

# Forms of the hub that are not drawn with NhsFormMixin, each with why. Keep this list short.
NOT_MIXED_IN = {
    # Parses the call screen's triage answers for the live suggestion; never drawn.
    "calls.forms.TriageForm",
}
# Templates that still ask the browser to validate (a `required` attribute, a posting form without
# `novalidate`), each with why. None today: keep it so.
BROWSER_VALIDATED: set[str] = set()
TEMPLATES = Path(settings.BASE_DIR) / "templates"


def _make(cls, data=None):
    """An instance of any of the hub's forms, with what its view would give it."""
    from patients.models import RelatedPerson
    from tests.factories import UserFactory

    params = inspect.signature(cls.__init__).parameters
    kwargs: dict[str, object] = {}
    if "options" in params:
        kwargs["options"] = [(1, "First"), (2, "Second")]
    if "people" in params:
        kwargs["people"] = [
            RelatedPerson(
                pk=1,
                given_name="Siân",
                family_name="Ó Briain",
                relationship="SPOUSE_PARTNER",
                consent_to_contact=True,
            )
        ]
    args = (
        (UserFactory.build(),)
        if issubclass(cls, auth_forms.SetPasswordForm | auth_forms.PasswordChangeForm)
        else ()
    )
    return cls(*args, data=data, **kwargs)


def _drawn(form):
    """Each visible field in its form group (``{% form_field %}``), then the error summary."""
    fields = "".join(
        form_group(form[name]) for name, field in form.fields.items() if not field.widget.is_hidden
    )
    return render_to_string("includes/error_summary.html", {"form": form}) + fields


@pytest.mark.django_db
def test_every_form_of_the_hub_is_drawn_with_the_shared_mixin():
    found = {
        f"{cls.__module__}.{cls.__name__}"
        for cls in _hub_form_classes()
        if not issubclass(cls, NhsFormMixin)
    }
    assert found == NOT_MIXED_IN


@pytest.mark.django_db
def test_no_form_asks_the_browser_to_validate_or_offers_dashes():
    """Unbound, every field of every form: no `required` attribute (the server validates), and no
    empty choice reads "---------" (ModelChoiceFields and model forms' choices included)."""
    checked = 0
    for cls in set(_our_forms()):
        if not issubclass(cls, forms.BaseForm):
            continue
        html = _drawn(_make(cls))
        assert required_controls(html) == [], cls.__name__
        assert "---------" not in html, cls.__name__
        checked += 1
    assert checked >= 30


@pytest.mark.django_db
def test_every_field_in_error_is_drawn_in_error_and_linked_from_the_summary():
    """Posted empty, then every field given an error as a service would: each field's group and
    control carry the error style (selects, textareas, checkboxes, radios, date boxes alike), and
    the summary lists every error in field order, each linked to the field's first control."""
    from tests.factories import OrganisationFactory

    # A hospital site, so that the forms choosing sites have options to draw.
    Site.objects.create(
        organisation=OrganisationFactory(), code="RVY", name="Aintree University Hospital"
    )
    kinds = set()
    for cls in set(_our_forms()):
        if not issubclass(cls, forms.BaseForm):
            continue
        form = _make(cls, data={})
        form.is_valid()
        for name in form.fields:
            if name not in form.errors:
                form.add_error(name, "Something is wrong here")
        html = _drawn(form)
        assert unstyled_errors(html) == [], cls.__name__
        assert summary_problems(html) == [], cls.__name__
        visible = [name for name, field in form.fields.items() if not field.widget.is_hidden]
        linked = [line.href for line in error_summary(html) if line.href]
        assert len(linked) >= len(visible), cls.__name__
        kinds |= {type(form.fields[name].widget).__name__ for name in visible}
    assert {
        "Select",
        "Textarea",
        "CheckboxInput",
        "CheckboxSelectMultiple",
        "RadioSelect",
        "NhsDateInput",
        "TextInput",
        "NumberInput",
        "DateTimeInput",
    } <= kinds


def test_the_summary_links_a_date_to_its_day_box_and_radios_to_the_first_option():
    class Sample(NhsFormMixin, forms.Form):
        when = NhsDateField(label="When")
        rag = forms.ChoiceField(
            label="Capacity", choices=[("GREEN", "Green"), ("RED", "Red")], widget=forms.RadioSelect
        )
        ticks = forms.MultipleChoiceField(
            label="Ticks", choices=[("A", "A"), ("B", "B")], widget=forms.CheckboxSelectMultiple
        )
        site = forms.ModelChoiceField(label="Site", queryset=Site.objects.none())

    form = Sample(data={"when_day": "31", "when_month": "2", "when_year": "2026"})
    form.is_valid()
    form.add_error(None, "Something about the whole form")
    html = _drawn(form)
    assert [line.href for line in error_summary(html)] == [
        "#id_when_0",
        "#id_when_0",
        "#id_rag_0",
        "#id_ticks_0",
        "#id_site",
    ]
    assert summary_problems(html) == [] and unstyled_errors(html) == []
    assert 'id="id_when_0"' in html and 'name="when_day"' in html
    assert '<option value="" selected>Choose…</option>' in html


def test_the_checks_catch_each_mistake():
    """The sweep's checks are not vacuous: each mistake they look for is found."""
    assert required_controls('<input name="a" required>') == ["<input id=None name='a' class=None>"]
    assert posting_forms_without_novalidate('<form method="post"><input name="a"></form>')
    assert not posting_forms_without_novalidate('<form method="post"><button>Go</button></form>')
    group = '<div class="nhsuk-form-group{}"><span class="nhsuk-error-message">Wrong</span><select class="nhsuk-select{}"></select></div>'
    assert unstyled_errors(group.format("", ""))
    assert unstyled_errors(group.format(" nhsuk-form-group--error", ""))
    assert unstyled_errors(group.format(" nhsuk-form-group--error", " nhsuk-select--error")) == []
    summary = (
        '<main><div class="nhsuk-error-summary"><ul><li><a href="#b">B</a></li><li><a href="#a">A</a></li></ul></div>'
        '<form method="post" novalidate><input id="a"><input id="b"></form></main>'
    )
    assert summary_problems(summary) == ["'A' is listed after a field drawn below it"]
    assert summary_problems(summary.replace('id="a"', 'id="c"'))


def _posting_forms(source):
    return re.findall(r"<form\b[^>]*method=\"post\"[^>]*>.*?</form>", source, re.S | re.I)


def test_no_template_asks_the_browser_to_validate():
    """Every template's posting form that holds a field is `novalidate`, and no control is
    written with a `required` attribute (BROWSER_VALIDATED lists the exceptions, with why)."""
    problems = []
    seen = 0
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = str(path.relative_to(TEMPLATES))
        source = path.read_text()
        for form in _posting_forms(source):
            seen += 1
            tag = form[: form.index(">") + 1]
            has_field = re.search(
                r"field\.html|\{\{\s*(form|field|f)\b|<select|<textarea|<input(?![^>]*type=\"hidden\")",
                form,
            )
            if has_field and "novalidate" not in tag and name not in BROWSER_VALIDATED:
                problems.append(f"{name}: {tag}")
        if (
            re.search(r"<(input|select|textarea)\b[^>]*\srequired\b", source)
            and name not in BROWSER_VALIDATED
        ):
            problems.append(f"{name}: a control with a required attribute")
    assert problems == []
    assert seen >= 20
