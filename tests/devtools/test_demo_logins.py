"""demo_logins: the demo users and their password, as runhub prints them once the hub has started."""

from io import StringIO

from django.core.management import call_command

from devtools.demo.users import DEMO_USERS


def test_demo_logins_lists_every_demo_user_with_its_role_and_the_password(settings):
    settings.DEMO_PASSWORD = "demo-logins-pass"
    out = StringIO()
    call_command("demo_logins", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "Demo logins, password 'demo-logins-pass':"
    assert [line.split(maxsplit=1) for line in lines[1:]] == [
        [user.username, user.role] for user in DEMO_USERS
    ]
