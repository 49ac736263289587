"""A trigram index on the folded name, so "contains" searches stay fast at a million patients.

PostgreSQL only (pg_trgm); on the embedded SQLite default the search works unindexed.
"""

from django.db import migrations


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS patient_search_name_trgm "
        "ON patients_patient USING gin (search_name gin_trgm_ops)"
    )


def reverse(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS patient_search_name_trgm")


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]
    operations = [migrations.RunPython(forward, reverse)]
