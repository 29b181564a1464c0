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
 * Around the walk (sigma.h has the rules): cs_ruleset_match() reads the
 * event's citysoc.logsource.* strings once and finds the route for them: the
 * rules compatible with that logsource, computed on the route's first event;
 * and the literal prefilter of the route (its own section below) skips the
 * rules none of whose witness literals occurs in the event. The cost of an
 * event thus follows the rules that could match it, not the rule count. Field mappings (cs_ruleset_load_mappings) act at compile time only:
 * parse_key() and fieldref intern the mapped name.
 *
 * The other Sigma v2.1 modifiers, all resolved at load time:
 * - expand, windash, utf16le/wide/utf16be/utf16 and base64/base64offset
 *   rewrite a value into one or more Sigma strings (OR-ed) which are then
 *   compiled like any other value (contains & co add their '*'). The order is
 *   fixed whatever the order in the key: expand (each %name% becomes each of
 *   its values, every combination), then windash (each '-' or '/' matching
 *   pySigma's \B[-/]\b becomes - / U+2013 U+2014 U+2015, all 5^n
 *   combinations, n <= 5), then utf16 (of the UTF-8 text; utf16 = BOM FF FE +
 *   LE), then base64 or base64offset (pySigma's three shifted slices). An
 *   encoding must come before base64 in the key, and encoded values may not
 *   hold wildcards. With |all, each YAML value keeps its alternatives OR-ed
 *   and the values are AND-ed.
 * - lt lte gt gte: a number compared with int/float fields, or with a string
 *   field that is wholly a decimal number; anything else does not match.
 * - minute hour day week(ISO 8601) month year: the part (UTC) of a time
 *   field or of an ISO 8601 string field (YYYY-MM-DD[(T| )hh:mm[:ss[.f]]]
 *   [Z|+hh:mm]; no offset = UTC) equals the whole-number value (or compares
 *   with it under lt/lte/gt/gte). Other fields and unparsable strings do not
 *   match.
 * - fieldref: the field's text equals (contains, starts/ends with) the text of
 *   another field of the event, case-insensitively unless |cased; no match
 *   when the other field is absent.
 * - neq negates the item (pySigma's SigmaNegateModifier) but only for events
 *   that HAVE the field: `a|neq: x` matches when a is present and none of the
 *   values match it; an event without `a` does not match (as `a != 'x'` does in
 *   SQL backends). `not` over an ordinary item is the way to also accept
 *   absence. neq cannot be combined with all.
 * - base64 output is matched case-insensitively like every other value (add
 *   |cased for an exact-case match).
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
#ifdef CS_HAVE_HYPERSCAN
#include <hs/hs.h>
#endif
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "../runtime/yamltree.h"
#include "relit.h"

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

enum vkind { V_EXACT, V_PREFIX, V_SUFFIX, V_CONTAINS, V_GLOB, V_ANY, V_NULL, V_RE, V_CIDR, V_CMP, V_TIME, V_FREF };

/* numeric comparison of V_CMP / V_TIME */
enum cmpop { OP_EQ, OP_LT, OP_LTE, OP_GT, OP_GTE };

/* the part of a date a V_TIME value compares */
enum tpart { TP_NONE, TP_MINUTE, TP_HOUR, TP_DAY, TP_WEEK, TP_MONTH, TP_YEAR };

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
    const unsigned char *relit_buf;   /* V_RE: witnesses (relit.h) for the prefilter */
    const cs_relit *relits;
    size_t nrelits;
    uint8_t op;                /* V_CMP, V_TIME: enum cmpop */
    uint8_t part;              /* V_TIME: enum tpart */
    bool lead, trail;          /* V_FREF: contains/endswith (lead), contains/startswith (trail) */
    cs_fid ref;                /* V_FREF: the other field */
} value;

typedef struct item {
    cs_fid fid;                /* CS_F_NONE: keyword search */
    bool all;                  /* |all: every value must match */
    bool exists;               /* |exists: presence test only */
    bool want;                 /* the |exists value */
    bool has_null;             /* one value is null (field absent) */
    bool neq;                  /* |neq: field present and the values do not match */
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

/* product, category, service: the order of the three logsource slots */
enum { LS_PRODUCT, LS_CATEGORY, LS_SERVICE, LS_N };

struct cs_rule {
    cs_rule_info info;
    arena mem;
    re_ref *res;
    const node *cond;
    const char *ls[LS_N];      /* the rule's logsource, lowercased; NULL = any */
    size_t lslen[LS_N];
    bool ls_syslog;            /* service: syslog (see logsource routing) */
    bool ls_any;               /* product: citysoc: not routed (see sigma.h) */
    /* Sigma meta filters: a rule is true only when none of its filters is;
     * a filter (is_filter) names the rules it applies to in targets */
    const struct cs_rule **filters;   /* malloc'ed; the filters belong to the ruleset */
    size_t nfilters;
    bool is_filter;
    const char **targets;      /* is_filter: rule ids or names, in the arena */
    size_t ntargets;
};

typedef struct placeholder {
    char *name;
    char **vals;
    size_t n;
} placeholder;

#define RT_SLOTS 128          /* distinct event logsources routed; more share the global prefilter */
struct route;

struct cs_ruleset {
    cs_rule **rules;
    size_t n;
    size_t cap;
    cs_rule **filters;         /* Sigma meta filters (not matched on their own) */
    size_t nfilters, capfilters;
    pcre2_match_context *mctx;
    placeholder *ph;           /* |expand values, from cs_ruleset_set_placeholder() */
    size_t nph;
    struct fmap *maps;         /* field mappings, from cs_ruleset_load_mappings() */
    size_t nmaps;
    struct prefilter *pf;      /* literal prefilter over rules [0, pf->nrules) */
    bool pf_off;               /* cs_ruleset_set_prefilter(rs, false) */
    atomic_bool pf_dirty;      /* rules were loaded since pf was built */
    pthread_mutex_t pf_mu;     /* one builder; matchers wait for it */
    _Atomic(struct route *) routes[RT_SLOTS];   /* by event logsource, built on first sight */
    size_t nroutes;            /* under pf_mu */
#ifdef CS_HAVE_HYPERSCAN
    hs_scratch_t *hs_proto;    /* grown for every database built (under pf_mu) */
    atomic_uint_fast64_t hs_gen;   /* changes with hs_proto: threads re-clone */
#endif
};

/* One field mapping: for rules whose logsource is compatible with ls (NULL =
 * any; lowercased), the Sigma field `from` means the event field `to`. */
typedef struct fmap {
    char *ls[3];
    char *from;
    char *to;
} fmap;

static void rule_free(cs_rule *r)
{
    if (r == NULL) {
        return;
    }
    for (re_ref *q = r->res; q != NULL; q = q->next) {
        pcre2_code_free(q->code);
    }
    free(r->filters);
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

static void parse_number(value *v, const unsigned char *s, size_t len);

static bool cmp_i64(uint8_t op, int64_t x, int64_t y)
{
    switch ((enum cmpop)op) {
    case OP_EQ:
        return x == y;
    case OP_LT:
        return x < y;
    case OP_LTE:
        return x <= y;
    case OP_GT:
        return x > y;
    case OP_GTE:
        return x >= y;
    }
    return false;
}

static bool cmp_num(uint8_t op, double x, double y)
{
    switch ((enum cmpop)op) {
    case OP_EQ:
        return x == y;
    case OP_LT:
        return x < y;
    case OP_LTE:
        return x <= y;
    case OP_GT:
        return x > y;
    case OP_GTE:
        return x >= y;
    }
    return false;
}

/* lt/lte/gt/gte: int and float fields, or a string holding a whole number. */
static bool cmp_match(const value *v, const cs_event *ev, const cs_field *f)
{
    value tmp;
    if (f->type == CS_T_INT) {
        return v->has_int ? cmp_i64(v->op, f->v.i, v->ival) : cmp_num(v->op, (double)f->v.i, v->dval);
    }
    if (f->type == CS_T_FLOAT) {
        return cmp_num(v->op, f->v.f, v->dval);
    }
    if (f->type != CS_T_STR) {
        return false;
    }
    memset(&tmp, 0, sizeof tmp);
    parse_number(&tmp, (const unsigned char *)cs_event_strval(ev, f), f->len);
    if (!tmp.has_num) {
        return false;
    }
    if (tmp.has_int && v->has_int) {
        return cmp_i64(v->op, tmp.ival, v->ival);
    }
    return cmp_num(v->op, tmp.dval, v->dval);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe;
    unsigned doy;
    unsigned doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe;
    unsigned yoe;
    unsigned doy;
    unsigned mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* 0 = Monday .. 6 = Sunday (1970-01-01 was a Thursday). */
static int64_t weekday(int64_t days)
{
    return ((days % 7) + 7 + 3) % 7;
}

/* ISO 8601 weeks in year y: 53 when 1 January or 31 December is a Thursday. */
static int64_t iso_weeks(int64_t y)
{
    return (weekday(days_from_civil(y, 1, 1)) == 3 || weekday(days_from_civil(y, 12, 31)) == 3) ? 53 : 52;
}

/* The part of a UTC time (seconds since the epoch). */
static int64_t time_part(int64_t secs, uint8_t part)
{
    int64_t days = floor_div(secs, 86400);
    int64_t sod = secs - days * 86400;
    int64_t y;
    unsigned m;
    unsigned d;
    civil_from_days(days, &y, &m, &d);
    switch ((enum tpart)part) {
    case TP_MINUTE:
        return (sod / 60) % 60;
    case TP_HOUR:
        return sod / 3600;
    case TP_DAY:
        return d;
    case TP_MONTH:
        return m;
    case TP_YEAR:
        return y;
    case TP_WEEK: {
        int64_t yday = days - days_from_civil(y, 1, 1) + 1;
        int64_t w = (yday - (weekday(days) + 1) + 10) / 7;
        if (w < 1) {
            return iso_weeks(y - 1);
        }
        return w > iso_weeks(y) ? 1 : w;
    }
    case TP_NONE:
        break;
    }
    return -1;
}

static bool digits(const char *s, size_t n, size_t at, size_t k, int *out)
{
    int x = 0;
    if (at + k > n) {
        return false;
    }
    for (size_t i = at; i < at + k; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        x = x * 10 + (s[i] - '0');
    }
    *out = x;
    return true;
}

/* ISO 8601 / RFC 3339: YYYY-MM-DD[(T| )hh:mm[:ss[.frac]][Z|(+|-)hh[:]mm]] to UTC
 * seconds. A time without an offset is taken as UTC. */
static bool parse_iso8601(const char *s, size_t n, int64_t *secs)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0;
    size_t i;
    if (n < 10 || !digits(s, n, 0, 4, &y) || s[4] != '-' || !digits(s, n, 5, 2, &mo) || s[7] != '-' ||
        !digits(s, n, 8, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > 31) {
        return false;
    }
    i = 10;
    if (i < n && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
        if (!digits(s, n, i + 1, 2, &h) || i + 3 >= n || s[i + 3] != ':' || !digits(s, n, i + 4, 2, &mi) || h > 23 ||
            mi > 59) {
            return false;
        }
        i += 6;
        if (i < n && s[i] == ':') {
            if (!digits(s, n, i + 1, 2, &sec) || sec > 60) {
                return false;
            }
            i += 3;
            if (i < n && (s[i] == '.' || s[i] == ',')) {
                i++;
                while (i < n && s[i] >= '0' && s[i] <= '9') {
                    i++;
                }
            }
        }
        if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
            i++;
        } else if (i < n && (s[i] == '+' || s[i] == '-')) {
            int sign = s[i] == '-' ? -1 : 1;
            if (!digits(s, n, i + 1, 2, &oh)) {
                return false;
            }
            i += 3;
            if (i < n && s[i] == ':') {
                i++;
            }
            if (!digits(s, n, i, 2, &om)) {
                return false;
            }
            i += 2;
            oh *= sign;
            om *= sign;
        }
    }
    if (i != n) {
        return false;
    }
    *secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec - (int64_t)oh * 3600 -
            (int64_t)om * 60;
    return true;
}

/* minute/hour/day/week/month/year of a time field or an ISO 8601 string field. */
static bool time_match(const value *v, const cs_event *ev, const cs_field *f)
{
    int64_t secs;
    if (f->type == CS_T_TIME) {
        secs = floor_div(f->v.i, 1000000);
    } else if (f->type == CS_T_STR) {
        if (!parse_iso8601(cs_event_strval(ev, f), f->len, &secs)) {
            return false;
        }
    } else {
        return false;
    }
    return cmp_i64(v->op, time_part(secs, v->part), v->ival);
}

static bool bytes_eq(const unsigned char *a, const unsigned char *b, size_t n, bool cased)
{
    if (cased) {
        return memcmp(a, b, n) == 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (lc(a[i]) != lc(b[i])) {
            return false;
        }
    }
    return true;
}

/* fieldref: the field's text equals (starts with, ends with, contains) the other field's. */
static bool fref_match(const value *v, const cs_event *ev, const char *s, size_t n)
{
    const cs_field *fs = cs_event_fields(ev);
    size_t nf = cs_event_nfields(ev);
    const unsigned char *t = (const unsigned char *)s;
    for (size_t i = 0; i < nf; i++) {
        char buf[64];
        size_t rl;
        const unsigned char *r;
        if (fs[i].id != v->ref) {
            continue;
        }
        r = (const unsigned char *)cs_field_text(ev, &fs[i], buf, sizeof buf, &rl);
        if (rl > n) {
            continue;
        }
        if (!v->lead && !v->trail) {
            if (rl == n && bytes_eq(t, r, n, v->cased)) {
                return true;
            }
        } else if (!v->lead) {
            if (bytes_eq(t, r, rl, v->cased)) {
                return true;
            }
        } else if (!v->trail) {
            if (bytes_eq(t + n - rl, r, rl, v->cased)) {
                return true;
            }
        } else {
            for (size_t k = 0; k + rl <= n; k++) {
                if (bytes_eq(t + k, r, rl, v->cased)) {
                    return true;
                }
            }
        }
    }
    return false;
}

static bool value_match(const value *v, const cs_event *ev, const cs_field *f, ftext *t)
{
    switch ((enum vkind)v->kind) {
    case V_NULL:
        return false;
    case V_CIDR:
        return cidr_match(v, ev, f);
    case V_CMP:
        return cmp_match(v, ev, f);
    case V_TIME:
        return time_match(v, ev, f);
    case V_FREF:
        ftext_get(t, ev, f);
        return fref_match(v, ev, t->s, t->len);
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

static bool item_eval(const item *it, const cs_event *ev);

/* |neq: the field is present and the item (its values) does not match. */
static bool item_match(const item *it, const cs_event *ev)
{
    const cs_field *fs;
    size_t nf;
    if (!it->neq) {
        return item_eval(it, ev);
    }
    fs = cs_event_fields(ev);
    nf = cs_event_nfields(ev);
    for (size_t i = 0; i < nf; i++) {
        if (fs[i].id == it->fid) {
            return !item_eval(it, ev);
        }
    }
    return false;
}

static bool item_eval(const item *it, const cs_event *ev)
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

/* A rule's detection, less what its meta filters take out. */
static bool rule_eval(const cs_rule *r, const cs_event *ev)
{
    if (!eval(r->cond, ev)) {
        return false;
    }
    for (size_t i = 0; i < r->nfilters; i++) {
        if (eval(r->filters[i]->cond, ev)) {
            return false;
        }
    }
    return true;
}

bool cs_rule_match(const cs_rule *r, const cs_event *ev)
{
    return r != NULL && ev != NULL && rule_eval(r, ev);
}

/* ---------------------------------------------------- logsource routing -- */

/* An event's citysoc.logsource.* strings, read once per event. */
typedef struct evls {
    bool known;                /* the event carries at least one of the three */
    bool sensor;               /* none, and a packet-sensor kind (flow, dns, http, tls, ssh, file, risk, yara, stats) */
    const char *s[LS_N];       /* NULL when that one is absent */
    size_t len[LS_N];
} evls;

static void evls_read(const cs_event *ev, evls *e)
{
    const cs_field *fs = cs_event_fields(ev);
    size_t nf = cs_event_nfields(ev);
    memset(e, 0, sizeof *e);
    for (size_t i = 0; i < nf; i++) {
        int k;
        char buf[8];
        size_t len;
        const char *s;
        if (fs[i].id == CS_F_CS_LOGSOURCE_PRODUCT) {
            k = LS_PRODUCT;
        } else if (fs[i].id == CS_F_CS_LOGSOURCE_CATEGORY) {
            k = LS_CATEGORY;
        } else if (fs[i].id == CS_F_CS_LOGSOURCE_SERVICE) {
            k = LS_SERVICE;
        } else {
            continue;
        }
        if (fs[i].type != CS_T_STR || e->s[k] != NULL) {
            continue;   /* the first string wins, as cs_event_find() does */
        }
        s = cs_field_text(ev, &fs[i], buf, sizeof buf, &len);
        if (s == NULL || len == 0) {
            continue;   /* an empty string says nothing */
        }
        e->s[k] = s;
        e->len[k] = len;
        e->known = true;
    }
    e->sensor = !e->known && (ev->kind == CS_KIND_FLOW || ev->kind == CS_KIND_DNS || ev->kind == CS_KIND_HTTP ||
                              ev->kind == CS_KIND_TLS || ev->kind == CS_KIND_FILE || ev->kind == CS_KIND_RISK ||
                              ev->kind == CS_KIND_YARA || ev->kind == CS_KIND_STATS || ev->kind == CS_KIND_SSH);
}

static bool ls_eq(const char *rule_lc, size_t rl, const char *ev, size_t el)
{
    if (rl != el) {
        return false;
    }
    for (size_t i = 0; i < rl; i++) {
        if ((unsigned char)rule_lc[i] != lc((unsigned char)ev[i])) {
            return false;
        }
    }
    return true;
}

/* A packet-sensor event (no logsource, sigma.h) stands for network traffic:
 * it reaches rules that name no product and no service, and either no
 * category or a network one. */
static bool sensor_ok(const cs_rule *r)
{
    static const char *const net[] = {"network", "firewall", "dns", "proxy", "webserver"};
    const char *c = r->ls[LS_CATEGORY];
    if (r->ls[LS_PRODUCT] != NULL || r->ls[LS_SERVICE] != NULL) {
        return false;
    }
    for (size_t i = 0; c != NULL && i < sizeof net / sizeof net[0]; i++) {
        if (strcmp(c, net[i]) == 0) {
            return true;
        }
    }
    return c == NULL;
}

/* Is rule r meant for events from logsource e? (rules in sigma.h) */
static bool ls_ok(const cs_rule *r, const evls *e)
{
    if (r->ls_any) {
        return true;
    }
    if (!e->known) {
        return !e->sensor || sensor_ok(r);
    }
    for (int k = 0; k < LS_N; k++) {
        if (r->ls[k] == NULL) {
            continue;
        }
        if (e->s[k] != NULL && ls_eq(r->ls[k], r->lslen[k], e->s[k], e->len[k])) {
            continue;
        }
        if (k == LS_SERVICE && r->ls_syslog && e->s[LS_PRODUCT] != NULL &&
            ls_eq("linux", 5, e->s[LS_PRODUCT], e->len[LS_PRODUCT])) {
            continue;   /* service: syslog = any Linux syslog program */
        }
        return false;
    }
    return true;
}

bool cs_rule_applies(const cs_rule *r, const cs_event *ev)
{
    evls e;
    if (r == NULL || ev == NULL) {
        return false;
    }
    evls_read(ev, &e);
    return ls_ok(r, &e);
}

/* ------------------------------------------------------ literal prefilter -- */

/* Every rule whose detection can only be true when one of a set of literals
 * occurs in the text of some field of the event (its "witnesses") is only
 * evaluated on events where the automaton below finds one of them. A rule
 * for which no such set can be proved is evaluated on every event.
 *
 * Extraction, over the condition DAG, returns a set W with: node true =>
 * some w in W is a substring (ASCII case-insensitively) of the cs_field_text
 * of some field of the event (the very text value_match() looks at):
 * - item: not neq / exists / null, every value a string pattern (exact,
 *   prefix, suffix, contains, glob; not number- or IP-typed, not re, cidr,
 *   fieldref, lt/gt, time): each value gives its longest run of bytes
 *   between wildcards ('*' and '?'); a re value gives the set relit.c
 *   proves (any one of them occurs in whatever the regex matches);
 *   W = the union (with |all: one value's); a value without one: no set;
 * - AND: the best child set (longest shortest literal, then fewest); none
 *   when no child has one; OR: the union, none when a child has none;
 *   NOT: none.
 * A literal longer than PF_MAXLIT keeps its prefix (still a witness).
 * A rule with no such set may still need a field (node_fields): it is then
 * let through only by events that carry one of those fields.
 * Scan: Hyperscan when built in (one caseless literal database, the fields'
 * texts joined into one call), else one Aho-Corasick DFA (dense over byte
 * classes, ASCII lowercased), run over the text of every field of the event
 * that some witness came from (an item's field; message and event.original
 * for keywords; a field a parser cut from the message is skipped when the
 * message is searched); a hit marks the rules of the literal in a bitmap. There is
 * one prefilter per route (the rules of one event logsource, below) and a
 * global one for events no route serves; all are rebuilt after a load, the
 * global one by the first match (pf_get), each route on its first event. */

#define PF_MAXLIT 24
#define PF_NONE UINT32_MAX
#define PF_STACK_WORDS 1024   /* bitmap on the stack up to 65536 rules */
#define PF_FIELD 1            /* an item on this very field */
#define PF_KEYWORD 2          /* a keyword item: message, else event.original */
#define PF_PRESENT 4          /* rules without literals that need this field present */
#define PF_MAXREQ 8           /* fields in one "one of these is present" set */

typedef struct prefilter {
    size_t nrules;             /* rules [0, nrules) are covered */
    size_t nwith;              /* of which this many have witnesses */
    uint64_t *always;          /* bit i: rule i has no witnesses */
    uint8_t cls[256];          /* byte -> class of its lowercase (0: in no literal) */
    uint32_t ncls;
    uint32_t nnodes;
    uint32_t *delta;           /* nnodes * ncls */
    uint32_t *out_start, *out_len;   /* per node, into outs */
    uint32_t *dict;            /* next node (fail chain) with outputs, PF_NONE */
    uint8_t *hot;              /* node has outputs itself or through dict */
    uint32_t *outs;            /* rule indices */
    uint8_t scan[CS_FIELD_MAX];   /* PF_FIELD | PF_KEYWORD: where witnesses come from; PF_PRESENT */
    struct pf_fr *fr;          /* PF_PRESENT fields: the rules each lets through */
    size_t nfr;
    uint32_t *fr_rules;
#ifdef CS_HAVE_HYPERSCAN
    hs_database_t *hs;         /* when set, replaces the automaton above */
    uint32_t *hs_rule;         /* literal id -> rule position */
    int hs_sep;                /* a byte in no literal (joins fields into one scan), -1: none */
#endif
} prefilter;

typedef struct pf_fr {
    cs_fid fid;
    uint32_t start, len;       /* into fr_rules */
} pf_fr;

typedef struct pflit {
    const unsigned char *s;
    size_t len;
    cs_fid fid;                /* the item's field; CS_F_NONE: keyword search */
} pflit;

typedef struct litvec {
    pflit *v;
    size_t n, cap;
    bool oom;
} litvec;

static void lv_push(litvec *lv, const unsigned char *s, size_t len, cs_fid fid)
{
    if (lv->n == lv->cap) {
        size_t cap = lv->cap ? lv->cap * 2 : 16;
        pflit *p = realloc(lv->v, cap * sizeof *p);
        if (p == NULL) {
            lv->oom = true;
            return;
        }
        lv->v = p;
        lv->cap = cap;
    }
    lv->v[lv->n].s = s;
    lv->v[lv->n].len = len > PF_MAXLIT ? PF_MAXLIT : len;
    lv->v[lv->n].fid = fid;
    lv->n++;
}

static bool value_lit(const value *v, cs_fid fid, litvec *out)
{
    const unsigned char *bs = NULL;
    size_t blen = 0;
    switch ((enum vkind)v->kind) {
    case V_EXACT:
        if (v->has_num || v->has_ip) {
            return false;
        }
        break;
    case V_PREFIX:
    case V_SUFFIX:
    case V_CONTAINS:
    case V_GLOB:
        break;
    case V_RE:
        for (size_t k = 0; k < v->nrelits; k++) {
            lv_push(out, v->relit_buf + v->relits[k].off, v->relits[k].len, fid);
        }
        return v->nrelits > 0;
    default:
        return false;
    }
    /* the longest run of bytes with no '?' in any segment */
    for (size_t k = 0; k < v->nseg; k++) {
        const seg *g = &v->segs[k];
        size_t run = 0;
        for (size_t j = 0; j <= g->len; j++) {
            if (j == g->len || (g->one != NULL && g->one[j])) {
                if (run > blen) {
                    blen = run;
                    bs = g->s + j - run;
                }
                run = 0;
            } else {
                run++;
            }
        }
    }
    if (blen == 0) {
        return false;
    }
    lv_push(out, bs, blen, fid);
    return true;
}

static size_t lits_min(const litvec *lv, size_t from)
{
    size_t m = SIZE_MAX;
    for (size_t i = from; i < lv->n; i++) {
        m = lv->v[i].len < m ? lv->v[i].len : m;
    }
    return m;
}

static bool item_lits(const item *it, litvec *out)
{
    size_t mark = out->n;
    if (it->neq || it->exists || it->has_null || it->nvals == 0) {
        return false;
    }
    if (it->all) {
        /* every value must match: the one with the longest witnesses is enough */
        size_t best = SIZE_MAX, bmin = 0;
        for (size_t k = 0; k < it->nvals; k++) {
            litvec tmp = {0};
            if (value_lit(&it->vals[k], it->fid, &tmp) && !tmp.oom && lits_min(&tmp, 0) > bmin) {
                bmin = lits_min(&tmp, 0);
                best = k;
            }
            out->oom |= tmp.oom;
            free(tmp.v);
        }
        return best != SIZE_MAX && value_lit(&it->vals[best], it->fid, out);
    }
    for (size_t k = 0; k < it->nvals; k++) {
        if (!value_lit(&it->vals[k], it->fid, out)) {
            out->n = mark;
            return false;
        }
    }
    return out->n > mark;
}


static bool node_lits(const node *n, litvec *out, int depth)
{
    size_t mark = out->n;
    if (depth > CS_SIGMA_MAX_COND_DEPTH + 8 || out->oom) {
        return false;
    }
    switch ((enum nkind)n->kind) {
    case N_ITEM:
        return item_lits(n->it, out);
    case N_NOT:
        return false;
    case N_OR:
        for (size_t i = 0; i < n->n; i++) {
            if (!node_lits(n->kids[i], out, depth + 1)) {
                out->n = mark;
                return false;
            }
        }
        return n->n > 0;
    case N_AND: {
        litvec best = {0};
        bool found = false;
        for (size_t i = 0; i < n->n; i++) {
            litvec tmp = {0};
            if (node_lits(n->kids[i], &tmp, depth + 1) && !tmp.oom) {
                size_t a = lits_min(&tmp, 0);
                size_t b = found ? lits_min(&best, 0) : 0;
                if (!found || a > b || (a == b && tmp.n < best.n)) {
                    free(best.v);
                    best = tmp;
                    found = true;
                    continue;
                }
            }
            out->oom |= tmp.oom;
            free(tmp.v);
        }
        for (size_t i = 0; found && i < best.n; i++) {
            lv_push(out, best.v[i].s, best.v[i].len, best.v[i].fid);
        }
        free(best.v);
        if (out->oom) {
            out->n = mark;
            return false;
        }
        return found;
    }
    }
    return false;
}

/* Rules with no literal witness may still need a field: out gets a set of
 * fields one of which the event must carry for n to be true (an item is
 * false on an absent field unless it tests null or |exists: false). AND:
 * the smallest child set; OR: the union; NOT: none. */
static bool node_fields(const node *n, cs_fid *out, size_t *nout, int depth)
{
    *nout = 0;
    if (depth > CS_SIGMA_MAX_COND_DEPTH + 8) {
        return false;
    }
    switch ((enum nkind)n->kind) {
    case N_ITEM:
        if (n->it->has_null || (n->it->exists && !n->it->want)) {
            return false;
        }
        if (n->it->fid == CS_F_NONE) {
            out[0] = CS_F_MESSAGE;   /* keyword_fid() reads one of these */
            out[1] = CS_F_EVENT_ORIGINAL;
            *nout = 2;
        } else {
            out[0] = n->it->fid;
            *nout = 1;
        }
        return true;
    case N_NOT:
        return false;
    case N_AND: {
        bool found = false;
        for (size_t i = 0; i < n->n; i++) {
            cs_fid tmp[PF_MAXREQ];
            size_t tn;
            if (node_fields(n->kids[i], tmp, &tn, depth + 1) && (!found || tn < *nout)) {
                memcpy(out, tmp, tn * sizeof *tmp);
                *nout = tn;
                found = true;
            }
        }
        return found;
    }
    case N_OR:
        for (size_t i = 0; i < n->n; i++) {
            cs_fid tmp[PF_MAXREQ];
            size_t tn;
            if (!node_fields(n->kids[i], tmp, &tn, depth + 1)) {
                *nout = 0;
                return false;
            }
            for (size_t k = 0; k < tn; k++) {
                size_t j = 0;
                while (j < *nout && out[j] != tmp[k]) {
                    j++;
                }
                if (j == *nout) {
                    if (*nout == PF_MAXREQ) {
                        *nout = 0;
                        return false;
                    }
                    out[(*nout)++] = tmp[k];
                }
            }
        }
        return n->n > 0;
    }
    return false;
}

static void pf_free(prefilter *pf)
{
    if (pf == NULL) {
        return;
    }
    free(pf->always);
    free(pf->fr);
    free(pf->fr_rules);
    free(pf->delta);
    free(pf->out_start);
    free(pf->out_len);
    free(pf->dict);
    free(pf->hot);
    free(pf->outs);
#ifdef CS_HAVE_HYPERSCAN
    hs_free_database(pf->hs);
    free(pf->hs_rule);
#endif
    free(pf);
}

typedef struct pfpair {
    uint32_t node, rule;
} pfpair;

static int pair_cmp(const void *a, const void *b)
{
    const pfpair *x = a, *y = b;
    if (x->node != y->node) {
        return x->node < y->node ? -1 : 1;
    }
    return x->rule < y->rule ? -1 : (x->rule > y->rule);
}

#ifdef CS_HAVE_HYPERSCAN
/* Hyperscan, when built in and the CPU has what it needs, matches the same
 * literal set many times faster than the automaton (SIMD literal matchers):
 * one block-mode database per prefilter, literal k has id k, caseless,
 * reported once per scan. Scratch: rs->hs_proto grows with each database;
 * each thread clones it when rs->hs_gen says it changed. CS_PREFILTER=ac
 * in the environment keeps the automaton (benchmarks, tests). */
static atomic_uint_fast64_t g_hs_gen = 1;
static pthread_once_t g_hs_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_hs_key;
static bool g_hs_keyok;

typedef struct hs_tl {
    hs_scratch_t *s;
    uint64_t gen;
} hs_tl;

static void hs_tl_free(void *p)
{
    hs_tl *t = p;
    if (t != NULL) {
        hs_free_scratch(t->s);
        free(t);
    }
}

static void hs_key_init(void)
{
    g_hs_keyok = pthread_key_create(&g_hs_key, hs_tl_free) == 0;
}

static bool pf_hs(cs_ruleset *rs, prefilter *pf, const litvec *all, const uint32_t *lrule)
{
    const char **pat = NULL;
    size_t *lens = NULL;
    unsigned *flags = NULL, *ids = NULL;
    hs_compile_error_t *cerr = NULL;
    const char *env = getenv("CS_PREFILTER");
    bool ok = false;
    if (all->n == 0 || all->n > UINT32_MAX / 2 || (env != NULL && strcmp(env, "ac") == 0) ||
        hs_valid_platform() != HS_SUCCESS) {
        return false;
    }
    pat = malloc(all->n * sizeof *pat);
    lens = malloc(all->n * sizeof *lens);
    flags = malloc(all->n * sizeof *flags);
    ids = malloc(all->n * sizeof *ids);
    pf->hs_rule = malloc(all->n * sizeof *pf->hs_rule);
    if (pat == NULL || lens == NULL || flags == NULL || ids == NULL || pf->hs_rule == NULL) {
        goto done;
    }
    for (size_t k = 0; k < all->n; k++) {
        pat[k] = (const char *)all->v[k].s;
        lens[k] = all->v[k].len;
        flags[k] = HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH;
        ids[k] = (unsigned)k;
        pf->hs_rule[k] = lrule[k];
    }
    if (hs_compile_lit_multi(pat, flags, ids, lens, (unsigned)all->n, HS_MODE_BLOCK, NULL, &pf->hs, &cerr) !=
        HS_SUCCESS) {
        hs_free_compile_error(cerr);
        pf->hs = NULL;
        goto done;
    }
    if (hs_alloc_scratch(pf->hs, &rs->hs_proto) != HS_SUCCESS) {
        hs_free_database(pf->hs);
        pf->hs = NULL;
        goto done;
    }
    atomic_store_explicit(&rs->hs_gen, atomic_fetch_add(&g_hs_gen, 1) + 1, memory_order_release);
    ok = true;
done:
    free(pat);
    free(lens);
    free(flags);
    free(ids);
    if (!ok) {
        free(pf->hs_rule);
        pf->hs_rule = NULL;
    }
    return ok;
}

/* This thread's scratch for rs's databases; NULL when none can be had. */
static hs_scratch_t *hs_thread_scratch(cs_ruleset *rs)
{
    hs_tl *t;
    uint64_t gen = atomic_load_explicit(&rs->hs_gen, memory_order_acquire);
    (void)pthread_once(&g_hs_once, hs_key_init);
    if (!g_hs_keyok) {
        return NULL;
    }
    t = pthread_getspecific(g_hs_key);
    if (t != NULL && t->gen == gen && t->s != NULL) {
        return t->s;
    }
    if (t == NULL) {
        if ((t = calloc(1, sizeof *t)) == NULL || pthread_setspecific(g_hs_key, t) != 0) {
            free(t);
            return NULL;
        }
    }
    hs_free_scratch(t->s);
    t->s = NULL;
    pthread_mutex_lock(&rs->pf_mu);
    gen = atomic_load_explicit(&rs->hs_gen, memory_order_acquire);
    if (rs->hs_proto != NULL && hs_clone_scratch(rs->hs_proto, &t->s) != HS_SUCCESS) {
        t->s = NULL;
    }
    pthread_mutex_unlock(&rs->pf_mu);
    t->gen = gen;
    return t->s;
}

typedef struct hs_ctx {
    const prefilter *pf;
    uint64_t *hits;
} hs_ctx;

static int hs_hit(unsigned id, unsigned long long from, unsigned long long to, unsigned fl, void *ud)
{
    const hs_ctx *c = ud;
    uint32_t r = c->pf->hs_rule[id];
    (void)from;
    (void)to;
    (void)fl;
    c->hits[r / 64] |= (uint64_t)1 << (r % 64);
    return 0;
}
#endif

/* Build the prefilter for rules idx[0..n) (idx NULL: rules 0..n); the
 * automaton's outputs are positions in idx. NULL (no prefilter, every rule
 * evaluated) when memory runs out. */
static prefilter *pf_build(cs_ruleset *rs, const uint32_t *idx, size_t n)
{
    prefilter *pf = calloc(1, sizeof *pf);
    litvec all = {0};
    uint32_t *lrule = NULL;     /* rule of each literal in all */
    size_t lcap = 0, total = 1;
    pfpair *pairs = NULL, *frp = NULL;
    size_t npairs = 0, nfrp = 0, frcap = 0;
    uint32_t *fail = NULL, *queue = NULL;
    bool used[256] = {false};

    if (pf == NULL || n > UINT32_MAX / 2) {
        goto fail;
    }
    pf->nrules = n;
    if ((pf->always = calloc((n + 63) / 64 + 1, sizeof *pf->always)) == NULL) {
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        size_t mark = all.n;
        const node *cond = rs->rules[idx != NULL ? idx[i] : i]->cond;
        cs_fid req[PF_MAXREQ];
        size_t nreq = 0;
        if (!node_lits(cond, &all, 0)) {
            all.n = mark;
            if (all.oom) {
                goto fail;
            }
            if (node_fields(cond, req, &nreq, 0) && nreq > 0) {
                if (nfrp + nreq > frcap) {
                    pfpair *p = realloc(frp, (frcap = (frcap + nreq) * 2) * sizeof *p);
                    if (p == NULL) {
                        goto fail;
                    }
                    frp = p;
                }
                for (size_t k = 0; k < nreq; k++) {
                    if ((size_t)req[k] >= CS_FIELD_MAX) {
                        goto fail;
                    }
                    pf->scan[req[k]] |= PF_PRESENT;
                    frp[nfrp].node = (uint32_t)req[k];   /* (field, rule) */
                    frp[nfrp++].rule = (uint32_t)i;
                }
                pf->nwith++;
            } else {
                pf->always[i / 64] |= (uint64_t)1 << (i % 64);
            }
            continue;
        }
        if (all.oom) {
            goto fail;
        }
        pf->nwith++;
        if (all.n > lcap) {
            size_t cap = all.cap;
            uint32_t *p = realloc(lrule, cap * sizeof *p);
            if (p == NULL) {
                goto fail;
            }
            lrule = p;
            lcap = cap;
        }
        for (size_t k = mark; k < all.n; k++) {
            cs_fid f = all.v[k].fid;
            if (f == CS_F_NONE) {
                pf->scan[CS_F_MESSAGE] |= PF_KEYWORD;        /* keyword_fid() looks at one of these */
                pf->scan[CS_F_EVENT_ORIGINAL] |= PF_KEYWORD;
            } else if ((size_t)f < CS_FIELD_MAX) {
                pf->scan[f] |= PF_FIELD;
            } else {
                goto fail;
            }
            lrule[k] = (uint32_t)i;
            total += all.v[k].len;
            for (size_t j = 0; j < all.v[k].len; j++) {
                used[lc(all.v[k].s[j])] = true;
            }
        }
    }
    if (nfrp > 0) {
        qsort(frp, nfrp, sizeof *frp, pair_cmp);
        pf->fr = calloc(nfrp, sizeof *pf->fr);
        pf->fr_rules = malloc(nfrp * sizeof *pf->fr_rules);
        if (pf->fr == NULL || pf->fr_rules == NULL) {
            goto fail;
        }
        for (size_t k = 0; k < nfrp; k++) {
            if (pf->nfr == 0 || pf->fr[pf->nfr - 1].fid != (cs_fid)frp[k].node) {
                pf->fr[pf->nfr].fid = (cs_fid)frp[k].node;
                pf->fr[pf->nfr++].start = (uint32_t)k;
            }
            pf->fr[pf->nfr - 1].len++;
            pf->fr_rules[k] = frp[k].rule;
        }
    }
    free(frp);
    frp = NULL;
#ifdef CS_HAVE_HYPERSCAN
    pf->hs_sep = -1;
    for (int b = 255; b >= 0 && pf->hs_sep < 0; b--) {
        if (!used[lc((unsigned char)b)] && !used[b]) {
            pf->hs_sep = b;
        }
    }
    if (pf_hs(rs, pf, &all, lrule)) {
        free(lrule);
        free(all.v);
        return pf;
    }
#endif
    pf->ncls = 1;
    for (int b = 0; b < 256; b++) {
        if (used[b]) {
            pf->cls[b] = (uint8_t)pf->ncls++;
        }
    }
    if (pf->ncls > 255 || total > UINT32_MAX / 256 - 1) {
        goto fail;
    }
    for (int b = 0; b < 256; b++) {
        pf->cls[b] = pf->cls[lc((unsigned char)b)];
    }
    pf->delta = calloc(total * pf->ncls, sizeof *pf->delta);
    pairs = malloc((all.n + 1) * sizeof *pairs);
    if (pf->delta == NULL || pairs == NULL) {
        goto fail;
    }
    /* the trie; 0 in delta = no edge yet (no edge leads back to the root) */
    pf->nnodes = 1;
    for (size_t k = 0; k < all.n; k++) {
        uint32_t u = 0;
        for (size_t j = 0; j < all.v[k].len; j++) {
            uint32_t *d = &pf->delta[(size_t)u * pf->ncls + pf->cls[all.v[k].s[j]]];
            if (*d == 0) {
                *d = pf->nnodes++;
            }
            u = *d;
        }
        pairs[npairs].node = u;
        pairs[npairs].rule = lrule[k];
        npairs++;
    }
    qsort(pairs, npairs, sizeof *pairs, pair_cmp);
    pf->out_start = calloc(pf->nnodes, sizeof *pf->out_start);
    pf->out_len = calloc(pf->nnodes, sizeof *pf->out_len);
    pf->dict = malloc(pf->nnodes * sizeof *pf->dict);
    pf->hot = calloc(pf->nnodes, 1);
    pf->outs = malloc((npairs + 1) * sizeof *pf->outs);
    fail = calloc(pf->nnodes, sizeof *fail);
    queue = malloc(pf->nnodes * sizeof *queue);
    if (pf->out_start == NULL || pf->out_len == NULL || pf->dict == NULL || pf->hot == NULL || pf->outs == NULL ||
        fail == NULL || queue == NULL) {
        goto fail;
    }
    {
        size_t w = 0;
        for (size_t k = 0; k < npairs; k++) {
            if (k > 0 && pairs[k].node == pairs[k - 1].node && pairs[k].rule == pairs[k - 1].rule) {
                continue;
            }
            if (pf->out_len[pairs[k].node] == 0) {
                pf->out_start[pairs[k].node] = (uint32_t)w;
            }
            pf->out_len[pairs[k].node]++;
            pf->outs[w++] = pairs[k].rule;
        }
    }
    /* breadth first: failure links, dictionary links, the full DFA */
    {
        size_t head = 0, tail = 0;
        const uint32_t nc = pf->ncls;
        pf->dict[0] = PF_NONE;
        for (uint32_t c = 0; c < nc; c++) {
            uint32_t v = pf->delta[c];
            if (v != 0) {
                fail[v] = 0;
                queue[tail++] = v;
            }
        }
        while (head < tail) {
            uint32_t u = queue[head++];
            uint32_t f = fail[u];
            pf->dict[u] = pf->out_len[f] > 0 ? f : (f != 0 ? pf->dict[f] : PF_NONE);
            pf->hot[u] = pf->out_len[u] > 0 || pf->dict[u] != PF_NONE;
            for (uint32_t c = 0; c < nc; c++) {
                uint32_t *d = &pf->delta[(size_t)u * nc + c];
                uint32_t via = pf->delta[(size_t)f * nc + c];
                if (*d != 0) {
                    fail[*d] = via;
                    queue[tail++] = *d;
                } else {
                    *d = via;
                }
            }
        }
        /* class 0 (a byte in no literal) always goes back to the root: delta is 0 there */
    }
    if (getenv("CS_PF_DEBUG")) fprintf(stderr, "pf: %zu rules, %zu lits, %u nodes, %u classes, %zu KB\n", n, all.n, pf->nnodes, pf->ncls, (size_t)pf->nnodes*pf->ncls*4/1024);
    free(fail);
    free(queue);
    free(pairs);
    free(lrule);
    free(all.v);
    return pf;
fail:
    free(frp);
    free(fail);
    free(queue);
    free(pairs);
    free(lrule);
    free(all.v);
    pf_free(pf);
    return NULL;
}

/* Routing: which rules an event can match depends only on its logsource
 * (evls), and a security center sees a handful of those. The first event
 * of each logsource builds a route: the rules compatible with it and a
 * prefilter over just their literals. An sshd line then never scans for
 * web-attack strings, each automaton stays small enough to live in cache,
 * and the rules of other logsources cost nothing at all: the per-event cost
 * follows the rules that apply to the event, not the size of the rule set.
 * Routes are found without a lock (slots are published with release
 * stores); building one takes pf_mu. Past RT_SLOTS / 2 logsources, or for a
 * logsource string longer than RT_STR, matching falls back to the global
 * prefilter and ls_ok() on each rule. */
#define RT_STR 64

typedef struct route {
    uint64_t hash;
    unsigned char key[1 + LS_N * (RT_STR + 1)];
    size_t keylen;
    evls ls;                   /* its strings point into lsbuf */
    char lsbuf[LS_N][RT_STR];
    uint32_t *idx;             /* the compatible rules, ascending */
    size_t n;
    prefilter *pf;             /* over idx; NULL: evaluate all n */
} route;

static size_t route_key(const evls *e, unsigned char *key)
{
    size_t n = 0;
    key[n++] = (unsigned char)((e->known ? 1 : 0) | (e->sensor ? 2 : 0));
    for (int k = 0; k < LS_N; k++) {
        if (e->s[k] == NULL) {
            key[n++] = 0xff;
            continue;
        }
        if (e->len[k] >= RT_STR) {
            return 0;
        }
        key[n++] = (unsigned char)e->len[k];
        for (size_t j = 0; j < e->len[k]; j++) {
            key[n++] = lc((unsigned char)e->s[k][j]);
        }
    }
    return n;
}

/* Eight bytes a step: this runs for every event. */
static uint64_t route_hash(const unsigned char *k, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;
    for (; n >= 8; k += 8, n -= 8) {
        memcpy(&w, k, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    if (n > 0) {
        w = 0;
        memcpy(&w, k, n);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    }
    return h ^ (h >> 29);
}

static void route_free(route *r)
{
    if (r != NULL) {
        pf_free(r->pf);
        free(r->idx);
        free(r);
    }
}

static route *route_find(cs_ruleset *rs, const unsigned char *key, size_t kl, uint64_t h, size_t *empty)
{
    for (size_t p = 0; p < RT_SLOTS; p++) {
        size_t slot = (size_t)((h + p) % RT_SLOTS);
        route *r = atomic_load_explicit(&rs->routes[slot], memory_order_acquire);
        if (r == NULL) {
            *empty = slot;
            return NULL;
        }
        if (r->hash == h && r->keylen == kl && memcmp(r->key, key, kl) == 0) {
            return r;
        }
    }
    *empty = RT_SLOTS;
    return NULL;
}

static route *route_new(cs_ruleset *rs, const evls *e, const unsigned char *key, size_t kl, uint64_t h)
{
    route *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return NULL;
    }
    r->hash = h;
    memcpy(r->key, key, kl);
    r->keylen = kl;
    r->ls.known = e->known;
    r->ls.sensor = e->sensor;
    for (int k = 0; k < LS_N; k++) {
        if (e->s[k] != NULL) {
            memcpy(r->lsbuf[k], e->s[k], e->len[k]);
            r->ls.s[k] = r->lsbuf[k];
            r->ls.len[k] = e->len[k];
        }
    }
    if (rs->n > 0 && (r->idx = malloc(rs->n * sizeof *r->idx)) == NULL) {
        free(r);
        return NULL;
    }
    for (size_t i = 0; i < rs->n; i++) {
        if (ls_ok(rs->rules[i], &r->ls)) {
            r->idx[r->n++] = (uint32_t)i;
        }
    }
    if (getenv("CS_PF_DEBUG")) fprintf(stderr, "route %.*s/%.*s/%.*s: %zu rules\n", (int)e->len[0], e->s[0]?e->s[0]:"", (int)e->len[1], e->s[1]?e->s[1]:"", (int)e->len[2], e->s[2]?e->s[2]:"", r->n);
    if (r->n > 0 && (r->pf = pf_build(rs, r->idx, r->n)) == NULL) {
        route_free(r);
        return NULL;
    }
    return r;
}

/* The route of logsource e; NULL: use the global path. */
static const route *route_get(cs_ruleset *rs, const evls *e)
{
    unsigned char key[1 + LS_N * (RT_STR + 1)];
    size_t kl = route_key(e, key), empty;
    uint64_t h;
    route *r;
    if (kl == 0) {
        return NULL;
    }
    h = route_hash(key, kl);
    if ((r = route_find(rs, key, kl, h, &empty)) != NULL) {
        return r;
    }
    pthread_mutex_lock(&rs->pf_mu);
    r = route_find(rs, key, kl, h, &empty);
    if (r == NULL && empty < RT_SLOTS && rs->nroutes < RT_SLOTS / 2 && (r = route_new(rs, e, key, kl, h)) != NULL) {
        atomic_store_explicit(&rs->routes[empty], r, memory_order_release);
        rs->nroutes++;
    }
    pthread_mutex_unlock(&rs->pf_mu);
    return r;
}

/* Drop every route (rules changed); no matcher runs meanwhile (sigma.h). */
static void routes_clear(cs_ruleset *rs)
{
    for (size_t i = 0; i < RT_SLOTS; i++) {
        route_free(atomic_load_explicit(&rs->routes[i], memory_order_relaxed));
        atomic_store_explicit(&rs->routes[i], NULL, memory_order_relaxed);
    }
    rs->nroutes = 0;
}

/* Loading marks the prefilter stale; the first match (or
 * cs_ruleset_prefiltered) after it rebuilds it once, so loading n files one
 * by one costs one build, not n. Loading never runs alongside matching
 * (sigma.h), so only matchers race here, and the mutex settles that. */
static void pf_stale(cs_ruleset *rs)
{
    atomic_store_explicit(&rs->pf_dirty, true, memory_order_release);
}

static const prefilter *pf_get(const cs_ruleset *crs)
{
    cs_ruleset *rs = (cs_ruleset *)crs;   /* the ruleset is never defined const */
    if (atomic_load_explicit(&rs->pf_dirty, memory_order_acquire)) {
        pthread_mutex_lock(&rs->pf_mu);
        if (atomic_load_explicit(&rs->pf_dirty, memory_order_acquire)) {
            pf_free(rs->pf);
            routes_clear(rs);
            rs->pf = pf_build(rs, NULL, rs->n);
            atomic_store_explicit(&rs->pf_dirty, false, memory_order_release);
        }
        pthread_mutex_unlock(&rs->pf_mu);
    }
    return rs->pf;
}

/* Mark the rules that need field fid, which the event has. */
static void pf_present(const prefilter *pf, cs_fid fid, uint64_t *hits)
{
    for (size_t k = 0; k < pf->nfr; k++) {
        if (pf->fr[k].fid == fid) {
            for (uint32_t j = 0; j < pf->fr[k].len; j++) {
                uint32_t r = pf->fr_rules[pf->fr[k].start + j];
                hits[r / 64] |= (uint64_t)1 << (r % 64);
            }
            return;
        }
    }
}

/* The texts of one event on their way through the automaton or Hyperscan. */
typedef struct pfscan {
    const prefilter *pf;
    uint64_t *hits;
    void *scratch;
#ifdef CS_HAVE_HYPERSCAN
    hs_ctx hc;
    const unsigned char *one;  /* a lone text, scanned in place */
    size_t onelen, jlen;
    char join[2048];
#endif
} pfscan;

/* One text; stable: it outlives the scan (not in the caller's buffer). */
static bool pf_text(pfscan *st, const unsigned char *t, size_t len, bool stable)
{
    const prefilter *pf = st->pf;
    uint32_t u = 0;
#ifdef CS_HAVE_HYPERSCAN
    if (pf->hs != NULL) {
        /* small texts are joined (one scan call instead of one per field:
         * the call, not the bytes, is what costs); a literal cannot
         * straddle the separator, which is in none of them */
        if (pf->hs_sep >= 0 && st->jlen + (st->one != NULL ? st->onelen + 1 : 0) + len + 1 <= sizeof st->join) {
            if (st->jlen == 0 && st->one == NULL && stable) {
                st->one = t;
                st->onelen = len;
                return true;
            }
            if (st->one != NULL) {
                memcpy(st->join, st->one, st->onelen);
                st->jlen = st->onelen;
                st->join[st->jlen++] = (char)pf->hs_sep;
                st->one = NULL;
            }
            memcpy(st->join + st->jlen, t, len);
            st->jlen += len;
            st->join[st->jlen++] = (char)pf->hs_sep;
            return true;
        }
        return st->scratch != NULL && len <= UINT32_MAX &&
               hs_scan(pf->hs, (const char *)t, (unsigned)len, 0, st->scratch, hs_hit, &st->hc) == HS_SUCCESS;
    }
#endif
    for (size_t j = 0; j < len; j++) {
        u = pf->delta[(size_t)u * pf->ncls + pf->cls[t[j]]];
        if (pf->hot[u]) {
            for (uint32_t x = u; x != PF_NONE; x = pf->dict[x]) {
                const uint32_t *o = pf->outs + pf->out_start[x];
                for (uint32_t k = 0; k < pf->out_len[x]; k++) {
                    st->hits[o[k] / 64] |= (uint64_t)1 << (o[k] % 64);
                }
            }
        }
    }
    return true;
}

static bool pf_field(pfscan *st, const cs_event *ev, const cs_field *f)
{
    char buf[64];
    size_t len;
    const unsigned char *t = (const unsigned char *)cs_field_text(ev, f, buf, sizeof buf, &len);
    return t == NULL || pf_text(st, t, len, t != (const unsigned char *)buf);
}

#define PF_DEFER 32   /* fields held back because their text is in the message */

/* Mark in hits the rules with a witness in ev; false when the scan could not
 * run (no Hyperscan scratch): the caller then evaluates every rule. A field
 * a parser cut from the message (CS_FIELD_IN_MESSAGE) is searched only when
 * the message itself was not: its literals would be found there anyway. */
static bool pf_scan(const prefilter *pf, const cs_event *ev, uint64_t *hits, void *scratch)
{
    const cs_field *fs = cs_event_fields(ev);
    size_t nf = cs_event_nfields(ev), ndefer = 0;
    const cs_field *defer[PF_DEFER];
    bool msg_done = false;
    /* event.original wanted for keywords only: skipped when the event has a
     * message, which is what keyword search then reads (keyword_fid) */
    bool skip_orig = (pf->scan[CS_F_EVENT_ORIGINAL] & (PF_FIELD | PF_KEYWORD)) == PF_KEYWORD &&
                     keyword_fid(ev) == CS_F_MESSAGE;
    pfscan st;
    st.pf = pf;
    st.hits = hits;
    st.scratch = scratch;
#ifdef CS_HAVE_HYPERSCAN
    st.hc.pf = pf;
    st.hc.hits = hits;
    st.one = NULL;
    st.onelen = st.jlen = 0;
#endif
    for (size_t i = 0; i < nf; i++) {
        const cs_field *f = &fs[i];
        if ((size_t)f->id >= CS_FIELD_MAX || !pf->scan[f->id]) {
            continue;   /* no witness can come from this field */
        }
        if (pf->scan[f->id] & PF_PRESENT) {
            pf_present(pf, f->id, hits);
        }
        if (!(pf->scan[f->id] & (PF_FIELD | PF_KEYWORD)) || (skip_orig && f->id == CS_F_EVENT_ORIGINAL)) {
            continue;
        }
        if ((f->flags & CS_FIELD_IN_MESSAGE) && f->type == CS_T_STR && ndefer < PF_DEFER) {
            defer[ndefer++] = f;
            continue;
        }
        if (!pf_field(&st, ev, f)) {
            return false;
        }
        msg_done |= f->id == CS_F_MESSAGE;
    }
    for (size_t i = 0; !msg_done && i < ndefer; i++) {
        if (!pf_field(&st, ev, defer[i])) {
            return false;
        }
    }
#ifdef CS_HAVE_HYPERSCAN
    if (pf->hs != NULL && st.one != NULL &&
        (scratch == NULL || hs_scan(pf->hs, (const char *)st.one, (unsigned)st.onelen, 0, scratch, hs_hit, &st.hc) !=
                                HS_SUCCESS)) {
        return false;
    }
    if (pf->hs != NULL && st.jlen > 0 &&
        (scratch == NULL || hs_scan(pf->hs, st.join, (unsigned)st.jlen, 0, scratch, hs_hit, &st.hc) != HS_SUCCESS)) {
        return false;
    }
#endif
    return true;
}

/* The Hyperscan scratch pf_scan() needs on this thread (NULL for the automaton). */
static void *pf_scratch(const cs_ruleset *rs, const prefilter *pf)
{
#ifdef CS_HAVE_HYPERSCAN
    if (pf->hs != NULL) {
        return hs_thread_scratch((cs_ruleset *)rs);
    }
#endif
    (void)rs;
    (void)pf;
    return NULL;
}

void cs_ruleset_set_prefilter(cs_ruleset *rs, bool on)
{
    if (rs != NULL) {
        rs->pf_off = !on;
    }
}

size_t cs_ruleset_prefiltered(const cs_ruleset *rs)
{
    const prefilter *pf = rs != NULL ? pf_get(rs) : NULL;
    return pf != NULL ? pf->nwith : 0;
}

/* Evaluate the rules of route rt that the prefilter lets through. */
static size_t match_route(const cs_ruleset *rs, const route *rt, const cs_event *ev, uint64_t *bits,
                          cs_rule_match_cb cb, void *ud)
{
    size_t hits = 0, words = (rt->n + 63) / 64;
    memset(bits, 0, (words + 1) * sizeof *bits);
    if (!pf_scan(rt->pf, ev, bits, pf_scratch(rs, rt->pf))) {
        memset(bits, 0xff, (words + 1) * sizeof *bits);   /* evaluate them all */
    }
    for (size_t w = 0; w < words; w++) {
        uint64_t m = bits[w] | rt->pf->always[w];
        while (m != 0) {
            size_t i = w * 64 + (size_t)__builtin_ctzll(m);
            const cs_rule *r;
            m &= m - 1;
            if (i >= rt->n) {
                break;
            }
            r = rs->rules[rt->idx[i]];
            if (rule_eval(r, ev)) {
                hits++;
                if (cb != NULL) {
                    cb(r, ev, ud);
                }
            }
        }
    }
    return hits;
}

size_t cs_ruleset_match(const cs_ruleset *rs, const cs_event *ev, cs_rule_match_cb cb, void *ud)
{
    size_t hits = 0;
    evls e;
    uint64_t stackbits[PF_STACK_WORDS];
    uint64_t *bits = NULL;
    const prefilter *pf;
    const route *rt;
    if (rs == NULL || ev == NULL) {
        return 0;
    }
    pf = rs->pf_off ? NULL : pf_get(rs);
    evls_read(ev, &e);
    if (pf != NULL && (rt = route_get((cs_ruleset *)rs, &e)) != NULL) {
        if (rt->n == 0) {
            return 0;   /* no rule for this logsource */
        }
        if ((rt->n + 63) / 64 + 1 <= PF_STACK_WORDS) {
            return match_route(rs, rt, ev, stackbits, cb, ud);
        }
        if ((bits = malloc(((rt->n + 63) / 64 + 1) * sizeof *bits)) != NULL) {
            hits = match_route(rs, rt, ev, bits, cb, ud);
            free(bits);
            return hits;
        }
    }
    if (pf != NULL) {
        size_t words = (pf->nrules + 63) / 64 + 1;
        bits = words <= PF_STACK_WORDS ? stackbits : calloc(words, sizeof *bits);
        if (bits == NULL) {
            pf = NULL;   /* no memory: evaluate every rule */
        } else {
            memset(bits, 0, words * sizeof *bits);
            if (!pf_scan(pf, ev, bits, pf_scratch(rs, pf))) {
                pf = NULL;   /* evaluate every rule */
            }
        }
    }
    for (size_t i = 0; i < rs->n; i++) {
        if (pf != NULL && i < pf->nrules && ((bits[i / 64] | pf->always[i / 64]) >> (i % 64) & 1) == 0) {
            continue;   /* none of its witnesses occurs in ev */
        }
        if (ls_ok(rs->rules[i], &e) && rule_eval(rs->rules[i], ev)) {
            hits++;
            if (cb != NULL) {
                cb(rs->rules[i], ev, ud);
            }
        }
    }
    if (bits != NULL && bits != stackbits) {
        free(bits);
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
    bool neq, windash, expand, fieldref, base64, base64off;
    uint8_t utf16;             /* 0 none, 1 utf16le/wide, 2 utf16be, 3 utf16 (BOM + LE) */
    uint8_t op;                /* enum cmpop: lt lte gt gte (OP_EQ: none) */
    uint8_t part;              /* enum tpart */
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

/* Every Sigma v2.1 modifier is supported; the list stays for future ones. */
static const char *const unsupported_mods[] = {
    NULL,
};

static const char *const part_names[] = {"", "minute", "hour", "day", "week", "month", "year", NULL};
static const char *const op_names[] = {"", "lt", "lte", "gt", "gte", NULL};

/* Index of the word in a NULL-terminated list, or -1. */
static int lookup(const char *const *list, const char *s, size_t len)
{
    for (int i = 0; list[i] != NULL; i++) {
        if (word_is(s, len, list[i])) {
            return i;
        }
    }
    return -1;
}

/* The event field a rule's Sigma field name stands for: the first mapping (in
 * load order) whose logsource the rule's is compatible with; else the name. */
static cs_fid map_field(const cctx *c, const char *name, size_t len)
{
    const cs_ruleset *rs = c->rs;
    for (size_t i = 0; i < rs->nmaps; i++) {
        const fmap *fm = &rs->maps[i];
        bool ok = strlen(fm->from) == len && memcmp(fm->from, name, len) == 0;
        for (int k = 0; ok && k < 3; k++) {
            ok = fm->ls[k] == NULL || (c->rule->ls[k] != NULL && strcmp(fm->ls[k], c->rule->ls[k]) == 0);
        }
        if (ok) {
            return cs_field_intern(fm->to, strlen(fm->to));
        }
    }
    return cs_field_intern(name, len);
}

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
        *fid = map_field(c, k, flen);
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
        } else if (word_is(mod, ml, "neq")) {
            m->neq = true;
        } else if (word_is(mod, ml, "windash")) {
            m->windash = true;
        } else if (word_is(mod, ml, "expand")) {
            m->expand = true;
        } else if (word_is(mod, ml, "fieldref")) {
            m->fieldref = true;
        } else if (word_is(mod, ml, "base64") || word_is(mod, ml, "base64offset")) {
            if (m->base64 || m->base64off) {
                return rule_err(c, key->line, "only one of base64 and base64offset may be used (in '%s')", k);
            }
            if (ml == 6) {
                m->base64 = true;
            } else {
                m->base64off = true;
            }
        } else if (word_is(mod, ml, "utf16le") || word_is(mod, ml, "wide") || word_is(mod, ml, "utf16be") ||
                   word_is(mod, ml, "utf16")) {
            if (m->utf16 != 0) {
                return rule_err(c, key->line, "only one of utf16le, wide, utf16be and utf16 may be used (in '%s')", k);
            }
            if (m->base64 || m->base64off) {
                return rule_err(c, key->line, "'%.*s' must come before base64/base64offset (in '%s')", (int)ml, mod, k);
            }
            m->utf16 = word_is(mod, ml, "utf16be") ? 2 : word_is(mod, ml, "utf16") ? 3 : 1;
        } else if (lookup(op_names, mod, ml) > 0) {
            if (m->op != OP_EQ) {
                return rule_err(c, key->line, "only one of lt, lte, gt and gte may be used (in '%s')", k);
            }
            m->op = (uint8_t)lookup(op_names, mod, ml);
        } else if (lookup(part_names, mod, ml) > 0) {
            if (m->part != TP_NONE) {
                return rule_err(c, key->line, "only one of minute, hour, day, week, month and year may be used (in '%s')", k);
            }
            m->part = (uint8_t)lookup(part_names, mod, ml);
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
    {
        bool enc = m->utf16 != 0 || m->base64 || m->base64off;
        bool str = m->contains || m->startswith || m->endswith || m->cased;
        bool xform = enc || m->windash || m->expand;
        if ((m->neq || m->fieldref || m->op != OP_EQ || m->part != TP_NONE) && *fid == CS_F_NONE) {
            return rule_err(c, key->line, "neq, fieldref, lt, lte, gt, gte and the time modifiers need a field name (in '%s')",
                            k);
        }
        if ((m->re || m->cidr) && xform) {
            return rule_err(c, key->line,
                            "'%s' cannot be combined with windash, expand, base64, base64offset or utf16 (in '%s')",
                            m->re ? "re" : "cidr", k);
        }
        if ((m->op != OP_EQ || m->part != TP_NONE) && (str || xform || m->re || m->cidr || m->fieldref)) {
            return rule_err(c, key->line, "'%s' compares numbers and takes no string, regex, cidr, encoding or fieldref "
                            "modifier (in '%s')", m->part != TP_NONE ? part_names[m->part] : op_names[m->op], k);
        }
        if (m->fieldref && (xform || m->re || m->cidr)) {
            return rule_err(c, key->line, "'fieldref' takes only contains, startswith, endswith, cased, all and neq (in '%s')",
                            k);
        }
        if (m->neq && m->all) {
            return rule_err(c, key->line, "'neq' cannot be combined with 'all' (in '%s')", k);
        }
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
    {
        unsigned char *buf = c_alloc(c, n->len + 1);
        cs_relit *rl = c_alloc(c, CS_RELIT_MAX * sizeof *rl);
        if (buf == NULL || rl == NULL) {
            return nomem(c);
        }
        v->nrelits = cs_relit_extract(n->str, n->len, m->re_i, buf, rl);
        v->relit_buf = buf;
        v->relits = rl;
    }
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

/* ----------------------------------------------- value transformations -- */

/* Strings a value turns into under expand, windash and the encodings: raw
 * Sigma strings (escapes intact), OR-ed. */
typedef struct svec {
    const char **s;
    size_t *len;
    size_t n;
    size_t cap;
} svec;

typedef struct xctx {
    cctx *c;
    const char *key;
    int line;
} xctx;

static cs_rc svec_push(const xctx *x, svec *v, const char *s, size_t len)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        const char **ns = c_alloc(x->c, cap * sizeof *ns);
        size_t *nl = c_alloc(x->c, cap * sizeof *nl);
        if (ns == NULL || nl == NULL) {
            return nomem(x->c);
        }
        if (v->n > 0) {
            memcpy(ns, v->s, v->n * sizeof *ns);
            memcpy(nl, v->len, v->n * sizeof *nl);
        }
        v->s = ns;
        v->len = nl;
        v->cap = cap;
    }
    if (v->n >= CS_SIGMA_MAX_VALUES) {
        return rule_err(x->c, x->line, "'%s' expands to more than %d values", x->key, CS_SIGMA_MAX_VALUES);
    }
    v->s[v->n] = s;
    v->len[v->n] = len;
    v->n++;
    return CS_OK;
}

static bool ph_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

static const placeholder *find_placeholder(const cs_ruleset *rs, const char *name, size_t len)
{
    for (size_t i = 0; i < rs->nph; i++) {
        if (strlen(rs->ph[i].name) == len && memcmp(rs->ph[i].name, name, len) == 0) {
            return &rs->ph[i];
        }
    }
    return NULL;
}

/* |expand: each %name% (name: letters, digits, '_') from `from` on becomes each of its values. */
static cs_rc expand_ph(const xctx *x, const char *s, size_t len, size_t from, svec *out)
{
    for (size_t i = from; i < len; i++) {
        size_t j = i + 1;
        const placeholder *ph;
        if (s[i] != '%') {
            continue;
        }
        while (j < len && ph_char(s[j])) {
            j++;
        }
        if (j == i + 1 || j >= len || s[j] != '%') {
            continue;
        }
        ph = find_placeholder(x->c->rs, s + i + 1, j - i - 1);
        if (ph == NULL) {
            return rule_err(x->c, x->line, "unknown placeholder '%.*s' in field '%s': give it values under "
                            "rule_placeholders in the configuration (and pass -c CONFIG to citysoc rules)",
                            (int)(j - i + 1), s + i, x->key);
        }
        for (size_t k = 0; k < ph->n; k++) {
            size_t vl = strlen(ph->vals[k]);
            size_t nl = i + vl + (len - j - 1);
            char *ns = c_alloc(x->c, nl + 1);
            cs_rc rc;
            if (ns == NULL) {
                return nomem(x->c);
            }
            memcpy(ns, s, i);
            memcpy(ns + i, ph->vals[k], vl);
            memcpy(ns + i + vl, s + j + 1, len - j - 1);
            if ((rc = expand_ph(x, ns, nl, i + vl, out)) != CS_OK) {
                return rc;
            }
        }
        return CS_OK;
    }
    return svec_push(x, out, s, len);
}

static bool word_char(unsigned char ch)
{
    return ph_char((char)ch) || ch >= 0x80;
}

/* |windash: every '-' or '/' matching pySigma's \B[-/]\b becomes each of
 * - / en-dash em-dash horizontal-bar, in all combinations. */
static cs_rc windash(const xctx *x, const char *s, size_t len, svec *out)
{
    static const char *const dash[] = {"-", "/", "\xe2\x80\x93", "\xe2\x80\x94", "\xe2\x80\x95"};
    size_t pos[8];
    size_t k = 0;
    size_t total = 1;
    for (size_t i = 0; i < len; i++) {
        if ((s[i] == '-' || s[i] == '/') && (i == 0 || !word_char((unsigned char)s[i - 1])) && i + 1 < len &&
            word_char((unsigned char)s[i + 1])) {
            if (k == 5) {
                return rule_err(x->c, x->line, "'%s' has more than 5 options for windash (5^n variants)", x->key);
            }
            pos[k++] = i;
            total *= 5;
        }
    }
    for (size_t combo = 0; combo < total; combo++) {
        char *ns = c_alloc(x->c, len + 2 * k + 1);
        size_t n = 0;
        size_t digit = combo;
        size_t p = 0;
        cs_rc rc;
        if (ns == NULL) {
            return nomem(x->c);
        }
        for (size_t i = 0; i < len; i++) {
            if (p < k && pos[p] == i) {
                const char *d = dash[digit % 5];
                digit /= 5;
                p++;
                memcpy(ns + n, d, strlen(d));
                n += strlen(d);
            } else {
                ns[n++] = s[i];
            }
        }
        if ((rc = svec_push(x, out, ns, n)) != CS_OK) {
            return rc;
        }
    }
    return CS_OK;
}

static size_t b64(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)in[i] << 16;
        if (i + 1 < n) {
            w |= (uint32_t)in[i + 1] << 8;
        }
        if (i + 2 < n) {
            w |= in[i + 2];
        }
        out[o++] = tab[(w >> 18) & 63];
        out[o++] = tab[(w >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(w >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[w & 63] : '=';
    }
    return o;
}

/* One UTF-8 code point at s (an invalid byte stands for itself). */
static uint32_t utf8_next(const unsigned char *s, size_t n, size_t *i)
{
    unsigned char ch = s[*i];
    size_t need = ch >= 0xf0 && ch < 0xf5 ? 3 : ch >= 0xe0 && ch < 0xf0 ? 2 : ch >= 0xc2 && ch < 0xe0 ? 1 : 0;
    uint32_t cp = need == 3 ? ch & 7u : need == 2 ? ch & 15u : ch & 31u;
    if (need == 0 || *i + need >= n) {
        (*i)++;
        return ch;
    }
    for (size_t k = 1; k <= need; k++) {
        if ((s[*i + k] & 0xc0) != 0x80) {
            (*i)++;
            return ch;
        }
        cp = (cp << 6) | (s[*i + k] & 0x3fu);
    }
    *i += need + 1;
    return cp;
}

/* utf16*, then base64 / base64offset, of the unescaped value; the results are
 * escaped again for compile_pattern. Wildcards are refused: an encoded
 * wildcard means nothing. */
static cs_rc encode(const xctx *x, const mods *m, const char *s, size_t len, svec *out)
{
    unsigned char *raw = c_alloc(x->c, len * 4 + 8);
    size_t rn = 0;
    unsigned char *bytes;
    size_t bn = 0;
    if (raw == NULL) {
        return nomem(x->c);
    }
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == '\\' && i + 1 < len && (s[i + 1] == '*' || s[i + 1] == '?' || s[i + 1] == '\\')) {
            raw[rn++] = (unsigned char)s[++i];
        } else if (ch == '*' || ch == '?') {
            return rule_err(x->c, x->line, "'%s' has a wildcard in '%.60s': base64, base64offset and utf16 take none",
                            x->key, s);
        } else {
            raw[rn++] = (unsigned char)ch;
        }
    }
    bytes = raw;
    bn = rn;
    if (m->utf16 != 0) {
        bytes = c_alloc(x->c, rn * 4 + 4);
        if (bytes == NULL) {
            return nomem(x->c);
        }
        bn = 0;
        if (m->utf16 == 3) {
            bytes[bn++] = 0xff;
            bytes[bn++] = 0xfe;
        }
        for (size_t i = 0; i < rn;) {
            uint32_t cp = utf8_next(raw, rn, &i);
            uint16_t units[2];
            size_t nu = 1;
            units[0] = (uint16_t)cp;
            if (cp > 0xffff) {
                cp -= 0x10000;
                units[0] = (uint16_t)(0xd800 + (cp >> 10));
                units[1] = (uint16_t)(0xdc00 + (cp & 0x3ff));
                nu = 2;
            }
            for (size_t u = 0; u < nu; u++) {
                unsigned char lo = (unsigned char)(units[u] & 0xff);
                unsigned char hi = (unsigned char)(units[u] >> 8);
                bytes[bn++] = m->utf16 == 2 ? hi : lo;
                bytes[bn++] = m->utf16 == 2 ? lo : hi;
            }
        }
    }
    if (m->base64 || m->base64off) {
        /* pySigma: for i in 0..2, b64(i spaces + value)[(0,2,3)[i] : (None,-3,-2)[(len+i)%3]] */
        static const size_t start[3] = {0, 2, 3};
        static const size_t cut[3] = {0, 3, 2};
        size_t nvar = m->base64 ? 1 : 3;
        unsigned char *pad = c_alloc(x->c, bn + 3);
        if (pad == NULL) {
            return nomem(x->c);
        }
        for (size_t i = 0; i < nvar; i++) {
            char *enc = c_alloc(x->c, (bn + 2) / 3 * 4 + 8);
            size_t el;
            size_t from = m->base64 ? 0 : start[i];
            size_t to;
            cs_rc rc;
            if (enc == NULL) {
                return nomem(x->c);
            }
            memset(pad, ' ', i);
            if (bn > 0) {
                memcpy(pad + i, bytes, bn);
            }
            el = b64(pad, bn + i, enc);
            to = m->base64 ? el : el - cut[(bn + i) % 3];
            if (to <= from) {
                continue;   /* too short a value leaves nothing of this variant */
            }
            if ((rc = svec_push(x, out, enc + from, to - from)) != CS_OK) {
                return rc;
            }
        }
        return CS_OK;
    }
    /* utf16 only: escape \ * ? (and keep NULs) for compile_pattern */
    {
        char *esc = c_alloc(x->c, bn * 2 + 1);
        size_t en = 0;
        if (esc == NULL) {
            return nomem(x->c);
        }
        for (size_t i = 0; i < bn; i++) {
            if (bytes[i] == '\\' || bytes[i] == '*' || bytes[i] == '?') {
                esc[en++] = '\\';
            }
            esc[en++] = (char)bytes[i];
        }
        return svec_push(x, out, esc, en);
    }
}

/* The raw strings one YAML value stands for under expand, windash, encodings. */
static cs_rc transform(const xctx *x, const mods *m, const cs_yaml_node *n, svec *out)
{
    svec a = {0};
    svec b = {0};
    cs_rc rc;
    if (m->expand) {
        rc = expand_ph(x, n->str, n->len, 0, &a);
    } else {
        rc = svec_push(x, &a, n->str, n->len);
    }
    if (rc != CS_OK) {
        return rc;
    }
    if (m->windash) {
        for (size_t i = 0; i < a.n; i++) {
            if ((rc = windash(x, a.s[i], a.len[i], &b)) != CS_OK) {
                return rc;
            }
        }
        a = b;
    }
    for (size_t i = 0; i < a.n; i++) {
        if (m->utf16 != 0 || m->base64 || m->base64off) {
            rc = encode(x, m, a.s[i], a.len[i], out);
        } else {
            rc = svec_push(x, out, a.s[i], a.len[i]);
        }
        if (rc != CS_OK) {
            return rc;
        }
    }
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
        if (m->re || m->cidr || m->contains || m->startswith || m->endswith || m->cased || m->windash || m->expand ||
            m->fieldref || m->base64 || m->base64off || m->utf16 != 0 || m->op != OP_EQ || m->part != TP_NONE) {
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
    if (m->fieldref) {
        v->ref = map_field(c, n->str, n->len);
        if (n->len == 0 || v->ref == CS_F_NONE) {
            return rule_err(c, n->line, "'%s' refers to a bad field name '%.60s'", key, n->str);
        }
        v->kind = V_FREF;
        v->cased = m->cased;
        v->lead = m->contains || m->endswith;
        v->trail = m->contains || m->startswith;
        return CS_OK;
    }
    if (m->op != OP_EQ || m->part != TP_NONE) {
        parse_number(v, (const unsigned char *)n->str, n->len);
        if (!v->has_num || (m->part != TP_NONE && !v->has_int)) {
            return rule_err(c, n->line, "'%s' needs a %s, not '%.60s'", key, m->part != TP_NONE ? "whole number" : "number",
                            n->str);
        }
        v->kind = m->part != TP_NONE ? V_TIME : V_CMP;
        v->op = m->op;
        v->part = m->part;
        return CS_OK;
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
    if (m->all && val->type == CS_YAML_SEQ && val->n > 1 && (m->windash || m->expand || m->base64off)) {
        /* |all over values that each stand for several alternatives: AND of one item per value */
        mods one = *m;
        nvec nvv = {0};
        one.all = false;
        for (size_t i = 0; i < val->n; i++) {
            const node *x = NULL;
            if ((rc = compile_item(c, key, line, fid, &one, val->items[i], &x)) != CS_OK ||
                (rc = nvec_push(c, &nvv, x)) != CS_OK) {
                return rc;
            }
        }
        return nvec_node(c, N_AND, &nvv, out);
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
        if (m->windash || m->expand || m->base64 || m->base64off || m->utf16 != 0) {
            /* each YAML value may stand for several strings (OR-ed) */
            xctx x = {c, key, line};
            svec sv = {0};
            bool keyword = fid == CS_F_NONE;
            for (size_t i = 0; i < nv; i++) {
                const cs_yaml_node *e = val->type == CS_YAML_SEQ ? val->items[i] : val;
                if (e->type != CS_YAML_SCALAR || cs_yaml_is_null(e)) {
                    value tmp;
                    memset(&tmp, 0, sizeof tmp);
                    return compile_value(c, key, e, m, keyword, &tmp);   /* refuses it */
                }
                if ((rc = transform(&x, m, e, &sv)) != CS_OK) {
                    return rc;
                }
            }
            if (sv.n == 0) {
                return rule_err(c, line, "'%s' has no value left after its modifiers", key);
            }
            if ((vals = c_alloc(c, sv.n * sizeof *vals)) == NULL) {
                return nomem(c);
            }
            for (size_t i = 0; i < sv.n; i++) {
                rc = compile_pattern(c, sv.s[i], sv.len[i], m->cased, keyword || m->contains || m->endswith,
                                     keyword || m->contains || m->startswith, &vals[i]);
                if (rc != CS_OK) {
                    return rc;
                }
            }
            nv = sv.n;
        } else {
            if ((vals = c_alloc(c, nv * sizeof *vals)) == NULL) {
                return nomem(c);
            }
            for (size_t i = 0; i < nv; i++) {
                rc = compile_value(c, key, val->type == CS_YAML_SEQ ? val->items[i] : val, m, fid == CS_F_NONE,
                                   &vals[i]);
                if (rc != CS_OK) {
                    return rc;
                }
                if (vals[i].kind == V_NULL) {
                    it->has_null = true;
                }
            }
        }
        it->vals = vals;
        it->nvals = nv;
        it->neq = m->neq;
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
        if (cs_yaml_scalar_eq(k, "condition") || cs_yaml_scalar_eq(k, "timeframe") ||
            (c->rule->is_filter && cs_yaml_scalar_eq(k, "rules"))) {
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

static uint64_t str_hash(uint64_t h, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    }
    return (h ^ 0xff) * 1099511628211ULL;   /* NULL, "" and "a" + "" differ */
}

/* What besides its own text a compiled rule depends on. */
static uint64_t context_hash(const cs_ruleset *rs)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < rs->nmaps; i++) {
        for (int k = 0; k < 3; k++) {
            h = str_hash(h, rs->maps[i].ls[k]);
        }
        h = str_hash(str_hash(h, rs->maps[i].from), rs->maps[i].to);
    }
    for (size_t i = 0; i < rs->nph; i++) {
        h = str_hash(h, rs->ph[i].name);
        for (size_t k = 0; k < rs->ph[i].n; k++) {
            h = str_hash(h, rs->ph[i].vals[k]);
        }
    }
    return h;
}

/* A filter document's `filter.rules`: the ids or names it applies to. */
static cs_rc filter_targets(cctx *c, const cs_yaml_node *flt, int line)
{
    const cs_yaml_node *rules = flt != NULL && flt->type == CS_YAML_MAP ? cs_yaml_get(flt, "rules") : NULL;
    cs_rule *r = c->rule;
    if (rules == NULL || rules->type != CS_YAML_SEQ || rules->n == 0) {
        return rule_err(c, rules != NULL ? rules->line : line,
                        "a filter needs 'rules': the list of rule ids or names it applies to");
    }
    if ((r->targets = c_alloc(c, rules->n * sizeof *r->targets)) == NULL) {
        return nomem(c);
    }
    for (size_t i = 0; i < rules->n; i++) {
        const cs_yaml_node *t = rules->items[i];
        if (t->type != CS_YAML_SCALAR || t->len == 0) {
            return rule_err(c, t->line, "filter 'rules' entries must be rule ids or names");
        }
        if ((r->targets[i] = arena_strndup(&r->mem, t->str, t->len)) == NULL) {
            return nomem(c);
        }
    }
    r->ntargets = rules->n;
    return CS_OK;
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
    in->fingerprint = cs_yaml_hash(doc) ^ context_hash(rs);
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
    {
        const char *const src[LS_N] = {in->product, in->category, in->service};
        for (int k = 0; k < LS_N; k++) {
            size_t len = strlen(src[k]);
            char *d;
            if (len == 0) {
                continue;
            }
            if ((d = arena_strndup(&r->mem, src[k], len)) == NULL) {
                rc = nomem(&c);
                goto fail;
            }
            for (size_t i = 0; i < len; i++) {
                d[i] = (char)lc((unsigned char)d[i]);
            }
            r->ls[k] = d;
            r->lslen[k] = len;
        }
        r->ls_syslog = r->ls[LS_SERVICE] != NULL && strcmp(r->ls[LS_SERVICE], "syslog") == 0;
        r->ls_any = r->ls[LS_PRODUCT] != NULL && strcmp(r->ls[LS_PRODUCT], "citysoc") == 0;
    }
    /* a meta filter (sigma-filters-specification): compiled like a detection */
    r->is_filter = cs_yaml_get(doc, "detection") == NULL && cs_yaml_get(doc, "filter") != NULL;
    if (r->is_filter && (rc = filter_targets(&c, cs_yaml_get(doc, "filter"), key_line(doc, "filter"))) != CS_OK) {
        goto fail;
    }
    if ((rc = compile_detection(&c, cs_yaml_get(doc, r->is_filter ? "filter" : "detection"),
                                key_line(doc, r->is_filter ? "filter" : "detection"))) != CS_OK) {
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

static bool targets(const cs_rule *flt, const cs_rule *r)
{
    for (size_t i = 0; i < flt->ntargets; i++) {
        if ((r->info.id[0] != '\0' && strcmp(flt->targets[i], r->info.id) == 0) ||
            (r->info.name[0] != '\0' && strcmp(flt->targets[i], r->info.name) == 0)) {
            return true;
        }
    }
    return false;
}

static bool attach(cs_rule *r, const cs_rule *flt)
{
    const cs_rule **p;
    if (!targets(flt, r)) {
        return true;
    }
    if ((p = realloc(r->filters, (r->nfilters + 1) * sizeof *p)) == NULL) {
        return false;
    }
    r->filters = p;
    r->filters[r->nfilters++] = flt;
    return true;
}

/* Filters and rules meet whichever loads first. */
static cs_rc add_filter(cs_ruleset *rs, cs_rule *f)
{
    if (rs->nfilters == rs->capfilters) {
        size_t cap = rs->capfilters ? rs->capfilters * 2 : 8;
        cs_rule **p = realloc(rs->filters, cap * sizeof *p);
        if (p == NULL) {
            rule_free(f);
            return cs_err_set(CS_ERR_NOMEM, "out of memory adding a filter");
        }
        rs->filters = p;
        rs->capfilters = cap;
    }
    for (size_t i = 0; i < rs->n; i++) {
        if (!attach(rs->rules[i], f)) {
            for (size_t k = 0; k < i; k++) {   /* undo, so no rule keeps a freed filter */
                if (rs->rules[k]->nfilters > 0 && rs->rules[k]->filters[rs->rules[k]->nfilters - 1] == f) {
                    rs->rules[k]->nfilters--;
                }
            }
            rule_free(f);
            return cs_err_set(CS_ERR_NOMEM, "out of memory adding a filter");
        }
    }
    rs->filters[rs->nfilters++] = f;
    return CS_OK;
}

static cs_rc add_rule(cs_ruleset *rs, cs_rule *r)
{
    if (r->is_filter) {
        return add_filter(rs, r);
    }
    for (size_t i = 0; i < rs->nfilters; i++) {
        if (!attach(r, rs->filters[i])) {
            rule_free(r);
            return cs_err_set(CS_ERR_NOMEM, "out of memory adding a rule");
        }
    }
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
        if (cs_yaml_get(doc, "detection") == NULL && cs_yaml_get(doc, "filter") == NULL) {
            if (cs_yaml_get(doc, "correlation") == NULL) {
                report(st, cs_err_set(CS_ERR_RULE, "%s:%d: document has no 'detection' (nor 'correlation' or 'filter')",
                                      yf->path, doc->line));
            }
            continue;   /* correlations: correlation.c */
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

bool cs_rule_file_name(const char *name)
{
    size_t n = strlen(name);
    static const char *const tests[] = {".tests.yml", ".tests.yaml"};
    for (size_t i = 0; i < 2; i++) {
        size_t t = strlen(tests[i]);
        if (n >= t && strcmp(name + n - t, tests[i]) == 0) {
            return false;   /* a rule's tests (citysoc rules test), not a rule */
        }
    }
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
        } else if (S_ISREG(sb.st_mode) && cs_rule_file_name(name)) {
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
        rc = walk(rs, path, 0, &st);
        pf_stale(rs);   /* marks it stale whatever walk() returned */
        if (rc != CS_OK) {
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
    pf_stale(rs);
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
    pf_stale(rs);
    return finish(&st);
}

/* -------------------------------------------------------------- ruleset -- */

static void placeholder_clear(placeholder *ph)
{
    for (size_t i = 0; i < ph->n; i++) {
        free(ph->vals[i]);
    }
    free(ph->vals);
    free(ph->name);
    memset(ph, 0, sizeof *ph);
}

cs_rc cs_ruleset_set_placeholder(cs_ruleset *rs, const char *name, const char *const *values, size_t n)
{
    placeholder fresh = {0};
    placeholder *slot = NULL;
    size_t nl;
    if (rs == NULL || name == NULL || (n > 0 && values == NULL)) {
        return cs_err_set(CS_ERR_INVAL, "cs_ruleset_set_placeholder: bad arguments");
    }
    nl = strlen(name);
    if (nl == 0) {
        return cs_err_set(CS_ERR_INVAL, "cs_ruleset_set_placeholder: empty name");
    }
    for (size_t i = 0; i < nl; i++) {
        if (!ph_char(name[i])) {
            return cs_err_set(CS_ERR_INVAL, "placeholder name '%s' may hold only letters, digits and '_'", name);
        }
    }
    if (n > CS_SIGMA_MAX_VALUES) {
        return cs_err_set(CS_ERR_INVAL, "placeholder '%s' has %zu values; at most %d are accepted", name, n,
                          CS_SIGMA_MAX_VALUES);
    }
    fresh.name = strdup(name);
    fresh.vals = calloc(n > 0 ? n : 1, sizeof *fresh.vals);
    if (fresh.name == NULL || fresh.vals == NULL) {
        placeholder_clear(&fresh);
        return cs_err_set(CS_ERR_NOMEM, "out of memory setting placeholder '%s'", name);
    }
    for (size_t i = 0; i < n; i++) {
        if (values[i] == NULL || (fresh.vals[i] = strdup(values[i])) == NULL) {
            fresh.n = i;
            placeholder_clear(&fresh);
            return values[i] == NULL ? cs_err_set(CS_ERR_INVAL, "placeholder '%s': value %zu is NULL", name, i)
                                     : cs_err_set(CS_ERR_NOMEM, "out of memory setting placeholder '%s'", name);
        }
    }
    fresh.n = n;
    for (size_t i = 0; i < rs->nph; i++) {
        if (strcmp(rs->ph[i].name, name) == 0) {
            slot = &rs->ph[i];
            placeholder_clear(slot);
        }
    }
    if (slot == NULL) {
        placeholder *np = realloc(rs->ph, (rs->nph + 1) * sizeof *np);
        if (np == NULL) {
            placeholder_clear(&fresh);
            return cs_err_set(CS_ERR_NOMEM, "out of memory setting placeholder '%s'", name);
        }
        rs->ph = np;
        slot = &rs->ph[rs->nph++];
    }
    *slot = fresh;
    return CS_OK;
}

/* ------------------------------------------------------ field mappings -- */

static void maps_free(fmap *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < 3; k++) {
            free(m[i].ls[k]);
        }
        free(m[i].from);
        free(m[i].to);
    }
    free(m);
}

typedef struct mvec {
    fmap *v;
    size_t n, cap;
} mvec;

static char *dup_lower(const char *s, size_t len, bool lower)
{
    char *d = malloc(len + 1);
    if (d != NULL) {
        for (size_t i = 0; i < len; i++) {
            d[i] = lower ? (char)lc((unsigned char)s[i]) : s[i];
        }
        d[len] = '\0';
    }
    return d;
}

static cs_rc map_scalar(const cs_yaml_file *f, const cs_yaml_node *n, const char *what)
{
    if (n == NULL || n->type != CS_YAML_SCALAR || cs_yaml_is_null(n) || n->len == 0 || strlen(n->str) != n->len) {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: %s must be a non-empty string", f->path, n != NULL ? n->line : 0,
                          what);
    }
    return CS_OK;
}

/* One `- logsource: {...}\n  fields: {Sigma: event}` entry. */
static cs_rc map_entry(const cs_yaml_file *f, const cs_yaml_node *e, mvec *out)
{
    const cs_yaml_node *ls = NULL, *fields = NULL;
    char *lsv[3] = {NULL, NULL, NULL};
    cs_rc rc = CS_OK;

    if (e->type != CS_YAML_MAP) {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: a mapping entry must be a map with 'logsource' and 'fields'",
                          f->path, e->line);
    }
    for (size_t i = 0; i < e->n; i++) {
        if (cs_yaml_scalar_eq(e->keys[i], "logsource")) {
            ls = e->items[i];
        } else if (cs_yaml_scalar_eq(e->keys[i], "fields")) {
            fields = e->items[i];
        } else {
            return cs_err_set(CS_ERR_CONFIG, "%s:%d: unknown key '%.60s' in a mapping entry (known: logsource, fields)",
                              f->path, e->keys[i]->line, e->keys[i]->str);
        }
    }
    if (fields == NULL || fields->type != CS_YAML_MAP) {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: a mapping entry needs 'fields', a map of Sigma name: event field",
                          f->path, fields != NULL ? fields->line : e->line);
    }
    if (ls != NULL && !cs_yaml_is_null(ls)) {
        static const char *const parts[3] = {"product", "category", "service"};
        if (ls->type != CS_YAML_MAP) {
            return cs_err_set(CS_ERR_CONFIG, "%s:%d: 'logsource' must be a map", f->path, ls->line);
        }
        for (size_t i = 0; i < ls->n && rc == CS_OK; i++) {
            int k = 0;
            while (k < 3 && !cs_yaml_scalar_eq(ls->keys[i], parts[k])) {
                k++;
            }
            if (k == 3) {
                rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: unknown key '%.60s' in 'logsource' (known: product, category, "
                                "service)", f->path, ls->keys[i]->line, ls->keys[i]->str);
            } else if ((rc = map_scalar(f, ls->items[i], parts[k])) == CS_OK) {
                free(lsv[k]);
                if ((lsv[k] = dup_lower(ls->items[i]->str, ls->items[i]->len, true)) == NULL) {
                    rc = cs_err_set(CS_ERR_NOMEM, "%s: out of memory", f->path);
                }
            }
        }
    }
    for (size_t i = 0; i < fields->n && rc == CS_OK; i++) {
        fmap *m;
        if ((rc = map_scalar(f, fields->keys[i], "a Sigma field name")) != CS_OK ||
            (rc = map_scalar(f, fields->items[i], "an event field name")) != CS_OK) {
            break;
        }
        if (memchr(fields->keys[i]->str, '|', fields->keys[i]->len) != NULL) {
            rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: a Sigma field name takes no modifiers ('%.60s')", f->path,
                            fields->keys[i]->line, fields->keys[i]->str);
            break;
        }
        if (cs_field_intern(fields->items[i]->str, fields->items[i]->len) == CS_F_NONE) {
            rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: event field name '%.60s' is too long or cannot be registered",
                            f->path, fields->items[i]->line, fields->items[i]->str);
            break;
        }
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 32;
            fmap *p = realloc(out->v, cap * sizeof *p);
            if (p == NULL) {
                rc = cs_err_set(CS_ERR_NOMEM, "%s: out of memory", f->path);
                break;
            }
            out->v = p;
            out->cap = cap;
        }
        m = &out->v[out->n];
        memset(m, 0, sizeof *m);
        out->n++;
        m->from = dup_lower(fields->keys[i]->str, fields->keys[i]->len, false);
        m->to = dup_lower(fields->items[i]->str, fields->items[i]->len, false);
        for (int k = 0; k < 3; k++) {
            m->ls[k] = lsv[k] != NULL ? dup_lower(lsv[k], strlen(lsv[k]), false) : NULL;
            if (lsv[k] != NULL && m->ls[k] == NULL) {
                rc = CS_ERR_NOMEM;
            }
        }
        if (rc != CS_OK || m->from == NULL || m->to == NULL) {
            rc = cs_err_set(CS_ERR_NOMEM, "%s: out of memory", f->path);
        }
    }
    for (int k = 0; k < 3; k++) {
        free(lsv[k]);
    }
    return rc;
}

/* One mapping file: all of it is added, or none. */
static cs_rc map_file(cs_ruleset *rs, const char *path)
{
    cs_yaml_file *yf = NULL;
    mvec mv = {0};
    cs_rc rc = cs_yaml_load_file(path, &yf);
    if (rc != CS_OK) {
        return rc;
    }
    for (size_t d = 0; d < yf->ndocs && rc == CS_OK; d++) {
        const cs_yaml_node *doc = yf->docs[d];
        if (cs_yaml_is_null(doc)) {
            continue;
        }
        if (doc->type != CS_YAML_MAP) {
            rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: a mapping file is a map with 'mappings'", yf->path, doc->line);
            break;
        }
        for (size_t i = 0; i < doc->n && rc == CS_OK; i++) {
            const cs_yaml_node *v = doc->items[i];
            if (cs_yaml_scalar_eq(doc->keys[i], "name") || cs_yaml_scalar_eq(doc->keys[i], "description")) {
                continue;
            }
            if (!cs_yaml_scalar_eq(doc->keys[i], "mappings")) {
                rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: unknown key '%.60s' (known: name, description, mappings)",
                                yf->path, doc->keys[i]->line, doc->keys[i]->str);
            } else if (v->type != CS_YAML_SEQ) {
                rc = cs_err_set(CS_ERR_CONFIG, "%s:%d: 'mappings' must be a list of entries", yf->path, v->line);
            } else {
                for (size_t j = 0; j < v->n && rc == CS_OK; j++) {
                    rc = map_entry(yf, v->items[j], &mv);
                }
            }
        }
    }
    if (rc == CS_OK && mv.n > 0) {
        fmap *p = realloc(rs->maps, (rs->nmaps + mv.n) * sizeof *p);
        if (p == NULL) {
            rc = cs_err_set(CS_ERR_NOMEM, "%s: out of memory", yf->path);
        } else {
            memcpy(p + rs->nmaps, mv.v, mv.n * sizeof *p);
            rs->maps = p;
            rs->nmaps += mv.n;
            free(mv.v);
            mv.v = NULL;
            mv.n = 0;
        }
    }
    maps_free(mv.v, mv.n);
    cs_yaml_free(yf);
    return rc;
}

cs_rc cs_ruleset_load_mappings(cs_ruleset *rs, const char *path)
{
    struct stat sb;
    struct dirent **ents = NULL;
    int n;
    cs_rc rc = CS_OK;

    if (rs == NULL || path == NULL) {
        return cs_err_set(CS_ERR_INVAL, "cs_ruleset_load_mappings: no ruleset or path");
    }
    if (stat(path, &sb) != 0) {
        return cs_err_set(CS_ERR_IO, "%s: %s", path, strerror(errno));
    }
    if (!S_ISDIR(sb.st_mode)) {
        return map_file(rs, path);
    }
    n = scandir(path, &ents, NULL, name_cmp);
    if (n < 0) {
        return cs_err_set(CS_ERR_IO, "%s: %s", path, strerror(errno));
    }
    for (int i = 0; i < n; i++) {
        const char *name = ents[i]->d_name;
        char full[4096];
        if (rc == CS_OK && name[0] != '.' && cs_rule_file_name(name)) {
            if ((size_t)snprintf(full, sizeof full, "%s/%s", path, name) >= sizeof full) {
                rc = cs_err_set(CS_ERR_IO, "%s/%s: path too long", path, name);
            } else if (stat(full, &sb) == 0 && S_ISREG(sb.st_mode)) {
                rc = map_file(rs, full);
            }
        }
        free(ents[i]);
    }
    free(ents);
    return rc;
}

size_t cs_ruleset_mapping_count(const cs_ruleset *rs)
{
    return rs != NULL ? rs->nmaps : 0;
}

cs_rc cs_ruleset_new(cs_ruleset **out)
{
    cs_ruleset *rs;
    *out = NULL;
    rs = calloc(1, sizeof *rs);
    if (rs == NULL) {
        goto fail;
    }
    if (pthread_mutex_init(&rs->pf_mu, NULL) != 0) {
        goto fail;
    }
    atomic_init(&rs->pf_dirty, false);
    for (size_t i = 0; i < RT_SLOTS; i++) {
        atomic_init(&rs->routes[i], NULL);
    }
#ifdef CS_HAVE_HYPERSCAN
    atomic_init(&rs->hs_gen, 0);
#endif
    rs->mctx = pcre2_match_context_create(NULL);
    if (rs->mctx == NULL) {
        pthread_mutex_destroy(&rs->pf_mu);
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
    for (size_t i = 0; i < rs->nfilters; i++) {
        rule_free(rs->filters[i]);
    }
    free(rs->filters);
    for (size_t i = 0; i < rs->nph; i++) {
        placeholder_clear(&rs->ph[i]);
    }
    free(rs->ph);
    maps_free(rs->maps, rs->nmaps);
    pf_free(rs->pf);
    routes_clear(rs);
#ifdef CS_HAVE_HYPERSCAN
    hs_free_scratch(rs->hs_proto);
#endif
    pthread_mutex_destroy(&rs->pf_mu);
    pcre2_match_context_free(rs->mctx);
    free(rs);
}

size_t cs_ruleset_filter_count(const cs_ruleset *rs)
{
    return rs != NULL ? rs->nfilters : 0;
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
