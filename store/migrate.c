/* migrate.c - the store's schema, as an ordered list of migration steps.
 *
 * Design: the file's PRAGMA user_version is the number of the last step
 * applied. Each step is SQL text applied in its own BEGIN IMMEDIATE
 * transaction together with the new user_version, so a crash or an error
 * mid-step leaves the file at the previous version, never half-way. The
 * version is read again inside the transaction: two writers opening the same
 * old file at once cannot apply a step twice. Steps are never edited once
 * released; a change to the schema is a new step at the end of the list and
 * CS_STORE_SCHEMA_VERSION (store.h) moves up by one. Readers never call this.
 *
 * v1  alerts (the first store).
 * v2  alert triage columns, the audit trail, suppressions, and incident
 *     tickets with their alerts, timeline and observables.
 */
#include "migrate.h"

#include <sqlite3.h>
#include <stdio.h>

#include "../runtime/log.h"

typedef struct step {
    int version;
    const char *what;
    const char *sql;
} step;

static const char v1_sql[] =
    "CREATE TABLE IF NOT EXISTS alerts("
    " id TEXT PRIMARY KEY,"
    " rule_id TEXT NOT NULL,"
    " title TEXT NOT NULL,"
    " level TEXT NOT NULL,"
    " detector TEXT,"
    " risk REAL NOT NULL,"
    " system_id TEXT,"
    " source_ip TEXT,"
    " destination_ip TEXT,"
    " host_name TEXT,"
    " agg_key TEXT,"
    " first_seen INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL,"
    " count INTEGER NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'new',"
    " doc TEXT NOT NULL,"
    " evidence TEXT,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS alerts_last_seen ON alerts(last_seen);"
    "CREATE INDEX IF NOT EXISTS alerts_system ON alerts(system_id, last_seen);"
    "CREATE INDEX IF NOT EXISTS alerts_rule ON alerts(rule_id, last_seen);";

/* Times are int64 microseconds since the epoch, UTC, everywhere. */
static const char v2_sql[] =
    /* alert triage: status new|acknowledged|assigned|closed (triage.h) */
    "ALTER TABLE alerts ADD COLUMN assignee TEXT;"
    "ALTER TABLE alerts ADD COLUMN acknowledged_at INTEGER;"
    "ALTER TABLE alerts ADD COLUMN closed_at INTEGER;"
    "ALTER TABLE alerts ADD COLUMN resolution TEXT"
    " CHECK(resolution IS NULL OR resolution IN ('resolved','false_positive'));"
    "CREATE INDEX alerts_status ON alerts(status, last_seen);"
    /* every change made by a person or a rule */
    "CREATE TABLE audit("
    " id INTEGER PRIMARY KEY,"
    " at INTEGER NOT NULL,"
    " actor TEXT NOT NULL,"
    " object_type TEXT NOT NULL"
    "  CHECK(object_type IN ('alert','incident','suppression','rule','system','user')),"
    " object_id TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " from_state TEXT,"
    " to_state TEXT,"
    " detail TEXT);"
    "CREATE INDEX audit_object ON audit(object_type, object_id, id);"
    "CREATE INDEX audit_at ON audit(at);"
    /* allow-lists: conditions is a JSON object of field -> exact value */
    "CREATE TABLE suppressions("
    " id INTEGER PRIMARY KEY,"
    " rule_id TEXT,"
    " conditions TEXT NOT NULL,"
    " owner TEXT NOT NULL,"
    " reason TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " hits INTEGER NOT NULL DEFAULT 0,"
    " last_hit INTEGER);"
    "CREATE INDEX suppressions_rule ON suppressions(rule_id, expires_at);"
    /* incident tickets (incident.h) */
    "CREATE TABLE incidents("
    " id INTEGER PRIMARY KEY,"
    " title TEXT NOT NULL,"
    " severity TEXT NOT NULL CHECK(severity IN ('low','medium','high','critical')),"
    " state TEXT NOT NULL CHECK(state IN ('new','assigned','investigating','contained','resolved',"
    "  'closed','false_positive')),"
    " assignee TEXT,"
    " system_id TEXT,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " sla_due INTEGER NOT NULL,"
    " closed_at INTEGER,"
    " merged_into INTEGER REFERENCES incidents(id));"
    "CREATE INDEX incidents_state ON incidents(state, id);"
    "CREATE INDEX incidents_severity ON incidents(severity, id);"
    "CREATE INDEX incidents_assignee ON incidents(assignee, id);"
    "CREATE INDEX incidents_merged ON incidents(merged_into) WHERE merged_into IS NOT NULL;"
    "CREATE INDEX incidents_sla ON incidents(sla_due)"
    " WHERE state NOT IN ('resolved','closed','false_positive');"
    "CREATE TABLE incident_alerts("
    " incident_id INTEGER NOT NULL REFERENCES incidents(id),"
    " alert_id TEXT NOT NULL,"
    " linked_at INTEGER NOT NULL,"
    " linked_by TEXT NOT NULL,"
    " PRIMARY KEY(incident_id, alert_id)) WITHOUT ROWID;"
    "CREATE INDEX incident_alerts_alert ON incident_alerts(alert_id);"
    "CREATE TABLE incident_timeline("
    " id INTEGER PRIMARY KEY,"
    " incident_id INTEGER NOT NULL REFERENCES incidents(id),"
    " at INTEGER NOT NULL,"
    " actor TEXT NOT NULL,"
    " kind TEXT NOT NULL CHECK(kind IN ('comment','state','assign','link','observable','merge')),"
    " text TEXT,"
    " from_state TEXT,"
    " to_state TEXT);"
    "CREATE INDEX incident_timeline_incident ON incident_timeline(incident_id, id);"
    "CREATE TABLE observables("
    " id INTEGER PRIMARY KEY,"
    " incident_id INTEGER NOT NULL REFERENCES incidents(id),"
    " type TEXT NOT NULL CHECK(type IN ('ip','domain','hash','user','url','email')),"
    " value TEXT NOT NULL,"
    " first_seen INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL,"
    " UNIQUE(incident_id, type, value));"
    "CREATE INDEX observables_value ON observables(type, value);";

