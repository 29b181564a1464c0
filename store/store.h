/* store.h - the embedded SQLite store.
 *
 * One file, WAL mode, so the single writer (the store writer thread) never
 * blocks readers (the API, the CLI, reports), each of which opens its own
 * connection. Every statement is prepared with bound parameters.
 *
 * Schema: versioned with PRAGMA user_version and migrated forward by
 * store/migrate.c when a writer opens the file (readers never migrate; a
 * file newer than this program is refused by both). Version 2 adds alert
 * triage (store/triage.h), suppressions, the audit trail and incident
 * tickets (store/incident.h).
 *
 * Ownership: cs_store_open() returns a connection the caller closes with
 * cs_store_close(); a connection belongs to one thread at a time.
 * The writer (cs_store_writer) owns its own connection and thread; events
 * handed to it are copied.
 */
#ifndef CS_STORE_H
#define CS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../runtime/err.h"
#include "../runtime/event.h"
#include "../runtime/json.h"

#define CS_STORE_SCHEMA_VERSION 2

typedef struct cs_store cs_store;

/* readonly: never creates or migrates; fails if the file does not exist.
 * A writer creates the file if needed and migrates it to
 * CS_STORE_SCHEMA_VERSION (store/migrate.h). */
cs_rc cs_store_open(const char *path, bool readonly, cs_store **out);
void cs_store_close(cs_store *s);

cs_rc cs_store_begin(cs_store *s);
cs_rc cs_store_commit(cs_store *s);
/* Roll back the open transaction, if any; keeps the thread's error message. */
void cs_store_rollback(cs_store *s);
/* Insert an alert, or update count/last seen/document of the same id. */
cs_rc cs_store_upsert_alert(cs_store *s, const cs_event *alert, const char *evidence_json);

typedef struct cs_alert_row {
    const char *id, *rule_id, *title, *level, *detector, *system_id, *source_ip, *destination_ip, *host_name,
        *status, *doc;
    double risk;
    int64_t first_seen, last_seen, count;
} cs_alert_row;

/* Newest first (by last seen); limit 0 = all. Row strings are valid during the callback. */
cs_rc cs_store_foreach_alert(cs_store *s, size_t limit, void (*fn)(const cs_alert_row *row, void *ud), void *ud);
cs_rc cs_store_count_alerts(cs_store *s, int64_t *n);

/* ---- for the store's own modules (migrate.c, triage.c, incident.c) ----
 * The handle and path are borrowed from the store and live as long as it. */
struct sqlite3;
struct sqlite3_stmt;
struct sqlite3 *cs_store_sqlite(cs_store *s);
const char *cs_store_path(const cs_store *s);
/* Sets "PATH: what: sqlite's message" as CS_ERR_DB and returns it. */
cs_rc cs_store_db_error(cs_store *s, const char *what);
/* Prepare sql on the store's connection; the caller finalizes *st. */
cs_rc cs_store_prepare(cs_store *s, const char *sql, struct sqlite3_stmt **st);
/* Bind t (copied) or NULL; read a column as text, NULL when it is NULL. */
void cs_store_bind_opt_text(struct sqlite3_stmt *st, int col, const char *t);
const char *cs_store_column_opt(struct sqlite3_stmt *st, int col);
/* Step a statement that returns no row (INSERT, UPDATE, DELETE). */
cs_rc cs_store_step_done(cs_store *s, struct sqlite3_stmt *st, const char *what);

/* A unit of work: a transaction (BEGIN IMMEDIATE) when none is open on the
 * connection, else a savepoint inside the caller's transaction, so the
 * single-change functions compose into bulk ones. cs_store_tx_end() commits
 * (or releases) when rc is CS_OK, else rolls back to where the unit began;
 * it returns rc, or the commit's error. */
typedef struct cs_store_tx {
    cs_store *s;
    bool outer;   /* this unit opened the transaction */
} cs_store_tx;
cs_rc cs_store_tx_begin(cs_store *s, cs_store_tx *tx);
cs_rc cs_store_tx_end(cs_store_tx *tx, cs_rc rc);

/* ---- the writer thread ---- */
typedef struct cs_store_writer cs_store_writer;
typedef struct cs_store_writer_stats {
    uint64_t alerts_written, transactions, errors;
} cs_store_writer_stats;

cs_rc cs_store_writer_start(const char *path, size_t queue_capacity, cs_store_writer **out);
/* Copies alert (and evidence, may be NULL); blocks when the queue is full. */
cs_rc cs_store_writer_put_alert(cs_store_writer *w, const cs_event *alert, const cs_event *evidence);
/* Drains, commits, joins and frees. Returns the first write error, if any. */
cs_rc cs_store_writer_finish(cs_store_writer *w, cs_store_writer_stats *st);

#endif
