/* cmd_rules.c - `citysoc rules check PATH...`: validate rules;
 * `citysoc rules test PATH...`: run each rule's tests file (X.tests.yml next
 * to X.yml). */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../correlator/correlation.h"
#include "../runtime/json.h"
#include "../runtime/yamltree.h"
#include "cli.h"

static const char usage[] =
    "usage: citysoc rules check [-c CONFIG] PATH...\n"
    "       citysoc rules test [-c CONFIG] PATH...\n"
    "\n"
    "-c CONFIG: load the configuration's rule_placeholders and rule_mappings\n"
    "first, as `citysoc run -c CONFIG` does (rules using |expand need it).\n"
    "\n"
    "check: load every Sigma rule and correlation rule under each PATH (file or\n"
    "directory) and report each refused rule with file, line and reason.\n"
    "Exit 1 if any was refused. Rule tests files (*.tests.yml) are not rules\n"
    "and are skipped.\n"
    "\n"
    "test: load every rule under each PATH, then, for every rule file X.yml\n"
    "with a sibling X.tests.yml, run its tests. Prints one line per rule file\n"
    "(ok, or FAIL with the tests file:line of the event that failed), then\n"
    "'N rules tested, N passed, N failed'. Exit 1 if any test failed, if a\n"
    "tests file is invalid or has no rule file, or if no tests were found.\n"
    "\n"
    "A tests file holds one or more YAML documents ('---' separated), each a\n"
    "mapping with these keys (all optional):\n"
    "  name:        a label for messages\n"
    "  match:       events that some Sigma rule of X.yml must match\n"
    "  no_match:    events that no Sigma rule of X.yml may match\n"
    "  sequence:    events fed in order through every loaded rule into a fresh\n"
    "               correlation state (give each an '@timestamp')\n"
    "  expect_fire: how many times the correlation rules of X.yml must fire\n"
    "               over the sequence (required with sequence)\n"
    "An event is a mapping of field names (dotted, like process.name, or\n"
    "nested mappings) to strings, numbers, booleans, null or lists. It is read\n"
    "as the JSON event citysoc would receive, so fields are typed the same way\n"
    "(an IP address under source.ip becomes an IP, '@timestamp' the event\n"
    "time; quote '@timestamp' as YAML requires). Example:\n"
    "  match:\n"
    "    - {process.name: sshd, message: 'Failed password for root'}\n"
    "  no_match:\n"
    "    - {process.name: cron, message: 'Failed password for root'}\n"
    "  ---\n"
    "  name: ten failures in a minute\n"
    "  sequence:\n"
    "    - {'@timestamp': '2026-03-12T10:00:00Z', source.ip: 203.0.113.7}\n"
    "  expect_fire: 0\n";

static void report(const char *msg, void *ud)
{
    size_t *bad = ud;
    (*bad)++;
    fprintf(stderr, "%s\n", msg);
}

/* ------------------------------------------------------------ file lists */

typedef struct flist {
    char **v;
    size_t n, cap;
} flist;

static bool flist_add(flist *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        char **p = realloc(l->v, cap * sizeof *p);
        if (p == NULL) {
            return false;
        }
        l->v = p;
        l->cap = cap;
    }
    if ((l->v[l->n] = strdup(s)) == NULL) {
        return false;
    }
    l->n++;
    return true;
}

static void flist_free(flist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i]);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool is_yaml(const char *name)
{
    return (strlen(name) > 4 && ends_with(name, ".yml")) || (strlen(name) > 5 && ends_with(name, ".yaml"));
}

