"""API tokens name the browser session that asked for them on their own row (ApiToken.session_digest)
instead of in a list in the session ("api_token_ids"), which a copy of the session kept in Redis
could lose. The tokens listed in the sessions open at the upgrade are linked to them here, so that
signing those sessions out still revokes them."""

import hashlib

from django.contrib.sessions.backends.db import SessionStore
from django.db import migrations, models
from django.utils import timezone

LISTED = "api_token_ids"


def link_listed_tokens(apps, schema_editor):
    Session = apps.get_model("sessions", "Session")
    ApiToken = apps.get_model("accounts", "ApiToken")
    decoder = SessionStore()
    open_sessions = Session.objects.filter(expire_date__gt=timezone.now())
    for session_key, data in open_sessions.values_list("session_key", "session_data").iterator():
        listed = decoder.decode(data).get(LISTED)
        if listed:
            digest = hashlib.sha256(session_key.encode()).hexdigest()
            ApiToken.objects.filter(pk__in=listed).update(session_digest=digest)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_user_devices_epoch"),
        ("sessions", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="session_digest",
            field=models.CharField(blank=True, default="", editable=False, max_length=64),
        ),
        migrations.RunPython(link_listed_tokens, migrations.RunPython.noop),
    ]
