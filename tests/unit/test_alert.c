/* Unit tests: risk, aggregation and system assignment of alerts. */
#include "test_util.h"

#include "correlator/alert.h"
#include "correlator/inventory.h"

static void test_risk_formula(void **state)
{
    (void)state;
    assert_int_equal(cs_level_priority("informational"), 1);
    assert_int_equal(cs_level_priority("CRITICAL"), 5);
    assert_int_equal(cs_level_priority(NULL), 3);
    assert_true(cs_risk_score(5, 5, 10) == 10.0);
    assert_true(cs_risk_score(3, 5, 8) == 4.8);
    assert_true(cs_risk_score(4, 0, 10) == 0.0);
    assert_true(cs_risk_score(9, 9, 99) == 10.0);   /* clamped */
}

/* OSSIM's risk = priority x asset value x reliability / 25, on 0..10, for
 * a table of cases: every input clamped to its range, so the result is
 * never below 0 nor above 10. */
static void test_risk_table(void **state)
{
    static const struct {
        int prio, asset, rel;
        double risk;
    } cases[] = {
        {1, 1, 1, 0.04},   {1, 5, 10, 2.0},  {2, 3, 5, 1.2},   {3, 2, 6, 1.44},  {3, 4, 7, 3.36},
        {4, 5, 9, 7.2},    {4, 2, 8, 2.56},  {5, 5, 8, 8.0},   {5, 4, 10, 8.0},  {5, 5, 10, 10.0},
        {0, 5, 10, 0.0},   {3, 0, 10, 0.0},  {3, 5, 0, 0.0},   /* any zero factor: 0 */
        {-3, 5, 10, 0.0},  {3, -1, 10, 0.0}, {3, 5, -7, 0.0},  /* clamped at 0 */
        {6, 5, 10, 10.0},  {5, 6, 10, 10.0}, {5, 5, 11, 10.0}, {99, 99, 99, 10.0},   /* clamped at 10 */
        {6, 1, 1, 0.2},    {1, 9, 1, 0.2},   {1, 1, 50, 0.4},  /* each input clamped on its own */
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double r = cs_risk_score(cases[i].prio, cases[i].asset, cases[i].rel);
        if (r < cases[i].risk - 1e-9 || r > cases[i].risk + 1e-9) {
            fail_msg("risk(%d, %d, %d) = %g, expected %g", cases[i].prio, cases[i].asset, cases[i].rel, r,
                     cases[i].risk);
        }
        assert_true(r >= 0.0 && r <= 10.0);
    }
    /* rule level -> priority, as alert.h documents */
    assert_int_equal(cs_level_priority("informational"), 1);
    assert_int_equal(cs_level_priority("low"), 2);
    assert_int_equal(cs_level_priority("medium"), 3);
    assert_int_equal(cs_level_priority("high"), 4);
    assert_int_equal(cs_level_priority("critical"), 5);
}

static void test_cidr(void **state)
{
    cs_ip net, ip;
    uint8_t p;
    (void)state;
    assert_true(cs_cidr_parse("10.10.1.0/24", &net, &p));
    assert_int_equal(p, 24);
    cs_ip_parse("10.10.1.200", 11, &ip);
    assert_true(cs_cidr_contains(&net, p, &ip));
    cs_ip_parse("10.10.2.1", 9, &ip);
    assert_false(cs_cidr_contains(&net, p, &ip));
    assert_true(cs_cidr_parse("fc00::/7", &net, &p));
    cs_ip_parse("fd12::1", 7, &ip);
    assert_true(cs_cidr_contains(&net, p, &ip));
    assert_false(cs_cidr_parse("10.0.0.0/33", &net, &p));
    assert_false(cs_cidr_parse("10.0.0/8", &net, &p));
}

typedef struct out {
    int news, updates;
    int64_t count, first, last;
} out;

static void on_out(const cs_event *alert, const cs_event *evd, bool is_new, void *ud)
{
    out *o = ud;
    (void)evd;
    if (is_new) {
        o->news++;
    } else {
        o->updates++;
    }
    cs_event_get_int(alert, CS_F_CS_ALERT_COUNT, &o->count);
    cs_event_get_int(alert, CS_F_CS_ALERT_FIRST_SEEN, &o->first);
    cs_event_get_int(alert, CS_F_CS_ALERT_LAST_SEEN, &o->last);
}

static cs_event *log_on(const char *host, int64_t t)
{
    cs_event *ev = cs_event_new(CS_KIND_LOG, t);
    cs_event_add_cstr(&ev, CS_F_HOST_NAME, host);
    return ev;
}

