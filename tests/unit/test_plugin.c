/* Unit tests: the plugin ABI checks, configuration validation and the
 * example portscan plugin, through real dlopen of built .so files. */
#include "test_util.h"

#include <dlfcn.h>

#include "runtime/plugin_host.h"

static char path_buf[1024];

static const char *test_plugin(const char *name)
{
    snprintf(path_buf, sizeof path_buf, "%s/%s.so", test_env("CS_TEST_PLUGIN_DIR", "build/tests/plugins"), name);
    return path_buf;
}

static const char *portscan_path(void)
{
    static char p[1024];
    snprintf(p, sizeof p, "%s/cs_portscan.so", test_env("CS_PLUGIN_DIR", "build/plugins"));
    return p;
}

typedef struct seen {
    int alerts;
    char rule[64];
    char key[128];
    char level[16];
} seen;

static void on_alert(const char *plugin, const cs_plugin_alert *a, void *ud)
{
    seen *s = ud;
    (void)plugin;
    s->alerts++;
    snprintf(s->rule, sizeof s->rule, "%s", a->rule_id);
    snprintf(s->key, sizeof s->key, "%s", a->key ? a->key : "");
    snprintf(s->level, sizeof s->level, "%s", a->level);
}

static void expect_refused(const char *path, cs_rc want, const char *fragment)
{
    cs_plugin_host *h = NULL;
    assert_int_equal(cs_plugin_host_new(NULL, NULL, &h), CS_OK);
    assert_int_equal(cs_plugin_host_load(h, path, NULL, NULL), want);
    assert_contains(cs_err_msg(), path);
    assert_contains(cs_err_msg(), fragment);
    assert_int_equal(cs_plugin_host_count(h), 0);
    cs_plugin_host_free(h);
}

static void test_abi_refusals(void **state)
{
    (void)state;
    expect_refused(test_plugin("bad_major"), CS_ERR_ABI, "built for plugin ABI 2.0");
    expect_refused(test_plugin("newer_minor"), CS_ERR_ABI, "needs plugin ABI 1.1");
    expect_refused(test_plugin("no_entry"), CS_ERR_ABI, "no 'cs_plugin_entry' symbol");
    expect_refused(test_plugin("short_desc"), CS_ERR_ABI, "smaller than ABI 1.0");
    expect_refused("/nonexistent/plugin.so", CS_ERR_IO, "cannot load plugin");
}

static void test_only_entry_exported(void **state)
{
    void *dl = dlopen(test_plugin("hidden_symbols"), RTLD_NOW | RTLD_LOCAL);
    (void)state;
    assert_non_null(dl);
    assert_non_null(dlsym(dl, "cs_plugin_entry"));
    assert_null(dlsym(dl, "internal_helper"));
    dlclose(dl);
    dl = dlopen(portscan_path(), RTLD_NOW | RTLD_LOCAL);
    assert_non_null(dl);
    assert_null(dlsym(dl, "ps_on_event"));
    dlclose(dl);
}

static cs_rc load_with(const char *path, const char *yaml, cs_plugin_host **h, seen *s)
{
    cs_yaml_file *f = NULL;
    cs_rc rc;
    assert_int_equal(cs_yaml_load_string("plugin.yaml", yaml, strlen(yaml), &f), CS_OK);
    assert_int_equal(cs_plugin_host_new(on_alert, s, h), CS_OK);
    rc = cs_plugin_host_load(*h, path, f, f->docs[0]);
    cs_yaml_free(f);
    return rc;
}

static void test_config_validation(void **state)
{
    cs_plugin_host *h = NULL;
    seen s = {0};
    (void)state;
    assert_int_equal(load_with(portscan_path(), "thresold: 5\n", &h, &s), CS_ERR_CONFIG);
    assert_contains(cs_err_msg(), "plugin.yaml:1: unknown key 'thresold' for plugin portscan");
    assert_contains(cs_err_msg(), "known: threshold, window");
    cs_plugin_host_free(h);
    assert_int_equal(load_with(portscan_path(), "threshold: many\n", &h, &s), CS_ERR_CONFIG);
    assert_contains(cs_err_msg(), "must be a whole number");
    cs_plugin_host_free(h);
    assert_int_equal(load_with(portscan_path(), "threshold: 1\n", &h, &s), CS_ERR_CONFIG);
    assert_contains(cs_err_msg(), "outside 2..4096");
    cs_plugin_host_free(h);
    assert_int_equal(load_with(portscan_path(), "level: extreme\n", &h, &s), CS_ERR_CONFIG);
    assert_contains(cs_err_msg(), "refused its configuration");
    cs_plugin_host_free(h);
    assert_int_equal(load_with(test_plugin("hidden_symbols"), "flag: maybe\n", &h, &s), CS_ERR_CONFIG);
    assert_contains(cs_err_msg(), "must be true or false");
    cs_plugin_host_free(h);
}

