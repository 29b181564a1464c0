/* incident_policy.c - allow-lists, incidents by policy, notifications and
 * the SLA watch, over the store (see incident_policy.h).
 *
 * Design note
 * -----------
 * The policy works on what the store has committed, on a connection of its
 * own, instead of inside the correlator: an incident links alerts that must
 * exist in the store, a notification must only go out for a ticket that
 * exists, and the correlator's hot path stays free of ticket logic. The
 * price is a short delay (one interval, 2 s by default) between an alert
 * and its incident, which analysts do not notice.
 *
 * Alerts are taken by rowid (the order they were stored; an update of an
 * alert keeps its rowid, so a growing count is not taken twice), only while
 * their status is still new, so an alert an analyst already handled is left
 * alone. After a restart the position starts at 0: alerts already linked
 * to an incident are skipped, so a pass is idempotent.
 */
#include "incident_policy.h"

#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/config.h"
#include "../runtime/log.h"
#include "../runtime/timeutil.h"
#include "../store/triage.h"

#define PASS_LIMIT 1000          /* alerts per query; a pass loops until none is left */
#define DEFAULT_TAG "citysoc.incident"
#define DEFAULT_INTERVAL_MS 2000

typedef struct alert_row {
    int64_t rowid;
    char *id, *rule_id, *title, *level, *system_id, *source_ip, *destination_ip, *host_name, *doc;
    double risk;
    int64_t first_seen, last_seen;
} alert_row;

static char *dup_col(sqlite3_stmt *st, int i)
{
    const char *t = cs_store_column_opt(st, i);
    return t != NULL ? strdup(t) : NULL;
}

static void alert_free(alert_row *a)
{
    free(a->id);
    free(a->rule_id);
    free(a->title);
    free(a->level);
    free(a->system_id);
    free(a->source_ip);
    free(a->destination_ip);
    free(a->host_name);
    free(a->doc);
    memset(a, 0, sizeof *a);
}

static cs_severity severity_of(const char *level)
{
    if (level == NULL) {
        return CS_SEV_MEDIUM;
    }
    if (strcmp(level, "critical") == 0) {
        return CS_SEV_CRITICAL;
    }
    if (strcmp(level, "high") == 0) {
        return CS_SEV_HIGH;
    }
    if (strcmp(level, "medium") == 0) {
        return CS_SEV_MEDIUM;
    }
    return CS_SEV_LOW;
}

/* The rule's tags are in the alert document (rule.tags, ECS). */
static bool has_tag(const char *doc, const char *tag)
{
    char quoted[256];
    int n = snprintf(quoted, sizeof quoted, "\"%s\"", tag);
    return doc != NULL && n > 0 && (size_t)n < sizeof quoted && strstr(doc, quoted) != NULL;
}

/* The open incident of the same rule, system and source, or 0. */
static cs_rc find_open_incident(cs_store *s, const alert_row *a, int64_t *id)
{
    static const char sql[] =
        "SELECT i.id FROM incidents i JOIN incident_alerts ia ON ia.incident_id = i.id "
        "JOIN alerts a ON a.id = ia.alert_id "
        "WHERE i.state NOT IN ('resolved','closed','false_positive') AND i.merged_into IS NULL "
        "AND a.rule_id = ?1 AND coalesce(a.system_id,'') = coalesce(?2,'') "
        "AND coalesce(a.source_ip,'') = coalesce(?3,'') ORDER BY i.id DESC LIMIT 1";
    sqlite3_stmt *st = NULL;
    cs_rc rc = cs_store_prepare(s, sql, &st);
    *id = 0;
    if (rc != CS_OK) {
        return rc;
    }
    cs_store_bind_opt_text(st, 1, a->rule_id);
    cs_store_bind_opt_text(st, 2, a->system_id);
    cs_store_bind_opt_text(st, 3, a->source_ip);
    switch (sqlite3_step(st)) {
    case SQLITE_ROW:
        *id = sqlite3_column_int64(st, 0);
        break;
    case SQLITE_DONE:
        break;
    default:
        rc = cs_store_db_error(s, "finding the open incident of an alert");
    }
    sqlite3_finalize(st);
    return rc;
}

