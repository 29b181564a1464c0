/* yara_scan.c - YARA 4.2 rules, scanners and per-flow payload buffers.
 *
 * Design note
 * -----------
 * Rules are compiled once (cs_yara_compile) into one YR_RULES, each file in
 * its own namespace named after the file: the shared rule sets reuse rule
 * names across files, and a namespace is also what an analyst wants to see
 * next to the rule name. A YR_RULES is read-only after compilation, so one
 * compiled set serves every replay and every thread.
 *
 * Scanning goes through a YR_SCANNER per thread (cs_yara_scanner), never
 * through yr_rules_scan_mem(), which builds and tears down a scanner (several
 * allocations sized by the rule count) on every call. Flags:
 *   - SCAN_FLAGS_NO_TRYCATCH: YARA 4.2 otherwise saves and restores the
 *     process-wide SIGSEGV/SIGBUS handlers around every scan, which races
 *     between threads and clobbers ours (fixed only in 4.5). The buffers we
 *     scan are our own heap memory, so there is nothing to catch;
 *   - SCAN_FLAGS_REPORT_RULES_MATCHING only: the default also calls back for
 *     every rule that did not match.
 * The timeout is in whole seconds (YARA checks it every few KB); a timed-out
 * scan reports nothing and is counted by the caller. Matches are collected
 * during the scan and handed out afterwards, so the caller's callback may do
 * anything (build events, call a sink) outside YARA's scan context.
 *
 * yr_initialize()/yr_finalize() are reference counted by YARA but not
 * thread-safe, so a mutex serialises them; every compiled set holds one
 * reference, released when it is freed.
 *
 * Payload buffers (cs_yara_buf) hold the first N bytes of one direction of
 * one flow. They start small and double up to N, so a flow with a few bytes
 * of payload costs a few bytes, and a flow without payload costs nothing;
 * the packet reader frees each one right after its single scan.
 */
#include "yara_scan.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yara.h>

#define MAX_RULE_FILES 100000u
#define MAX_DIR_DEPTH 16
#define FIRST_BUF_CAP 512u

struct cs_yara_rules {
    YR_RULES *rules;
    size_t nrules;
    size_t nfiles;
};

struct cs_yara_scanner {
    YR_SCANNER *scanner;
    const YR_RULE **hits;   /* matching rules of the current scan */
    size_t nhits, cap;
    int oom;
};

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

static cs_rc lib_init(void)
{
    int e;
    pthread_mutex_lock(&init_lock);
    e = yr_initialize();
    pthread_mutex_unlock(&init_lock);
    return e == ERROR_SUCCESS ? CS_OK : cs_err_set(CS_ERR_INTERNAL, "YARA: yr_initialize failed (error %d)", e);
}

static void lib_fini(void)
{
    pthread_mutex_lock(&init_lock);
    yr_finalize();
    pthread_mutex_unlock(&init_lock);
}

/* ------------------------------------------------------ rule file lists -- */

typedef struct name_list {
    char **v;
    size_t n, cap;
} name_list;

static int list_push(name_list *l, char *s)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        char **nv = realloc(l->v, nc * sizeof *nv);
        if (nv == NULL) {
            return -1;
        }
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = s;
    return 0;
}

static void list_free(name_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i]);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int has_rule_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot != NULL && dot != name && (strcmp(dot, ".yar") == 0 || strcmp(dot, ".yara") == 0);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join_path(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    char *p = malloc(dl + nl + 2);
    if (p != NULL) {
        memcpy(p, dir, dl);
        p[dl] = '/';
        memcpy(p + dl + 1, name, nl + 1);
    }
    return p;
}

/* Append the rule files under dir (recursively, sorted per directory so the
 * namespaces and their order do not depend on the file system). */
