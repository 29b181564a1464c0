/* test_correlation.c - Sigma correlation rules on a stream: every type with
 * events that must and must not fire, aliases, chaining, cycles, generate,
 * eviction, late events, refusals, and the specification's own examples. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "correlator/correlation.h"
#include "correlator/sigma.h"
#include "runtime/fields.h"
#include "test_util.h"

/* ---------------------------------------------------------------- helpers -- */

#define S(x) ((int64_t)(x) * 1000000)

/* Base rules rule_a, rule_b, rule_c, rule_d (ids ...a1..a4); the detection
 * does not matter: tests feed rule pointers directly. */
#define BASE_RULE(n, id)                                                                                      \
    "title: base " n "\nid: " id "\nname: rule_" n "\nlogsource:\n  product: linux\n"                          \
    "detection:\n  sel:\n    x: " n "\n  condition: sel\n"
static const char BASE[] = BASE_RULE("a", "00000000-0000-0000-0000-0000000000a1") "---\n" BASE_RULE(
    "b", "00000000-0000-0000-0000-0000000000a2") "---\n" BASE_RULE("c", "00000000-0000-0000-0000-0000000000a3")
    "---\n" BASE_RULE("d", "00000000-0000-0000-0000-0000000000a4");

typedef struct fixture {
    cs_ruleset *rs;
    cs_corrset *cs;
    const cs_rule *a, *b, *c, *d;
    int nfired;
    char last_key[256];
    char last_name[128];
    int64_t last_value;
    char names[1024];   /* names of fired correlations, ';'-separated */
} fixture;

typedef struct errs {
    int n;
    char last[1024];
} errs;

static void on_err(const char *msg, void *ud)
{
    errs *e = ud;
    e->n++;
    snprintf(e->last, sizeof e->last, "%s", msg);
}

static void on_fire(const cs_corr_info *ci, const cs_event *ev, const char *key, int64_t v, void *ud)
{
    fixture *f = ud;
    (void)ev;
    f->nfired++;
    snprintf(f->last_key, sizeof f->last_key, "%s", key);
    snprintf(f->last_name, sizeof f->last_name, "%s", ci->name[0] ? ci->name : ci->title);
    f->last_value = v;
    if (strlen(f->names) + strlen(f->last_name) + 2 < sizeof f->names) {
        strcat(f->names, f->last_name);
        strcat(f->names, ";");
    }
}

static void fx_base(fixture *f, const char *base)
{
    errs e = {0};
    memset(f, 0, sizeof *f);
    assert_int_equal(cs_ruleset_new(&f->rs), CS_OK);
    assert_int_equal(cs_ruleset_load_string(f->rs, "base.yml", base, strlen(base), on_err, &e), CS_OK);
    f->a = cs_ruleset_rule(f->rs, 0);
    f->b = cs_ruleset_rule(f->rs, 1);
    f->c = cs_ruleset_rule(f->rs, 2);
    f->d = cs_ruleset_rule(f->rs, 3);
    assert_int_equal(cs_corrset_new(f->rs, &f->cs), CS_OK);
}

static void fx_init(fixture *f, const char *corr_yaml)
{
    errs e = {0};
    cs_rc rc;
    fx_base(f, BASE);
    rc = cs_corrset_load_string(f->cs, "corr.yml", corr_yaml, strlen(corr_yaml), on_err, &e);
    if (rc != CS_OK) {
        print_error("unexpected refusal: %s\n", cs_err_msg());
    }
    assert_int_equal(rc, CS_OK);
    assert_int_equal(e.n, 0);
    assert_true(cs_corrset_count(f->cs) >= 1);
}

static void fx_free(fixture *f)
{
    cs_corrset_free(f->cs);
    cs_ruleset_free(f->rs);
}

static cs_fid fid(const char *name)
{
    cs_fid id = cs_field_intern(name, strlen(name));
    assert_int_not_equal(id, CS_F_NONE);
    return id;
}

/* Event at t seconds with name/value string pairs, NULL-terminated. */
static cs_event *ev_at(int64_t t_us, const char *name, ...)
{
    cs_event *ev = cs_event_new(CS_KIND_LOG, t_us);
    va_list ap;
    assert_non_null(ev);
    va_start(ap, name);
    for (const char *n = name; n != NULL; n = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);
        assert_int_equal(cs_event_add_cstr(&ev, fid(n), v), CS_OK);
    }
    va_end(ap);
    return ev;
}

/* Feed one match of rule at t (µs) with one field pair (name may be NULL). */
static void feed1(fixture *f, const cs_rule *r, int64_t t, const char *name, const char *v)
{
    cs_event *ev = name != NULL ? ev_at(t, name, v, NULL) : ev_at(t, NULL);
    cs_corrset_feed(f->cs, r, ev, on_fire, f);
    cs_event_free(ev);
}

static void feed2(fixture *f, const cs_rule *r, int64_t t, const char *n1, const char *v1, const char *n2,
                  const char *v2)
{
    cs_event *ev = ev_at(t, n1, v1, n2, v2, NULL);
    cs_corrset_feed(f->cs, r, ev, on_fire, f);
    cs_event_free(ev);
}

/* Load must be refused, naming corr.yml:line and containing what. */
static void refused(const char *yaml, int line, const char *what)
{
    fixture f;
    errs e = {0};
    char where[64];
    cs_rc rc;
    fx_base(&f, BASE);
    rc = cs_corrset_load_string(f.cs, "corr.yml", yaml, strlen(yaml), on_err, &e);
    snprintf(where, sizeof where, "corr.yml:%d:", line);
    if (rc != CS_ERR_RULE || strstr(cs_err_msg(), where) == NULL || strstr(cs_err_msg(), what) == NULL) {
        print_error("rc=%d msg='%s' (wanted '%s' and '%s')\n", rc, cs_err_msg(), where, what);
    }
    assert_int_equal(rc, CS_ERR_RULE);
    assert_non_null(strstr(cs_err_msg(), where));
    assert_non_null(strstr(cs_err_msg(), what));
    assert_true(e.n >= 1);
    fx_free(&f);
}

