/* json.c - ECS JSON writer (own, streaming) and reader (jansson); see json.h.
 *
 * Nesting: fields are sorted by name comparing dot-separated segments, so
 * everything under "a.b" follows the leaf "a.b" directly. Objects are opened
 * and closed by the common prefix with the previous field. If a leaf and an
 * object would share a key ("a.b" and "a.b.c"), the deeper field is written
 * with its remaining path as one dotted key ({"a":{"b":1,"b.c":2}}), which the
 * reader flattens back to the same names.
 */
#include "json.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

#define MAX_DEPTH 32

void cs_buf_init(cs_buf *b)
{
    memset(b, 0, sizeof *b);
}

void cs_buf_free(cs_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void cs_buf_reset(cs_buf *b)
{
    b->len = 0;
    b->failed = false;
    if (b->data != NULL) {
        b->data[0] = '\0';
    }
}

bool cs_buf_grow(cs_buf *b, size_t need)
{
    size_t cap;
    char *p;
    if (b->failed) {
        return false;
    }
    if (b->len + need + 1 <= b->cap) {
        return true;
    }
    cap = b->cap ? b->cap : 256;
    while (cap < b->len + need + 1) {
        cap *= 2;
    }
    p = realloc(b->data, cap);
    if (p == NULL) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void cs_buf_append(cs_buf *b, const char *s, size_t n)
{
    if (!cs_buf_grow(b, n)) {
        return;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void cs_buf_append_cstr(cs_buf *b, const char *s)
{
    cs_buf_append(b, s, strlen(s));
}

void cs_buf_int(cs_buf *b, int64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0) {
        tmp[--i] = '-';
    }
    cs_buf_append(b, tmp + i, sizeof tmp - i);
}

void cs_buf_printf(cs_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !cs_buf_grow(b, (size_t)n)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of a valid UTF-8 sequence starting at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need;
    uint32_t cp;
    if (c < 0x80) {
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        need = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        need = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        need = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (need > n) {
        return 0;
    }
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((need == 2 && cp < 0x80) || (need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return need;
}

/* 0: copy as is; 1: escape; 2: start of a multi-byte sequence to validate */
static const uint8_t esc_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

void cs_buf_json_str(cs_buf *b, const char *str, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    /* worst case every byte becomes \u00XX: reserve once, write directly */
    if (!cs_buf_grow(b, n * 6 + 2)) {
        return;
    }
    {
        char *o = b->data + b->len;
        *o++ = '"';
        while (i < n) {
            size_t start = i;
            while (i < n && esc_class[s[i]] == 0) {
                i++;
            }
            memcpy(o, s + start, i - start);
            o += i - start;
            if (i >= n) {
                break;
            }
            if (esc_class[s[i]] == 2) {
                size_t l = utf8_len(s + i, n - i);
                if (l == 0) {
                    memcpy(o, "\xEF\xBF\xBD", 3);   /* U+FFFD, written raw so a round trip is stable */
                    o += 3;
                    i++;
                } else {
                    memcpy(o, s + i, l);
                    o += l;
                    i += l;
                }
                continue;
            }
            *o++ = '\\';
            switch (s[i]) {
            case '"':
                *o++ = '"';
                break;
            case '\\':
                *o++ = '\\';
                break;
            case '\n':
                *o++ = 'n';
                break;
            case '\r':
                *o++ = 'r';
                break;
            case '\t':
                *o++ = 't';
                break;
            default:
                *o++ = 'u';
                *o++ = '0';
                *o++ = '0';
                *o++ = hex[s[i] >> 4];
                *o++ = hex[s[i] & 15];
                break;
            }
            i++;
        }
        *o++ = '"';
        *o = '\0';
        b->len = (size_t)(o - b->data);
    }
}

typedef struct sorted_field {
    const char *name;
    const cs_field *f;   /* NULL: a derived string value in lit */
    const char *lit;
    uint32_t rank;       /* dot-segment order of the name (fields.h) */
    uint32_t order;      /* keeps repeated fields in insertion order */
} sorted_field;

static bool before(const sorted_field *a, const sorted_field *b)
{
    return a->rank != b->rank ? a->rank < b->rank : a->order < b->order;
}

/* Events have tens of fields: insertion sort on integer keys beats qsort. */
static void sort_fields(sorted_field *sf, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        sorted_field x = sf[i];
        size_t j = i;
        while (j > 0 && before(&x, &sf[j - 1])) {
            sf[j] = sf[j - 1];
            j--;
        }
        sf[j] = x;
    }
}

static void write_value(cs_buf *b, const cs_event *ev, const cs_field *f)
{
    char tmp[64];
    size_t n;
    switch ((cs_type)f->type) {
    case CS_T_STR:
        cs_buf_json_str(b, cs_event_strval(ev, f), f->len);
        return;
    case CS_T_INT:
        cs_buf_int(b, f->v.i);
        return;
    case CS_T_FLOAT:
        if (!isfinite(f->v.f)) {
            cs_buf_append(b, "null", 4);
            return;
        }
        /* shortest text that reads back as the same double */
        for (int prec = 15; prec <= 17; prec++) {
            n = (size_t)snprintf(tmp, sizeof tmp, "%.*g", prec, f->v.f);
            if (strtod(tmp, NULL) == f->v.f) {
                break;
            }
        }
        if (n < sizeof tmp && strpbrk(tmp, ".eE") == NULL) {
            memcpy(tmp + n, ".0", 3);
            n += 2;
        }
        cs_buf_append(b, tmp, strlen(tmp));
        return;
    case CS_T_BOOL:
        cs_buf_append_cstr(b, f->v.b ? "true" : "false");
        return;
    case CS_T_IP:
    case CS_T_TIME:
        cs_field_text(ev, f, tmp, sizeof tmp, &n);
        cs_buf_json_str(b, tmp, n);
        return;
    default:
        cs_buf_append(b, "null", 4);
        return;
    }
}

/* Split name into segments (pointers into name, lengths). Returns count. */
static int split(const char *name, const char **seg, size_t *len, int max)
{
    int n = 0;
    const char *p = name;
    while (n < max) {
        const char *d = strchr(p, '.');
        seg[n] = p;
        if (d == NULL || n == max - 1) {
            len[n] = strlen(p);
            return n + 1;
        }
        len[n] = (size_t)(d - p);
        n++;
        p = d + 1;
    }
    return n;
}

static bool same_id(const sorted_field *a, const sorted_field *b)
{
    return a->f != NULL && b->f != NULL && a->f->id == b->f->id;
}

static void write_sorted_value(cs_buf *b, const cs_event *ev, const sorted_field *sf)
{
    if (sf->f == NULL) {
        cs_buf_json_str(b, sf->lit, strlen(sf->lit));
    } else {
        write_value(b, ev, sf->f);
    }
}

cs_rc cs_json_write_event(cs_buf *b, const cs_event *ev)
{
    const cs_field *fs = cs_event_fields(ev);
    size_t nf = cs_event_nfields(ev);
    size_t total = 0;
    sorted_field stack_sf[64];
    sorted_field *sf = stack_sf;
    char ts[40];
    char ds[32];
    const char *open_seg[MAX_DEPTH];
    size_t open_len[MAX_DEPTH];
    bool first_at[MAX_DEPTH + 1];
    const char *blocked[MAX_DEPTH + 1];   /* simple leaf key last written at each depth */
    size_t blocked_len[MAX_DEPTH + 1];
    int depth = 0;
    bool has_kind = false;
    bool has_dataset = false;

    if (nf + 2 > sizeof stack_sf / sizeof stack_sf[0]) {
        sf = malloc((nf + 2) * sizeof *sf);
        if (sf == NULL) {
            return cs_err_set(CS_ERR_NOMEM, "out of memory writing an event");
        }
    }
    for (size_t i = 0; i < nf; i++) {
        sf[total].name = cs_field_name(fs[i].id);
        sf[total].f = &fs[i];
        sf[total].lit = NULL;
        sf[total].rank = 0;
        sf[total].order = (uint32_t)i;
        total++;
        has_kind |= fs[i].id == CS_F_EVENT_KIND;
        has_dataset |= fs[i].id == CS_F_EVENT_DATASET;
    }
    /* event.kind / event.dataset are derived from the kind unless given. */
    if (!has_kind) {
        sf[total] = (sorted_field){"event.kind", NULL, ev->kind == CS_KIND_ALERT ? "alert" : "event", 0,
                                   (uint32_t)total};
        total++;
    }
    if (!has_dataset) {
        memcpy(ds, "citysoc.", 8);
        snprintf(ds + 8, sizeof ds - 8, "%s", cs_kind_name((cs_kind)ev->kind));
        sf[total] = (sorted_field){"event.dataset", NULL, ds, 0, (uint32_t)total};
        total++;
    }
    {
        cs_fid ids_stack[66];
        uint32_t ranks_stack[66];
        cs_fid *ids = total <= 66 ? ids_stack : malloc(total * sizeof *ids);
        uint32_t *ranks = total <= 66 ? ranks_stack : malloc(total * sizeof *ranks);
        if (ids == NULL || ranks == NULL) {
            if (ids != ids_stack) {
                free(ids);
                free(ranks);
            }
            if (sf != stack_sf) {
                free(sf);
            }
            return cs_err_set(CS_ERR_NOMEM, "out of memory writing an event");
        }
        for (size_t i = 0; i < total; i++) {
            ids[i] = sf[i].f ? sf[i].f->id : (strcmp(sf[i].name, "event.kind") == 0 ? CS_F_EVENT_KIND
                                                                                     : CS_F_EVENT_DATASET);
        }
        cs_field_ranks(ids, ranks, total);
        for (size_t i = 0; i < total; i++) {
            sf[i].rank = ranks[i];
        }
        if (ids != ids_stack) {
            free(ids);
            free(ranks);
        }
    }
    sort_fields(sf, total);

    cs_time_format(ev->ts_us, ts, sizeof ts);
    cs_buf_append(b, "{\"@timestamp\":", 14);
    cs_buf_json_str(b, ts, strlen(ts));
    first_at[0] = false;
    blocked[0] = NULL;
    blocked_len[0] = 0;

    for (size_t i = 0; i < total;) {
        const char *seg[MAX_DEPTH];
        size_t slen[MAX_DEPTH];
        int ns = split(sf[i].name, seg, slen, MAX_DEPTH);
        int common = 0;
        bool flat = false;
        size_t j;
        size_t klen;

        while (common < depth && common < ns - 1 && open_len[common] == slen[common] &&
               memcmp(open_seg[common], seg[common], slen[common]) == 0) {
            common++;
        }
        while (depth > common) {
            cs_buf_putc(b, '}');
            depth--;
        }
        while (depth < ns - 1) {
            if (blocked[depth] != NULL && blocked_len[depth] == slen[depth] &&
                memcmp(blocked[depth], seg[depth], slen[depth]) == 0) {
                flat = true;   /* a leaf took this key: write the rest dotted */
                break;
            }
            if (first_at[depth]) {
                first_at[depth] = false;
            } else {
                cs_buf_putc(b, ',');
            }
            cs_buf_json_str(b, seg[depth], slen[depth]);
            cs_buf_append(b, ":{", 2);
            open_seg[depth] = seg[depth];
            open_len[depth] = slen[depth];
            blocked[depth] = NULL;
            depth++;
            first_at[depth] = true;
            blocked[depth] = NULL;
        }
        if (first_at[depth]) {
            first_at[depth] = false;
        } else {
            cs_buf_putc(b, ',');
        }
        klen = flat ? strlen(seg[depth]) : slen[depth];
        cs_buf_json_str(b, seg[depth], klen);
        cs_buf_putc(b, ':');
        if (!flat) {
            blocked[depth] = seg[depth];
            blocked_len[depth] = klen;
        }
        j = i + 1;
        while (j < total && same_id(&sf[j], &sf[i])) {
            j++;
        }
        if (j - i > 1) {
            cs_buf_putc(b, '[');
            for (size_t k = i; k < j; k++) {
                if (k > i) {
                    cs_buf_putc(b, ',');
                }
                write_sorted_value(b, ev, &sf[k]);
            }
            cs_buf_putc(b, ']');
        } else {
            write_sorted_value(b, ev, &sf[i]);
        }
        i = j;
    }
    while (depth > 0) {
        cs_buf_putc(b, '}');
        depth--;
    }
    cs_buf_putc(b, '}');
    if (sf != stack_sf) {
        free(sf);
    }
    if (b->failed) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory writing an event");
    }
    return CS_OK;
}

/* ---- reader ---- */

typedef struct reader {
    cs_event *ev;
    const char *name;
    long line;
    char path[CS_FIELD_NAME_MAX + 1];
} reader;

static cs_rc add_scalar(reader *r, cs_fid id, json_t *v)
{
    cs_type want = cs_field_type(id);
    switch (json_typeof(v)) {
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (want == CS_T_IP) {
            cs_ip ip;
            if (cs_ip_parse(s, n, &ip)) {
                return cs_event_add_ip(&r->ev, id, &ip);
            }
        } else if (want == CS_T_TIME) {
            int64_t us;
            if (cs_time_parse(s, n, &us)) {
                return cs_event_add_time(&r->ev, id, us);
            }
        }
        return cs_event_add_str(&r->ev, id, s, n);
    }
    case JSON_INTEGER:
        if (want == CS_T_FLOAT) {
            return cs_event_add_float(&r->ev, id, (double)json_integer_value(v));
        }
        return cs_event_add_int(&r->ev, id, (int64_t)json_integer_value(v));
    case JSON_REAL:
        return cs_event_add_float(&r->ev, id, json_real_value(v));
    case JSON_TRUE:
    case JSON_FALSE:
        return cs_event_add_bool(&r->ev, id, json_is_true(v));
    case JSON_NULL:
        return CS_OK;   /* ECS: null means absent */
    default:
        return cs_err_set(CS_ERR_INTERNAL, "unexpected JSON type");
    }
}

static cs_rc walk(reader *r, json_t *obj, size_t plen, int depth);

static cs_rc walk_value(reader *r, json_t *v, size_t plen, int depth)
{
    cs_fid id;
    if (depth > MAX_DEPTH) {
        return cs_err_set(CS_ERR_LIMIT, "%s:%ld: JSON nested deeper than %d levels", r->name, r->line,
                          MAX_DEPTH);
    }
    if (json_is_object(v)) {
        return walk(r, v, plen, depth + 1);
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            cs_rc rc;
            if (json_is_array(e)) {
                continue;   /* arrays of arrays have no ECS meaning */
            }
            r->path[plen] = '\0';
            rc = walk_value(r, e, plen, depth + 1);
            if (rc != CS_OK) {
                return rc;
            }
        }
        return CS_OK;
    }
    id = cs_field_intern(r->path, plen);
    if (id == CS_F_NONE) {
        return cs_err_set(CS_ERR_LIMIT, "%s:%ld: field name '%.64s' is too long or too many fields", r->name,
                          r->line, r->path);
    }
    return add_scalar(r, id, v);
}

static cs_rc walk(reader *r, json_t *obj, size_t plen, int depth)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        size_t kl = strlen(key);
        size_t nl = plen + (plen ? 1 : 0) + kl;
        cs_rc rc;
        if (depth == 1 && strcmp(key, "@timestamp") == 0) {
            int64_t us;
            if (!json_is_string(v) || !cs_time_parse(json_string_value(v), json_string_length(v), &us)) {
                return cs_err_set(CS_ERR_PARSE, "%s:%ld: @timestamp is not an ISO 8601 time", r->name, r->line);
            }
            r->ev->ts_us = us;
            continue;
        }
        if (nl > CS_FIELD_NAME_MAX) {
            return cs_err_set(CS_ERR_LIMIT, "%s:%ld: field name longer than %d bytes", r->name, r->line,
                              CS_FIELD_NAME_MAX);
        }
        if (plen) {
            r->path[plen] = '.';
        }
        memcpy(r->path + nl - kl, key, kl);
        r->path[nl] = '\0';
        rc = walk_value(r, v, nl, depth);
        r->path[plen] = '\0';
        if (rc != CS_OK) {
            return rc;
        }
    }
    return CS_OK;
}

