/* test_inventory_more.c - the inventory's validation (overlapping ranges,
 * duplicates, bad values, names), its sensors and log sources, and the demo
 * inventory (etc/inventory.yaml) resolving every demo address. */
#include "test_util.h"

#include <unistd.h>

#include "correlator/inventory.h"

static char tmp_path[64];

/* Load an inventory written from text; returns the code, *inv set on success. */
static cs_rc load_text(const char *text, cs_inventory **inv)
{
    snprintf(tmp_path, sizeof tmp_path, "/tmp/cs_test_inv_more.%ld.yaml", (long)getpid());
    test_write_file(tmp_path, text);
    return cs_inventory_load(tmp_path, inv);
}

/* The load must fail with a configuration error naming line `line` of the
 * file and containing every one of the NULL-terminated words. */
static void expect_error(const char *text, int line, const char *const *words)
{
    cs_inventory *inv = NULL;
    char where[96];
    assert_int_equal(load_text(text, &inv), CS_ERR_CONFIG);
    assert_null(inv);
    snprintf(where, sizeof where, "%s:%d: ", tmp_path, line);
    assert_contains(cs_err_msg(), where);
    for (size_t i = 0; words[i] != NULL; i++) {
        assert_contains(cs_err_msg(), words[i]);
    }
}

#define EXPECT_ERROR(text, line, ...)                                                                             \
    do {                                                                                                          \
        static const char *const w_[] = {__VA_ARGS__, NULL};                                                      \
        expect_error((text), (line), w_);                                                                         \
    } while (0)

static const cs_system *by_ip(const cs_inventory *inv, const char *txt)
{
    cs_ip ip;
    assert_true(cs_ip_parse(txt, strlen(txt), &ip));
    return cs_inventory_by_ip(inv, &ip);
}

static void test_overlaps_between_systems(void **state)
{
    (void)state;
    /* identical ranges */
    EXPECT_ERROR("systems:\n"
                 "  - id: portal\n    name: Portal\n    ranges: [10.10.1.0/24]\n"
                 "  - id: popdb\n    name: Population\n    ranges: [10.10.2.0/24, 10.10.1.0/24]\n",
                 7, "system 'popdb'", "system 'portal'", "10.10.1.0/24", "line 4", "overlaps");
    /* the second system's range inside the first's */
    EXPECT_ERROR("systems:\n"
                 "  - id: city\n    name: City network\n    ranges:\n      - 10.10.0.0/16\n"
                 "  - id: popdb\n    name: Population\n    ranges:\n      - 10.10.2.0/24\n",
                 9, "range 10.10.2.0/24 of system 'popdb'", "range 10.10.0.0/16 of system 'city'", "line 5");
    /* the second system's range around the first's */
    EXPECT_ERROR("systems:\n"
                 "  - id: popdb\n    name: Population\n    ranges: [10.10.2.0/24]\n"
                 "  - id: city\n    name: City network\n    ranges: [192.168.0.0/16, 10.0.0.0/8]\n",
                 7, "range 10.0.0.0/8 of system 'city'", "range 10.10.2.0/24 of system 'popdb'");
    /* a single address inside another system's range */
    EXPECT_ERROR("systems:\n"
                 "  - id: a\n    name: A\n    ranges: [10.10.2.0/24]\n"
                 "  - id: b\n    name: B\n    ranges: [10.10.2.20]\n",
                 7, "10.10.2.20/32", "'a'", "'b'");
    /* IPv6 */
    EXPECT_ERROR("systems:\n"
                 "  - id: a\n    name: A\n    ranges: ['2001:db8::/32']\n"
                 "  - id: b\n    name: B\n    ranges: ['2001:db8:1::/48']\n",
                 7, "2001:db8:1::/48", "2001:db8::/32", "'a'", "'b'");
}

static void test_disjoint_and_nested_within_one(void **state)
{
    cs_inventory *inv = NULL;
    (void)state;
    /* nested ranges inside one system are fine; adjacent ranges of two
     * systems and IPv4 next to IPv6 do not overlap */
    assert_int_equal(load_text("systems:\n"
                               "  - id: a\n    name: A\n    ranges: [10.10.0.0/16, 10.10.9.0/24, 10.10.9.7]\n"
                               "  - id: b\n    name: B\n    ranges: [10.11.0.0/16, '::ffff:0:0/96']\n"
                               "  - id: c\n    name: C\n    ranges: [10.12.0.0/15]\n",
                               &inv),
                     CS_OK);
    assert_int_equal(cs_inventory_count(inv), 3);
    assert_string_equal(by_ip(inv, "10.10.9.7")->id, "a");
    assert_string_equal(by_ip(inv, "10.11.255.255")->id, "b");
    assert_string_equal(by_ip(inv, "10.13.0.1")->id, "c");
    assert_null(by_ip(inv, "10.14.0.1"));
    cs_inventory_free(inv);
}

