/* Unit tests: the YAML loader and the configuration: errors name file:line. */
#include "test_util.h"

#include <unistd.h>

#include "runtime/config.h"
#include "runtime/yamltree.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/cs_test_config_XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static const char *conf(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    test_write_file(path, text);
    return path;
}

static void test_good_config(void **state)
{
    cs_config *c = NULL;
    const char *p = conf("good.yaml", "log_level: debug\n"
                                      "store: {path: data/x.db}\n"
                                      "rules: [rules/a, /abs/rules]\n"
                                      "inventory: inv.yaml\n"
                                      "inputs:\n"
                                      "  pcap: one.pcap\n"
                                      "  logs:\n"
                                      "    - path: auth.log\n"
                                      "      format: syslog\n"
                                      "    - plain.log\n"
                                      "  tail:\n"
                                      "    - {paths: [\"/var/log/*.log\", rel.log], format: auto, host: web1, "
                                      "from_start: true}\n"
                                      "  syslog:\n"
                                      "    - {transport: udp, port: 5514}\n"
                                      "    - {name: sec, transport: tls, listen: \"::1\", port: 6514, tls_cert: c.pem, "
                                      "tls_key: k.pem, max_connections: 10, idle_timeout: 30}\n"
                                      "  stdin: {format: json}\n"
                                      "  max_line: 8192\n"
                                      "  state_dir: state\n"
                                      "  syslog_timezone: \"+07:00\"\n"
                                      "plugins:\n"
                                      "  load:\n"
                                      "    - name: portscan\n"
                                      "      config: {threshold: 10}\n"
                                      "http: {listen: 127.0.0.1, port: 9000}\n"
                                      "alerts: {aggregate_window: 60}\n");
    char expect[256];
    (void)state;
    assert_int_equal(cs_config_load(p, &c), CS_OK);
    snprintf(expect, sizeof expect, "%s/data/x.db", dir);
    assert_string_equal(c->store_path, expect);
    assert_int_equal(c->nrule_paths, 2);
    assert_string_equal(c->rule_paths[1], "/abs/rules");
    assert_int_equal(c->npcaps, 1);
    assert_int_equal(c->nlogs, 2);
    assert_string_equal(c->logs[0].format, "syslog");
    assert_string_equal(c->logs[1].format, "auto");   /* default: decided per line */
    assert_int_equal(c->ntails, 1);
    assert_int_equal(c->tails[0].npaths, 2);
    assert_string_equal(c->tails[0].paths[0], "/var/log/*.log");
    snprintf(expect, sizeof expect, "%s/rel.log", dir);
    assert_string_equal(c->tails[0].paths[1], expect);
    assert_string_equal(c->tails[0].host, "web1");
    assert_true(c->tails[0].from_start);
    assert_int_equal(c->nsyslogs, 2);
    assert_string_equal(c->syslogs[0].name, "syslog-udp-5514");
    assert_string_equal(c->syslogs[0].listen, "127.0.0.1");
    assert_string_equal(c->syslogs[0].format, "syslog");
    assert_int_equal(c->syslogs[1].max_connections, 10);
    assert_int_equal(c->syslogs[1].idle_timeout_s, 30);
    snprintf(expect, sizeof expect, "%s/c.pem", dir);
    assert_string_equal(c->syslogs[1].tls_cert, expect);
    assert_string_equal(c->stdin_format, "json");
    assert_int_equal(c->max_line, 8192);
    assert_int_equal(c->tz_offset_s, 7 * 3600);
    assert_int_equal(c->nplugins, 1);
    assert_string_equal(c->plugins[0].name, "portscan");
    assert_non_null(c->plugins[0].config);
    assert_int_equal(c->http_port, 9000);
    assert_int_equal(c->aggregate_window_s, 60);
    assert_int_equal(c->log_level, 3);
    cs_config_free(c);
}

