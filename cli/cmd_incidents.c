/* cmd_incidents.c - `citysoc incidents`: incident tickets from a terminal.
 *
 * A thin layer over store/incident.h: every change goes through the store's
 * functions, which check it, write the timeline and the audit row in one
 * transaction and explain a refusal in a sentence that is printed as is.
 * The actor is --as NAME, else the login name, else "cli"; the clock is the
 * real one (cs_now_us()).
 *
 * Output: a table or a few lines for people; with --json one JSON object per
 * line for scripts (times as RFC 3339 UTC strings, unset values as null).
 * Reads open the store read-only; changes need the file to exist already, so
 * a mistyped --db never creates an empty store.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../runtime/json.h"
#include "../runtime/timeutil.h"
#include "../store/incident.h"
#include "../store/triage.h"
#include "cli.h"

/* The most a comment read from standard input may be before we stop
 * reading; the store's own limit (CS_INCIDENT_COMMENT_MAX) is far lower and
 * is the one that explains the refusal. */
#define STDIN_COMMENT_CAP (16u * 1024u * 1024u)

static const char usage[] =
    "usage: citysoc incidents list [--state S]... [--severity S] [--assignee U] [--limit N] [--after CURSOR] [--json]\n"
    "       citysoc incidents show ID [--json]\n"
    "       citysoc incidents open --title T --severity S [--system ID] [--alert ID]...\n"
    "       citysoc incidents assign ID USER\n"
    "       citysoc incidents transition ID STATE [--note TEXT]\n"
    "       citysoc incidents comment ID TEXT|-\n"
    "       citysoc incidents link ID ALERT...\n"
    "       citysoc incidents observable ID TYPE VALUE\n"
    "       citysoc incidents merge INTO FROM\n"
    "       citysoc incidents board [--json]\n"
    "       citysoc incidents sla [--limit N] [--json]\n"
    "\n"
    "Incident tickets in the store. Every command also takes:\n"
    "  --db FILE         the SQLite store (default: store.path of -c, else citysoc.db)\n"
    "  -c, --config FILE take the store path from a configuration\n"
    "  --as NAME         who makes the change, for the audit trail (default: the login name)\n"
    "\n"
    "  list         newest first; --state may repeat; prints the cursor of the next page\n"
    "               (--after CURSOR) when there is one; --limit 1..1000 (default 50);\n"
    "               a ! after the SLA due time marks a breach\n"
    "  show         every field, the SLA due time and whether it is breached, linked\n"
    "               alerts, observables and the timeline (merged incidents included)\n"
    "  open         prints the new incident's id; --alert links an existing alert\n"
    "  assign       sets the assignee (a new incident becomes assigned)\n"
    "  transition   new, assigned, investigating, contained, resolved, closed, false_positive;\n"
    "               a transition the lifecycle forbids is refused with the allowed ones\n"
    "  comment      TEXT, or - to read it from standard input (trailing newlines dropped);\n"
    "               at most 64 KiB: a longer one is refused, never cut\n"
    "  link         links existing alerts (already linked ones are skipped)\n"
    "  observable   TYPE is ip, domain, hash, user, url or email; seen again moves last seen\n"
    "  merge        merges FROM into INTO (FROM is closed, its links and observables copied)\n"
    "  board        the number of incidents in each state\n"
    "  sla          open incidents past their SLA due time, most overdue first\n"
    "  --json       one JSON object per line instead of text\n"
    "exit status: 0 success, 1 failure or refusal (explained on stderr), 2 usage error.\n";

enum {
    O_DB = 256,
    O_AS,
    O_JSON,
    O_STATE,
    O_SEVERITY,
    O_ASSIGNEE,
    O_LIMIT,
    O_AFTER,
    O_TITLE,
    O_SYSTEM,
    O_ALERT,
    O_NOTE,
};
#define BIT(o) (1u << ((o) - O_DB))
#define COMMON (BIT(O_DB) | BIT(O_AS))

