/* correlation.c - Sigma correlation rules on a stream (see correlation.h). */
#include "correlation.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include "../runtime/fields.h"
#include "../runtime/yamltree.h"

enum ctype { T_EVENT_COUNT, T_VALUE_COUNT, T_TEMPORAL, T_TEMPORAL_ORDERED, T_VALUE_SUM, T_VALUE_AVG, T_VALUE_PCT };
static const char *const type_names[] = {"event_count", "value_count", "temporal", "temporal_ordered",
                                         "value_sum",   "value_avg",   "value_percentile"};
enum { OP_GT, OP_GTE, OP_LT, OP_LTE, OP_EQ, OP_NEQ, OP__N };
static const char *const op_names[] = {"gt", "gte", "lt", "lte", "eq", "neq"};

#define KEY_SEP '\x1f'
#define KEY_MAX 4096
#define NO_CORR ((size_t)-1)

typedef struct entry {
    int64_t t;
    union {
        double v;
        uint64_t h;
        uint32_t rule;
    } u;
} entry;

/* Laid out for size (a city has many sources: bench/sigma measures the
 * bytes per live group): the first ring slot is inline, so a group that
 * saw one event is one allocation. */
typedef struct group {
    struct group *hnext;            /* hash chain */
    struct group *lprev, *lnext;    /* LRU list (head = most recently updated) */
    entry *ring;                    /* &inl until the ring grows */
    int64_t newest;                 /* newest entry time */
    entry inl;
    uint32_t hash;
    uint32_t head, n;
    uint16_t keylen;                /* <= KEY_MAX */
    uint8_t capl2;                  /* ring capacity = 1 << capl2 */
    char key[];
} group;

#define GCAP(g) ((uint32_t)1 << (g)->capl2)

typedef struct ref {
    char *text;        /* as written */
    int line;
    const cs_rule *base;
    size_t corr;       /* index into cs->corrs, or NO_CORR */
} ref;

typedef struct corr {
    cs_corr_info info;
    char *strs[6];     /* id name title level path (owned) + spare */
    char **tags;
    enum ctype type;
    int64_t span_us;
    bool has[OP__N];
    double cmp[OP__N];
    double pct;
    bool pct_numeric;  /* `percentile:` given: a numeric percentile, else the value's share */
    cs_fid field;
    size_t nrefs;
    ref *refs;
    size_t ngroup;
    cs_fid *gfids;     /* [ref * ngroup + g] */
    bool refused;
    uint64_t doc_hash;  /* cs_yaml_hash of its document (reloads, corr_fp) */
    /* state */
    group **tab;
    size_t tabcap, ngroups;
    group *lru_head, *lru_tail;
    int64_t newest;
    bool any;
    const cs_event *last_ev;
    int64_t last_ts;
} corr;

struct cs_corrset {
    const cs_ruleset *base;
    corr **corrs;
    size_t n, cap;
    size_t max_groups, max_entries;
    uint64_t evicted, fired, late, overflow, expired;
    entry *scratch;
    size_t scratch_cap;
    uint64_t cur_h;    /* value hash of the event being evaluated (value_percentile share) */
    double *vals;
    size_t vals_cap;
};

/* ---------------------------------------------------------------- utils -- */

static char *xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n + 1);
    }
    return p;
}

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* -------------------------------------------------------------- new/free -- */

cs_rc cs_corrset_new(const cs_ruleset *base, cs_corrset **out)
{
    cs_corrset *cs = calloc(1, sizeof *cs);
    if (cs == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory creating a correlation set");
    }
    cs->base = base;
    cs->max_groups = CS_CORR_MAX_GROUPS;
    cs->max_entries = CS_CORR_MAX_ENTRIES;
    *out = cs;
    return CS_OK;
}

void cs_corrset_set_limits(cs_corrset *cs, size_t max_groups, size_t max_entries)
{
    if (max_groups > 0) {
        cs->max_groups = max_groups;
    }
    if (max_entries > 0) {
        cs->max_entries = max_entries > UINT32_MAX / 2 ? UINT32_MAX / 2 : max_entries;
    }
}

static void group_free(group *g)
{
    if (g->ring != &g->inl) {
        free(g->ring);
    }
    free(g);
}

static void corr_free(corr *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < sizeof c->strs / sizeof c->strs[0]; i++) {
        free(c->strs[i]);
    }
    for (size_t i = 0; i < c->info.ntags; i++) {
        free(c->tags[i]);
    }
    free(c->tags);
    for (size_t i = 0; i < c->nrefs; i++) {
        free(c->refs[i].text);
    }
    free(c->refs);
    free(c->gfids);
    for (size_t b = 0; b < c->tabcap; b++) {
        group *g = c->tab[b];
        while (g != NULL) {
            group *nx = g->hnext;
            group_free(g);
            g = nx;
        }
    }
    free(c->tab);
    free(c);
}

void cs_corrset_free(cs_corrset *cs)
{
    if (cs == NULL) {
        return;
    }
    for (size_t i = 0; i < cs->n; i++) {
        corr_free(cs->corrs[i]);
    }
    free(cs->corrs);
    free(cs->scratch);
    free(cs->vals);
    free(cs);
}

size_t cs_corrset_count(const cs_corrset *cs)
{
    return cs->n;
}

const cs_corr_info *cs_corrset_info(const cs_corrset *cs, size_t i)
{
    return i < cs->n ? &cs->corrs[i]->info : NULL;
}

size_t cs_corrset_group_bytes(size_t keylen)
{
    return offsetof(group, key) + keylen + 1;
}

/* -------------------------------------------------------------- parsing -- */

typedef struct load_state {
    cs_rule_error_cb cb;
    void *ud;
    cs_rc rc;
    char first[1024];
} load_state;

static void report(load_state *st, cs_rc rc)
{
    const char *msg = cs_err_msg();
    if (rc != CS_ERR_IO && rc != CS_ERR_NOMEM && rc != CS_ERR_PARSE) {
        rc = CS_ERR_RULE;
    }
    if (st->cb != NULL) {
        st->cb(msg, st->ud);
    }
    if (st->rc == CS_OK) {
        snprintf(st->first, sizeof st->first, "%s", msg);
        st->rc = rc;
    }
}