static bool is_tests(const char *name)
{
    return ends_with(name, ".tests.yml") || ends_with(name, ".tests.yaml");
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Every .yml/.yaml under dir (sorted bytewise, dot-names skipped), like the
 * rule loaders walk; false (reported) if something cannot be read. */
static bool walk(const char *dir, int depth, flist *out)
{
    struct dirent **list = NULL;
    size_t dl = strlen(dir);
    const char *sep = (dl > 0 && dir[dl - 1] == '/') ? "" : "/";
    bool ok = true;
    int n;
    if (depth > CS_SIGMA_MAX_DIR_DEPTH) {
        cs_cli_error("%s: directories nested too deep", dir);
        return false;
    }
    if ((n = scandir(dir, &list, NULL, name_cmp)) < 0) {
        cs_cli_error("%s: cannot read directory: %s", dir, strerror(errno));
        return false;
    }
    for (int i = 0; i < n; i++) {
        const char *name = list[i]->d_name;
        size_t plen = dl + strlen(name) + 2;
        char *path = NULL;
        struct stat sb;
        if (name[0] != '.' && ok && (path = malloc(plen)) != NULL) {
            snprintf(path, plen, "%s%s%s", dir, sep, name);
            if (stat(path, &sb) != 0) {
                cs_cli_error("%s: %s", path, strerror(errno));
                ok = false;
            } else if (S_ISDIR(sb.st_mode)) {
                ok = walk(path, depth + 1, out) && ok;
            } else if (is_yaml(name) && !flist_add(out, path)) {
                ok = false;
            }
        } else if (name[0] != '.' && ok) {
            ok = false;
        }
        free(path);
        free(list[i]);
    }
    free(list);
    return ok;
}

/* Files named by PATH arguments: a directory's YAML files, or the file. */
static bool collect(char **paths, int npaths, flist *out)
{
    bool ok = true;
    for (int i = 0; i < npaths; i++) {
        struct stat sb;
        if (stat(paths[i], &sb) != 0) {
            cs_cli_error("%s: %s", paths[i], strerror(errno));
            ok = false;
        } else if (S_ISDIR(sb.st_mode)) {
            ok = walk(paths[i], 0, out) && ok;
        } else if (!flist_add(out, paths[i])) {
            ok = false;
        }
    }
    return ok;
}

/* ------------------------------------------------------------ rules check */

static int cmd_check(const cs_config *cfg, char **paths, int npaths)
{
    cs_ruleset *rs = NULL;
    cs_corrset *cs = NULL;
    flist files = {0};
    size_t bad = 0;
    int status = CS_EXIT_OK;

    if (cs_ruleset_new(&rs) != CS_OK || cs_rules_prepare(rs, cfg) != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        cs_ruleset_free(rs);
        return CS_EXIT_FAIL;
    }
    if (!collect(paths, npaths, &files)) {
        status = CS_EXIT_FAIL;
    }
    for (size_t i = 0; i < files.n; i++) {
        if (is_tests(files.v[i])) {
            continue;
        }
        if (cs_ruleset_load_path(rs, files.v[i], report, &bad) == CS_ERR_IO) {
            cs_cli_error("%s", cs_err_msg());
            status = CS_EXIT_FAIL;
        }
    }
    /* correlations refer to rules by id or name: load them once all rules are in */
    if (cs_corrset_new(rs, &cs) == CS_OK) {
        for (size_t i = 0; i < files.n; i++) {
            if (!is_tests(files.v[i])) {
                cs_corrset_load_path(cs, files.v[i], report, &bad);
            }
        }
    }
    printf("%zu rules loaded, %zu correlation rules loaded, %zu refused\n", cs_ruleset_count(rs),
           cs ? cs_corrset_count(cs) : 0, bad);
    if (cs_ruleset_filter_count(rs) > 0) {
        printf("%zu meta filters loaded\n", cs_ruleset_filter_count(rs));
    }
    cs_corrset_free(cs);
    if (bad > 0) {
        status = CS_EXIT_FAIL;
    }
    cs_ruleset_free(rs);
    flist_free(&files);
    return status;
}

/* ------------------------------------------------------------- rules test */

/* Is a plain YAML scalar a JSON number? (YAML-only forms stay strings.) */
static bool json_number(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-') {
        i++;
    }
    if (i >= n || s[i] < '0' || s[i] > '9') {
        return false;
    }
    if (s[i] == '0' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9') {
        return false;
    }
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        i++;
    }
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || s[i] < '0' || s[i] > '9') {
            return false;
        }
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        if (i >= n || s[i] < '0' || s[i] > '9') {
            return false;
        }
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
    }
    return i == n;
}

