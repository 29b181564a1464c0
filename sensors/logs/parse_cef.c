/* parse_cef.c - ArcSight Common Event Format lines (see logparse.h for the
 * common contract).
 *
 *   [syslog header ]CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|Extension
 *
 * Design note.
 *
 * One left-to-right pass splits the header at unescaped '|' (`\|` and `\\`
 * are escapes there); a second pass over the extension finds the keys: a
 * key is a run of [A-Za-z0-9_.-] that follows a space (or starts the
 * extension) and ends at an unescaped '='; a value runs until the space
 * before the next key, so values may hold spaces and even unescaped '='
 * ("a=b=c" is key a, value "b=c"). Values are unescaped (`\=`, `\\`, `\n`,
 * `\r`, `\|`) in place inside the event's own arena, so nothing is allocated
 * besides the event. Whatever precedes "CEF:" (a syslog header) is skipped:
 * the syslog normaliser, which owns those fields, hands over the CEF part.
 *
 * Fields: every extension key under its own name (string; typed when the
 * name is a canonical typed field), ECS mappings (src/dst -> source/
 * destination.ip, spt/dpt -> .port, proto -> network.transport, suser ->
 * user.name, duser -> user.target.name (and user.name when there is no
 * suser), act -> event.action, request -> url.original (+ url.path/query),
 * requestMethod -> http.request.method, msg -> message, rt -> the event time,
 * start/end -> event.start/end, ...), header: rule.id = SignatureID,
 * rule.name = Name, event.severity (0-10; Low/Medium/High/Very-High give
 * 3/6/8/10), observer.vendor/product/version, cef.version, cef.severity as
 * written. Custom fields cs1..cs6, cn1..cn3, cfp1..cfp4, c6a1..c6a4,
 * flexString1..2, flexNumber1..2, deviceCustomDate1..2 keep their own names
 * and, when their Label is given, also appear as `cef.custom.<Label>`
 * (label bytes outside [A-Za-z0-9_.-] become '_').
 *
 * Limits: 512 extension pairs per line (later ones stay in event.original),
 * key names up to 64 bytes. Keys starting with "citysoc." and the names
 * cs_log_common() sets (event.original, event.created) are not taken from
 * the line, so a sender cannot forge a logsource.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../../runtime/timeutil.h"
#include "logbuild.h"
#include "logparse.h"

#define MAX_PAIRS 512
#define MAX_KEY 64

/* ---------------------------------------------------------- helpers -- */

/* Unescape s[0..n) in place; returns the new length. ext: extension rules
 * (\n, \r are newlines); header: only \| and \\. Unknown escapes stay. */
static size_t unescape(char *s, size_t n, bool ext)
{
    size_t w = 0;
    for (size_t r = 0; r < n; r++) {
        if (s[r] == '\\' && r + 1 < n) {
            char c = s[r + 1];
            if (c == '\\' || c == '|' || (ext && c == '=')) {
                s[w++] = c;
                r++;
                continue;
            }
            if (ext && (c == 'n' || c == 'r')) {
                s[w++] = c == 'n' ? '\n' : '\r';
                r++;
                continue;
            }
        }
        s[w++] = s[r];
    }
    return w;
}

/* Add a string and unescape it where it lies: the event is ours and the
 * field was just appended, so rewriting its bytes in the arena is safe. */
static void add_unescaped(bld *b, cs_fid id, span v, bool ext)
{
    cs_field *fs, *f;
    char *p;
    add_str(b, id, v.p, v.n);
    if (b->rc != CS_OK || id == CS_F_NONE || memchr(v.p, '\\', v.n) == NULL) {
        return;
    }
    fs = (cs_field *)(void *)(b->ev + 1);
    f = &fs[b->ev->nfields - 1];
    p = (char *)(void *)(fs + b->ev->cap_fields) + f->v.off;   /* the arena, as cs_event_strval() */
    f->len = (uint32_t)unescape(p, f->len, ext);
    p[f->len] = '\0';
}

/* Field id of a key, through a small per-thread cache: interning takes the
 * registry lock, and a device sends the same few dozen keys every line. */
typedef struct key_slot {
    uint8_t len;
    char name[MAX_KEY];
    cs_fid id;
} key_slot;

static _Thread_local key_slot key_cache[256];

static cs_fid key_id(const char *k, size_t n)
{
    uint32_t h = 2166136261u;
    key_slot *slot;
    if (n == 0 || n > MAX_KEY) {
        return CS_F_NONE;
    }
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (uint8_t)k[i]) * 16777619u;
    }
    slot = &key_cache[h & 255u];
    if (slot->len == n && slot->id != CS_F_NONE && memcmp(slot->name, k, n) == 0) {
        return slot->id;
    }
    slot->id = cs_field_intern(k, n);   /* CS_F_NONE when the registry is full: the key is skipped */
    slot->len = (uint8_t)n;
    memcpy(slot->name, k, n);
    return slot->id;
}

