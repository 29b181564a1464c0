/* sigma.c - Sigma single-event rules, compiled once, matched many times.
 *
 * Design note.
 *
 * Load. runtime/yamltree.c gives a line-numbered tree; each document with a
 * `detection` becomes one rule. Everything a rule owns lives in a bump arena
 * of its own (plus its PCRE2 codes, chained in a list), so a rule refused half
 * way through compiling is dropped with one rule_free(), and a loaded rule is
 * freed the same way. Rules are independent: one bad rule never affects the
 * others, and errors name file:line.
 *
 * Trees. A node is AND | OR | NOT | ITEM. A detection identifier compiles to
 * a node (map = AND of items, list of maps = OR, list of scalars = one keyword
 * item). The condition parser (recursive descent, depth-capped, n-ary AND/OR
 * so long chains stay flat) builds AND/OR/NOT nodes whose leaves are the
 * identifier nodes themselves: the tree is a DAG, nothing is copied.
 *
 * Items and values. An item is one field id (interned at load; CS_F_NONE for
 * a keyword search) with values OR-ed (AND-ed with |all), or an |exists test.
 * A string value is unescaped with pySigma's rules, wrapped in '*' by
 * contains/startswith/endswith (and by keyword search), lowercased once unless
 * |cased, and split at its wildcards '*' into literal segments; '?' stays
 * inside a segment as a per-byte mask. The segment layout gives the matcher
 * kind: exact, prefix, suffix, contains, glob (anchored first and last
 * segments, leftmost search for the middle ones: linear, no backtracking
 * blow-up) or any. An exact value that is a number or an IP address also
 * keeps that typed form so int/float/IP fields compare without formatting.
 * re is a PCRE2 code (UTF, invalid UTF tolerated, JIT when available, match
 * and heap limits from the ruleset's match context). cidr is an address plus
 * a prefix length.
 *
 * Match. Short-circuit walk of the tree. A field's text form is produced at
 * most once per item (strings are used in place; other types go through a
 * stack buffer with cs_field_text), and case folding is done on the fly
 * against the pre-lowered pattern, so matching neither allocates nor hashes.
 * Regex matching needs a pcre2_match_data: one per thread, made on first use
 * and freed by a pthread key destructor when the thread exits.
 *
 * Choices the spec leaves open (see also sigma.h):
 * - keyword search looks at `message`; an event without `message` is searched
 *   in `event.original` instead;
 * - '?' matches one byte (not one UTF-8 character);
 * - a regex that fails at match time (match limit, no memory) does not match;
 * - `x of pattern` uses an anchored '*' glob over identifier names; only
 *   `them` leaves out identifiers starting with '_'.
 */
#include "sigma.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "../runtime/yamltree.h"

#define ARENA_CHUNK 8192
#define RE_MATCH_LIMIT 1000000u   /* backtracking steps per regex and event */
#define RE_DEPTH_LIMIT 100000u
#define RE_HEAP_LIMIT_KIB 16384u
#define NOT_FOUND SIZE_MAX

/* ---------------------------------------------------------------- arena -- */

typedef struct chunk {
    struct chunk *next;
    size_t used;
    size_t cap;
    max_align_t data[];
} chunk;

typedef struct arena {
    chunk *head;
} arena;

/* Zeroed, max-aligned memory that lives until arena_free(). */
static void *arena_alloc(arena *a, size_t n)
{
    const size_t al = sizeof(max_align_t);
    chunk *c = a->head;
    void *p;

    if (n > SIZE_MAX / 2) {
        return NULL;
    }
    n = n == 0 ? al : (n + al - 1) / al * al;
    if (n > ARENA_CHUNK / 4) {
        /* big blocks get a chunk of their own, so the current one keeps its room */
        c = calloc(1, sizeof *c + n);
        if (c == NULL) {
            return NULL;
        }
        c->cap = n;
        c->used = n;
        if (a->head == NULL) {
            a->head = c;
        } else {
            c->next = a->head->next;
            a->head->next = c;
        }
        return c->data;
    }
    if (c == NULL || c->cap - c->used < n) {
        c = calloc(1, sizeof *c + ARENA_CHUNK);
        if (c == NULL) {
            return NULL;
        }
        c->cap = ARENA_CHUNK;
        c->next = a->head;
        a->head = c;
    }
    p = (unsigned char *)c->data + c->used;
    c->used += n;
    return p;
}

static char *arena_strndup(arena *a, const char *s, size_t len)
{
    char *p = arena_alloc(a, len + 1);
    if (p != NULL && len > 0) {
        memcpy(p, s, len);
    }
    return p;
}

