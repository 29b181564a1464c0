/* cmd_alerts.c - `citysoc alerts`: the alert queue from a terminal.
 *
 * `citysoc alerts [options]` with no subcommand is `alerts list`. Reads open
 * the store read-only; triage changes (store/triage.h) need the file to exist
 * and are made as --as NAME (default: the login name, else "cli") on the real
 * clock; the store writes the audit row of each and explains every refusal in
 * a sentence printed as is.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../runtime/json.h"
#include "../runtime/timeutil.h"
#include "../store/store.h"
#include "../store/triage.h"
#include "cli.h"

static const char usage[] =
    "usage: citysoc alerts [list] [--status S] [--system ID] [--rule ID] [--min-risk R] [--since TIME]\n"
    "                      [--limit N] [--json]\n"
    "       citysoc alerts show ID [--json]\n"
    "       citysoc alerts ack ID...\n"
    "       citysoc alerts assign ID USER\n"
    "       citysoc alerts close ID --resolution resolved|false_positive [--reason TEXT]\n"
    "       citysoc alerts reopen ID\n"
    "       citysoc alerts suppress --owner O --reason R --expires DURATION|TIME [--rule ID]\n"
    "                      [--source-ip IP] [--destination-ip IP] [--host H] [--user U] [--system ID]\n"
    "       citysoc alerts suppressions [--all] [--json]\n"
    "       citysoc alerts unsuppress ID\n"
    "\n"
    "Stored alerts and their triage. Every command also takes:\n"
    "  --db FILE         the SQLite store (default: store.path of -c, else citysoc.db)\n"
    "  -c, --config FILE take the store path from a configuration\n"
    "  --as NAME         who makes the change, for the audit trail (default: the login name)\n"
    "\n"
    "  list          newest first (by last seen); --status new|acknowledged|assigned|closed,\n"
    "                --min-risk 0..10, --since a time (2026-03-12T08:00:00Z) or a duration\n"
    "                back from now (30m, 24h, 7d); --limit N (default 50, 0 = all);\n"
    "                --json prints each alert's document\n"
    "  show          every field, the triage state, linked incidents and the audit trail\n"
    "  ack           acknowledges new alerts, all or none\n"
    "  assign, close, reopen   the other triage changes (closed alerts reopen as new)\n"
    "  suppress      an allow-list entry: a rule and/or exact field values, with an owner,\n"
    "                a reason and an expiry (a duration such as 7d, or a time); prints its id\n"
    "  suppressions  the active suppressions (--all: expired ones too)\n"
    "  unsuppress    deletes a suppression\n"
    "  --json        one JSON object per line instead of text\n"
    "exit status: 0 success, 1 failure or refusal (explained on stderr), 2 usage error.\n";

enum {
    O_DB = 256,
    O_AS,
    O_JSON,
    O_LIMIT,
    O_STATUS,
    O_SYSTEM,
    O_RULE,
    O_MIN_RISK,
    O_SINCE,
    O_RESOLUTION,
    O_REASON,
    O_OWNER,
    O_EXPIRES,
    O_SOURCE_IP,
    O_DEST_IP,
    O_HOST,
    O_USER,
    O_ALL,
};
#define BIT(o) (1u << ((o) - O_DB))
#define COMMON (BIT(O_DB) | BIT(O_AS))

typedef struct al_args {
    const char *db, *config, *actor;
    bool json, all;
    long limit;
    bool has_status, has_min_risk;
    cs_alert_status status;
    double min_risk;
    int64_t since;   /* 0 = no bound */
    const char *system, *rule, *reason, *owner, *source_ip, *dest_ip, *host, *user;
    cs_alert_resolution resolution;
    int64_t expires;   /* 0 = not given */
    char **pos;
    size_t npos;
    cs_store *store;
    int64_t now;
} al_args;

typedef struct al_cmd {
    const char *name;
    unsigned opts;
    size_t min_pos, max_pos;
    bool readonly;
    int (*fn)(al_args *a);
} al_cmd;

static const char *login_name(void)
{
    const char *u = getenv("USER");
    struct passwd *pw;
    if (u != NULL && u[0] != '\0') {
        return u;
    }
    pw = getpwuid(geteuid());
    if (pw != NULL && pw->pw_name != NULL && pw->pw_name[0] != '\0') {
        return pw->pw_name;
    }
    return "cli";
}

