/* triage.c - the alert workflow, suppressions and the audit trail (see
 * triage.h).
 *
 * Design: every change is read-check-write inside one unit of work
 * (cs_store_tx: a transaction, or a savepoint of the caller's), so the check
 * sees the row it changes and the audit row commits with the change or not
 * at all. The rules of the alert workflow live in one function,
 * triage_next(), which answers "from this status, may this action run, and
 * to what status" with the sentence to give when it may not. Suppression
 * conditions are validated and normalised with jansson when added (sorted
 * keys, compact), and matched inside SQLite with json_each, so matching is
 * one statement whatever the number of suppressions. Audit details are JSON
 * built with jansson, never by pasting strings.
 */
#include "triage.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[CS_ALERT__COUNT] = {"new", "acknowledged", "assigned", "closed"};
static const char *const op_names[] = {"acknowledge", "assign", "close", "reopen"};
static const char *const condition_fields[] = {"source_ip", "destination_ip", "host_name", "user", "system_id"};

#define CONDITION_VALUE_MAX 1024
#define CONDITIONS_MAX 16

const char *cs_alert_status_name(cs_alert_status st)
{
    return (unsigned)st < CS_ALERT__COUNT ? status_names[st] : "?";
}

bool cs_alert_status_parse(const char *name, cs_alert_status *out)
{
    for (int i = 0; i < CS_ALERT__COUNT; i++) {
        if (name != NULL && strcmp(name, status_names[i]) == 0) {
            *out = (cs_alert_status)i;
            return true;
        }
    }
    return false;
}

const char *cs_alert_resolution_name(cs_alert_resolution r)
{
    switch (r) {
    case CS_RESOLUTION_RESOLVED:
        return "resolved";
    case CS_RESOLUTION_FALSE_POSITIVE:
        return "false_positive";
    default:
        return NULL;
    }
}

static cs_alert_resolution resolution_parse(const char *name)
{
    if (name != NULL && strcmp(name, "resolved") == 0) {
        return CS_RESOLUTION_RESOLVED;
    }
    if (name != NULL && strcmp(name, "false_positive") == 0) {
        return CS_RESOLUTION_FALSE_POSITIVE;
    }
    return CS_RESOLUTION_NONE;
}

static bool has_control(const char *t)
{
    for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return true;
        }
    }
    return false;
}

cs_rc cs_utf8_check(const char *text, const char *what)
{
    /* jansson refuses to make a string of invalid UTF-8: the audit details
     * are JSON, so that is exactly the test they need. */
    json_t *j = json_string(text);
    if (j == NULL) {
        return cs_err_set(CS_ERR_INVAL, "%s is not valid UTF-8", what);
    }
    json_decref(j);
    return CS_OK;
}

cs_rc cs_actor_check(const char *actor, const char *what)
{
    size_t n = actor ? strlen(actor) : 0;
    if (n == 0) {
        return cs_err_set(CS_ERR_INVAL, "%s is required (a user name or \"rule:<id>\")", what);
    }
    if (n > CS_ACTOR_MAX) {
        return cs_err_set(CS_ERR_LIMIT, "%s is %zu bytes long; at most %d are allowed", what, n, CS_ACTOR_MAX);
    }
    if (has_control(actor)) {
        return cs_err_set(CS_ERR_INVAL, "%s \"%s\" contains a control character", what, actor);
    }
    if (strncmp(actor, "rule:", 5) == 0 && actor[5] == '\0') {
        return cs_err_set(CS_ERR_INVAL, "%s \"rule:\" names no rule id", what);
    }
    return cs_utf8_check(actor, what);
}


/* ---- audit ---- */

cs_rc cs_audit_write(cs_store *s, const cs_audit_entry *e)
{
    static const char sql[] = "INSERT INTO audit(at, actor, object_type, object_id, action, from_state, to_state,"
                              " detail) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)";
    sqlite3_stmt *st = NULL;
    cs_rc rc = cs_store_prepare(s, sql, &st);
    if (rc == CS_OK) {
        sqlite3_bind_int64(st, 1, e->at);
        cs_store_bind_opt_text(st, 2, e->actor);
        cs_store_bind_opt_text(st, 3, e->object_type);
        cs_store_bind_opt_text(st, 4, e->object_id);
        cs_store_bind_opt_text(st, 5, e->action);
        cs_store_bind_opt_text(st, 6, e->from_state);
        cs_store_bind_opt_text(st, 7, e->to_state);
        cs_store_bind_opt_text(st, 8, e->detail);
        rc = cs_store_step_done(s, st, "write the audit trail");
    }
    sqlite3_finalize(st);
    return rc;
}