static cs_event *flow(const char *src, const char *dst, int dport, int64_t t)
{
    cs_event *ev = cs_event_new(CS_KIND_FLOW, t);
    cs_ip a, b;
    cs_ip_parse(src, strlen(src), &a);
    cs_ip_parse(dst, strlen(dst), &b);
    cs_event_add_ip(&ev, CS_F_SOURCE_IP, &a);
    cs_event_add_ip(&ev, CS_F_DESTINATION_IP, &b);
    cs_event_add_int(&ev, CS_F_DESTINATION_PORT, dport);
    return ev;
}

static void feed(cs_plugin_host *h, const char *src, const char *dst, int first_port, int nports, int64_t t0,
                 int64_t step)
{
    for (int i = 0; i < nports; i++) {
        cs_event *ev = flow(src, dst, first_port + i, t0 + i * step);
        cs_plugin_host_on_event(h, ev);
        cs_event_free(ev);
    }
}

static void test_portscan_detects(void **state)
{
    cs_plugin_host *h = NULL;
    seen s = {0};
    cs_plugin_stats st;
    (void)state;
    assert_int_equal(load_with(portscan_path(), "threshold: 10\nwindow: 60\nlevel: critical\n", &h, &s), CS_OK);
    assert_int_equal(cs_plugin_host_count(h), 1);
    assert_string_equal(cs_plugin_host_plugin(h, 0)->name, "portscan");
    /* 9 ports: below the threshold */
    feed(h, "198.51.100.77", "10.10.3.15", 1, 9, 1000000, 100000);
    assert_int_equal(s.alerts, 0);
    /* repeats of the same port do not count */
    feed(h, "198.51.100.77", "10.10.3.15", 1, 1, 2000000, 0);
    assert_int_equal(s.alerts, 0);
    /* the 10th distinct port makes a scan: one alert, not one per port */
    feed(h, "198.51.100.77", "10.10.3.15", 10, 20, 3000000, 100000);
    assert_int_equal(s.alerts, 1);
    assert_string_equal(s.rule, "cs-plugin-portscan");
    assert_string_equal(s.key, "198.51.100.77>10.10.3.15");
    assert_string_equal(s.level, "critical");
    /* a slow walker spread beyond the window is not a scan */
    feed(h, "203.0.113.9", "10.10.3.15", 1, 30, 10000000, 61000000);
    assert_int_equal(s.alerts, 1);
    /* many sources each touching one port: not a scan either */
    for (int i = 0; i < 50; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "192.0.2.%d", i + 1);
        feed(h, ip, "10.10.1.10", 443, 1, 5000000, 0);
    }
    assert_int_equal(s.alerts, 1);
    cs_plugin_host_stats(h, 0, &st);
    assert_int_equal(st.alerts, 1);
    assert_true(st.events > 100);
    cs_plugin_host_free(h);
}

static void test_describe(void **state)
{
    cs_buf b;
    (void)state;
    cs_buf_init(&b);
    assert_int_equal(cs_plugin_describe(portscan_path(), &b), CS_OK);
    assert_contains(b.data, "portscan 1.0.0 (plugin ABI 1.0)");
    assert_contains(b.data, "threshold");
    assert_contains(b.data, "distinct destination ports");
    cs_buf_free(&b);
    cs_buf_init(&b);
    assert_int_equal(cs_plugin_describe(test_plugin("bad_major"), &b), CS_ERR_ABI);
    cs_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abi_refusals),
        cmocka_unit_test(test_only_entry_exported),
        cmocka_unit_test(test_config_validation),
        cmocka_unit_test(test_portscan_detects),
        cmocka_unit_test(test_describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