typedef struct inc_args {
    const char *db, *config, *actor;
    bool json;
    cs_incident_state states[CS_INC__STATE_COUNT];
    size_t nstates;
    bool has_severity;
    cs_severity severity;
    const char *assignee, *title, *system, *note;
    long limit;
    bool has_limit;
    int64_t after;
    const char **alerts;
    size_t nalerts;
    char **pos;   /* positional arguments after the subcommand */
    size_t npos;
    cs_store *store;
    int64_t now;
} inc_args;

typedef int (*inc_fn)(inc_args *a);

typedef struct inc_cmd {
    const char *name;
    unsigned opts;       /* BIT()s of the options it takes besides -c */
    size_t min_pos, max_pos;
    bool readonly;
    inc_fn fn;
} inc_cmd;

/* ---- shared helpers ---- */

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

/* "12" or "#12", 1..INT64_MAX; prints the usage error itself. */
static bool parse_id(const char *what, const char *arg, int64_t *out)
{
    const char *p = arg[0] == '#' ? arg + 1 : arg;
    char *end;
    long long v;
    errno = 0;
    v = strtoll(p, &end, 10);
    if (errno != 0 || end == p || *end != '\0' || v <= 0) {
        cs_cli_error("%s must be a positive whole number, not '%s'", what, arg);
        return false;
    }
    *out = (int64_t)v;
    return true;
}

