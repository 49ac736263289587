"""A save of the user row never writes its epochs (spoc.accounts.models.User.save): only their
own ``F() + 1`` updates do, so a user read before one of them and saved after it cannot take it
back; the rest of the row is saved as Django saves it."""

import pytest
from django.db.models import F

from spoc.accounts.models import User
from spoc.accounts.roles import Role

pytestmark = pytest.mark.django_db


def test_a_save_writes_the_row_but_not_its_epochs(make_user, django_assert_num_queries):
    user = make_user(Role.CALL_HANDLER, username="handler1")
    as_read = User.objects.get(pk=user.pk)
    User.objects.filter(pk=user.pk).update(
        credentials_epoch=F("credentials_epoch") + 1,
        teams_epoch=F("teams_epoch") + 1,
        devices_epoch=F("devices_epoch") + 1,
    )
    as_read.first_name, as_read.last_name = "Siân", "O'Brien"
    with django_assert_num_queries(1) as saved:
        as_read.save()
    assert "_epoch" not in saved.captured_queries[0]["sql"]
    row = User.objects.get(pk=user.pk)
    assert (row.first_name, row.last_name) == ("Siân", "O'Brien")
    assert (row.credentials_epoch, row.teams_epoch, row.devices_epoch) == (
        user.credentials_epoch + 1,
        user.teams_epoch + 1,
        user.devices_epoch + 1,
    )


def test_a_row_read_in_part_saves_the_columns_it_read(make_user, django_assert_num_queries):
    user = make_user(Role.CALL_HANDLER, username="handler1", email="old@example.nhs.uk")
    part = User.objects.only("first_name").get(pk=user.pk)
    part.first_name = "Nguyễn"
    with django_assert_num_queries(1):  # no read of the columns left out
        part.save()
    row = User.objects.get(pk=user.pk)
    assert (row.first_name, row.email) == ("Nguyễn", "old@example.nhs.uk")


def test_a_new_user_is_saved_whole(make_user):
    user = User(username="new1", credentials_epoch=0)
    user.save()
    assert User.objects.get(pk=user.pk).username == "new1"
