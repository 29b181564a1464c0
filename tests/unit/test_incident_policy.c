/* Unit tests: the incident policy over a real SQLite store - suppressions
 * close alerts, risk and rule tags open incidents (one per rule, system and
 * source: repeats join it), passes are idempotent, an SLA breach is recorded
 * and notified once. */
#include "test_util.h"

#include <sqlite3.h>
#include <unistd.h>

#include "correlator/incident_policy.h"
#include "store/store.h"
#include "store/triage.h"

#define T0 1773302400000000LL   /* 2026-03-12 08:00 UTC, in microseconds */

static void add_alert(sqlite3 *db, const char *id, const char *rule, const char *level, double risk,
                      const char *system, const char *src, const char *doc)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "INSERT INTO alerts(id, rule_id, title, level, risk, system_id, source_ip,"
                                        " first_seen, last_seen, count, doc, created_at, updated_at)"
                                        " VALUES(?1, ?2, 'Title of ' || ?2, ?3, ?4, ?5, ?6, ?7, ?7, 1, ?8, ?7, ?7)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rule, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, level, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 4, risk);
    sqlite3_bind_text(st, 5, system, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, src, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, T0);
    sqlite3_bind_text(st, 8, doc, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

static int64_t q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return v;
}

static void test_policy(void **state)
{
    char path[128];
    cs_store *s = NULL;
    sqlite3 *db = NULL;
    cs_policy_opts o;
    cs_policy_stats st;
    cs_notify_opts no;
    cs_notifier *n = NULL;
    cs_notify_stats ns;
    cs_suppression_new sup;
    int64_t sid = 0;
    (void)state;

    snprintf(path, sizeof path, "/tmp/cs-test-policy-%d.db", (int)getpid());
    unlink(path);
    assert_int_equal(cs_store_open(path, false, &s), CS_OK);
    db = cs_store_sqlite(s);
    /* a brute force (risk 7.2) twice from one source on one system, then a
     * second source; a low-risk alert; a low-risk one whose rule is tagged;
     * one from a scanner an analyst allow-listed */
    add_alert(db, "a1", "ssh-bf", "high", 7.2, "popdb", "203.0.113.45", "{\"rule\":{\"tags\":[\"attack.t1110\"]}}");
    add_alert(db, "a2", "ssh-bf", "high", 7.2, "popdb", "203.0.113.45", "{}");
    add_alert(db, "a3", "ssh-bf", "high", 7.2, "popdb", "198.51.100.9", "{}");
    add_alert(db, "a4", "web-sqli", "medium", 3.0, "portal", "192.0.2.1", "{}");
    add_alert(db, "a5", "dns-tunnel", "low", 1.6, "portal", "10.20.1.11",
              "{\"rule\":{\"tags\":[\"citysoc.incident\",\"attack.t1071.004\"]}}");
    add_alert(db, "a6", "ssh-bf", "high", 7.2, "popdb", "10.99.0.7", "{}");
    memset(&sup, 0, sizeof sup);
    sup.rule_id = "ssh-bf";
    sup.conditions_json = "{\"source_ip\":\"10.99.0.7\"}";
    sup.owner = "hanh";
    sup.reason = "the vulnerability scanner of the security center";
    sup.expires_at = T0 + 86400LL * 1000000;
    assert_int_equal(cs_suppression_add(s, &sup, "hanh", T0, &sid), CS_OK);

    memset(&no, 0, sizeof no);   /* no channel: notifications are only counted */
    assert_int_equal(cs_notify_new(&no, &n), CS_OK);
    memset(&o, 0, sizeof o);
    o.open_at_risk = 7.0;
    memset(&st, 0, sizeof st);
    assert_int_equal(cs_policy_run_once(s, &o, n, T0 + 1000000, &st), CS_OK);
    assert_int_equal(st.alerts_seen, 6);
    assert_int_equal(st.suppressed, 1);
    assert_int_equal(st.incidents_opened, 3);   /* ssh-bf x 2 sources, the tagged dns-tunnel */
    assert_int_equal(st.alerts_linked, 1);      /* a2 joined a1's incident */
    assert_int_equal(q_int(db, "SELECT count(*) FROM incidents"), 3);
    assert_int_equal(q_int(db, "SELECT count(*) FROM incident_alerts"), 4);
    assert_int_equal(q_int(db, "SELECT count(DISTINCT incident_id) FROM incident_alerts WHERE alert_id IN ('a1','a2')"), 1);
    assert_int_equal(q_int(db, "SELECT count(*) FROM incident_alerts WHERE alert_id = 'a4'"), 0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM alerts WHERE id = 'a6' AND status = 'closed' AND "
                               "resolution = 'false_positive'"), 1);
    assert_int_equal(q_int(db, "SELECT hits FROM suppressions"), 1);
    assert_int_equal(q_int(db, "SELECT count(*) FROM observables WHERE type = 'ip' AND value = '203.0.113.45'"), 1);
    /* severity from the level, SLA from the default policy (high: 24 h) */
    assert_int_equal(q_int(db, "SELECT count(*) FROM incidents WHERE severity = 'high'"), 2);
    assert_int_equal(q_int(db, "SELECT sla_due - created_at FROM incidents WHERE severity = 'low'"),
                     7LL * 86400 * 1000000);
    assert_int_equal(q_int(db, "SELECT count(*) FROM audit WHERE actor = 'rule:ssh-bf' AND object_type = 'incident'"
                               " AND action = 'open'"), 2);

    /* another pass, and one from scratch (a restart): nothing new */
    assert_int_equal(cs_policy_run_once(s, &o, n, T0 + 2000000, &st), CS_OK);
    {
        cs_policy_stats fresh;
        memset(&fresh, 0, sizeof fresh);
        assert_int_equal(cs_policy_run_once(s, &o, n, T0 + 3000000, &fresh), CS_OK);
        assert_int_equal(fresh.incidents_opened, 0);
        assert_int_equal(fresh.alerts_linked, 0);
    }
    assert_int_equal(q_int(db, "SELECT count(*) FROM incidents"), 3);

    /* a day and a bit later the two high ones are past their SLA: recorded
     * and notified once each, however many passes run */
    memset(&st, 0, sizeof st);
    st.last_rowid = 1000;
    assert_int_equal(cs_policy_run_once(s, &o, n, T0 + 25LL * 3600 * 1000000, &st), CS_OK);
    assert_int_equal(st.sla_breaches, 2);
    assert_int_equal(cs_policy_run_once(s, &o, n, T0 + 26LL * 3600 * 1000000, &st), CS_OK);
    assert_int_equal(st.sla_breaches, 2);
    assert_int_equal(q_int(db, "SELECT count(*) FROM audit WHERE action = 'sla_breached' AND actor = 'policy:sla'"), 2);
    assert_int_equal(cs_notify_close(n, 1000), CS_OK);
    cs_notify_get_stats(n, &ns);
    assert_int_equal(ns.queued, 3 + 2);   /* 3 opened, 2 breaches */
    cs_notify_free(n);

    /* a resolved incident is not watched */
    assert_int_equal(q_int(db, "SELECT count(*) FROM incidents WHERE severity = 'low' AND state = 'new'"), 1);
    cs_store_close(s);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
