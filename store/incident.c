/* incident.c - incident tickets in the store (see incident.h).
 *
 * Design: the lifecycle is one 7x7 table of booleans, `allowed`, read only
 * through cs_incident_transition_allowed(); every path that changes a state
 * (transition, assign's new -> assigned) goes through
 * cs_incident_transition_check(), except merge, which closes the merged
 * incident by definition. Each public change is a unit of work (cs_store_tx):
 * load the incident, check, write the change, then one timeline row and one
 * audit row through the two helpers timeline_add() and audit_add(), so a
 * change never commits without its record. Lists use a keyset cursor on the
 * integer id (newest first) rather than OFFSET, so page N costs what page 1
 * costs; the SLA-breach query matches the partial index incidents_sla
 * (migrate.c) word for word so SQLite can use it.
 */
#include "incident.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "triage.h"

#define HOUR_US (3600LL * 1000000LL)
#define LIST_DEFAULT 50
#define LIST_MAX 1000

static const char *const state_names[CS_INC__STATE_COUNT] = {
    "new", "assigned", "investigating", "contained", "resolved", "closed", "false_positive",
};
static const char *const severity_names[CS_SEV__COUNT] = {"low", "medium", "high", "critical"};
static const char *const observable_names[CS_OBS__COUNT] = {"ip", "domain", "hash", "user", "url", "email"};

/* allowed[from][to]: the table in incident.h, and nowhere else. */
static const bool allowed[CS_INC__STATE_COUNT][CS_INC__STATE_COUNT] = {
    [CS_INC_NEW] = {[CS_INC_ASSIGNED] = true, [CS_INC_INVESTIGATING] = true, [CS_INC_FALSE_POSITIVE] = true},
    [CS_INC_ASSIGNED] = {[CS_INC_INVESTIGATING] = true, [CS_INC_FALSE_POSITIVE] = true},
    [CS_INC_INVESTIGATING] = {[CS_INC_CONTAINED] = true, [CS_INC_RESOLVED] = true, [CS_INC_FALSE_POSITIVE] = true},
    [CS_INC_CONTAINED] = {[CS_INC_RESOLVED] = true},
    [CS_INC_RESOLVED] = {[CS_INC_CLOSED] = true, [CS_INC_INVESTIGATING] = true},
    [CS_INC_CLOSED] = {[CS_INC_INVESTIGATING] = true},
    [CS_INC_FALSE_POSITIVE] = {[CS_INC_CLOSED] = true},
};

/* The columns every incident row is read with (row_from()). */
#define INCIDENT_COLS                                                                                       \
    "id, title, severity, state, assignee, system_id, created_at, updated_at, sla_due, closed_at, merged_into"

static bool parse_name(const char *const *names, int n, const char *name, int *out)
{
    for (int i = 0; name != NULL && i < n; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = i;
            return true;
        }
    }
    return false;
}

const char *cs_incident_state_name(cs_incident_state st)
{
    return (unsigned)st < CS_INC__STATE_COUNT ? state_names[st] : "?";
}

bool cs_incident_state_parse(const char *name, cs_incident_state *out)
{
    int i;
    if (!parse_name(state_names, CS_INC__STATE_COUNT, name, &i)) {
        return false;
    }
    *out = (cs_incident_state)i;
    return true;
}

const char *cs_severity_name(cs_severity sev)
{
    return (unsigned)sev < CS_SEV__COUNT ? severity_names[sev] : "?";
}

bool cs_severity_parse(const char *name, cs_severity *out)
{
    int i;
    if (!parse_name(severity_names, CS_SEV__COUNT, name, &i)) {
        return false;
    }
    *out = (cs_severity)i;
    return true;
}

const char *cs_observable_type_name(cs_observable_type t)
{
    return (unsigned)t < CS_OBS__COUNT ? observable_names[t] : "?";
}

bool cs_observable_type_parse(const char *name, cs_observable_type *out)
{
    int i;
    if (!parse_name(observable_names, CS_OBS__COUNT, name, &i)) {
        return false;
    }
    *out = (cs_observable_type)i;
    return true;
}

bool cs_incident_transition_allowed(cs_incident_state from, cs_incident_state to)
{
    return (unsigned)from < CS_INC__STATE_COUNT && (unsigned)to < CS_INC__STATE_COUNT && allowed[from][to];
}

void cs_incident_next_states(cs_incident_state from, char *buf, size_t bufsz)
{
    size_t used = 0;
    if (bufsz == 0) {
        return;
    }
    buf[0] = '\0';
    for (int to = 0; to < CS_INC__STATE_COUNT; to++) {
        if (cs_incident_transition_allowed(from, (cs_incident_state)to)) {
            int n = snprintf(buf + used, bufsz - used, "%s%s", used ? ", " : "", state_names[to]);
            if (n < 0 || (size_t)n >= bufsz - used) {
                break;
            }
            used += (size_t)n;
        }
    }
    if (used == 0) {
        snprintf(buf, bufsz, "none");
    }
}