#define NOMEM(yf) cs_err_set(CS_ERR_NOMEM, "%s: out of memory loading a correlation", (yf)->path)

static cs_rc opt_str(const cs_yaml_file *yf, const cs_yaml_node *map, const char *key, char **out)
{
    const cs_yaml_node *n = cs_yaml_get(map, key);
    const char *s = "";
    if (n != NULL && !cs_yaml_is_null(n)) {
        cs_rc rc = cs_yaml_str(yf, n, &s);
        if (rc != CS_OK) {
            return rc;
        }
    }
    *out = xstrdup(s);
    return *out == NULL ? NOMEM(yf) : CS_OK;
}

static cs_rc parse_timespan(const cs_yaml_file *yf, const cs_yaml_node *n, int64_t *out)
{
    char *end;
    long long v;
    int64_t mul;
    if (n == NULL || n->type != CS_YAML_SCALAR) {
        return cs_err_set(CS_ERR_RULE, "%s:%d: correlation needs a 'timespan' such as 5m", yf->path,
                          n != NULL ? n->line : 0);
    }
    errno = 0;
    v = strtoll(n->str, &end, 10);
    if (end == n->str || errno != 0 || v <= 0 || end[0] == '\0' || end[1] != '\0') {
        return cs_err_set(CS_ERR_RULE, "%s:%d: bad timespan '%s' (want a positive integer and s, m, h, d or w)",
                          yf->path, n->line, n->str);
    }
    switch (end[0]) {
    case 's': mul = 1; break;
    case 'm': mul = 60; break;
    case 'h': mul = 3600; break;
    case 'd': mul = 86400; break;
    case 'w': mul = 7 * 86400; break;
    default:
        return cs_err_set(CS_ERR_RULE, "%s:%d: bad timespan unit in '%s' (want s, m, h, d or w)", yf->path,
                          n->line, n->str);
    }
    if (v > INT64_MAX / 1000000 / mul) {
        return cs_err_set(CS_ERR_RULE, "%s:%d: timespan '%s' is too long", yf->path, n->line, n->str);
    }
    *out = (int64_t)v * mul * 1000000;
    return CS_OK;
}

static cs_rc parse_number(const cs_yaml_file *yf, const cs_yaml_node *n, const char *what, double *out)
{
    char *end;
    if (n->type != CS_YAML_SCALAR || n->len == 0) {
        return cs_err_set(CS_ERR_RULE, "%s:%d: condition '%s' needs a number", yf->path, n->line, what);
    }
    errno = 0;
    *out = strtod(n->str, &end);
    if (*end != '\0' || errno != 0 || !isfinite(*out)) {
        return cs_err_set(CS_ERR_RULE, "%s:%d: condition '%s' needs a number, not '%s'", yf->path, n->line,
                          what, n->str);
    }
    return CS_OK;
}

static cs_rc parse_condition(const cs_yaml_file *yf, const cs_yaml_node *cond, int body_line, corr *c)
{
    bool value_type = c->type == T_VALUE_COUNT || c->type >= T_VALUE_SUM;
    bool anyop = false;
    c->pct = 50;
    if (cond != NULL && cond->type != CS_YAML_MAP) {
        return cs_err_set(CS_ERR_RULE, "%s:%d: 'condition' must be a map such as {gte: 10}", yf->path, cond->line);
    }
    for (size_t i = 0; cond != NULL && i < cond->n; i++) {
        const cs_yaml_node *k = cond->keys[i], *v = cond->items[i];
        size_t op;
        cs_rc rc;
        if (cs_yaml_scalar_eq(k, "field")) {
            const char *s;
            if (v->type == CS_YAML_SEQ) {
                return cs_err_set(CS_ERR_RULE, "%s:%d: 'field' as a list is not supported", yf->path, v->line);
            }
            rc = cs_yaml_str(yf, v, &s);
            if (rc != CS_OK) {
                return rc;
            }
            c->field = cs_field_intern(s, strlen(s));
            if (c->field == CS_F_NONE) {
                return cs_err_set(CS_ERR_RULE, "%s:%d: bad field name '%s'", yf->path, v->line, s);
            }
            continue;
        }
        if (cs_yaml_scalar_eq(k, "percentile")) {
            rc = parse_number(yf, v, "percentile", &c->pct);
            if (rc != CS_OK) {
                return rc;
            }
            if (c->pct < 0 || c->pct > 100) {
                return cs_err_set(CS_ERR_RULE, "%s:%d: percentile must be within 0..100", yf->path, v->line);
            }
            c->pct_numeric = true;
            continue;
        }
        for (op = 0; op < OP__N; op++) {
            if (cs_yaml_scalar_eq(k, op_names[op])) {
                break;
            }
        }
        if (op == OP__N) {
            return cs_err_set(CS_ERR_RULE, "%s:%d: unknown condition key '%s' (want gt gte lt lte eq neq%s)",
                              yf->path, k->line, k->str, value_type ? " field" : "");
        }
        rc = parse_number(yf, v, op_names[op], &c->cmp[op]);
        if (rc != CS_OK) {
            return rc;
        }
        c->has[op] = true;
        anyop = true;
    }
    if (value_type && c->field == CS_F_NONE) {
        return cs_err_set(CS_ERR_RULE, "%s:%d: %s needs 'field' in its condition", yf->path,
                          cond != NULL ? cond->line : body_line, type_names[c->type]);
    }
    if (!value_type && c->field != CS_F_NONE) {
        return cs_err_set(CS_ERR_RULE, "%s:%d: 'field' is only for value_* types", yf->path, cond->line);
    }
    if (!anyop) {
        if (c->type == T_TEMPORAL || c->type == T_TEMPORAL_ORDERED) {
            c->has[OP_GTE] = true;
            c->cmp[OP_GTE] = (double)c->nrefs;
        } else {
            return cs_err_set(CS_ERR_RULE, "%s:%d: %s needs a 'condition' with gt, gte, lt, lte, eq or neq",
                              yf->path, cond != NULL ? cond->line : body_line, type_names[c->type]);
        }
    }
    return CS_OK;
}

