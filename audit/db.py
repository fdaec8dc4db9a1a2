"""PostgreSQL-only DDL of the audit log: the append-only triggers (migration 0002) and the
trigram indexes behind `search` (migration 0003). Both are no-ops on SQLite.

The triggers refuse every TRUNCATE of the audit table, every DELETE unless the transaction
set `centrali.audit_purge` (audit.services.purge_workspace_events and the retention of
audit.services.apply_audit_retention do), and every UPDATE unless the transaction set
`centrali.audit_erasure` (audit.services.erase_personal_data does) and the update only moves
personal fields towards their erased form: every other column unchanged, actor id, address,
user agent and salt unchanged or erased, summary, metadata and resource id unchanged or
replaced by exactly the twin the event committed to (audit.chain). Both settings are set with
set_config(..., is_local => true), so the permission ends with that transaction.
"""

from audit.chain import ERASED_ACTOR_ID
from audit.services.erasure import ERASURE_SETTING
from audit.services.purge import PURGE_SETTING

INSTALL_APPEND_ONLY_TRIGGER = f"""
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND coalesce(current_setting('{PURGE_SETTING}', true), '') = 'on' THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND coalesce(current_setting('{ERASURE_SETTING}', true), '') = 'on' THEN
        IF NEW.id = OLD.id AND NEW.workspace_id = OLD.workspace_id
            AND NEW.event_id IS NOT DISTINCT FROM OLD.event_id
            AND NEW.type = OLD.type AND NEW.resource_type = OLD.resource_type
            AND NEW.actor_type = OLD.actor_type
            AND NEW.request_id = OLD.request_id AND NEW.created_at = OLD.created_at
            AND NEW.previous_hash = OLD.previous_hash AND NEW.entry_hash = OLD.entry_hash
            AND NEW.personal_digest = OLD.personal_digest AND NEW.content_digest = OLD.content_digest
            AND (NEW.actor_id = OLD.actor_id OR NEW.actor_id = '{ERASED_ACTOR_ID}')
            AND (NEW.ip_address IS NOT DISTINCT FROM OLD.ip_address OR NEW.ip_address IS NULL)
            AND (NEW.user_agent = OLD.user_agent OR NEW.user_agent = '')
            AND (NEW.personal_salt = OLD.personal_salt OR NEW.personal_salt = '')
            AND (
                (NEW.summary = OLD.summary AND NEW.metadata = OLD.metadata
                    AND NEW.resource_id = OLD.resource_id AND NEW.redacted IS NOT DISTINCT FROM OLD.redacted)
                OR (OLD.redacted IS NOT NULL AND NEW.redacted IS NULL
                    AND NEW.summary = OLD.redacted->>'summary' AND NEW.metadata = OLD.redacted->'metadata'
                    AND NEW.resource_id = OLD.redacted->>'resource_id')
            )
        THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;
CREATE TRIGGER audit_event_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();

DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;
CREATE TRIGGER audit_event_no_truncate
    BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
"""

# While a migration rewrites every row (the personal-data digests of 0005).
DISABLE_APPEND_ONLY_TRIGGER = "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only"
ENABLE_APPEND_ONLY_TRIGGER = "ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only"

DROP_APPEND_ONLY_TRIGGER = """
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_event_append_only();
"""


def install_append_only_trigger(connection):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(INSTALL_APPEND_ONLY_TRIGGER)


def drop_append_only_trigger(connection):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(DROP_APPEND_ONLY_TRIGGER)


# `search` is icontains over summary and resource id, which Django sends to PostgreSQL as
# UPPER(col::text) LIKE UPPER('%term%'). GIN trigram indexes answer it; leading with the
# workspace (btree_gin) keeps the bitmap to one tenant's rows, which also keeps the planner
# from preferring a backward walk of the primary key when a term is rare.
SEARCH_INDEXES = {
    "audit_ws_summary_trgm": "workspace_id, UPPER(summary::text) gin_trgm_ops",
    "audit_ws_resource_id_trgm": "workspace_id, UPPER(resource_id::text) gin_trgm_ops",
}


def install_search_indexes(connection, *, concurrently=False):
    if connection.vendor != "postgresql":
        return
    how = "CONCURRENTLY " if concurrently else ""
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        cursor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        for name, expression in SEARCH_INDEXES.items():
            cursor.execute(f"CREATE INDEX {how}IF NOT EXISTS {name} ON audit_auditevent USING gin ({expression})")


def drop_search_indexes(connection, *, names=tuple(SEARCH_INDEXES), concurrently=False):
    if connection.vendor != "postgresql":
        return
    how = "CONCURRENTLY " if concurrently else ""
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f"DROP INDEX {how}IF EXISTS {name}")
