"""The access log's archived months (spoc/audit/archive.py). The append-only guards now let a row
be deleted when, and only when, an archive row covers its id: the archive's row is written in the
same transaction as the deletion, after its file was written, fsynced and read back. UPDATE stays
refused, and so does deleting any row no archive covers.
"""

from django.db import migrations, models

PG_FORWARD = """
CREATE OR REPLACE FUNCTION audit_accesslog_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (
        SELECT 1 FROM audit_accesslogarchive a WHERE OLD.id BETWEEN a.first_id AND a.last_id
    ) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the access log is append-only';
END;
$$ LANGUAGE plpgsql;
"""
PG_REVERSE = """
CREATE OR REPLACE FUNCTION audit_accesslog_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the access log is append-only';
END;
$$ LANGUAGE plpgsql;
"""
SQLITE_FORWARD = [
    "DROP TRIGGER IF EXISTS audit_accesslog_no_delete;",
    "CREATE TRIGGER audit_accesslog_no_delete BEFORE DELETE ON audit_accesslog "
    "WHEN NOT EXISTS (SELECT 1 FROM audit_accesslogarchive a "
    "WHERE OLD.id BETWEEN a.first_id AND a.last_id) "
    "BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_accesslog_no_delete;",
    "CREATE TRIGGER audit_accesslog_no_delete BEFORE DELETE ON audit_accesslog "
    "BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;",
]


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def reverse(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_REVERSE)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_REVERSE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0005_access_log_chain_trigger"),
    ]

    operations = [
        migrations.CreateModel(
            name="AccessLogArchive",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "month",
                    models.DateField(help_text="The first day of the month archived.", unique=True),
                ),
                ("file_name", models.CharField(max_length=100)),
                ("sha256", models.CharField(max_length=64)),
                ("rows", models.BigIntegerField()),
                ("first_id", models.BigIntegerField()),
                ("last_id", models.BigIntegerField()),
                ("previous_hash", models.CharField(max_length=64)),
                ("last_hash", models.CharField(max_length=64)),
                ("archived_at", models.DateTimeField()),
            ],
            options={
                "ordering": ["month"],
            },
        ),
        migrations.RunPython(forward, reverse),
    ]
