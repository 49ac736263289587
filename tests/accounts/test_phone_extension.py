"""A user's phone extension (docs/telephony.md, "The screen pop"): digits only, one user each, set
in the admin."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from spoc.accounts.roles import Role

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("typed", ["1", "20a1", "<b>2001</b>", "12345678901", "２００１"])
def test_an_extension_is_2_to_10_digits(make_user, typed):
    user = make_user(Role.CALL_HANDLER, username="handler1")
    user.phone_extension = typed
    with pytest.raises(ValidationError) as raised:
        user.full_clean()
    assert "phone_extension" in raised.value.message_dict


def test_an_extension_belongs_to_one_user(make_user):
    make_user(Role.CALL_HANDLER, username="handler1", phone_extension="2001")
    other = make_user(Role.CALL_HANDLER, username="handler2", phone_extension="")
    make_user(Role.CALL_HANDLER, username="handler3")  # blank extensions do not clash
    other.phone_extension = "2001"
    with pytest.raises(ValidationError):
        other.full_clean()


def test_the_admin_shows_the_extension(client, make_user):
    admin = make_user(Role.SYSTEM_ADMIN, username="admin1", is_staff=True, is_superuser=True)
    client.force_login(admin)
    page = client.get(f"/admin/accounts/user/{admin.pk}/change/")
    assert page.status_code == 200
    assert 'name="phone_extension"' in page.content.decode()
