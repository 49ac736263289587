"""On PostgreSQL the database links each new access-log row into the chain itself, in the INSERT.

A BEFORE INSERT trigger takes the chain's advisory lock (held to the end of the transaction), then
gives the row its id (after the lock, so that ids follow the chain's order), reads the last row's
hash and replaces the row's digest, sent by access_log_record, with the link
SHA-256(previous + "\\n" + digest) (spoc/audit/chain.py). One statement, as before the chain: no
extra round trip, and the lock is held from the insert to the commit only. A VOLATILE PL/pgSQL
function reads with a fresh snapshot after taking the lock, so it sees the row the previous
holder committed. Multi-row inserts are linked row after row.

The row's own fields are hashed by the app (a canonical form the database need not know); a row
inserted by other means than access_log_record carries no valid digest and is reported by
verify_access_log. SQLite keeps linking in access_log_record, under its IMMEDIATE transaction.
`row_hash` gets a database default so that Django reads the linked value back (RETURNING); on
SQLite that rebuilds the table, which drops its append-only triggers: they are created again.
"""

from django.db import migrations, models

# spoc/audit/services.py CHAIN_LOCK_KEY.
PG_FORWARD = """
CREATE OR REPLACE FUNCTION audit_accesslog_chain() RETURNS trigger AS $$
DECLARE
    previous text;
BEGIN
    PERFORM pg_advisory_xact_lock(7000101);
    NEW.id := nextval(pg_get_serial_sequence('audit_accesslog', 'id'));
    SELECT row_hash INTO previous FROM audit_accesslog ORDER BY id DESC LIMIT 1;
    NEW.row_hash := encode(sha256(convert_to(
        coalesce(previous, repeat('0', 64)) || E'\\n' || NEW.row_hash, 'UTF8')), 'hex');
    RETURN NEW;
END;
$$ LANGUAGE plpgsql VOLATILE;
CREATE TRIGGER audit_accesslog_chain
    BEFORE INSERT ON audit_accesslog
    FOR EACH ROW EXECUTE FUNCTION audit_accesslog_chain();
"""
PG_REVERSE = """
DROP TRIGGER IF EXISTS audit_accesslog_chain ON audit_accesslog;
DROP FUNCTION IF EXISTS audit_accesslog_chain();
"""
SQLITE_GUARDS = [
    "CREATE TRIGGER IF NOT EXISTS audit_accesslog_no_update BEFORE UPDATE ON audit_accesslog "
    "BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;",
    "CREATE TRIGGER IF NOT EXISTS audit_accesslog_no_delete BEFORE DELETE ON audit_accesslog "
    "BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;",
]


def sqlite_guards_on(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_GUARDS:
            schema_editor.execute(statement)


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)
    sqlite_guards_on(apps, schema_editor)


def reverse(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_access_log_hash_chain")]
    operations = [
        # Undone last when migrating back: the rebuilt SQLite table gets its guards again.
        migrations.RunPython(migrations.RunPython.noop, sqlite_guards_on),
        migrations.AlterField(
            model_name="accesslog",
            name="row_hash",
            field=models.CharField(db_default="", editable=False, max_length=64),
        ),
        migrations.RunPython(forward, reverse),
    ]