/* A value under a name of the line's own: typed when the name is a
 * canonical typed field and the value fits, else the (unescaped) text. */
static void add_own(bld *b, cs_fid id, span v)
{
    cs_type t = cs_field_type(id);
    int64_t x;
    cs_ip ip;
    if (t == CS_T_IP && cs_ip_parse(v.p, v.n, &ip)) {
        add_ip(b, id, &ip);
    } else if (t == CS_T_INT && span_uint(v, &x)) {
        add_int(b, id, x);
    } else {
        add_unescaped(b, id, v, true);
    }
}

/* Names a line may not set: cs_log_common() owns them. */
static int64_t received(const cs_log_ctx *ctx)
{
    return ctx != NULL && ctx->received_us != 0 ? ctx->received_us : cs_now_us();
}

/* ------------------------------------------------------------- time -- */

static bool read_num(span v, size_t *i, size_t maxd, int *out)
{
    size_t k = 0;
    int x = 0;
    while (*i < v.n && k < maxd && v.p[*i] >= '0' && v.p[*i] <= '9') {
        x = x * 10 + (v.p[*i] - '0');
        (*i)++;
        k++;
    }
    *out = x;
    return k > 0;
}

/* Zone after a stamp: "", "UTC", "GMT", "Z", "+hh:mm", "-hhmm"; other names
 * (EST, CET, ...) are ambiguous and read as the configured local zone. */
static int64_t zone_offset(span z, const cs_log_ctx *ctx)
{
    int h, m = 0;
    size_t i = 1;
    int local = ctx != NULL ? ctx->time.tz_offset_s : 0;
    if (z.n == 0) {
        return local;
    }
    if (span_is(z, "UTC") || span_is(z, "GMT") || span_is(z, "Z")) {
        return 0;
    }
    if ((z.p[0] == '+' || z.p[0] == '-') && read_num(z, &i, 2, &h)) {
        if (i < z.n && z.p[i] == ':') {
            i++;
        }
        (void)read_num(z, &i, 2, &m);
        return (z.p[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
    }
    return local;
}

static int year_of(int64_t us)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    return gmtime_r(&t, &tm) != NULL ? tm.tm_year + 1900 : 1970;
}

/* rt/start/end: epoch ms (or s), "MMM dd yyyy HH:mm:ss[.SSS][ zone]",
 * "MMM dd HH:mm:ss[.SSS][ zone]" (year: the one that does not put the stamp
 * more than a month after the reference), or ISO 8601. */
static bool cef_time(span v, const cs_log_ctx *ctx, int64_t *us)
{
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t x;
    int mo = 0, d, y = -1, h, mi, se;
    int64_t frac = 0, scale = 100000;
    size_t i = 4;

    if (span_uint(v, &x)) {
        *us = x >= 100000000000LL ? x * 1000 : x * 1000000;
        return true;
    }
    if (cs_time_parse(v.p, v.n, us)) {
        return true;
    }
    if (v.n < 15 || v.p[3] != ' ') {
        return false;
    }
    for (int k = 0; k < 12; k++) {
        if (memcmp(v.p, months[k], 3) == 0) {
            mo = k + 1;
        }
    }
    if (mo == 0) {
        return false;
    }
    while (i < v.n && v.p[i] == ' ') {
        i++;
    }
    if (!read_num(v, &i, 2, &d) || i >= v.n || v.p[i++] != ' ') {
        return false;
    }
    if (i + 4 < v.n && v.p[i + 2] != ':') {
        if (!read_num(v, &i, 4, &y) || i >= v.n || v.p[i++] != ' ') {
            return false;
        }
    }
    if (!read_num(v, &i, 2, &h) || i >= v.n || v.p[i++] != ':' || !read_num(v, &i, 2, &mi) || i >= v.n ||
        v.p[i++] != ':' || !read_num(v, &i, 2, &se)) {
        return false;
    }
    if (i < v.n && v.p[i] == '.') {
        for (i++; i < v.n && v.p[i] >= '0' && v.p[i] <= '9'; i++) {
            frac += (v.p[i] - '0') * scale;
            scale /= 10;
        }
    }
    while (i < v.n && v.p[i] == ' ') {
        i++;
    }
    if (d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
        return false;
    }
    {
        int64_t off = zone_offset((span){v.p + i, v.n - i}, ctx);
        int64_t ref = ctx != NULL && ctx->time.reference_us != 0 ? ctx->time.reference_us : received(ctx);
        if (y < 0) {
            y = year_of(ref);
            if ((cs_time_from_civil(y, mo, d, h, mi, se) - off) * 1000000 > ref + 31LL * 86400 * 1000000) {
                y--;
            }
        }
        *us = (cs_time_from_civil(y, mo, d, h, mi, se) - off) * 1000000 + frac;
    }
    return true;
}

/* -------------------------------------------------------- extension -- */

typedef struct pair {
    span key, val;
} pair;

static bool key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
}