#define EC(cond) \
    "title: ec\nname: ec\ncorrelation:\n  type: event_count\n  rules:\n    - rule_a\n  group-by:\n    - User\n" \
    "  timespan: 1m\n  condition:\n" cond

/* ----------------------------------------------------------- event_count -- */

static void test_event_count(void **state)
{
    fixture f;
    (void)state;
    fx_init(&f, EC("    gte: 3\n"));
    feed1(&f, f.a, S(0), "User", "alice");
    feed1(&f, f.a, S(10), "User", "alice");
    assert_int_equal(f.nfired, 0);                 /* below threshold */
    feed1(&f, f.a, S(20), "User", "bob");          /* other group */
    feed1(&f, f.a, S(25), NULL, NULL);             /* no group field: excluded */
    feed1(&f, f.b, S(26), "User", "alice");        /* unreferenced rule */
    assert_int_equal(f.nfired, 0);
    feed1(&f, f.a, S(30), "User", "ALICE");        /* case-insensitive key */
    assert_int_equal(f.nfired, 1);
    assert_string_equal(f.last_key, "alice");
    assert_int_equal(f.last_value, 3);
    assert_string_equal(f.last_name, "ec");
    feed1(&f, f.a, S(31), "User", "alice");        /* window was reset */
    assert_int_equal(f.nfired, 1);
    fx_free(&f);
}

static void test_event_count_window(void **state)
{
    fixture f;
    (void)state;
    fx_init(&f, EC("    gte: 3\n"));
    feed1(&f, f.a, S(0), "User", "u");
    feed1(&f, f.a, S(61), "User", "u");
    feed1(&f, f.a, S(122), "User", "u");           /* every pair 61 s apart: never 3 in 60 s */
    feed1(&f, f.a, S(182) + 1, "User", "u");
    assert_int_equal(f.nfired, 0);
    fx_free(&f);
    /* inclusive boundary: [t - 60 s, t] */
    fx_init(&f, EC("    gte: 3\n"));
    feed1(&f, f.a, S(0), "User", "u");
    feed1(&f, f.a, S(30), "User", "u");
    feed1(&f, f.a, S(60), "User", "u");
    assert_int_equal(f.nfired, 1);
    fx_free(&f);
}

static void test_event_count_range_and_ops(void **state)
{
    fixture f;
    (void)state;
    /* gt 1 and lt 3: fires at exactly 2 */
    fx_init(&f, EC("    gt: 1\n    lt: 3\n"));
    feed1(&f, f.a, S(0), "User", "u");
    assert_int_equal(f.nfired, 0);
    feed1(&f, f.a, S(1), "User", "u");
    assert_int_equal(f.nfired, 1);
    assert_int_equal(f.last_value, 2);
    fx_free(&f);
    fx_init(&f, EC("    eq: 2\n"));
    feed1(&f, f.a, S(0), "User", "u");
    feed1(&f, f.a, S(1), "User", "u");
    assert_int_equal(f.nfired, 1);
    fx_free(&f);
    fx_init(&f, EC("    neq: 1\n    lte: 2\n"));
    feed1(&f, f.a, S(0), "User", "u");
    assert_int_equal(f.nfired, 0);
    feed1(&f, f.a, S(1), "User", "u");
    assert_int_equal(f.nfired, 1);
    fx_free(&f);
}

static void test_event_count_global_group_and_dedup(void **state)
{
    fixture f;
    cs_event *ev;
    (void)state;
    fx_init(&f, "title: g\ncorrelation:\n  type: event_count\n  rules: [rule_a, rule_b]\n  timespan: 10s\n"
                "  condition:\n    gte: 2\n");
    ev = ev_at(S(0), NULL);
    cs_corrset_feed(f.cs, f.a, ev, on_fire, &f);
    cs_corrset_feed(f.cs, f.b, ev, on_fire, &f);    /* same event, two rules: counts once */
    cs_event_free(ev);
    assert_int_equal(f.nfired, 0);
    feed1(&f, f.b, S(1), "User", "anyone");
    assert_int_equal(f.nfired, 1);
    assert_string_equal(f.last_key, "");
    fx_free(&f);
}

static void test_multi_field_group(void **state)
{
    fixture f;
    (void)state;
    fx_init(&f, "title: m\ncorrelation:\n  type: event_count\n  rules: rule_a\n  group-by: [Host, User]\n"
                "  timespan: 10s\n  condition:\n    gte: 2\n");
    feed2(&f, f.a, S(0), "Host", "h1", "User", "u");
    feed2(&f, f.a, S(1), "Host", "h2", "User", "u");
    feed1(&f, f.a, S(2), "Host", "h1");            /* missing User */
    assert_int_equal(f.nfired, 0);
    feed2(&f, f.a, S(3), "Host", "H1", "User", "U");
    assert_int_equal(f.nfired, 1);
    assert_string_equal(f.last_key, "h1\x1fu");
    {   /* group-by values longer than the key buffer: truncated, never overrun */
        char *big = malloc(9000);
        assert_non_null(big);
        memset(big, 'X', 8999);
        big[8999] = '\0';
        feed2(&f, f.a, S(4), "Host", big, "User", big);
        feed2(&f, f.a, S(5), "Host", big, "User", big);
        assert_int_equal(f.nfired, 2);
        assert_int_equal(strlen(f.last_key), sizeof f.last_key - 1);
        assert_int_equal(f.last_key[0], 'x');
        free(big);
    }
    fx_free(&f);
}

/* ----------------------------------------------------------- value_count -- */