static const step steps[] = {
    {1, "alerts", v1_sql},
    {2, "alert triage, audit trail, suppressions, incidents", v2_sql},
};

_Static_assert(sizeof steps / sizeof steps[0] == CS_STORE_SCHEMA_VERSION,
               "one migration step per schema version");

cs_rc cs_store_schema_version(cs_store *s, int *version)
{
    sqlite3_stmt *st = NULL;
    cs_rc rc = cs_store_prepare(s, "PRAGMA user_version", &st);
    if (rc == CS_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) {
            *version = sqlite3_column_int(st, 0);
        } else {
            rc = cs_store_db_error(s, "read the schema version");
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* One step in its own transaction; *applied tells whether it ran (another
 * writer may have applied it first). */
static cs_rc apply_step(cs_store *s, const step *sp, bool *applied)
{
    sqlite3 *db = cs_store_sqlite(s);
    char pragma[48];
    char *err = NULL;
    int version = 0;
    cs_rc rc;

    *applied = false;
    if (!sqlite3_get_autocommit(db)) {
        return cs_err_set(CS_ERR_INTERNAL, "%s: migration inside an open transaction", cs_store_path(s));
    }
    if ((rc = cs_store_begin(s)) != CS_OK) {
        return rc;
    }
    rc = cs_store_schema_version(s, &version);
    if (rc == CS_OK && version > CS_STORE_SCHEMA_VERSION) {
        rc = cs_err_set(CS_ERR_DB, "%s: store schema %d is newer than this citysoc (%d)", cs_store_path(s),
                        version, CS_STORE_SCHEMA_VERSION);
    }
    if (rc == CS_OK && version < sp->version) {
        /* The version is a compile-time integer, not data: PRAGMA takes no parameters. */
        snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", sp->version);
        if (version != sp->version - 1) {
            rc = cs_err_set(CS_ERR_INTERNAL, "%s: schema %d cannot take step %d", cs_store_path(s), version,
                            sp->version);
        } else if (sqlite3_exec(db, sp->sql, NULL, NULL, &err) != SQLITE_OK ||
                   sqlite3_exec(db, pragma, NULL, NULL, &err) != SQLITE_OK) {
            rc = cs_err_set(CS_ERR_DB, "%s: migration to schema %d (%s) failed: %s", cs_store_path(s), sp->version,
                            sp->what, err ? err : sqlite3_errmsg(db));
            sqlite3_free(err);
        } else {
            *applied = true;
        }
    }
    if (rc == CS_OK) {
        rc = cs_store_commit(s);
    }
    if (rc != CS_OK) {
        cs_store_rollback(s);
        *applied = false;
    }
    return rc;
}

cs_rc cs_store_migrate(cs_store *s, int target)
{
    int version = 0;
    cs_rc rc;

    if (target < 1 || target > CS_STORE_SCHEMA_VERSION) {
        return cs_err_set(CS_ERR_INVAL, "%s: no schema version %d (this citysoc knows 1 to %d)", cs_store_path(s),
                          target, CS_STORE_SCHEMA_VERSION);
    }
    if ((rc = cs_store_schema_version(s, &version)) != CS_OK) {
        return rc;
    }
    if (version > CS_STORE_SCHEMA_VERSION) {
        return cs_err_set(CS_ERR_DB, "%s: store schema %d is newer than this citysoc (%d)", cs_store_path(s),
                          version, CS_STORE_SCHEMA_VERSION);
    }
    for (size_t i = 0; i < sizeof steps / sizeof steps[0] && rc == CS_OK; i++) {
        bool applied = false;
        if (steps[i].version <= version || steps[i].version > target) {
            continue;
        }
        rc = apply_step(s, &steps[i], &applied);
        if (rc == CS_OK && applied && version > 0) {
            CS_INFO("store", "%s: schema migrated to version %d (%s)", cs_store_path(s), steps[i].version,
                    steps[i].what);
        }
    }
    return rc;
}
