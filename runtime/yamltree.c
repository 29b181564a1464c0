/* yamltree.c - libyaml events folded into a line-numbered tree (see yaml.h).
 *
 * A explicit stack replaces recursion so a deeply nested hostile document
 * fails on the depth cap instead of on the C stack.
 */
#include "yamltree.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct builder {
    const char *name;
    cs_yaml_node *stack[CS_YAML_MAX_DEPTH + 1];
    int depth;
    size_t nodes;
    cs_yaml_file *file;
} builder;

static void node_free(cs_yaml_node *n)
{
    if (n == NULL) {
        return;
    }
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys != NULL) {
            node_free(n->keys[i]);
        }
        if (n->items != NULL) {
            node_free(n->items[i]);
        }
    }
    free(n->keys);
    free(n->items);
    free(n->str);
    free(n);
}

void cs_yaml_free(cs_yaml_file *f)
{
    if (f == NULL) {
        return;
    }
    for (size_t i = 0; i < f->ndocs; i++) {
        node_free(f->docs[i]);
    }
    free(f->docs);
    free(f->path);
    free(f);
}

static cs_yaml_node *node_new(cs_yaml_type t, const yaml_mark_t *m)
{
    cs_yaml_node *n = calloc(1, sizeof *n);
    if (n != NULL) {
        n->type = t;
        n->line = (int)m->line + 1;
        n->col = (int)m->column + 1;
    }
    return n;
}

/* Append child to the container on top of the stack (or make it a document). */
static cs_rc attach(builder *b, cs_yaml_node *child)
{
    cs_yaml_node *top;
    void *p;
    if (++b->nodes > CS_YAML_MAX_NODES) {
        node_free(child);
        return cs_err_set(CS_ERR_LIMIT, "%s:%d: more than %d YAML nodes", b->name, child->line,
                          CS_YAML_MAX_NODES);
    }
    if (b->depth == 0) {
        p = realloc(b->file->docs, (b->file->ndocs + 1) * sizeof *b->file->docs);
        if (p == NULL) {
            node_free(child);
            return cs_err_set(CS_ERR_NOMEM, "out of memory reading %s", b->name);
        }
        b->file->docs = p;
        b->file->docs[b->file->ndocs++] = child;
        return CS_OK;
    }
    top = b->stack[b->depth - 1];
    if (top->type == CS_YAML_SEQ) {
        p = realloc(top->items, (top->n + 1) * sizeof *top->items);
        if (p == NULL) {
            node_free(child);
            return cs_err_set(CS_ERR_NOMEM, "out of memory reading %s", b->name);
        }
        top->items = p;
        top->items[top->n++] = child;
        return CS_OK;
    }
    /* map: keys and values alternate; a pending key sits in keys[n] with items[n] NULL */
    if (top->keys != NULL && top->n > 0 && top->items[top->n - 1] == NULL) {
        top->items[top->n - 1] = child;
        return CS_OK;
    }
    if (child->type != CS_YAML_SCALAR) {
        int line = child->line;
        node_free(child);
        return cs_err_set(CS_ERR_PARSE, "%s:%d: a mapping key must be a plain value", b->name, line);
    }
    for (size_t i = 0; i < top->n; i++) {
        if (top->keys[i]->len == child->len && memcmp(top->keys[i]->str, child->str, child->len) == 0) {
            int line = child->line;
            cs_rc rc = cs_err_set(CS_ERR_PARSE, "%s:%d: duplicate key '%s' (first at line %d)", b->name,
                                  line, child->str, top->keys[i]->line);
            node_free(child);
            return rc;
        }
    }
    p = realloc(top->keys, (top->n + 1) * sizeof *top->keys);
    if (p == NULL) {
        node_free(child);
        return cs_err_set(CS_ERR_NOMEM, "out of memory reading %s", b->name);
    }
    top->keys = p;
    p = realloc(top->items, (top->n + 1) * sizeof *top->items);
    if (p == NULL) {
        node_free(child);
        return cs_err_set(CS_ERR_NOMEM, "out of memory reading %s", b->name);
    }
    top->items = p;
    top->keys[top->n] = child;
    top->items[top->n] = NULL;
    top->n++;
    return CS_OK;
}