static void test_value_count(void **state)
{
    fixture f;
    (void)state;
    fx_init(&f, "title: vc\ncorrelation:\n  type: value_count\n  rules: [rule_a]\n  group-by: [Host]\n"
                "  timespan: 1m\n  condition:\n    field: User\n    gte: 3\n");
    feed2(&f, f.a, S(0), "Host", "h", "User", "alice");
    feed2(&f, f.a, S(1), "Host", "h", "User", "ALICE");    /* same value, case-insensitive */
    feed2(&f, f.a, S(2), "Host", "h", "User", "bob");
    feed1(&f, f.a, S(3), "Host", "h");                     /* no value */
    feed2(&f, f.a, S(4), "Host", "other", "User", "carol"); /* other group */
    assert_int_equal(f.nfired, 0);
    feed2(&f, f.a, S(100), "Host", "h", "User", "carol");  /* alice/bob out of window */
    assert_int_equal(f.nfired, 0);
    feed2(&f, f.a, S(101), "Host", "h", "User", "dave");
    feed2(&f, f.a, S(102), "Host", "h", "User", "erin");
    assert_int_equal(f.nfired, 1);
    assert_int_equal(f.last_value, 3);
    fx_free(&f);
}

/* -------------------------------------------------------------- temporal -- */

#define TEMPORAL(type) \
    "title: t\ncorrelation:\n  type: " type "\n  rules:\n    - rule_a\n    - rule_b\n    - rule_c\n" \
    "  group-by:\n    - User\n  timespan: 5m\n"

static void test_temporal(void **state)
{
    fixture f;
    (void)state;
    fx_init(&f, TEMPORAL("temporal"));
    feed1(&f, f.c, S(0), "User", "u");
    feed1(&f, f.a, S(10), "User", "u");
    feed1(&f, f.a, S(11), "User", "u");
    feed1(&f, f.b, S(12), "User", "v");    /* other group */
    feed1(&f, f.b, S(13), NULL, NULL);     /* no group field */
    assert_int_equal(f.nfired, 0);
    feed1(&f, f.b, S(20), "User", "u");    /* any order */
    assert_int_equal(f.nfired, 1);
    assert_int_equal(f.last_value, 3);
    fx_free(&f);
    /* outside the window */
    fx_init(&f, TEMPORAL("temporal"));
    feed1(&f, f.a, S(0), "User", "u");
    feed1(&f, f.b, S(200), "User", "u");
    feed1(&f, f.c, S(301), "User", "u");
    assert_int_equal(f.nfired, 0);
    fx_free(&f);
    /* condition on the number of distinct rules */
    fx_init(&f, TEMPORAL("temporal") "  condition:\n    gte: 2\n");
    feed1(&f, f.a, S(0), "User", "u");
    feed1(&f, f.a, S(1), "User", "u");
    assert_int_equal(f.nfired, 0);
    feed1(&f, f.c, S(2), "User", "u");
    assert_int_equal(f.nfired, 1);
    fx_free(&f);
}

static void test_temporal_ordered(void **state)
{
    fixture f;
    (void)state;
    fx_init(&f, TEMPORAL("temporal_ordered"));
    feed1(&f, f.a, S(0), "User", "u");
    feed1(&f, f.b, S(1), "User", "u");
    feed1(&f, f.c, S(2), "User", "u");
    assert_int_equal(f.nfired, 1);
    fx_free(&f);
    /* reversed order */
    fx_init(&f, TEMPORAL("temporal_ordered"));
    feed1(&f, f.c, S(0), "User", "u");
    feed1(&f, f.b, S(1), "User", "u");
    feed1(&f, f.a, S(2), "User", "u");
    assert_int_equal(f.nfired, 0);
    feed1(&f, f.b, S(3), "User", "u");     /* a(2) < b(3) but c is older */
    assert_int_equal(f.nfired, 0);
    feed1(&f, f.c, S(4), "User", "u");
    assert_int_equal(f.nfired, 1);
    fx_free(&f);
    /* equal timestamps do not order */
    fx_init(&f, TEMPORAL("temporal_ordered"));
    feed1(&f, f.a, S(5), "User", "u");
    feed1(&f, f.b, S(5), "User", "u");
    feed1(&f, f.c, S(6), "User", "u");
    assert_int_equal(f.nfired, 0);
    fx_free(&f);
    /* out of order arrival within the window still orders by event time */
    fx_init(&f, TEMPORAL("temporal_ordered"));
    feed1(&f, f.c, S(10), "User", "u");
    feed1(&f, f.a, S(1), "User", "u");
    feed1(&f, f.b, S(5), "User", "u");
    assert_int_equal(f.nfired, 1);
    fx_free(&f);
    /* different groups and outside window */
    fx_init(&f, TEMPORAL("temporal_ordered"));
    feed1(&f, f.a, S(0), "User", "u");
    feed1(&f, f.b, S(1), "User", "v");
    feed1(&f, f.c, S(2), "User", "u");
    feed1(&f, f.b, S(400), "User", "u");
    feed1(&f, f.c, S(401), "User", "u");
    assert_int_equal(f.nfired, 0);
    fx_free(&f);
}

/* --------------------------------------------------------------- value_* -- */

static void test_value_sum_avg(void **state)
{
    fixture f;
    (void)state;
    fx_init(&f, "title: s\ncorrelation:\n  type: value_sum\n  rules: [rule_a]\n  group-by: [SourceIP]\n"
                "  timespan: 1h\n  condition:\n    field: bytes_sent\n    gt: 1000\n");
    feed2(&f, f.a, S(0), "SourceIP", "10.0.0.1", "bytes_sent", "600");
    feed2(&f, f.a, S(1), "SourceIP", "10.0.0.1", "bytes_sent", "junk");  /* ignored */
    feed1(&f, f.a, S(2), "SourceIP", "10.0.0.1");                       /* ignored */
    feed2(&f, f.a, S(3), "SourceIP", "10.0.0.2", "bytes_sent", "900");   /* other group */
    feed2(&f, f.a, S(4), "SourceIP", "10.0.0.1", "bytes_sent", "400");   /* 1000: not > */
    assert_int_equal(f.nfired, 0);
    feed2(&f, f.a, S(5), "SourceIP", "10.0.0.1", "bytes_sent", "0.5");
    assert_int_equal(f.nfired, 1);
    assert_int_equal(f.last_value, 1000);
    fx_free(&f);

    fx_init(&f, "title: a\ncorrelation:\n  type: value_avg\n  rules: [rule_a]\n  group-by: [SourceIP]\n"
                "  timespan: 24h\n  condition:\n    field: BytesOut\n    gt: 500\n");
    feed2(&f, f.a, S(0), "SourceIP", "x", "BytesOut", "100");
    feed2(&f, f.a, S(1), "SourceIP", "x", "BytesOut", "800");   /* avg 450 */
    assert_int_equal(f.nfired, 0);
    feed2(&f, f.a, S(2), "SourceIP", "x", "BytesOut", "700");   /* avg 533 */
    assert_int_equal(f.nfired, 1);
    assert_int_equal(f.last_value, 533);
    fx_free(&f);
}

