/* relit.c - required literals of a PCRE2 pattern (relit.h).
 *
 * Design note. A small recursive-descent reader of the PCRE2 syntax that
 * Sigma rules use. A branch (a sequence of atoms) is satisfied only if each
 * of its mandatory atoms is, so any one mandatory part can stand for it: a
 * run of adjacent literal characters, or a group whose own alternatives all
 * have a set. The branch keeps its best part (longest shortest literal, then
 * fewest alternatives). An alternation needs every branch to have a set and
 * takes their union. Atoms that may repeat zero times are dropped; a repeated
 * atom ends the run after itself. Anything unknown (backreferences, \Q..\E,
 * \x escapes, conditionals, verbs, extended mode) fails the whole pattern:
 * no set is always safe, a wrong set would hide matches.
 */
#include "relit.h"

#include <ctype.h>
#include <string.h>

#define RELIT_DEPTH 64

typedef struct lset {
    bool ok;
    size_t n;
    cs_relit v[CS_RELIT_MAX];
} lset;

typedef struct rp {
    const unsigned char *p;
    size_t i, len;
    bool ci;
    bool fail;
    unsigned char *buf;
    size_t blen;
    int depth;
} rp;

static size_t lset_min(const lset *s)
{
    size_t m = (size_t)-1;
    for (size_t k = 0; k < s->n; k++) {
        m = s->v[k].len < m ? s->v[k].len : m;
    }
    return m;
}

static bool lset_better(const lset *a, const lset *b)
{
    size_t ma, mb;
    if (!a->ok || a->n == 0) {
        return false;
    }
    if (!b->ok || b->n == 0) {
        return true;
    }
    ma = lset_min(a);
    mb = lset_min(b);
    return ma > mb || (ma == mb && a->n < b->n);
}

/* Reads a quantifier at r->i: 0 none, 1 may repeat zero times, 2 at least once. */
static int quant(rp *r)
{
    int q = 0;
    if (r->i >= r->len) {
        return 0;
    }
    switch (r->p[r->i]) {
    case '*':
    case '?':
        q = 1;
        r->i++;
        break;
    case '+':
        q = 2;
        r->i++;
        break;
    case '{': {
        size_t j = r->i + 1, lo = 0, digits = 0;
        while (j < r->len && isdigit(r->p[j])) {
            lo = lo * 10 + (size_t)(r->p[j] - '0');
            if (lo > 100000) {
                lo = 100000;
            }
            j++;
            digits++;
        }
        if (digits == 0) {
            return 0;   /* not a quantifier: a literal '{' */
        }
        if (j < r->len && r->p[j] == ',') {
            j++;
            while (j < r->len && isdigit(r->p[j])) {
                j++;
            }
        }
        if (j >= r->len || r->p[j] != '}') {
            return 0;
        }
        r->i = j + 1;
        q = lo == 0 ? 1 : 2;
        break;
    }
    default:
        return 0;
    }
    if (r->i < r->len && (r->p[r->i] == '?' || r->p[r->i] == '+')) {
        r->i++;   /* lazy or possessive */
    }
    return q;
}

static bool is_quant_start(rp *r)
{
    size_t save = r->i;
    int q = quant(r);
    r->i = save;
    return q != 0;
}

static void skip_class(rp *r)
{
    r->i++;   /* '[' */
    if (r->i < r->len && r->p[r->i] == '^') {
        r->i++;
    }
    if (r->i < r->len && r->p[r->i] == ']') {
        r->i++;   /* a leading ']' is a member */
    }
    while (r->i < r->len) {
        unsigned char c = r->p[r->i];
        if (c == '\\') {
            if (r->i + 1 < r->len && r->p[r->i + 1] == 'Q') {
                r->fail = true;
                return;
            }
            r->i += 2;
        } else if (c == '[' && r->i + 1 < r->len && r->p[r->i + 1] == ':') {
            const unsigned char *e = NULL;
            for (size_t j = r->i + 2; j + 1 < r->len; j++) {
                if (r->p[j] == ':' && r->p[j + 1] == ']') {
                    e = r->p + j;
                    break;
                }
            }
            r->i = e != NULL ? (size_t)(e - r->p) + 2 : r->i + 1;
        } else if (c == ']') {
            r->i++;
            return;
        } else {
            r->i++;
        }
    }
    r->fail = true;   /* unterminated */
}