static cs_rc parse_tags(const cs_yaml_file *yf, const cs_yaml_node *doc, corr *c)
{
    const cs_yaml_node *t = cs_yaml_get(doc, "tags");
    if (t == NULL || cs_yaml_is_null(t)) {
        return CS_OK;
    }
    if (t->type != CS_YAML_SEQ) {
        return cs_err_set(CS_ERR_RULE, "%s:%d: 'tags' must be a list", yf->path, t->line);
    }
    c->tags = calloc(t->n ? t->n : 1, sizeof *c->tags);
    if (c->tags == NULL) {
        return NOMEM(yf);
    }
    for (size_t i = 0; i < t->n; i++) {
        const char *s;
        cs_rc rc = cs_yaml_str(yf, t->items[i], &s);
        if (rc != CS_OK) {
            return rc;
        }
        c->tags[i] = xstrdup(s);
        if (c->tags[i] == NULL) {
            return NOMEM(yf);
        }
        c->info.ntags = i + 1;
    }
    c->info.tags = (const char *const *)c->tags;
    return CS_OK;
}

/* Per referenced rule and group-by name: alias field or the name itself. */
static cs_rc parse_group(const cs_yaml_file *yf, const cs_yaml_node *body, corr *c)
{
    const cs_yaml_node *gb = cs_yaml_get(body, "group-by");
    const cs_yaml_node *al = cs_yaml_get(body, "aliases");
    if (al != NULL && !cs_yaml_is_null(al) && al->type != CS_YAML_MAP) {
        return cs_err_set(CS_ERR_RULE, "%s:%d: 'aliases' must be a map alias -> {rule: field}", yf->path, al->line);
    }
    if (gb != NULL && !cs_yaml_is_null(gb)) {
        if (gb->type == CS_YAML_SCALAR) {
            c->ngroup = 1;
        } else if (gb->type == CS_YAML_SEQ) {
            c->ngroup = gb->n;
        } else {
            return cs_err_set(CS_ERR_RULE, "%s:%d: 'group-by' must be a list of fields", yf->path, gb->line);
        }
    }
    c->gfids = calloc(c->nrefs * c->ngroup + 1, sizeof *c->gfids);
    if (c->gfids == NULL) {
        return NOMEM(yf);
    }
    for (size_t g = 0; g < c->ngroup; g++) {
        const cs_yaml_node *gn = gb->type == CS_YAML_SCALAR ? gb : gb->items[g];
        const cs_yaml_node *amap = NULL;
        const char *name;
        cs_rc rc = cs_yaml_str(yf, gn, &name);
        if (rc != CS_OK) {
            return rc;
        }
        if (al != NULL && al->type == CS_YAML_MAP) {
            amap = cs_yaml_get(al, name);
            if (amap != NULL && amap->type != CS_YAML_MAP) {
                return cs_err_set(CS_ERR_RULE, "%s:%d: alias '%s' must map rule names to fields", yf->path,
                                  amap->line, name);
            }
        }
        for (size_t r = 0; r < c->nrefs; r++) {
            const char *fname = name;
            if (amap != NULL) {
                const cs_yaml_node *fn = cs_yaml_get(amap, c->refs[r].text);
                if (fn == NULL) {
                    return cs_err_set(CS_ERR_RULE, "%s:%d: alias '%s' has no field for rule '%s'", yf->path,
                                      amap->line, name, c->refs[r].text);
                }
                rc = cs_yaml_str(yf, fn, &fname);
                if (rc != CS_OK) {
                    return rc;
                }
            }
            c->gfids[r * c->ngroup + g] = cs_field_intern(fname, strlen(fname));
            if (c->gfids[r * c->ngroup + g] == CS_F_NONE) {
                return cs_err_set(CS_ERR_RULE, "%s:%d: bad group-by field name '%s'", yf->path, gn->line, fname);
            }
        }
    }
    return CS_OK;
}