static void arena_free(arena *a)
{
    chunk *c = a->head;
    while (c != NULL) {
        chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}

/* ------------------------------------------------------ compiled shapes -- */

enum vkind { V_EXACT, V_PREFIX, V_SUFFIX, V_CONTAINS, V_GLOB, V_ANY, V_NULL, V_RE, V_CIDR };

typedef struct seg {
    const unsigned char *s;    /* lowercased unless the value is cased */
    const unsigned char *one;  /* one[i] != 0: '?' at i; NULL when none */
    size_t len;
    size_t anchor;             /* index of a byte folding cannot change, for memchr; NOT_FOUND if none */
} seg;

typedef struct value {
    uint8_t kind;              /* enum vkind */
    bool cased;
    bool has_int;              /* exact value that is a whole number */
    bool has_num;              /* exact value that is a number (dval set) */
    bool has_ip;               /* exact value that is an IP address */
    int64_t ival;
    double dval;
    cs_ip ip;                  /* has_ip: the address; V_CIDR: the network */
    unsigned prefix;           /* V_CIDR: prefix length in bits */
    size_t nseg;
    const seg *segs;           /* V_GLOB: segs[0] and segs[nseg-1] anchored */
    pcre2_code *re;
    pcre2_match_context *mctx;
} value;

typedef struct item {
    cs_fid fid;                /* CS_F_NONE: keyword search */
    bool all;                  /* |all: every value must match */
    bool exists;               /* |exists: presence test only */
    bool want;                 /* the |exists value */
    bool has_null;             /* one value is null (field absent) */
    size_t nvals;
    const value *vals;
} item;

enum nkind { N_AND, N_OR, N_NOT, N_ITEM };

typedef struct node {
    uint8_t kind;              /* enum nkind */
    size_t n;
    const struct node *const *kids;
    const item *it;
} node;

typedef struct re_ref {
    pcre2_code *code;
    struct re_ref *next;
} re_ref;

struct cs_rule {
    cs_rule_info info;
    arena mem;
    re_ref *res;
    const node *cond;
};

struct cs_ruleset {
    cs_rule **rules;
    size_t n;
    size_t cap;
    pcre2_match_context *mctx;
};

static void rule_free(cs_rule *r)
{
    if (r == NULL) {
        return;
    }
    for (re_ref *q = r->res; q != NULL; q = q->next) {
        pcre2_code_free(q->code);
    }
    arena_free(&r->mem);
    free(r);
}

/* ------------------------------------------------------------- matching -- */

static inline unsigned char lc(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') ? (unsigned char)(ch + ('a' - 'A')) : ch;
}

static bool seg_at(const seg *g, const unsigned char *t, bool cased)
{
    if (g->len == 0) {
        return true;   /* an empty anchor of a glob: its s may be NULL */
    }
    if (g->one == NULL && cased) {
        return memcmp(g->s, t, g->len) == 0;
    }
    for (size_t i = 0; i < g->len; i++) {
        if (g->one != NULL && g->one[i]) {
            continue;
        }
        if ((cased ? t[i] : lc(t[i])) != g->s[i]) {
            return false;
        }
    }
    return true;
}

/* Leftmost position in [from, to) where g matches entirely, or NOT_FOUND. */
static size_t seg_find(const seg *g, const unsigned char *t, size_t from, size_t to, bool cased)
{
    size_t last;
    if (g->len == 0) {
        return from;
    }
    if (to < from || to - from < g->len) {
        return NOT_FOUND;
    }
    last = to - g->len;
    if (g->one == NULL && cased) {
        const unsigned char *p = memmem(t + from, to - from, g->s, g->len);
        return p != NULL ? (size_t)(p - t) : NOT_FOUND;
    }
    if (g->anchor != NOT_FOUND) {
        /* jump with memchr to the anchor byte, then compare the whole segment */
        size_t k = g->anchor;
        size_t i = from;
        while (i <= last) {
            const unsigned char *p = memchr(t + i + k, g->s[k], last - i + 1);
            if (p == NULL) {
                return NOT_FOUND;
            }
            i = (size_t)(p - t) - k;
            if (seg_at(g, t + i, cased)) {
                return i;
            }
            i++;
        }
        return NOT_FOUND;
    }
    if (g->one == NULL || !g->one[0]) {
        /* letters only: test the first one in both cases before comparing */
        unsigned char first = g->s[0];
        unsigned char alt = (!cased && first >= 'a' && first <= 'z') ? (unsigned char)(first - ('a' - 'A')) : first;
        for (size_t i = from; i <= last; i++) {
            if ((t[i] == first || t[i] == alt) && seg_at(g, t + i, cased)) {
                return i;
            }
        }
        return NOT_FOUND;
    }
    for (size_t i = from; i <= last; i++) {
        if (seg_at(g, t + i, cased)) {
            return i;
        }
    }
    return NOT_FOUND;
}

/* cased: compare bytes as they are (the value is |cased, or s is already
 * lowercased); otherwise fold s on the fly. */
static bool str_match(const value *v, const char *s, size_t n, bool cased)
{
    const unsigned char *t = (const unsigned char *)s;
    const seg *g = v->segs;
    switch ((enum vkind)v->kind) {
    case V_ANY:
        return true;
    case V_EXACT:
        return n == g->len && seg_at(g, t, cased);
    case V_PREFIX:
        return n >= g->len && seg_at(g, t, cased);
    case V_SUFFIX:
        return n >= g->len && seg_at(g, t + n - g->len, cased);
    case V_CONTAINS:
        return seg_find(g, t, 0, n, cased) != NOT_FOUND;
    case V_GLOB: {
        const seg *a = &g[0];
        const seg *z = &g[v->nseg - 1];
        size_t pos;
        size_t end;
        if (n < a->len + z->len || !seg_at(a, t, cased) || !seg_at(z, t + n - z->len, cased)) {
            return false;
        }
        pos = a->len;
        end = n - z->len;
        for (size_t k = 1; k + 1 < v->nseg; k++) {
            size_t at = seg_find(&g[k], t, pos, end, cased);
            if (at == NOT_FOUND) {
                return false;
            }
            pos = at + g[k].len;
        }
        return true;
    }
    default:
        return false;
    }
}

static pthread_key_t g_md_key;
static pthread_once_t g_md_once = PTHREAD_ONCE_INIT;
static bool g_md_key_ok;

static void md_destroy(void *p)
{
    pcre2_match_data_free((pcre2_match_data *)p);
}

static void md_key_init(void)
{
    g_md_key_ok = pthread_key_create(&g_md_key, md_destroy) == 0;
}

/* This thread's match data (one ovector pair: we only ask "did it match"). */
static pcre2_match_data *thread_md(void)
{
    pcre2_match_data *md;
    pthread_once(&g_md_once, md_key_init);
    if (!g_md_key_ok) {
        return NULL;
    }
    md = pthread_getspecific(g_md_key);
    if (md == NULL) {
        md = pcre2_match_data_create(1, NULL);
        if (md != NULL && pthread_setspecific(g_md_key, md) != 0) {
            pcre2_match_data_free(md);
            md = NULL;
        }
    }
    return md;
}

static bool re_match(const value *v, const char *s, size_t n)
{
    pcre2_match_data *md = thread_md();
    int rc;
    if (md == NULL) {
        return false;
    }
    rc = pcre2_match(v->re, (PCRE2_SPTR)s, n, 0, 0, md, v->mctx);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
        /* the JIT stack is small and fixed; the interpreter is bounded by the limits */
        rc = pcre2_match(v->re, (PCRE2_SPTR)s, n, 0, PCRE2_NO_JIT, md, v->mctx);
    }
    return rc >= 0;   /* 0 = matched, ovector too small: still a match */
}

static bool cidr_match(const value *v, const cs_event *ev, const cs_field *f)
{
    cs_ip ip;
    unsigned full;
    unsigned rest;
    if (f->type == CS_T_IP) {
        ip = f->v.ip;
    } else if (f->type == CS_T_STR) {
        if (!cs_ip_parse(cs_event_strval(ev, f), f->len, &ip)) {
            return false;
        }
    } else {
        return false;
    }
    if (ip.family != v->ip.family) {
        return false;
    }
    full = v->prefix / 8;
    rest = v->prefix % 8;
    if (memcmp(ip.addr, v->ip.addr, full) != 0) {
        return false;
    }
    if (rest != 0) {
        uint8_t mask = (uint8_t)(0xffu << (8 - rest));
        return (ip.addr[full] & mask) == (v->ip.addr[full] & mask);
    }
    return true;
}

/* A field's text form, produced once per field and item, and only when a value needs it. */
typedef struct ftext {
    const char *s;
    size_t len;
    bool ready;
    char buf[64];
} ftext;

static void ftext_get(ftext *t, const cs_event *ev, const cs_field *f)
{
    if (!t->ready) {
        t->s = cs_field_text(ev, f, t->buf, sizeof t->buf, &t->len);
        t->ready = true;
    }
}

static bool value_match(const value *v, const cs_event *ev, const cs_field *f, ftext *t)
{
    switch ((enum vkind)v->kind) {
    case V_NULL:
        return false;
    case V_CIDR:
        return cidr_match(v, ev, f);
    case V_RE:
        ftext_get(t, ev, f);
        return re_match(v, t->s, t->len);
    case V_EXACT:
        if (v->has_num && f->type == CS_T_INT) {
            return v->has_int ? f->v.i == v->ival : (double)f->v.i == v->dval;
        }
        if (v->has_num && f->type == CS_T_FLOAT) {
            return f->v.f == v->dval;
        }
        if (v->has_ip && f->type == CS_T_IP) {
            return cs_ip_equal(&f->v.ip, &v->ip);
        }
        break;
    default:
        break;
    }
    ftext_get(t, ev, f);
    return str_match(v, t->s, t->len, v->cased);
}

/* Keywords search `message`; events without one are searched in `event.original`. */
static cs_fid keyword_fid(const cs_event *ev)
{
    const cs_field *fs = cs_event_fields(ev);
    size_t nf = cs_event_nfields(ev);
    for (size_t i = 0; i < nf; i++) {
        if (fs[i].id == CS_F_MESSAGE) {
            return CS_F_MESSAGE;
        }
    }
    return CS_F_EVENT_ORIGINAL;
}

static bool item_match(const item *it, const cs_event *ev)
{
    const cs_field *fs = cs_event_fields(ev);
    size_t nf = cs_event_nfields(ev);
    cs_fid fid = it->fid != CS_F_NONE ? it->fid : keyword_fid(ev);
    bool present = false;

    if (it->exists) {
        for (size_t i = 0; i < nf; i++) {
            if (fs[i].id == fid) {
                return it->want;
            }
        }
        return !it->want;
    }
    if (!it->all) {
        for (size_t i = 0; i < nf; i++) {
            ftext t;
            if (fs[i].id != fid) {
                continue;
            }
            present = true;
            t.ready = false;
            for (size_t k = 0; k < it->nvals; k++) {
                if (value_match(&it->vals[k], ev, &fs[i], &t)) {
                    return true;
                }
            }
        }
        return !present && it->has_null;
    }
    for (size_t k = 0; k < it->nvals; k++) {
        const value *v = &it->vals[k];
        bool hit = false;
        present = false;
        for (size_t i = 0; i < nf && !hit; i++) {
            ftext t;
            if (fs[i].id != fid) {
                continue;
            }
            present = true;
            t.ready = false;
            hit = value_match(v, ev, &fs[i], &t);
        }
        if (v->kind == V_NULL) {
            hit = !present;
        }
        if (!hit) {
            return false;
        }
    }
    return true;
}