static cs_rc walk_dir(const char *dir, int depth, name_list *files)
{
    name_list ents = {0};
    DIR *d;
    struct dirent *de;
    cs_rc rc = CS_OK;

    if (depth > MAX_DIR_DEPTH) {
        return cs_err_set(CS_ERR_LIMIT, "%s: YARA rule directories nested deeper than %d", dir, MAX_DIR_DEPTH);
    }
    d = opendir(dir);
    if (d == NULL) {
        return cs_err_set(CS_ERR_IO, "%s: cannot open YARA rule directory: %s", dir, strerror(errno));
    }
    while ((de = readdir(d)) != NULL) {
        char *p;
        if (de->d_name[0] == '.') {
            continue;   /* ., .. and hidden files */
        }
        if ((p = join_path(dir, de->d_name)) == NULL || list_push(&ents, p) != 0) {
            free(p);
            rc = cs_err_set(CS_ERR_NOMEM, "out of memory listing %s", dir);
            goto out;
        }
    }
    if (ents.n > 1) {
        qsort(ents.v, ents.n, sizeof *ents.v, cmp_str);
    }
    for (size_t i = 0; i < ents.n && rc == CS_OK; i++) {
        struct stat st;
        if (stat(ents.v[i], &st) != 0) {
            continue;   /* a dangling link is not a rule file */
        }
        if (S_ISDIR(st.st_mode)) {
            rc = walk_dir(ents.v[i], depth + 1, files);
        } else if (S_ISREG(st.st_mode) && has_rule_ext(ents.v[i])) {
            if (files->n >= MAX_RULE_FILES) {
                rc = cs_err_set(CS_ERR_LIMIT, "%s: more than %u YARA rule files", dir, MAX_RULE_FILES);
            } else if (list_push(files, ents.v[i]) != 0) {
                rc = cs_err_set(CS_ERR_NOMEM, "out of memory listing %s", dir);
            } else {
                ents.v[i] = NULL;   /* moved to files */
            }
        }
    }
out:
    closedir(d);
    list_free(&ents);
    return rc;
}

static cs_rc collect_files(const char *const *paths, size_t npaths, name_list *files)
{
    for (size_t i = 0; i < npaths; i++) {
        struct stat st;
        cs_rc rc;
        if (paths[i] == NULL || stat(paths[i], &st) != 0) {
            return cs_err_set(CS_ERR_IO, "%s: cannot read YARA rules: %s", paths[i] ? paths[i] : "(null)",
                              strerror(paths[i] ? errno : EINVAL));
        }
        if (S_ISDIR(st.st_mode)) {
            if ((rc = walk_dir(paths[i], 0, files)) != CS_OK) {
                return rc;
            }
            continue;
        }
        {
            char *p = strdup(paths[i]);   /* a file named explicitly is taken whatever its extension */
            if (p == NULL || list_push(files, p) != 0) {
                free(p);
                return cs_err_set(CS_ERR_NOMEM, "out of memory");
            }
        }
    }
    return CS_OK;
}

/* Namespace of a file: its name without directory and extension; a name
 * already taken gets a "_<n>" suffix so two same-named files stay apart. */
static char *make_namespace(const char *path, const name_list *taken)
{
    const char *base = strrchr(path, '/');
    const char *dot;
    size_t len;
    char *ns;

    base = base ? base + 1 : path;
    dot = strrchr(base, '.');
    len = dot != NULL && dot != base ? (size_t)(dot - base) : strlen(base);
    ns = malloc(len + 24);
    if (ns == NULL) {
        return NULL;
    }
    memcpy(ns, base, len);
    ns[len] = '\0';
    for (unsigned k = 2;; k++) {
        size_t i;
        for (i = 0; i < taken->n && strcmp(taken->v[i], ns) != 0; i++) {
        }
        if (i == taken->n) {
            return ns;
        }
        snprintf(ns + len, 24, "_%u", k);
    }
}

/* ------------------------------------------------------------ compiling -- */

typedef struct compile_ctx {
    const char *path;        /* file being added */
    int errors;
    char first[512];         /* "<file>:<line>: <message>" of the first error */
} compile_ctx;

static void on_compile_msg(int level, const char *file_name, int line, const YR_RULE *rule, const char *msg,
                           void *ud)
{
    compile_ctx *cc = ud;
    (void)rule;
    if (level != YARA_ERROR_LEVEL_ERROR) {
        return;   /* warnings ("slowing down scanning") are the rule author's business */
    }
    if (cc->errors++ == 0) {
        snprintf(cc->first, sizeof cc->first, "%s:%d: YARA rule does not compile: %s",
                 file_name != NULL ? file_name : cc->path, line, msg != NULL ? msg : "error");
    }
}

