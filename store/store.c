/* store.c - the store connection, alert upserts, reads, and the batching
 * writer thread (see store.h). The schema itself lives in migrate.c.
 *
 * The writer pops up to 512 jobs at a time and writes them in one
 * transaction: SQLite's cost is per commit (fsync), not per row.
 */
#include "store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/log.h"
#include "../runtime/queue.h"
#include "../runtime/timeutil.h"
#include "migrate.h"

struct cs_store {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *upsert;
};

static cs_rc db_err(cs_store *s, const char *what)
{
    return cs_err_set(CS_ERR_DB, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

void cs_store_close(cs_store *s)
{
    if (s == NULL) {
        return;
    }
    sqlite3_finalize(s->upsert);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

cs_rc cs_store_open(const char *path, bool readonly, cs_store **out)
{
    cs_store *s = calloc(1, sizeof *s);
    int flags = readonly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    char *err = NULL;
    int version = 0;
    sqlite3_stmt *st = NULL;
    cs_rc rc;

    *out = NULL;
    if (s == NULL || (s->path = strdup(path)) == NULL) {
        free(s);
        return cs_err_set(CS_ERR_NOMEM, "out of memory");
    }
    if (sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        rc = s->db ? db_err(s, "cannot open the store")
                   : cs_err_set(CS_ERR_DB, "%s: cannot open the store", path);
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) {
        rc = db_err(s, "not a citysoc store");
        goto fail;
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        version = sqlite3_column_int(st, 0);
    } else {
        sqlite3_finalize(st);
        rc = db_err(s, "not a citysoc store");
        goto fail;
    }
    sqlite3_finalize(st);
    if (version > CS_STORE_SCHEMA_VERSION) {
        rc = cs_err_set(CS_ERR_DB, "%s: store schema %d is newer than this citysoc (%d)", path, version,
                        CS_STORE_SCHEMA_VERSION);
        goto fail;
    }
    if (readonly) {
        /* Readers never migrate: an older file is read as it is. */
        if (version == 0) {
            rc = cs_err_set(CS_ERR_DB, "%s: not a citysoc store (no schema)", path);
            goto fail;
        }
    } else {
        if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
                         NULL, NULL, &err) != SQLITE_OK) {
            rc = cs_err_set(CS_ERR_DB, "%s: cannot set the journal mode: %s", path, err ? err : "?");
            sqlite3_free(err);
            goto fail;
        }
        if ((rc = cs_store_migrate(s, CS_STORE_SCHEMA_VERSION)) != CS_OK) {
            goto fail;
        }
    }
    *out = s;
    return CS_OK;
fail:
    cs_store_close(s);
    return rc;
}

cs_rc cs_store_begin(cs_store *s)
{
    return sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? CS_OK : db_err(s, "begin");
}

cs_rc cs_store_commit(cs_store *s)
{
    return sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? CS_OK : db_err(s, "commit");
}

void cs_store_rollback(cs_store *s)
{
    if (!sqlite3_get_autocommit(s->db)) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
}

sqlite3 *cs_store_sqlite(cs_store *s)
{
    return s->db;
}

const char *cs_store_path(const cs_store *s)
{
    return s->path;
}

cs_rc cs_store_db_error(cs_store *s, const char *what)
{
    return db_err(s, what);
}

cs_rc cs_store_prepare(cs_store *s, const char *sql, sqlite3_stmt **st)
{
    *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) {
        sqlite3_finalize(*st);
        *st = NULL;
        return db_err(s, "prepare");
    }
    return CS_OK;
}

cs_rc cs_store_step_done(cs_store *s, sqlite3_stmt *st, const char *what)
{
    int r = sqlite3_step(st);
    if (r == SQLITE_DONE || r == SQLITE_ROW) {
        return CS_OK;
    }
    return db_err(s, what);
}

/* A savepoint has the same name at every depth: RELEASE and ROLLBACK TO act
 * on the innermost one, which is the unit being ended. */
cs_rc cs_store_tx_begin(cs_store *s, cs_store_tx *tx)
{
    tx->s = s;
    tx->outer = sqlite3_get_autocommit(s->db) != 0;
    if (sqlite3_exec(s->db, tx->outer ? "BEGIN IMMEDIATE" : "SAVEPOINT cs_unit", NULL, NULL, NULL) != SQLITE_OK) {
        return db_err(s, "begin a transaction");
    }
    return CS_OK;
}

cs_rc cs_store_tx_end(cs_store_tx *tx, cs_rc rc)
{
    sqlite3 *db = tx->s->db;
    if (rc == CS_OK) {
        if (sqlite3_exec(db, tx->outer ? "COMMIT" : "RELEASE cs_unit", NULL, NULL, NULL) == SQLITE_OK) {
            return CS_OK;
        }
        rc = db_err(tx->s, "commit");
    }
    if (tx->outer) {
        if (!sqlite3_get_autocommit(db)) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        }
    } else {
        sqlite3_exec(db, "ROLLBACK TO cs_unit; RELEASE cs_unit", NULL, NULL, NULL);
    }
    return rc;
}