static void test_value_percentile(void **state)
{
    fixture f;
    cs_event *ev;
    (void)state;
    fx_init(&f, "title: p\ncorrelation:\n  type: value_percentile\n  rules: [rule_a]\n  group-by: [h]\n"
                "  timespan: 1h\n  condition:\n    field: v\n    percentile: 50\n    gte: 25\n");
    feed2(&f, f.a, S(0), "h", "x", "v", "10");
    feed2(&f, f.a, S(1), "h", "x", "v", "20");   /* median 15 */
    assert_int_equal(f.nfired, 0);
    feed2(&f, f.a, S(2), "h", "x", "v", "40");   /* 10 20 40: median 20 */
    assert_int_equal(f.nfired, 0);
    ev = cs_event_new(CS_KIND_LOG, S(3));
    assert_int_equal(cs_event_add_cstr(&ev, fid("h"), "x"), CS_OK);
    assert_int_equal(cs_event_add_int(&ev, fid("v"), 50), CS_OK);   /* typed int: 10 20 40 50 -> 30 */
    cs_corrset_feed(f.cs, f.a, ev, on_fire, &f);
    cs_event_free(ev);
    assert_int_equal(f.nfired, 1);
    assert_int_equal(f.last_value, 30);
    fx_free(&f);
}

/* --------------------------------------------------------------- aliases -- */

static const char ALIAS_BASE[] =
    "title: internal error\nid: 00000000-0000-0000-0000-0000000000b1\nname: internal_error\nlogsource:\n"
    "  category: webserver\ndetection:\n  selection:\n    http.response.status_code: 500\n  condition: selection\n"
    "---\n"
    "title: new conn\nid: 00000000-0000-0000-0000-0000000000b2\nname: new_network_connection\nlogsource:\n"
    "  category: network\ndetection:\n  selection:\n    event.category: network\n    event.type: connection\n"
    "    event.outcome: success\n  condition: selection\n";

/* The specification's "Field Name Aliases Example". */
static const char ALIAS_CORR[] = "title: —\nid: —\ncorrelation:\n"
                                 "    type: temporal\n"
                                 "    rules:\n        - internal_error\n        - new_network_connection\n"
                                 "    group-by:\n        - internal_ip\n        - remote_ip\n"
                                 "    timespan: 10s\n"
                                 "    aliases:\n"
                                 "        internal_ip:\n"
                                 "            internal_error: destination.ip\n"
                                 "            new_network_connection: source.ip\n"
                                 "        remote_ip:\n"
                                 "            internal_error: source.ip\n"
                                 "            new_network_connection: destination.ip\n";

static void test_aliases(void **state)
{
    fixture f;
    errs e = {0};
    (void)state;
    fx_base(&f, ALIAS_BASE);
    assert_int_equal(cs_corrset_load_string(f.cs, "corr.yml", ALIAS_CORR, strlen(ALIAS_CORR), on_err, &e), CS_OK);
    /* internal error: client 1.2.3.4 hit our 10.0.0.5 */
    feed2(&f, f.a, S(0), "destination.ip", "10.0.0.5", "source.ip", "1.2.3.4");
    /* a connection from another internal host: no */
    feed2(&f, f.b, S(1), "source.ip", "10.0.0.6", "destination.ip", "1.2.3.4");
    /* same fields, not swapped: no */
    feed2(&f, f.b, S(2), "source.ip", "1.2.3.4", "destination.ip", "10.0.0.5");
    assert_int_equal(f.nfired, 0);
    /* 10.0.0.5 connects out to 1.2.3.4 */
    feed2(&f, f.b, S(3), "source.ip", "10.0.0.5", "destination.ip", "1.2.3.4");
    assert_int_equal(f.nfired, 1);
    assert_string_equal(f.last_key, "10.0.0.5\x1f" "1.2.3.4");
    fx_free(&f);
    /* alias missing an entry for a referenced rule */
    fx_base(&f, ALIAS_BASE);
    e.n = 0;
    {
        const char *bad = "title: x\ncorrelation:\n  type: temporal\n  rules: [internal_error, new_network_connection]\n"
                          "  group-by: [ip]\n  timespan: 10s\n  aliases:\n    ip:\n      internal_error: source.ip\n";
        assert_int_equal(cs_corrset_load_string(f.cs, "corr.yml", bad, strlen(bad), on_err, &e), CS_ERR_RULE);
        assert_contains(e.last, "corr.yml:9:");
        assert_contains(e.last, "new_network_connection");
    }
    fx_free(&f);
}

/* -------------------------------------------------------------- chaining -- */

