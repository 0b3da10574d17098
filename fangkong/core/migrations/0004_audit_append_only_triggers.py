"""PostgreSQL: the database itself refuses to rewrite the audit log.

UPDATE, DELETE and TRUNCATE of audit rows are refused, and the head may only move forward (a
higher last_seq, the legacy boundary unchanged) and never be deleted, so a writer with plain
DML rights (an injected query, a mistaken script) cannot edit the log or cut rows off its end.
The table owner can still switch triggers off; the keyed chain catches what happens then.

TRUNCATE is allowed only where `fangkong.audit_truncate` is 'allow': the test suite sets it on
its own test database (tests/conftest.py), because flushing between tests truncates every table.
SQLite has no such triggers; there the ORM guard and the keyed chain are the protection.
"""

from typing import Any

from django.db import migrations

EVENTS = "core_auditevent"
HEAD = "core_audithead"

FORWARD = f"""
CREATE OR REPLACE FUNCTION fangkong_audit_truncate_allowed() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('fangkong.audit_truncate', true), '') = 'allow'
$$;

CREATE OR REPLACE FUNCTION fangkong_audit_event_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND fangkong_audit_truncate_allowed() THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE OR REPLACE FUNCTION fangkong_audit_head_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND fangkong_audit_truncate_allowed() THEN
        RETURN NULL;
    ELSIF TG_OP = 'INSERT' AND NEW.id = 1 THEN
        RETURN NEW;
    ELSIF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.last_seq > OLD.last_seq
            AND NEW.legacy_through = OLD.legacy_through THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit head only moves forward: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER fangkong_audit_event_rows BEFORE UPDATE OR DELETE ON {EVENTS}
    FOR EACH ROW EXECUTE FUNCTION fangkong_audit_event_guard();
CREATE TRIGGER fangkong_audit_event_truncate BEFORE TRUNCATE ON {EVENTS}
    FOR EACH STATEMENT EXECUTE FUNCTION fangkong_audit_event_guard();
CREATE TRIGGER fangkong_audit_head_rows BEFORE INSERT OR UPDATE OR DELETE ON {HEAD}
    FOR EACH ROW EXECUTE FUNCTION fangkong_audit_head_guard();
CREATE TRIGGER fangkong_audit_head_truncate BEFORE TRUNCATE ON {HEAD}
    FOR EACH STATEMENT EXECUTE FUNCTION fangkong_audit_head_guard();
"""

BACKWARD = f"""
DROP TRIGGER IF EXISTS fangkong_audit_event_rows ON {EVENTS};
DROP TRIGGER IF EXISTS fangkong_audit_event_truncate ON {EVENTS};
DROP TRIGGER IF EXISTS fangkong_audit_head_rows ON {HEAD};
DROP TRIGGER IF EXISTS fangkong_audit_head_truncate ON {HEAD};
DROP FUNCTION IF EXISTS fangkong_audit_event_guard();
DROP FUNCTION IF EXISTS fangkong_audit_head_guard();
DROP FUNCTION IF EXISTS fangkong_audit_truncate_allowed();
"""


def _on_postgres(sql: str) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            # no parameters: psycopg then sends the several statements as one simple query
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_audit_actor_keeps_deleted_users"),
    ]

    operations = [
        migrations.RunPython(_on_postgres(FORWARD), _on_postgres(BACKWARD)),
    ]