static int refused(void)
{
    cs_cli_error("%s", cs_err_msg());
    return CS_EXIT_FAIL;
}

static void fmt_time(int64_t us, char *buf, size_t n)
{
    if (us == 0) {
        snprintf(buf, n, "-");
    } else {
        cs_time_format(us, buf, n);
    }
}

static void json_str(cs_buf *b, const char *key, const char *v)
{
    cs_buf_printf(b, ",\"%s\":", key);
    if (v == NULL) {
        cs_buf_append_cstr(b, "null");
    } else {
        cs_buf_json_str(b, v, strlen(v));
    }
}

static void json_time(cs_buf *b, const char *key, int64_t us)
{
    char t[40];
    cs_buf_printf(b, ",\"%s\":", key);
    if (us == 0) {
        cs_buf_append_cstr(b, "null");
    } else {
        cs_time_format(us, t, sizeof t);
        cs_buf_printf(b, "\"%s\"", t);
    }
}

/* "90s", "30m", "24h", "7d", "2w": microseconds; false if s is not one. */
static bool parse_duration(const char *s, int64_t *us)
{
    char *end;
    long long v;
    int64_t unit;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || v <= 0 || end[0] == '\0' || end[1] != '\0') {
        return false;
    }
    switch (end[0]) {
    case 's':
        unit = 1000000LL;
        break;
    case 'm':
        unit = 60 * 1000000LL;
        break;
    case 'h':
        unit = 3600 * 1000000LL;
        break;
    case 'd':
        unit = 86400 * 1000000LL;
        break;
    case 'w':
        unit = 7 * 86400 * 1000000LL;
        break;
    default:
        return false;
    }
    if (v > INT64_MAX / unit / 2) {
        return false;
    }
    *us = (int64_t)v * unit;
    return true;
}

/* A time, or a duration counted from now (sign -1: back, +1: ahead). */
static bool parse_when(const char *opt, const char *arg, int64_t now, int sign, int64_t *out)
{
    int64_t d;
    if (parse_duration(arg, &d)) {
        *out = now + sign * d;
        return true;
    }
    if (cs_time_parse(arg, strlen(arg), out)) {
        return true;
    }
    cs_cli_error("%s must be a time (2026-03-12T08:00:00Z) or a duration (30m, 24h, 7d), not '%s'", opt, arg);
    return false;
}

static int refused_db(cs_store *s, const char *what)
{
    cs_store_db_error(s, what);
    return refused();
}

/* ---- list ---- */

static const char *dash(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : "-";
}

static void print_row(const cs_alert_row *r, bool json)
{
    char t[40];
    if (json) {
        printf("%s\n", r->doc);
        return;
    }
    cs_time_format(r->last_seen, t, sizeof t);
    t[19] = '\0';
    printf("%-16s %-19s %-8s %5.2f %6lld %-12s %-10s %-15s %-15s %s\n", r->id, t, r->level, r->risk,
           (long long)r->count, r->status, dash(r->system_id), dash(r->source_ip),
           r->destination_ip != NULL && r->destination_ip[0] ? r->destination_ip : dash(r->host_name), r->title);
}