static cs_rc is_linked(cs_store *s, const char *alert_id, bool *linked)
{
    sqlite3_stmt *st = NULL;
    cs_rc rc = cs_store_prepare(s, "SELECT 1 FROM incident_alerts WHERE alert_id = ?1 LIMIT 1", &st);
    *linked = false;
    if (rc != CS_OK) {
        return rc;
    }
    sqlite3_bind_text(st, 1, alert_id, -1, SQLITE_TRANSIENT);
    switch (sqlite3_step(st)) {
    case SQLITE_ROW:
        *linked = true;
        break;
    case SQLITE_DONE:
        break;
    default:
        rc = cs_store_db_error(s, "checking an alert's incident");
    }
    sqlite3_finalize(st);
    return rc;
}

static void notify_incident(cs_notifier *n, const cs_policy_opts *o, cs_notify_kind kind, int64_t id,
                            const char *title, cs_severity sev, const char *state, const char *system_id,
                            const char *assignee, int64_t sla_due, const char *text)
{
    char ids[32], url[1024];
    cs_notification note;
    if (n == NULL) {
        return;
    }
    snprintf(ids, sizeof ids, "INC-%" PRId64, id);
    memset(&note, 0, sizeof note);
    note.kind = kind;
    note.incident_id = ids;
    note.title = title;
    note.severity = cs_severity_name(sev);
    note.state = state;
    note.system_id = system_id;
    note.assignee = assignee;
    note.sla_due_us = sla_due;
    note.text = text;
    if (o->console_url != NULL) {
        snprintf(url, sizeof url, "%s%sincidents/%" PRId64, o->console_url,
                 o->console_url[0] != '\0' && o->console_url[strlen(o->console_url) - 1] == '/' ? "" : "/", id);
        note.url = url;
    }
    if (cs_notify_send(n, &note) != CS_OK) {
        CS_WARN("policy", "incident %s: notification not queued: %s", ids, cs_err_msg());
    }
}

/* Steps 1 and 2 for one alert. */
static cs_rc take_alert(cs_store *s, const cs_policy_opts *o, cs_notifier *n, const alert_row *a, int64_t now,
                        cs_policy_stats *st)
{
    const char *tag = o->tag != NULL ? o->tag : DEFAULT_TAG;
    cs_field_value fields[4] = {
        {"source_ip", a->source_ip},
        {"destination_ip", a->destination_ip},
        {"host_name", a->host_name},
        {"system_id", a->system_id},
    };
    char actor[CS_ACTOR_MAX + 1], reason[128];
    int64_t sup = 0, inc = 0;
    bool linked;
    cs_rc rc;

    st->alerts_seen++;
    if ((rc = cs_suppression_match(s, a->rule_id, fields, 4, now, &sup)) != CS_OK) {
        return rc;
    }
    if (sup != 0) {
        snprintf(reason, sizeof reason, "suppressed by suppression %" PRId64, sup);
        st->suppressed++;
        return cs_alert_close(s, a->id, CS_RESOLUTION_FALSE_POSITIVE, reason, "policy:suppression", now);
    }
    if (!(a->risk >= o->open_at_risk || has_tag(a->doc, tag))) {
        return CS_OK;
    }
    if ((rc = is_linked(s, a->id, &linked)) != CS_OK || linked) {
        return rc;
    }
    snprintf(actor, sizeof actor, "rule:%s", a->rule_id);
    if ((rc = find_open_incident(s, a, &inc)) != CS_OK) {
        return rc;
    }
    if (inc != 0) {
        const char *one[1] = {a->id};
        size_t added = 0;
        rc = cs_incident_link_alerts(s, inc, one, 1, actor, now, &added);
        st->alerts_linked += added;
    } else {
        char title[512];
        const char *one[1] = {a->id};
        cs_incident_new req;
        cs_severity sev = severity_of(a->level);
        snprintf(title, sizeof title, "%s%s%s", a->title != NULL ? a->title : a->rule_id,
                 a->system_id != NULL ? " — " : "", a->system_id != NULL ? a->system_id : "");
        memset(&req, 0, sizeof req);
        req.title = title;
        req.severity = sev;
        req.system_id = a->system_id;
        req.actor = actor;
        req.alert_ids = one;
        req.n_alerts = 1;
        req.sla = &o->sla;
        if ((rc = cs_incident_open(s, &req, now, &inc)) == CS_OK) {
            st->incidents_opened++;
            notify_incident(n, o, CS_NOTIFY_INCIDENT_OPENED, inc, title, sev, "new", a->system_id, NULL,
                            now + o->sla.due_us[sev], "a rule opened an incident");
        }
    }
    /* the addresses are the first observables of the ticket */
    if (rc == CS_OK && a->source_ip != NULL) {
        rc = cs_incident_add_observable(s, inc, CS_OBS_IP, a->source_ip, a->first_seen, actor, now, NULL);
    }
    if (rc == CS_OK && a->destination_ip != NULL) {
        rc = cs_incident_add_observable(s, inc, CS_OBS_IP, a->destination_ip, a->first_seen, actor, now, NULL);
    }
    return rc;
}