static bool eval(const node *n, const cs_event *ev)
{
    switch ((enum nkind)n->kind) {
    case N_AND:
        for (size_t i = 0; i < n->n; i++) {
            if (!eval(n->kids[i], ev)) {
                return false;
            }
        }
        return true;
    case N_OR:
        for (size_t i = 0; i < n->n; i++) {
            if (eval(n->kids[i], ev)) {
                return true;
            }
        }
        return false;
    case N_NOT:
        return !eval(n->kids[0], ev);
    case N_ITEM:
        return item_match(n->it, ev);
    }
    return false;
}

bool cs_rule_match(const cs_rule *r, const cs_event *ev)
{
    return r != NULL && ev != NULL && eval(r->cond, ev);
}

size_t cs_ruleset_match(const cs_ruleset *rs, const cs_event *ev, cs_rule_match_cb cb, void *ud)
{
    size_t hits = 0;
    if (rs == NULL || ev == NULL) {
        return 0;
    }
    for (size_t i = 0; i < rs->n; i++) {
        if (eval(rs->rules[i]->cond, ev)) {
            hits++;
            if (cb != NULL) {
                cb(rs->rules[i], ev, ud);
            }
        }
    }
    return hits;
}

/* ------------------------------------------------------------ compiling -- */

typedef struct ident {
    const char *name;
    size_t len;
    const node *det;
} ident;

typedef struct cctx {
    cs_ruleset *rs;
    cs_rule *rule;
    const char *path;
    ident *ids;
    size_t nids;
} cctx;

typedef struct mods {
    bool contains, startswith, endswith, all, re, re_i, re_m, re_s, cidr, exists, cased;
} mods;