static void fmt_time(int64_t us, char *buf, size_t n)
{
    if (us == 0) {
        snprintf(buf, n, "-");
    } else {
        cs_time_format(us, buf, n);
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

static void json_str(cs_buf *b, const char *key, const char *v, bool first)
{
    cs_buf_printf(b, "%s\"%s\":", first ? "" : ",", key);
    if (v == NULL) {
        cs_buf_append_cstr(b, "null");
    } else {
        cs_buf_json_str(b, v, strlen(v));
    }
}

static bool is_open_state(cs_incident_state st)
{
    return st != CS_INC_RESOLVED && st != CS_INC_CLOSED && st != CS_INC_FALSE_POSITIVE;
}

static bool sla_breached(const cs_incident_row *r, int64_t now)
{
    return is_open_state(r->state) && r->sla_due > 0 && now > r->sla_due;
}

/* Append one incident's fields as a JSON object without its closing brace. */
static void incident_json_open(cs_buf *b, const cs_incident_row *r, int64_t now)
{
    cs_buf_printf(b, "{\"id\":%lld", (long long)r->id);
    json_str(b, "title", r->title, false);
    json_str(b, "severity", cs_severity_name(r->severity), false);
    json_str(b, "state", cs_incident_state_name(r->state), false);
    json_str(b, "assignee", r->assignee, false);
    json_str(b, "system_id", r->system_id, false);
    json_time(b, "created_at", r->created_at);
    json_time(b, "updated_at", r->updated_at);
    json_time(b, "sla_due", r->sla_due);
    cs_buf_printf(b, ",\"sla_breached\":%s", sla_breached(r, now) ? "true" : "false");
    json_time(b, "closed_at", r->closed_at);
    if (r->merged_into > 0) {
        cs_buf_printf(b, ",\"merged_into\":%lld", (long long)r->merged_into);
    } else {
        cs_buf_append_cstr(b, ",\"merged_into\":null");
    }
}

static int print_json_line(cs_buf *b)
{
    if (b->failed) {
        cs_cli_error("out of memory");
        return CS_EXIT_FAIL;
    }
    fwrite(b->data, 1, b->len, stdout);
    putchar('\n');
    return CS_EXIT_OK;
}

static void table_head(void)
{
    printf("%-6s %-8s %-14s %-14s %-12s %-20s %s\n", "ID", "SEVERITY", "STATE", "ASSIGNEE", "SYSTEM",
           "SLA DUE (UTC)", "TITLE");
}

static void table_row(const cs_incident_row *r, int64_t now)
{
    char due[40];
    fmt_time(r->sla_due, due, sizeof due);
    due[19] = '\0';
    printf("#%-5lld %-8s %-14s %-14s %-12s %-19s%s %s\n", (long long)r->id, cs_severity_name(r->severity),
           cs_incident_state_name(r->state), r->assignee ? r->assignee : "-", r->system_id ? r->system_id : "-", due,
           sla_breached(r, now) ? "!" : " ", r->title);
}

/* ---- list ---- */

typedef struct row_list {
    cs_incident_row *v;
    size_t n, cap;
    bool oom;
} row_list;

static char *dup_opt(const char *s, bool *oom)
{
    char *d;
    if (s == NULL) {
        return NULL;
    }
    d = strdup(s);
    if (d == NULL) {
        *oom = true;
    }
    return d;
}

static void collect_row(const cs_incident_row *r, void *ud)
{
    row_list *l = ud;
    cs_incident_row c;
    if (l->oom) {
        return;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        cs_incident_row *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL) {
            l->oom = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    c = *r;
    c.title = dup_opt(r->title, &l->oom);
    c.assignee = dup_opt(r->assignee, &l->oom);
    c.system_id = dup_opt(r->system_id, &l->oom);
    l->v[l->n++] = c;
}

static void row_list_free(row_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free((char *)l->v[i].title);
        free((char *)l->v[i].assignee);
        free((char *)l->v[i].system_id);
    }
    free(l->v);
}

static int by_id_desc(const void *x, const void *y)
{
    const cs_incident_row *a = x, *b = y;
    return a->id < b->id ? 1 : (a->id > b->id ? -1 : 0);
}

/* One page per wanted state (the store filters on one state), merged by id:
 * every list holds the newest `limit` rows of its state below the cursor, so
 * the newest `limit` of their union is the page, and a row left over (or a
 * state with a next page) means there is another one. */
static int cmd_list(inc_args *a)
{
    row_list l = {0};
    cs_incident_filter f = {0};
    size_t rounds = a->nstates ? a->nstates : 1, shown;
    bool more = false;
    int64_t next = 0;
    int status = CS_EXIT_OK;
    cs_buf b;

    cs_buf_init(&b);
    f.has_severity = a->has_severity;
    f.severity = a->severity;
    f.assignee = a->assignee;
    f.limit = (size_t)a->limit;
    f.before_id = a->after;
    for (size_t i = 0; i < rounds; i++) {
        int64_t cursor = 0;
        f.has_state = a->nstates > 0;
        f.state = a->nstates ? a->states[i] : CS_INC_NEW;
        if (cs_incident_list(a->store, &f, collect_row, &l, &cursor) != CS_OK) {
            cs_cli_error("%s", cs_err_msg());
            status = CS_EXIT_FAIL;
            goto out;
        }
        more = more || cursor != 0;
    }
    if (l.oom) {
        cs_cli_error("out of memory");
        status = CS_EXIT_FAIL;
        goto out;
    }
    qsort(l.v, l.n, sizeof *l.v, by_id_desc);
    shown = l.n < (size_t)a->limit ? l.n : (size_t)a->limit;
    more = more || l.n > shown;
    if (more && shown > 0) {
        next = l.v[shown - 1].id;
    }
    if (!a->json) {
        table_head();
    }
    for (size_t i = 0; i < shown; i++) {
        if (a->json) {
            cs_buf_reset(&b);
            incident_json_open(&b, &l.v[i], a->now);
            cs_buf_putc(&b, '}');
            if ((status = print_json_line(&b)) != CS_EXIT_OK) {
                goto out;
            }
        } else {
            table_row(&l.v[i], a->now);
        }
    }
    if (next != 0) {
        if (a->json) {
            printf("{\"next_cursor\":%lld}\n", (long long)next);
        } else {
            printf("more: --after %lld\n", (long long)next);
        }
    }
out:
    cs_buf_free(&b);
    row_list_free(&l);
    return status;
}

/* ---- show ---- */

typedef struct show_ctx {
    bool json, found;
    int64_t now, id;
    cs_buf head, timeline, alerts, observables;
    size_t ntl, nal, nob;
} show_ctx;

static void show_incident(const cs_incident_row *r, void *ud)
{
    show_ctx *c = ud;
    char t[40];
    c->found = true;
    if (c->json) {
        incident_json_open(&c->head, r, c->now);
        return;
    }
    cs_buf_printf(&c->head, "incident #%lld: %s\n", (long long)r->id, r->title);
    cs_buf_printf(&c->head, "  severity     %s\n", cs_severity_name(r->severity));
    cs_buf_printf(&c->head, "  state        %s\n", cs_incident_state_name(r->state));
    cs_buf_printf(&c->head, "  assignee     %s\n", r->assignee ? r->assignee : "-");
    cs_buf_printf(&c->head, "  system       %s\n", r->system_id ? r->system_id : "-");
    fmt_time(r->created_at, t, sizeof t);
    cs_buf_printf(&c->head, "  created      %s\n", t);
    fmt_time(r->updated_at, t, sizeof t);
    cs_buf_printf(&c->head, "  updated      %s\n", t);
    fmt_time(r->sla_due, t, sizeof t);
    cs_buf_printf(&c->head, "  sla due      %s (%s)\n", t,
                  sla_breached(r, c->now) ? "BREACHED"
                                          : (is_open_state(r->state) ? "not breached" : "no SLA: not open"));
    if (r->closed_at) {
        fmt_time(r->closed_at, t, sizeof t);
        cs_buf_printf(&c->head, "  closed       %s\n", t);
    }
    if (r->merged_into) {
        cs_buf_printf(&c->head, "  merged into  #%lld\n", (long long)r->merged_into);
    }
}

static void show_timeline(const cs_timeline_row *r, void *ud)
{
    show_ctx *c = ud;
    char t[40];
    fmt_time(r->at, t, sizeof t);
    if (c->json) {
        cs_buf_printf(&c->timeline, "%s{\"id\":%lld,\"incident_id\":%lld,\"at\":\"%s\"", c->ntl ? "," : "",
                      (long long)r->id, (long long)r->incident_id, t);
        json_str(&c->timeline, "actor", r->actor, false);
        json_str(&c->timeline, "kind", r->kind, false);
        json_str(&c->timeline, "text", r->text, false);
        json_str(&c->timeline, "from", r->from_state, false);
        json_str(&c->timeline, "to", r->to_state, false);
        cs_buf_putc(&c->timeline, '}');
    } else {
        cs_buf_printf(&c->timeline, "  %s  %-10s %s", t, r->kind ? r->kind : "-", r->actor ? r->actor : "-");
        if (r->from_state || r->to_state) {
            cs_buf_printf(&c->timeline, " (%s -> %s)", r->from_state ? r->from_state : "-",
                          r->to_state ? r->to_state : "-");
        }
        if (r->text) {
            cs_buf_printf(&c->timeline, ": %s", r->text);
        }
        if (r->incident_id != c->id) {
            cs_buf_printf(&c->timeline, " (from #%lld)", (long long)r->incident_id);
        }
        cs_buf_putc(&c->timeline, '\n');
    }
    c->ntl++;
}

static void show_alert(const char *alert_id, int64_t linked_at, const char *linked_by, void *ud)
{
    show_ctx *c = ud;
    char t[40];
    fmt_time(linked_at, t, sizeof t);
    if (c->json) {
        cs_buf_append_cstr(&c->alerts, c->nal ? ",{" : "{");
        json_str(&c->alerts, "id", alert_id, true);
        cs_buf_printf(&c->alerts, ",\"linked_at\":\"%s\"", t);
        json_str(&c->alerts, "linked_by", linked_by, false);
        cs_buf_putc(&c->alerts, '}');
    } else {
        cs_buf_printf(&c->alerts, "  %s  linked %s by %s\n", alert_id, t, linked_by ? linked_by : "-");
    }
    c->nal++;
}

static void show_observable(const cs_observable_row *r, void *ud)
{
    show_ctx *c = ud;
    char f[40], l[40];
    fmt_time(r->first_seen, f, sizeof f);
    fmt_time(r->last_seen, l, sizeof l);
    if (c->json) {
        cs_buf_append_cstr(&c->observables, c->nob ? ",{" : "{");
        json_str(&c->observables, "type", cs_observable_type_name(r->type), true);
        json_str(&c->observables, "value", r->value, false);
        cs_buf_printf(&c->observables, ",\"first_seen\":\"%s\",\"last_seen\":\"%s\"}", f, l);
    } else {
        cs_buf_printf(&c->observables, "  %-7s %s  first seen %s, last seen %s\n", cs_observable_type_name(r->type),
                      r->value, f, l);
    }
    c->nob++;
}

static int cmd_show(inc_args *a)
{
    static const cs_incident_visitor v = {show_incident, show_timeline, show_alert, show_observable};
    show_ctx c = {0};
    int status = CS_EXIT_OK;

    c.json = a->json;
    c.now = a->now;
    cs_buf_init(&c.head);
    cs_buf_init(&c.timeline);
    cs_buf_init(&c.alerts);
    cs_buf_init(&c.observables);
    if (!parse_id("the incident id", a->pos[0], &c.id)) {
        status = CS_EXIT_USAGE;
        goto out;
    }
    if (cs_incident_get(a->store, c.id, &v, &c) != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        status = CS_EXIT_FAIL;
        goto out;
    }
    if (c.head.failed || c.timeline.failed || c.alerts.failed || c.observables.failed) {
        cs_cli_error("out of memory");
        status = CS_EXIT_FAIL;
        goto out;
    }
    if (a->json) {
        printf("%s,\"alerts\":[%s],\"observables\":[%s],\"timeline\":[%s]}\n", c.head.data ? c.head.data : "{",
               c.alerts.data ? c.alerts.data : "", c.observables.data ? c.observables.data : "",
               c.timeline.data ? c.timeline.data : "");
    } else {
        fputs(c.head.data ? c.head.data : "", stdout);
        printf("alerts (%zu):\n%s", c.nal, c.alerts.data ? c.alerts.data : "");
        printf("observables (%zu):\n%s", c.nob, c.observables.data ? c.observables.data : "");
        printf("timeline (%zu):\n%s", c.ntl, c.timeline.data ? c.timeline.data : "");
    }
out:
    cs_buf_free(&c.head);
    cs_buf_free(&c.timeline);
    cs_buf_free(&c.alerts);
    cs_buf_free(&c.observables);
    return status;
}

/* ---- changes ---- */

/* Print the store's sentence for a refused or failed change. */
static int refused(void)
{
    cs_cli_error("%s", cs_err_msg());
    return CS_EXIT_FAIL;
}

static int cmd_open(inc_args *a)
{
    cs_incident_new req = {0};
    int64_t id = 0;
    if (a->title == NULL || !a->has_severity) {
        cs_cli_error("incidents open needs --title and --severity (low, medium, high, critical)");
        return CS_EXIT_USAGE;
    }
    req.title = a->title;
    req.severity = a->severity;
    req.system_id = a->system;
    req.actor = a->actor;
    req.alert_ids = a->nalerts ? a->alerts : NULL;
    req.n_alerts = a->nalerts;
    if (cs_incident_open(a->store, &req, a->now, &id) != CS_OK) {
        return refused();
    }
    if (a->json) {
        printf("{\"id\":%lld}\n", (long long)id);
    } else {
        printf("%lld\n", (long long)id);
    }
    return CS_EXIT_OK;
}

static int cmd_assign(inc_args *a)
{
    int64_t id;
    if (!parse_id("the incident id", a->pos[0], &id)) {
        return CS_EXIT_USAGE;
    }
    if (cs_incident_assign(a->store, id, a->pos[1], a->actor, a->now) != CS_OK) {
        return refused();
    }
    printf("incident #%lld assigned to %s\n", (long long)id, a->pos[1]);
    return CS_EXIT_OK;
}

static int cmd_transition(inc_args *a)
{
    cs_incident_state to;
    int64_t id;
    if (!parse_id("the incident id", a->pos[0], &id)) {
        return CS_EXIT_USAGE;
    }
    if (!cs_incident_state_parse(a->pos[1], &to)) {
        cs_cli_error("'%s' is not an incident state (new, assigned, investigating, contained, resolved, closed,"
                     " false_positive)",
                     a->pos[1]);
        return CS_EXIT_USAGE;
    }
    if (cs_incident_transition(a->store, id, to, a->note, a->actor, a->now) != CS_OK) {
        return refused();
    }
    printf("incident #%lld is now %s\n", (long long)id, cs_incident_state_name(to));
    return CS_EXIT_OK;
}

/* All of standard input (at most STDIN_COMMENT_CAP bytes), without its
 * trailing newlines, NUL-terminated; NULL after explaining why. */
static char *read_stdin_text(size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        size_t got;
        if (n + 1 == cap) {
            char *bigger = cap <= STDIN_COMMENT_CAP / 2 ? realloc(buf, cap * 2) : NULL;
            if (bigger == NULL) {
                cs_cli_error(cap <= STDIN_COMMENT_CAP / 2 ? "out of memory"
                                                         : "the comment on standard input is over 16 MiB; at most "
                                                           "64 KiB are allowed (nothing was saved)");
                free(buf);
                return NULL;
            }
            buf = bigger;
            cap *= 2;
        }
        got = fread(buf + n, 1, cap - 1 - n, stdin);
        n += got;
        if (got == 0) {
            if (ferror(stdin)) {
                cs_cli_error("cannot read the comment from standard input: %s", strerror(errno));
                free(buf);
                return NULL;
            }
            break;
        }
    }
    if (buf == NULL) {
        cs_cli_error("out of memory");
        return NULL;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        n--;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int cmd_comment(inc_args *a)
{
    char *owned = NULL;
    const char *text = a->pos[1];
    int64_t id;
    int status = CS_EXIT_OK;

    if (!parse_id("the incident id", a->pos[0], &id)) {
        return CS_EXIT_USAGE;
    }
    if (strcmp(text, "-") == 0) {
        size_t n = 0;
        if ((owned = read_stdin_text(&n)) == NULL) {
            return CS_EXIT_FAIL;
        }
        if (strlen(owned) != n) {
            cs_cli_error("the comment on standard input contains a NUL byte (nothing was saved)");
            status = CS_EXIT_FAIL;
            goto out;
        }
        text = owned;
    }
    if (cs_incident_comment(a->store, id, text, a->actor, a->now) != CS_OK) {
        status = refused();
        goto out;
    }
    printf("comment added to incident #%lld\n", (long long)id);
out:
    free(owned);
    return status;
}

static int cmd_link(inc_args *a)
{
    size_t linked = 0;
    int64_t id;
    if (!parse_id("the incident id", a->pos[0], &id)) {
        return CS_EXIT_USAGE;
    }
    if (cs_incident_link_alerts(a->store, id, (const char *const *)(a->pos + 1), a->npos - 1, a->actor, a->now,
                                &linked) != CS_OK) {
        return refused();
    }
    printf("incident #%lld: %zu alert(s) linked, %zu already were\n", (long long)id, linked, a->npos - 1 - linked);
    return CS_EXIT_OK;
}

static int cmd_observable(inc_args *a)
{
    cs_observable_type type;
    bool created = false;
    int64_t id;
    if (!parse_id("the incident id", a->pos[0], &id)) {
        return CS_EXIT_USAGE;
    }
    if (!cs_observable_type_parse(a->pos[1], &type)) {
        cs_cli_error("'%s' is not an observable type (ip, domain, hash, user, url, email)", a->pos[1]);
        return CS_EXIT_USAGE;
    }
    if (cs_incident_add_observable(a->store, id, type, a->pos[2], a->now, a->actor, a->now, &created) != CS_OK) {
        return refused();
    }
    printf("incident #%lld: observable %s %s %s\n", (long long)id, a->pos[1], a->pos[2],
           created ? "added" : "seen again");
    return CS_EXIT_OK;
}

static int cmd_merge(inc_args *a)
{
    int64_t into, from;
    if (!parse_id("the incident to merge into", a->pos[0], &into) ||
        !parse_id("the incident to merge", a->pos[1], &from)) {
        return CS_EXIT_USAGE;
    }
    if (cs_incident_merge(a->store, into, from, a->actor, a->now) != CS_OK) {
        return refused();
    }
    printf("incident #%lld merged into #%lld\n", (long long)from, (long long)into);
    return CS_EXIT_OK;
}

/* ---- board and SLA ---- */

static int cmd_board(inc_args *a)
{
    int64_t counts[CS_INC__STATE_COUNT];
    if (cs_incident_board(a->store, counts) != CS_OK) {
        return refused();
    }
    if (a->json) {
        for (int i = 0; i < CS_INC__STATE_COUNT; i++) {
            printf("%s\"%s\":%lld", i ? "," : "{", cs_incident_state_name((cs_incident_state)i),
                   (long long)counts[i]);
        }
        printf("}\n");
    } else {
        printf("%-16s %s\n", "STATE", "INCIDENTS");
        for (int i = 0; i < CS_INC__STATE_COUNT; i++) {
            printf("%-16s %lld\n", cs_incident_state_name((cs_incident_state)i), (long long)counts[i]);
        }
    }
    return CS_EXIT_OK;
}

typedef struct sla_ctx {
    inc_args *a;
    cs_buf b;
    size_t n;
} sla_ctx;

static void sla_row(const cs_incident_row *r, void *ud)
{
    sla_ctx *c = ud;
    c->n++;
    if (c->a->json) {
        cs_buf_reset(&c->b);
        incident_json_open(&c->b, r, c->a->now);
        cs_buf_printf(&c->b, ",\"overdue_s\":%lld}", (long long)((c->a->now - r->sla_due) / 1000000));
        (void)print_json_line(&c->b);
    } else {
        table_row(r, c->a->now);
    }
}

static int cmd_sla(inc_args *a)
{
    sla_ctx c = {a, {0}, 0};
    int status = CS_EXIT_OK;
    cs_buf_init(&c.b);
    if (!a->json) {
        table_head();
    }
    if (cs_incident_sla_breached(a->store, a->now, a->has_limit ? (size_t)a->limit : 0, sla_row, &c) != CS_OK) {
        status = refused();
    }
    cs_buf_free(&c.b);
    return status;
}

/* ---- dispatch ---- */

static const inc_cmd commands[] = {
    {"list", COMMON | BIT(O_JSON) | BIT(O_STATE) | BIT(O_SEVERITY) | BIT(O_ASSIGNEE) | BIT(O_LIMIT) | BIT(O_AFTER),
     0, 0, true, cmd_list},
    {"show", COMMON | BIT(O_JSON), 1, 1, true, cmd_show},
    {"open", COMMON | BIT(O_JSON) | BIT(O_TITLE) | BIT(O_SEVERITY) | BIT(O_SYSTEM) | BIT(O_ALERT), 0, 0, false,
     cmd_open},
    {"assign", COMMON, 2, 2, false, cmd_assign},
    {"transition", COMMON | BIT(O_NOTE), 2, 2, false, cmd_transition},
    {"comment", COMMON, 2, 2, false, cmd_comment},
    {"link", COMMON, 2, CS_INCIDENT_LINK_MAX + 1, false, cmd_link},
    {"observable", COMMON, 3, 3, false, cmd_observable},
    {"merge", COMMON, 2, 2, false, cmd_merge},
    {"board", COMMON | BIT(O_JSON), 0, 0, true, cmd_board},
    {"sla", COMMON | BIT(O_JSON) | BIT(O_LIMIT), 0, 0, true, cmd_sla},
};

static const struct option long_opts[] = {
    {"db", required_argument, NULL, O_DB},
    {"config", required_argument, NULL, 'c'},
    {"as", required_argument, NULL, O_AS},
    {"json", no_argument, NULL, O_JSON},
    {"state", required_argument, NULL, O_STATE},
    {"severity", required_argument, NULL, O_SEVERITY},
    {"assignee", required_argument, NULL, O_ASSIGNEE},
    {"limit", required_argument, NULL, O_LIMIT},
    {"after", required_argument, NULL, O_AFTER},
    {"title", required_argument, NULL, O_TITLE},
    {"system", required_argument, NULL, O_SYSTEM},
    {"alert", required_argument, NULL, O_ALERT},
    {"note", required_argument, NULL, O_NOTE},
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

/* Parse the options of cmd; CS_EXIT_OK, or the exit status to return. */
static int parse_options(const inc_cmd *cmd, int argc, char **argv, inc_args *a)
{
    int c;
    long v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", long_opts, NULL)) != -1) {
        if (c >= O_DB && !(cmd->opts & BIT(c))) {
            cs_cli_error("--%s does not apply to 'incidents %s'", option_name(c), cmd->name);
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
        case O_STATE:
            if (a->nstates == CS_INC__STATE_COUNT || !cs_incident_state_parse(optarg, &a->states[a->nstates])) {
                cs_cli_error("'%s' is not an incident state (new, assigned, investigating, contained, resolved,"
                             " closed, false_positive)",
                             optarg);
                return CS_EXIT_USAGE;
            }
            for (size_t i = 0; i < a->nstates; i++) {
                if (a->states[i] == a->states[a->nstates]) {
                    a->nstates--;   /* named twice: once is enough */
                    break;
                }
            }
            a->nstates++;
            break;
        case O_SEVERITY:
            if (!cs_severity_parse(optarg, &a->severity)) {
                cs_cli_error("'%s' is not a severity (low, medium, high, critical)", optarg);
                return CS_EXIT_USAGE;
            }
            a->has_severity = true;
            break;
        case O_ASSIGNEE:
            a->assignee = optarg;
            break;
        case O_LIMIT:
            if (!cs_cli_parse_long("--limit", optarg, 1, 1000, &a->limit)) {
                return CS_EXIT_USAGE;
            }
            a->has_limit = true;
            break;
        case O_AFTER:
            if (!cs_cli_parse_long("--after", optarg, 1, LONG_MAX, &v)) {
                return CS_EXIT_USAGE;
            }
            a->after = v;
            break;
        case O_TITLE:
            a->title = optarg;
            break;
        case O_SYSTEM:
            a->system = optarg;
            break;
        case O_ALERT:
            a->alerts[a->nalerts++] = optarg;
            break;
        case O_NOTE:
            a->note = optarg;
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
        cs_cli_error("'incidents %s' takes %s arguments (citysoc incidents --help)", cmd->name,
                     a->npos < cmd->min_pos ? "more" : "fewer");
        return CS_EXIT_USAGE;
    }
    return CS_EXIT_OK;
}

/* Open the store named by --db or -c: read-only for reads; for changes the
 * file must already exist. */
static int open_store(inc_args *a, bool readonly, cs_config **cfg)
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

int cs_cmd_incidents(int argc, char **argv)
{
    const inc_cmd *cmd = NULL;
    cs_config *cfg = NULL;
    inc_args a = {0};
    int status;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CS_EXIT_USAGE : CS_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            cmd = &commands[i];
        }
    }
    if (cmd == NULL) {
        cs_cli_error("unknown incidents command '%s' (citysoc incidents --help)", argv[1]);
        return CS_EXIT_USAGE;
    }
    a.limit = 50;
    a.actor = login_name();
    a.now = cs_now_us();
    if ((a.alerts = calloc((size_t)argc, sizeof *a.alerts)) == NULL) {
        cs_cli_error("out of memory");
        return CS_EXIT_FAIL;
    }
    status = parse_options(cmd, argc - 1, argv + 1, &a);
    if (status != CS_EXIT_OK) {
        status = status < 0 ? CS_EXIT_OK : status;
        goto out;
    }
    if ((status = open_store(&a, cmd->readonly, &cfg)) != CS_EXIT_OK) {
        goto out;
    }
    status = cmd->fn(&a);
out:
    cs_store_close(a.store);
    cs_config_free(cfg);
    free(a.alerts);
    return status;
}