cs_rc cs_incident_transition_check(int64_t id, cs_incident_state from, cs_incident_state to)
{
    char next[160];
    if ((unsigned)to >= CS_INC__STATE_COUNT) {
        return cs_err_set(CS_ERR_INVAL, "incident #%lld: %d is not an incident state", (long long)id, (int)to);
    }
    if (cs_incident_transition_allowed(from, to)) {
        return CS_OK;
    }
    cs_incident_next_states(from, next, sizeof next);
    return cs_err_set(CS_ERR_INVAL, "incident #%lld cannot go from %s to %s; from %s it can go to: %s", (long long)id,
                      cs_incident_state_name(from), cs_incident_state_name(to), cs_incident_state_name(from),
                      next);
}

cs_sla_policy cs_sla_policy_default(void)
{
    cs_sla_policy p;
    p.due_us[CS_SEV_CRITICAL] = 4 * HOUR_US;
    p.due_us[CS_SEV_HIGH] = 24 * HOUR_US;
    p.due_us[CS_SEV_MEDIUM] = 72 * HOUR_US;
    p.due_us[CS_SEV_LOW] = 7 * 24 * HOUR_US;
    return p;
}

/* ---- helpers ---- */


static void row_from(sqlite3_stmt *st, cs_incident_row *row)
{
    int sev = CS_SEV_LOW, state = CS_INC_NEW;
    parse_name(severity_names, CS_SEV__COUNT, cs_store_column_opt(st, 2), &sev);
    parse_name(state_names, CS_INC__STATE_COUNT, cs_store_column_opt(st, 3), &state);
    row->id = sqlite3_column_int64(st, 0);
    row->title = cs_store_column_opt(st, 1) ? cs_store_column_opt(st, 1) : "";
    row->severity = (cs_severity)sev;
    row->state = (cs_incident_state)state;
    row->assignee = cs_store_column_opt(st, 4);
    row->system_id = cs_store_column_opt(st, 5);
    row->created_at = sqlite3_column_int64(st, 6);
    row->updated_at = sqlite3_column_int64(st, 7);
    row->sla_due = sqlite3_column_int64(st, 8);
    row->closed_at = sqlite3_column_int64(st, 9);
    row->merged_into = sqlite3_column_int64(st, 10);
}

/* What a change needs to know about the incident it changes. */
typedef struct loaded {
    cs_incident_state state;
    int64_t merged_into;
    char *assignee; /* NULL if none; freed by loaded_free() */
} loaded;

static void loaded_free(loaded *l)
{
    free(l->assignee);
    l->assignee = NULL;
}

static cs_rc load(cs_store *s, int64_t id, loaded *l)
{
    sqlite3_stmt *st = NULL;
    cs_rc rc = cs_store_prepare(s, "SELECT state, merged_into, assignee FROM incidents WHERE id = ?1", &st);
    memset(l, 0, sizeof *l);
    if (rc == CS_OK) {
        int r, state = 0;
        sqlite3_bind_int64(st, 1, id);
        r = sqlite3_step(st);
        if (r == SQLITE_DONE) {
            rc = cs_err_set(CS_ERR_NOTFOUND, "there is no incident #%lld in %s", (long long)id, cs_store_path(s));
        } else if (r != SQLITE_ROW) {
            rc = cs_store_db_error(s, "read an incident");
        } else if (!parse_name(state_names, CS_INC__STATE_COUNT, cs_store_column_opt(st, 0), &state)) {
            rc = cs_err_set(CS_ERR_DB, "%s: incident #%lld has an unknown state", cs_store_path(s), (long long)id);
        } else {
            l->state = (cs_incident_state)state;
            l->merged_into = sqlite3_column_int64(st, 1);
            if (cs_store_column_opt(st, 2) != NULL && (l->assignee = strdup(cs_store_column_opt(st, 2))) == NULL) {
                rc = cs_err_set(CS_ERR_NOMEM, "out of memory");
            }
        }
    }
    sqlite3_finalize(st);
    return rc;
}

static cs_rc refuse_merged(int64_t id, const loaded *l)
{
    if (l->merged_into != 0) {
        return cs_err_set(CS_ERR_INVAL, "incident #%lld was merged into #%lld: change that one instead",
                          (long long)id, (long long)l->merged_into);
    }
    return CS_OK;
}

static cs_rc timeline_add(cs_store *s, int64_t id, int64_t at, const char *actor, const char *kind, const char *text,
                          const char *from, const char *to)
{
    static const char sql[] = "INSERT INTO incident_timeline(incident_id, at, actor, kind, text, from_state, to_state)"
                              " VALUES(?1,?2,?3,?4,?5,?6,?7)";
    sqlite3_stmt *st = NULL;
    cs_rc rc = cs_store_prepare(s, sql, &st);
    if (rc == CS_OK) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, at);
        sqlite3_bind_text(st, 3, actor, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, kind, -1, SQLITE_STATIC);
        cs_store_bind_opt_text(st, 5, text);
        cs_store_bind_opt_text(st, 6, from);
        cs_store_bind_opt_text(st, 7, to);
        rc = cs_store_step_done(s, st, "write an incident's timeline");
    }
    sqlite3_finalize(st);
    return rc;
}