static void render(cs_buf *b, const cs_yaml_node *n)
{
    if (n->type == CS_YAML_MAP) {
        cs_buf_putc(b, '{');
        for (size_t i = 0; i < n->n; i++) {
            if (i > 0) {
                cs_buf_putc(b, ',');
            }
            cs_buf_json_str(b, n->keys[i]->str ? n->keys[i]->str : "", n->keys[i]->len);
            cs_buf_putc(b, ':');
            render(b, n->items[i]);
        }
        cs_buf_putc(b, '}');
    } else if (n->type == CS_YAML_SEQ) {
        cs_buf_putc(b, '[');
        for (size_t i = 0; i < n->n; i++) {
            if (i > 0) {
                cs_buf_putc(b, ',');
            }
            render(b, n->items[i]);
        }
        cs_buf_putc(b, ']');
    } else if (cs_yaml_is_null(n)) {
        cs_buf_append_cstr(b, "null");
    } else if (n->plain && (strcmp(n->str, "true") == 0 || strcmp(n->str, "True") == 0 ||
                            strcmp(n->str, "TRUE") == 0)) {
        cs_buf_append_cstr(b, "true");
    } else if (n->plain && (strcmp(n->str, "false") == 0 || strcmp(n->str, "False") == 0 ||
                            strcmp(n->str, "FALSE") == 0)) {
        cs_buf_append_cstr(b, "false");
    } else if (n->plain && json_number(n->str, n->len)) {
        cs_buf_append(b, n->str, n->len);
    } else {
        cs_buf_json_str(b, n->str ? n->str : "", n->len);
    }
}

/* The event a tests-file mapping stands for (NULL and a message on error). */
static cs_event *make_event(const char *tpath, const cs_yaml_node *n, char *err, size_t errlen)
{
    cs_buf b;
    cs_event *ev = NULL;
    if (n->type != CS_YAML_MAP) {
        snprintf(err, errlen, "%s:%d: an event must be a mapping of fields, not %s", tpath, n->line,
                 cs_yaml_type_name(n->type));
        return NULL;
    }
    cs_buf_init(&b);
    render(&b, n);
    if (b.failed) {
        snprintf(err, errlen, "%s:%d: out of memory", tpath, n->line);
    } else if (cs_json_read_event(b.data, b.len, tpath, n->line, &ev) != CS_OK) {
        snprintf(err, errlen, "%s", cs_err_msg());
        ev = NULL;
    }
    cs_buf_free(&b);
    return ev;
}

typedef struct test_ctx {
    const cs_ruleset *rs;
    flist *files;          /* every rule file, for fresh correlation state */
    const char *rule_path; /* X.yml */
    const char *tpath;     /* X.tests.yml */
    unsigned failures;
    unsigned nmatch, nno, nseq;
    char first[1024];
    cs_buf more;           /* the failures after the first, one line each */
} test_ctx;