static cs_rc rule_err(const cctx *c, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static cs_rc rule_err(const cctx *c, int line, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cs_err_set(CS_ERR_RULE, "%s:%d: %s", c->path, line, msg);
}

static cs_rc nomem(const cctx *c)
{
    return cs_err_set(CS_ERR_NOMEM, "%s: out of memory while compiling a rule", c->path);
}

static void *c_alloc(cctx *c, size_t n)
{
    return arena_alloc(&c->rule->mem, n);
}

static cs_rc new_node(cctx *c, enum nkind kind, size_t nkids, node **out, const node ***kidsp)
{
    node *n = c_alloc(c, sizeof *n);
    const node **kids = NULL;
    if (n == NULL) {
        return nomem(c);
    }
    if (nkids > 0) {
        if (nkids > SIZE_MAX / sizeof *kids || (kids = c_alloc(c, nkids * sizeof *kids)) == NULL) {
            return nomem(c);
        }
    }
    n->kind = (uint8_t)kind;
    n->n = nkids;
    n->kids = kids;
    *out = n;
    if (kidsp != NULL) {
        *kidsp = kids;
    }
    return CS_OK;
}

/* A growable list of nodes in the arena (old arrays are left behind: the
 * waste is bounded by twice the final size). */
typedef struct nvec {
    const node **v;
    size_t n;
    size_t cap;
} nvec;

static cs_rc nvec_push(cctx *c, nvec *nv, const node *x)
{
    if (nv->n == nv->cap) {
        size_t cap = nv->cap ? nv->cap * 2 : 4;
        const node **v = c_alloc(c, cap * sizeof *v);
        if (v == NULL) {
            return nomem(c);
        }
        if (nv->n > 0) {
            memcpy(v, nv->v, nv->n * sizeof *v);
        }
        nv->v = v;
        nv->cap = cap;
    }
    nv->v[nv->n++] = x;
    return CS_OK;
}

static cs_rc nvec_node(cctx *c, enum nkind kind, const nvec *nv, const node **out)
{
    node *n;
    if (nv->n == 1) {
        *out = nv->v[0];
        return CS_OK;
    }
    n = c_alloc(c, sizeof *n);
    if (n == NULL) {
        return nomem(c);
    }
    n->kind = (uint8_t)kind;
    n->n = nv->n;
    n->kids = nv->v;
    *out = n;
    return CS_OK;
}

static bool word_is(const char *s, size_t len, const char *w)
{
    return strlen(w) == len && memcmp(s, w, len) == 0;
}

static const char *const unsupported_mods[] = {
    "windash", "base64", "base64offset", "utf16le", "utf16be", "utf16", "wide", "expand", "fieldref",
    "gt",      "gte",    "lt",           "lte",     "neq",     "minute", "hour", "day",    "week",
    "month",   "year",   NULL,
};

/* Split "Field|mod|mod" into an interned field id and modifier flags. */
static cs_rc parse_key(cctx *c, const cs_yaml_node *key, cs_fid *fid, mods *m)
{
    const char *k = key->str;
    const char *end = key->str + key->len;
    const char *bar = memchr(k, '|', key->len);
    size_t flen = bar != NULL ? (size_t)(bar - k) : key->len;
    int nmods = 0;

    memset(m, 0, sizeof *m);
    *fid = CS_F_NONE;
    if (flen > 0) {
        *fid = cs_field_intern(k, flen);
        if (*fid == CS_F_NONE) {
            return rule_err(c, key->line, "field name '%.*s' is too long or cannot be registered", (int)flen, k);
        }
    }
    while (bar != NULL) {
        const char *mod = bar + 1;
        size_t ml;
        bar = memchr(mod, '|', (size_t)(end - mod));
        ml = (size_t)((bar != NULL ? bar : end) - mod);
        nmods++;
        if (ml == 0) {
            return rule_err(c, key->line, "empty modifier in field '%s'", k);
        } else if (word_is(mod, ml, "contains")) {
            m->contains = true;
        } else if (word_is(mod, ml, "startswith")) {
            m->startswith = true;
        } else if (word_is(mod, ml, "endswith")) {
            m->endswith = true;
        } else if (word_is(mod, ml, "all")) {
            m->all = true;
        } else if (word_is(mod, ml, "re")) {
            m->re = true;
        } else if (word_is(mod, ml, "cidr")) {
            m->cidr = true;
        } else if (word_is(mod, ml, "exists")) {
            m->exists = true;
        } else if (word_is(mod, ml, "cased")) {
            m->cased = true;
        } else if (word_is(mod, ml, "i") || word_is(mod, ml, "ignorecase") || word_is(mod, ml, "m") ||
                   word_is(mod, ml, "multiline") || word_is(mod, ml, "s") || word_is(mod, ml, "dotall")) {
            if (!m->re) {
                return rule_err(c, key->line, "modifier '%.*s' in field '%s' must follow 're'", (int)ml, mod, k);
            }
            if (mod[0] == 'i') {
                m->re_i = true;
            } else if (mod[0] == 'm') {
                m->re_m = true;
            } else {
                m->re_s = true;
            }
        } else {
            for (size_t u = 0; unsupported_mods[u] != NULL; u++) {
                if (word_is(mod, ml, unsupported_mods[u])) {
                    return rule_err(c, key->line, "unsupported modifier '%.*s' in field '%s'", (int)ml, mod, k);
                }
            }
            return rule_err(c, key->line, "unknown modifier '%.*s' in field '%s'", (int)ml, mod, k);
        }
    }
    if (m->exists && (nmods > 1 || *fid == CS_F_NONE)) {
        return rule_err(c, key->line, "'exists' needs a field name and no other modifier (in '%s')", k);
    }
    if (m->re && (m->contains || m->startswith || m->endswith || m->cidr || m->cased)) {
        return rule_err(c, key->line, "'re' cannot be combined with contains, startswith, endswith, cidr or cased (in '%s')",
                        k);
    }
    if (m->cidr && (m->contains || m->startswith || m->endswith || m->cased || *fid == CS_F_NONE)) {
        return rule_err(c, key->line, "'cidr' needs a field name and no string modifier (in '%s')", k);
    }
    return CS_OK;
}

/* Whole-string number, strictly decimal (no hex, inf or nan). */
static void parse_number(value *v, const unsigned char *s, size_t len)
{
    char buf[64];
    char *end;
    bool digit = false;
    bool integral = true;
    if (len == 0 || len >= sizeof buf) {
        return;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = s[i];
        if (ch >= '0' && ch <= '9') {
            digit = true;
        } else if (ch == '-' && i == 0) {
            continue;
        } else if (ch == '.' || ch == 'e' || ch == 'E' || ch == '+' || ch == '-') {
            integral = false;
        } else {
            return;
        }
    }
    if (!digit) {
        return;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    if (integral) {
        long long x = strtoll(buf, &end, 10);
        if (errno == 0 && *end == '\0') {
            v->has_int = true;
            v->ival = x;
            v->dval = (double)x;
            v->has_num = true;
        }
        return;
    }
    v->dval = strtod(buf, &end);
    v->has_num = errno == 0 && *end == '\0' && isfinite(v->dval);
}

static cs_rc make_seg(cctx *c, const unsigned char *lit, const unsigned char *wild, size_t from, size_t to,
                      bool cased, seg *g)
{
    unsigned char *s = c_alloc(c, to - from + 1);
    unsigned char *one = NULL;
    if (s == NULL) {
        return nomem(c);
    }
    for (size_t i = from; i < to; i++) {
        if (wild[i] == '?') {
            if (one == NULL && (one = c_alloc(c, to - from)) == NULL) {
                return nomem(c);
            }
            one[i - from] = 1;
        } else {
            s[i - from] = cased ? lit[i] : lc(lit[i]);
        }
    }
    g->s = s;
    g->one = one;
    g->len = to - from;
    /* anchor: a non-letter (folding leaves it alone), punctuation before digits before space */
    g->anchor = NOT_FOUND;
    for (size_t i = 0, best = 0; i < g->len; i++) {
        unsigned char ch = s[i];
        size_t score;
        if ((one != NULL && one[i]) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
            continue;
        }
        score = ch == ' ' ? 1 : (ch >= '0' && ch <= '9') ? 2 : 3;
        if (score > best) {
            best = score;
            g->anchor = i;
        }
    }
    return CS_OK;
}

/* A Sigma string (pySigma escapes: \* \? \\ are literal; other backslashes
 * are kept) into segments; lead/trail add the '*' of contains & co. */
static cs_rc compile_pattern(cctx *c, const char *s, size_t len, bool cased, bool lead, bool trail, value *v)
{
    unsigned char *lit = c_alloc(c, len + 2);
    unsigned char *wild = c_alloc(c, len + 2);
    size_t m = 0;
    size_t nruns = 0;
    size_t nstars = 0;
    size_t *starts;
    size_t *ends;
    seg *segs;
    bool lead_star;
    bool trail_star;
    size_t r = 0;
    cs_rc rc;

    if (lit == NULL || wild == NULL) {
        return nomem(c);
    }
    if (lead) {
        wild[m++] = '*';
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\\' && i + 1 < len && (s[i + 1] == '*' || s[i + 1] == '?' || s[i + 1] == '\\')) {
            lit[m++] = (unsigned char)s[++i];
        } else if (ch == '*' || ch == '?') {
            wild[m++] = ch;
        } else {
            lit[m++] = ch;
        }
    }
    if (trail) {
        wild[m++] = '*';
    }
    for (size_t i = 0; i < m; i++) {
        if (wild[i] == '*') {
            nstars++;
        } else if (i == 0 || wild[i - 1] == '*') {
            nruns++;
        }
    }
    v->cased = cased;
    if (nstars == 0) {
        v->kind = V_EXACT;
        v->nseg = 1;
        if ((segs = c_alloc(c, sizeof *segs)) == NULL) {
            return nomem(c);
        }
        if ((rc = make_seg(c, lit, wild, 0, m, cased, segs)) != CS_OK) {
            return rc;
        }
        v->segs = segs;
        if (segs->one == NULL) {
            parse_number(v, segs->s, segs->len);
            v->has_ip = cs_ip_parse((const char *)segs->s, segs->len, &v->ip);
        }
        return CS_OK;
    }
    if (nruns == 0) {
        v->kind = V_ANY;
        return CS_OK;
    }
    starts = c_alloc(c, nruns * sizeof *starts);
    ends = c_alloc(c, nruns * sizeof *ends);
    if (starts == NULL || ends == NULL) {
        return nomem(c);
    }
    for (size_t i = 0; i < m; i++) {
        if (wild[i] == '*') {
            continue;
        }
        if (i == 0 || wild[i - 1] == '*') {
            starts[r] = i;
        }
        if (i + 1 == m || wild[i + 1] == '*') {
            ends[r++] = i + 1;
        }
    }
    lead_star = wild[0] == '*';
    trail_star = wild[m - 1] == '*';
    if (nruns == 1) {
        v->kind = lead_star && trail_star ? V_CONTAINS : lead_star ? V_SUFFIX : V_PREFIX;
        v->nseg = 1;
    } else {
        /* first and last segments are anchored; an empty one stands for a leading/trailing '*' */
        v->kind = V_GLOB;
        v->nseg = nruns + (lead_star ? 1 : 0) + (trail_star ? 1 : 0);
    }
    if ((segs = c_alloc(c, v->nseg * sizeof *segs)) == NULL) {
        return nomem(c);
    }
    for (size_t k = 0, j = (v->kind == V_GLOB && lead_star) ? 1 : 0; k < nruns; k++, j++) {
        if ((rc = make_seg(c, lit, wild, starts[k], ends[k], cased, &segs[j])) != CS_OK) {
            return rc;
        }
    }
    v->segs = segs;   /* empty anchors stay zeroed: len 0 */
    return CS_OK;
}

static cs_rc compile_re(cctx *c, int line, const char *key, const cs_yaml_node *n, const mods *m, value *v)
{
    uint32_t opts = PCRE2_UTF;
    int err = 0;
    PCRE2_SIZE off = 0;
    re_ref *ref = c_alloc(c, sizeof *ref);
    pcre2_code *code;

    if (ref == NULL) {
        return nomem(c);
    }
#ifdef PCRE2_MATCH_INVALID_UTF
    opts |= PCRE2_MATCH_INVALID_UTF;   /* events are not always valid UTF-8 */
#endif
    if (m->re_i) {
        opts |= PCRE2_CASELESS;
    }
    if (m->re_m) {
        opts |= PCRE2_MULTILINE;
    }
    if (m->re_s) {
        opts |= PCRE2_DOTALL;
    }
    code = pcre2_compile((PCRE2_SPTR)n->str, n->len, opts, &err, &off, NULL);
    if (code == NULL) {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(err, msg, sizeof msg) < 0) {
            snprintf((char *)msg, sizeof msg, "error %d", err);
        }
        return rule_err(c, line, "bad regular expression '%.120s' in field '%s': %s at offset %zu", n->str, key,
                        (const char *)msg, (size_t)off);
    }
    ref->code = code;
    ref->next = c->rule->res;
    c->rule->res = ref;
    (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);   /* no JIT: the interpreter still works */
    v->kind = V_RE;
    v->re = code;
    v->mctx = c->rs->mctx;
    return CS_OK;
}

