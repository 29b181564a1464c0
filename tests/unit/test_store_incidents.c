/* Unit tests: incident tickets (store/incident.c), alert triage,
 * suppressions and the audit trail (store/triage.c), on real SQLite files
 * under /tmp with a fixed clock (every API takes now_us): the full 7x7
 * transition matrix against the table, SLA due times and the breached list,
 * merge, observables, the comment size limit, keyset pages, alert triage with
 * its audit rows, suppressions, and a reader seeing a writer's commits (WAL). */
#include "test_util.h"

#include <sqlite3.h>
#include <unistd.h>

#include "store/incident.h"
#include "store/store.h"
#include "store/triage.h"

#define T0 1767225600000000LL /* 2026-01-01T00:00:00Z */
#define HOUR (3600LL * 1000000LL)

typedef struct fixture {
    char dir[64];
    char path[96];
    cs_store *s;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/cs_store_incidents_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
    assert_int_equal(cs_store_open(f->path, false, &f->s), CS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    char p[128];
    cs_store_close(f->s);
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static void add_alert(cs_store *s, const char *id)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(cs_store_prepare(s,
                                      "INSERT INTO alerts(id, rule_id, title, level, risk, first_seen, last_seen,"
                                      " count, doc, created_at, updated_at) VALUES(?1,'r1','t','high',5,1,2,1,'{}',1,2)",
                                      &st),
                     CS_OK);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

static int64_t count_sql(cs_store *s, const char *sql, int64_t id)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    assert_int_equal(cs_store_prepare(s, sql, &st), CS_OK);
    if (sqlite3_bind_parameter_count(st) > 0) {
        sqlite3_bind_int64(st, 1, id);
    }
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static int64_t timeline_rows(cs_store *s, int64_t id)
{
    return count_sql(s, "SELECT count(*) FROM incident_timeline WHERE incident_id = ?1", id);
}

static int64_t audit_rows(cs_store *s, int64_t id)
{
    return count_sql(s, "SELECT count(*) FROM audit WHERE object_type = 'incident' AND object_id = ?1", id);
}

static int64_t open_incident(cs_store *s, cs_severity sev, int64_t now)
{
    cs_incident_new req = {.title = "Brute force on the population database", .severity = sev, .actor = "alice"};
    int64_t id = 0;
    assert_int_equal(cs_incident_open(s, &req, now, &id), CS_OK);
    assert_true(id > 0);
    return id;
}

typedef struct captured {
    cs_incident_row row;
    char title[128], assignee[64];
    int timeline, alerts, observables;
    int64_t ids[64];
    size_t n_ids;
    int64_t obs_first, obs_last;
    char kinds[512];
} captured;

static void cap_incident(const cs_incident_row *row, void *ud)
{
    captured *c = ud;
    c->row = *row;
    snprintf(c->title, sizeof c->title, "%s", row->title);
    snprintf(c->assignee, sizeof c->assignee, "%s", row->assignee ? row->assignee : "");
    c->row.title = NULL;
    c->row.assignee = NULL;
    c->row.system_id = NULL;
}

static void cap_timeline(const cs_timeline_row *row, void *ud)
{
    captured *c = ud;
    size_t used = strlen(c->kinds);
    c->timeline++;
    snprintf(c->kinds + used, sizeof c->kinds - used, "%s%s", used ? "," : "", row->kind);
}

static void cap_alert(const char *alert_id, int64_t linked_at, const char *linked_by, void *ud)
{
    captured *c = ud;
    (void)alert_id;
    (void)linked_at;
    (void)linked_by;
    c->alerts++;
}

static void cap_observable(const cs_observable_row *row, void *ud)
{
    captured *c = ud;
    c->observables++;
    c->obs_first = row->first_seen;
    c->obs_last = row->last_seen;
}

static void cap_row_id(const cs_incident_row *row, void *ud)
{
    captured *c = ud;
    if (c->n_ids < sizeof c->ids / sizeof c->ids[0]) {
        c->ids[c->n_ids++] = row->id;
    }
}

static void get(cs_store *s, int64_t id, captured *c)
{
    static const cs_incident_visitor v = {cap_incident, cap_timeline, cap_alert, cap_observable};
    memset(c, 0, sizeof *c);
    assert_int_equal(cs_incident_get(s, id, &v, c), CS_OK);
}

/* ---- the lifecycle ---- */

/* The brief's table, written out again here on purpose: the test compares
 * the code's table with this independent copy. */
static bool expected_allowed(cs_incident_state from, cs_incident_state to)
{
    static const struct {
        cs_incident_state from, to;
    } pairs[] = {
        {CS_INC_NEW, CS_INC_ASSIGNED},
        {CS_INC_NEW, CS_INC_INVESTIGATING},
        {CS_INC_NEW, CS_INC_FALSE_POSITIVE},
        {CS_INC_ASSIGNED, CS_INC_INVESTIGATING},
        {CS_INC_ASSIGNED, CS_INC_FALSE_POSITIVE},
        {CS_INC_INVESTIGATING, CS_INC_CONTAINED},
        {CS_INC_INVESTIGATING, CS_INC_RESOLVED},
        {CS_INC_INVESTIGATING, CS_INC_FALSE_POSITIVE},
        {CS_INC_CONTAINED, CS_INC_RESOLVED},
        {CS_INC_RESOLVED, CS_INC_CLOSED},
        {CS_INC_RESOLVED, CS_INC_INVESTIGATING},
        {CS_INC_FALSE_POSITIVE, CS_INC_CLOSED},
        {CS_INC_CLOSED, CS_INC_INVESTIGATING},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        if (pairs[i].from == from && pairs[i].to == to) {
            return true;
        }
    }
    return false;
}

/* Drives a fresh incident into state `want` through allowed steps. */
static int64_t incident_in_state(cs_store *s, cs_incident_state want, int64_t now)
{
    static const cs_incident_state paths[CS_INC__STATE_COUNT][4] = {
        [CS_INC_NEW] = {CS_INC_NEW},
        [CS_INC_ASSIGNED] = {CS_INC_ASSIGNED},
        [CS_INC_INVESTIGATING] = {CS_INC_INVESTIGATING},
        [CS_INC_CONTAINED] = {CS_INC_INVESTIGATING, CS_INC_CONTAINED},
        [CS_INC_RESOLVED] = {CS_INC_INVESTIGATING, CS_INC_RESOLVED},
        [CS_INC_CLOSED] = {CS_INC_INVESTIGATING, CS_INC_RESOLVED, CS_INC_CLOSED},
        [CS_INC_FALSE_POSITIVE] = {CS_INC_FALSE_POSITIVE},
    };
    int64_t id = open_incident(s, CS_SEV_HIGH, now);
    captured c;
    for (int i = 0; i < 4 && paths[want][i] != CS_INC_NEW; i++) {
        if (paths[want][i] == CS_INC_ASSIGNED) {
            assert_int_equal(cs_incident_assign(s, id, "bob", "alice", now), CS_OK);
        } else {
            assert_int_equal(cs_incident_transition(s, id, paths[want][i], NULL, "alice", now), CS_OK);
        }
    }
    get(s, id, &c);
    assert_int_equal(c.row.state, want);
    return id;
}

static void test_transition_matrix(void **state)
{
    fixture *f = *state;
    int allowed_count = 0;
    for (int from = 0; from < CS_INC__STATE_COUNT; from++) {
        for (int to = 0; to < CS_INC__STATE_COUNT; to++) {
            bool want = expected_allowed((cs_incident_state)from, (cs_incident_state)to);
            int64_t id = incident_in_state(f->s, (cs_incident_state)from, T0);
            int64_t tl = timeline_rows(f->s, id), au = audit_rows(f->s, id);
            cs_rc rc = cs_incident_transition(f->s, id, (cs_incident_state)to, "matrix", "carol", T0 + HOUR);
            captured c;
            assert_int_equal(cs_incident_transition_allowed((cs_incident_state)from, (cs_incident_state)to), want);
            get(f->s, id, &c);
            if (want) {
                if (rc != CS_OK) {
                    fail_msg("%s -> %s should be allowed: %s", cs_incident_state_name(from),
                             cs_incident_state_name(to), cs_err_msg());
                }
                allowed_count++;
                assert_int_equal(c.row.state, to);
                assert_int_equal(timeline_rows(f->s, id), tl + 1);
                assert_int_equal(audit_rows(f->s, id), au + 1);
                assert_int_equal(c.row.closed_at, to == CS_INC_CLOSED ? T0 + HOUR : 0);
            } else {
                char want_msg[128];
                if (rc != CS_ERR_INVAL) {
                    fail_msg("%s -> %s should be refused", cs_incident_state_name(from), cs_incident_state_name(to));
                }
                snprintf(want_msg, sizeof want_msg, "from %s to %s", cs_incident_state_name(from),
                         cs_incident_state_name(to));
                assert_contains(cs_err_msg(), want_msg);
                assert_contains(cs_err_msg(), "it can go to: ");
                assert_int_equal(c.row.state, from);
                assert_int_equal(timeline_rows(f->s, id), tl);
                assert_int_equal(audit_rows(f->s, id), au);
            }
        }
    }
    assert_int_equal(allowed_count, 13);
    /* the refusal names the allowed next states */
    {
        int64_t id = incident_in_state(f->s, CS_INC_NEW, T0);
        assert_int_equal(cs_incident_transition(f->s, id, CS_INC_CLOSED, NULL, "carol", T0), CS_ERR_INVAL);
        assert_contains(cs_err_msg(), "cannot go from new to closed; from new it can go to: assigned, "
                                      "investigating, false_positive");
        assert_int_equal(cs_incident_transition(f->s, id, (cs_incident_state)42, NULL, "carol", T0), CS_ERR_INVAL);
        assert_int_equal(cs_incident_transition(f->s, 999999, CS_INC_INVESTIGATING, NULL, "carol", T0),
                         CS_ERR_NOTFOUND);
        assert_int_equal(cs_incident_transition(f->s, id, CS_INC_INVESTIGATING, NULL, "", T0), CS_ERR_INVAL);
    }
}

static void test_reopen_clears_closed_at_and_audit_from_to(void **state)
{
    fixture *f = *state;
    int64_t id = incident_in_state(f->s, CS_INC_CLOSED, T0);
    captured c;
    sqlite3_stmt *st = NULL;
    assert_int_equal(cs_incident_transition(f->s, id, CS_INC_INVESTIGATING, "new evidence", "rule:ssh-bf", T0 + 5),
                     CS_OK);
    get(f->s, id, &c);
    assert_int_equal(c.row.state, CS_INC_INVESTIGATING);
    assert_int_equal(c.row.closed_at, 0);
    assert_int_equal(c.row.updated_at, T0 + 5);
    assert_int_equal(cs_store_prepare(f->s,
                                      "SELECT actor, from_state, to_state, at, detail FROM audit"
                                      " WHERE object_type='incident' AND object_id=?1 ORDER BY id DESC LIMIT 1",
                                      &st),
                     CS_OK);
    sqlite3_bind_text(st, 1, "1", -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "rule:ssh-bf");
    assert_string_equal((const char *)sqlite3_column_text(st, 1), "closed");
    assert_string_equal((const char *)sqlite3_column_text(st, 2), "investigating");
    assert_int_equal(sqlite3_column_int64(st, 3), T0 + 5);
    assert_string_equal((const char *)sqlite3_column_text(st, 4), "{\"note\":\"new evidence\"}");
    sqlite3_finalize(st);
}

static void test_assign(void **state)
{
    fixture *f = *state;
    int64_t id = open_incident(f->s, CS_SEV_LOW, T0);
    captured c;
    assert_int_equal(cs_incident_assign(f->s, id, "bob", "alice", T0 + 1), CS_OK);
    get(f->s, id, &c);
    assert_int_equal(c.row.state, CS_INC_ASSIGNED);
    assert_string_equal(c.assignee, "bob");
    /* open + assign + the new -> assigned state change */
    assert_int_equal(timeline_rows(f->s, id), 3);
    assert_int_equal(audit_rows(f->s, id), 3);
    assert_int_equal(cs_incident_assign(f->s, id, "bob", "alice", T0 + 2), CS_ERR_INVAL);
    assert_contains(cs_err_msg(), "already assigned to bob");
    assert_int_equal(cs_incident_assign(f->s, id, "dave", "alice", T0 + 3), CS_OK);
    get(f->s, id, &c);
    assert_int_equal(c.row.state, CS_INC_ASSIGNED);
    assert_string_equal(c.assignee, "dave");
    assert_int_equal(timeline_rows(f->s, id), 4);
    assert_int_equal(cs_incident_assign(f->s, id, "", "alice", T0 + 3), CS_ERR_INVAL);
    assert_int_equal(cs_incident_assign(f->s, 4242, "x", "alice", T0 + 3), CS_ERR_NOTFOUND);
}

/* ---- SLA ---- */

static void test_sla_due_and_breached(void **state)
{
    fixture *f = *state;
    int64_t ids[CS_SEV__COUNT];
    captured c;
    cs_sla_policy p = cs_sla_policy_default();
    cs_incident_new req = {.title = "custom", .severity = CS_SEV_CRITICAL, .actor = "alice", .sla = &p};
    int64_t custom = 0;

    assert_int_equal(p.due_us[CS_SEV_CRITICAL], 4 * HOUR);
    assert_int_equal(p.due_us[CS_SEV_HIGH], 24 * HOUR);
    assert_int_equal(p.due_us[CS_SEV_MEDIUM], 72 * HOUR);
    assert_int_equal(p.due_us[CS_SEV_LOW], 7 * 24 * HOUR);
    for (int sev = 0; sev < CS_SEV__COUNT; sev++) {
        ids[sev] = open_incident(f->s, (cs_severity)sev, T0);
        get(f->s, ids[sev], &c);
        assert_int_equal(c.row.sla_due, T0 + p.due_us[sev]);
        assert_int_equal(c.row.severity, sev);
        assert_int_equal(c.row.created_at, T0);
    }
    /* a configurable table */
    p.due_us[CS_SEV_CRITICAL] = HOUR / 2;
    assert_int_equal(cs_incident_open(f->s, &req, T0, &custom), CS_OK);
    get(f->s, custom, &c);
    assert_int_equal(c.row.sla_due, T0 + HOUR / 2);
    p.due_us[CS_SEV_CRITICAL] = 0;
    assert_int_equal(cs_incident_open(f->s, &req, T0, NULL), CS_ERR_CONFIG);

    /* at due time exactly nothing is breached: breached means now > due */
    memset(&c, 0, sizeof c);
    assert_int_equal(cs_incident_sla_breached(f->s, T0 + HOUR / 2, 0, cap_row_id, &c), CS_OK);
    assert_int_equal(c.n_ids, 0);
    memset(&c, 0, sizeof c);
    assert_int_equal(cs_incident_sla_breached(f->s, T0 + 5 * HOUR, 0, cap_row_id, &c), CS_OK);
    assert_int_equal(c.n_ids, 2); /* custom (30 min), critical (4 h); most overdue first */
    assert_int_equal(c.ids[0], custom);
    assert_int_equal(c.ids[1], ids[CS_SEV_CRITICAL]);
    memset(&c, 0, sizeof c);
    assert_int_equal(cs_incident_sla_breached(f->s, T0 + 30 * 24 * HOUR, 0, cap_row_id, &c), CS_OK);
    assert_int_equal(c.n_ids, 5);
    memset(&c, 0, sizeof c);
    assert_int_equal(cs_incident_sla_breached(f->s, T0 + 30 * 24 * HOUR, 2, cap_row_id, &c), CS_OK);
    assert_int_equal(c.n_ids, 2);
    /* resolved, false positive and closed incidents have no SLA to breach */
    assert_int_equal(cs_incident_transition(f->s, ids[CS_SEV_CRITICAL], CS_INC_INVESTIGATING, NULL, "a", T0), CS_OK);
    assert_int_equal(cs_incident_transition(f->s, ids[CS_SEV_CRITICAL], CS_INC_RESOLVED, NULL, "a", T0), CS_OK);
    assert_int_equal(cs_incident_transition(f->s, ids[CS_SEV_HIGH], CS_INC_FALSE_POSITIVE, NULL, "a", T0), CS_OK);
    assert_int_equal(cs_incident_transition(f->s, ids[CS_SEV_HIGH], CS_INC_CLOSED, NULL, "a", T0), CS_OK);
    assert_int_equal(cs_incident_transition(f->s, ids[CS_SEV_MEDIUM], CS_INC_INVESTIGATING, NULL, "a", T0), CS_OK);
    memset(&c, 0, sizeof c);
    assert_int_equal(cs_incident_sla_breached(f->s, T0 + 30 * 24 * HOUR, 0, cap_row_id, &c), CS_OK);
    assert_int_equal(c.n_ids, 3);
    assert_int_equal(c.ids[0], custom);
    assert_int_equal(c.ids[1], ids[CS_SEV_MEDIUM]); /* still open: investigating */
    assert_int_equal(c.ids[2], ids[CS_SEV_LOW]);
}

/* ---- merge, observables, links ---- */

static void test_merge(void **state)
{
    fixture *f = *state;
    const char *a_alerts[] = {"al-1", "al-2"};
    const char *b_alerts[] = {"al-2", "al-3"};
    cs_incident_new ra = {.title = "A", .severity = CS_SEV_HIGH, .actor = "alice", .alert_ids = a_alerts,
                          .n_alerts = 2};
    cs_incident_new rb = {.title = "B", .severity = CS_SEV_MEDIUM, .actor = "alice", .alert_ids = b_alerts,
                          .n_alerts = 2};
    int64_t a = 0, b = 0, c3;
    captured c;

    add_alert(f->s, "al-1");
    add_alert(f->s, "al-2");
    add_alert(f->s, "al-3");
    assert_int_equal(cs_incident_open(f->s, &ra, T0, &a), CS_OK);
    assert_int_equal(cs_incident_open(f->s, &rb, T0 + 1, &b), CS_OK);
    assert_int_equal(cs_incident_add_observable(f->s, a, CS_OBS_IP, "203.0.113.7", T0 + 100, "alice", T0 + 2, NULL),
                     CS_OK);
    assert_int_equal(cs_incident_add_observable(f->s, b, CS_OBS_IP, "203.0.113.7", T0 + 50, "alice", T0 + 2, NULL),
                     CS_OK);
    assert_int_equal(cs_incident_add_observable(f->s, b, CS_OBS_USER, "root", T0 + 60, "alice", T0 + 2, NULL),
                     CS_OK);
    assert_int_equal(cs_incident_comment(f->s, b, "seen from the hotline too", "bob", T0 + 3), CS_OK);
    assert_int_equal(cs_incident_transition(f->s, b, CS_INC_INVESTIGATING, NULL, "bob", T0 + 4), CS_OK);

    assert_int_equal(cs_incident_merge(f->s, a, a, "alice", T0 + 10), CS_ERR_INVAL);
    assert_int_equal(cs_incident_merge(f->s, a, 777, "alice", T0 + 10), CS_ERR_NOTFOUND);
    assert_int_equal(cs_incident_merge(f->s, a, b, "alice", T0 + 10), CS_OK);

    get(f->s, b, &c);
    assert_int_equal(c.row.state, CS_INC_CLOSED);
    assert_int_equal(c.row.merged_into, a);
    assert_int_equal(c.row.closed_at, T0 + 10);
    assert_int_equal(c.alerts, 2); /* B keeps its own links as history */

    get(f->s, a, &c);
    assert_int_equal(c.row.state, CS_INC_NEW);
    assert_int_equal(c.alerts, 3); /* al-1, al-2 (once), al-3 */
    assert_int_equal(c.observables, 2);
    /* A's timeline includes B's: open, 2 links, observable (A); open, 2 links,
     * 2 observables, comment, state, merge (B); merge (A) */
    assert_int_equal(c.timeline, 4 + 8 + 1);
    assert_contains(c.kinds, "comment");
    assert_int_equal(count_sql(f->s, "SELECT first_seen FROM observables WHERE incident_id=?1 AND type='ip'", a),
                     T0 + 50);
    assert_int_equal(count_sql(f->s, "SELECT last_seen FROM observables WHERE incident_id=?1 AND type='ip'", a),
                     T0 + 100);
    assert_int_equal(count_sql(f->s, "SELECT count(*) FROM audit WHERE action IN ('merge','merge_in')", 0), 2);

    /* a merged incident is changed through the one it was merged into */
    assert_int_equal(cs_incident_transition(f->s, b, CS_INC_INVESTIGATING, NULL, "bob", T0 + 11), CS_ERR_INVAL);
    assert_contains(cs_err_msg(), "merged into");
    assert_int_equal(cs_incident_merge(f->s, a, b, "alice", T0 + 12), CS_ERR_INVAL);
    assert_int_equal(cs_incident_merge(f->s, b, a, "alice", T0 + 12), CS_ERR_INVAL);
    /* a chain: C into A shows in A's timeline as well */
    c3 = open_incident(f->s, CS_SEV_LOW, T0 + 20);
    assert_int_equal(cs_incident_merge(f->s, a, c3, "alice", T0 + 21), CS_OK);
    get(f->s, a, &c);
    assert_int_equal(c.timeline, 13 + 1 + 2);
}

static void test_observables_upsert(void **state)
{
    fixture *f = *state;
    int64_t id = open_incident(f->s, CS_SEV_MEDIUM, T0);
    bool created = false;
    captured c;
    assert_int_equal(
        cs_incident_add_observable(f->s, id, CS_OBS_DOMAIN, "evil.example", T0 + 500, "rule:dns-1", T0, &created),
        CS_OK);
    assert_true(created);
    assert_int_equal(
        cs_incident_add_observable(f->s, id, CS_OBS_DOMAIN, "evil.example", T0 + 900, "rule:dns-1", T0, &created),
        CS_OK);
    assert_false(created);
    assert_int_equal(
        cs_incident_add_observable(f->s, id, CS_OBS_DOMAIN, "evil.example", T0 + 100, "rule:dns-1", T0, &created),
        CS_OK);
    assert_false(created);
    /* same value, other type: another observable */
    assert_int_equal(
        cs_incident_add_observable(f->s, id, CS_OBS_URL, "evil.example", T0 + 100, "rule:dns-1", T0, &created), CS_OK);
    assert_true(created);
    get(f->s, id, &c);
    assert_int_equal(c.observables, 2);
    assert_int_equal(count_sql(f->s, "SELECT first_seen FROM observables WHERE incident_id=?1 AND type='domain'", id),
                     T0 + 100);
    assert_int_equal(count_sql(f->s, "SELECT last_seen FROM observables WHERE incident_id=?1 AND type='domain'", id),
                     T0 + 900);
    /* timeline and audit only when an observable is new: open + 2 */
    assert_int_equal(timeline_rows(f->s, id), 3);
    assert_int_equal(audit_rows(f->s, id), 3);
    assert_int_equal(cs_incident_add_observable(f->s, id, CS_OBS_HASH, "", T0, "a", T0, NULL), CS_ERR_INVAL);
    assert_int_equal(cs_incident_add_observable(f->s, id, CS_OBS_HASH, "a\nb", T0, "a", T0, NULL), CS_ERR_INVAL);
    assert_int_equal(cs_incident_add_observable(f->s, id, (cs_observable_type)9, "x", T0, "a", T0, NULL),
                     CS_ERR_INVAL);
    assert_int_equal(cs_incident_add_observable(f->s, 999, CS_OBS_IP, "10.0.0.1", T0, "a", T0, NULL),
                     CS_ERR_NOTFOUND);
}

static void test_comment_limit(void **state)
{
    fixture *f = *state;
    int64_t id = open_incident(f->s, CS_SEV_HIGH, T0);
    size_t big = 1024 * 1024;
    char *text = malloc(big + 1);
    assert_non_null(text);
    memset(text, 'x', big);
    text[big] = '\0';
    /* 1 MB: refused, nothing saved */
    assert_int_equal(cs_incident_comment(f->s, id, text, "bob", T0 + 1), CS_ERR_LIMIT);
    assert_contains(cs_err_msg(), "1048576 bytes long; at most 65536");
    assert_int_equal(timeline_rows(f->s, id), 1);
    /* one byte over the limit: refused; at the limit: kept whole */
    text[CS_INCIDENT_COMMENT_MAX + 1] = '\0';
    assert_int_equal(cs_incident_comment(f->s, id, text, "bob", T0 + 1), CS_ERR_LIMIT);
    text[CS_INCIDENT_COMMENT_MAX] = '\0';
    assert_int_equal(cs_incident_comment(f->s, id, text, "bob", T0 + 1), CS_OK);
    assert_int_equal(count_sql(f->s, "SELECT length(text) FROM incident_timeline WHERE kind='comment' AND"
                                     " incident_id=?1",
                               id),
                     CS_INCIDENT_COMMENT_MAX);
    assert_int_equal(cs_incident_comment(f->s, id, "", "bob", T0 + 1), CS_ERR_INVAL);
    assert_int_equal(cs_incident_comment(f->s, id, NULL, "bob", T0 + 1), CS_ERR_INVAL);
    assert_int_equal(cs_incident_comment(f->s, id, "\xff\xfe not UTF-8", "bob", T0 + 1), CS_ERR_INVAL);
    assert_contains(cs_err_msg(), "UTF-8");
    assert_int_equal(cs_incident_comment(f->s, id, "Đã chặn IP 203.0.113.7 trên tường lửa", "bob", T0 + 2), CS_OK);
    assert_int_equal(timeline_rows(f->s, id), 3);
    assert_int_equal(audit_rows(f->s, id), 3);
    free(text);
}

static void test_link_alerts(void **state)
{
    fixture *f = *state;
    const char *good[] = {"x1", "x2"};
    const char *bad[] = {"x3", "nope"};
    const char *open_bad[] = {"nope"};
    cs_incident_new req = {.title = "t", .severity = CS_SEV_LOW, .actor = "a", .alert_ids = open_bad, .n_alerts = 1};
    int64_t id = open_incident(f->s, CS_SEV_LOW, T0), other = 0;
    size_t linked = 0;
    captured c;
    add_alert(f->s, "x1");
    add_alert(f->s, "x2");
    add_alert(f->s, "x3");
    assert_int_equal(cs_incident_link_alerts(f->s, id, good, 2, "alice", T0 + 1, &linked), CS_OK);
    assert_int_equal(linked, 2);
    assert_int_equal(cs_incident_link_alerts(f->s, id, good, 2, "alice", T0 + 2, &linked), CS_OK);
    assert_int_equal(linked, 0);
    /* an unknown alert refuses the whole call */
    assert_int_equal(cs_incident_link_alerts(f->s, id, bad, 2, "alice", T0 + 3, &linked), CS_ERR_NOTFOUND);
    assert_contains(cs_err_msg(), "no alert nope");
    get(f->s, id, &c);
    assert_int_equal(c.alerts, 2);
    /* open with an unknown alert: no incident at all */
    assert_int_equal(cs_incident_open(f->s, &req, T0, &other), CS_ERR_NOTFOUND);
    assert_int_equal(other, 0);
    assert_int_equal(count_sql(f->s, "SELECT count(*) FROM incidents", 0), 1);
    /* the alerts' own status is untouched by linking */
    assert_int_equal(count_sql(f->s, "SELECT count(*) FROM alerts WHERE status = 'new'", 0), 3);
}

/* ---- lists ---- */

static void test_list_keyset_and_board(void **state)
{
    fixture *f = *state;
    cs_incident_filter flt = {.limit = 10};
    int64_t cursor = 0, board[CS_INC__STATE_COUNT];
    captured c;
    size_t total = 0;
    int64_t prev = INT64_MAX;

    for (int i = 0; i < 25; i++) {
        int64_t id = open_incident(f->s, (cs_severity)(i % CS_SEV__COUNT), T0 + i);
        if (i % 5 == 0) {
            assert_int_equal(cs_incident_assign(f->s, id, i % 10 == 0 ? "bob" : "dave", "alice", T0 + i), CS_OK);
        }
    }
    do {
        memset(&c, 0, sizeof c);
        flt.before_id = cursor;
        assert_int_equal(cs_incident_list(f->s, &flt, cap_row_id, &c, &cursor), CS_OK);
        for (size_t i = 0; i < c.n_ids; i++) {
            assert_true(c.ids[i] < prev); /* newest first, no repeats */
            prev = c.ids[i];
        }
        total += c.n_ids;
    } while (cursor != 0);
    assert_int_equal(total, 25);
    assert_int_equal(prev, 1);

    memset(&c, 0, sizeof c);
    flt = (cs_incident_filter){.has_state = true, .state = CS_INC_ASSIGNED};
    assert_int_equal(cs_incident_list(f->s, &flt, cap_row_id, &c, &cursor), CS_OK);
    assert_int_equal(c.n_ids, 5);
    assert_int_equal(cursor, 0);
    memset(&c, 0, sizeof c);
    flt = (cs_incident_filter){.assignee = "bob"};
    assert_int_equal(cs_incident_list(f->s, &flt, cap_row_id, &c, NULL), CS_OK);
    assert_int_equal(c.n_ids, 3);
    memset(&c, 0, sizeof c);
    flt = (cs_incident_filter){.has_severity = true, .severity = CS_SEV_CRITICAL, .assignee = "dave"};
    assert_int_equal(cs_incident_list(f->s, &flt, cap_row_id, &c, NULL), CS_OK);
    assert_int_equal(c.n_ids, 1); /* i = 15 */
    assert_int_equal(c.ids[0], 16);
    flt = (cs_incident_filter){.limit = 5000};
    assert_int_equal(cs_incident_list(f->s, &flt, cap_row_id, &c, NULL), CS_ERR_LIMIT);

    assert_int_equal(cs_incident_transition(f->s, 2, CS_INC_INVESTIGATING, NULL, "a", T0), CS_OK);
    assert_int_equal(cs_incident_board(f->s, board), CS_OK);
    assert_int_equal(board[CS_INC_NEW], 19);
    assert_int_equal(board[CS_INC_ASSIGNED], 5);
    assert_int_equal(board[CS_INC_INVESTIGATING], 1);
    assert_int_equal(board[CS_INC_CLOSED], 0);
}

/* ---- WAL: a reader sees what a writer committed ---- */

static void test_reader_sees_committed(void **state)
{
    fixture *f = *state;
    cs_store *reader = NULL;
    int64_t board[CS_INC__STATE_COUNT], id;
    captured c;
    assert_int_equal(cs_store_open(f->path, true, &reader), CS_OK);
    assert_int_equal(cs_incident_board(reader, board), CS_OK);
    assert_int_equal(board[CS_INC_NEW], 0);
    /* uncommitted work of the writer is invisible; committed work is seen */
    assert_int_equal(cs_store_begin(f->s), CS_OK);
    id = open_incident(f->s, CS_SEV_CRITICAL, T0);
    assert_int_equal(cs_incident_comment(f->s, id, "inside the writer's transaction", "bob", T0), CS_OK);
    assert_int_equal(cs_incident_board(reader, board), CS_OK);
    assert_int_equal(board[CS_INC_NEW], 0);
    assert_int_equal(cs_incident_get(reader, id, &(cs_incident_visitor){0}, NULL), CS_ERR_NOTFOUND);
    assert_int_equal(cs_store_commit(f->s), CS_OK);
    assert_int_equal(cs_incident_board(reader, board), CS_OK);
    assert_int_equal(board[CS_INC_NEW], 1);
    get(reader, id, &c);
    assert_int_equal(c.timeline, 2);
    /* a reader cannot write */
    assert_int_equal(cs_incident_comment(reader, id, "x", "bob", T0), CS_ERR_DB);
    /* a rolled-back outer transaction takes the units inside it along */
    assert_int_equal(cs_store_begin(f->s), CS_OK);
    assert_int_equal(cs_incident_comment(f->s, id, "never", "bob", T0), CS_OK);
    cs_store_rollback(f->s);
    get(reader, id, &c);
    assert_int_equal(c.timeline, 2);
    cs_store_close(reader);
}

/* ---- alert triage ---- */

static int64_t alert_audit(cs_store *s)
{
    int64_t n = 0;
    assert_int_equal(cs_audit_count(s, "alert", NULL, &n), CS_OK);
    return n;
}

static void test_alert_triage(void **state)
{
    fixture *f = *state;
    cs_alert_triage_state ts;
    const char *many[] = {"b1", "b2", "b3"};
    const char *many_bad[] = {"b1", "zz"};
    cs_triage_change ack = {.op = CS_TRIAGE_ACK, .actor = "alice", .now_us = T0 + 9};

    add_alert(f->s, "t1");
    add_alert(f->s, "b1");
    add_alert(f->s, "b2");
    add_alert(f->s, "b3");
    assert_int_equal(cs_alert_acknowledge(f->s, "t1", "alice", T0 + 1), CS_OK);
    assert_int_equal(cs_alert_get_triage(f->s, "t1", &ts), CS_OK);
    assert_int_equal(ts.status, CS_ALERT_ACKNOWLEDGED);
    assert_int_equal(ts.acknowledged_at, T0 + 1);
    assert_int_equal(cs_alert_acknowledge(f->s, "t1", "alice", T0 + 2), CS_ERR_INVAL);
    assert_contains(cs_err_msg(), "alert t1 is acknowledged: only a new alert can be acknowledged");
    assert_int_equal(cs_alert_reopen(f->s, "t1", "alice", T0 + 2), CS_ERR_INVAL);
    assert_int_equal(cs_alert_assign(f->s, "t1", "bob", "alice", T0 + 3), CS_OK);
    assert_int_equal(cs_alert_assign(f->s, "t1", "bob", "alice", T0 + 3), CS_ERR_INVAL);
    assert_int_equal(cs_alert_assign(f->s, "t1", "dave", "alice", T0 + 3), CS_OK);
    assert_int_equal(cs_alert_get_triage(f->s, "t1", &ts), CS_OK);
    assert_int_equal(ts.status, CS_ALERT_ASSIGNED);
    assert_string_equal(ts.assignee, "dave");
    assert_int_equal(cs_alert_close(f->s, "t1", CS_RESOLUTION_NONE, NULL, "dave", T0 + 4), CS_ERR_INVAL);
    assert_int_equal(cs_alert_close(f->s, "t1", CS_RESOLUTION_FALSE_POSITIVE, "backup job", "dave", T0 + 4), CS_OK);
    assert_int_equal(cs_alert_get_triage(f->s, "t1", &ts), CS_OK);
    assert_int_equal(ts.status, CS_ALERT_CLOSED);
    assert_int_equal(ts.resolution, CS_RESOLUTION_FALSE_POSITIVE);
    assert_int_equal(ts.closed_at, T0 + 4);
    assert_int_equal(cs_alert_close(f->s, "t1", CS_RESOLUTION_RESOLVED, NULL, "dave", T0 + 5), CS_ERR_INVAL);
    assert_int_equal(cs_alert_assign(f->s, "t1", "bob", "alice", T0 + 5), CS_ERR_INVAL);
    assert_int_equal(cs_alert_acknowledge(f->s, "t1", "alice", T0 + 5), CS_ERR_INVAL);
    assert_int_equal(cs_alert_reopen(f->s, "t1", "rule:ssh-bf", T0 + 6), CS_OK);
    assert_int_equal(cs_alert_get_triage(f->s, "t1", &ts), CS_OK);
    assert_int_equal(ts.status, CS_ALERT_NEW);
    assert_int_equal(ts.resolution, CS_RESOLUTION_NONE);
    assert_int_equal(ts.closed_at, 0);
    assert_string_equal(ts.assignee, "");
    /* ack, assign, reassign, close, reopen: five changes, five audit rows */
    assert_int_equal(alert_audit(f->s), 5);
    assert_int_equal(count_sql(f->s, "SELECT count(*) FROM audit WHERE object_id='t1' AND action='close' AND"
                                     " from_state='assigned' AND to_state='closed' AND actor='dave' AND"
                                     " detail='{\"reason\":\"backup job\",\"resolution\":\"false_positive\"}'",
                               0),
                     1);
    /* unknown alerts and bad actors */
    assert_int_equal(cs_alert_acknowledge(f->s, "missing", "alice", T0), CS_ERR_NOTFOUND);
    assert_contains(cs_err_msg(), "no alert missing");
    assert_int_equal(cs_alert_acknowledge(f->s, "t1", "", T0), CS_ERR_INVAL);
    assert_int_equal(cs_alert_acknowledge(f->s, "t1", "rule:", T0), CS_ERR_INVAL);
    assert_int_equal(alert_audit(f->s), 5);
    /* bulk: all or nothing */
    assert_int_equal(cs_alert_triage_many(f->s, many_bad, 2, &ack), CS_ERR_NOTFOUND);
    assert_int_equal(cs_alert_get_triage(f->s, "b1", &ts), CS_OK);
    assert_int_equal(ts.status, CS_ALERT_NEW);
    assert_int_equal(alert_audit(f->s), 5);
    assert_int_equal(cs_alert_triage_many(f->s, many, 3, &ack), CS_OK);
    assert_int_equal(count_sql(f->s, "SELECT count(*) FROM alerts WHERE status='acknowledged'", 0), 3);
    assert_int_equal(alert_audit(f->s), 8);
}

/* ---- suppressions ---- */

static void count_rows(const cs_suppression_row *row, void *ud)
{
    (void)row;
    (*(int *)ud)++;
}

static void test_suppressions(void **state)
{
    fixture *f = *state;
    cs_suppression_new req = {
        .rule_id = "r-scan",
        .conditions_json = "{\"source_ip\": \"10.1.2.3\", \"destination_ip\": \"10.9.9.9\"}",
        .owner = "net-team",
        .reason = "the vulnerability scanner's weekly run",
        .expires_at = T0 + 24 * HOUR,
    };
    cs_field_value scanner[] = {{"source_ip", "10.1.2.3"}, {"destination_ip", "10.9.9.9"}, {"host_name", NULL}};
    cs_field_value other[] = {{"source_ip", "10.1.2.4"}, {"destination_ip", "10.9.9.9"}};
    cs_field_value partial[] = {{"source_ip", "10.1.2.3"}};
    int64_t id = 0, any_rule = 0, m = -1, n = 0;
    int rows = 0;

    /* validation */
    cs_suppression_new bad = req;
    bad.owner = NULL;
    assert_int_equal(cs_suppression_add(f->s, &bad, "admin", T0, &id), CS_ERR_INVAL);
    bad = req;
    bad.reason = "";
    assert_int_equal(cs_suppression_add(f->s, &bad, "admin", T0, &id), CS_ERR_INVAL);
    assert_contains(cs_err_msg(), "reason");
    bad = req;
    bad.expires_at = T0;
    assert_int_equal(cs_suppression_add(f->s, &bad, "admin", T0, &id), CS_ERR_INVAL);
    assert_contains(cs_err_msg(), "expiry in the future");
    bad = req;
    bad.conditions_json = "{\"colour\": \"red\"}";
    assert_int_equal(cs_suppression_add(f->s, &bad, "admin", T0, &id), CS_ERR_INVAL);
    bad.conditions_json = "[1,2]";
    assert_int_equal(cs_suppression_add(f->s, &bad, "admin", T0, &id), CS_ERR_INVAL);
    bad.conditions_json = "{\"source_ip\": 7}";
    assert_int_equal(cs_suppression_add(f->s, &bad, "admin", T0, &id), CS_ERR_INVAL);
    bad.conditions_json = "{oops";
    assert_int_equal(cs_suppression_add(f->s, &bad, "admin", T0, &id), CS_ERR_PARSE);
    bad.conditions_json = NULL;
    bad.rule_id = NULL;
    assert_int_equal(cs_suppression_add(f->s, &bad, "admin", T0, &id), CS_ERR_INVAL);
    assert_contains(cs_err_msg(), "rule id or at least one field condition");
    assert_int_equal(cs_audit_count(f->s, "suppression", NULL, &n), CS_OK);
    assert_int_equal(n, 0);

    assert_int_equal(cs_suppression_add(f->s, &req, "admin", T0, &id), CS_OK);
    assert_true(id > 0);
    /* any rule, one host, expiring sooner */
    bad = (cs_suppression_new){.conditions_json = "{\"host_name\":\"backup01\"}", .owner = "ops", .reason = "nightly",
                               .expires_at = T0 + HOUR};
    assert_int_equal(cs_suppression_add(f->s, &bad, "admin", T0, &any_rule), CS_OK);

    /* match, and the hit is counted */
    assert_int_equal(cs_suppression_match(f->s, "r-scan", scanner, 3, T0 + 10, &m), CS_OK);
    assert_int_equal(m, id);
    assert_int_equal(cs_suppression_match(f->s, "r-scan", scanner, 3, T0 + 20, &m), CS_OK);
    assert_int_equal(m, id);
    assert_int_equal(count_sql(f->s, "SELECT hits FROM suppressions WHERE id=?1", id), 2);
    assert_int_equal(count_sql(f->s, "SELECT last_hit FROM suppressions WHERE id=?1", id), T0 + 20);
    /* no match: another rule, another value, a missing field */
    assert_int_equal(cs_suppression_match(f->s, "r-ssh", scanner, 3, T0 + 30, &m), CS_OK);
    assert_int_equal(m, 0);
    assert_int_equal(cs_suppression_match(f->s, "r-scan", other, 2, T0 + 30, &m), CS_OK);
    assert_int_equal(m, 0);
    assert_int_equal(cs_suppression_match(f->s, "r-scan", partial, 1, T0 + 30, &m), CS_OK);
    assert_int_equal(m, 0);
    assert_int_equal(count_sql(f->s, "SELECT hits FROM suppressions WHERE id=?1", id), 2);
    /* the any-rule suppression matches every rule on its host */
    {
        cs_field_value host[] = {{"host_name", "backup01"}, {"source_ip", "10.0.0.1"}};
        assert_int_equal(cs_suppression_match(f->s, "r-anything", host, 2, T0 + 40, &m), CS_OK);
        assert_int_equal(m, any_rule);
        assert_int_equal(cs_suppression_match(f->s, NULL, host, 2, T0 + 40, &m), CS_OK);
        assert_int_equal(m, any_rule);
        /* expired ones never match (expiry is exclusive) */
        assert_int_equal(cs_suppression_match(f->s, "r-anything", host, 2, T0 + HOUR, &m), CS_OK);
        assert_int_equal(m, 0);
    }
    assert_int_equal(cs_suppression_match(f->s, "r-scan", scanner, 3, T0 + 25 * HOUR, &m), CS_OK);
    assert_int_equal(m, 0);
    assert_int_equal(count_sql(f->s, "SELECT hits FROM suppressions WHERE id=?1", id), 2);

    /* list: expired ones only on request */
    assert_int_equal(cs_suppression_foreach(f->s, false, T0 + 2 * HOUR, count_rows, &rows), CS_OK);
    assert_int_equal(rows, 1);
    rows = 0;
    assert_int_equal(cs_suppression_foreach(f->s, true, T0 + 2 * HOUR, count_rows, &rows), CS_OK);
    assert_int_equal(rows, 2);

    /* delete, with an audit row; deleting again is an unknown suppression */
    assert_int_equal(cs_suppression_delete(f->s, id, "admin", T0 + 50), CS_OK);
    assert_int_equal(cs_suppression_delete(f->s, id, "admin", T0 + 51), CS_ERR_NOTFOUND);
    assert_int_equal(cs_suppression_match(f->s, "r-scan", scanner, 3, T0 + 60, &m), CS_OK);
    assert_int_equal(m, 0);
    assert_int_equal(cs_audit_count(f->s, "suppression", NULL, &n), CS_OK);
    assert_int_equal(n, 3); /* add, add, delete */
    assert_int_equal(count_sql(f->s, "SELECT count(*) FROM audit WHERE object_type='suppression' AND action='delete'"
                                     " AND json_extract(detail, '$.hits') = 2 AND json_extract(detail,"
                                     " '$.conditions.source_ip') = '10.1.2.3'",
                               0),
                     1);
}

/* ---- the writer thread's upserts keep the triage state ---- */

static cs_event *make_alert(const char *id, int64_t count, int64_t last_seen)
{
    cs_event *ev = cs_event_new(CS_KIND_ALERT, last_seen);
    assert_non_null(ev);
    assert_int_equal(cs_event_add_cstr(&ev, CS_F_CS_ALERT_ID, id), CS_OK);
    assert_int_equal(cs_event_add_cstr(&ev, CS_F_RULE_ID, "r-ssh"), CS_OK);
    assert_int_equal(cs_event_add_cstr(&ev, CS_F_RULE_NAME, "SSH brute force"), CS_OK);
    assert_int_equal(cs_event_add_cstr(&ev, CS_F_CS_ALERT_LEVEL, "high"), CS_OK);
    assert_int_equal(cs_event_add_time(&ev, CS_F_CS_ALERT_FIRST_SEEN, T0), CS_OK);
    assert_int_equal(cs_event_add_time(&ev, CS_F_CS_ALERT_LAST_SEEN, last_seen), CS_OK);
    assert_int_equal(cs_event_add_int(&ev, CS_F_CS_ALERT_COUNT, count), CS_OK);
    return ev;
}

static void test_writer_upsert_keeps_triage(void **state)
{
    fixture *f = *state;
    cs_store_writer *w = NULL;
    cs_store_writer_stats st;
    cs_alert_triage_state ts;
    cs_event *ev = make_alert("w1", 1, T0 + 1);

    assert_int_equal(cs_store_writer_start(f->path, 16, &w), CS_OK);
    assert_int_equal(cs_store_writer_put_alert(w, ev, NULL), CS_OK);
    cs_event_free(ev);
    assert_int_equal(cs_store_writer_finish(w, &st), CS_OK);
    assert_int_equal(st.alerts_written, 1);
    assert_int_equal(cs_alert_assign(f->s, "w1", "bob", "alice", T0 + 2), CS_OK);
    /* the same alert again, with a higher count, through a new writer */
    ev = make_alert("w1", 7, T0 + 3);
    assert_int_equal(cs_store_writer_start(f->path, 16, &w), CS_OK);
    assert_int_equal(cs_store_writer_put_alert(w, ev, NULL), CS_OK);
    cs_event_free(ev);
    assert_int_equal(cs_store_writer_finish(w, &st), CS_OK);
    assert_int_equal(cs_alert_get_triage(f->s, "w1", &ts), CS_OK);
    assert_int_equal(ts.status, CS_ALERT_ASSIGNED);
    assert_string_equal(ts.assignee, "bob");
    assert_int_equal(count_sql(f->s, "SELECT count FROM alerts WHERE id = 'w1'", 0), 7);
}

/* The writer thread batches alerts while another connection triages and
 * opens incidents on the same file: both wait for the write lock (busy
 * timeout), neither loses a write. */
static void test_triage_while_writer_runs(void **state)
{
    fixture *f = *state;
    cs_store_writer *w = NULL;
    cs_store_writer_stats st;
    char id[32];
    int64_t n = 0, inc = 0;

    for (int i = 0; i < 200; i++) {
        snprintf(id, sizeof id, "early-%d", i);
        add_alert(f->s, id);
    }
    assert_int_equal(cs_store_writer_start(f->path, 64, &w), CS_OK);
    for (int i = 0; i < 2000; i++) {
        cs_event *ev;
        snprintf(id, sizeof id, "late-%d", i);
        ev = make_alert(id, 1, T0 + i);
        assert_int_equal(cs_store_writer_put_alert(w, ev, NULL), CS_OK);
        cs_event_free(ev);
        if (i % 10 == 0) {
            snprintf(id, sizeof id, "early-%d", i / 10);
            assert_int_equal(cs_alert_acknowledge(f->s, id, "alice", T0 + i), CS_OK);
        }
        if (i % 100 == 0) {
            inc = open_incident(f->s, CS_SEV_MEDIUM, T0 + i);
        }
    }
    assert_int_equal(cs_store_writer_finish(w, &st), CS_OK);
    assert_int_equal(st.alerts_written, 2000);
    assert_int_equal(st.errors, 0);
    assert_int_equal(cs_store_count_alerts(f->s, &n), CS_OK);
    assert_int_equal(n, 2200);
    assert_int_equal(count_sql(f->s, "SELECT count(*) FROM alerts WHERE status = 'acknowledged'", 0), 200);
    assert_int_equal(alert_audit(f->s), 200);
    assert_int_equal(inc, 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_transition_matrix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_clears_closed_at_and_audit_from_to, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assign, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sla_due_and_breached, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_observables_upsert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_comment_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_alerts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_keyset_and_board, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_sees_committed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_triage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_suppressions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_upsert_keeps_triage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_triage_while_writer_runs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