cs_rc cs_audit_foreach(cs_store *s, const char *object_type, const char *object_id, size_t limit,
                       void (*fn)(const cs_audit_row *row, void *ud), void *ud)
{
    static const char sql[] = "SELECT id, at, actor, object_type, object_id, action, from_state, to_state, detail"
                              " FROM audit WHERE (?1 IS NULL OR object_type = ?1) AND (?2 IS NULL OR object_id = ?2)"
                              " ORDER BY id LIMIT ?3";
    sqlite3_stmt *st = NULL;
    int r = SQLITE_DONE;
    cs_rc rc = cs_store_prepare(s, sql, &st);
    if (rc == CS_OK) {
        cs_store_bind_opt_text(st, 1, object_type);
        cs_store_bind_opt_text(st, 2, object_id);
        sqlite3_bind_int64(st, 3, limit ? (sqlite3_int64)limit : -1);
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
            cs_audit_row row = {
                .id = sqlite3_column_int64(st, 0),
                .at = sqlite3_column_int64(st, 1),
                .actor = cs_store_column_opt(st, 2),
                .object_type = cs_store_column_opt(st, 3),
                .object_id = cs_store_column_opt(st, 4),
                .action = cs_store_column_opt(st, 5),
                .from_state = cs_store_column_opt(st, 6),
                .to_state = cs_store_column_opt(st, 7),
                .detail = cs_store_column_opt(st, 8),
            };
            fn(&row, ud);
        }
        if (r != SQLITE_DONE) {
            rc = cs_store_db_error(s, "read the audit trail");
        }
    }
    sqlite3_finalize(st);
    return rc;
}