static cs_rc compile_cidr(cctx *c, int line, const char *key, const cs_yaml_node *n, value *v)
{
    const char *slash = memchr(n->str, '/', n->len);
    size_t alen = slash != NULL ? (size_t)(slash - n->str) : n->len;
    unsigned maxbits;
    unsigned bits = 0;

    if (!cs_ip_parse(n->str, alen, &v->ip)) {
        return rule_err(c, line, "bad address in CIDR '%.60s' of field '%s'", n->str, key);
    }
    maxbits = v->ip.family == 4 ? 32 : 128;
    if (slash == NULL) {
        bits = maxbits;
    } else {
        size_t dl = n->len - alen - 1;
        if (dl == 0 || dl > 3) {
            return rule_err(c, line, "bad prefix length in CIDR '%.60s' of field '%s'", n->str, key);
        }
        for (size_t i = 0; i < dl; i++) {
            char ch = slash[1 + i];
            if (ch < '0' || ch > '9') {
                return rule_err(c, line, "bad prefix length in CIDR '%.60s' of field '%s'", n->str, key);
            }
            bits = bits * 10 + (unsigned)(ch - '0');
        }
        if (bits > maxbits) {
            return rule_err(c, line, "prefix length %u is over %u in CIDR '%.60s' of field '%s'", bits, maxbits,
                            n->str, key);
        }
    }
    v->kind = V_CIDR;
    v->prefix = bits;
    return CS_OK;
}

static cs_rc compile_value(cctx *c, const char *key, const cs_yaml_node *n, const mods *m, bool keyword, value *v)
{
    if (n->type != CS_YAML_SCALAR) {
        return rule_err(c, n->line, "'%s' has %s among its values, where a value was expected", key,
                        cs_yaml_type_name(n->type));
    }
    if (cs_yaml_is_null(n)) {
        if (keyword) {
            return rule_err(c, n->line, "keyword search '%s' has a null value", key);
        }
        if (m->re || m->cidr || m->contains || m->startswith || m->endswith || m->cased) {
            return rule_err(c, n->line, "null in field '%s' cannot take modifiers", key);
        }
        v->kind = V_NULL;
        return CS_OK;
    }
    if (m->re) {
        return compile_re(c, n->line, key, n, m, v);
    }
    if (m->cidr) {
        return compile_cidr(c, n->line, key, n, v);
    }
    return compile_pattern(c, n->str, n->len, m->cased, keyword || m->contains || m->endswith,
                           keyword || m->contains || m->startswith, v);
}

/* One item from a value (scalar or list of scalars) with its modifiers. */
static cs_rc compile_item(cctx *c, const char *key, int line, cs_fid fid, const mods *m, const cs_yaml_node *val,
                          const node **out)
{
    item *it = c_alloc(c, sizeof *it);
    node *n = NULL;
    value *vals;
    size_t nv;
    cs_rc rc;

    if (it == NULL) {
        return nomem(c);
    }
    it->fid = fid;
    it->all = m->all;
    if (m->exists) {
        if (val->type == CS_YAML_SCALAR && val->plain &&
            (strcmp(val->str, "true") == 0 || strcmp(val->str, "True") == 0 || strcmp(val->str, "TRUE") == 0)) {
            it->want = true;
        } else if (val->type == CS_YAML_SCALAR && val->plain &&
                   (strcmp(val->str, "false") == 0 || strcmp(val->str, "False") == 0 ||
                    strcmp(val->str, "FALSE") == 0)) {
            it->want = false;
        } else {
            return rule_err(c, line, "'%s' takes true or false", key);
        }
        it->exists = true;
    } else {
        if (val->type == CS_YAML_MAP) {
            return rule_err(c, line, "'%s' has a mapping as its value, where a value or a list was expected", key);
        }
        nv = val->type == CS_YAML_SEQ ? val->n : 1;
        if (nv == 0) {
            return rule_err(c, line, "'%s' has an empty list of values", key);
        }
        if (nv > CS_SIGMA_MAX_VALUES) {
            return rule_err(c, line, "'%s' has %zu values; at most %d are accepted", key, nv, CS_SIGMA_MAX_VALUES);
        }
        if ((vals = c_alloc(c, nv * sizeof *vals)) == NULL) {
            return nomem(c);
        }
        for (size_t i = 0; i < nv; i++) {
            rc = compile_value(c, key, val->type == CS_YAML_SEQ ? val->items[i] : val, m, fid == CS_F_NONE, &vals[i]);
            if (rc != CS_OK) {
                return rc;
            }
            if (vals[i].kind == V_NULL) {
                it->has_null = true;
            }
        }
        it->vals = vals;
        it->nvals = nv;
    }
    if ((rc = new_node(c, N_ITEM, 0, &n, NULL)) != CS_OK) {
        return rc;
    }
    n->it = it;
    *out = n;
    return CS_OK;
}

/* A map of field items: AND. */
static cs_rc compile_map(cctx *c, const char *name, const cs_yaml_node *map, const node **out)
{
    nvec nv = {0};
    cs_rc rc;
    if (map->n == 0) {
        return rule_err(c, map->line, "detection '%s' has an empty mapping", name);
    }
    for (size_t i = 0; i < map->n; i++) {
        const node *x = NULL;
        cs_fid fid;
        mods m;
        if ((rc = parse_key(c, map->keys[i], &fid, &m)) != CS_OK) {
            return rc;
        }
        rc = compile_item(c, map->keys[i]->str, map->keys[i]->line, fid, &m, map->items[i], &x);
        if (rc != CS_OK || (rc = nvec_push(c, &nv, x)) != CS_OK) {
            return rc;
        }
    }
    return nvec_node(c, N_AND, &nv, out);
}

static cs_rc compile_ident(cctx *c, const char *name, int line, const cs_yaml_node *val, const node **out)
{
    static const mods none;
    nvec nv = {0};
    bool scalars = true;
    cs_rc rc;

    switch (val->type) {
    case CS_YAML_MAP:
        return compile_map(c, name, val, out);
    case CS_YAML_SCALAR:
        if (cs_yaml_is_null(val)) {
            return rule_err(c, line, "detection '%s' is empty", name);
        }
        return compile_item(c, name, line, CS_F_NONE, &none, val, out);
    case CS_YAML_SEQ:
        break;
    }
    if (val->n == 0) {
        return rule_err(c, line, "detection '%s' is an empty list", name);
    }
    for (size_t i = 0; i < val->n; i++) {
        if (val->items[i]->type != CS_YAML_SCALAR) {
            scalars = false;
        }
    }
    if (scalars) {
        /* a list of plain values: one keyword search item */
        return compile_item(c, name, line, CS_F_NONE, &none, val, out);
    }
    for (size_t i = 0; i < val->n; i++) {
        const cs_yaml_node *e = val->items[i];
        const node *x = NULL;
        if (e->type == CS_YAML_MAP) {
            rc = compile_map(c, name, e, &x);
        } else if (e->type == CS_YAML_SCALAR) {
            rc = compile_item(c, name, e->line, CS_F_NONE, &none, e, &x);
        } else {
            rc = rule_err(c, e->line, "detection '%s' has a list inside a list", name);
        }
        if (rc != CS_OK || (rc = nvec_push(c, &nv, x)) != CS_OK) {
            return rc;
        }
    }
    return nvec_node(c, N_OR, &nv, out);
}

/* ------------------------------------------------------------ condition -- */

enum tok { T_END, T_LP, T_RP, T_PIPE, T_WORD };

typedef struct cparse {
    cctx *c;
    const char *s;
    size_t len;
    size_t pos;
    int line;
    int depth;
    enum tok tok;
    const char *tw;   /* T_WORD text */
    size_t tl;
} cparse;

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

static void lex(cparse *p)
{
    while (p->pos < p->len && is_space(p->s[p->pos])) {
        p->pos++;
    }
    p->tw = p->s + p->pos;
    p->tl = 0;
    if (p->pos >= p->len) {
        p->tok = T_END;
        return;
    }
    switch (p->s[p->pos]) {
    case '(':
        p->tok = T_LP;
        p->tl = 1;
        p->pos++;
        return;
    case ')':
        p->tok = T_RP;
        p->tl = 1;
        p->pos++;
        return;
    case '|':
        p->tok = T_PIPE;
        p->tl = 1;
        p->pos++;
        return;
    default:
        break;
    }
    p->tok = T_WORD;
    while (p->pos < p->len && !is_space(p->s[p->pos]) && p->s[p->pos] != '(' && p->s[p->pos] != ')' &&
           p->s[p->pos] != '|') {
        p->pos++;
    }
    p->tl = (size_t)(p->s + p->pos - p->tw);
}