static span trim_right(span v)
{
    while (v.n > 0 && (v.p[v.n - 1] == ' ' || v.p[v.n - 1] == '\t' || v.p[v.n - 1] == '\r')) {
        v.n--;
    }
    return v;
}

/* Splits the extension into pairs; returns how many. */
static size_t split_ext(span e, pair *pairs, size_t max)
{
    size_t np = 0, i = 0, j;
    size_t vstart;
    span key;

    while (i < e.n && e.p[i] == ' ') {
        i++;
    }
    j = i;
    while (j < e.n && key_char(e.p[j]) && j - i < MAX_KEY) {
        j++;
    }
    if (j == i || j >= e.n || e.p[j] != '=') {
        return 0;
    }
    key = (span){e.p + i, j - i};
    vstart = j + 1;
    for (j = vstart; j < e.n; j++) {
        size_t k = j;
        if (e.p[j] == '\\') {
            j++;
            continue;
        }
        if (e.p[j] != '=') {
            continue;
        }
        while (k > vstart && key_char(e.p[k - 1]) && j - k < MAX_KEY) {
            k--;
        }
        if (k == j || k <= vstart || e.p[k - 1] != ' ') {
            continue;   /* "b=c" inside a value */
        }
        if (np == max) {
            return np;
        }
        pairs[np++] = (pair){key, trim_right((span){e.p + vstart, k - 1 - vstart})};
        key = (span){e.p + k, j - k};
        vstart = j + 1;
    }
    if (np < max) {
        pairs[np++] = (pair){key, trim_right((span){e.p + vstart, e.n - vstart})};
    }
    return np;
}

static const pair *find_pair(const pair *pairs, size_t np, const char *key)
{
    for (size_t i = 0; i < np; i++) {
        if (span_is(pairs[i].key, key)) {
            return &pairs[i];
        }
    }
    return NULL;
}

/* cs1 + cs1Label -> cef.custom.<Label> */
static void add_custom(bld *b, const pair *pairs, size_t np, const pair *p)
{
    static const char *const custom[] = {"cs", "cn", "cfp", "c6a", "flexString", "flexNumber", "deviceCustomDate"};
    char name[12 + MAX_KEY + 1] = "cef.custom.";
    char lk[40];
    size_t pre = strlen(name), ln;
    const pair *lab;
    bool is_custom = false;

    for (size_t c = 0; c < sizeof custom / sizeof custom[0]; c++) {
        size_t cl = strlen(custom[c]);
        if (p->key.n == cl + 1 && memcmp(p->key.p, custom[c], cl) == 0 && p->key.p[cl] >= '1' &&
            p->key.p[cl] <= '9') {
            is_custom = true;
        }
    }
    if (!is_custom || p->key.n + 6 > sizeof lk) {
        return;
    }
    memcpy(lk, p->key.p, p->key.n);
    memcpy(lk + p->key.n, "Label", 6);
    lab = find_pair(pairs, np, lk);
    if (lab == NULL || lab->val.n == 0) {
        return;
    }
    ln = lab->val.n < MAX_KEY ? lab->val.n : MAX_KEY;
    for (size_t i = 0; i < ln; i++) {
        char c = lab->val.p[i];
        name[pre + i] = key_char(c) ? c : '_';
    }
    add_unescaped(b, cs_field_intern(name, pre + ln), p->val, true);
}

/* Extension keys with an ECS meaning. */
enum { T_STR, T_IP, T_PORT, T_TIME, T_PROTO, T_URL, T_LOWER };

