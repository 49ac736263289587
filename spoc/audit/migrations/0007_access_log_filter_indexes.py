"""Indexes for the access-log page's filters (the username as the filter compares it, the action,
the flagged rows alone) and no index of its own on the user: the one on (user, at) serves every
lookup by user, so each row written updates one index fewer than it would.

On PostgreSQL the indexes are built and the old one dropped CONCURRENTLY, so a year of rows (a
hundred million) keeps being written while they build (minutes each; docs/performance.md, "The
biggest tables"): the migration is not atomic. A build interrupted part way leaves an invalid
index, which running the migration again drops and builds anew.
"""

from django.conf import settings
from django.db import migrations, models
from django.db.models import F, Q
from django.db.models.functions import Upper

INDEXES = [
    models.Index(Upper("username"), F("at"), name="accesslog_username_at"),
    models.Index(fields=["action", "at"], name="accesslog_action_at"),
    models.Index(fields=["at"], condition=Q(flagged=True), name="accesslog_flagged_at"),
]
# The name Django gave the foreign key's own index (the same on every database).
USER_INDEX = "audit_accesslog_user_id_7f87e501"


def _drop(schema_editor, name: str) -> None:  # type: ignore[no-untyped-def]
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"DROP INDEX {concurrently}IF EXISTS {schema_editor.quote_name(name)}")


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    model = apps.get_model("audit", "AccessLog")
    postgresql = schema_editor.connection.vendor == "postgresql"
    for index in INDEXES:
        if postgresql:
            _drop(schema_editor, index.name)  # an invalid one left by an interrupted build
            schema_editor.add_index(model, index, concurrently=True)
        else:
            schema_editor.add_index(model, index)
    _drop(schema_editor, USER_INDEX)


def reverse(apps, schema_editor):  # type: ignore[no-untyped-def]
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(
        f"CREATE INDEX {concurrently}IF NOT EXISTS {schema_editor.quote_name(USER_INDEX)} "
        "ON audit_accesslog (user_id)"
    )
    for index in INDEXES:
        _drop(schema_editor, index.name)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [
        ("audit", "0006_access_log_archive"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forward, reverse)],
            state_operations=[
                migrations.AlterField(
                    model_name="accesslog",
                    name="user",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                *(migrations.AddIndex(model_name="accesslog", index=index) for index in INDEXES),
            ],
        )
    ]