/* The specification's "Failed Logins Followed by Successful Login" example. */
static const char SPEC_EXAMPLE[] =
    "title: Correlation - Multiple Failed Logins Followed by Successful Login\n"
    "id: b180ead8-d58f-40b2-ae54-c8940995b9b6\n"
    "status: experimental\n"
    "correlation:\n"
    "    type: temporal_ordered\n"
    "    rules:\n        - multiple_failed_login\n        - successful_login\n"
    "    group-by:\n        - User\n"
    "    timespan: 10m\n"
    "falsepositives:\n    - Unlikely\n"
    "level: high\n"
    "---\n"
    "title: Multiple failed logons\n"
    "id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41\n"
    "name: multiple_failed_login\n"
    "correlation:\n"
    "    type: event_count\n"
    "    rules:\n        - failed_login\n"
    "    group-by:\n        - User\n"
    "    timespan: 10m\n"
    "    condition:\n        gte: 10\n"
    "---\n"
    "title: Single failed login\n"
    "id: 53ba33fd-3a50-4468-a5ef-c583635cfa92\n"
    "name: failed_login\n"
    "logsource:\n    product: windows\n    service: security\n"
    "detection:\n    selection:\n        EventID:\n            - 529\n            - 4625\n    condition: selection\n"
    "---\n"
    "title: Successful login\n"
    "id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8\n"
    "name: successful_login\n"
    "logsource:\n    product: windows\n    service: security\n"
    "detection:\n    selection:\n        EventID:\n            - 528\n            - 4624\n    condition: selection\n";

static void test_spec_chain_example(void **state)
{
    fixture f;
    errs e = {0};
    const cs_rule *failed, *success;
    const cs_corr_info *inner = NULL, *outer = NULL;
    (void)state;
    memset(&f, 0, sizeof f);
    /* one file for both engines: the single-event engine skips correlations */
    assert_int_equal(cs_ruleset_new(&f.rs), CS_OK);
    assert_int_equal(cs_ruleset_load_string(f.rs, "spec.yml", SPEC_EXAMPLE, strlen(SPEC_EXAMPLE), on_err, &e), CS_OK);
    assert_int_equal(cs_ruleset_count(f.rs), 2);
    failed = cs_ruleset_rule(f.rs, 0);
    success = cs_ruleset_rule(f.rs, 1);
    assert_int_equal(cs_corrset_new(f.rs, &f.cs), CS_OK);
    assert_int_equal(cs_corrset_load_string(f.cs, "spec.yml", SPEC_EXAMPLE, strlen(SPEC_EXAMPLE), on_err, &e), CS_OK);
    assert_int_equal(e.n, 0);
    assert_int_equal(cs_corrset_count(f.cs), 2);
    for (size_t i = 0; i < 2; i++) {
        const cs_corr_info *ci = cs_corrset_info(f.cs, i);
        if (strcmp(ci->name, "multiple_failed_login") == 0) {
            inner = ci;
        } else {
            outer = ci;
        }
    }
    assert_non_null(inner);
    assert_non_null(outer);
    assert_true(inner->suppressed);
    assert_false(outer->suppressed);
    assert_string_equal(outer->level, "high");
    assert_string_equal(outer->type, "temporal_ordered");
    assert_int_equal(outer->line, 1);
    assert_int_equal(inner->line, 16);
    assert_true(cs_corrset_suppresses(f.cs, failed));
    assert_true(cs_corrset_suppresses(f.cs, success));

    feed1(&f, success, S(0), "User", "admin");         /* success before failures: no */
    for (int i = 0; i < 9; i++) {
        feed1(&f, failed, S(10 + i), "User", "admin");
    }
    feed1(&f, failed, S(20), "User", "other");
    assert_int_equal(f.nfired, 0);
    feed1(&f, failed, S(30), "User", "admin");          /* 10th: inner fires */
    assert_int_equal(f.nfired, 1);
    assert_string_equal(f.names, "multiple_failed_login;");
    feed1(&f, success, S(40), "User", "other");         /* other user */
    assert_int_equal(f.nfired, 1);
    feed1(&f, success, S(41), "User", "Admin");
    assert_int_equal(f.nfired, 2);
    assert_string_equal(f.names, "multiple_failed_login;Correlation - Multiple Failed Logins Followed by Successful Login;");
    assert_string_equal(f.last_key, "admin");
    fx_free(&f);
}

/* ---------------------------------------------------------------- cycles -- */

static void test_cycles_refused(void **state)
{
    fixture f;
    errs e = {0};
    static const char cyc[] = "title: x\nname: cx\ncorrelation:\n  type: event_count\n  rules: [cy]\n"
                              "  timespan: 1m\n  condition: {gte: 1}\n"
                              "---\n"
                              "title: y\nname: cy\ncorrelation:\n  type: event_count\n  rules: [cx]\n"
                              "  timespan: 1m\n  condition: {gte: 1}\n"
                              "---\n"
                              "title: z\nname: cz\ncorrelation:\n  type: event_count\n  rules: [cx]\n"
                              "  timespan: 1m\n  condition: {gte: 1}\n"
                              "---\n"
                              "title: ok\nname: ok\ncorrelation:\n  type: event_count\n  rules: [rule_a]\n"
                              "  timespan: 1m\n  condition: {gte: 1}\n";
    (void)state;
    refused("title: self\nname: me\ncorrelation:\n  type: event_count\n  rules: [me]\n  timespan: 1m\n"
            "  condition: {gte: 1}\n",
            1, "reference cycle");
    fx_base(&f, BASE);
    assert_int_equal(cs_corrset_load_string(f.cs, "corr.yml", cyc, strlen(cyc), on_err, &e), CS_ERR_RULE);
    assert_int_equal(e.n, 3);   /* cx and cy on the cycle, cz refers to it */
    assert_contains(cs_err_msg(), "corr.yml:1:");
    assert_contains(cs_err_msg(), "reference cycle");
    assert_contains(e.last, "corr.yml:21:");
    assert_int_equal(cs_corrset_count(f.cs), 1);
    assert_string_equal(cs_corrset_info(f.cs, 0)->name, "ok");
    feed1(&f, f.a, S(0), NULL, NULL);
    assert_int_equal(f.nfired, 1);
    fx_free(&f);
}

/* -------------------------------------------------------------- generate -- */