typedef struct breached {
    int64_t id, sla_due;
    cs_severity sev;
    cs_incident_state state;
    char title[256], system[128], assignee[CS_ACTOR_MAX + 1];
} breached;

static void copy_col(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
    const char *t = cs_store_column_opt(st, i);
    snprintf(dst, cap, "%s", t != NULL ? t : "");
}

/* Step 3: record (audit row) and notify each breached incident once, the
 * most overdue first, up to 64 a pass; the audit row is what makes "once"
 * hold across restarts. */
static cs_rc sla_watch(cs_store *s, const cs_policy_opts *o, cs_notifier *n, int64_t now, cs_policy_stats *st)
{
    static const char sql[] =
        "SELECT id, title, severity, state, system_id, assignee, sla_due FROM incidents "
        "WHERE state NOT IN ('resolved','closed','false_positive') AND merged_into IS NULL "
        "AND sla_due IS NOT NULL AND sla_due > 0 AND sla_due < ?1 AND NOT EXISTS (SELECT 1 FROM audit "
        "WHERE object_type = 'incident' AND object_id = CAST(incidents.id AS TEXT) AND action = 'sla_breached') "
        "ORDER BY sla_due LIMIT 64";
    breached b[64];
    size_t nb = 0;
    sqlite3_stmt *q = NULL;
    int step;
    cs_rc rc = cs_store_prepare(s, sql, &q);
    if (rc != CS_OK) {
        return rc;
    }
    sqlite3_bind_int64(q, 1, (sqlite3_int64)now);
    while ((step = sqlite3_step(q)) == SQLITE_ROW && nb < sizeof b / sizeof b[0]) {
        breached *x = &b[nb++];
        const char *sev = cs_store_column_opt(q, 2), *state = cs_store_column_opt(q, 3);
        x->id = sqlite3_column_int64(q, 0);
        copy_col(q, 1, x->title, sizeof x->title);
        if (sev == NULL || !cs_severity_parse(sev, &x->sev)) {
            x->sev = CS_SEV_MEDIUM;
        }
        if (state == NULL || !cs_incident_state_parse(state, &x->state)) {
            x->state = CS_INC_NEW;
        }
        copy_col(q, 4, x->system, sizeof x->system);
        copy_col(q, 5, x->assignee, sizeof x->assignee);
        x->sla_due = sqlite3_column_int64(q, 6);
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        rc = cs_store_db_error(s, "reading the incidents past their SLA");
    }
    sqlite3_finalize(q);
    for (size_t i = 0; i < nb && rc == CS_OK; i++) {
        char ids[32], detail[96];
        cs_audit_entry e;
        snprintf(ids, sizeof ids, "%" PRId64, b[i].id);
        snprintf(detail, sizeof detail, "{\"sla_due\":%" PRId64 ",\"late_us\":%" PRId64 "}", b[i].sla_due,
                 now - b[i].sla_due);
        memset(&e, 0, sizeof e);
        e.at = now;
        e.actor = "policy:sla";
        e.object_type = "incident";
        e.object_id = ids;
        e.action = "sla_breached";
        e.detail = detail;
        if ((rc = cs_audit_write(s, &e)) != CS_OK) {
            break;
        }
        st->sla_breaches++;
        notify_incident(n, o, CS_NOTIFY_SLA_BREACHED, b[i].id, b[i].title, b[i].sev, cs_incident_state_name(b[i].state),
                        b[i].system[0] ? b[i].system : NULL, b[i].assignee[0] ? b[i].assignee : NULL, b[i].sla_due,
                        "the incident is past its SLA due time");
    }
    return rc;
}

