"""Every form control gets the NHS.UK class of its own kind: a checkbox drawn with the radio's
styles looks unticked when it is ticked."""

import copy
import importlib
import inspect
import pkgutil

import pytest
from django import forms

from spoc.core.forms import NhsFormMixin

EXPECTED = {"checkbox": "nhsuk-checkboxes__input", "radio": "nhsuk-radios__input"}


class Sample(NhsFormMixin, forms.Form):
    many = forms.MultipleChoiceField(choices=[("A", "A"), ("B", "B")], widget=forms.CheckboxSelectMultiple)
    one = forms.ChoiceField(choices=[("A", "A"), ("B", "B")], widget=forms.RadioSelect)
    tick = forms.BooleanField(required=False)


def test_checkbox_lists_are_checkboxes_and_radio_lists_radios():
    form = Sample()
    assert form.fields["many"].widget.attrs["class"] == "nhsuk-checkboxes__input"
    assert form.fields["one"].widget.attrs["class"] == "nhsuk-radios__input"
    assert form.fields["tick"].widget.attrs["class"] == "nhsuk-checkboxes__input"
    html = str(form["many"])
    assert 'type="checkbox"' in html and "nhsuk-radios" not in html


def _our_forms():
    for package in ("spoc", "services", "patients", "referrals"):
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
            if ".migrations" in info.name or ".management" in info.name or info.name.startswith("spoc.settings"):
                continue
            module = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, NhsFormMixin) and cls.__module__ == info.name:
                    yield cls


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
            assert EXPECTED[input_type] in probe().fields[name].widget.attrs["class"].split(), f"{cls.__name__}.{name}"
            checked += 1
    # The call screen's needs and red flags, death's place and offer-to, the directory's lists...
    assert checked >= 8