static void test_aggregation_and_system(void **state)
{
    const char *inv_yaml = "/tmp/cs_test_inventory.yaml";
    cs_inventory *inv = NULL;
    cs_alerter *a = NULL;
    out o = {0};
    cs_alert_src src = {"r1", "Title", "high", NULL, "sigma", NULL, 0, NULL, 10};
    const char *const tags[] = {"attack.t1110.001"};
    (void)state;
    test_write_file(inv_yaml, "systems:\n  - id: db\n    name: DB\n    asset_value: 5\n"
                              "    ranges: [10.0.0.0/8]\n    hosts: [popdb01]\n");
    assert_int_equal(cs_inventory_load(inv_yaml, &inv), CS_OK);
    assert_int_equal(cs_alerter_new(inv, 60 * 1000000LL, on_out, &o, &a), CS_OK);
    src.tags = tags;
    src.ntags = 1;
    for (int i = 0; i < 5; i++) {
        cs_event *ev = log_on("popdb01", (int64_t)i * 1000000);
        assert_non_null(cs_inventory_enrich(inv, &ev));
        assert_int_equal(cs_alerter_raise(a, &src, ev), CS_OK);
        cs_event_free(ev);
    }
    assert_int_equal(o.news, 1);
    assert_int_equal(o.updates, 4);
    assert_int_equal(o.count, 5);
    {
        /* another host is another alert; after the window, a new alert again */
        cs_event *ev = log_on("other", 10 * 1000000);
        assert_int_equal(cs_alerter_raise(a, &src, ev), CS_OK);
        cs_event_free(ev);
        ev = log_on("popdb01", 200 * 1000000LL);
        cs_inventory_enrich(inv, &ev);
        assert_int_equal(cs_alerter_raise(a, &src, ev), CS_OK);
        cs_event_free(ev);
    }
    assert_int_equal(o.news, 3);
    assert_int_equal(cs_alerter_count(a), 3);
    cs_alerter_free(a);
    cs_inventory_free(inv);
    /* inventory errors name file:line */
    test_write_file(inv_yaml, "systems:\n  - id: x\n    ranges: [10.0.0.0/99]\n");
    assert_int_equal(cs_inventory_load(inv_yaml, &inv), CS_ERR_CONFIG);
    assert_contains(cs_err_msg(), "cs_test_inventory.yaml:3");
    test_write_file(inv_yaml, "systems:\n  - id: x\n    colour: red\n");
    assert_int_equal(cs_inventory_load(inv_yaml, &inv), CS_ERR_CONFIG);
    assert_contains(cs_err_msg(), "unknown key 'colour'");
    remove(inv_yaml);
}

/* 10,000 identical brute-force detections (one rule, one source and
 * target, one every 20 ms: 200 s, inside the 300 s window) are one alert
 * with count 10,000, first and last seen the first and last event. */
static void test_aggregation_10000(void **state)
{
    cs_alerter *a = NULL;
    out o = {0};
    cs_alert_src src = {"ssh-bf", "SSH brute force", "high", NULL, "sigma", NULL, 0, NULL, 8};
    const int64_t t0 = 1773302400LL * 1000000;
    cs_inventory *inv = NULL;
    (void)state;
    assert_int_equal(cs_inventory_empty(&inv), CS_OK);
    assert_int_equal(cs_alerter_new(inv, 300 * 1000000LL, on_out, &o, &a), CS_OK);
    for (int i = 0; i < 10000; i++) {
        cs_event *ev = cs_event_new(CS_KIND_LOG, t0 + (int64_t)i * 20000);
        cs_ip s, d;
        assert_true(cs_ip_parse("203.0.113.45", 12, &s));
        assert_true(cs_ip_parse("10.10.2.20", 10, &d));
        assert_int_equal(cs_event_add_ip(&ev, CS_F_SOURCE_IP, &s), CS_OK);
        assert_int_equal(cs_event_add_ip(&ev, CS_F_DESTINATION_IP, &d), CS_OK);
        assert_int_equal(cs_alerter_raise(a, &src, ev), CS_OK);
        cs_event_free(ev);
    }
    assert_int_equal(o.news, 1);
    assert_int_equal(o.updates, 9999);
    assert_int_equal(o.count, 10000);
    assert_int_equal(cs_alerter_count(a), 1);
    assert_int_equal(o.first, t0);
    assert_int_equal(o.last, t0 + 9999LL * 20000);
    cs_alerter_free(a);
    cs_inventory_free(inv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_risk_formula),
        cmocka_unit_test(test_risk_table),
        cmocka_unit_test(test_aggregation_10000),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_aggregation_and_system),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