cs_rc cs_policy_run_once(cs_store *s, const cs_policy_opts *o, cs_notifier *n, int64_t now_us, cs_policy_stats *st)
{
    static const char sql[] =
        "SELECT rowid, id, rule_id, title, level, risk, system_id, source_ip, destination_ip, host_name, doc, "
        "first_seen, last_seen FROM alerts WHERE rowid > ?1 AND status = 'new' ORDER BY rowid LIMIT ?2";
    cs_policy_opts eff = *o;
    cs_rc rc = CS_OK;
    bool zero_sla = true;

    for (int i = 0; i < CS_SEV__COUNT; i++) {
        zero_sla = zero_sla && eff.sla.due_us[i] == 0;
    }
    if (zero_sla) {
        eff.sla = cs_sla_policy_default();
    }
    st->passes++;
    for (;;) {
        sqlite3_stmt *q = NULL;
        alert_row rows[64];
        size_t nrows = 0;
        int step;
        if ((rc = cs_store_prepare(s, sql, &q)) != CS_OK) {
            break;
        }
        sqlite3_bind_int64(q, 1, (sqlite3_int64)st->last_rowid);
        sqlite3_bind_int(q, 2, (int)(sizeof rows / sizeof rows[0]));
        while ((step = sqlite3_step(q)) == SQLITE_ROW) {
            alert_row *a = &rows[nrows++];
            memset(a, 0, sizeof *a);
            a->rowid = sqlite3_column_int64(q, 0);
            a->id = dup_col(q, 1);
            a->rule_id = dup_col(q, 2);
            a->title = dup_col(q, 3);
            a->level = dup_col(q, 4);
            a->risk = sqlite3_column_double(q, 5);
            a->system_id = dup_col(q, 6);
            a->source_ip = dup_col(q, 7);
            a->destination_ip = dup_col(q, 8);
            a->host_name = dup_col(q, 9);
            a->doc = dup_col(q, 10);
            a->first_seen = sqlite3_column_int64(q, 11);
            a->last_seen = sqlite3_column_int64(q, 12);
        }
        if (step != SQLITE_DONE) {
            rc = cs_store_db_error(s, "reading new alerts");
        }
        sqlite3_finalize(q);   /* the reads are done before the first change */
        for (size_t i = 0; i < nrows; i++) {
            if (rc == CS_OK && rows[i].id != NULL && rows[i].rule_id != NULL) {
                cs_rc r = take_alert(s, &eff, n, &rows[i], now_us, st);
                if (r != CS_OK) {
                    st->errors++;
                    CS_WARN("policy", "alert %s: %s", rows[i].id, cs_err_msg());
                }
            }
            if (rc == CS_OK) {
                st->last_rowid = (uint64_t)rows[i].rowid;
            }
            alert_free(&rows[i]);
        }
        if (rc != CS_OK || nrows < sizeof rows / sizeof rows[0]) {
            break;
        }
    }
    if (rc == CS_OK) {
        rc = sla_watch(s, &eff, n, now_us, st);
    }
    return rc;
}