/* Only fixed SQL fragments are joined; every value is a bound parameter. */
static int cmd_list(al_args *a)
{
    char sql[640];
    sqlite3_stmt *st = NULL;
    int r, status = CS_EXIT_OK;

    snprintf(sql, sizeof sql,
             "SELECT id, rule_id, title, level, detector, system_id, source_ip, destination_ip, host_name, status,"
             " doc, risk, first_seen, last_seen, count FROM alerts WHERE 1%s%s%s%s%s"
             " ORDER BY last_seen DESC, id LIMIT ?6",
             a->has_status ? " AND status = ?1" : "", a->system ? " AND system_id = ?2" : "",
             a->rule ? " AND rule_id = ?3" : "", a->has_min_risk ? " AND risk >= ?4" : "",
             a->since ? " AND last_seen >= ?5" : "");
    if (cs_store_prepare(a->store, sql, &st) != CS_OK) {
        return refused();
    }
    /* ?6 is always there, so ?1..?5 are in range even when unused. */
    sqlite3_bind_text(st, 1, cs_alert_status_name(a->status), -1, SQLITE_STATIC);
    cs_store_bind_opt_text(st, 2, a->system);
    cs_store_bind_opt_text(st, 3, a->rule);
    sqlite3_bind_double(st, 4, a->min_risk);
    sqlite3_bind_int64(st, 5, a->since);
    sqlite3_bind_int64(st, 6, a->limit ? (sqlite3_int64)a->limit : -1);
    if (!a->json) {
        printf("%-16s %-19s %-8s %5s %6s %-12s %-10s %-15s %-15s %s\n", "ID", "LAST SEEN (UTC)", "LEVEL", "RISK",
               "COUNT", "STATUS", "SYSTEM", "SOURCE", "TARGET", "TITLE");
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        cs_alert_row row = {
            cs_store_column_opt(st, 0), cs_store_column_opt(st, 1), cs_store_column_opt(st, 2),
            cs_store_column_opt(st, 3), cs_store_column_opt(st, 4), cs_store_column_opt(st, 5),
            cs_store_column_opt(st, 6), cs_store_column_opt(st, 7), cs_store_column_opt(st, 8),
            cs_store_column_opt(st, 9), cs_store_column_opt(st, 10), sqlite3_column_double(st, 11),
            sqlite3_column_int64(st, 12), sqlite3_column_int64(st, 13), sqlite3_column_int64(st, 14),
        };
        if (row.id == NULL || row.title == NULL || row.level == NULL || row.status == NULL || row.doc == NULL) {
            continue;   /* NOT NULL columns: cannot happen in a store we wrote */
        }
        print_row(&row, a->json);
    }
    if (r != SQLITE_DONE) {
        status = refused_db(a->store, "read alerts");
    }
    sqlite3_finalize(st);
    return status;
}

/* ---- show ---- */

typedef struct show_ctx {
    bool json;
    cs_buf *b;
    size_t n;
} show_ctx;

static void show_audit(const cs_audit_row *r, void *ud)
{
    show_ctx *c = ud;
    char t[40];
    fmt_time(r->at, t, sizeof t);
    if (c->json) {
        cs_buf_printf(c->b, "%s{\"id\":%lld,\"at\":\"%s\"", c->n ? "," : "", (long long)r->id, t);
        json_str(c->b, "actor", r->actor);
        json_str(c->b, "action", r->action);
        json_str(c->b, "from", r->from_state);
        json_str(c->b, "to", r->to_state);
        json_str(c->b, "detail", r->detail);
        cs_buf_putc(c->b, '}');
    } else {
        cs_buf_printf(c->b, "  %s  %-12s %-12s %s -> %s%s%s\n", t, r->actor, r->action,
                      r->from_state ? r->from_state : "-", r->to_state ? r->to_state : "-", r->detail ? "  " : "",
                      r->detail ? r->detail : "");
    }
    c->n++;
}

/* The alert's fields into b (text lines, or JSON members after "{"). */
static void show_fields(sqlite3_stmt *st, bool json, cs_buf *b)
{
    static const char *const names[] = {"id",       "rule_id",        "title",     "level",     "detector",
                                        "system_id", "source_ip",     "destination_ip", "host_name", "status",
                                        "assignee",  "resolution"};
    static const int times[] = {12, 13, 14, 15, 16, 17};
    static const char *const time_names[] = {"first_seen", "last_seen",  "acknowledged_at",
                                             "closed_at",  "created_at", "updated_at"};
    char t[40];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = cs_store_column_opt(st, (int)i);
        if (json) {
            cs_buf_append_cstr(b, i ? "" : "{");
            if (i == 0) {
                cs_buf_append_cstr(b, "\"id\":");
                cs_buf_json_str(b, v ? v : "", v ? strlen(v) : 0);
            } else {
                json_str(b, names[i], v);
            }
        } else {
            cs_buf_printf(b, "  %-16s %s\n", names[i], v ? v : "-");
        }
    }
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        int64_t us = sqlite3_column_int64(st, times[i]);
        if (json) {
            json_time(b, time_names[i], us);
        } else {
            fmt_time(us, t, sizeof t);
            cs_buf_printf(b, "  %-16s %s\n", time_names[i], t);
        }
    }
    if (json) {
        cs_buf_printf(b, ",\"risk\":%.10g,\"count\":%lld", sqlite3_column_double(st, 18),
                      (long long)sqlite3_column_int64(st, 19));
    } else {
        cs_buf_printf(b, "  %-16s %.2f\n  %-16s %lld\n", "risk", sqlite3_column_double(st, 18), "count",
                      (long long)sqlite3_column_int64(st, 19));
    }
}