static void test_generate(void **state)
{
    fixture f;
    (void)state;
    /* no generate: base rule suppressed, unreferenced ones not */
    fx_init(&f, EC("    gte: 3\n"));
    assert_true(cs_corrset_suppresses(f.cs, f.a));
    assert_false(cs_corrset_suppresses(f.cs, f.b));
    assert_false(cs_corrset_info(f.cs, 0)->generate);
    fx_free(&f);
    /* top level (JSON schema) */
    fx_init(&f, "title: g\ngenerate: true\ncorrelation:\n  type: event_count\n  rules: [rule_a]\n  timespan: 1m\n"
                "  condition: {gte: 2}\n");
    assert_false(cs_corrset_suppresses(f.cs, f.a));
    assert_true(cs_corrset_info(f.cs, 0)->generate);
    fx_free(&f);
    /* under correlation (pySigma, Hayabusa) */
    fx_init(&f, "title: g\ncorrelation:\n  type: event_count\n  generate: true\n  rules: [rule_a]\n  timespan: 1m\n"
                "  condition: {gte: 2}\n");
    assert_false(cs_corrset_suppresses(f.cs, f.a));
    fx_free(&f);
    /* two correlations on one rule: one generate is enough to alert alone */
    fx_init(&f, "title: g1\ncorrelation:\n  type: event_count\n  rules: [rule_a, rule_b]\n  timespan: 1m\n"
                "  condition: {gte: 2}\n---\ntitle: g2\ncorrelation:\n  type: event_count\n  generate: yes\n"
                "  rules: [rule_a]\n  timespan: 1m\n  condition: {gte: 2}\n");
    assert_false(cs_corrset_suppresses(f.cs, f.a));
    assert_true(cs_corrset_suppresses(f.cs, f.b));
    fx_free(&f);
    refused("title: g\ngenerate: maybe\ncorrelation:\n  type: event_count\n  rules: [rule_a]\n  timespan: 1m\n"
            "  condition: {gte: 2}\n",
            2, "");
}

/* ------------------------------------------------------- eviction, late -- */

static void test_eviction(void **state)
{
    fixture f;
    cs_corr_stats st;
    (void)state;
    fx_init(&f, EC("    gte: 2\n"));
    cs_corrset_set_limits(f.cs, 2, 0);
    feed1(&f, f.a, S(0), "User", "u1");
    feed1(&f, f.a, S(1), "User", "u2");
    feed1(&f, f.a, S(2), "User", "u1");   /* fires, u1 now most recent */
    assert_int_equal(f.nfired, 1);
    feed1(&f, f.a, S(3), "User", "u3");   /* evicts u2 (stalest) */
    cs_corrset_stats(f.cs, &st);
    assert_int_equal(st.groups, 2);
    assert_int_equal(st.evicted, 1);
    assert_int_equal(st.fired, 1);
    feed1(&f, f.a, S(4), "User", "u2");   /* u2 starts again from one: no fire; evicts u1 */
    assert_int_equal(f.nfired, 1);
    feed1(&f, f.a, S(5), "User", "u3");
    assert_int_equal(f.nfired, 2);
    cs_corrset_stats(f.cs, &st);
    assert_int_equal(st.evicted, 2);
    assert_int_equal(st.groups, 2);
    /* groups whose window emptied are freed as time advances */
    feed1(&f, f.a, S(1000), "User", "u9");
    cs_corrset_stats(f.cs, &st);
    assert_int_equal(st.groups, 1);
    assert_int_equal(st.expired, 2);
    fx_free(&f);
}

static void test_entry_cap(void **state)
{
    fixture f;
    cs_corr_stats st;
    (void)state;
    fx_init(&f, EC("    gte: 100\n"));
    cs_corrset_set_limits(f.cs, 0, 8);
    for (int i = 0; i < 20; i++) {
        feed1(&f, f.a, S(i), "User", "u");
    }
    cs_corrset_stats(f.cs, &st);
    assert_int_equal(f.nfired, 0);
    assert_int_equal(st.overflow, 12);
    fx_free(&f);
}

static void test_late_events(void **state)
{
    fixture f;
    cs_corr_stats st;
    (void)state;
    fx_init(&f, EC("    gte: 3\n"));
    feed1(&f, f.a, S(1000), "User", "u");
    feed1(&f, f.a, S(900), "User", "u");     /* 100 s older than newest, span 60 s: late */
    feed1(&f, f.a, S(939), "User", "u");     /* late too */
    cs_corrset_stats(f.cs, &st);
    assert_int_equal(st.late, 2);
    assert_int_equal(f.nfired, 0);
    feed1(&f, f.a, S(940), "User", "u");     /* exactly newest - span: accepted */
    assert_int_equal(f.nfired, 0);           /* window [940, 1000]: 940 1000 */
    feed1(&f, f.a, S(990), "User", "u");     /* out of order: window still ends at 1000 */
    assert_int_equal(f.nfired, 1);
    assert_int_equal(f.last_value, 3);
    cs_corrset_stats(f.cs, &st);
    assert_int_equal(st.late, 2);
    fx_free(&f);
}

/* -------------------------------------------------------------- refusals -- */