static cs_rc parse(builder *b, yaml_parser_t *parser)
{
    yaml_event_t ev;
    cs_rc rc = CS_OK;
    bool done = false;

    while (!done) {
        if (!yaml_parser_parse(parser, &ev)) {
            return cs_err_set(CS_ERR_PARSE, "%s:%zu:%zu: %s%s%s", b->name, parser->problem_mark.line + 1,
                              parser->problem_mark.column + 1, parser->problem ? parser->problem : "invalid YAML",
                              parser->context ? " " : "", parser->context ? parser->context : "");
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_ALIAS_EVENT:
            rc = cs_err_set(CS_ERR_PARSE, "%s:%zu: YAML aliases are not accepted", b->name,
                            ev.start_mark.line + 1);
            break;
        case YAML_SCALAR_EVENT: {
            cs_yaml_node *n;
            if (ev.data.scalar.anchor != NULL) {
                rc = cs_err_set(CS_ERR_PARSE, "%s:%zu: YAML anchors are not accepted", b->name,
                                ev.start_mark.line + 1);
                break;
            }
            n = node_new(CS_YAML_SCALAR, &ev.start_mark);
            if (n == NULL || (n->str = malloc(ev.data.scalar.length + 1)) == NULL) {
                node_free(n);
                rc = cs_err_set(CS_ERR_NOMEM, "out of memory reading %s", b->name);
                break;
            }
            memcpy(n->str, ev.data.scalar.value, ev.data.scalar.length);
            n->str[ev.data.scalar.length] = '\0';
            n->len = ev.data.scalar.length;
            n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
            rc = attach(b, n);
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            bool seq = ev.type == YAML_SEQUENCE_START_EVENT;
            const yaml_char_t *anchor = seq ? ev.data.sequence_start.anchor : ev.data.mapping_start.anchor;
            cs_yaml_node *n;
            if (anchor != NULL) {
                rc = cs_err_set(CS_ERR_PARSE, "%s:%zu: YAML anchors are not accepted", b->name,
                                ev.start_mark.line + 1);
                break;
            }
            if (b->depth >= CS_YAML_MAX_DEPTH) {
                rc = cs_err_set(CS_ERR_LIMIT, "%s:%zu: nesting deeper than %d levels", b->name,
                                ev.start_mark.line + 1, CS_YAML_MAX_DEPTH);
                break;
            }
            n = node_new(seq ? CS_YAML_SEQ : CS_YAML_MAP, &ev.start_mark);
            if (n == NULL) {
                rc = cs_err_set(CS_ERR_NOMEM, "out of memory reading %s", b->name);
                break;
            }
            rc = attach(b, n);
            if (rc == CS_OK) {
                b->stack[b->depth++] = n;
            }
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (b->depth > 0) {
                b->depth--;
            }
            break;
        case YAML_DOCUMENT_END_EVENT:
            b->depth = 0;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (rc != CS_OK) {
            return rc;
        }
    }
    return CS_OK;
}

/* A map whose last key never got its value (cannot happen with libyaml, but a
 * NULL value would crash every reader): replace with an empty scalar. */
static cs_rc fill_nulls(cs_yaml_node *n)
{
    if (n == NULL) {
        return CS_OK;
    }
    for (size_t i = 0; i < n->n; i++) {
        if (n->items[i] == NULL) {
            cs_yaml_node *e = calloc(1, sizeof *e);
            if (e == NULL || (e->str = calloc(1, 1)) == NULL) {
                free(e);
                return CS_ERR_NOMEM;
            }
            e->type = CS_YAML_SCALAR;
            e->plain = true;
            e->line = n->keys[i]->line;
            e->col = n->keys[i]->col;
            n->items[i] = e;
        } else if (fill_nulls(n->items[i]) != CS_OK) {
            return CS_ERR_NOMEM;
        }
    }
    return CS_OK;
}

cs_rc cs_yaml_load_string(const char *name, const char *text, size_t len, cs_yaml_file **out)
{
    yaml_parser_t parser;
    builder b;
    cs_rc rc;

    *out = NULL;
    memset(&b, 0, sizeof b);
    b.name = name;
    b.file = calloc(1, sizeof *b.file);
    if (b.file == NULL || (b.file->path = strdup(name)) == NULL) {
        cs_yaml_free(b.file);
        return cs_err_set(CS_ERR_NOMEM, "out of memory reading %s", name);
    }
    if (!yaml_parser_initialize(&parser)) {
        cs_yaml_free(b.file);
        return cs_err_set(CS_ERR_NOMEM, "cannot initialise the YAML parser");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    rc = parse(&b, &parser);
    yaml_parser_delete(&parser);
    if (rc == CS_OK) {
        for (size_t i = 0; i < b.file->ndocs && rc == CS_OK; i++) {
            rc = fill_nulls(b.file->docs[i]);
        }
    }
    if (rc != CS_OK) {
        cs_yaml_free(b.file);
        return rc;
    }
    *out = b.file;
    return CS_OK;
}

cs_rc cs_yaml_load_file(const char *path, cs_yaml_file **out)
{
    FILE *fp;
    char *buf = NULL;
    long sz;
    cs_rc rc;

    *out = NULL;
    fp = fopen(path, "rb");
    if (fp == NULL) {
        return cs_err_set(CS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    if (fseek(fp, 0, SEEK_END) != 0 || (sz = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        rc = cs_err_set(CS_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        goto fail;
    }
    if ((unsigned long)sz > CS_YAML_MAX_FILE) {
        rc = cs_err_set(CS_ERR_LIMIT, "%s: file of %ld bytes is larger than the %u-byte limit", path, sz,
                        CS_YAML_MAX_FILE);
        goto fail;
    }
    buf = malloc((size_t)sz + 1);
    if (buf == NULL) {
        rc = cs_err_set(CS_ERR_NOMEM, "out of memory reading %s", path);
        goto fail;
    }
    if (fread(buf, 1, (size_t)sz, fp) != (size_t)sz) {
        rc = cs_err_set(CS_ERR_IO, "%s: short read", path);
        goto fail;
    }
    rc = cs_yaml_load_string(path, buf, (size_t)sz, out);
fail:
    free(buf);
    fclose(fp);
    return rc;
}

const cs_yaml_node *cs_yaml_get(const cs_yaml_node *map, const char *key)
{
    size_t kl = strlen(key);
    if (map == NULL || map->type != CS_YAML_MAP) {
        return NULL;
    }
    for (size_t i = 0; i < map->n; i++) {
        if (map->keys[i]->len == kl && memcmp(map->keys[i]->str, key, kl) == 0) {
            return map->items[i];
        }
    }
    return NULL;
}

bool cs_yaml_is_null(const cs_yaml_node *n)
{
    if (n == NULL) {
        return true;
    }
    if (n->type != CS_YAML_SCALAR || !n->plain) {
        return false;
    }
    return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
           strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

bool cs_yaml_scalar_eq(const cs_yaml_node *n, const char *s)
{
    return n != NULL && n->type == CS_YAML_SCALAR && strlen(s) == n->len && memcmp(n->str, s, n->len) == 0;
}

const char *cs_yaml_type_name(cs_yaml_type t)
{
    switch (t) {
    case CS_YAML_SCALAR:
        return "a value";
    case CS_YAML_SEQ:
        return "a list";
    case CS_YAML_MAP:
        return "a mapping";
    }
    return "?";
}

cs_rc cs_yaml_bool(const cs_yaml_file *f, const cs_yaml_node *n, bool *out)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "on", "On"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No", "off", "Off"};
    if (n->type == CS_YAML_SCALAR && n->plain) {
        for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
            if (strcmp(n->str, yes[i]) == 0) {
                *out = true;
                return CS_OK;
            }
            if (strcmp(n->str, no[i]) == 0) {
                *out = false;
                return CS_OK;
            }
        }
    }
    return cs_err_set(CS_ERR_CONFIG, "%s:%d: expected true or false", f->path, n->line);
}

cs_rc cs_yaml_int(const cs_yaml_file *f, const cs_yaml_node *n, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long v;
    if (n->type != CS_YAML_SCALAR || n->len == 0) {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: expected a whole number, found %s", f->path, n->line,
                          cs_yaml_type_name(n->type));
    }
    errno = 0;
    v = strtoll(n->str, &end, 10);
    if (errno != 0 || *end != '\0') {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: '%s' is not a whole number", f->path, n->line, n->str);
    }
    if (v < min || v > max) {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: %lld is outside %" PRId64 "..%" PRId64, f->path, n->line, v,
                          min, max);
    }
    *out = v;
    return CS_OK;
}

cs_rc cs_yaml_str(const cs_yaml_file *f, const cs_yaml_node *n, const char **out)
{
    if (n->type != CS_YAML_SCALAR) {
        return cs_err_set(CS_ERR_CONFIG, "%s:%d: expected a text value, found %s", f->path, n->line,
                          cs_yaml_type_name(n->type));
    }
    *out = n->str;
    return CS_OK;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdULL;
}

static uint64_t hash_bytes(uint64_t h, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    }
    return mix(h, len);
}

uint64_t cs_yaml_hash(const cs_yaml_node *n)
{
    uint64_t h;
    if (n == NULL) {
        return 0x5bd1e995u;
    }
    h = mix(1469598103934665603ULL, (uint64_t)n->type);
    switch (n->type) {
    case CS_YAML_SCALAR:
        return hash_bytes(mix(h, n->plain), n->str, n->len);
    case CS_YAML_SEQ:
        for (size_t i = 0; i < n->n; i++) {
            h = mix(h, cs_yaml_hash(n->items[i]));
        }
        return mix(h, n->n);
    case CS_YAML_MAP:
        for (size_t i = 0; i < n->n; i++) {
            h = mix(h, cs_yaml_hash(n->keys[i]));
            h = mix(h, cs_yaml_hash(n->items[i]));
        }
        return mix(h, n->n);
    }
    return h;
}