static cs_rc parse_corr(const cs_yaml_file *yf, const cs_yaml_node *doc, corr **out)
{
    const cs_yaml_node *body = cs_yaml_get(doc, "correlation");
    const cs_yaml_node *n, *rules;
    corr *c = calloc(1, sizeof *c);
    cs_rc rc;
    size_t t;
    *out = NULL;
    if (c == NULL) {
        return NOMEM(yf);
    }
    c->info.line = doc->line;
    c->doc_hash = cs_yaml_hash(doc);
    if ((rc = opt_str(yf, doc, "id", &c->strs[0])) != CS_OK || (rc = opt_str(yf, doc, "name", &c->strs[1])) != CS_OK ||
        (rc = opt_str(yf, doc, "title", &c->strs[2])) != CS_OK ||
        (rc = opt_str(yf, doc, "level", &c->strs[3])) != CS_OK) {
        goto fail;
    }
    for (char *p = c->strs[3]; *p != '\0'; p++) {
        *p = lower(*p);
    }
    c->strs[4] = xstrdup(yf->path);
    if (c->strs[4] == NULL) {
        rc = NOMEM(yf);
        goto fail;
    }
    c->info.id = c->strs[0];
    c->info.name = c->strs[1];
    c->info.title = c->strs[2];
    c->info.level = c->strs[3];
    c->info.path = c->strs[4];
    if ((rc = parse_tags(yf, doc, c)) != CS_OK) {
        goto fail;
    }
    if (body->type != CS_YAML_MAP) {
        rc = cs_err_set(CS_ERR_RULE, "%s:%d: 'correlation' must be a map", yf->path, body->line);
        goto fail;
    }
    n = cs_yaml_get(body, "type");
    if (n == NULL || n->type != CS_YAML_SCALAR) {
        rc = cs_err_set(CS_ERR_RULE, "%s:%d: correlation needs a 'type'", yf->path, body->line);
        goto fail;
    }
    for (t = 0; t < sizeof type_names / sizeof type_names[0]; t++) {
        if (cs_yaml_scalar_eq(n, type_names[t])) {
            break;
        }
    }
    if (t == sizeof type_names / sizeof type_names[0]) {
        rc = cs_err_set(CS_ERR_RULE, "%s:%d: unsupported correlation type '%s'", yf->path, n->line, n->str);
        goto fail;
    }
    c->type = (enum ctype)t;
    c->info.type = type_names[t];
    /* generate: both placements */
    for (int k = 0; k < 2; k++) {
        bool b = false;
        n = cs_yaml_get(k == 0 ? doc : body, "generate");
        if (n != NULL && !cs_yaml_is_null(n)) {
            if ((rc = cs_yaml_bool(yf, n, &b)) != CS_OK) {
                goto fail;
            }
            c->info.generate = c->info.generate || b;
        }
    }
    rules = cs_yaml_get(body, "rules");
    if (rules == NULL || (rules->type != CS_YAML_SEQ && rules->type != CS_YAML_SCALAR) ||
        (rules->type == CS_YAML_SEQ && rules->n == 0) || cs_yaml_is_null(rules)) {
        rc = cs_err_set(CS_ERR_RULE, "%s:%d: correlation needs 'rules': a list of rule ids or names", yf->path,
                        rules != NULL ? rules->line : body->line);
        goto fail;
    }
    c->nrefs = rules->type == CS_YAML_SEQ ? rules->n : 1;
    c->refs = calloc(c->nrefs, sizeof *c->refs);
    if (c->refs == NULL) {
        rc = NOMEM(yf);
        goto fail;
    }
    for (size_t i = 0; i < c->nrefs; i++) {
        const cs_yaml_node *rn = rules->type == CS_YAML_SEQ ? rules->items[i] : rules;
        const char *s;
        if ((rc = cs_yaml_str(yf, rn, &s)) != CS_OK) {
            goto fail;
        }
        c->refs[i].text = xstrdup(s);
        c->refs[i].line = rn->line;
        c->refs[i].corr = NO_CORR;
        if (c->refs[i].text == NULL) {
            rc = NOMEM(yf);
            goto fail;
        }
    }
    if ((rc = parse_timespan(yf, cs_yaml_get(body, "timespan"), &c->span_us)) != CS_OK) {
        if (cs_yaml_get(body, "timespan") == NULL) {
            rc = cs_err_set(CS_ERR_RULE, "%s:%d: correlation needs a 'timespan' such as 5m", yf->path, body->line);
        }
        goto fail;
    }
    if ((rc = parse_condition(yf, cs_yaml_get(body, "condition"), body->line, c)) != CS_OK ||
        (rc = parse_group(yf, body, c)) != CS_OK) {
        goto fail;
    }
    *out = c;
    return CS_OK;
fail:
    corr_free(c);
    return rc;
}

/* ------------------------------------------------------------ resolving -- */

static const cs_rule *find_base(const cs_ruleset *rs, const char *text)
{
    size_t n = rs != NULL ? cs_ruleset_count(rs) : 0;
    for (size_t i = 0; i < n; i++) {
        const cs_rule_info *ri = cs_rule_get_info(cs_ruleset_rule(rs, i));
        if ((ri->id[0] != '\0' && strcmp(ri->id, text) == 0) || (ri->name[0] != '\0' && strcmp(ri->name, text) == 0)) {
            return cs_ruleset_rule(rs, i);
        }
    }
    return NULL;
}

static size_t find_corr(corr *const *v, size_t n, const char *text)
{
    for (size_t i = 0; i < n; i++) {
        if ((v[i]->info.id[0] != '\0' && strcmp(v[i]->info.id, text) == 0) ||
            (v[i]->info.name[0] != '\0' && strcmp(v[i]->info.name, text) == 0)) {
            return i;
        }
    }
    return NO_CORR;
}

/* Is pending correlation i reachable from its own references? */
static bool on_cycle(corr *const *all, size_t base, size_t n, size_t i, unsigned char *seen, size_t *stack)
{
    size_t sp = 0;
    memset(seen, 0, n - base);
    seen[i - base] = 0;
    stack[sp++] = i;
    while (sp > 0) {
        size_t k = stack[--sp];
        for (size_t r = 0; r < all[k]->nrefs; r++) {
            size_t j = all[k]->refs[r].corr;
            if (j == NO_CORR || j < base) {
                continue;
            }
            if (j == i) {
                return true;
            }
            if (!seen[j - base]) {
                seen[j - base] = 1;
                stack[sp++] = j;
            }
        }
    }
    return false;
}

static cs_rc reserve(cs_corrset *cs, size_t more)
{
    if (cs->n + more > cs->cap) {
        size_t cap = cs->cap ? cs->cap : 16;
        corr **p;
        while (cap < cs->n + more) {
            cap *= 2;
        }
        p = realloc(cs->corrs, cap * sizeof *p);
        if (p == NULL) {
            return cs_err_set(CS_ERR_NOMEM, "out of memory adding correlations");
        }
        cs->corrs = p;
        cs->cap = cap;
    }
    return CS_OK;
}

/* Pending correlations were appended at cs->corrs[base..n); resolve, refuse
 * bad ones, compact. */