static void test_duplicates_and_bad_values(void **state)
{
    (void)state;
    EXPECT_ERROR("systems:\n  - id: a\n    name: A\n  - id: b\n    name: B\n  - id: a\n    name: A again\n", 6,
                 "system id 'a' is used twice", "first at line 2");
    EXPECT_ERROR("systems:\n  - id: a\n    name: A\n    security_level: 0\n", 4, "outside 1..5", "security_level");
    EXPECT_ERROR("systems:\n  - id: a\n    name: A\n    security_level: 6\n", 4, "outside 1..5");
    EXPECT_ERROR("systems:\n  - id: a\n    name: A\n    asset_value: -1\n", 4, "outside 0..5", "asset_value");
    EXPECT_ERROR("systems:\n  - id: a\n    name: A\n    asset_value: 6\n", 4, "outside 0..5");
    EXPECT_ERROR("systems:\n  - id: a\n    name: A\n    asset_value: high\n", 4, "not a whole number");
    EXPECT_ERROR("systems:\n  - id: a\n    name: A\n    ranges: [10.10.1.0/24, 10.10.300.0/24]\n", 4,
                 "'10.10.300.0/24' is not an address range");
    EXPECT_ERROR("systems:\n  - id: a\n    name: A\n    ranges:\n      - 10.10.1.0/33\n", 5, "is not an address range");
    EXPECT_ERROR("systems:\n  - id: a\n    name: A\n    ranges: [10.10.1.5/24]\n", 4, "did you mean 10.10.1.0/24");
    EXPECT_ERROR("systems:\n  - id: a\n    name: A\n    ranges: 10.10.1.0/24\n", 4, "ranges must be a list");
    EXPECT_ERROR("systems:\n  - id: a\n    name: A\n    colour: red\n", 4, "unknown key 'colour'");
    EXPECT_ERROR("systems:\n  - id: a\n    name: {vi: A, fr: B}\n", 3, "unknown key 'fr'");
    EXPECT_ERROR("systems:\n  - id: a\n    name: A\nextra: 1\n", 4, "unknown key 'extra'");
    EXPECT_ERROR("systems:\n  - name: A\n", 2, "needs an id");
    EXPECT_ERROR("systems:\n  - id: 'a b'\n    name: A\n", 2, "may hold only");
    EXPECT_ERROR("systems:\n  - id: a\n    name: A\n    hosts: [web01]\n"
                 "  - id: b\n    name: B\n    hosts: [db01, WEB01]\n",
                 5, "host 'WEB01' of system 'b' is also a host of system 'a' (line 2)");
    EXPECT_ERROR("systems:\n  - id: a\n    name: A\n    sensors: dmz-sensor\n", 4, "sensors must be a list");
    EXPECT_ERROR("systems:\n  - id: a\n    name: A\n    log_sources: [web01:nginx, '']\n", 4,
                 "an entry of log_sources is empty");
}

static void test_names(void **state)
{
    (void)state;
    EXPECT_ERROR("systems:\n  - id: a\n    owner: X\n", 2, "system 'a' needs a name");
    EXPECT_ERROR("systems:\n  - id: a\n    name:\n", 3, "needs a name");
    EXPECT_ERROR("systems:\n  - id: a\n    name: ''\n", 3, "the name is empty");
    EXPECT_ERROR("systems:\n  - id: a\n    name: {vi: '  ', en: A}\n", 3, "Vietnamese name (vi) is empty");
    EXPECT_ERROR("systems:\n  - id: a\n    name: {en: ''}\n", 3, "English name (en) is empty");
    EXPECT_ERROR("systems:\n  - id: a\n    name: {}\n", 3, "needs vi or en");
    /* a field's own error comes before the missing name */
    EXPECT_ERROR("systems:\n  - id: a\n    ranges: [nope]\n", 3, "is not an address range");
}