static void expect_error(const char *name, const char *text, const char *fragment, int line)
{
    cs_config *c = NULL;
    char where[300];
    const char *p = conf(name, text);
    assert_int_not_equal(cs_config_load(p, &c), CS_OK);
    assert_null(c);
    if (line > 0) {
        snprintf(where, sizeof where, "%s:%d", p, line);
        assert_contains(cs_err_msg(), where);
    }
    assert_contains(cs_err_msg(), fragment);
}

static void test_unknown_keys(void **state)
{
    (void)state;
    expect_error("u1.yaml", "store: {path: a.db}\nbogus: 1\n", "unknown key 'bogus'", 2);
    expect_error("u2.yaml", "http:\n  listen: 127.0.0.1\n  prot: 80\n", "unknown key 'prot' in http", 3);
    expect_error("u3.yaml", "inputs:\n  logs:\n    - path: a\n      fmt: x\n", "unknown key 'fmt'", 4);
    expect_error("u4.yaml", "store: {path: a.db}\nstore: {path: b.db}\n", "duplicate key 'store'", 2);
}

static void test_bad_values(void **state)
{
    (void)state;
    expect_error("v1.yaml", "http: {port: 70000}\n", "outside 0..65535", 1);
    expect_error("v2.yaml", "http: {port: eighty}\n", "not a whole number", 1);
    expect_error("v3.yaml", "log_level: loud\n", "log_level 'loud'", 1);
    expect_error("v4.yaml", "inputs:\n  syslog:\n    - {transport: sctp, port: 514}\n", "transport 'sctp'", 3);
    expect_error("v8.yaml", "inputs:\n  syslog:\n    - {transport: tls, port: 6514}\n", "needs tls_cert", 3);
    expect_error("v9.yaml", "inputs: {syslog_timezone: Hanoi}\n", "syslog_timezone 'Hanoi'", 1);
    expect_error("v10.yaml", "inputs:\n  tail:\n    - {format: auto}\n", "needs paths", 3);
    expect_error("v5.yaml", "plugins:\n  load:\n    - {name: a, path: b}\n", "exactly one of", 3);
    expect_error("v6.yaml", "rules: {a: 1}\n", "expected a list of paths", 1);
    expect_error("v7.yaml", "store: [1, 2\n", "", 0);   /* YAML syntax error */
    assert_contains(cs_err_msg(), "v7.yaml:");
}

static void test_yaml_bomb_and_limits(void **state)
{
    cs_yaml_file *f = NULL;
    char *deep;
    size_t n = 0;
    (void)state;
    assert_int_equal(cs_yaml_load_string("bomb.yaml", "a: &a [x, x]\nb: [*a, *a]\n", 25, &f), CS_ERR_PARSE);
    assert_contains(cs_err_msg(), "bomb.yaml:1");
    deep = malloc(1000);
    for (int i = 0; i < 100; i++) {
        deep[n++] = '[';
    }
    for (int i = 0; i < 100; i++) {
        deep[n++] = ']';
    }
    assert_int_equal(cs_yaml_load_string("deep.yaml", deep, n, &f), CS_ERR_LIMIT);
    assert_contains(cs_err_msg(), "nesting deeper");
    free(deep);
    assert_int_equal(cs_yaml_load_file("/nonexistent/x.yaml", &f), CS_ERR_IO);
    assert_contains(cs_err_msg(), "/nonexistent/x.yaml");
}

static void test_yaml_multi_doc_and_lines(void **state)
{
    cs_yaml_file *f = NULL;
    const char *t = "title: a\n---\ntitle: b\nlist:\n  - one\n  - 'two'\n";
    const cs_yaml_node *list;
    (void)state;
    assert_int_equal(cs_yaml_load_string("m.yaml", t, strlen(t), &f), CS_OK);
    assert_int_equal(f->ndocs, 2);
    list = cs_yaml_get(f->docs[1], "list");
    assert_non_null(list);
    assert_int_equal(list->line, 5);
    assert_int_equal(list->n, 2);
    assert_true(list->items[0]->plain);
    assert_false(list->items[1]->plain);
    assert_int_equal(list->items[1]->line, 6);
    cs_yaml_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_config),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_yaml_bomb_and_limits),
        cmocka_unit_test(test_yaml_multi_doc_and_lines),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