cs_rc cs_yara_compile(const char *const *paths, size_t npaths, cs_yara_rules **out)
{
    name_list files = {0}, spaces = {0};
    YR_COMPILER *comp = NULL;
    cs_yara_rules *r = NULL;
    compile_ctx cc;
    YR_RULES_STATS stats;
    int inited = 0;
    cs_rc rc = CS_OK;

    *out = NULL;
    if (paths == NULL || npaths == 0) {
        return cs_err_set(CS_ERR_INVAL, "cs_yara_compile: no rule paths");
    }
    if ((rc = collect_files(paths, npaths, &files)) != CS_OK) {
        goto out;
    }
    if (files.n == 0) {
        rc = cs_err_set(CS_ERR_CONFIG, "%s: no .yar or .yara rule file found", paths[0]);
        goto out;
    }
    if ((rc = lib_init()) != CS_OK) {
        goto out;
    }
    inited = 1;
    if (yr_compiler_create(&comp) != ERROR_SUCCESS) {
        rc = cs_err_set(CS_ERR_NOMEM, "out of memory creating the YARA compiler");
        goto out;
    }
    memset(&cc, 0, sizeof cc);
    yr_compiler_set_callback(comp, on_compile_msg, &cc);
    for (size_t i = 0; i < files.n; i++) {
        char *ns;
        FILE *fp = fopen(files.v[i], "r");
        if (fp == NULL) {
            rc = cs_err_set(CS_ERR_IO, "%s: cannot open YARA rule file: %s", files.v[i], strerror(errno));
            goto out;
        }
        if ((ns = make_namespace(files.v[i], &spaces)) == NULL || list_push(&spaces, ns) != 0) {
            free(ns);
            fclose(fp);
            rc = cs_err_set(CS_ERR_NOMEM, "out of memory");
            goto out;
        }
        cc.path = files.v[i];
        /* After a failed file the compiler is unusable: stop at the first. */
        if (yr_compiler_add_file(comp, fp, ns, files.v[i]) != 0 || cc.errors > 0) {
            fclose(fp);
            rc = cs_err_set(CS_ERR_CONFIG, "%s", cc.first[0] ? cc.first : "YARA rules do not compile");
            goto out;
        }
        fclose(fp);
    }
    if ((r = calloc(1, sizeof *r)) == NULL) {
        rc = cs_err_set(CS_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (yr_compiler_get_rules(comp, &r->rules) != ERROR_SUCCESS) {
        rc = cs_err_set(CS_ERR_NOMEM, "out of memory building the YARA rules");
        goto out;
    }
    r->nfiles = files.n;
    if (yr_rules_get_stats(r->rules, &stats) == ERROR_SUCCESS) {
        r->nrules = stats.num_rules;
    }
    *out = r;
    r = NULL;
    inited = 0;   /* the rules keep the library reference */
out:
    if (comp != NULL) {
        yr_compiler_destroy(comp);
    }
    if (r != NULL) {
        if (r->rules != NULL) {
            yr_rules_destroy(r->rules);
        }
        free(r);
    }
    if (inited) {
        lib_fini();
    }
    list_free(&files);
    list_free(&spaces);
    return rc;
}

void cs_yara_rules_free(cs_yara_rules *r)
{
    if (r == NULL) {
        return;
    }
    yr_rules_destroy(r->rules);
    free(r);
    lib_fini();
}

size_t cs_yara_rules_count(const cs_yara_rules *r)
{
    return r != NULL ? r->nrules : 0;
}

size_t cs_yara_rules_files(const cs_yara_rules *r)
{
    return r != NULL ? r->nfiles : 0;
}

/* ------------------------------------------------------------- scanning -- */

static int on_scan_msg(YR_SCAN_CONTEXT *ctx, int msg, void *data, void *ud)
{
    cs_yara_scanner *s = ud;
    (void)ctx;
    if (msg != CALLBACK_MSG_RULE_MATCHING) {
        return CALLBACK_CONTINUE;   /* TOO_MANY_MATCHES: that string is capped, the scan goes on */
    }
    if (s->nhits == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 8;
        const YR_RULE **nv = realloc(s->hits, nc * sizeof *nv);
        if (nv == NULL) {
            s->oom = 1;
            return CALLBACK_ERROR;
        }
        s->hits = nv;
        s->cap = nc;
    }
    s->hits[s->nhits++] = data;
    return CALLBACK_CONTINUE;
}

cs_rc cs_yara_scanner_new(const cs_yara_rules *r, int timeout_s, cs_yara_scanner **out)
{
    cs_yara_scanner *s;
    *out = NULL;
    if (r == NULL) {
        return cs_err_set(CS_ERR_INVAL, "cs_yara_scanner_new: no rules");
    }
    if ((s = calloc(1, sizeof *s)) == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory creating a YARA scanner");
    }
    if (yr_scanner_create(r->rules, &s->scanner) != ERROR_SUCCESS) {
        free(s);
        return cs_err_set(CS_ERR_NOMEM, "out of memory creating a YARA scanner");
    }
    yr_scanner_set_callback(s->scanner, on_scan_msg, s);
    yr_scanner_set_flags(s->scanner, SCAN_FLAGS_NO_TRYCATCH | SCAN_FLAGS_REPORT_RULES_MATCHING);
    yr_scanner_set_timeout(s->scanner, timeout_s == 0 ? CS_YARA_DEFAULT_TIMEOUT_S : timeout_s < 0 ? 0 : timeout_s);
    *out = s;
    return CS_OK;
}

void cs_yara_scanner_free(cs_yara_scanner *s)
{
    if (s == NULL) {
        return;
    }
    yr_scanner_destroy(s->scanner);
    free(s->hits);
    free(s);
}

cs_rc cs_yara_scan(cs_yara_scanner *s, const uint8_t *buf, size_t len, cs_yara_match_fn fn, void *ud,
                   cs_yara_outcome *outcome)
{
    int e;
    cs_rc rc = CS_OK;

    if (outcome != NULL) {
        *outcome = CS_YARA_SCANNED;
    }
    s->nhits = 0;
    s->oom = 0;
    e = yr_scanner_scan_mem(s->scanner, buf, len);
    if (e == ERROR_SCAN_TIMEOUT) {
        if (outcome != NULL) {
            *outcome = CS_YARA_TIMEOUT;
        }
        return CS_OK;
    }
    if (s->oom || e == ERROR_INSUFFICIENT_MEMORY) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory during a YARA scan");
    }
    if (e != ERROR_SUCCESS && e != ERROR_TOO_MANY_MATCHES) {
        return cs_err_set(CS_ERR_INTERNAL, "YARA scan failed (error %d)", e);
    }
    for (size_t i = 0; i < s->nhits && fn != NULL && rc == CS_OK; i++) {
        const YR_RULE *rule = s->hits[i];
        const char *tag;
        cs_yara_match m;
        m.rule = rule->identifier;
        m.ns = rule->ns != NULL ? rule->ns->name : "";
        m.ntags = 0;
        yr_rule_tags_foreach(rule, tag)
        {
            if (m.ntags < CS_YARA_MAX_TAGS) {
                m.tags[m.ntags++] = tag;
            }
        }
        rc = fn(&m, ud);
    }
    return rc;
}

/* ------------------------------------------------------ payload buffers -- */

int cs_yara_buf_append(cs_yara_buf **b, const uint8_t *data, size_t n, size_t max, size_t *grown_by)
{
    cs_yara_buf *cur = *b;
    size_t len = cur != NULL ? cur->len : 0;
    size_t take;

    *grown_by = 0;
    if (max > UINT32_MAX) {
        max = UINT32_MAX;
    }
    if (len >= max) {
        return 1;
    }
    take = n < max - len ? n : max - len;
    if (take > 0 && (cur == NULL || len + take > cur->cap)) {
        size_t old = cur != NULL ? cur->cap : 0;
        size_t cap = old ? old : FIRST_BUF_CAP;
        cs_yara_buf *nb;
        while (cap < len + take) {
            cap *= 2;
        }
        if (cap > max) {
            cap = max;
        }
        nb = realloc(cur, sizeof *nb + cap);
        if (nb == NULL) {
            return -1;
        }
        if (cur == NULL) {
            nb->len = 0;
        }
        nb->cap = (uint32_t)cap;
        *b = cur = nb;
        *grown_by = cap - old;
    }
    if (take > 0) {
        memcpy(cur->data + cur->len, data, take);
        cur->len += (uint32_t)take;
    }
    return cur != NULL && cur->len >= max;
}

void cs_yara_buf_free(cs_yara_buf **b)
{
    free(*b);
    *b = NULL;
}