static void resolve_batch(cs_corrset *cs, size_t base, load_state *st)
{
    size_t n = cs->n;
    unsigned char *col;
    size_t *stack;
    bool changed = true;
    for (size_t i = base; i < n; i++) {
        corr *c = cs->corrs[i];
        for (size_t r = 0; r < c->nrefs && !c->refused; r++) {
            ref *rf = &c->refs[r];
            rf->corr = find_corr(cs->corrs, n, rf->text);
            rf->base = rf->corr == NO_CORR ? find_base(cs->base, rf->text) : NULL;
            if (rf->corr == NO_CORR && rf->base == NULL) {
                report(st, cs_err_set(CS_ERR_RULE, "%s:%d: correlation refers to unknown rule '%s'", c->info.path,
                                      rf->line, rf->text));
                c->refused = true;
            }
        }
    }
    col = calloc(n - base + 1, 1);
    stack = malloc((n - base + 1) * sizeof *stack);
    if (col == NULL || stack == NULL) {
        report(st, cs_err_set(CS_ERR_NOMEM, "out of memory resolving correlations"));
        for (size_t i = base; i < n; i++) {
            cs->corrs[i]->refused = true;
        }
    } else {
        for (size_t i = base; i < n; i++) {
            corr *c = cs->corrs[i];
            if (!c->refused && on_cycle(cs->corrs, base, n, i, col, stack)) {
                report(st, cs_err_set(CS_ERR_RULE, "%s:%d: correlation '%s' is part of a reference cycle",
                                      c->info.path, c->info.line, c->info.name[0] ? c->info.name : c->info.id));
                c->refused = true;
            }
        }
    }
    free(col);
    free(stack);
    while (changed) {   /* refuse what references a refused one */
        changed = false;
        for (size_t i = base; i < n; i++) {
            corr *c = cs->corrs[i];
            for (size_t r = 0; r < c->nrefs && !c->refused; r++) {
                size_t j = c->refs[r].corr;
                if (j != NO_CORR && cs->corrs[j]->refused) {
                    report(st, cs_err_set(CS_ERR_RULE, "%s:%d: correlation refers to refused correlation '%s'",
                                          c->info.path, c->refs[r].line, c->refs[r].text));
                    c->refused = true;
                    changed = true;
                }
            }
        }
    }
    /* compact, remapping indices */
    {
        size_t *map = malloc((n - base + 1) * sizeof *map);
        size_t w = base;
        for (size_t i = base; i < n; i++) {
            if (map != NULL) {
                map[i - base] = cs->corrs[i]->refused ? NO_CORR : w;
            }
            if (!cs->corrs[i]->refused && map != NULL) {
                cs->corrs[w++] = cs->corrs[i];
            } else {
                if (map == NULL && !cs->corrs[i]->refused) {
                    report(st, cs_err_set(CS_ERR_NOMEM, "out of memory resolving correlations"));
                }
                corr_free(cs->corrs[i]);
            }
        }
        cs->n = w;
        for (size_t i = base; i < w; i++) {
            for (size_t r = 0; r < cs->corrs[i]->nrefs; r++) {
                size_t j = cs->corrs[i]->refs[r].corr;
                if (j != NO_CORR && j >= base) {
                    cs->corrs[i]->refs[r].corr = map[j - base];
                }
            }
        }
        free(map);
    }
    /* suppressed flags */
    for (size_t i = 0; i < cs->n; i++) {
        bool referenced = false, gen = false;
        for (size_t k = 0; k < cs->n; k++) {
            for (size_t r = 0; r < cs->corrs[k]->nrefs; r++) {
                if (cs->corrs[k]->refs[r].corr == i) {
                    referenced = true;
                    gen = gen || cs->corrs[k]->info.generate;
                }
            }
        }
        cs->corrs[i]->info.suppressed = referenced && !gen;
    }
}

static void load_docs(cs_corrset *cs, const cs_yaml_file *yf, load_state *st)
{
    size_t base = cs->n;
    for (size_t i = 0; i < yf->ndocs; i++) {
        const cs_yaml_node *doc = yf->docs[i];
        corr *c;
        cs_rc rc;
        if (doc == NULL || doc->type != CS_YAML_MAP || cs_yaml_get(doc, "correlation") == NULL) {
            continue;
        }
        rc = parse_corr(yf, doc, &c);
        if (rc == CS_OK) {
            rc = reserve(cs, 1);
            if (rc != CS_OK) {
                corr_free(c);
            }
        }
        if (rc != CS_OK) {
            report(st, rc);
            continue;
        }
        cs->corrs[cs->n++] = c;
    }
    resolve_batch(cs, base, st);
}

static cs_rc finish(const load_state *st)
{
    return st->rc == CS_OK ? CS_OK : cs_err_set(st->rc, "%s", st->first);
}

cs_rc cs_corrset_load_string(cs_corrset *cs, const char *name, const char *yaml, size_t len, cs_rule_error_cb cb,
                             void *ud)
{
    load_state st = {cb, ud, CS_OK, ""};
    cs_yaml_file *yf = NULL;
    cs_rc rc = cs_yaml_load_string(name != NULL ? name : "<string>", yaml, len, &yf);
    if (rc != CS_OK) {
        report(&st, rc);
        return finish(&st);
    }
    load_docs(cs, yf, &st);
    cs_yaml_free(yf);
    return finish(&st);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_any(cs_corrset *cs, const char *path, int depth, load_state *st)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        report(st, cs_err_set(CS_ERR_IO, "%s: cannot read: %s", path, strerror(errno)));
        return;
    }
    if (S_ISDIR(sb.st_mode)) {
        DIR *d;
        struct dirent *de;
        char **names = NULL;
        size_t nn = 0, cap = 0;
        if (depth > CS_SIGMA_MAX_DIR_DEPTH) {
            report(st, cs_err_set(CS_ERR_RULE, "%s: directories nested too deep", path));
            return;
        }
        d = opendir(path);
        if (d == NULL) {
            report(st, cs_err_set(CS_ERR_IO, "%s: cannot read directory: %s", path, strerror(errno)));
            return;
        }
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.') {
                continue;
            }
            if (nn == cap) {
                char **p = realloc(names, (cap = cap ? cap * 2 : 32) * sizeof *p);
                if (p == NULL) {
                    break;
                }
                names = p;
            }
            names[nn] = xstrdup(de->d_name);
            if (names[nn] != NULL) {
                nn++;
            }
        }
        closedir(d);
        if (nn > 0) {
            qsort(names, nn, sizeof *names, cmp_names);
        }
        for (size_t i = 0; i < nn; i++) {
            size_t l = strlen(path) + strlen(names[i]) + 2;
            char *full = malloc(l);
            if (full != NULL) {
                struct stat s2;
                snprintf(full, l, "%s/%s", path, names[i]);
                if (stat(full, &s2) == 0 && (S_ISDIR(s2.st_mode) || cs_rule_file_name(names[i]))) {
                    load_any(cs, full, depth + 1, st);
                }
                free(full);
            }
            free(names[i]);
        }
        free(names);
        return;
    }
    {
        cs_yaml_file *yf = NULL;
        cs_rc rc = cs_yaml_load_file(path, &yf);
        if (rc != CS_OK) {
            report(st, rc);
            return;
        }
        load_docs(cs, yf, st);
        cs_yaml_free(yf);
    }
}