static void bind_field_text(sqlite3_stmt *st, int col, const cs_event *ev, cs_fid id)
{
    const cs_field *f = cs_event_find(ev, id);
    char buf[64];
    size_t n;
    const char *t;
    if (f == NULL) {
        sqlite3_bind_null(st, col);
        return;
    }
    t = cs_field_text(ev, f, buf, sizeof buf, &n);
    sqlite3_bind_text(st, col, t, (int)n, SQLITE_TRANSIENT);
}

cs_rc cs_store_upsert_alert(cs_store *s, const cs_event *alert, const char *evidence_json)
{
    static const char sql[] =
        "INSERT INTO alerts(id, rule_id, title, level, detector, risk, system_id, source_ip, destination_ip,"
        " host_name, agg_key, first_seen, last_seen, count, doc, evidence, created_at, updated_at)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?17)"
        " ON CONFLICT(id) DO UPDATE SET last_seen=max(last_seen, excluded.last_seen),"
        " count=excluded.count, risk=excluded.risk, doc=excluded.doc, updated_at=excluded.updated_at";
    cs_buf doc;
    int64_t v = 0;
    const cs_field *f;
    cs_rc rc = CS_OK;

    if (s->upsert == NULL && sqlite3_prepare_v2(s->db, sql, -1, &s->upsert, NULL) != SQLITE_OK) {
        return db_err(s, "prepare alert upsert");
    }
    cs_buf_init(&doc);
    if ((rc = cs_json_write_event(&doc, alert)) != CS_OK) {
        cs_buf_free(&doc);
        return rc;
    }
    sqlite3_reset(s->upsert);
    sqlite3_clear_bindings(s->upsert);
    bind_field_text(s->upsert, 1, alert, CS_F_CS_ALERT_ID);
    bind_field_text(s->upsert, 2, alert, CS_F_RULE_ID);
    bind_field_text(s->upsert, 3, alert, CS_F_RULE_NAME);
    bind_field_text(s->upsert, 4, alert, CS_F_CS_ALERT_LEVEL);
    bind_field_text(s->upsert, 5, alert, CS_F_RULE_RULESET);
    f = cs_event_find(alert, CS_F_CS_RISK);
    sqlite3_bind_double(s->upsert, 6, f && f->type == CS_T_FLOAT ? f->v.f : 0.0);
    bind_field_text(s->upsert, 7, alert, CS_F_CS_SYSTEM_ID);
    bind_field_text(s->upsert, 8, alert, CS_F_SOURCE_IP);
    bind_field_text(s->upsert, 9, alert, CS_F_DESTINATION_IP);
    bind_field_text(s->upsert, 10, alert, CS_F_HOST_NAME);
    bind_field_text(s->upsert, 11, alert, CS_F_CS_ALERT_KEY);
    cs_event_get_int(alert, CS_F_CS_ALERT_FIRST_SEEN, &v);
    sqlite3_bind_int64(s->upsert, 12, v);
    cs_event_get_int(alert, CS_F_CS_ALERT_LAST_SEEN, &v);
    sqlite3_bind_int64(s->upsert, 13, v);
    v = 1;
    cs_event_get_int(alert, CS_F_CS_ALERT_COUNT, &v);
    sqlite3_bind_int64(s->upsert, 14, v);
    sqlite3_bind_text(s->upsert, 15, doc.data, (int)doc.len, SQLITE_TRANSIENT);
    if (evidence_json != NULL) {
        sqlite3_bind_text(s->upsert, 16, evidence_json, -1, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(s->upsert, 16);
    }
    sqlite3_bind_int64(s->upsert, 17, cs_now_us());
    if (sqlite3_step(s->upsert) != SQLITE_DONE) {
        rc = db_err(s, "write alert");
    }
    sqlite3_reset(s->upsert);
    cs_buf_free(&doc);
    return rc;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

cs_rc cs_store_foreach_alert(cs_store *s, size_t limit, void (*fn)(const cs_alert_row *row, void *ud), void *ud)
{
    static const char sql[] =
        "SELECT id, rule_id, title, level, detector, system_id, source_ip, destination_ip, host_name, status,"
        " doc, risk, first_seen, last_seen, count FROM alerts ORDER BY last_seen DESC, id LIMIT ?1";
    sqlite3_stmt *st = NULL;
    int r;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        return db_err(s, "read alerts");
    }
    sqlite3_bind_int64(st, 1, limit ? (sqlite3_int64)limit : -1);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        cs_alert_row row = {
            col_text(st, 0), col_text(st, 1), col_text(st, 2), col_text(st, 3), col_text(st, 4),
            col_text(st, 5), col_text(st, 6), col_text(st, 7), col_text(st, 8), col_text(st, 9),
            col_text(st, 10), sqlite3_column_double(st, 11), sqlite3_column_int64(st, 12),
            sqlite3_column_int64(st, 13), sqlite3_column_int64(st, 14),
        };
        fn(&row, ud);
    }
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? CS_OK : db_err(s, "read alerts");
}