static bool tok_is(const cparse *p, const char *w)
{
    return p->tok == T_WORD && word_is(p->tw, p->tl, w);
}

static bool tok_is_op(const cparse *p)
{
    return tok_is(p, "and") || tok_is(p, "or") || tok_is(p, "not") || tok_is(p, "of");
}

static cs_rc tok_err(cparse *p, const char *what)
{
    if (p->tok == T_END) {
        return rule_err(p->c, p->line, "condition ends where %s was expected", what);
    }
    if (p->tok == T_PIPE) {
        return rule_err(p->c, p->line, "aggregations ('|') in a condition are not supported; write a correlation rule");
    }
    return rule_err(p->c, p->line, "unexpected '%.*s' in condition where %s was expected", (int)p->tl, p->tw, what);
}

/* Anchored glob with '*' only, for `x of pattern`. */
static bool name_glob(const char *pat, size_t pl, const char *s, size_t sl)
{
    size_t pi = 0;
    size_t si = 0;
    size_t star = SIZE_MAX;
    size_t mark = 0;
    while (si < sl) {
        if (pi < pl && pat[pi] == '*') {
            star = pi++;
            mark = si;
        } else if (pi < pl && pat[pi] == s[si]) {
            pi++;
            si++;
        } else if (star != SIZE_MAX) {
            pi = star + 1;
            si = ++mark;
        } else {
            return false;
        }
    }
    while (pi < pl && pat[pi] == '*') {
        pi++;
    }
    return pi == pl;
}

static cs_rc p_or(cparse *p, const node **out);

static cs_rc p_selector(cparse *p, bool all, const char *qw, size_t ql, const node **out)
{
    nvec nv = {0};
    bool them;
    cs_rc rc;
    if (p->tok != T_WORD || tok_is_op(p)) {
        return tok_err(p, "'them' or a name pattern");
    }
    them = tok_is(p, "them");
    for (size_t i = 0; i < p->c->nids; i++) {
        const ident *id = &p->c->ids[i];
        bool hit = them ? (id->len == 0 || id->name[0] != '_') : name_glob(p->tw, p->tl, id->name, id->len);
        if (hit && (rc = nvec_push(p->c, &nv, id->det)) != CS_OK) {
            return rc;
        }
    }
    if (nv.n == 0) {
        return rule_err(p->c, p->line, "'%.*s of %.*s' in condition matches no detection", (int)ql, qw, (int)p->tl,
                        p->tw);
    }
    lex(p);
    return nvec_node(p->c, all ? N_AND : N_OR, &nv, out);
}

static cs_rc p_primary(cparse *p, const node **out)
{
    cs_rc rc;
    if (p->tok == T_LP) {
        if (++p->depth > CS_SIGMA_MAX_COND_DEPTH) {
            return rule_err(p->c, p->line, "condition is nested deeper than %d levels", CS_SIGMA_MAX_COND_DEPTH);
        }
        lex(p);
        if ((rc = p_or(p, out)) != CS_OK) {
            return rc;
        }
        if (p->tok != T_RP) {
            return tok_err(p, "')'");
        }
        p->depth--;
        lex(p);
        return CS_OK;
    }
    if (p->tok != T_WORD || tok_is_op(p)) {
        return tok_err(p, "a detection name");
    }
    if (tok_is(p, "1") || tok_is(p, "any") || tok_is(p, "all")) {
        cparse save = *p;
        lex(p);
        if (tok_is(p, "of")) {
            lex(p);
            return p_selector(p, word_is(save.tw, save.tl, "all"), save.tw, save.tl, out);
        }
        *p = save;   /* a detection that happens to be named like a quantifier */
    }
    for (size_t i = 0; i < p->c->nids; i++) {
        if (p->c->ids[i].len == p->tl && memcmp(p->c->ids[i].name, p->tw, p->tl) == 0) {
            *out = p->c->ids[i].det;
            lex(p);
            return CS_OK;
        }
    }
    if (memchr(p->tw, '*', p->tl) != NULL) {
        return rule_err(p->c, p->line, "pattern '%.*s' in condition needs '1 of' or 'all of'", (int)p->tl, p->tw);
    }
    return rule_err(p->c, p->line, "unknown identifier '%.*s' in condition", (int)p->tl, p->tw);
}

static cs_rc p_not(cparse *p, const node **out)
{
    node *n = NULL;
    const node **kids = NULL;
    const node *x = NULL;
    cs_rc rc;
    if (!tok_is(p, "not")) {
        return p_primary(p, out);
    }
    if (++p->depth > CS_SIGMA_MAX_COND_DEPTH) {
        return rule_err(p->c, p->line, "condition is nested deeper than %d levels", CS_SIGMA_MAX_COND_DEPTH);
    }
    lex(p);
    if ((rc = p_not(p, &x)) != CS_OK || (rc = new_node(p->c, N_NOT, 1, &n, &kids)) != CS_OK) {
        return rc;
    }
    kids[0] = x;
    p->depth--;
    *out = n;
    return CS_OK;
}

static cs_rc p_and(cparse *p, const node **out)
{
    nvec nv = {0};
    const node *x = NULL;
    cs_rc rc;
    if ((rc = p_not(p, &x)) != CS_OK || (rc = nvec_push(p->c, &nv, x)) != CS_OK) {
        return rc;
    }
    while (tok_is(p, "and")) {
        lex(p);
        if ((rc = p_not(p, &x)) != CS_OK || (rc = nvec_push(p->c, &nv, x)) != CS_OK) {
            return rc;
        }
    }
    return nvec_node(p->c, N_AND, &nv, out);
}

static cs_rc p_or(cparse *p, const node **out)
{
    nvec nv = {0};
    const node *x = NULL;
    cs_rc rc;
    if ((rc = p_and(p, &x)) != CS_OK || (rc = nvec_push(p->c, &nv, x)) != CS_OK) {
        return rc;
    }
    while (tok_is(p, "or")) {
        lex(p);
        if ((rc = p_and(p, &x)) != CS_OK || (rc = nvec_push(p->c, &nv, x)) != CS_OK) {
            return rc;
        }
    }
    return nvec_node(p->c, N_OR, &nv, out);
}

static cs_rc parse_condition(cctx *c, const cs_yaml_node *n, const node **out)
{
    cparse p;
    cs_rc rc;
    if (n->type != CS_YAML_SCALAR || cs_yaml_is_null(n)) {
        return rule_err(c, n->line, "a condition must be a non-empty text");
    }
    if (memchr(n->str, '|', n->len) != NULL) {
        /* pySigma refuses the pipe anywhere in a condition: same here */
        return rule_err(c, n->line, "aggregations ('|') in a condition are not supported; write a correlation rule");
    }
    memset(&p, 0, sizeof p);
    p.c = c;
    p.s = n->str;
    p.len = n->len;
    p.line = n->line;
    lex(&p);
    if ((rc = p_or(&p, out)) != CS_OK) {
        return rc;
    }
    if (p.tok != T_END) {
        return tok_err(&p, "the end of the condition");
    }
    return CS_OK;
}

/* Line of key in map (the key's own line, which a block value does not start on). */
static int key_line(const cs_yaml_node *map, const char *key)
{
    for (size_t i = 0; i < map->n; i++) {
        if (cs_yaml_scalar_eq(map->keys[i], key)) {
            return map->keys[i]->line;
        }
    }
    return map->line;
}