static void fail(test_ctx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(test_ctx *t, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (t->failures++ == 0) {
        snprintf(t->first, sizeof t->first, "%s", msg);
    } else {
        cs_buf_printf(&t->more, "     also: %s\n", msg);
    }
}

/* Is the i-th rule of the ruleset from X.yml? */
static bool rule_of(const test_ctx *t, const cs_rule *r)
{
    return strcmp(cs_rule_get_info(r)->path, t->rule_path) == 0;
}

static size_t rules_of(const test_ctx *t)
{
    size_t n = 0;
    for (size_t i = 0; i < cs_ruleset_count(t->rs); i++) {
        n += rule_of(t, cs_ruleset_rule(t->rs, i));
    }
    return n;
}

static void test_single(test_ctx *t, const cs_yaml_node *list, bool want, const char *label)
{
    if (list->type != CS_YAML_SEQ) {
        fail(t, "%s:%d: '%s' must be a list of events", t->tpath, list->line, label);
        return;
    }
    if (list->n > 0 && rules_of(t) == 0) {
        fail(t, "%s:%d: '%s' given but %s has no Sigma detection rule", t->tpath, list->line, label, t->rule_path);
        return;
    }
    for (size_t i = 0; i < list->n; i++) {
        char err[1024];
        const cs_rule *hit = NULL;
        cs_event *ev = make_event(t->tpath, list->items[i], err, sizeof err);
        if (ev == NULL) {
            fail(t, "%s", err);
            continue;
        }
        for (size_t r = 0; r < cs_ruleset_count(t->rs) && hit == NULL; r++) {
            const cs_rule *rule = cs_ruleset_rule(t->rs, r);
            if (rule_of(t, rule) && cs_rule_match(rule, ev)) {
                hit = rule;
            }
        }
        if (want && hit == NULL) {
            fail(t, "%s:%d: %s event %zu did not match", t->tpath, list->items[i]->line, label, i + 1);
        } else if (!want && hit != NULL) {
            fail(t, "%s:%d: %s event %zu matched rule '%s'", t->tpath, list->items[i]->line, label, i + 1,
                 cs_rule_get_info(hit)->title);
        }
        want ? t->nmatch++ : t->nno++;
        cs_event_free(ev);
    }
}

typedef struct seq_state {
    cs_corrset *cs;
    const char *rule_path;
    long fired;
    long ours;   /* correlations from X.yml */
} seq_state;

static void on_fire(const cs_corr_info *corr, const cs_event *last_event, const char *group_key,
                    int64_t count_or_value, void *ud)
{
    seq_state *s = ud;
    (void)last_event;
    (void)group_key;
    (void)count_or_value;
    if (strcmp(corr->path, s->rule_path) == 0) {
        s->fired++;
    }
}

static void on_match(const cs_rule *rule, const cs_event *ev, void *ud)
{
    seq_state *s = ud;
    cs_corrset_feed(s->cs, rule, ev, on_fire, s);
}

static void test_sequence(test_ctx *t, const cs_yaml_file *yf, const cs_yaml_node *doc, const char *name)
{
    const cs_yaml_node *seq = cs_yaml_get(doc, "sequence");
    const cs_yaml_node *ef = cs_yaml_get(doc, "expect_fire");
    seq_state s = {NULL, t->rule_path, 0, 0};
    cs_event **evs = NULL;
    int64_t expect = 0;

    if (seq->type != CS_YAML_SEQ) {
        fail(t, "%s:%d: 'sequence' must be a list of events", t->tpath, seq->line);
        return;
    }
    if (ef == NULL || cs_yaml_int(yf, ef, 0, INT32_MAX, &expect) != CS_OK) {
        fail(t, "%s:%d: 'sequence' needs 'expect_fire: N' (N >= 0)", t->tpath, ef ? ef->line : seq->line);
        return;
    }
    if (cs_corrset_new(t->rs, &s.cs) != CS_OK) {
        fail(t, "%s", cs_err_msg());
        return;
    }
    for (size_t i = 0; i < t->files->n; i++) {
        if (!is_tests(t->files->v[i])) {
            cs_corrset_load_path(s.cs, t->files->v[i], NULL, NULL);
        }
    }
    for (size_t i = 0; i < cs_corrset_count(s.cs); i++) {
        s.ours += strcmp(cs_corrset_info(s.cs, i)->path, t->rule_path) == 0;
    }
    if (s.ours == 0) {
        fail(t, "%s:%d: 'sequence' given but %s has no correlation rule", t->tpath, seq->line, t->rule_path);
        cs_corrset_free(s.cs);
        return;
    }
    /* every event lives until the end: the correlation set tells repeated
     * feeds of one event apart by its address */
    if ((evs = calloc(seq->n + 1, sizeof *evs)) == NULL) {
        fail(t, "out of memory");
        cs_corrset_free(s.cs);
        return;
    }
    for (size_t i = 0; i < seq->n; i++) {
        char err[1024];
        if ((evs[i] = make_event(t->tpath, seq->items[i], err, sizeof err)) == NULL) {
            fail(t, "%s", err);
            continue;
        }
        cs_ruleset_match(t->rs, evs[i], on_match, &s);
    }
    if (s.fired != expect) {
        fail(t, "%s:%d: sequence%s%s%s fired %ld time(s), expected %lld", t->tpath, seq->line, name ? " '" : "",
             name ? name : "", name ? "'" : "", s.fired, (long long)expect);
    }
    t->nseq++;
    for (size_t i = 0; i < seq->n; i++) {
        cs_event_free(evs[i]);
    }
    free(evs);
    cs_corrset_free(s.cs);
}

static void run_tests(test_ctx *t)
{
    cs_yaml_file *yf = NULL;
    if (cs_yaml_load_file(t->tpath, &yf) != CS_OK) {
        fail(t, "%s", cs_err_msg());
        return;
    }
    for (size_t d = 0; d < yf->ndocs; d++) {
        const cs_yaml_node *doc = yf->docs[d];
        const cs_yaml_node *n;
        const char *name = NULL;
        bool bad = false;
        if (cs_yaml_is_null(doc)) {
            continue;
        }
        if (doc->type != CS_YAML_MAP) {
            fail(t, "%s:%d: a tests document must be a mapping", t->tpath, doc->line);
            continue;
        }
        for (size_t k = 0; k < doc->n; k++) {
            const cs_yaml_node *key = doc->keys[k];
            if (!cs_yaml_scalar_eq(key, "name") && !cs_yaml_scalar_eq(key, "match") &&
                !cs_yaml_scalar_eq(key, "no_match") && !cs_yaml_scalar_eq(key, "sequence") &&
                !cs_yaml_scalar_eq(key, "expect_fire")) {
                fail(t, "%s:%d: unknown key '%s' (name, match, no_match, sequence, expect_fire)", t->tpath,
                     key->line, key->type == CS_YAML_SCALAR ? key->str : "?");
                bad = true;
            }
        }
        if (bad) {
            continue;
        }
        if ((n = cs_yaml_get(doc, "name")) != NULL && cs_yaml_str(yf, n, &name) != CS_OK) {
            name = NULL;
        }
        if ((n = cs_yaml_get(doc, "match")) != NULL && !cs_yaml_is_null(n)) {
            test_single(t, n, true, "match");
        }
        if ((n = cs_yaml_get(doc, "no_match")) != NULL && !cs_yaml_is_null(n)) {
            test_single(t, n, false, "no_match");
        }
        if ((n = cs_yaml_get(doc, "sequence")) != NULL && !cs_yaml_is_null(n)) {
            test_sequence(t, yf, doc, name);
        } else if (cs_yaml_get(doc, "expect_fire") != NULL) {
            fail(t, "%s:%d: 'expect_fire' without 'sequence'", t->tpath, doc->line);
        }
    }
    if (t->nmatch + t->nno + t->nseq == 0 && t->failures == 0) {
        fail(t, "%s: no tests in it", t->tpath);
    }
    cs_yaml_free(yf);
}

/* Per-file load failures, while loading. */
typedef struct load_track {
    bool bad;
    size_t total;
} load_track;

static void track(const char *msg, void *ud)
{
    load_track *lt = ud;
    lt->bad = true;
    lt->total++;
    fprintf(stderr, "%s\n", msg);
}

/* X.tests.yml -> X.yml (or X.yaml if that exists); malloc'd. */
static char *rule_for(const char *tpath)
{
    size_t n = strlen(tpath);
    size_t cut = ends_with(tpath, ".tests.yml") ? 10 : 11;
    char *p = malloc(n + 1);
    struct stat sb;
    if (p == NULL) {
        return NULL;
    }
    memcpy(p, tpath, n - cut);
    strcpy(p + n - cut, ".yml");
    if (stat(p, &sb) != 0) {
        strcpy(p + n - cut, ".yaml");
        if (stat(p, &sb) != 0) {
            strcpy(p + n - cut, ".yml");
        }
    }
    return p;
}

static bool in_list(const flist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i], s) == 0) {
            return true;
        }
    }
    return false;
}

