/* Unit tests: the store's versioned schema (store/migrate.c): a v1 file
 * (alerts only, made by hand with the first schema) upgrades to v2 keeping
 * every alert; a newer file is refused; readers never migrate; a failing
 * step leaves the file at the version before it. Real files under /tmp. */
#include "test_util.h"

#include <sqlite3.h>
#include <unistd.h>

#include "store/migrate.h"
#include "store/store.h"
#include "store/triage.h"

/* The first store's schema, as citysoc wrote it before migrations existed. */
static const char v1_schema[] =
    "CREATE TABLE alerts(id TEXT PRIMARY KEY, rule_id TEXT NOT NULL, title TEXT NOT NULL, level TEXT NOT NULL,"
    " detector TEXT, risk REAL NOT NULL, system_id TEXT, source_ip TEXT, destination_ip TEXT, host_name TEXT,"
    " agg_key TEXT, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, count INTEGER NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'new', doc TEXT NOT NULL, evidence TEXT, created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE INDEX alerts_last_seen ON alerts(last_seen);"
    "CREATE INDEX alerts_system ON alerts(system_id, last_seen);"
    "CREATE INDEX alerts_rule ON alerts(rule_id, last_seen);"
    "PRAGMA user_version=1;";

typedef struct fixture {
    char dir[64];
    char path[96];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/cs_store_migrate_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    char p[128];
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *err = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fail_msg("%s: %s", sql, err);
    }
    sqlite3_close(db);
}

static int64_t raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* A v1 store with three alerts, one of them acknowledged by hand. */
static void make_v1(const char *path)
{
    raw_exec(path, v1_schema);
    raw_exec(path,
             "INSERT INTO alerts(id, rule_id, title, level, risk, first_seen, last_seen, count, status, doc,"
             " created_at, updated_at) VALUES"
             " ('a1','r-ssh','SSH brute force','high',7.5,10,20,12,'new','{}',10,20),"
             " ('a2','r-scan','Port scan','medium',4.0,11,21,1,'new','{}',11,21),"
             " ('a3','r-sqli','SQL injection','critical',9.0,12,22,3,'acknowledged','{\"x\":1}',12,22)");
}

static void test_v1_upgrades_to_v2(void **state)
{
    fixture *f = *state;
    cs_store *s = NULL;
    int64_t n = 0;
    int version = 0;
    cs_alert_triage_state ts;

    make_v1(f->path);
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 1);
    assert_int_equal(cs_store_open(f->path, false, &s), CS_OK);
    assert_int_equal(cs_store_schema_version(s, &version), CS_OK);
    assert_int_equal(version, CS_STORE_SCHEMA_VERSION);
    assert_int_equal(version, 2);
    assert_int_equal(cs_store_count_alerts(s, &n), CS_OK);
    assert_int_equal(n, 3);
    /* old columns and statuses kept, new columns present */
    assert_int_equal(cs_alert_get_triage(s, "a3", &ts), CS_OK);
    assert_int_equal(ts.status, CS_ALERT_ACKNOWLEDGED);
    assert_int_equal(cs_alert_get_triage(s, "a1", &ts), CS_OK);
    assert_int_equal(ts.status, CS_ALERT_NEW);
    assert_string_equal(ts.assignee, "");
    /* the old alerts take part in the new workflow */
    assert_int_equal(cs_alert_acknowledge(s, "a1", "analyst1", 100), CS_OK);
    cs_store_close(s);

    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 2);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM alerts"), 3);
    assert_int_equal(raw_int(f->path, "SELECT count FROM alerts WHERE id='a1'"), 12);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM alerts WHERE doc='{\"x\":1}' AND id='a3'"), 1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN"
                                      " ('audit','suppressions','incidents','incident_alerts','incident_timeline',"
                                      "'observables')"),
                     6);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM pragma_table_info('alerts') WHERE name IN"
                                      " ('assignee','acknowledged_at','closed_at','resolution')"),
                     4);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM audit WHERE object_id='a1'"), 1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
}

static void test_fresh_store_and_reopen(void **state)
{
    fixture *f = *state;
    cs_store *s = NULL;
    int version = 0;
    assert_int_equal(cs_store_open(f->path, false, &s), CS_OK);
    assert_int_equal(cs_store_schema_version(s, &version), CS_OK);
    assert_int_equal(version, 2);
    cs_store_close(s);
    /* reopening a current file is a no-op */
    assert_int_equal(cs_store_open(f->path, false, &s), CS_OK);
    assert_int_equal(cs_store_migrate(s, CS_STORE_SCHEMA_VERSION), CS_OK);
    assert_int_equal(cs_store_migrate(s, 0), CS_ERR_INVAL);
    assert_int_equal(cs_store_migrate(s, CS_STORE_SCHEMA_VERSION + 1), CS_ERR_INVAL);
    cs_store_close(s);
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 2);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_master WHERE name='incidents'"), 1);
}

static void test_newer_store_refused(void **state)
{
    fixture *f = *state;
    cs_store *s = NULL;
    make_v1(f->path);
    raw_exec(f->path, "PRAGMA user_version=99");
    assert_int_equal(cs_store_open(f->path, false, &s), CS_ERR_DB);
    assert_null(s);
    assert_contains(cs_err_msg(), "newer than this citysoc");
    assert_int_equal(cs_store_open(f->path, true, &s), CS_ERR_DB);
    assert_null(s);
    assert_contains(cs_err_msg(), "schema 99");
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM alerts"), 3);
}

static void test_reader_never_migrates(void **state)
{
    fixture *f = *state;
    cs_store *s = NULL;
    int64_t n = 0;
    int version = 0;
    make_v1(f->path);
    assert_int_equal(cs_store_open(f->path, true, &s), CS_OK);
    assert_int_equal(cs_store_schema_version(s, &version), CS_OK);
    assert_int_equal(version, 1);
    assert_int_equal(cs_store_count_alerts(s, &n), CS_OK);
    assert_int_equal(n, 3);
    cs_store_close(s);
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_master WHERE name='incidents'"), 0);
    /* a reader of a file that does not exist creates nothing */
    snprintf(f->path + strlen(f->path), 8, ".none");
    assert_int_not_equal(cs_store_open(f->path, true, &s), CS_OK);
    assert_int_equal(access(f->path, F_OK), -1);
    f->path[strlen(f->path) - 5] = '\0';
}

static void test_failed_step_rolls_back(void **state)
{
    fixture *f = *state;
    cs_store *s = NULL;
    make_v1(f->path);
    /* a table in the way of step 2: the whole step must fail, not half of it */
    raw_exec(f->path, "CREATE TABLE incidents(x)");
    assert_int_equal(cs_store_open(f->path, false, &s), CS_ERR_DB);
    assert_contains(cs_err_msg(), "migration to schema 2");
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_master WHERE name='audit'"), 0);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM pragma_table_info('alerts') WHERE name='assignee'"), 0);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM alerts"), 3);
    /* once the obstacle is gone the same file upgrades */
    raw_exec(f->path, "DROP TABLE incidents");
    assert_int_equal(cs_store_open(f->path, false, &s), CS_OK);
    cs_store_close(s);
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 2);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM alerts"), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_v1_upgrades_to_v2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fresh_store_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_store_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_never_migrates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_step_rolls_back, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