static const struct {
    const char *key;
    cs_fid id;
    int type;
} ecs_map[] = {
    {"src", CS_F_SOURCE_IP, T_IP},
    {"dst", CS_F_DESTINATION_IP, T_IP},
    {"spt", CS_F_SOURCE_PORT, T_PORT},
    {"dpt", CS_F_DESTINATION_PORT, T_PORT},
    {"proto", CS_F_NETWORK_TRANSPORT, T_PROTO},
    {"suser", CS_F_USER_NAME, T_STR},
    {"duser", CS_F_USER_TARGET_NAME, T_STR},
    {"act", CS_F_EVENT_ACTION, T_STR},
    {"request", CS_F_URL_ORIGINAL, T_URL},
    {"requestMethod", CS_F_HTTP_REQUEST_METHOD, T_STR},
    {"requestClientApplication", CS_F_USER_AGENT_ORIGINAL, T_STR},
    {"msg", CS_F_MESSAGE, T_STR},
    {"outcome", CS_F_EVENT_OUTCOME, T_LOWER},
    {"shost", CS_F_SOURCE_DOMAIN, T_STR},
    {"dhost", CS_F_DESTINATION_DOMAIN, T_STR},
    {"smac", CS_F_SOURCE_MAC, T_STR},
    {"dmac", CS_F_DESTINATION_MAC, T_STR},
    {"dvchost", CS_F_OBSERVER_NAME, T_STR},
    {"fname", CS_F_FILE_NAME, T_STR},
    {"filePath", CS_F_FILE_PATH, T_STR},
    {"app", CS_F_NETWORK_PROTOCOL, T_LOWER},
    {"reason", CS_F_EVENT_REASON, T_STR},
    {"externalId", CS_F_EVENT_ID, T_STR},
    {"deviceInboundInterface", CS_F_OBSERVER_INGRESS_INTERFACE, T_STR},
    {"deviceOutboundInterface", CS_F_OBSERVER_EGRESS_INTERFACE, T_STR},
    {"start", CS_F_EVENT_START, T_TIME},
    {"end", CS_F_EVENT_END, T_TIME},
};

static void map_pair(bld *b, const pair *p, const cs_log_ctx *ctx)
{
    for (size_t i = 0; i < sizeof ecs_map / sizeof ecs_map[0]; i++) {
        int64_t v;
        cs_ip ip;
        if (p->key.p[0] != ecs_map[i].key[0] || !span_is(p->key, ecs_map[i].key)) {
            continue;   /* first byte first: most keys map to nothing */
        }
        switch (ecs_map[i].type) {
        case T_IP:
            if (cs_ip_parse(p->val.p, p->val.n, &ip)) {
                add_ip(b, ecs_map[i].id, &ip);
            }
            break;
        case T_PORT:
            if (span_uint(p->val, &v) && v <= 65535) {
                add_int(b, ecs_map[i].id, v);
            }
            break;
        case T_TIME:
            if (cef_time(p->val, ctx, &v)) {
                add_time(b, ecs_map[i].id, v);
            }
            break;
        case T_PROTO:
            map_transport_span(b, p->val);
            break;
        case T_LOWER:
            if (p->val.n > 0 && p->val.n < 64) {
                char low[64];
                for (size_t k = 0; k < p->val.n; k++) {
                    char c = p->val.p[k];
                    low[k] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
                }
                add_str(b, ecs_map[i].id, low, p->val.n);
            }
            break;
        case T_URL: {
            const char *q;
            span path = p->val;
            const char *sl;
            add_unescaped(b, CS_F_URL_ORIGINAL, p->val, true);
            /* "https://host/path?q": path and query after the authority */
            sl = p->val.n > 8 ? memmem(p->val.p, p->val.n, "://", 3) : NULL;
            if (sl != NULL) {
                const char *ps = memchr(sl + 3, '/', (size_t)(p->val.p + p->val.n - sl - 3));
                path = ps != NULL ? (span){ps, (size_t)(p->val.p + p->val.n - ps)} : (span){NULL, 0};
            }
            if (path.n == 0) {
                break;
            }
            q = memchr(path.p, '?', path.n);
            if (q != NULL) {
                add_unescaped(b, CS_F_URL_PATH, (span){path.p, (size_t)(q - path.p)}, true);
                add_unescaped(b, CS_F_URL_QUERY, (span){q + 1, path.n - (size_t)(q - path.p) - 1}, true);
            } else {
                add_unescaped(b, CS_F_URL_PATH, path, true);
            }
            break;
        }
        default:
            if (p->val.n > 0) {
                add_unescaped(b, ecs_map[i].id, p->val, true);
            }
            break;
        }
        return;
    }
}

/* ----------------------------------------------------------- header -- */