static void test_refusals(void **state)
{
    (void)state;
    refused("title: x\ncorrelation:\n  type: event_sum\n  rules: [rule_a]\n  timespan: 1m\n", 3,
            "unsupported correlation type 'event_sum'");
    refused("title: x\ncorrelation:\n  type: event_count\n  rules: [rule_a]\n  timespan: 5 minutes\n"
            "  condition: {gte: 1}\n",
            5, "bad timespan");
    refused("title: x\ncorrelation:\n  type: event_count\n  rules: [rule_a]\n  timespan: 5y\n"
            "  condition: {gte: 1}\n",
            5, "unit");
    refused("title: x\ncorrelation:\n  type: event_count\n  rules: [rule_a]\n  condition: {gte: 1}\n", 3,
            "timespan");
    refused("title: x\ncorrelation:\n  type: event_count\n  rules:\n    - rule_a\n    - nosuch\n  timespan: 1m\n"
            "  condition: {gte: 1}\n",
            6, "unknown rule 'nosuch'");
    refused("title: x\ncorrelation:\n  type: event_count\n  rules: [rule_a]\n  timespan: 1m\n", 3,
            "needs a 'condition'");
    refused("title: x\ncorrelation:\n  type: event_count\n  rules: [rule_a]\n  timespan: 1m\n"
            "  condition:\n    gte: 1\n    about: 3\n",
            8, "unknown condition key 'about'");
    refused("title: x\ncorrelation:\n  type: event_count\n  rules: [rule_a]\n  timespan: 1m\n"
            "  condition:\n    gte: many\n",
            7, "needs a number");
    refused("title: x\ncorrelation:\n  type: value_sum\n  rules: [rule_a]\n  timespan: 1m\n"
            "  condition:\n    gte: 1\n",
            7, "needs 'field'");
    refused("title: x\ncorrelation:\n  type: value_count\n  rules: [rule_a]\n  timespan: 1m\n"
            "  condition:\n    field: [a, b]\n    gte: 1\n",
            7, "not supported");
    refused("title: x\ncorrelation:\n  type: event_count\n  rules: []\n  timespan: 1m\n  condition: {gte: 1}\n", 4,
            "needs 'rules'");
    refused("title: x\ncorrelation: [1, 2]\n", 2, "must be a map");
}

static void test_good_doc_kept_and_base_docs_ignored(void **state)
{
    fixture f;
    errs e = {0};
    static const char y[] = "title: bad\ncorrelation:\n  type: nope\n"
                            "---\n" BASE_RULE("z", "00000000-0000-0000-0000-0000000000ff") "---\n"
                            "title: good\ncorrelation:\n  type: event_count\n  rules: [00000000-0000-0000-0000-0000000000a2]\n"
                            "  timespan: 1m\n  condition: {gte: 1}\n";
    (void)state;
    fx_base(&f, BASE);
    assert_int_equal(cs_corrset_load_string(f.cs, "corr.yml", y, strlen(y), on_err, &e), CS_ERR_RULE);
    assert_int_equal(e.n, 1);
    assert_int_equal(cs_corrset_count(f.cs), 1);
    feed1(&f, f.b, S(0), NULL, NULL);   /* referenced by id */
    assert_int_equal(f.nfired, 1);
    fx_free(&f);
}

/* The spec repository's tests/schema/correlation examples (all load). */
static void test_spec_schema_examples(void **state)
{
    static const char base[] =
        "title: b1\nid: 5638f7c0-ac70-491d-8465-2a65075e0d86\nlogsource: {product: linux}\n"
        "detection: {s: {x: 1}, condition: s}\n---\n"
        "title: b2\nname: recon_cmd_a\nlogsource: {product: linux}\ndetection: {s: {x: 1}, condition: s}\n---\n"
        "title: b3\nname: recon_cmd_b\nlogsource: {product: linux}\ndetection: {s: {x: 1}, condition: s}\n---\n"
        "title: b4\nname: recon_cmd_c\nlogsource: {product: linux}\ndetection: {s: {x: 1}, condition: s}\n---\n"
        "title: b5\nname: rule_a_id\nlogsource: {product: linux}\ndetection: {s: {x: 1}, condition: s}\n---\n"
        "title: b6\nname: website_access\nlogsource: {product: linux}\ndetection: {s: {x: 1}, condition: s}\n---\n"
        "title: b7\nname: process_creation\nlogsource: {product: linux}\ndetection: {s: {x: 1}, condition: s}\n";
    static const char corrs[] =
        "title: Many failed logins\nid: 0e95725d-7320-415d-80f7-004da920fc11\ncorrelation:\n    type: event_count\n"
        "    rules:\n        - 5638f7c0-ac70-491d-8465-2a65075e0d86\n    group-by:\n        - ComputerName\n"
        "    timespan: 1h\n    condition:\n        gte: 100\n---\n"
        "title: Recon\ncorrelation:\n    type: temporal\n    rules:\n        - recon_cmd_a\n        - recon_cmd_b\n"
        "        - recon_cmd_c\n    group-by:\n        - ComputerName\n        - User\n    timespan: 5m\n---\n"
        "title: Recon ordered\ncorrelation:\n    type: temporal_ordered\n    rules:\n        - recon_cmd_a\n"
        "        - recon_cmd_b\n        - recon_cmd_c\n    group-by:\n        - ComputerName\n        - User\n"
        "    timespan: 5m\n---\n"
        "title: Suspicious average network traffic\ncorrelation:\n    type: value_avg\n    rules: \n"
        "        - rule_a_id\n    group-by:\n        - SourceIP\n        - User\n    timespan: 24h\n"
        "    condition:\n        field: BytesOut\n        gt: 500\n---\n"
        "title: Failed login\nid: 0e95725d-7320-415d-80f7-004da920fc12\ncorrelation:\n    type: value_count\n"
        "    rules:\n        - 5638f7c0-ac70-491d-8465-2a65075e0d86\n    group-by:\n        - ComputerName\n"
        "        - WorkstationName\n    timespan: 1d\n    condition:\n        field: User\n        gte: 100\n---\n"
        "title: A computer spawned a processes name in the last 24h than 1% of all the processes.\ncorrelation:\n"
        "    type: value_percentile\n    rules: \n        - process_creation\n    group-by:\n        - ComputerName\n"
        "    timespan: 24h\n    condition:\n        field: Image\n        lte: 1\n---\n"
        "title: Possible Exfiltration to Website\ncorrelation:\n    type: value_sum\n    rules:\n"
        "        - website_access\n    group-by:\n        - SourceIP\n        - User\n    timespan: 1h\n"
        "    condition:\n        field: bytes_sent\n        gt: 1000000\n";
    fixture f;
    errs e = {0};
    cs_rc rc;
    (void)state;
    fx_base(&f, base);
    rc = cs_corrset_load_string(f.cs, "schema.yml", corrs, strlen(corrs), on_err, &e);
    if (rc != CS_OK) {
        print_error("%s\n", cs_err_msg());
    }
    assert_int_equal(rc, CS_OK);
    assert_int_equal(cs_corrset_count(f.cs), 7);
    /* Recon (temporal) on b2 b3 b4 for one computer+user */
    feed2(&f, cs_ruleset_rule(f.rs, 1), S(0), "ComputerName", "pc", "User", "u");
    feed2(&f, cs_ruleset_rule(f.rs, 3), S(1), "ComputerName", "pc", "User", "u");
    assert_int_equal(f.nfired, 0);
    feed2(&f, cs_ruleset_rule(f.rs, 2), S(2), "ComputerName", "pc", "User", "u");
    assert_int_equal(f.nfired, 1);            /* temporal; not temporal_ordered (a c b) */
    assert_string_equal(f.last_name, "Recon");
    fx_free(&f);
}