static cs_rc compile_detection(cctx *c, const cs_yaml_node *det, int line)
{
    const cs_yaml_node *cond;
    nvec nv = {0};
    cs_rc rc;

    if (det->type != CS_YAML_MAP) {
        return rule_err(c, line, "'detection' must be a mapping, not %s", cs_yaml_type_name(det->type));
    }
    cond = cs_yaml_get(det, "condition");
    if (cond == NULL) {
        return rule_err(c, line, "'detection' has no 'condition'");
    }
    if (det->n > CS_SIGMA_MAX_IDENTS) {
        return rule_err(c, line, "'detection' has more than %d entries", CS_SIGMA_MAX_IDENTS);
    }
    if ((c->ids = c_alloc(c, det->n * sizeof *c->ids)) == NULL) {
        return nomem(c);
    }
    for (size_t i = 0; i < det->n; i++) {
        const cs_yaml_node *k = det->keys[i];
        ident *id = &c->ids[c->nids];
        /* timeframe belonged to the obsolete aggregations; it means nothing without them */
        if (cs_yaml_scalar_eq(k, "condition") || cs_yaml_scalar_eq(k, "timeframe")) {
            continue;
        }
        id->name = k->str;
        id->len = k->len;
        if ((rc = compile_ident(c, k->str, k->line, det->items[i], &id->det)) != CS_OK) {
            return rc;
        }
        c->nids++;
    }
    if (cond->type == CS_YAML_SEQ) {
        /* a list of conditions is their OR */
        if (cond->n == 0) {
            return rule_err(c, cond->line, "'condition' is an empty list");
        }
        for (size_t i = 0; i < cond->n; i++) {
            const node *x = NULL;
            if ((rc = parse_condition(c, cond->items[i], &x)) != CS_OK || (rc = nvec_push(c, &nv, x)) != CS_OK) {
                return rc;
            }
        }
        return nvec_node(c, N_OR, &nv, &c->rule->cond);
    }
    return parse_condition(c, cond, &c->rule->cond);
}

/* ------------------------------------------------------------- metadata -- */

static cs_rc meta_str(cctx *c, const cs_yaml_node *map, const char *key, const char **out)
{
    const cs_yaml_node *n = cs_yaml_get(map, key);
    *out = "";
    if (n == NULL || cs_yaml_is_null(n)) {
        return CS_OK;
    }
    if (n->type != CS_YAML_SCALAR) {
        return rule_err(c, n->line, "'%s' must be a text value, not %s", key, cs_yaml_type_name(n->type));
    }
    if ((*out = arena_strndup(&c->rule->mem, n->str, n->len)) == NULL) {
        return nomem(c);
    }
    return CS_OK;
}

static cs_rc meta_list(cctx *c, const cs_yaml_node *map, const char *key, const char *const **out, size_t *count)
{
    const cs_yaml_node *n = cs_yaml_get(map, key);
    const char **v;
    size_t cap;
    *count = 0;
    if (n != NULL && n->type == CS_YAML_MAP) {
        return rule_err(c, n->line, "'%s' must be a list, not a mapping", key);
    }
    cap = (n != NULL && n->type == CS_YAML_SEQ) ? n->n : 1;
    if ((v = c_alloc(c, (cap + 1) * sizeof *v)) == NULL) {
        return nomem(c);
    }
    *out = v;
    if (n == NULL || cs_yaml_is_null(n)) {
        return CS_OK;
    }
    for (size_t i = 0; i < cap; i++) {
        const cs_yaml_node *e = n->type == CS_YAML_SEQ ? n->items[i] : n;
        if (cs_yaml_is_null(e)) {
            continue;
        }
        if (e->type != CS_YAML_SCALAR) {
            return rule_err(c, e->line, "'%s' must be a list of text values", key);
        }
        if ((v[*count] = arena_strndup(&c->rule->mem, e->str, e->len)) == NULL) {
            return nomem(c);
        }
        (*count)++;
    }
    return CS_OK;
}

static cs_rc meta_level(cctx *c, const cs_yaml_node *doc, const char **out)
{
    static const char *const levels[] = {"informational", "low", "medium", "high", "critical"};
    const cs_yaml_node *n = cs_yaml_get(doc, "level");
    *out = "";
    if (n == NULL || cs_yaml_is_null(n)) {
        return CS_OK;
    }
    if (n->type == CS_YAML_SCALAR) {
        for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
            if (strlen(levels[i]) == n->len && strncasecmp(levels[i], n->str, n->len) == 0) {
                *out = levels[i];
                return CS_OK;
            }
        }
    }
    return rule_err(c, n->line, "'level' must be informational, low, medium, high or critical");
}

static cs_rc compile_rule(cs_ruleset *rs, const cs_yaml_file *f, const cs_yaml_node *doc, cs_rule **out)
{
    cs_rule *r = calloc(1, sizeof *r);
    cs_rule_info *in;
    const cs_yaml_node *n;
    const cs_yaml_node *ls;
    cctx c;
    cs_rc rc;

    *out = NULL;
    if (r == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "%s: out of memory while compiling a rule", f->path);
    }
    memset(&c, 0, sizeof c);
    c.rs = rs;
    c.rule = r;
    c.path = f->path;
    in = &r->info;
    in->line = doc->line;
    if ((in->path = arena_strndup(&r->mem, f->path, strlen(f->path))) == NULL) {
        rc = nomem(&c);
        goto fail;
    }
    n = cs_yaml_get(doc, "title");
    if (n == NULL || cs_yaml_is_null(n)) {
        rc = rule_err(&c, doc->line, "rule has no 'title'");
        goto fail;
    }
    if ((rc = meta_str(&c, doc, "title", &in->title)) != CS_OK || (rc = meta_str(&c, doc, "id", &in->id)) != CS_OK ||
        (rc = meta_str(&c, doc, "name", &in->name)) != CS_OK ||
        (rc = meta_str(&c, doc, "status", &in->status)) != CS_OK ||
        (rc = meta_str(&c, doc, "description", &in->description)) != CS_OK ||
        (rc = meta_str(&c, doc, "author", &in->author)) != CS_OK || (rc = meta_level(&c, doc, &in->level)) != CS_OK ||
        (rc = meta_list(&c, doc, "tags", &in->tags, &in->ntags)) != CS_OK ||
        (rc = meta_list(&c, doc, "references", &in->references, &in->nreferences)) != CS_OK) {
        goto fail;
    }
    ls = cs_yaml_get(doc, "logsource");
    if (ls != NULL && !cs_yaml_is_null(ls) && ls->type != CS_YAML_MAP) {
        rc = rule_err(&c, ls->line, "'logsource' must be a mapping, not %s", cs_yaml_type_name(ls->type));
        goto fail;
    }
    if ((rc = meta_str(&c, ls, "product", &in->product)) != CS_OK ||
        (rc = meta_str(&c, ls, "category", &in->category)) != CS_OK ||
        (rc = meta_str(&c, ls, "service", &in->service)) != CS_OK) {
        goto fail;
    }
    if ((rc = compile_detection(&c, cs_yaml_get(doc, "detection"), key_line(doc, "detection"))) != CS_OK) {
        goto fail;
    }
    *out = r;
    return CS_OK;
fail:
    rule_free(r);
    return rc;
}

/* -------------------------------------------------------------- loading -- */

typedef struct load_state {
    cs_rule_error_cb cb;
    void *ud;
    cs_rc rc;          /* CS_OK, or the worst: CS_ERR_IO/NOMEM over CS_ERR_RULE */
    char first[1024];  /* the first problem, for cs_err_msg() at the end */
} load_state;

/* Report the sentence in cs_err_msg() as one refusal. */
static void report(load_state *st, cs_rc rc)
{
    const char *msg = cs_err_msg();
    if (rc != CS_ERR_IO && rc != CS_ERR_NOMEM) {
        rc = CS_ERR_RULE;
    }
    if (st->cb != NULL) {
        st->cb(msg, st->ud);
    }
    if (st->rc == CS_OK) {
        snprintf(st->first, sizeof st->first, "%s", msg);
    }
    if (st->rc == CS_OK || st->rc == CS_ERR_RULE) {
        st->rc = rc;
    }
}

static cs_rc finish(const load_state *st)
{
    if (st->rc == CS_OK) {
        return CS_OK;
    }
    return cs_err_set(st->rc, "%s", st->first);
}

