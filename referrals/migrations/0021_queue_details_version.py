"""What the team queue's rows show from other tables, versioned by the database per team
(referrals.models.QueueDetailsVersion).

A queue row shows the patient's name, NHS number, date of birth (as an age) and postcode (as an
area), whom the referral is for (name, relationship, main carer, phone, postcode) and its owner's
name. A change to any of them, by whoever writes (the patient form, a partner's message, the
admin, plain SQL), gives each team that has a referral of that patient, person or owner a new
value in ``referrals_queuedetailsversion``, in the writing transaction: an open tab's next poll
then draws the queue again. The referrals of every status count, not only the open ones, so the
trigger does not repeat which statuses a queue shows.

On PostgreSQL the values come from a sequence, as the directory's version does (services 0007):
a transaction rolled back gives its value to nobody else. Row triggers with a WHEN clause, so a
sign-in's ``last_login`` or any other column costs nothing. On SQLite the next value is one more
than the largest kept, and the trigger fires on an UPDATE naming those columns.
"""

from django.db import migrations, models

# (table, the referral column that names its row, the columns a queue row shows)
WATCHED = (
    (
        "patients_patient",
        "patient_id",
        ("given_name", "family_name", "nhs_number", "date_of_birth", "postcode"),
    ),
    (
        "patients_relatedperson",
        "for_person_id",
        ("given_name", "family_name", "relationship", "is_main_carer", "phone", "postcode"),
    ),
    ("accounts_user", "owner_id", ("first_name", "last_name", "username")),
)


def _row(prefix: str, columns: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"{prefix}.{column}" for column in columns) + ")"


PG_FORWARD = [
    "CREATE SEQUENCE referrals_queue_details_seq",
    """
CREATE OR REPLACE FUNCTION referrals_queue_details_changed() RETURNS trigger AS $$
BEGIN
    EXECUTE format(
        'INSERT INTO referrals_queuedetailsversion (team_id, version) '
        'SELECT team_id, nextval(''referrals_queue_details_seq'') FROM ('
        '  SELECT DISTINCT team_id FROM referrals_referral WHERE %I = $1 AND team_id IS NOT NULL'
        ') AS teams '
        'ON CONFLICT (team_id) DO UPDATE SET version = EXCLUDED.version',
        TG_ARGV[0]
    ) USING NEW.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql VOLATILE
""",
    *(
        f"CREATE TRIGGER referrals_queue_details_changed AFTER UPDATE ON {table} FOR EACH ROW "
        f"WHEN ({_row('OLD', columns)} IS DISTINCT FROM {_row('NEW', columns)}) "
        f"EXECUTE FUNCTION referrals_queue_details_changed('{column}')"
        for table, column, columns in WATCHED
    ),
]
PG_REVERSE = [
    *(f"DROP TRIGGER IF EXISTS referrals_queue_details_changed ON {t}" for t, _, _ in WATCHED),
    "DROP FUNCTION IF EXISTS referrals_queue_details_changed()",
    "DROP SEQUENCE IF EXISTS referrals_queue_details_seq",
]
# Table and column names are the constants above; the trigger takes no value from outside.
SQLITE_FORWARD = [
    f"CREATE TRIGGER referrals_queue_details_{table} AFTER UPDATE OF {', '.join(columns)} "  # noqa: S608
    f"ON {table} FOR EACH ROW BEGIN "
    "INSERT INTO referrals_queuedetailsversion (team_id, version) "
    "SELECT DISTINCT team_id, "
    "(SELECT COALESCE(MAX(version), 0) + 1 FROM referrals_queuedetailsversion) "
    f"FROM referrals_referral WHERE {column} = NEW.id AND team_id IS NOT NULL "
    "ON CONFLICT (team_id) DO UPDATE SET version = excluded.version; END"
    for table, column, columns in WATCHED
]
SQLITE_REVERSE = [f"DROP TRIGGER IF EXISTS referrals_queue_details_{t}" for t, _, _ in WATCHED]


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    for statement in {"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}.get(vendor, []):
        # No parameters: the driver leaves the function's own format() placeholders alone.
        schema_editor.execute(statement, params=None)


def reverse(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    for statement in {"postgresql": PG_REVERSE, "sqlite": SQLITE_REVERSE}.get(vendor, []):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0020_referral_created_at_index_dropped"),
        ("services", "0007_directory_version"),
        ("patients", "0010_equity"),
        ("accounts", "0006_user_phone_extension"),
    ]

    operations = [
        migrations.CreateModel(
            name="QueueDetailsVersion",
            fields=[
                (
                    "team",
                    models.OneToOneField(
                        on_delete=models.deletion.CASCADE,
                        primary_key=True,
                        related_name="queue_details_version",
                        serialize=False,
                        to="services.team",
                    ),
                ),
                ("version", models.BigIntegerField()),
            ],
        ),
        migrations.RunPython(forward, reverse),
    ]