static int cmd_test(const cs_config *cfg, char **paths, int npaths)
{
    cs_ruleset *rs = NULL;
    cs_corrset *cs = NULL;
    flist files = {0}, tests = {0}, refused = {0};
    size_t tested = 0, passed = 0, failed = 0, untested = 0;
    int status = CS_EXIT_OK;
    load_track lt = {false, 0};

    if (cs_ruleset_new(&rs) != CS_OK || cs_rules_prepare(rs, cfg) != CS_OK) {
        cs_cli_error("%s", cs_err_msg());
        cs_ruleset_free(rs);
        return CS_EXIT_FAIL;
    }
    if (!collect(paths, npaths, &files)) {
        status = CS_EXIT_FAIL;
    }
    /* a tests file named directly brings its rule file along, and the other way round */
    for (size_t i = 0, n = files.n; i < n; i++) {
        if (is_tests(files.v[i])) {
            char *rp = rule_for(files.v[i]);
            if (rp != NULL && !in_list(&files, rp) && !in_list(&tests, files.v[i])) {
                struct stat sb;
                if (stat(rp, &sb) == 0) {
                    flist_add(&files, rp);
                }
            }
            free(rp);
            if (!in_list(&tests, files.v[i])) {
                flist_add(&tests, files.v[i]);
            }
        }
    }
    for (size_t i = 0, n = files.n; i < n; i++) {
        if (!is_tests(files.v[i])) {
            size_t len = strlen(files.v[i]);
            size_t cut = ends_with(files.v[i], ".yml") ? 4 : ends_with(files.v[i], ".yaml") ? 5 : 0;
            char *tp = malloc(len + 16);
            struct stat sb;
            bool found = false;
            if (tp != NULL && cut > 0) {
                memcpy(tp, files.v[i], len - cut);
                strcpy(tp + len - cut, ".tests.yml");
                if (stat(tp, &sb) != 0) {
                    strcpy(tp + len - cut, ".tests.yaml");
                }
                if (stat(tp, &sb) == 0) {
                    found = true;
                    if (!in_list(&tests, tp)) {
                        flist_add(&tests, tp);
                    }
                }
            }
            if (!found) {
                untested++;
                fprintf(stderr, "citysoc: no tests for %s\n", files.v[i]);
            }
            free(tp);
        }
    }
    for (size_t i = 0; i < files.n; i++) {
        if (!is_tests(files.v[i])) {
            lt.bad = false;
            if (cs_ruleset_load_path(rs, files.v[i], track, &lt) == CS_ERR_IO) {
                status = CS_EXIT_FAIL;
            }
            if (lt.bad) {
                flist_add(&refused, files.v[i]);
            }
        }
    }
    if (cs_corrset_new(rs, &cs) == CS_OK) {
        for (size_t i = 0; i < files.n; i++) {
            if (!is_tests(files.v[i])) {
                lt.bad = false;
                cs_corrset_load_path(cs, files.v[i], track, &lt);
                if (lt.bad && !in_list(&refused, files.v[i])) {
                    flist_add(&refused, files.v[i]);
                }
            }
        }
    }
    cs_corrset_free(cs);

    for (size_t i = 0; i < tests.n; i++) {
        char *rp = rule_for(tests.v[i]);
        test_ctx t;
        memset(&t, 0, sizeof t);
        t.rs = rs;
        t.files = &files;
        t.rule_path = rp ? rp : "";
        t.tpath = tests.v[i];
        cs_buf_init(&t.more);
        if (rp == NULL || !in_list(&files, rp)) {
            fail(&t, "%s: no rule file next to it", tests.v[i]);
        } else if (in_list(&refused, rp)) {
            fail(&t, "%s: the rule file was refused at load (see above)", rp);
        } else {
            run_tests(&t);
        }
        tested++;
        if (t.failures == 0) {
            passed++;
            printf("ok   %s (%u match, %u no_match, %u sequence%s)\n", t.rule_path, t.nmatch, t.nno, t.nseq,
                   t.nseq == 1 ? "" : "s");
        } else {
            failed++;
            printf("FAIL %s: %s\n", rp ? rp : tests.v[i], t.first);
            if (t.more.len > 0) {
                fputs(t.more.data, stdout);
            }
        }
        fflush(stdout);
        cs_buf_free(&t.more);
        free(rp);
    }
    printf("%zu rules tested, %zu passed, %zu failed\n", tested, passed, failed);
    if (untested > 0) {
        fprintf(stderr, "citysoc: %zu rule file(s) have no tests file\n", untested);
    }
    if (tested == 0) {
        cs_cli_error("no rule tests (*.tests.yml) found");
        status = CS_EXIT_FAIL;
    }
    if (failed > 0) {
        status = CS_EXIT_FAIL;
    }
    cs_ruleset_free(rs);
    flist_free(&files);
    flist_free(&tests);
    flist_free(&refused);
    return status;
}