void cs_policy_opts_from_config(const cs_config *cfg, cs_policy_opts *o)
{
    cs_sla_policy def = cs_sla_policy_default();
    memset(o, 0, sizeof *o);
    o->open_at_risk = cfg->incident_open_at_risk;
    o->tag = cfg->incident_tag;
    o->interval_ms = cfg->incident_interval_s > 0 ? (int)cfg->incident_interval_s * 1000 : DEFAULT_INTERVAL_MS;
    for (int i = 0; i < CS_SEV__COUNT; i++) {
        /* config order is low, medium, high, critical: cs_severity's */
        o->sla.due_us[i] = cfg->incident_sla_min[i] > 0 ? cfg->incident_sla_min[i] * 60 * 1000000LL : def.due_us[i];
    }
}

/* ------------------------------------------------------------ the thread -- */

struct cs_policy {
    cs_store *s;
    cs_policy_opts o;
    cs_notifier *n;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    cs_policy_stats st;   /* under mu for readers */
};

static void *policy_main(void *arg)
{
    cs_policy *p = arg;
    cs_policy_stats st;
    bool stop = false;
    pthread_setname_np(pthread_self(), "cs-policy");
    pthread_mutex_lock(&p->mu);
    st = p->st;
    pthread_mutex_unlock(&p->mu);
    while (!stop) {
        struct timespec ts;
        if (cs_policy_run_once(p->s, &p->o, p->n, cs_now_us(), &st) != CS_OK) {
            st.errors++;
            CS_WARN("policy", "%s", cs_err_msg());
        }
        pthread_mutex_lock(&p->mu);
        p->st = st;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += p->o.interval_ms / 1000;
        ts.tv_nsec += (long)(p->o.interval_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (!p->stop) {
            pthread_cond_timedwait(&p->cv, &p->mu, &ts);
        }
        stop = p->stop;
        pthread_mutex_unlock(&p->mu);
    }
    /* one last pass: alerts committed at shutdown still get their tickets */
    if (cs_policy_run_once(p->s, &p->o, p->n, cs_now_us(), &st) != CS_OK) {
        st.errors++;
    }
    pthread_mutex_lock(&p->mu);
    p->st = st;
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

cs_rc cs_policy_start(const char *db_path, const cs_policy_opts *o, cs_notifier *n, cs_policy **out)
{
    cs_policy *p = calloc(1, sizeof *p);
    cs_rc rc;
    *out = NULL;
    if (p == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory starting the incident policy");
    }
    p->o = *o;
    if (p->o.interval_ms <= 0) {
        p->o.interval_ms = DEFAULT_INTERVAL_MS;
    }
    p->n = n;
    if ((rc = cs_store_open(db_path, false, &p->s)) != CS_OK) {
        free(p);
        return rc;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->th, NULL, policy_main, p) != 0) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        cs_store_close(p->s);
        free(p);
        return cs_err_set(CS_ERR_INTERNAL, "cannot start the incident policy thread");
    }
    *out = p;
    return CS_OK;
}

void cs_policy_stop(cs_policy *p)
{
    if (p == NULL) {
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->th, NULL);
    cs_store_close(p->s);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

void cs_policy_stats_get(cs_policy *p, cs_policy_stats *st)
{
    memset(st, 0, sizeof *st);
    if (p == NULL) {
        return;
    }
    pthread_mutex_lock(&p->mu);
    *st = p->st;
    pthread_mutex_unlock(&p->mu);
}

void cs_policy_stats_json(cs_policy *p, cs_buf *b)
{
    cs_policy_stats st;
    cs_policy_stats_get(p, &st);
    cs_buf_printf(b,
                  "\"incident_policy\":{\"passes\":%llu,\"alerts_seen\":%llu,\"suppressed\":%llu,"
                  "\"incidents_opened\":%llu,\"alerts_linked\":%llu,\"sla_breaches\":%llu,\"errors\":%llu}",
                  (unsigned long long)st.passes, (unsigned long long)st.alerts_seen,
                  (unsigned long long)st.suppressed, (unsigned long long)st.incidents_opened,
                  (unsigned long long)st.alerts_linked, (unsigned long long)st.sla_breaches,
                  (unsigned long long)st.errors);
}