static int cmd_show(al_args *a)
{
    static const char sql[] =
        "SELECT id, rule_id, title, level, detector, system_id, source_ip, destination_ip, host_name, status,"
        " assignee, resolution, first_seen, last_seen, acknowledged_at, closed_at, created_at, updated_at, risk,"
        " count, doc FROM alerts WHERE id = ?1";
    const char *id = a->pos[0];
    sqlite3_stmt *st = NULL;
    show_ctx c = {0};
    cs_buf b, audit;
    size_t nlinks = 0;
    int r, status = CS_EXIT_OK;

    cs_buf_init(&b);
    cs_buf_init(&audit);
    c.json = a->json;
    c.b = &audit;
    if (cs_store_prepare(a->store, sql, &st) != CS_OK) {
        status = refused();
        goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    r = sqlite3_step(st);
    if (r == SQLITE_DONE) {
        cs_cli_error("there is no alert %s in %s", id, cs_store_path(a->store));
        status = CS_EXIT_FAIL;
        goto out;
    }
    if (r != SQLITE_ROW) {
        status = refused_db(a->store, "read an alert");
        goto out;
    }
    if (!a->json) {
        cs_buf_printf(&b, "alert %s: %s\n", id, cs_store_column_opt(st, 2) ? cs_store_column_opt(st, 2) : "");
    }
    show_fields(st, a->json, &b);
    if (a->json) {
        const char *doc = cs_store_column_opt(st, 20);
        cs_buf_printf(&b, ",\"doc\":%s,\"incidents\":[", doc && doc[0] ? doc : "null");
    }
    sqlite3_finalize(st);
    st = NULL;
    if (cs_store_prepare(a->store, "SELECT incident_id FROM incident_alerts WHERE alert_id = ?1 ORDER BY incident_id",
                         &st) != CS_OK) {
        status = refused();
        goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (!a->json) {
        cs_buf_append_cstr(&b, "  incidents        ");
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        cs_buf_printf(&b, a->json ? "%s%lld" : "%s#%lld", nlinks ? (a->json ? "," : " ") : "",
                      (long long)sqlite3_column_int64(st, 0));
        nlinks++;
    }
    if (r != SQLITE_DONE) {
        status = refused_db(a->store, "read the incidents of an alert");
        goto out;
    }
    cs_buf_append_cstr(&b, a->json ? "]" : (nlinks ? "\n" : "-\n"));
    if (cs_audit_foreach(a->store, "alert", id, 0, show_audit, &c) != CS_OK) {
        status = refused();
        goto out;
    }
    if (b.failed || audit.failed) {
        cs_cli_error("out of memory");
        status = CS_EXIT_FAIL;
        goto out;
    }
    if (a->json) {
        printf("%s,\"audit\":[%s]}\n", b.data, audit.data ? audit.data : "");
    } else {
        printf("%saudit (%zu):\n%s", b.data, c.n, audit.data ? audit.data : "");
    }
out:
    sqlite3_finalize(st);
    cs_buf_free(&b);
    cs_buf_free(&audit);
    return status;
}

/* ---- triage ---- */

static int cmd_ack(al_args *a)
{
    cs_triage_change c = {.op = CS_TRIAGE_ACK, .actor = a->actor, .now_us = a->now};
    if (cs_alert_triage_many(a->store, (const char *const *)a->pos, a->npos, &c) != CS_OK) {
        return refused();
    }
    printf("%zu alert(s) acknowledged\n", a->npos);
    return CS_EXIT_OK;
}

static int cmd_assign(al_args *a)
{
    if (cs_alert_assign(a->store, a->pos[0], a->pos[1], a->actor, a->now) != CS_OK) {
        return refused();
    }
    printf("alert %s assigned to %s\n", a->pos[0], a->pos[1]);
    return CS_EXIT_OK;
}

static int cmd_close(al_args *a)
{
    if (a->resolution == CS_RESOLUTION_NONE) {
        cs_cli_error("alerts close needs --resolution resolved or --resolution false_positive");
        return CS_EXIT_USAGE;
    }
    if (cs_alert_close(a->store, a->pos[0], a->resolution, a->reason, a->actor, a->now) != CS_OK) {
        return refused();
    }
    printf("alert %s closed as %s\n", a->pos[0], cs_alert_resolution_name(a->resolution));
    return CS_EXIT_OK;
}

static int cmd_reopen(al_args *a)
{
    if (cs_alert_reopen(a->store, a->pos[0], a->actor, a->now) != CS_OK) {
        return refused();
    }
    printf("alert %s reopened\n", a->pos[0]);
    return CS_EXIT_OK;
}

/* ---- suppressions ---- */

static void condition(cs_buf *b, const char *field, const char *value)
{
    if (value == NULL) {
        return;
    }
    cs_buf_printf(b, "%s\"%s\":", b->len > 1 ? "," : "", field);
    cs_buf_json_str(b, value, strlen(value));
}

static int cmd_suppress(al_args *a)
{
    cs_suppression_new req = {0};
    int64_t id = 0;
    int status = CS_EXIT_OK;
    cs_buf cond;

    if (a->owner == NULL || a->reason == NULL || a->expires == 0) {
        cs_cli_error("alerts suppress needs --owner, --reason and --expires");
        return CS_EXIT_USAGE;
    }
    cs_buf_init(&cond);
    cs_buf_putc(&cond, '{');
    condition(&cond, "source_ip", a->source_ip);
    condition(&cond, "destination_ip", a->dest_ip);
    condition(&cond, "host_name", a->host);
    condition(&cond, "user", a->user);
    condition(&cond, "system_id", a->system);
    cs_buf_putc(&cond, '}');
    if (cond.failed) {
        cs_cli_error("out of memory");
        status = CS_EXIT_FAIL;
        goto out;
    }
    req.rule_id = a->rule;
    req.conditions_json = cond.data;
    req.owner = a->owner;
    req.reason = a->reason;
    req.expires_at = a->expires;
    if (cs_suppression_add(a->store, &req, a->actor, a->now, &id) != CS_OK) {
        status = refused();
        goto out;
    }
    if (a->json) {
        printf("{\"id\":%lld}\n", (long long)id);
    } else {
        printf("%lld\n", (long long)id);
    }
out:
    cs_buf_free(&cond);
    return status;
}

typedef struct supp_ctx {
    bool json;
    cs_buf b;
} supp_ctx;

static void print_suppression(const cs_suppression_row *r, void *ud)
{
    supp_ctx *c = ud;
    char exp[40];
    fmt_time(r->expires_at, exp, sizeof exp);
    if (!c->json) {
        exp[19] = '\0';
        printf("%-5lld %-20s %-19s %6lld %-12s %-36s %s\n", (long long)r->id, exp, r->owner, (long long)r->hits,
               r->rule_id ? r->rule_id : "*", r->conditions ? r->conditions : "{}", r->reason);
        return;
    }
    cs_buf_reset(&c->b);
    cs_buf_printf(&c->b, "{\"id\":%lld", (long long)r->id);
    json_str(&c->b, "rule_id", r->rule_id);
    cs_buf_printf(&c->b, ",\"conditions\":%s", r->conditions && r->conditions[0] ? r->conditions : "{}");
    json_str(&c->b, "owner", r->owner);
    json_str(&c->b, "reason", r->reason);
    json_time(&c->b, "created_at", r->created_at);
    json_time(&c->b, "expires_at", r->expires_at);
    cs_buf_printf(&c->b, ",\"hits\":%lld", (long long)r->hits);
    json_time(&c->b, "last_hit", r->last_hit);
    cs_buf_putc(&c->b, '}');
    if (!c->b.failed) {
        printf("%s\n", c->b.data);
    }
}

static int cmd_suppressions(al_args *a)
{
    supp_ctx c = {a->json, {0}};
    int status = CS_EXIT_OK;
    cs_buf_init(&c.b);
    if (!a->json) {
        printf("%-5s %-20s %-19s %6s %-12s %-36s %s\n", "ID", "EXPIRES (UTC)", "OWNER", "HITS", "RULE",
               "CONDITIONS", "REASON");
    }
    if (cs_suppression_foreach(a->store, a->all, a->now, print_suppression, &c) != CS_OK) {
        status = refused();
    }
    cs_buf_free(&c.b);
    return status;
}

static int cmd_unsuppress(al_args *a)
{
    long id;
    if (!cs_cli_parse_long("the suppression id", a->pos[0], 1, LONG_MAX, &id)) {
        return CS_EXIT_USAGE;
    }
    if (cs_suppression_delete(a->store, id, a->actor, a->now) != CS_OK) {
        return refused();
    }
    printf("suppression %ld deleted\n", id);
    return CS_EXIT_OK;
}

/* ---- dispatch ---- */

static const al_cmd commands[] = {
    {"list",
     COMMON | BIT(O_JSON) | BIT(O_LIMIT) | BIT(O_STATUS) | BIT(O_SYSTEM) | BIT(O_RULE) | BIT(O_MIN_RISK) |
         BIT(O_SINCE),
     0, 0, true, cmd_list},
    {"show", COMMON | BIT(O_JSON), 1, 1, true, cmd_show},
    {"ack", COMMON, 1, 100000, false, cmd_ack},
    {"assign", COMMON, 2, 2, false, cmd_assign},
    {"close", COMMON | BIT(O_RESOLUTION) | BIT(O_REASON), 1, 1, false, cmd_close},
    {"reopen", COMMON, 1, 1, false, cmd_reopen},
    {"suppress",
     COMMON | BIT(O_JSON) | BIT(O_OWNER) | BIT(O_REASON) | BIT(O_EXPIRES) | BIT(O_RULE) | BIT(O_SOURCE_IP) |
         BIT(O_DEST_IP) | BIT(O_HOST) | BIT(O_USER) | BIT(O_SYSTEM),
     0, 0, false, cmd_suppress},
    {"suppressions", COMMON | BIT(O_JSON) | BIT(O_ALL), 0, 0, true, cmd_suppressions},
    {"unsuppress", COMMON, 1, 1, false, cmd_unsuppress},
};

static const struct option long_opts[] = {
    {"db", required_argument, NULL, O_DB},
    {"config", required_argument, NULL, 'c'},
    {"as", required_argument, NULL, O_AS},
    {"json", no_argument, NULL, O_JSON},
    {"limit", required_argument, NULL, O_LIMIT},
    {"status", required_argument, NULL, O_STATUS},
    {"system", required_argument, NULL, O_SYSTEM},
    {"rule", required_argument, NULL, O_RULE},
    {"min-risk", required_argument, NULL, O_MIN_RISK},
    {"since", required_argument, NULL, O_SINCE},
    {"resolution", required_argument, NULL, O_RESOLUTION},
    {"reason", required_argument, NULL, O_REASON},
    {"owner", required_argument, NULL, O_OWNER},
    {"expires", required_argument, NULL, O_EXPIRES},
    {"source-ip", required_argument, NULL, O_SOURCE_IP},
    {"destination-ip", required_argument, NULL, O_DEST_IP},
    {"host", required_argument, NULL, O_HOST},
    {"user", required_argument, NULL, O_USER},
    {"all", no_argument, NULL, O_ALL},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *option_name(int code)
{
    for (size_t i = 0; long_opts[i].name != NULL; i++) {
        if (long_opts[i].val == code) {
            return long_opts[i].name;
        }
    }
    return "?";
}

static bool parse_risk(const char *arg, double *out)
{
    char *end;
    double v;
    errno = 0;
    v = strtod(arg, &end);
    if (errno != 0 || end == arg || *end != '\0' || !(v >= 0.0 && v <= 10.0)) {
        cs_cli_error("--min-risk must be a number from 0 to 10, not '%s'", arg);
        return false;
    }
    *out = v;
    return true;
}

/* CS_EXIT_OK, -1 after --help, or the exit status of a usage error. */
static int parse_options(const al_cmd *cmd, int argc, char **argv, al_args *a)
{
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", long_opts, NULL)) != -1) {
        if (c >= O_DB && !(cmd->opts & BIT(c))) {
            cs_cli_error("--%s does not apply to 'alerts %s'", option_name(c), cmd->name);
            return CS_EXIT_USAGE;
        }
        switch (c) {
        case O_DB:
            a->db = optarg;
            break;
        case 'c':
            a->config = optarg;
            break;
        case O_AS:
            a->actor = optarg;
            break;
        case O_JSON:
            a->json = true;
            break;
        case O_LIMIT:
            if (!cs_cli_parse_long("--limit", optarg, 0, 1000000000L, &a->limit)) {
                return CS_EXIT_USAGE;
            }
            break;
        case O_STATUS:
            if (!cs_alert_status_parse(optarg, &a->status)) {
                cs_cli_error("'%s' is not an alert status (new, acknowledged, assigned, closed)", optarg);
                return CS_EXIT_USAGE;
            }
            a->has_status = true;
            break;
        case O_SYSTEM:
            a->system = optarg;
            break;
        case O_RULE:
            a->rule = optarg;
            break;
        case O_MIN_RISK:
            if (!parse_risk(optarg, &a->min_risk)) {
                return CS_EXIT_USAGE;
            }
            a->has_min_risk = true;
            break;
        case O_SINCE:
            if (!parse_when("--since", optarg, a->now, -1, &a->since)) {
                return CS_EXIT_USAGE;
            }
            break;
        case O_RESOLUTION:
            if (strcmp(optarg, "resolved") == 0) {
                a->resolution = CS_RESOLUTION_RESOLVED;
            } else if (strcmp(optarg, "false_positive") == 0) {
                a->resolution = CS_RESOLUTION_FALSE_POSITIVE;
            } else {
                cs_cli_error("--resolution must be resolved or false_positive, not '%s'", optarg);
                return CS_EXIT_USAGE;
            }
            break;
        case O_REASON:
            a->reason = optarg;
            break;
        case O_OWNER:
            a->owner = optarg;
            break;
        case O_EXPIRES:
            if (!parse_when("--expires", optarg, a->now, 1, &a->expires)) {
                return CS_EXIT_USAGE;
            }
            break;
        case O_SOURCE_IP:
            a->source_ip = optarg;
            break;
        case O_DEST_IP:
            a->dest_ip = optarg;
            break;
        case O_HOST:
            a->host = optarg;
            break;
        case O_USER:
            a->user = optarg;
            break;
        case O_ALL:
            a->all = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return -1;
        default:
            fputs(usage, stderr);
            return CS_EXIT_USAGE;
        }
    }
    a->pos = argv + optind;
    a->npos = (size_t)(argc - optind);
    if (a->npos < cmd->min_pos || a->npos > cmd->max_pos) {
        if (a->npos > cmd->max_pos && cmd->max_pos == 0) {
            cs_cli_error("unexpected argument '%s'", a->pos[0]);
        } else {
            cs_cli_error("'alerts %s' takes %s arguments (citysoc alerts --help)", cmd->name,
                         a->npos < cmd->min_pos ? "more" : "fewer");
        }
        return CS_EXIT_USAGE;
    }
    return CS_EXIT_OK;
}

/* Open the store named by --db or -c: read-only for reads; for changes the
 * file must already exist. */
static int open_store(al_args *a, bool readonly, cs_config **cfg)
{
    struct stat sb;
    const char *db = a->db;
    if (db == NULL && a->config != NULL) {
        if (cs_config_load(a->config, cfg) != CS_OK) {
            return refused();
        }
        db = (*cfg)->store_path;
    }
    if (db == NULL) {
        db = "citysoc.db";
    }
    if (!readonly && stat(db, &sb) != 0) {
        cs_cli_error("%s: no store there (%s)", db, strerror(errno));
        return CS_EXIT_FAIL;
    }
    if (cs_store_open(db, readonly, &a->store) != CS_OK) {
        return refused();
    }
    return CS_EXIT_OK;
}

int cs_cmd_alerts(int argc, char **argv)
{
    const al_cmd *cmd = &commands[0];   /* no subcommand: list */
    cs_config *cfg = NULL;
    al_args a = {0};
    int status;

    if (argc >= 2 && argv[1][0] != '-') {
        cmd = NULL;
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
            if (strcmp(argv[1], commands[i].name) == 0) {
                cmd = &commands[i];
            }
        }
        if (cmd == NULL) {
            cs_cli_error("unknown alerts command '%s' (citysoc alerts --help)", argv[1]);
            return CS_EXIT_USAGE;
        }
        argc--;
        argv++;
    }
    a.limit = 50;
    a.actor = login_name();
    a.now = cs_now_us();
    status = parse_options(cmd, argc, argv, &a);
    if (status != CS_EXIT_OK) {
        return status < 0 ? CS_EXIT_OK : status;
    }
    if ((status = open_store(&a, cmd->readonly, &cfg)) == CS_EXIT_OK) {
        status = cmd->fn(&a);
    }
    cs_store_close(a.store);
    cs_config_free(cfg);
    return status;
}