cs_rc cs_audit_count(cs_store *s, const char *object_type, const char *object_id, int64_t *n)
{
    static const char sql[] = "SELECT count(*) FROM audit WHERE (?1 IS NULL OR object_type = ?1)"
                              " AND (?2 IS NULL OR object_id = ?2)";
    sqlite3_stmt *st = NULL;
    cs_rc rc = cs_store_prepare(s, sql, &st);
    if (rc == CS_OK) {
        cs_store_bind_opt_text(st, 1, object_type);
        cs_store_bind_opt_text(st, 2, object_id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            *n = sqlite3_column_int64(st, 0);
        } else {
            rc = cs_store_db_error(s, "count the audit trail");
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* A compact JSON object from (key, value) pairs, NULL values left out;
 * the caller frees the text with free(). NULL on allocation failure. */
static char *detail_json(const char *k1, const char *v1, const char *k2, const char *v2)
{
    json_t *o = json_object();
    char *text = NULL;
    if (o != NULL) {
        if (k1 != NULL && v1 != NULL) {
            json_object_set_new(o, k1, json_string(v1));
        }
        if (k2 != NULL && v2 != NULL) {
            json_object_set_new(o, k2, json_string(v2));
        }
        text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(o);
    }
    return text;
}

/* ---- alert triage ---- */

/* The one place the alert workflow lives (see the table in triage.h). */
static cs_rc triage_next(const char *alert_id, cs_alert_status from, const cs_triage_change *c,
                         const char *assignee_now, cs_alert_status *to)
{
    switch (c->op) {
    case CS_TRIAGE_ACK:
        if (from == CS_ALERT_NEW) {
            *to = CS_ALERT_ACKNOWLEDGED;
            return CS_OK;
        }
        return cs_err_set(CS_ERR_INVAL, "alert %s is %s: only a new alert can be acknowledged", alert_id,
                          cs_alert_status_name(from));
    case CS_TRIAGE_ASSIGN:
        if (from == CS_ALERT_CLOSED) {
            return cs_err_set(CS_ERR_INVAL, "alert %s is closed: reopen it before assigning it", alert_id);
        }
        if (from == CS_ALERT_ASSIGNED && assignee_now != NULL && strcmp(assignee_now, c->assignee) == 0) {
            return cs_err_set(CS_ERR_INVAL, "alert %s is already assigned to %s", alert_id, c->assignee);
        }
        *to = CS_ALERT_ASSIGNED;
        return CS_OK;
    case CS_TRIAGE_CLOSE:
        if (from == CS_ALERT_CLOSED) {
            return cs_err_set(CS_ERR_INVAL, "alert %s is already closed", alert_id);
        }
        *to = CS_ALERT_CLOSED;
        return CS_OK;
    case CS_TRIAGE_REOPEN:
        if (from == CS_ALERT_CLOSED) {
            *to = CS_ALERT_NEW;
            return CS_OK;
        }
        return cs_err_set(CS_ERR_INVAL, "alert %s is %s: only a closed alert can be reopened", alert_id,
                          cs_alert_status_name(from));
    }
    return cs_err_set(CS_ERR_INVAL, "unknown alert triage action %d", (int)c->op);
}

static cs_rc triage_check(const cs_triage_change *c)
{
    cs_rc rc = cs_actor_check(c->actor, "the actor");
    if (rc != CS_OK) {
        return rc;
    }
    if ((unsigned)c->op > CS_TRIAGE_REOPEN) {
        return cs_err_set(CS_ERR_INVAL, "unknown alert triage action %d", (int)c->op);
    }
    if (c->op == CS_TRIAGE_ASSIGN) {
        return cs_actor_check(c->assignee, "the assignee");
    }
    if (c->op == CS_TRIAGE_CLOSE) {
        if (cs_alert_resolution_name(c->resolution) == NULL) {
            return cs_err_set(CS_ERR_INVAL, "closing an alert needs a resolution: resolved or false_positive");
        }
        if (c->reason != NULL && strlen(c->reason) > CS_REASON_MAX) {
            return cs_err_set(CS_ERR_LIMIT, "the reason for closing is %zu bytes long; at most %d are allowed",
                              strlen(c->reason), CS_REASON_MAX);
        }
        if (c->reason != NULL) {
            return cs_utf8_check(c->reason, "the reason for closing");
        }
    }
    return CS_OK;
}

/* Inside the caller's unit of work. */
static cs_rc triage_one(cs_store *s, const char *alert_id, const cs_triage_change *c)
{
    static const char *const updates[] = {
        [CS_TRIAGE_ACK] = "UPDATE alerts SET status='acknowledged', acknowledged_at=?2, updated_at=?2 WHERE id=?1",
        [CS_TRIAGE_ASSIGN] = "UPDATE alerts SET status='assigned', assignee=?3, updated_at=?2 WHERE id=?1",
        [CS_TRIAGE_CLOSE] = "UPDATE alerts SET status='closed', resolution=?3, closed_at=?2, updated_at=?2"
                            " WHERE id=?1",
        [CS_TRIAGE_REOPEN] = "UPDATE alerts SET status='new', resolution=NULL, closed_at=NULL, assignee=NULL,"
                             " updated_at=?2 WHERE id=?1",
    };
    sqlite3_stmt *st = NULL;
    cs_alert_status from = CS_ALERT_NEW, to = CS_ALERT_NEW;
    char *assignee_now = NULL, *detail = NULL;
    cs_rc rc;

    if (alert_id == NULL || alert_id[0] == '\0') {
        return cs_err_set(CS_ERR_INVAL, "an alert id is required");
    }
    rc = cs_store_prepare(s, "SELECT status, assignee FROM alerts WHERE id = ?1", &st);
    if (rc == CS_OK) {
        int r;
        sqlite3_bind_text(st, 1, alert_id, -1, SQLITE_TRANSIENT);
        r = sqlite3_step(st);
        if (r == SQLITE_DONE) {
            rc = cs_err_set(CS_ERR_NOTFOUND, "there is no alert %s in %s", alert_id, cs_store_path(s));
        } else if (r != SQLITE_ROW) {
            rc = cs_store_db_error(s, "read an alert");
        } else if (!cs_alert_status_parse(cs_store_column_opt(st, 0), &from)) {
            rc = cs_err_set(CS_ERR_DB, "%s: alert %s has an unknown status \"%s\"", cs_store_path(s), alert_id,
                            cs_store_column_opt(st, 0) ? cs_store_column_opt(st, 0) : "");
        } else if (cs_store_column_opt(st, 1) != NULL && (assignee_now = strdup(cs_store_column_opt(st, 1))) == NULL) {
            rc = cs_err_set(CS_ERR_NOMEM, "out of memory");
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == CS_OK) {
        rc = triage_next(alert_id, from, c, assignee_now, &to);
    }
    if (rc == CS_OK) {
        rc = cs_store_prepare(s, updates[c->op], &st);
    }
    if (rc == CS_OK) {
        sqlite3_bind_text(st, 1, alert_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, c->now_us);
        if (c->op == CS_TRIAGE_ASSIGN) {
            sqlite3_bind_text(st, 3, c->assignee, -1, SQLITE_TRANSIENT);
        } else if (c->op == CS_TRIAGE_CLOSE) {
            sqlite3_bind_text(st, 3, cs_alert_resolution_name(c->resolution), -1, SQLITE_STATIC);
        }
        rc = cs_store_step_done(s, st, "change an alert's status");
    }
    if (rc == CS_OK) {
        if (c->op == CS_TRIAGE_ASSIGN) {
            detail = detail_json("assignee", c->assignee, "previous_assignee", assignee_now);
        } else if (c->op == CS_TRIAGE_CLOSE) {
            detail = detail_json("resolution", cs_alert_resolution_name(c->resolution), "reason", c->reason);
        } else {
            detail = detail_json(NULL, NULL, NULL, NULL);
        }
        if (detail == NULL) {
            rc = cs_err_set(CS_ERR_NOMEM, "out of memory");
        }
    }
    if (rc == CS_OK) {
        cs_audit_entry e = {
            .at = c->now_us,
            .actor = c->actor,
            .object_type = "alert",
            .object_id = alert_id,
            .action = op_names[c->op],
            .from_state = cs_alert_status_name(from),
            .to_state = cs_alert_status_name(to),
            .detail = detail,
        };
        rc = cs_audit_write(s, &e);
    }
    sqlite3_finalize(st);
    free(detail);
    free(assignee_now);
    return rc;
}

cs_rc cs_alert_triage_many(cs_store *s, const char *const *alert_ids, size_t n, const cs_triage_change *c)
{
    cs_store_tx tx;
    cs_rc rc = triage_check(c);
    if (rc != CS_OK) {
        return rc;
    }
    if ((rc = cs_store_tx_begin(s, &tx)) != CS_OK) {
        return rc;
    }
    for (size_t i = 0; i < n && rc == CS_OK; i++) {
        rc = triage_one(s, alert_ids[i], c);
    }
    return cs_store_tx_end(&tx, rc);
}

cs_rc cs_alert_triage(cs_store *s, const char *alert_id, const cs_triage_change *c)
{
    return cs_alert_triage_many(s, &alert_id, 1, c);
}

cs_rc cs_alert_acknowledge(cs_store *s, const char *alert_id, const char *actor, int64_t now_us)
{
    cs_triage_change c = {.op = CS_TRIAGE_ACK, .actor = actor, .now_us = now_us};
    return cs_alert_triage(s, alert_id, &c);
}

cs_rc cs_alert_assign(cs_store *s, const char *alert_id, const char *user, const char *actor, int64_t now_us)
{
    cs_triage_change c = {.op = CS_TRIAGE_ASSIGN, .actor = actor, .assignee = user, .now_us = now_us};
    return cs_alert_triage(s, alert_id, &c);
}

cs_rc cs_alert_close(cs_store *s, const char *alert_id, cs_alert_resolution resolution, const char *reason,
                     const char *actor, int64_t now_us)
{
    cs_triage_change c = {
        .op = CS_TRIAGE_CLOSE, .actor = actor, .resolution = resolution, .reason = reason, .now_us = now_us};
    return cs_alert_triage(s, alert_id, &c);
}

cs_rc cs_alert_reopen(cs_store *s, const char *alert_id, const char *actor, int64_t now_us)
{
    cs_triage_change c = {.op = CS_TRIAGE_REOPEN, .actor = actor, .now_us = now_us};
    return cs_alert_triage(s, alert_id, &c);
}

cs_rc cs_alert_get_triage(cs_store *s, const char *alert_id, cs_alert_triage_state *out)
{
    static const char sql[] =
        "SELECT status, resolution, assignee, acknowledged_at, closed_at FROM alerts WHERE id = ?1";
    sqlite3_stmt *st = NULL;
    cs_rc rc = cs_store_prepare(s, sql, &st);
    memset(out, 0, sizeof *out);
    if (rc == CS_OK) {
        int r;
        cs_store_bind_opt_text(st, 1, alert_id);
        r = sqlite3_step(st);
        if (r == SQLITE_DONE) {
            rc = cs_err_set(CS_ERR_NOTFOUND, "there is no alert %s in %s", alert_id ? alert_id : "(null)",
                            cs_store_path(s));
        } else if (r != SQLITE_ROW) {
            rc = cs_store_db_error(s, "read an alert");
        } else if (!cs_alert_status_parse(cs_store_column_opt(st, 0), &out->status)) {
            rc = cs_err_set(CS_ERR_DB, "%s: alert %s has an unknown status", cs_store_path(s), alert_id);
        } else {
            out->resolution = resolution_parse(cs_store_column_opt(st, 1));
            snprintf(out->assignee, sizeof out->assignee, "%s", cs_store_column_opt(st, 2) ? cs_store_column_opt(st, 2) : "");
            out->acknowledged_at = sqlite3_column_int64(st, 3);
            out->closed_at = sqlite3_column_int64(st, 4);
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* ---- suppressions ---- */

static bool condition_field_known(const char *name)
{
    for (size_t i = 0; i < sizeof condition_fields / sizeof condition_fields[0]; i++) {
        if (strcmp(name, condition_fields[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* Validates the conditions and returns them normalised (*out, free());
 * *n_out is the number of fields. */
static cs_rc conditions_normalise(const char *text, char **out, size_t *n_out)
{
    json_error_t jerr;
    json_t *o = NULL;
    const char *key;
    json_t *val;
    cs_rc rc = CS_OK;

    *out = NULL;
    *n_out = 0;
    o = json_loads(text != NULL ? text : "{}", JSON_REJECT_DUPLICATES, &jerr);
    if (o == NULL) {
        return cs_err_set(CS_ERR_PARSE, "suppression conditions are not JSON: %s (column %d)", jerr.text,
                          jerr.column);
    }
    if (!json_is_object(o)) {
        rc = cs_err_set(CS_ERR_INVAL, "suppression conditions must be a JSON object of field -> value");
    } else if (json_object_size(o) > CONDITIONS_MAX) {
        rc = cs_err_set(CS_ERR_LIMIT, "a suppression has %zu conditions; at most %d are allowed",
                        json_object_size(o), CONDITIONS_MAX);
    }
    if (rc == CS_OK) {
        json_object_foreach(o, key, val)
        {
            if (!condition_field_known(key)) {
                rc = cs_err_set(CS_ERR_INVAL,
                                "suppression condition on unknown field \"%s\" (known: source_ip, destination_ip,"
                                " host_name, user, system_id)",
                                key);
                break;
            }
            if (!json_is_string(val) || json_string_length(val) == 0 ||
                json_string_length(val) > CONDITION_VALUE_MAX) {
                rc = cs_err_set(CS_ERR_INVAL, "suppression condition \"%s\" must be a non-empty string of at most"
                                " %d bytes", key, CONDITION_VALUE_MAX);
                break;
            }
        }
    }
    if (rc == CS_OK) {
        *n_out = json_object_size(o);
        if ((*out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
            rc = cs_err_set(CS_ERR_NOMEM, "out of memory");
        }
    }
    json_decref(o);
    return rc;
}

cs_rc cs_suppression_add(cs_store *s, const cs_suppression_new *req, const char *actor, int64_t now_us,
                         int64_t *id_out)
{
    static const char sql[] = "INSERT INTO suppressions(rule_id, conditions, owner, reason, created_at, expires_at)"
                              " VALUES(?1,?2,?3,?4,?5,?6)";
    sqlite3_stmt *st = NULL;
    char *conditions = NULL, *detail = NULL;
    char idtext[24];
    size_t n_cond = 0;
    cs_store_tx tx;
    int64_t id = 0;
    cs_rc rc;

    if (id_out != NULL) {
        *id_out = 0;
    }
    if ((rc = cs_actor_check(actor, "the actor")) != CS_OK ||
        (rc = cs_actor_check(req->owner, "a suppression's owner")) != CS_OK) {
        return rc;
    }
    if (req->reason == NULL || req->reason[0] == '\0') {
        return cs_err_set(CS_ERR_INVAL, "a suppression needs a reason");
    }
    if (strlen(req->reason) > CS_REASON_MAX) {
        return cs_err_set(CS_ERR_LIMIT, "a suppression's reason is %zu bytes long; at most %d are allowed",
                          strlen(req->reason), CS_REASON_MAX);
    }
    if ((rc = cs_utf8_check(req->reason, "a suppression's reason")) != CS_OK) {
        return rc;
    }
    if (req->expires_at <= now_us) {
        return cs_err_set(CS_ERR_INVAL, "a suppression needs an expiry in the future (expires_at %lld <= now %lld)",
                          (long long)req->expires_at, (long long)now_us);
    }
    if (req->rule_id != NULL && req->rule_id[0] == '\0') {
        return cs_err_set(CS_ERR_INVAL, "a suppression's rule id is empty (leave it unset for any rule)");
    }
    if (req->rule_id != NULL && (rc = cs_utf8_check(req->rule_id, "a suppression's rule id")) != CS_OK) {
        return rc;
    }
    if ((rc = conditions_normalise(req->conditions_json, &conditions, &n_cond)) != CS_OK) {
        return rc;
    }
    if (n_cond == 0 && req->rule_id == NULL) {
        free(conditions);
        return cs_err_set(CS_ERR_INVAL, "a suppression needs a rule id or at least one field condition");
    }
    if ((rc = cs_store_tx_begin(s, &tx)) != CS_OK) {
        free(conditions);
        return rc;
    }
    rc = cs_store_prepare(s, sql, &st);
    if (rc == CS_OK) {
        cs_store_bind_opt_text(st, 1, req->rule_id);
        sqlite3_bind_text(st, 2, conditions, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, req->owner, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, req->reason, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 5, now_us);
        sqlite3_bind_int64(st, 6, req->expires_at);
        rc = cs_store_step_done(s, st, "add a suppression");
    }
    if (rc == CS_OK) {
        json_t *o = json_pack("{s:s?,s:o?,s:s,s:s,s:I}", "rule_id", req->rule_id, "conditions",
                              json_loads(conditions, 0, NULL), "owner", req->owner, "reason", req->reason,
                              "expires_at", (json_int_t)req->expires_at);
        id = sqlite3_last_insert_rowid(cs_store_sqlite(s));
        snprintf(idtext, sizeof idtext, "%lld", (long long)id);
        if (o == NULL || (detail = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
            rc = cs_err_set(CS_ERR_NOMEM, "out of memory");
        }
        json_decref(o);
    }
    if (rc == CS_OK) {
        cs_audit_entry e = {.at = now_us, .actor = actor, .object_type = "suppression", .object_id = idtext,
                            .action = "add", .to_state = "active", .detail = detail};
        rc = cs_audit_write(s, &e);
    }
    sqlite3_finalize(st);
    rc = cs_store_tx_end(&tx, rc);
    if (rc == CS_OK && id_out != NULL) {
        *id_out = id;
    }
    free(detail);
    free(conditions);
    return rc;
}

cs_rc cs_suppression_delete(cs_store *s, int64_t id, const char *actor, int64_t now_us)
{
    sqlite3_stmt *st = NULL;
    char *detail = NULL;
    char idtext[24];
    cs_store_tx tx;
    cs_rc rc;

    if ((rc = cs_actor_check(actor, "the actor")) != CS_OK) {
        return rc;
    }
    snprintf(idtext, sizeof idtext, "%lld", (long long)id);
    if ((rc = cs_store_tx_begin(s, &tx)) != CS_OK) {
        return rc;
    }
    rc = cs_store_prepare(s, "SELECT json_object('rule_id', rule_id, 'conditions', json(conditions), 'owner', owner,"
                             " 'reason', reason, 'expires_at', expires_at, 'hits', hits)"
                             " FROM suppressions WHERE id = ?1", &st);
    if (rc == CS_OK) {
        int r;
        sqlite3_bind_int64(st, 1, id);
        r = sqlite3_step(st);
        if (r == SQLITE_DONE) {
            rc = cs_err_set(CS_ERR_NOTFOUND, "there is no suppression %lld in %s", (long long)id, cs_store_path(s));
        } else if (r != SQLITE_ROW) {
            rc = cs_store_db_error(s, "read a suppression");
        } else if ((detail = strdup(cs_store_column_opt(st, 0) ? cs_store_column_opt(st, 0) : "{}")) == NULL) {
            rc = cs_err_set(CS_ERR_NOMEM, "out of memory");
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == CS_OK) {
        rc = cs_store_prepare(s, "DELETE FROM suppressions WHERE id = ?1", &st);
    }
    if (rc == CS_OK) {
        sqlite3_bind_int64(st, 1, id);
        rc = cs_store_step_done(s, st, "delete a suppression");
    }
    if (rc == CS_OK) {
        cs_audit_entry e = {.at = now_us, .actor = actor, .object_type = "suppression", .object_id = idtext,
                            .action = "delete", .from_state = "active", .to_state = "deleted", .detail = detail};
        rc = cs_audit_write(s, &e);
    }
    sqlite3_finalize(st);
    free(detail);
    return cs_store_tx_end(&tx, rc);
}

cs_rc cs_suppression_foreach(cs_store *s, bool include_expired, int64_t now_us,
                             void (*fn)(const cs_suppression_row *row, void *ud), void *ud)
{
    static const char sql[] = "SELECT id, rule_id, conditions, owner, reason, created_at, expires_at, hits, last_hit"
                              " FROM suppressions WHERE ?1 OR expires_at > ?2 ORDER BY id";
    sqlite3_stmt *st = NULL;
    int r;
    cs_rc rc = cs_store_prepare(s, sql, &st);
    if (rc == CS_OK) {
        sqlite3_bind_int(st, 1, include_expired ? 1 : 0);
        sqlite3_bind_int64(st, 2, now_us);
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
            cs_suppression_row row = {
                .id = sqlite3_column_int64(st, 0),
                .rule_id = cs_store_column_opt(st, 1),
                .conditions = cs_store_column_opt(st, 2),
                .owner = cs_store_column_opt(st, 3),
                .reason = cs_store_column_opt(st, 4),
                .created_at = sqlite3_column_int64(st, 5),
                .expires_at = sqlite3_column_int64(st, 6),
                .hits = sqlite3_column_int64(st, 7),
                .last_hit = sqlite3_column_int64(st, 8),
            };
            fn(&row, ud);
        }
        if (r != SQLITE_DONE) {
            rc = cs_store_db_error(s, "read suppressions");
        }
    }
    sqlite3_finalize(st);
    return rc;
}

cs_rc cs_suppression_match(cs_store *s, const char *rule_id, const cs_field_value *fields, size_t n_fields,
                           int64_t now_us, int64_t *matched_id)
{
    /* Every condition of the suppression must find the same value among
     * the alert's fields; a condition on a field the alert lacks fails. */
    static const char sql[] =
        "SELECT s.id FROM suppressions s"
        " WHERE (s.rule_id IS NULL OR s.rule_id = ?1) AND s.expires_at > ?2"
        " AND NOT EXISTS (SELECT 1 FROM json_each(s.conditions) c"
        "  WHERE c.value IS NOT (SELECT f.value FROM json_each(?3) f WHERE f.key = c.key))"
        " ORDER BY s.id LIMIT 1";
    sqlite3_stmt *st = NULL;
    json_t *o = json_object();
    char *alert_fields = NULL;
    cs_store_tx tx;
    int64_t id = 0;
    bool in_tx = false;
    cs_rc rc = CS_OK;

    *matched_id = 0;
    for (size_t i = 0; o != NULL && i < n_fields; i++) {
        if (fields[i].name != NULL && fields[i].value != NULL) {
            json_object_set_new(o, fields[i].name, json_string(fields[i].value));
        }
    }
    if (o == NULL || (alert_fields = json_dumps(o, JSON_COMPACT)) == NULL) {
        rc = cs_err_set(CS_ERR_NOMEM, "out of memory");
    }
    if (rc == CS_OK && (rc = cs_store_tx_begin(s, &tx)) == CS_OK) {
        in_tx = true;
        rc = cs_store_prepare(s, sql, &st);
    }
    if (rc == CS_OK) {
        int r;
        cs_store_bind_opt_text(st, 1, rule_id);
        sqlite3_bind_int64(st, 2, now_us);
        sqlite3_bind_text(st, 3, alert_fields, -1, SQLITE_TRANSIENT);
        r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            id = sqlite3_column_int64(st, 0);
        } else if (r != SQLITE_DONE) {
            rc = cs_store_db_error(s, "match suppressions");
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == CS_OK && id != 0) {
        rc = cs_store_prepare(s, "UPDATE suppressions SET hits = hits + 1, last_hit = ?2 WHERE id = ?1", &st);
        if (rc == CS_OK) {
            sqlite3_bind_int64(st, 1, id);
            sqlite3_bind_int64(st, 2, now_us);
            rc = cs_store_step_done(s, st, "count a suppression hit");
        }
    }
    sqlite3_finalize(st);
    if (in_tx) {
        rc = cs_store_tx_end(&tx, rc);
    }
    if (rc == CS_OK) {
        *matched_id = id;
    }
    free(alert_fields);
    json_decref(o);
    return rc;
}