cs_rc cs_corrset_load_path(cs_corrset *cs, const char *path, cs_rule_error_cb cb, void *ud)
{
    load_state st = {cb, ud, CS_OK, ""};
    if (cs == NULL || path == NULL) {
        return cs_err_set(CS_ERR_INVAL, "cs_corrset_load_path: no set or path");
    }
    load_any(cs, path, 0, &st);
    return finish(&st);
}

/* ------------------------------------------------------------ suppression -- */

/* A correlation is unchanged across a reload when its own document and,
 * recursively, everything it references are: base rules by their
 * fingerprint, correlations by this. */
static uint64_t corr_fp(const cs_corrset *cs, size_t i, int depth)
{
    const corr *c = cs->corrs[i];
    uint64_t h = c->doc_hash;
    for (size_t r = 0; r < c->nrefs; r++) {
        uint64_t x;
        if (c->refs[r].corr != NO_CORR && depth < 64) {
            x = corr_fp(cs, c->refs[r].corr, depth + 1);
        } else if (c->refs[r].base != NULL) {
            x = cs_rule_get_info(c->refs[r].base)->fingerprint;
        } else {
            x = 0;
        }
        h = (h ^ (x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2))) * 0xff51afd7ed558ccdULL;
    }
    return h;
}

size_t cs_corrset_adopt(cs_corrset *dst, cs_corrset *src, size_t *groups)
{
    size_t kept = 0;
    unsigned char *taken;
    if (groups != NULL) {
        *groups = 0;
    }
    if (dst == NULL || src == NULL || (taken = calloc(src->n + 1, 1)) == NULL) {
        return 0;
    }
    for (size_t i = 0; i < dst->n; i++) {
        corr *d = dst->corrs[i];
        uint64_t fp = corr_fp(dst, i, 0);
        for (size_t j = 0; j < src->n; j++) {
            corr *o = src->corrs[j];
            if (taken[j] || strcmp(d->info.id, o->info.id) != 0 || strcmp(d->info.name, o->info.name) != 0 ||
                corr_fp(src, j, 0) != fp || d->ngroups != 0) {
                continue;
            }
            taken[j] = 1;
            d->tab = o->tab;
            d->tabcap = o->tabcap;
            d->ngroups = o->ngroups;
            d->lru_head = o->lru_head;
            d->lru_tail = o->lru_tail;
            d->newest = o->newest;
            d->any = o->any;
            d->last_ts = o->last_ts;
            d->last_ev = NULL;
            o->tab = NULL;
            o->tabcap = o->ngroups = 0;
            o->lru_head = o->lru_tail = NULL;
            o->any = false;
            kept++;
            if (groups != NULL) {
                *groups += d->ngroups;
            }
            break;
        }
    }
    free(taken);
    return kept;
}

bool cs_corrset_suppresses(const cs_corrset *cs, const cs_rule *rule)
{
    bool referenced = false;
    for (size_t i = 0; i < cs->n; i++) {
        const corr *c = cs->corrs[i];
        for (size_t r = 0; r < c->nrefs; r++) {
            if (c->refs[r].base == rule) {
                if (c->info.generate) {
                    return false;
                }
                referenced = true;
            }
        }
    }
    return referenced;
}

void cs_corrset_stats(const cs_corrset *cs, cs_corr_stats *st)
{
    memset(st, 0, sizeof *st);
    for (size_t i = 0; i < cs->n; i++) {
        st->groups += cs->corrs[i]->ngroups;
    }
    st->evicted = cs->evicted;
    st->fired = cs->fired;
    st->late = cs->late;
    st->overflow = cs->overflow;
    st->expired = cs->expired;
}

/* ----------------------------------------------------------------- state -- */

static void lru_unlink(corr *c, group *g)
{
    if (g->lprev != NULL) {
        g->lprev->lnext = g->lnext;
    } else {
        c->lru_head = g->lnext;
    }
    if (g->lnext != NULL) {
        g->lnext->lprev = g->lprev;
    } else {
        c->lru_tail = g->lprev;
    }
    g->lprev = g->lnext = NULL;
}

static void lru_front(corr *c, group *g)
{
    g->lprev = NULL;
    g->lnext = c->lru_head;
    if (c->lru_head != NULL) {
        c->lru_head->lprev = g;
    }
    c->lru_head = g;
    if (c->lru_tail == NULL) {
        c->lru_tail = g;
    }
}

static void group_remove(corr *c, group *g)
{
    group **pp = &c->tab[g->hash & (c->tabcap - 1)];
    while (*pp != g) {
        pp = &(*pp)->hnext;
    }
    *pp = g->hnext;
    lru_unlink(c, g);
    group_free(g);
    c->ngroups--;
}

static bool tab_grow(corr *c)
{
    size_t cap = c->tabcap ? c->tabcap * 2 : 64;
    group **t = calloc(cap, sizeof *t);
    if (t == NULL) {
        return false;
    }
    for (size_t b = 0; b < c->tabcap; b++) {
        group *g = c->tab[b];
        while (g != NULL) {
            group *nx = g->hnext;
            g->hnext = t[g->hash & (cap - 1)];
            t[g->hash & (cap - 1)] = g;
            g = nx;
        }
    }
    free(c->tab);
    c->tab = t;
    c->tabcap = cap;
    return true;
}

