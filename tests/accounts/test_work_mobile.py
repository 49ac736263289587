"""A user's work mobile (where an urgent alert reaches a lead off shift): a UK mobile, as typed,
kept in E.164; anything else is refused with a message, never a 500."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from spoc.accounts.models import uk_mobile_normalised
from tests.factories import UserFactory


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("07700 900123", "+447700900123"),
        ("+44 7700 900123", "+447700900123"),
        ("(0044) 7700-900123", "+447700900123"),
        ("07911.123456", "+447911123456"),
        ("", ""),
    ],
)
def test_a_uk_mobile_is_kept_in_e164(typed, kept):
    assert uk_mobile_normalised(typed) == kept


@pytest.mark.parametrize(
    "typed",
    [
        "0151 496 0000",
        "07700 9001234",
        "07700 90012",
        "O77OO 9OO123",
        "+33 6 12 34 56 78",
        "<script>",
    ],
)
def test_anything_but_a_uk_mobile_is_refused_with_a_message(typed):
    with pytest.raises(ValidationError, match="UK mobile"):
        uk_mobile_normalised(typed)


@pytest.mark.django_db
def test_the_admin_form_s_full_clean_stores_it_normalised():
    user = UserFactory(first_name="Siân", last_name="O'Brien")
    user.work_mobile = "07700 900 123"
    user.full_clean()
    user.save()
    user.refresh_from_db()
    assert user.work_mobile == "+447700900123"
    user.work_mobile = "0151 496 0000"
    with pytest.raises(ValidationError) as refused:
        user.full_clean()
    assert "work_mobile" in refused.value.message_dict
