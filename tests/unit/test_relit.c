/* test_relit.c - the literals relit.c proves a regular expression needs.
 *
 * Each case gives a pattern, the expected witness set (or none) and subjects
 * the pattern matches; the test checks the set, checks with PCRE2 itself that
 * each subject matches, and that one witness occurs in it (ASCII
 * case-insensitively). Then mutants of those subjects: every mutant PCRE2
 * still matches must contain a witness too (the soundness the prefilter
 * relies on).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "correlator/relit.h"

typedef struct rcase {
    const char *re;
    bool caseless;
    const char *want;          /* witnesses joined by '|', NULL: no set */
    const char *subjects[4];
} rcase;

static const rcase cases[] = {
    {"abc", false, "abc", {"xxabcxx", "abc"}},
    {"foo.bar", false, "foo", {"fooXbar"}},
    {"ab?cd", false, "cd", {"acd", "abcd"}},
    {"ab+cd", false, "ab", {"abbbcd"}},
    {"a[0-9]{2,}bcd", false, "bcd", {"a12bcd", "a999bcd"}},
    {"(evil|bad)thing", false, "thing", {"evilthing", "badthing"}},
    {"(evilhost|badhost)\\.", false, "evilhost|badhost", {"evilhost.", "x badhost.y"}},
    {"(?:ipfs\\.io/|ipfs\\.io\\s).+@", false, "ipfs.io/|ipfs.io", {"ipfs.io/a@b", "ipfs.io x@"}},
    {"(?i)(ipfs\\.io/|ipfs\\.io\\s).+@", false, ".io/|ipf", {"IPFS.IO/a@b", "ipfs.io x@"}},
    {"-[a-z0-9]{3}\\.[a-z0-9-]{3,}-s-account\\.workers\\.dev|\\.up\\.railway\\.app", false,
     "-s-account.workers.dev|.up.railway.app", {"x-abc.def-s-account.workers.dev", "a.up.railway.app"}},
    {"\\$\\{jndi:(ldap|rmi|dns)", false, "${jndi:", {"${jndi:ldap://x", "${jndi:dns:"}},
    {"^/admin/(login|logout)$", false, "/admin/", {"/admin/login"}},
    {"(?<name>secret)_key", false, "secret", {"secret_key"}},
    {"(?=look)lookahead", false, "lookahead", {"lookahead"}},
    {"(?!x)abcdef", false, "abcdef", {"abcdef"}},
    {"abc(def)?ghij", false, "ghij", {"abcghij", "abcdefghij"}},
    {"(abc)*xyz", false, "xyz", {"xyz", "abcabcxyz"}},
    {"[a]]bc", false, "]bc", {"a]bc"}},
    {"[[:alpha:]]+zzz", false, "zzz", {"aazzz"}},
    {"a{2}bcd", false, "bcd", {"aabcd"}},
    {"x{,3}yz", false, "x{,3}yz", {"x{,3}yz"}},   /* PCRE2 10.42: not a quantifier */
    /* caseless: k, s and non-ASCII bytes end a literal (Unicode folding) */
    {"mask", true, "ma", {"MASK", "mask"}},
    {"powershell", true, "power", {"PowerShell"}},
    {"caf\xc3\xa9 time", true, " time", {"CAF\xc3\x89 TIME"}},
    /* no set: an alternative without a literal, or syntax not understood */
    {"abc|.*", false, NULL, {"abc", "zzz"}},
    {"(a|)bc", false, "bc", {"bc", "abc"}},
    {"(a|)", false, NULL, {"", "a"}},
    {"(\\w+)\\1", false, NULL, {"abab"}},
    {"\\x41BCDE", false, NULL, {"ABCDE"}},
    {"\\QA.B\\E", false, NULL, {"A.B"}},
    {"(?x) a b c", false, NULL, {"abc"}},
    {"abc)", false, NULL, {NULL}},
    {"(*UTF)abc", false, NULL, {"abc"}},
    {"[abc", false, NULL, {NULL}},
    {"(a)?(?(1)b|c)", false, NULL, {"ab", "c"}},
};

static bool compile_ok(const char *re, bool ci, pcre2_code **code)
{
    int err;
    PCRE2_SIZE off;
    *code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, PCRE2_UTF | (ci ? PCRE2_CASELESS : 0), &err, &off,
                          NULL);
    return *code != NULL;
}

static bool re_matches(pcre2_code *code, const char *s, size_t len)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
    int rc = pcre2_match(code, (PCRE2_SPTR)s, len, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

static bool has_witness(const unsigned char *buf, const cs_relit *w, size_t n, const char *s, size_t len)
{
    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; i + w[k].len <= len; i++) {
            if (strncasecmp(s + i, (const char *)buf + w[k].off, w[k].len) == 0) {
                return true;
            }
        }
    }
    return false;
}