static group *group_get(cs_corrset *cs, corr *c, const char *key, size_t keylen)
{
    uint32_t h = (uint32_t)fnv(key, keylen);
    group *g;
    if (c->tabcap > 0) {
        for (g = c->tab[h & (c->tabcap - 1)]; g != NULL; g = g->hnext) {
            if (g->hash == h && g->keylen == keylen && memcmp(g->key, key, keylen) == 0) {
                lru_unlink(c, g);
                lru_front(c, g);
                return g;
            }
        }
    }
    while (c->ngroups >= cs->max_groups && c->lru_tail != NULL) {
        group_remove(c, c->lru_tail);
        cs->evicted++;
    }
    if ((c->ngroups + 1 > c->tabcap) && !tab_grow(c)) {
        if (c->tabcap == 0) {
            return NULL;
        }
    }
    g = calloc(1, offsetof(group, key) + keylen + 1);
    if (g == NULL) {
        return NULL;
    }
    memcpy(g->key, key, keylen);
    g->keylen = (uint16_t)keylen;
    g->ring = &g->inl;
    g->hash = h;
    g->hnext = c->tab[h & (c->tabcap - 1)];
    c->tab[h & (c->tabcap - 1)] = g;
    lru_front(c, g);
    c->ngroups++;
    return g;
}

static entry *ring_at(const group *g, uint32_t i)
{
    return &g->ring[(g->head + i) & (GCAP(g) - 1)];
}

static bool ring_push(cs_corrset *cs, group *g, const entry *e)
{
    if (g->n == GCAP(g)) {
        if (GCAP(g) < cs->max_entries) {
            uint8_t l2 = (uint8_t)(g->capl2 == 0 ? 2 : g->capl2 + 1);   /* 1, then 4, 8, ... */
            entry *r = malloc(((size_t)1 << l2) * sizeof *r);
            if (r == NULL) {
                return false;
            }
            for (uint32_t i = 0; i < g->n; i++) {
                r[i] = *ring_at(g, i);
            }
            if (g->ring != &g->inl) {
                free(g->ring);
            }
            g->ring = r;
            g->capl2 = l2;
            g->head = 0;
        } else {
            g->head = (g->head + 1) & (GCAP(g) - 1);   /* drop the oldest */
            g->n--;
            cs->overflow++;
        }
    }
    g->ring[(g->head + g->n) & (GCAP(g) - 1)] = *e;
    g->n++;
    if (e->t > g->newest || g->n == 1) {
        g->newest = e->t;
    }
    return true;
}

static void ring_prune(group *g, int64_t cutoff)
{
    while (g->n > 0 && ring_at(g, 0)->t < cutoff) {
        g->head = (g->head + 1) & (GCAP(g) - 1);
        g->n--;
    }
}

/* Free groups whose newest entry has left every possible window. */
static void expire(cs_corrset *cs, corr *c, int64_t cutoff)
{
    while (c->lru_tail != NULL && c->lru_tail->newest < cutoff) {
        group_remove(c, c->lru_tail);
        cs->expired++;
    }
}

/* ------------------------------------------------------------ evaluating -- */