int cs_cmd_rules(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return CS_EXIT_OK;
    }
    if (argc < 3 || (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "test") != 0)) {
        fputs(usage, stderr);
        return CS_EXIT_USAGE;
    }
    {
        cs_config *cfg = NULL;
        char **paths = calloc((size_t)argc, sizeof *paths);
        int npaths = 0, status;
        if (paths == NULL) {
            cs_cli_error("out of memory");
            return CS_EXIT_FAIL;
        }
        for (int i = 2; i < argc; i++) {
            if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc && cfg == NULL) {
                if (cs_config_load(argv[++i], &cfg) != CS_OK) {
                    cs_cli_error("%s", cs_err_msg());
                    free(paths);
                    return CS_EXIT_FAIL;
                }
            } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
                cs_cli_error("rules %s: unknown option %s", argv[1], argv[i]);
                fputs(usage, stderr);
                cs_config_free(cfg);
                free(paths);
                return CS_EXIT_USAGE;
            } else {
                paths[npaths++] = argv[i];
            }
        }
        if (npaths == 0) {
            fputs(usage, stderr);
            status = CS_EXIT_USAGE;
        } else if (strcmp(argv[1], "check") == 0) {
            status = cmd_check(cfg, paths, npaths);
        } else {
            status = cmd_test(cfg, paths, npaths);
        }
        cs_config_free(cfg);
        free(paths);
        return status;
    }
}