static void test_cases(void **state)
{
    unsigned rnd = 99;
    size_t mutants = 0, matched = 0;
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const rcase *t = &cases[c];
        size_t len = strlen(t->re);
        unsigned char *buf = malloc(len + 1);
        cs_relit w[CS_RELIT_MAX];
        size_t n = cs_relit_extract(t->re, len, t->caseless, buf, w);
        char got[512] = "";
        pcre2_code *code = NULL;
        for (size_t k = 0; k < n; k++) {
            size_t gl = strlen(got);
            snprintf(got + gl, sizeof got - gl, "%s%.*s", k ? "|" : "", (int)w[k].len, (const char *)buf + w[k].off);
        }
        if (t->want == NULL ? n != 0 : strcmp(got, t->want) != 0) {
            print_error("case %zu /%s/: witnesses '%s', expected '%s'\n", c, t->re, n ? got : "(none)",
                        t->want ? t->want : "(none)");
            fail();
        }
        if (!compile_ok(t->re, t->caseless, &code)) {
            if (t->subjects[0] != NULL) {
                print_error("case %zu: /%s/ does not compile\n", c, t->re);
            }
            assert_null(t->subjects[0]);   /* an invalid pattern: no set, no subject */
            assert_int_equal(n, 0);
            free(buf);
            continue;
        }
        for (size_t s = 0; s < 4 && t->subjects[s] != NULL; s++) {
            const char *subj = t->subjects[s];
            size_t sl = strlen(subj);
            if (!re_matches(code, subj, sl)) {
                print_error("case %zu: /%s/ does not match '%s'\n", c, t->re, subj);
                fail();
            }
            if (n > 0 && !has_witness(buf, w, n, subj, sl)) {
                print_error("case %zu: no witness of /%s/ in '%s'\n", c, t->re, subj);
                fail();
            }
            /* mutants: replace, insert or delete a few bytes */
            for (int m = 0; n > 0 && m < 300; m++) {
                char mut[128];
                size_t ml = sl < sizeof mut - 8 ? sl : sizeof mut - 8;
                static const char alpha[] = "abcdefghijklmnopqrstuvwxyzKS.-/_@${}:()[] \xc3\xa9";
                memcpy(mut, subj, ml);
                for (int e = 0; e < 1 + m % 3; e++) {
                    unsigned op, pos;
                    rnd = rnd * 1103515245u + 12345u;
                    op = (rnd >> 8) % 3;
                    pos = ml ? (rnd >> 12) % (unsigned)(ml + 1) : 0;
                    if (op == 0 && pos < ml) {
                        mut[pos] = alpha[(rnd >> 20) % (sizeof alpha - 1)];
                    } else if (op == 1 && ml + 1 < sizeof mut) {
                        memmove(mut + pos + 1, mut + pos, ml - pos);
                        mut[pos] = alpha[(rnd >> 20) % (sizeof alpha - 1)];
                        ml++;
                    } else if (op == 2 && pos < ml) {
                        memmove(mut + pos, mut + pos + 1, ml - pos - 1);
                        ml--;
                    }
                }
                mutants++;
                if (re_matches(code, mut, ml)) {
                    matched++;
                    if (!has_witness(buf, w, n, mut, ml)) {
                        print_error("case %zu: /%s/ matches '%.*s' which holds no witness\n", c, t->re, (int)ml, mut);
                        fail();
                    }
                }
            }
        }
        pcre2_code_free(code);
        free(buf);
    }
    print_message("%zu mutants, %zu still matched, each held a witness\n", mutants, matched);
    assert_true(matched > 100);
}

static void test_limits(void **state)
{
    char re[4096];
    unsigned char buf[4096];
    cs_relit w[CS_RELIT_MAX];
    size_t n = 0;
    (void)state;
    /* more alternatives than CS_RELIT_MAX: no set */
    re[0] = '\0';
    for (int i = 0; i < CS_RELIT_MAX + 1; i++) {
        n += (size_t)snprintf(re + n, sizeof re - n, "%salt%02d", i ? "|" : "", i);
    }
    assert_int_equal(cs_relit_extract(re, n, false, buf, w), 0);
    /* exactly CS_RELIT_MAX: a set */
    n = (size_t)(strrchr(re, '|') - re);
    assert_int_equal(cs_relit_extract(re, n, false, buf, w), CS_RELIT_MAX);
    /* nesting deeper than the parser goes: no set, no crash */
    n = 0;
    for (int i = 0; i < 1000; i++) {
        re[n++] = '(';
    }
    memcpy(re + n, "abc", 3);
    n += 3;
    for (int i = 0; i < 1000; i++) {
        re[n++] = ')';
    }
    assert_int_equal(cs_relit_extract(re, n, false, buf, w), 0);
    assert_int_equal(cs_relit_extract("", 0, false, buf, w), 0);
    assert_int_equal(cs_relit_extract("\\", 1, false, buf, w), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