cs_rc cs_store_count_alerts(cs_store *s, int64_t *n)
{
    sqlite3_stmt *st = NULL;
    cs_rc rc = CS_OK;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM alerts", -1, &st, NULL) != SQLITE_OK) {
        return db_err(s, "count alerts");
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        *n = sqlite3_column_int64(st, 0);
    } else {
        rc = db_err(s, "count alerts");
    }
    sqlite3_finalize(st);
    return rc;
}

/* ---- writer thread ---- */

typedef struct job {
    cs_event *alert;
    char *evidence;
} job;

struct cs_store_writer {
    cs_store *store;
    cs_queue *q;
    pthread_t thread;
    cs_rc first_error;
    char error_msg[1024];
    cs_store_writer_stats st;
};

static void *writer_main(void *arg)
{
    cs_store_writer *w = arg;
    void *items[512];
    pthread_setname_np(pthread_self(), "cs-store");
    for (;;) {
        cs_rc rc;
        size_t n = cs_queue_pop_batch(w->q, items, 512, -1, &rc);
        if (n == 0) {
            break;   /* closed and drained */
        }
        rc = cs_store_begin(w->store);
        for (size_t i = 0; i < n; i++) {
            job *j = items[i];
            if (rc == CS_OK) {
                cs_rc r2 = cs_store_upsert_alert(w->store, j->alert, j->evidence);
                if (r2 == CS_OK) {
                    w->st.alerts_written++;
                } else {
                    rc = r2;
                }
            }
            cs_event_free(j->alert);
            free(j->evidence);
            free(j);
        }
        if (rc == CS_OK) {
            rc = cs_store_commit(w->store);
            w->st.transactions++;
        } else {
            sqlite3_exec(w->store->db, "ROLLBACK", NULL, NULL, NULL);
        }
        if (rc != CS_OK) {
            w->st.errors++;
            if (w->first_error == CS_OK) {
                w->first_error = rc;
                snprintf(w->error_msg, sizeof w->error_msg, "%s", cs_err_msg());
            }
            CS_ERROR("store", "%s", cs_err_msg());
        }
    }
    return NULL;
}

cs_rc cs_store_writer_start(const char *path, size_t queue_capacity, cs_store_writer **out)
{
    cs_store_writer *w = calloc(1, sizeof *w);
    cs_rc rc;
    *out = NULL;
    if (w == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory");
    }
    if ((rc = cs_store_open(path, false, &w->store)) != CS_OK) {
        free(w);
        return rc;
    }
    if ((rc = cs_queue_new(queue_capacity ? queue_capacity : 4096, &w->q)) != CS_OK) {
        cs_store_close(w->store);
        free(w);
        return rc;
    }
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        cs_queue_free(w->q);
        cs_store_close(w->store);
        free(w);
        return cs_err_set(CS_ERR_INTERNAL, "cannot start the store writer thread");
    }
    *out = w;
    return CS_OK;
}

cs_rc cs_store_writer_put_alert(cs_store_writer *w, const cs_event *alert, const cs_event *evidence)
{
    job *j = calloc(1, sizeof *j);
    cs_rc rc;
    if (j == NULL || (j->alert = cs_event_clone(alert)) == NULL) {
        free(j);
        return cs_err_set(CS_ERR_NOMEM, "out of memory queueing an alert");
    }
    if (evidence != NULL) {
        cs_buf b;
        cs_buf_init(&b);
        if (cs_json_write_event(&b, evidence) == CS_OK) {
            j->evidence = b.data;   /* take the buffer */
        } else {
            cs_buf_free(&b);
        }
    }
    rc = cs_queue_push(w->q, j);
    if (rc != CS_OK) {
        cs_event_free(j->alert);
        free(j->evidence);
        free(j);
        return cs_err_set(rc, "the store writer is closed");
    }
    return CS_OK;
}

cs_rc cs_store_writer_finish(cs_store_writer *w, cs_store_writer_stats *st)
{
    cs_rc rc;
    if (w == NULL) {
        return CS_OK;
    }
    cs_queue_close(w->q);
    pthread_join(w->thread, NULL);
    rc = w->first_error;
    if (rc != CS_OK) {
        cs_err_set(rc, "%s", w->error_msg);
    }
    if (st != NULL) {
        *st = w->st;
    }
    cs_queue_free(w->q);
    cs_store_close(w->store);
    free(w);
    return rc;
}

void cs_store_bind_opt_text(sqlite3_stmt *st, int col, const char *t)
{
    if (t != NULL) {
        sqlite3_bind_text(st, col, t, -1, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(st, col);
    }
}

const char *cs_store_column_opt(sqlite3_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(st, col);
}