static void parse_alt(rp *r, lset *out);

/* After "(", up to and including ")": the group's set in *g (ok false when
 * it is a lookaround, an option setting or a comment). */
static void parse_group(rp *r, lset *g)
{
    bool look = false;
    g->ok = false;
    g->n = 0;
    r->i++;   /* '(' */
    if (r->i < r->len && r->p[r->i] == '*') {
        r->fail = true;   /* (*VERB) */
        return;
    }
    if (r->i < r->len && r->p[r->i] == '?') {
        unsigned char c = r->i + 1 < r->len ? r->p[r->i + 1] : 0;
        if (c == ':' || c == '>' || c == '|') {
            r->i += 2;
        } else if (c == '=' || c == '!') {
            r->i += 2;
            look = true;
        } else if (c == '<' && r->i + 2 < r->len && (r->p[r->i + 2] == '=' || r->p[r->i + 2] == '!')) {
            r->i += 3;
            look = true;
        } else if (c == '<' || c == '\'' || (c == 'P' && r->i + 2 < r->len && r->p[r->i + 2] == '<')) {
            unsigned char close = c == '\'' ? '\'' : '>';
            r->i += c == 'P' ? 3 : 2;
            while (r->i < r->len && r->p[r->i] != close) {
                if (!isalnum(r->p[r->i]) && r->p[r->i] != '_') {
                    r->fail = true;   /* (?P=name), (?P>name) and the like */
                    return;
                }
                r->i++;
            }
            if (r->i >= r->len) {
                r->fail = true;
                return;
            }
            r->i++;
        } else if (c == '#') {
            while (r->i < r->len && r->p[r->i] != ')') {
                r->i++;
            }
            if (r->i >= r->len) {
                r->fail = true;
                return;
            }
            r->i++;
            return;
        } else {
            /* option letters, then ')' (a setting) or ':' (a group) */
            size_t j = r->i + 1;
            while (j < r->len && (isalpha(r->p[j]) || r->p[j] == '-' || r->p[j] == '^')) {
                if (r->p[j] == 'x') {
                    r->fail = true;   /* extended mode changes what a literal is */
                    return;
                }
                j++;
            }
            if (j == r->i + 1 || j >= r->len || (r->p[j] != ')' && r->p[j] != ':')) {
                r->fail = true;   /* recursion, conditionals, callouts... */
                return;
            }
            r->i = j + 1;
            if (r->p[j] == ')') {
                return;
            }
        }
    }
    if (++r->depth > RELIT_DEPTH) {
        r->fail = true;
        return;
    }
    parse_alt(r, g);
    r->depth--;
    if (r->fail || r->i >= r->len || r->p[r->i] != ')') {
        r->fail = true;
        return;
    }
    r->i++;
    if (look) {
        g->ok = false;
        g->n = 0;
    }
}

static void flush(rp *r, size_t *run_off, size_t *run_len, lset *best)
{
    if (*run_len > 0) {
        lset one = {.ok = true, .n = 1};
        one.v[0].off = *run_off;
        one.v[0].len = *run_len;
        if (lset_better(&one, best)) {
            *best = one;
        }
    }
    *run_off = r->blen;
    *run_len = 0;
}