/* detail: a JSON object, consumed (decref'd) here; may be NULL. */
static cs_rc audit_add(cs_store *s, int64_t id, int64_t at, const char *actor, const char *action, const char *from,
                       const char *to, json_t *detail)
{
    char idtext[24];
    char *text = NULL;
    cs_rc rc = CS_OK;
    snprintf(idtext, sizeof idtext, "%lld", (long long)id);
    if (detail != NULL && (text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
        rc = cs_err_set(CS_ERR_NOMEM, "out of memory");
    }
    if (rc == CS_OK) {
        cs_audit_entry e = {.at = at, .actor = actor, .object_type = "incident", .object_id = idtext,
                            .action = action, .from_state = from, .to_state = to, .detail = text};
        rc = cs_audit_write(s, &e);
    }
    free(text);
    json_decref(detail);
    return rc;
}

/* Runs one UPDATE on an incident: sql's ?1 is the id, ?2 now, ?3 text. */
static cs_rc update_incident(cs_store *s, const char *sql, int64_t id, int64_t now_us, const char *text)
{
    sqlite3_stmt *st = NULL;
    cs_rc rc = cs_store_prepare(s, sql, &st);
    if (rc == CS_OK) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, now_us);
        cs_store_bind_opt_text(st, 3, text);
        rc = cs_store_step_done(s, st, "change an incident");
    }
    sqlite3_finalize(st);
    return rc;
}

/* The state change itself, its timeline row and its audit row. */
static cs_rc set_state(cs_store *s, int64_t id, cs_incident_state from, cs_incident_state to, const char *note,
                       const char *actor, int64_t now_us)
{
    static const char sql[] = "UPDATE incidents SET state = ?3, updated_at = ?2,"
                              " closed_at = CASE WHEN ?3 = 'closed' THEN ?2 WHEN state = 'closed' THEN NULL"
                              " ELSE closed_at END WHERE id = ?1";
    cs_rc rc = update_incident(s, sql, id, now_us, cs_incident_state_name(to));
    if (rc == CS_OK) {
        rc = timeline_add(s, id, now_us, actor, "state", note, cs_incident_state_name(from),
                          cs_incident_state_name(to));
    }
    if (rc == CS_OK) {
        rc = audit_add(s, id, now_us, actor, "transition", cs_incident_state_name(from), cs_incident_state_name(to),
                       note ? json_pack("{s:s}", "note", note) : NULL);
    }
    return rc;
}

