"""The team queue's page orders only the referrals waiting of the priorities that fill it
(referrals.selectors.queue): ``referral_open_queue`` takes the priority as its third key column,
so those are read from the index alone instead of every open referral of the team.

On PostgreSQL the new index is built CONCURRENTLY beside the old one, which is then dropped
CONCURRENTLY and the new one renamed, so that referrals keep being written while it builds (the
migration is not atomic; run again after an interruption, it builds the new index anew).
"""

from django.db import migrations, models

NAME = "referral_open_queue"
OPEN = models.Q(("status__in", ("QUEUED", "ACCEPTED", "IN_PROGRESS", "ON_HOLD")))
COLUMNS = ("first_contact_at", "contact_by", "at_risk_at", "accept_by", "updated_at", "id")
OLD = models.Index(
    condition=OPEN, fields=["team", "status"], include=("priority", *COLUMNS), name=NAME
)
NEW = models.Index(
    condition=OPEN, fields=["team", "status", "priority"], include=COLUMNS, name=NAME
)


def _rebuild(schema_editor, model, old, new):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.remove_index(model, old)
        schema_editor.add_index(model, new)
        return
    building = models.Index(
        condition=new.condition,
        fields=new.fields,
        include=new.include,
        name=f"{NAME}_new",
    )
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {building.name}")
    schema_editor.add_index(model, building, concurrently=True)
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}")
    schema_editor.execute(f"ALTER INDEX {building.name} RENAME TO {NAME}")


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    _rebuild(schema_editor, apps.get_model("referrals", "Referral"), OLD, NEW)


def reverse(apps, schema_editor):  # type: ignore[no-untyped-def]
    _rebuild(schema_editor, apps.get_model("referrals", "Referral"), NEW, OLD)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("referrals", "0021_queue_details_version")]
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forward, reverse)],
            state_operations=[
                migrations.RemoveIndex(model_name="referral", name=NAME),
                migrations.AddIndex(model_name="referral", index=NEW),
            ],
        )
    ]