static void test_new_fields(void **state)
{
    cs_inventory *inv = NULL;
    const cs_system *s;
    (void)state;
    assert_int_equal(load_text("systems:\n"
                               "  - id: portal\n"
                               "    name: {vi: \"Cổng dịch vụ công\", en: \"Public-service portal\"}\n"
                               "    ranges: [10.10.1.0/24]\n"
                               "    hosts: [portal-web01]\n"
                               "    sensors: [dmz-sensor, core-tap]\n"
                               "    log_sources: [\"portal-web01:nginx\", syslog]\n"
                               "  - id: bare\n    name: Bare\n    sensors: []\n    log_sources:\n",
                               &inv),
                     CS_OK);
    s = cs_inventory_find(inv, "portal");
    assert_non_null(s);
    assert_int_equal(s->line, 2);
    assert_int_equal(s->nnets, 1);
    assert_int_equal(s->range_line[0], 4);
    assert_int_equal(s->nsensors, 2);
    assert_string_equal(s->sensors[0], "dmz-sensor");
    assert_string_equal(s->sensors[1], "core-tap");
    assert_int_equal(s->nlog_sources, 2);
    assert_string_equal(s->log_sources[0], "portal-web01:nginx");
    assert_string_equal(s->log_sources[1], "syslog");
    assert_string_equal(cs_system_name(s, "vi"), "Cổng dịch vụ công");
    assert_string_equal(cs_system_name(s, "en"), "Public-service portal");
    s = cs_inventory_find(inv, "bare");
    assert_non_null(s);
    assert_int_equal(s->nsensors, 0);
    assert_int_equal(s->nlog_sources, 0);
    assert_null(s->name_vi);
    assert_string_equal(cs_system_name(s, "vi"), "Bare");   /* falls back to the other language */
    assert_int_equal(s->security_level, 3);                  /* defaults */
    assert_int_equal(s->asset_value, 2);
    {
        /* the event's system, by destination, then source, then host name */
        cs_event *ev = cs_event_new(CS_KIND_LOG, 0);
        cs_ip ip;
        assert_null(cs_inventory_system_for_event(inv, ev));
        assert_int_equal(cs_event_add_cstr(&ev, CS_F_HOST_NAME, "PORTAL-WEB01"), CS_OK);
        assert_string_equal(cs_inventory_system_for_event(inv, ev)->id, "portal");
        assert_null(cs_event_find(ev, CS_F_CS_SYSTEM_ID));   /* not changed */
        assert_true(cs_ip_parse("10.10.1.9", 9, &ip));
        assert_int_equal(cs_event_add_ip(&ev, CS_F_SOURCE_IP, &ip), CS_OK);
        assert_string_equal(cs_inventory_system_for_event(inv, ev)->id, "portal");
        assert_null(cs_inventory_system_for_event(NULL, ev));
        cs_event_free(ev);
    }
    cs_inventory_free(inv);
}

/* Every system of etc/inventory.yaml loads with every field, and every demo
 * address (demo/demo_gen.h) resolves to its system. */
static void test_demo_inventory(void **state)
{
    static const struct {
        const char *ip, *system, *host;
    } demo[] = {
        {"10.10.1.10", "portal", "portal-web01"}, {"10.10.2.20", "popdb", "popdb01"},
        {"10.10.3.15", "traffic-cam", "cam-ctl01"}, {"10.10.4.30", "hotline", "hotline01"},
        {"10.10.5.40", "ehealth", "ehealth01"},     {"10.10.6.50", "school", "school01"},
        {"10.10.7.60", "opendata", "opendata01"},   {"10.10.0.53", "core-net", "dns01"},
    };
    static const char *const outside[] = {"10.20.1.11", "192.0.2.10", "203.0.113.45", "198.51.100.77",
                                          "198.51.100.23"};
    char path[4096];
    cs_inventory *inv = NULL;
    (void)state;
    snprintf(path, sizeof path, "%s/etc/inventory.yaml", test_env("CS_SOURCE_DIR", "."));
    if (cs_inventory_load(path, &inv) != CS_OK) {
        fail_msg("%s", cs_err_msg());
    }
    assert_int_equal(cs_inventory_count(inv), sizeof demo / sizeof demo[0]);
    for (size_t i = 0; i < cs_inventory_count(inv); i++) {
        const cs_system *s = cs_inventory_get(inv, i);
        assert_non_null(s->name_vi);
        assert_non_null(s->name_en);
        assert_non_null(s->owner);
        assert_non_null(s->contact);
        assert_true(s->nnets >= 1);
        assert_true(s->nhosts >= 1);
        assert_true(s->nsensors >= 1);
    }
    for (size_t i = 0; i < sizeof demo / sizeof demo[0]; i++) {
        const cs_system *s = by_ip(inv, demo[i].ip);
        if (s == NULL || strcmp(s->id, demo[i].system) != 0) {
            fail_msg("%s resolves to %s, not %s", demo[i].ip, s ? s->id : "nothing", demo[i].system);
        }
        s = cs_inventory_by_host(inv, demo[i].host, strlen(demo[i].host));
        assert_non_null(s);
        assert_string_equal(s->id, demo[i].system);
    }
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        assert_null(by_ip(inv, outside[i]));
    }
    assert_string_equal(cs_system_name(cs_inventory_find(inv, "popdb"), "vi"), "Cơ sở dữ liệu dân cư");
    assert_string_equal(cs_inventory_find(inv, "portal")->log_sources[0], "portal-web01:nginx");
    cs_inventory_free(inv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overlaps_between_systems), cmocka_unit_test(test_disjoint_and_nested_within_one),
        cmocka_unit_test(test_duplicates_and_bad_values), cmocka_unit_test(test_names),
        cmocka_unit_test(test_new_fields),               cmocka_unit_test(test_demo_inventory),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    remove(tmp_path);
    return rc;
}