static cs_rc alert_exists(cs_store *s, const char *alert_id, int64_t id)
{
    sqlite3_stmt *st = NULL;
    cs_rc rc;
    if (alert_id == NULL || alert_id[0] == '\0') {
        return cs_err_set(CS_ERR_INVAL, "incident #%lld: an alert id to link is empty", (long long)id);
    }
    rc = cs_store_prepare(s, "SELECT 1 FROM alerts WHERE id = ?1", &st);
    if (rc == CS_OK) {
        int r;
        sqlite3_bind_text(st, 1, alert_id, -1, SQLITE_TRANSIENT);
        r = sqlite3_step(st);
        if (r == SQLITE_DONE) {
            rc = cs_err_set(CS_ERR_NOTFOUND, "incident #%lld: there is no alert %s in %s to link", (long long)id,
                            alert_id, cs_store_path(s));
        } else if (r != SQLITE_ROW) {
            rc = cs_store_db_error(s, "read an alert");
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* Inside the caller's unit of work. */
static cs_rc link_in(cs_store *s, int64_t id, const char *const *alert_ids, size_t n, const char *actor,
                     int64_t now_us, size_t *linked)
{
    static const char sql[] = "INSERT OR IGNORE INTO incident_alerts(incident_id, alert_id, linked_at, linked_by)"
                              " VALUES(?1,?2,?3,?4)";
    sqlite3_stmt *st = NULL;
    json_t *ids = json_array();
    cs_rc rc = ids ? CS_OK : cs_err_set(CS_ERR_NOMEM, "out of memory");

    *linked = 0;
    if (n > CS_INCIDENT_LINK_MAX) {
        rc = cs_err_set(CS_ERR_LIMIT, "incident #%lld: %zu alerts to link at once; at most %d", (long long)id, n,
                        CS_INCIDENT_LINK_MAX);
    }
    if (rc == CS_OK && n > 0) {
        rc = cs_store_prepare(s, sql, &st);
    }
    for (size_t i = 0; i < n && rc == CS_OK; i++) {
        if ((rc = alert_exists(s, alert_ids[i], id)) != CS_OK) {
            break;
        }
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, alert_ids[i], -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, now_us);
        sqlite3_bind_text(st, 4, actor, -1, SQLITE_TRANSIENT);
        if ((rc = cs_store_step_done(s, st, "link an alert")) != CS_OK) {
            break;
        }
        if (sqlite3_changes(cs_store_sqlite(s)) == 1) {
            (*linked)++;
            json_array_append_new(ids, json_string(alert_ids[i]));
            rc = timeline_add(s, id, now_us, actor, "link", alert_ids[i], NULL, NULL);
        }
    }
    sqlite3_finalize(st);
    if (rc == CS_OK && *linked > 0) {
        rc = update_incident(s, "UPDATE incidents SET updated_at = ?2 WHERE id = ?1", id, now_us, NULL);
        if (rc == CS_OK) {
            rc = audit_add(s, id, now_us, actor, "link", NULL, NULL, json_pack("{s:O}", "alerts", ids));
        }
    }
    json_decref(ids);
    return rc;
}

static cs_rc check_text(const char *text, size_t max, const char *what)
{
    size_t n = text ? strlen(text) : 0;
    if (n == 0) {
        return cs_err_set(CS_ERR_INVAL, "%s is empty", what);
    }
    if (n > max) {
        return cs_err_set(CS_ERR_LIMIT, "%s is %zu bytes long; at most %zu are allowed (nothing was saved)", what,
                          n, max);
    }
    return cs_utf8_check(text, what);
}

/* ---- changes ---- */

cs_rc cs_incident_open(cs_store *s, const cs_incident_new *req, int64_t now_us, int64_t *id_out)
{
    static const char sql[] = "INSERT INTO incidents(title, severity, state, system_id, created_at, updated_at,"
                              " sla_due) VALUES(?1,?2,'new',?3,?4,?4,?5)";
    cs_sla_policy sla = req->sla ? *req->sla : cs_sla_policy_default();
    sqlite3_stmt *st = NULL;
    cs_store_tx tx;
    int64_t id = 0, due;
    size_t linked = 0;
    cs_rc rc;

    if (id_out != NULL) {
        *id_out = 0;
    }
    if ((rc = cs_actor_check(req->actor, "the actor")) != CS_OK ||
        (rc = check_text(req->title, CS_INCIDENT_TITLE_MAX, "an incident's title")) != CS_OK) {
        return rc;
    }
    if ((unsigned)req->severity >= CS_SEV__COUNT) {
        return cs_err_set(CS_ERR_INVAL, "%d is not a severity (low, medium, high, critical)", (int)req->severity);
    }
    if (sla.due_us[req->severity] <= 0) {
        return cs_err_set(CS_ERR_CONFIG, "the SLA time for severity %s must be positive",
                          cs_severity_name(req->severity));
    }
    if (req->n_alerts > 0 && req->alert_ids == NULL) {
        return cs_err_set(CS_ERR_INVAL, "%zu alerts to link but no alert ids", req->n_alerts);
    }
    due = now_us + sla.due_us[req->severity];
    if ((rc = cs_store_tx_begin(s, &tx)) != CS_OK) {
        return rc;
    }
    rc = cs_store_prepare(s, sql, &st);
    if (rc == CS_OK) {
        sqlite3_bind_text(st, 1, req->title, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, cs_severity_name(req->severity), -1, SQLITE_STATIC);
        cs_store_bind_opt_text(st, 3, req->system_id);
        sqlite3_bind_int64(st, 4, now_us);
        sqlite3_bind_int64(st, 5, due);
        rc = cs_store_step_done(s, st, "open an incident");
    }
    if (rc == CS_OK) {
        id = sqlite3_last_insert_rowid(cs_store_sqlite(s));
        rc = timeline_add(s, id, now_us, req->actor, "state", req->title, NULL, "new");
    }
    if (rc == CS_OK) {
        rc = audit_add(s, id, now_us, req->actor, "open", NULL, "new",
                       json_pack("{s:s,s:s,s:s?,s:I}", "title", req->title, "severity",
                                 cs_severity_name(req->severity), "system_id", req->system_id, "sla_due",
                                 (json_int_t)due));
    }
    if (rc == CS_OK) {
        rc = link_in(s, id, req->alert_ids, req->n_alerts, req->actor, now_us, &linked);
    }
    sqlite3_finalize(st);
    rc = cs_store_tx_end(&tx, rc);
    if (rc == CS_OK && id_out != NULL) {
        *id_out = id;
    }
    return rc;
}

cs_rc cs_incident_assign(cs_store *s, int64_t id, const char *assignee, const char *actor, int64_t now_us)
{
    loaded l = {0};
    cs_store_tx tx;
    cs_rc rc;

    if ((rc = cs_actor_check(actor, "the actor")) != CS_OK ||
        (rc = cs_actor_check(assignee, "the assignee")) != CS_OK) {
        return rc;
    }
    if ((rc = cs_store_tx_begin(s, &tx)) != CS_OK) {
        return rc;
    }
    rc = load(s, id, &l);
    if (rc == CS_OK) {
        rc = refuse_merged(id, &l);
    }
    if (rc == CS_OK && (l.state == CS_INC_CLOSED || l.state == CS_INC_FALSE_POSITIVE)) {
        rc = cs_err_set(CS_ERR_INVAL, "incident #%lld is %s: reopen it before assigning it", (long long)id,
                        cs_incident_state_name(l.state));
    }
    if (rc == CS_OK && l.assignee != NULL && strcmp(l.assignee, assignee) == 0) {
        rc = cs_err_set(CS_ERR_INVAL, "incident #%lld is already assigned to %s", (long long)id, assignee);
    }
    if (rc == CS_OK) {
        rc = update_incident(s, "UPDATE incidents SET assignee = ?3, updated_at = ?2 WHERE id = ?1", id, now_us,
                             assignee);
    }
    if (rc == CS_OK) {
        rc = timeline_add(s, id, now_us, actor, "assign", assignee, l.assignee, assignee);
    }
    if (rc == CS_OK) {
        rc = audit_add(s, id, now_us, actor, "assign", l.assignee, assignee, NULL);
    }
    if (rc == CS_OK && l.state == CS_INC_NEW) {
        rc = cs_incident_transition_check(id, l.state, CS_INC_ASSIGNED);
        if (rc == CS_OK) {
            rc = set_state(s, id, l.state, CS_INC_ASSIGNED, NULL, actor, now_us);
        }
    }
    loaded_free(&l);
    return cs_store_tx_end(&tx, rc);
}

cs_rc cs_incident_transition(cs_store *s, int64_t id, cs_incident_state to, const char *note, const char *actor,
                             int64_t now_us)
{
    loaded l = {0};
    cs_store_tx tx;
    cs_rc rc;

    if ((rc = cs_actor_check(actor, "the actor")) != CS_OK) {
        return rc;
    }
    if (note != NULL && (rc = check_text(note, CS_INCIDENT_COMMENT_MAX, "a transition note")) != CS_OK) {
        return rc;
    }
    if ((rc = cs_store_tx_begin(s, &tx)) != CS_OK) {
        return rc;
    }
    rc = load(s, id, &l);
    if (rc == CS_OK) {
        rc = refuse_merged(id, &l);
    }
    if (rc == CS_OK) {
        rc = cs_incident_transition_check(id, l.state, to);
    }
    if (rc == CS_OK) {
        rc = set_state(s, id, l.state, to, note, actor, now_us);
    }
    loaded_free(&l);
    return cs_store_tx_end(&tx, rc);
}

cs_rc cs_incident_comment(cs_store *s, int64_t id, const char *text, const char *actor, int64_t now_us)
{
    loaded l = {0};
    cs_store_tx tx;
    cs_rc rc;

    if ((rc = cs_actor_check(actor, "the actor")) != CS_OK ||
        (rc = check_text(text, CS_INCIDENT_COMMENT_MAX, "a comment")) != CS_OK) {
        return rc;
    }
    if ((rc = cs_store_tx_begin(s, &tx)) != CS_OK) {
        return rc;
    }
    rc = load(s, id, &l);
    if (rc == CS_OK) {
        rc = update_incident(s, "UPDATE incidents SET updated_at = ?2 WHERE id = ?1", id, now_us, NULL);
    }
    if (rc == CS_OK) {
        rc = timeline_add(s, id, now_us, actor, "comment", text, NULL, NULL);
    }
    if (rc == CS_OK) {
        rc = audit_add(s, id, now_us, actor, "comment", NULL, NULL,
                       json_pack("{s:I}", "length", (json_int_t)strlen(text)));
    }
    loaded_free(&l);
    return cs_store_tx_end(&tx, rc);
}

cs_rc cs_incident_link_alerts(cs_store *s, int64_t id, const char *const *alert_ids, size_t n, const char *actor,
                              int64_t now_us, size_t *linked)
{
    loaded l = {0};
    cs_store_tx tx;
    size_t count = 0;
    cs_rc rc;

    if (linked != NULL) {
        *linked = 0;
    }
    if ((rc = cs_actor_check(actor, "the actor")) != CS_OK) {
        return rc;
    }
    if (n > 0 && alert_ids == NULL) {
        return cs_err_set(CS_ERR_INVAL, "%zu alerts to link but no alert ids", n);
    }
    if ((rc = cs_store_tx_begin(s, &tx)) != CS_OK) {
        return rc;
    }
    rc = load(s, id, &l);
    if (rc == CS_OK) {
        rc = refuse_merged(id, &l);
    }
    if (rc == CS_OK) {
        rc = link_in(s, id, alert_ids, n, actor, now_us, &count);
    }
    loaded_free(&l);
    rc = cs_store_tx_end(&tx, rc);
    if (rc == CS_OK && linked != NULL) {
        *linked = count;
    }
    return rc;
}

cs_rc cs_incident_add_observable(cs_store *s, int64_t id, cs_observable_type type, const char *value,
                                 int64_t seen_us, const char *actor, int64_t now_us, bool *created)
{
    sqlite3_stmt *st = NULL;
    loaded l = {0};
    cs_store_tx tx;
    bool is_new = false;
    cs_rc rc;

    if (created != NULL) {
        *created = false;
    }
    if ((rc = cs_actor_check(actor, "the actor")) != CS_OK ||
        (rc = check_text(value, CS_OBSERVABLE_VALUE_MAX, "an observable's value")) != CS_OK) {
        return rc;
    }
    if ((unsigned)type >= CS_OBS__COUNT) {
        return cs_err_set(CS_ERR_INVAL, "%d is not an observable type (ip, domain, hash, user, url, email)",
                          (int)type);
    }
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return cs_err_set(CS_ERR_INVAL, "an observable's value contains a control character");
        }
    }
    if ((rc = cs_store_tx_begin(s, &tx)) != CS_OK) {
        return rc;
    }
    rc = load(s, id, &l);
    if (rc == CS_OK) {
        rc = refuse_merged(id, &l);
    }
    if (rc == CS_OK) {
        /* An update leaves changes() at 1 too: the row count before tells new from seen again. */
        rc = cs_store_prepare(s, "SELECT 1 FROM observables WHERE incident_id = ?1 AND type = ?2 AND value = ?3",
                              &st);
        if (rc == CS_OK) {
            int r;
            sqlite3_bind_int64(st, 1, id);
            sqlite3_bind_text(st, 2, cs_observable_type_name(type), -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, value, -1, SQLITE_TRANSIENT);
            r = sqlite3_step(st);
            if (r == SQLITE_DONE) {
                is_new = true;
            } else if (r != SQLITE_ROW) {
                rc = cs_store_db_error(s, "read an observable");
            }
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    if (rc == CS_OK) {
        rc = cs_store_prepare(s, "INSERT INTO observables(incident_id, type, value, first_seen, last_seen)"
                                 " VALUES(?1,?2,?3,?4,?4) ON CONFLICT(incident_id, type, value) DO UPDATE SET"
                                 " first_seen = min(first_seen, excluded.first_seen),"
                                 " last_seen = max(last_seen, excluded.last_seen)",
                              &st);
    }
    if (rc == CS_OK) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, cs_observable_type_name(type), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, value, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, seen_us);
        rc = cs_store_step_done(s, st, "add an observable");
    }
    if (rc == CS_OK && is_new) {
        char text[CS_OBSERVABLE_VALUE_MAX + 16];
        snprintf(text, sizeof text, "%s %s", cs_observable_type_name(type), value);
        rc = update_incident(s, "UPDATE incidents SET updated_at = ?2 WHERE id = ?1", id, now_us, NULL);
        if (rc == CS_OK) {
            rc = timeline_add(s, id, now_us, actor, "observable", text, NULL, NULL);
        }
        if (rc == CS_OK) {
            rc = audit_add(s, id, now_us, actor, "observable", NULL, NULL,
                           json_pack("{s:s,s:s,s:I}", "type", cs_observable_type_name(type), "value", value,
                                     "seen", (json_int_t)seen_us));
        }
    }
    sqlite3_finalize(st);
    loaded_free(&l);
    rc = cs_store_tx_end(&tx, rc);
    if (rc == CS_OK && created != NULL) {
        *created = is_new;
    }
    return rc;
}