static void test_load_path(void **state)
{
    char dir[] = "/tmp/cs_corr_XXXXXX";
    char p1[256], p2[256], sub[128];
    fixture f;
    errs e = {0};
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(p1, sizeof p1, "%s/a.yml", dir);
    snprintf(p2, sizeof p2, "%s/b.yaml", sub);
    test_write_file(p1, EC("    gte: 2\n"));
    test_write_file(p2, "title: chained\ncorrelation:\n  type: event_count\n  rules: [ec]\n  timespan: 1h\n"
                        "  condition: {gte: 1}\n");
    fx_base(&f, BASE);
    assert_int_equal(cs_corrset_load_path(f.cs, dir, on_err, &e), CS_OK);
    assert_int_equal(cs_corrset_count(f.cs), 2);
    feed1(&f, f.a, S(0), "User", "u");
    feed1(&f, f.a, S(1), "User", "u");
    assert_int_equal(f.nfired, 2);    /* ec, then chained (global group) */
    assert_string_equal(f.names, "ec;chained;");
    assert_true(cs_corrset_info(f.cs, 0)->suppressed);
    fx_free(&f);
    fx_base(&f, BASE);
    assert_int_equal(cs_corrset_load_path(f.cs, "/nonexistent/corr", on_err, &e), CS_ERR_IO);
    fx_free(&f);
    unlink(p1);
    unlink(p2);
    rmdir(sub);
    rmdir(dir);
}

/* Reload: a second set built from the same text adopts the live groups;
 * an edited correlation, or one whose base rule changed, starts afresh. */
static void reload_case(const char *base2, const char *corr2, int feed_after, int want_fired, size_t want_kept)
{
    fixture f, g;
    errs e = {0};
    size_t groups = 0, kept;
    fx_init(&f, EC("    gte: 10\n"));
    for (int i = 0; i < 6; i++) {
        feed1(&f, f.a, S(i), "User", "alice");
    }
    feed1(&f, f.a, S(7), "User", "bob");
    fx_base(&g, base2);
    assert_int_equal(cs_corrset_load_string(g.cs, "corr.yml", corr2, strlen(corr2), on_err, &e), CS_OK);
    kept = cs_corrset_adopt(g.cs, f.cs, &groups);
    assert_int_equal(kept, want_kept);
    assert_int_equal(groups, want_kept ? 2 : 0);
    fx_free(&f);   /* the old set goes; the groups moved live on in g */
    for (int i = 0; i < feed_after; i++) {
        feed1(&g, g.a, S(10 + i), "User", "alice");
    }
    assert_int_equal(g.nfired, want_fired);
    fx_free(&g);
}

static void test_reload_adopt(void **state)
{
    static const char edited_base[] =
        "title: base a\nid: 00000000-0000-0000-0000-0000000000a1\nname: rule_a\nlogsource:\n  product: linux\n"
        "detection:\n  sel:\n    x: changed\n  condition: sel\n";
    (void)state;
    reload_case(BASE, EC("    gte: 10\n"), 4, 1, 1);                /* unchanged: 6 + 4 fire */
    reload_case(BASE, EC("    gte: 10\n"), 3, 0, 1);                /* 6 + 3: not yet */
    reload_case(BASE, EC("    gte: 11\n"), 5, 0, 0);                /* edited: 5 alone do not */
    reload_case(edited_base, EC("    gte: 10\n"), 9, 0, 0);        /* base rule changed */
    reload_case(edited_base, EC("    gte: 10\n"), 10, 1, 0);       /* ... and counts from zero */
}

static void test_state_size(void **state)
{
    fixture f;
    cs_corr_stats st;
    char user[32];
    (void)state;
    print_message("bytes per live group (16-byte key): %zu + 16 per ring slot\n", cs_corrset_group_bytes(16));
    assert_true(cs_corrset_group_bytes(16) <= 128);
    fx_init(&f, EC("    gte: 1000\n"));
    for (int i = 0; i < 5000; i++) {
        snprintf(user, sizeof user, "user%d", i);
        feed1(&f, f.a, S(i / 100), "User", user);
    }
    cs_corrset_stats(f.cs, &st);
    assert_int_equal(st.groups, 5000);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_count),
        cmocka_unit_test(test_event_count_window),
        cmocka_unit_test(test_event_count_range_and_ops),
        cmocka_unit_test(test_event_count_global_group_and_dedup),
        cmocka_unit_test(test_multi_field_group),
        cmocka_unit_test(test_value_count),
        cmocka_unit_test(test_temporal),
        cmocka_unit_test(test_temporal_ordered),
        cmocka_unit_test(test_value_sum_avg),
        cmocka_unit_test(test_value_percentile),
        cmocka_unit_test(test_aliases),
        cmocka_unit_test(test_spec_chain_example),
        cmocka_unit_test(test_cycles_refused),
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_entry_cap),
        cmocka_unit_test(test_late_events),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_good_doc_kept_and_base_docs_ignored),
        cmocka_unit_test(test_spec_schema_examples),
        cmocka_unit_test(test_reload_adopt),
        cmocka_unit_test(test_load_path),
        cmocka_unit_test(test_state_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
