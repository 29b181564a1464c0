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
    int64_t count;
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
    test_write_file(inv_yaml, "systems:\n  - id: db\n    asset_value: 5\n    ranges: [10.0.0.0/8]\n"
                              "    hosts: [popdb01]\n");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_risk_formula),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_aggregation_and_system),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