/* Runs a statement over ?1 A, ?2 B, ?3 now, ?4 actor and returns
 * sqlite3_changes(); a parameter the statement does not use is ignored
 * (SQLite answers SQLITE_RANGE and binds nothing). */
static cs_rc merge_copy(cs_store *s, const char *sql, int64_t a, int64_t b, int64_t now_us, const char *actor,
                        int *changed)
{
    sqlite3_stmt *st = NULL;
    cs_rc rc = cs_store_prepare(s, sql, &st);
    *changed = 0;
    if (rc == CS_OK) {
        sqlite3_bind_int64(st, 1, a);
        sqlite3_bind_int64(st, 2, b);
        sqlite3_bind_int64(st, 3, now_us);
        sqlite3_bind_text(st, 4, actor, -1, SQLITE_TRANSIENT);
        rc = cs_store_step_done(s, st, "merge incidents");
        *changed = sqlite3_changes(cs_store_sqlite(s));
    }
    sqlite3_finalize(st);
    return rc;
}

cs_rc cs_incident_merge(cs_store *s, int64_t into_a, int64_t from_b, const char *actor, int64_t now_us)
{
    static const char copy_alerts[] =
        "INSERT OR IGNORE INTO incident_alerts(incident_id, alert_id, linked_at, linked_by)"
        " SELECT ?1, alert_id, ?3, ?4 FROM incident_alerts WHERE incident_id = ?2";
    static const char copy_observables[] =
        "INSERT INTO observables(incident_id, type, value, first_seen, last_seen)"
        " SELECT ?1, type, value, first_seen, last_seen FROM observables WHERE incident_id = ?2"
        " ON CONFLICT(incident_id, type, value) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen),"
        " last_seen = max(last_seen, excluded.last_seen)";
    static const char close_b[] = "UPDATE incidents SET state = 'closed', merged_into = ?1, closed_at = ?3,"
                                  " updated_at = ?3 WHERE id = ?2";
    loaded la = {0}, lb = {0};
    cs_store_tx tx;
    char text[96];
    int n_alerts = 0, n_obs = 0, n_closed = 0;
    cs_rc rc;

    if ((rc = cs_actor_check(actor, "the actor")) != CS_OK) {
        return rc;
    }
    if (into_a == from_b) {
        return cs_err_set(CS_ERR_INVAL, "incident #%lld cannot be merged into itself", (long long)into_a);
    }
    if ((rc = cs_store_tx_begin(s, &tx)) != CS_OK) {
        return rc;
    }
    rc = load(s, into_a, &la);
    if (rc == CS_OK) {
        rc = load(s, from_b, &lb);
    }
    if (rc == CS_OK) {
        rc = refuse_merged(into_a, &la);
    }
    if (rc == CS_OK && (la.state == CS_INC_CLOSED || la.state == CS_INC_FALSE_POSITIVE)) {
        rc = cs_err_set(CS_ERR_INVAL, "incident #%lld is %s: merge into an open incident, or reopen it first",
                        (long long)into_a, cs_incident_state_name(la.state));
    }
    if (rc == CS_OK && lb.state == CS_INC_CLOSED) {
        rc = lb.merged_into ? refuse_merged(from_b, &lb)
                            : cs_err_set(CS_ERR_INVAL, "incident #%lld is closed: only an open incident can be merged",
                                         (long long)from_b);
    }
    if (rc == CS_OK) {
        rc = merge_copy(s, copy_alerts, into_a, from_b, now_us, actor, &n_alerts);
    }
    if (rc == CS_OK) {
        rc = merge_copy(s, copy_observables, into_a, from_b, now_us, actor, &n_obs);
    }
    if (rc == CS_OK) {
        rc = merge_copy(s, close_b, into_a, from_b, now_us, actor, &n_closed);
    }
    if (rc == CS_OK) {
        rc = update_incident(s, "UPDATE incidents SET updated_at = ?2 WHERE id = ?1", into_a, now_us, NULL);
    }
    if (rc == CS_OK) {
        snprintf(text, sizeof text, "merged into #%lld", (long long)into_a);
        rc = timeline_add(s, from_b, now_us, actor, "merge", text, cs_incident_state_name(lb.state), "closed");
    }
    if (rc == CS_OK) {
        snprintf(text, sizeof text, "#%lld merged in: %d alerts, %d observables", (long long)from_b, n_alerts,
                 n_obs);
        rc = timeline_add(s, into_a, now_us, actor, "merge", text, NULL, NULL);
    }
    if (rc == CS_OK) {
        rc = audit_add(s, from_b, now_us, actor, "merge", cs_incident_state_name(lb.state), "closed",
                       json_pack("{s:I}", "merged_into", (json_int_t)into_a));
    }
    if (rc == CS_OK) {
        rc = audit_add(s, into_a, now_us, actor, "merge_in", NULL, NULL,
                       json_pack("{s:I,s:i,s:i}", "merged_from", (json_int_t)from_b, "alerts", n_alerts,
                                 "observables", n_obs));
    }
    loaded_free(&la);
    loaded_free(&lb);
    return cs_store_tx_end(&tx, rc);
}