cs_rc cs_json_read_event(const char *text, size_t len, const char *name, long line, cs_event **out)
{
    json_error_t jerr;
    json_t *root;
    reader r;
    cs_rc rc;
    const char *ds;
    size_t dslen;

    *out = NULL;
    if (len > CS_JSON_MAX_LINE) {
        return cs_err_set(CS_ERR_LIMIT, "%s:%ld: JSON line of %zu bytes exceeds the %u-byte limit", name, line,
                          len, CS_JSON_MAX_LINE);
    }
    root = json_loadb(text, len, 0, &jerr);
    if (root == NULL) {
        return cs_err_set(CS_ERR_PARSE, "%s:%ld: invalid JSON at column %d: %s", name, line, jerr.column,
                          jerr.text);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return cs_err_set(CS_ERR_PARSE, "%s:%ld: expected a JSON object", name, line);
    }
    memset(&r, 0, sizeof r);
    r.name = name;
    r.line = line;
    r.ev = cs_event_new(CS_KIND_JSON, 0);
    if (r.ev == NULL) {
        json_decref(root);
        return cs_err_set(CS_ERR_NOMEM, "out of memory reading JSON");
    }
    rc = walk(&r, root, 0, 1);
    json_decref(root);
    if (rc != CS_OK) {
        cs_event_free(r.ev);
        return rc;
    }
    /* Our own dataset names carry the kind; the derived event.kind/dataset
     * are then dropped so a round trip does not duplicate them. */
    if (cs_event_get_str(r.ev, CS_F_EVENT_DATASET, &ds, &dslen) && dslen > 8 &&
        memcmp(ds, "citysoc.", 8) == 0) {
        cs_kind k = cs_kind_parse(ds + 8, dslen - 8);
        const char *kind;
        size_t klen;
        if (k != CS_KIND_NONE) {
            bool derived_kind = cs_event_get_str(r.ev, CS_F_EVENT_KIND, &kind, &klen) &&
                                ((k == CS_KIND_ALERT && klen == 5 && memcmp(kind, "alert", 5) == 0) ||
                                 (k != CS_KIND_ALERT && klen == 5 && memcmp(kind, "event", 5) == 0));
            r.ev->kind = (uint16_t)k;
            cs_event_remove(r.ev, CS_F_EVENT_DATASET);
            if (derived_kind) {
                cs_event_remove(r.ev, CS_F_EVENT_KIND);
            }
        }
    }
    *out = r.ev;
    return CS_OK;
}
