-- Fill the access log of a benchmark database with a year of generated rows (bench/README.md,
-- "The access-log page at a year of rows"): psql -v rows=100000000 -f bench/access_log_fill.sql.
-- Needs a superuser (its triggers are switched off while it fills: the rows carry made-up hashes,
-- so verify_access_log fails on this database). The rows mirror the hub's: a patient view 70 % of
-- the time, a list 15 %, a search 10 %, an update 5 %, by the eight demo users in turn, over
-- 1,000,000 patient ids, from 1 December 2025 to 1 December 2026 evenly, in id order; the
-- indexes are dropped first and built again at the end (those of the migrations up to audit/0007). Each month's insert is committed.
\timing on
\if :{?rows}
\else
  \set rows 100000000
\endif
SELECT set_config('bench.rows', :'rows', false);
SET synchronous_commit = off;
SET maintenance_work_mem = '1GB';
ALTER TABLE audit_accesslog DISABLE TRIGGER ALL;
DROP INDEX IF EXISTS accesslog_patient_at, accesslog_user_at, audit_accesslog_at_210015f3,
  accesslog_username_at, accesslog_action_at, accesslog_flagged_at,
  audit_accesslog_user_id_7f87e501;
SELECT now();
DO $$
DECLARE
  m int;
  total bigint := current_setting('bench.rows')::bigint;
  per bigint := total / 12;
  span_start timestamptz := '2025-12-01 00:00+00';
  span interval := '2026-12-01 00:00+00'::timestamptz - '2025-12-01 00:00+00'::timestamptz;
  base bigint := (SELECT coalesce(max(id), 0) FROM audit_accesslog);
BEGIN
  FOR m IN 0..11 LOOP
    INSERT INTO audit_accesslog (id, at, username, action, object_type, object_id, patient_id,
        client_ip, reason, detail, flagged, user_id, row_hash)
    OVERRIDING SYSTEM VALUE
    SELECT base + i,
           span_start + span * (i::float8 / total),
           (ARRAY['handler','nurse','lead','coordinator','manager','diradmin','auditor','admin'])[1 + i % 8],
           CASE WHEN i % 20 < 14 THEN 'VIEW' WHEN i % 20 < 17 THEN 'LIST' WHEN i % 20 < 19 THEN 'SEARCH' ELSE 'UPDATE' END,
           CASE WHEN i % 20 < 14 THEN 'patient' WHEN i % 20 < 17 THEN 'referral_list' ELSE 'patient_search' END,
           CASE WHEN i % 20 < 14 THEN ((i * 7919) % 1000000 + 1)::text ELSE '' END,
           CASE WHEN i % 20 < 14 OR i % 20 = 19 THEN (i * 7919) % 1000000 + 1 END,
           ('10.0.' || (i % 200) || '.' || (i % 250 + 1))::inet,
           '',
           CASE WHEN i % 20 BETWEEN 14 AND 16 THEN jsonb_build_object('count', i % 50) ELSE '{}'::jsonb END,
           i % 100000 = 0,
           1 + i % 8,
           md5(i::text) || md5((i + 1)::text)
    FROM generate_series(m * per + 1, (m + 1) * per) AS i;
    RAISE NOTICE 'month % done at %', m, clock_timestamp();
    COMMIT;
  END LOOP;
END $$;
SELECT now();
SELECT setval(pg_get_serial_sequence('audit_accesslog', 'id'), (SELECT max(id) FROM audit_accesslog));
CREATE INDEX audit_accesslog_at_210015f3 ON audit_accesslog (at);
SELECT now();
CREATE INDEX accesslog_patient_at ON audit_accesslog (patient_id, at);
SELECT now();
CREATE INDEX accesslog_user_at ON audit_accesslog (user_id, at);
SELECT now();
-- Those of audit/0007 (the page's filters), as that migration builds them.
CREATE INDEX accesslog_username_at ON audit_accesslog (upper(username::text), at);
SELECT now();
CREATE INDEX accesslog_action_at ON audit_accesslog (action, at);
SELECT now();
CREATE INDEX accesslog_flagged_at ON audit_accesslog (at) WHERE flagged;
ALTER TABLE audit_accesslog ENABLE TRIGGER ALL;
VACUUM ANALYZE audit_accesslog;
SELECT now(), count(*) FROM audit_accesslog;