/* ---- reads ---- */

cs_rc cs_incident_get(cs_store *s, int64_t id, const cs_incident_visitor *v, void *ud)
{
    static const char q_incident[] = "SELECT " INCIDENT_COLS " FROM incidents WHERE id = ?1";
    static const char q_timeline[] =
        "WITH RECURSIVE m(id) AS (SELECT ?1 UNION SELECT i.id FROM incidents i JOIN m ON i.merged_into = m.id)"
        " SELECT t.id, t.incident_id, t.at, t.actor, t.kind, t.text, t.from_state, t.to_state"
        " FROM incident_timeline t WHERE t.incident_id IN (SELECT id FROM m) ORDER BY t.at, t.id";
    static const char q_alerts[] = "SELECT alert_id, linked_at, linked_by FROM incident_alerts WHERE incident_id = ?1"
                                   " ORDER BY linked_at, alert_id";
    static const char q_observables[] = "SELECT id, incident_id, type, value, first_seen, last_seen FROM observables"
                                        " WHERE incident_id = ?1 ORDER BY type, value";
    const char *const queries[] = {q_incident, q_timeline, q_alerts, q_observables};
    sqlite3_stmt *st = NULL;
    cs_rc rc = CS_OK;

    for (int q = 0; q < 4 && rc == CS_OK; q++) {
        int r, rows = 0;
        if ((rc = cs_store_prepare(s, queries[q], &st)) != CS_OK) {
            break;
        }
        sqlite3_bind_int64(st, 1, id);
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
            rows++;
            if (q == 0 && v->incident != NULL) {
                cs_incident_row row;
                row_from(st, &row);
                v->incident(&row, ud);
            } else if (q == 1 && v->timeline != NULL) {
                cs_timeline_row row = {
                    .id = sqlite3_column_int64(st, 0),
                    .incident_id = sqlite3_column_int64(st, 1),
                    .at = sqlite3_column_int64(st, 2),
                    .actor = cs_store_column_opt(st, 3),
                    .kind = cs_store_column_opt(st, 4),
                    .text = cs_store_column_opt(st, 5),
                    .from_state = cs_store_column_opt(st, 6),
                    .to_state = cs_store_column_opt(st, 7),
                };
                v->timeline(&row, ud);
            } else if (q == 2 && v->alert != NULL) {
                v->alert(cs_store_column_opt(st, 0), sqlite3_column_int64(st, 1), cs_store_column_opt(st, 2), ud);
            } else if (q == 3 && v->observable != NULL) {
                int type = 0;
                cs_observable_row row;
                parse_name(observable_names, CS_OBS__COUNT, cs_store_column_opt(st, 2), &type);
                row.id = sqlite3_column_int64(st, 0);
                row.incident_id = sqlite3_column_int64(st, 1);
                row.type = (cs_observable_type)type;
                row.value = cs_store_column_opt(st, 3) ? cs_store_column_opt(st, 3) : "";
                row.first_seen = sqlite3_column_int64(st, 4);
                row.last_seen = sqlite3_column_int64(st, 5);
                v->observable(&row, ud);
            }
        }
        if (r != SQLITE_DONE) {
            rc = cs_store_db_error(s, "read an incident");
        } else if (q == 0 && rows == 0) {
            rc = cs_err_set(CS_ERR_NOTFOUND, "there is no incident #%lld in %s", (long long)id, cs_store_path(s));
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    return rc;
}

cs_rc cs_incident_list(cs_store *s, const cs_incident_filter *f, void (*fn)(const cs_incident_row *row, void *ud),
                       void *ud, int64_t *next_cursor)
{
    /* Only fixed SQL fragments are joined; every value is a bound parameter. */
    char sql[512];
    sqlite3_stmt *st = NULL;
    size_t limit = f->limit ? f->limit : LIST_DEFAULT;
    size_t rows = 0;
    int64_t last_id = 0, next = 0;
    int r;
    cs_rc rc;

    if (next_cursor != NULL) {
        *next_cursor = 0;
    }
    if (limit > LIST_MAX) {
        return cs_err_set(CS_ERR_LIMIT, "an incident list page of %zu rows; at most %d", limit, LIST_MAX);
    }
    if ((f->has_state && (unsigned)f->state >= CS_INC__STATE_COUNT) ||
        (f->has_severity && (unsigned)f->severity >= CS_SEV__COUNT)) {
        return cs_err_set(CS_ERR_INVAL, "an incident list filter names an unknown state or severity");
    }
    snprintf(sql, sizeof sql, "SELECT " INCIDENT_COLS " FROM incidents WHERE 1%s%s%s%s ORDER BY id DESC LIMIT ?5",
             f->has_state ? " AND state = ?1" : "", f->has_severity ? " AND severity = ?2" : "",
             f->assignee ? " AND assignee = ?3" : "", f->before_id > 0 ? " AND id < ?4" : "");
    if ((rc = cs_store_prepare(s, sql, &st)) != CS_OK) {
        return rc;
    }
    /* ?5 is always there, so ?1..?4 are in range even when unused. */
    sqlite3_bind_text(st, 1, cs_incident_state_name(f->state), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, cs_severity_name(f->severity), -1, SQLITE_STATIC);
    cs_store_bind_opt_text(st, 3, f->assignee);
    sqlite3_bind_int64(st, 4, f->before_id);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)limit + 1);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        cs_incident_row row;
        row_from(st, &row);
        if (rows == limit) {
            next = last_id;   /* one more row exists: there is a next page */
            break;
        }
        rows++;
        last_id = row.id;
        fn(&row, ud);
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE) {
        rc = cs_store_db_error(s, "list incidents");
    }
    sqlite3_finalize(st);
    if (rc == CS_OK && next_cursor != NULL) {
        *next_cursor = next;
    }
    return rc;
}

