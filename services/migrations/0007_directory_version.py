"""The directory's version (services.models.DirectoryVersion), kept by the database itself.

On PostgreSQL every statement that writes one of the tables routing reads from the directory
(services and their teams, coverage areas, opening hours, closures, capacity reports, sites and
the services' sites) gives the one row of ``services_directoryversion`` a new value from a
sequence of its own, in the writing transaction: the new value is seen with the write, at its
commit, and never before. A statement-level trigger, so whoever writes (the services, the admin,
the Open Referral UK import, the demo seed, a later migration, plain SQL, a TRUNCATE) changes it.

Values come from a sequence, never ``version + 1``: a transaction rolled back (a test's) takes its
row back to the value it had, and the next write must not give that state's label to a different
directory. The sequence belongs to no column, so a TRUNCATE ... RESTART IDENTITY (a test
database emptied) does not start it again either; if the row itself is emptied, the next write
puts it back. Organisations are left out: routing reads none of their columns, and the GP
practices' import writes them in bulk.

SQLite gets the table and no row: routing there reads the directory every time.
"""

from django.db import migrations, models

TABLES = (
    "services_service",
    "services_team",
    "services_coveragearea",
    "services_openinghours",
    "services_closure",
    "services_capacitystatus",
    "services_service_sites",
    "services_site",
)

PG_FORWARD = [
    "CREATE SEQUENCE services_directory_version_seq",
    """
CREATE OR REPLACE FUNCTION services_directory_changed() RETURNS trigger AS $$
BEGIN
    INSERT INTO services_directoryversion (id, version)
    VALUES (1, nextval('services_directory_version_seq'))
    ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql VOLATILE
""",
    *(
        f"CREATE TRIGGER services_directory_changed "
        f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION services_directory_changed()"
        for table in TABLES
    ),
    "INSERT INTO services_directoryversion (id, version) "
    "VALUES (1, nextval('services_directory_version_seq'))",
]
PG_REVERSE = [
    *(f"DROP TRIGGER IF EXISTS services_directory_changed ON {table}" for table in TABLES),
    "DROP FUNCTION IF EXISTS services_directory_changed()",
    "DROP SEQUENCE IF EXISTS services_directory_version_seq",
]


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        for statement in PG_FORWARD:
            schema_editor.execute(statement)


def reverse(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        for statement in PG_REVERSE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("services", "0006_bereavement_specialist")]

    operations = [
        migrations.CreateModel(
            name="DirectoryVersion",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False),
                ),
                ("version", models.BigIntegerField()),
            ],
        ),
        migrations.RunPython(forward, reverse),
    ]