static int cmp_entry_t(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    return x->t < y->t ? -1 : x->t > y->t;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = ((const entry *)a)->u.h, y = ((const entry *)b)->u.h;
    return x < y ? -1 : x > y;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static bool cond_ok(const corr *c, double v)
{
    return (!c->has[OP_GT] || v > c->cmp[OP_GT]) && (!c->has[OP_GTE] || v >= c->cmp[OP_GTE]) &&
           (!c->has[OP_LT] || v < c->cmp[OP_LT]) && (!c->has[OP_LTE] || v <= c->cmp[OP_LTE]) &&
           (!c->has[OP_EQ] || v == c->cmp[OP_EQ]) && (!c->has[OP_NEQ] || v != c->cmp[OP_NEQ]);
}

/* Copy the entries within [lo, hi] into cs->scratch; returns how many. */
static size_t window(cs_corrset *cs, const group *g, int64_t lo, int64_t hi)
{
    size_t k = 0;
    if (cs->scratch_cap < g->n) {
        entry *p = realloc(cs->scratch, g->n * sizeof *p);
        if (p == NULL) {
            return 0;
        }
        cs->scratch = p;
        cs->scratch_cap = g->n;
    }
    for (uint32_t i = 0; i < g->n; i++) {
        const entry *e = ring_at(g, i);
        if (e->t >= lo && e->t <= hi) {
            cs->scratch[k++] = *e;
        }
    }
    return k;
}

static double evaluate(cs_corrset *cs, const corr *c, const group *g, int64_t now)
{
    size_t k = window(cs, g, now - c->span_us, now);
    entry *w = cs->scratch;
    double v = 0;
    switch (c->type) {
    case T_EVENT_COUNT:
        return (double)k;
    case T_VALUE_COUNT: {
        size_t d = 0;
        qsort(w, k, sizeof *w, cmp_u64);
        for (size_t i = 0; i < k; i++) {
            d += i == 0 || w[i].u.h != w[i - 1].u.h;
        }
        return (double)d;
    }
    case T_TEMPORAL: {
        size_t d = 0;
        for (size_t r = 0; r < c->nrefs; r++) {
            for (size_t i = 0; i < k; i++) {
                if (w[i].u.rule == r) {
                    d++;
                    break;
                }
            }
        }
        return (double)d;
    }
    case T_TEMPORAL_ORDERED: {
        /* greedy earliest match of rules[0] < rules[1] < ... (strict times) */
        size_t j = 0;
        int64_t last = INT64_MIN;
        qsort(w, k, sizeof *w, cmp_entry_t);
        for (size_t i = 0; i < k && j < c->nrefs; i++) {
            if (w[i].u.rule == j && (j == 0 || w[i].t > last)) {
                last = w[i].t;
                j++;
            }
        }
        return (double)j;
    }
    case T_VALUE_SUM:
    case T_VALUE_AVG:
        for (size_t i = 0; i < k; i++) {
            v += w[i].u.v;
        }
        return c->type == T_VALUE_AVG && k > 0 ? v / (double)k : v;
    case T_VALUE_PCT: {
        double rank, frac;
        size_t lo, same = 0;
        if (k == 0) {
            return 0;
        }
        if (!c->pct_numeric) {
            /* the specification's example: how rare is this event's value,
             * in percent of the group's events in the window */
            for (size_t i = 0; i < k; i++) {
                same += w[i].u.h == cs->cur_h;
            }
            return 100.0 * (double)same / (double)k;
        }
        if (cs->vals_cap < k) {
            double *p = realloc(cs->vals, k * sizeof *p);
            if (p == NULL) {
                return 0;
            }
            cs->vals = p;
            cs->vals_cap = k;
        }
        for (size_t i = 0; i < k; i++) {
            cs->vals[i] = w[i].u.v;
        }
        qsort(cs->vals, k, sizeof *cs->vals, cmp_dbl);
        rank = c->pct / 100.0 * (double)(k - 1);
        lo = (size_t)rank;
        frac = rank - (double)lo;
        return lo + 1 < k ? cs->vals[lo] + frac * (cs->vals[lo + 1] - cs->vals[lo]) : cs->vals[lo];
    }
    }
    return 0;
}

/* Group key of ev for reference r; false when a group-by field is missing. */
static bool make_key(const corr *c, size_t r, const cs_event *ev, char *key, size_t *keylen)
{
    size_t n = 0;
    for (size_t g = 0; g < c->ngroup; g++) {
        const cs_field *f = cs_event_find(ev, c->gfids[r * c->ngroup + g]);
        char buf[64];
        size_t len;
        const char *s;
        if (f == NULL) {
            return false;
        }
        s = cs_field_text(ev, f, buf, sizeof buf, &len);
        if (g > 0 && n < KEY_MAX - 1) {
            key[n++] = KEY_SEP;
        }
        if (len > KEY_MAX - 1 - n) {
            len = KEY_MAX - 1 - n;   /* very long values: the key is truncated */
        }
        for (size_t i = 0; i < len; i++) {
            key[n++] = lower(s[i]);
        }
    }
    key[n] = '\0';
    *keylen = n;
    return true;
}

static bool numeric_value(const cs_event *ev, cs_fid id, double *out)
{
    const cs_field *f = cs_event_find(ev, id);
    if (f == NULL) {
        return false;
    }
    switch ((cs_type)f->type) {
    case CS_T_INT:
        *out = (double)f->v.i;
        return true;
    case CS_T_FLOAT:
        *out = f->v.f;
        return isfinite(*out);
    case CS_T_STR: {
        const char *s = cs_event_strval(ev, f);
        char *end;
        if (f->len == 0) {
            return false;
        }
        errno = 0;
        *out = strtod(s, &end);
        return end == s + f->len && errno == 0 && isfinite(*out);
    }
    default:
        return false;
    }
}

static void feed_corr(cs_corrset *cs, size_t ci, size_t r, const cs_event *ev, cs_corr_fire_cb cb, void *ud,
                      int depth);

static void feed_target(cs_corrset *cs, const cs_rule *rule, size_t fired_corr, const cs_event *ev,
                        cs_corr_fire_cb cb, void *ud, int depth)
{
    if (depth > CS_CORR_MAX_CHAIN) {
        return;
    }
    for (size_t i = 0; i < cs->n; i++) {
        corr *c = cs->corrs[i];
        for (size_t r = 0; r < c->nrefs; r++) {
            if ((rule != NULL && c->refs[r].base == rule) || (rule == NULL && c->refs[r].corr == fired_corr)) {
                feed_corr(cs, i, r, ev, cb, ud, depth);
            }
        }
    }
}

static void feed_corr(cs_corrset *cs, size_t ci, size_t r, const cs_event *ev, cs_corr_fire_cb cb, void *ud,
                      int depth)
{
    corr *c = cs->corrs[ci];
    char key[KEY_MAX];
    size_t keylen;
    entry e;
    group *g;
    double v;
    int64_t t = ev->ts_us;
    bool temporal = c->type == T_TEMPORAL || c->type == T_TEMPORAL_ORDERED;

    if (c->any && t < c->newest - c->span_us) {
        cs->late++;
        return;
    }
    if (!temporal && c->last_ev == ev && c->last_ts == t && c->any) {
        return;   /* the same event matched another referenced rule: counts once */
    }
    if (!make_key(c, r, ev, key, &keylen)) {
        return;
    }
    e.t = t;
    e.u.h = 0;
    switch (c->type) {
    case T_EVENT_COUNT:
        break;
    case T_TEMPORAL:
    case T_TEMPORAL_ORDERED:
        e.u.rule = (uint32_t)r;
        break;
    case T_VALUE_PCT:
        if (c->pct_numeric) {
            if (!numeric_value(ev, c->field, &e.u.v)) {
                return;
            }
            break;
        }
        /* the share of a value is counted on its text, as value_count */
        __attribute__((fallthrough));
    case T_VALUE_COUNT: {
        const cs_field *f = cs_event_find(ev, c->field);
        char buf[64], low[KEY_MAX];
        size_t len;
        const char *s;
        if (f == NULL) {
            return;
        }
        s = cs_field_text(ev, f, buf, sizeof buf, &len);
        if (len > sizeof low) {
            len = sizeof low;
        }
        for (size_t i = 0; i < len; i++) {
            low[i] = lower(s[i]);
        }
        e.u.h = fnv(low, len);
        cs->cur_h = e.u.h;
        break;
    }
    default:
        if (!numeric_value(ev, c->field, &e.u.v)) {
            return;
        }
        break;
    }
    if (!c->any || t > c->newest) {
        c->newest = t;
        c->any = true;
    }
    c->last_ev = ev;
    c->last_ts = t;
    expire(cs, c, c->newest - c->span_us);
    g = group_get(cs, c, key, keylen);
    if (g == NULL) {
        return;
    }
    ring_prune(g, c->newest - c->span_us);
    if (!ring_push(cs, g, &e)) {
        return;
    }
    v = evaluate(cs, c, g, g->newest > t ? g->newest : t);
    if (!cond_ok(c, v)) {
        return;
    }
    cs->fired++;
    g->n = 0;   /* reset the window: one burst fires once */
    g->head = 0;
    if (cb != NULL) {
        cb(&c->info, ev, key, (int64_t)v, ud);
    }
    feed_target(cs, NULL, ci, ev, cb, ud, depth + 1);
}

void cs_corrset_feed(cs_corrset *cs, const cs_rule *rule, const cs_event *ev, cs_corr_fire_cb cb, void *ud)
{
    if (cs == NULL || rule == NULL || ev == NULL) {
        return;
    }
    feed_target(cs, rule, NO_CORR, ev, cb, ud, 0);
}