cs_rc cs_incident_sla_breached(cs_store *s, int64_t now_us, size_t limit,
                               void (*fn)(const cs_incident_row *row, void *ud), void *ud)
{
    static const char sql[] = "SELECT " INCIDENT_COLS " FROM incidents"
                              " WHERE state NOT IN ('resolved','closed','false_positive') AND sla_due < ?1"
                              " ORDER BY sla_due, id LIMIT ?2";
    sqlite3_stmt *st = NULL;
    int r = SQLITE_DONE;
    cs_rc rc = cs_store_prepare(s, sql, &st);
    if (rc == CS_OK) {
        sqlite3_bind_int64(st, 1, now_us);
        sqlite3_bind_int64(st, 2, limit ? (sqlite3_int64)limit : -1);
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
            cs_incident_row row;
            row_from(st, &row);
            fn(&row, ud);
        }
        if (r != SQLITE_DONE) {
            rc = cs_store_db_error(s, "list incidents past their SLA");
        }
    }
    sqlite3_finalize(st);
    return rc;
}

cs_rc cs_incident_board(cs_store *s, int64_t counts[CS_INC__STATE_COUNT])
{
    sqlite3_stmt *st = NULL;
    int r = SQLITE_DONE;
    cs_rc rc = cs_store_prepare(s, "SELECT state, count(*) FROM incidents GROUP BY state", &st);
    for (int i = 0; i < CS_INC__STATE_COUNT; i++) {
        counts[i] = 0;
    }
    if (rc == CS_OK) {
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
            int state;
            if (parse_name(state_names, CS_INC__STATE_COUNT, cs_store_column_opt(st, 0), &state)) {
                counts[state] = sqlite3_column_int64(st, 1);
            }
        }
        if (r != SQLITE_DONE) {
            rc = cs_store_db_error(s, "count incidents by state");
        }
    }
    sqlite3_finalize(st);
    return rc;
}
