"""An index of the folded name in byte order (COLLATE "C") with the id, for the patient search's
first step: the family names starting with what was typed, in name order, read straight from the
index instead of every patient whose name holds it (patients.selectors.patient_search).

PostgreSQL only, built CONCURRENTLY so that patients keep being registered while it builds (the
migration is not atomic; a build interrupted part way leaves an invalid index, which running the
migration again drops and builds anew). SQLite's own order of text is already bytes, and its
index on the column serves the search there.
"""

from django.db import migrations

NAME = "patient_search_name_c"


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}")
    schema_editor.execute(
        f'CREATE INDEX CONCURRENTLY {NAME} ON patients_patient (search_name COLLATE "C", id)'
    )


def reverse(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("patients", "0010_equity")]
    operations = [migrations.RunPython(forward, reverse)]