static cs_rc add_rule(cs_ruleset *rs, cs_rule *r)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 64;
        cs_rule **p = realloc(rs->rules, cap * sizeof *p);
        if (p == NULL) {
            rule_free(r);
            return cs_err_set(CS_ERR_NOMEM, "out of memory adding a rule");
        }
        rs->rules = p;
        rs->cap = cap;
    }
    rs->rules[rs->n++] = r;
    return CS_OK;
}

static void load_docs(cs_ruleset *rs, const cs_yaml_file *yf, load_state *st)
{
    for (size_t i = 0; i < yf->ndocs; i++) {
        const cs_yaml_node *doc = yf->docs[i];
        cs_rule *r;
        cs_rc rc;
        if (cs_yaml_is_null(doc)) {
            continue;   /* an empty document, e.g. after a trailing '---' */
        }
        if (doc->type != CS_YAML_MAP) {
            report(st, cs_err_set(CS_ERR_RULE, "%s:%d: a rule document must be a mapping, not %s", yf->path,
                                  doc->line, cs_yaml_type_name(doc->type)));
            continue;
        }
        if (cs_yaml_get(doc, "detection") == NULL) {
            if (cs_yaml_get(doc, "correlation") == NULL && cs_yaml_get(doc, "filter") == NULL) {
                report(st, cs_err_set(CS_ERR_RULE, "%s:%d: document has no 'detection' (nor 'correlation' or 'filter')",
                                      yf->path, doc->line));
            }
            continue;   /* correlations and filters: not handled by this engine yet */
        }
        rc = compile_rule(rs, yf, doc, &r);
        if (rc == CS_OK) {
            rc = add_rule(rs, r);
        }
        if (rc != CS_OK) {
            report(st, rc);
        }
    }
}

static void load_file(cs_ruleset *rs, const char *path, load_state *st)
{
    cs_yaml_file *yf = NULL;
    cs_rc rc = cs_yaml_load_file(path, &yf);
    if (rc != CS_OK) {
        report(st, rc);
        return;
    }
    load_docs(rs, yf, st);
    cs_yaml_free(yf);
}

static bool yaml_name(const char *name)
{
    size_t n = strlen(name);
    return (n > 4 && strcmp(name + n - 4, ".yml") == 0) || (n > 5 && strcmp(name + n - 5, ".yaml") == 0);
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Load every .yml/.yaml under dir, in bytewise name order per directory.
 * Returns an error only when dir itself cannot be listed. */
static cs_rc walk(cs_ruleset *rs, const char *dir, int depth, load_state *st)
{
    struct dirent **list = NULL;
    size_t dl = strlen(dir);
    const char *sep = (dl > 0 && dir[dl - 1] == '/') ? "" : "/";
    cs_rc rc = CS_OK;
    int n = scandir(dir, &list, NULL, name_cmp);

    if (n < 0) {
        return cs_err_set(CS_ERR_IO, "%s: cannot read directory: %s", dir, strerror(errno));
    }
    for (int i = 0; i < n; i++) {
        const char *name = list[i]->d_name;
        size_t plen = dl + strlen(name) + 2;
        char *path;
        struct stat sb;
        if (name[0] == '.') {
            continue;
        }
        if ((path = malloc(plen)) == NULL) {
            rc = cs_err_set(CS_ERR_NOMEM, "out of memory walking %s", dir);
            report(st, rc);
            goto fail;
        }
        snprintf(path, plen, "%s%s%s", dir, sep, name);
        if (stat(path, &sb) != 0) {
            report(st, cs_err_set(CS_ERR_IO, "%s: cannot read: %s", path, strerror(errno)));
        } else if (S_ISDIR(sb.st_mode)) {
            if (depth + 1 > CS_SIGMA_MAX_DIR_DEPTH) {
                report(st, cs_err_set(CS_ERR_RULE, "%s: directories nested deeper than %d levels are not read", path,
                                      CS_SIGMA_MAX_DIR_DEPTH));
            } else if (walk(rs, path, depth + 1, st) != CS_OK) {
                report(st, CS_ERR_IO);
            }
        } else if (S_ISREG(sb.st_mode) && yaml_name(name)) {
            load_file(rs, path, st);
        }
        free(path);
    }
fail:
    for (int i = 0; i < n; i++) {
        free(list[i]);
    }
    free(list);
    return CS_OK;
}

cs_rc cs_ruleset_load_path(cs_ruleset *rs, const char *path, cs_rule_error_cb cb, void *ud)
{
    load_state st;
    struct stat sb;
    cs_yaml_file *yf = NULL;
    cs_rc rc;

    if (rs == NULL || path == NULL) {
        return cs_err_set(CS_ERR_INVAL, "cs_ruleset_load_path: no ruleset or path");
    }
    memset(&st, 0, sizeof st);
    st.cb = cb;
    st.ud = ud;
    if (stat(path, &sb) != 0) {
        return cs_err_set(CS_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    }
    if (S_ISDIR(sb.st_mode)) {
        if ((rc = walk(rs, path, 0, &st)) != CS_OK) {
            return rc;
        }
        return finish(&st);
    }
    rc = cs_yaml_load_file(path, &yf);
    if (rc == CS_ERR_IO || rc == CS_ERR_NOMEM) {
        return rc;
    }
    if (rc != CS_OK) {
        report(&st, rc);
        return finish(&st);
    }
    load_docs(rs, yf, &st);
    cs_yaml_free(yf);
    return finish(&st);
}

cs_rc cs_ruleset_load_string(cs_ruleset *rs, const char *name, const char *yaml, size_t len, cs_rule_error_cb cb,
                             void *ud)
{
    load_state st;
    cs_yaml_file *yf = NULL;
    cs_rc rc;

    if (rs == NULL || yaml == NULL) {
        return cs_err_set(CS_ERR_INVAL, "cs_ruleset_load_string: no ruleset or text");
    }
    memset(&st, 0, sizeof st);
    st.cb = cb;
    st.ud = ud;
    rc = cs_yaml_load_string(name != NULL ? name : "<string>", yaml, len, &yf);
    if (rc == CS_ERR_NOMEM) {
        return rc;
    }
    if (rc != CS_OK) {
        report(&st, rc);
        return finish(&st);
    }
    load_docs(rs, yf, &st);
    cs_yaml_free(yf);
    return finish(&st);
}

/* -------------------------------------------------------------- ruleset -- */

cs_rc cs_ruleset_new(cs_ruleset **out)
{
    cs_ruleset *rs;
    *out = NULL;
    rs = calloc(1, sizeof *rs);
    if (rs == NULL) {
        goto fail;
    }
    rs->mctx = pcre2_match_context_create(NULL);
    if (rs->mctx == NULL) {
        goto fail;
    }
    /* a hostile regex costs bounded time and memory per event */
    pcre2_set_match_limit(rs->mctx, RE_MATCH_LIMIT);
    pcre2_set_depth_limit(rs->mctx, RE_DEPTH_LIMIT);
    pcre2_set_heap_limit(rs->mctx, RE_HEAP_LIMIT_KIB);
    *out = rs;
    return CS_OK;
fail:
    free(rs);
    return cs_err_set(CS_ERR_NOMEM, "out of memory creating a ruleset");
}

void cs_ruleset_free(cs_ruleset *rs)
{
    if (rs == NULL) {
        return;
    }
    for (size_t i = 0; i < rs->n; i++) {
        rule_free(rs->rules[i]);
    }
    free(rs->rules);
    pcre2_match_context_free(rs->mctx);
    free(rs);
}

size_t cs_ruleset_count(const cs_ruleset *rs)
{
    return rs != NULL ? rs->n : 0;
}

const cs_rule *cs_ruleset_rule(const cs_ruleset *rs, size_t i)
{
    return (rs != NULL && i < rs->n) ? rs->rules[i] : NULL;
}

const cs_rule_info *cs_rule_get_info(const cs_rule *r)
{
    return r != NULL ? &r->info : NULL;
}
