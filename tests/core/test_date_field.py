"""The NHS.UK date input: three boxes, real dates only, clear messages, nothing lost on an error."""

from datetime import UTC, date, datetime

import time_machine
from django import forms

from spoc.core.form_renderer import form_group
from spoc.core.forms import NhsDateField, NhsFormMixin


class BirthForm(NhsFormMixin, forms.Form):
    name = forms.CharField()
    date_of_birth = NhsDateField(label="Date of birth", subject="date of birth", not_future=True)


class OptionalForm(forms.Form):
    seen = NhsDateField(label="Date seen", required=False)


def birth(day: str, month: str, year: str, name: str = "Siân O'Brien") -> BirthForm:
    return BirthForm(
        {
            "name": name,
            "date_of_birth_day": day,
            "date_of_birth_month": month,
            "date_of_birth_year": year,
        }
    )


def test_three_boxes_make_a_date():
    form = birth("15", "3", "1948")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["date_of_birth"] == date(1948, 3, 15)


def test_leading_zeros_and_spaces_are_fine():
    form = birth(" 05 ", "03", "1948")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["date_of_birth"] == date(1948, 3, 5)


def test_names_with_apostrophes_are_not_affected():
    form = birth("15", "3", "1948", name="Siân O'Brien")
    assert form.is_valid()
    assert form.cleaned_data["name"] == "Siân O'Brien"


@time_machine.travel(datetime(2026, 6, 10, 9, 30, tzinfo=UTC), tick=False)
def test_a_future_date_of_birth_is_refused_and_today_accepted():
    form = birth("11", "6", "2026")
    assert not form.is_valid()
    assert form.errors["date_of_birth"] == ["Date of birth must be today or in the past"]
    assert birth("10", "6", "2026").is_valid()


@time_machine.travel(datetime(2026, 6, 9, 23, 30, tzinfo=UTC), tick=False)
def test_today_is_the_london_date():
    # 23:30 UTC on 9 June is 00:30 on 10 June in London: a baby born on the 10th is born today.
    assert birth("10", "6", "2026").is_valid()


def test_31_february_is_not_a_real_date_and_every_box_is_marked():
    form = birth("31", "2", "1948")
    assert not form.is_valid()
    assert form.errors["date_of_birth"] == ["Enter a real date"]
    html = str(form["date_of_birth"])
    assert html.count("nhsuk-input--error") == 3


def test_a_missing_year_is_named_and_only_its_box_marked():
    form = birth("15", "3", "")
    assert not form.is_valid()
    assert form.errors["date_of_birth"] == ["Date of birth must include a year"]
    html = str(form["date_of_birth"])
    assert html.count("nhsuk-input--error") == 1
    assert "nhsuk-input--width-4 nhsuk-input--error" in html


def test_a_missing_day_and_month_are_both_named():
    form = birth("", "", "1948")
    assert form.errors["date_of_birth"] == ["Date of birth must include a day and a month"]


def test_letters_are_not_a_date_and_what_was_typed_is_kept():
    form = birth("15", "March", "1948")
    assert not form.is_valid()
    assert form.errors["date_of_birth"] == ["Enter a real date"]
    html = str(form["date_of_birth"])
    assert 'value="March"' in html and 'value="15"' in html and 'value="1948"' in html
    assert html.count("nhsuk-input--error") == 1


def test_a_two_digit_year_is_refused():
    assert birth("15", "3", "48").errors["date_of_birth"] == ["Year must include 4 numbers"]


def test_empty_is_required_when_required_and_none_otherwise():
    assert birth("", "", "").errors["date_of_birth"] == ["Enter the date of birth"]
    form = OptionalForm({"seen_day": "", "seen_month": "", "seen_year": ""})
    assert form.is_valid() and form.cleaned_data["seen"] is None


def test_one_iso_value_under_the_fields_name_is_read():
    form = BirthForm({"name": "A", "date_of_birth": "1948-03-15"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["date_of_birth"] == date(1948, 3, 15)


def test_an_error_from_the_service_marks_every_box():
    form = birth("15", "3", "1948")
    assert form.is_valid()
    assert "nhsuk-input--error" not in str(form["date_of_birth"])
    form.add_error("date_of_birth", "Date of birth must be within the last 120 years.")
    assert str(form["date_of_birth"]).count("nhsuk-input--error") == 3


def test_the_boxes_show_the_initial_date_in_a_fieldset_with_legend_and_hint():
    form = BirthForm(initial={"date_of_birth": date(1948, 3, 15)})
    html = form_group(form["date_of_birth"])
    assert '<fieldset class="nhsuk-fieldset" role="group"' in html
    assert (
        '<legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s">Date of birth</legend>'
        in html
    )
    assert "For example, 15 3 1948" in html
    assert html.count('class="nhsuk-date-input__item"') == 3
    for label, name, value, width in (
        ("Day", "date_of_birth_day", "15", 2),
        ("Month", "date_of_birth_month", "3", 2),
        ("Year", "date_of_birth_year", "1948", 4),
    ):
        assert f">{label}</label>" in html
        assert f'name="{name}"' in html and f'value="{value}"' in html
        assert f"nhsuk-input--width-{width}" in html
    assert "nhsuk-input--error" not in html


def test_a_disabled_field_keeps_its_initial_date_and_is_unchanged():
    form = BirthForm({"name": "A"}, initial={"date_of_birth": date(1948, 3, 15)})
    form.fields["date_of_birth"].disabled = True
    assert form.is_valid(), form.errors
    assert form.cleaned_data["date_of_birth"] == date(1948, 3, 15)
    assert "date_of_birth" not in form.changed_data


def test_the_same_date_typed_again_is_not_a_change():
    form = BirthForm(
        {
            "name": "A",
            "date_of_birth_day": "15",
            "date_of_birth_month": "3",
            "date_of_birth_year": "1948",
        },
        initial={"name": "A", "date_of_birth": date(1948, 3, 15)},
    )
    assert form.changed_data == []


def test_compress_makes_the_date_of_three_boxes_and_nothing_of_empty_ones():
    field = NhsDateField(label="Date seen", required=False)
    assert field.compress(["14", "3", "1948"]) == date(1948, 3, 14)
    assert field.compress(["", "", ""]) is None
    assert field.compress([]) is None