static void parse_branch(rp *r, lset *out)
{
    lset best = {.ok = false};
    size_t run_off = r->blen, run_len = 0;
    while (r->i < r->len && !r->fail) {
        unsigned char c = r->p[r->i];
        int q;
        if (c == '|' || c == ')') {
            break;
        }
        if (c == '(') {
            lset g;
            flush(r, &run_off, &run_len, &best);
            parse_group(r, &g);
            if (r->fail) {
                break;
            }
            q = quant(r);
            if (q != 1 && lset_better(&g, &best)) {
                best = g;
            }
            run_off = r->blen;
            continue;
        }
        if (c == '[' || c == '.' || c == '^' || c == '$') {
            flush(r, &run_off, &run_len, &best);
            if (c == '[') {
                skip_class(r);
            } else {
                r->i++;
            }
            (void)quant(r);
            run_off = r->blen;
            continue;
        }
        if (c == '*' || c == '+' || c == '?' || (c == '{' && is_quant_start(r))) {
            r->fail = true;   /* a quantifier with nothing before it */
            break;
        }
        if (c == '\\') {
            unsigned char d;
            if (r->i + 1 >= r->len) {
                r->fail = true;
                break;
            }
            d = r->p[r->i + 1];
            if (isalnum(d)) {
                if (strchr("sSdDwWbBAzZGhHvVRXKntrfea", d) == NULL) {
                    r->fail = true;   /* \x, \p, \Q, \k, \g, \1, \N, \c, \o ... */
                    break;
                }
                flush(r, &run_off, &run_len, &best);
                r->i += 2;
                (void)quant(r);
                run_off = r->blen;
                continue;
            }
            c = d;   /* an escaped punctuation character stands for itself */
            r->i += 2;
        } else {
            r->i++;
        }
        if (r->ci && (c >= 0x80 || c == 'k' || c == 'K' || c == 's' || c == 'S')) {
            flush(r, &run_off, &run_len, &best);
            (void)quant(r);
            run_off = r->blen;
            continue;
        }
        r->buf[r->blen++] = c;
        run_len++;
        q = quant(r);
        if (q == 1) {
            r->blen--;   /* optional: not part of any required run */
            run_len--;
            flush(r, &run_off, &run_len, &best);
        } else if (q == 2) {
            flush(r, &run_off, &run_len, &best);
        }
    }
    if (!r->fail) {
        flush(r, &run_off, &run_len, &best);
    }
    *out = best;
}

static void parse_alt(rp *r, lset *out)
{
    lset acc = {.ok = true};
    for (;;) {
        lset br;
        parse_branch(r, &br);
        if (r->fail) {
            out->ok = false;
            out->n = 0;
            return;
        }
        if (!br.ok || br.n == 0 || acc.n + br.n > CS_RELIT_MAX) {
            acc.ok = false;
        } else if (acc.ok) {
            memcpy(acc.v + acc.n, br.v, br.n * sizeof br.v[0]);
            acc.n += br.n;
        }
        if (r->i < r->len && r->p[r->i] == '|') {
            r->i++;
            continue;
        }
        break;
    }
    if (!acc.ok) {
        acc.n = 0;
    }
    *out = acc;
}

/* Is any inline option group of the pattern setting (or unsetting) i? */
static bool inline_caseless(const unsigned char *p, size_t len)
{
    for (size_t i = 0; i + 2 < len; i++) {
        if (p[i] != '(' || p[i + 1] != '?') {
            continue;
        }
        for (size_t j = i + 2; j < len && (isalpha(p[j]) || p[j] == '-' || p[j] == '^'); j++) {
            if (p[j] == 'i') {
                return true;
            }
        }
    }
    return false;
}

size_t cs_relit_extract(const char *pat, size_t len, bool caseless, unsigned char *buf, cs_relit *out)
{
    rp r = {0};
    lset s;
    if (pat == NULL || buf == NULL || out == NULL || len == 0) {
        return 0;
    }
    r.p = (const unsigned char *)pat;
    r.len = len;
    r.buf = buf;
    r.ci = caseless || inline_caseless(r.p, len);
    parse_alt(&r, &s);
    if (r.fail || r.i != r.len || !s.ok || s.n == 0) {
        return 0;   /* a stray ')' or anything not understood */
    }
    memcpy(out, s.v, s.n * sizeof s.v[0]);
    return s.n;
}