/* "CEF:0|V|P|1.0|100|Name|5|ext": the 7 header fields and the extension. */
static bool split_header(const char *s, size_t n, span hdr[7], span *ext)
{
    size_t nf = 0, start = 0;
    for (size_t i = 0; i < n && nf < 7; i++) {
        if (s[i] == '\\') {
            i++;
            continue;
        }
        if (s[i] == '|') {
            hdr[nf++] = (span){s + start, i - start};
            start = i + 1;
        }
    }
    if (nf == 6) {
        /* no '|' after Severity: no extension */
        hdr[nf++] = (span){s + start, n - start};
        start = n;
    }
    if (nf < 7) {
        return false;
    }
    *ext = (span){s + start, n > start ? n - start : 0};
    return true;
}

static void map_severity(bld *b, span v)
{
    static const struct {
        const char *word;
        int sev;
    } words[] = {{"Unknown", -1}, {"Low", 3}, {"Medium", 6}, {"High", 8}, {"Very-High", 10}};
    int64_t x;
    if (span_uint(v, &x)) {
        add_int(b, CS_F_EVENT_SEVERITY, x);
        return;
    }
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (v.n == strlen(words[i].word) && strncasecmp(v.p, words[i].word, v.n) == 0 && words[i].sev >= 0) {
            add_int(b, CS_F_EVENT_SEVERITY, words[i].sev);
        }
    }
}

/* ------------------------------------------------------------ entry -- */

static const char *const hdr_names[] = {"cef.version", "cef.severity", "observer.version"};
static cs_fid hdr_fid[3];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void intern_names(void)
{
    for (size_t i = 0; i < 3; i++) {
        hdr_fid[i] = cs_field_intern(hdr_names[i], strlen(hdr_names[i]));
    }
}

static void parse(bld *b, const char *cef, size_t n, const cs_log_ctx *ctx, bool *ok)
{
    span hdr[7], ext;
    pair pairs[MAX_PAIRS];
    size_t np;
    bool has_suser = false;

    *ok = split_header(cef + 4, n - 4, hdr, &ext);
    if (!*ok) {
        return;
    }
    add_unescaped(b, hdr_fid[0], hdr[0], false);
    add_unescaped(b, CS_F_OBSERVER_VENDOR, hdr[1], false);
    add_unescaped(b, CS_F_OBSERVER_PRODUCT, hdr[2], false);
    add_unescaped(b, hdr_fid[2], hdr[3], false);
    add_unescaped(b, CS_F_RULE_ID, hdr[4], false);
    add_unescaped(b, CS_F_RULE_NAME, hdr[5], false);
    add_unescaped(b, hdr_fid[1], hdr[6], false);
    map_severity(b, hdr[6]);

    np = split_ext(ext, pairs, MAX_PAIRS);
    for (size_t i = 0; i < np; i++) {
        const pair *p = &pairs[i];
        int64_t us;
        if (!reserved_key(p->key)) {
            add_own(b, key_id(p->key.p, p->key.n), p->val);
        }
        if (span_is(p->key, "rt") && cef_time(p->val, ctx, &us)) {
            b->ev->ts_us = us;
        }
        has_suser |= span_is(p->key, "suser") && p->val.n > 0;
        map_pair(b, p, ctx);
        add_custom(b, pairs, np, p);
    }
    if (!has_suser) {
        const pair *d = find_pair(pairs, np, "duser");
        if (d != NULL && d->val.n > 0) {
            add_unescaped(b, CS_F_USER_NAME, d->val, true);
        }
    }
}

cs_rc cs_parse_cef(const char *line, size_t len, const cs_log_ctx *ctx, cs_event **out)
{
    bld b = {NULL, CS_OK, NULL, NULL};
    const char *cef;
    bool ok = false;

    pthread_once(&names_once, intern_names);
    *out = NULL;
    if (line == NULL) {
        return cs_err_set(CS_ERR_INVAL, "NULL log line");
    }
    b.ev = cs_event_new_sized(CS_KIND_LOG, received(ctx), 48,
                              len <= (CS_EVENT_MAX_BYTES - 512) / 3 ? 3 * len + 512 : CS_EVENT_MAX_BYTES);
    if (b.ev == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory parsing a log line");
    }
    cef = len >= 4 ? memmem(line, len, "CEF:", 4) : NULL;
    if (cef != NULL) {
        parse(&b, cef, len - (size_t)(cef - line), ctx, &ok);
    }
    if (!ok) {
        add_str(&b, CS_F_MESSAGE, line, len);
        add_cstr(&b, CS_F_TAGS, "citysoc.unparsed");
    }
    if (b.rc == CS_OK) {
        b.rc = cs_log_common(&b.ev, line, len, ctx, CS_LOGFMT_CEF, NULL, NULL, NULL);
    }
    if (b.rc != CS_OK) {
        cs_event_free(b.ev);
        return b.rc;
    }
    *out = b.ev;
    return CS_OK;
}
