/* parse_kv.c - key=value lines (Fortigate, many firewalls and appliances):
 *   date=2026-03-12 time=08:00:00 devname="fw01" srcip=1.2.3.4 action=deny msg='x y'
 * (see logparse.h for the common contract).
 *
 * Design note.
 *
 * One pass over the line: a pair is a token that starts with a key of
 * [A-Za-z0-9_.-] (1..64 bytes) directly followed by '='; its value is a
 * "double" or 'single' quoted string (backslash escapes the quote and
 * itself; an unterminated quote runs to the end of the line) or runs to the
 * next blank. Tokens that are not pairs (a syslog header before the pairs,
 * bare flags like SYN) are skipped. At most 256 pairs are read; the rest of
 * the line stays in event.original. A line without any pair is kept as an
 * unparsed message.
 *
 * Every key is a field of its own name (interned once per process; a small
 * per-thread cache keeps the registry lock off the hot path), holding the
 * unescaped text, typed only when the key is itself a canonical typed name.
 * Keys starting with "citysoc." and the names cs_log_common() sets
 * (event.original, event.created) are not taken from the line. Note that the
 * registry is process-wide and bounded (CS_FIELD_MAX): a source that invents
 * new key names without end fills it, after which new keys are only in
 * event.original.
 *
 * Aliases to ECS (key names compared case-insensitively):
 *   srcip src src_ip source source_ip          -> source.ip
 *   dstip dst dst_ip destination dest_ip       -> destination.ip
 *   srcport spt src_port sport                 -> source.port
 *   dstport dpt dst_port dport dest_port       -> destination.port
 *   user usrname username srcuser suser        -> user.name
 *   action act                                 -> event.action
 *   proto protocol (name or IANA number)       -> network.transport (+ iana_number)
 *   msg -> message, devname -> observer.name, policyid -> rule.id,
 *   policyname rule -> rule.name, level -> log.level, srcintf/dstintf ->
 *   observer.ingress/egress.interface.name, sentbyte/rcvdbyte ->
 *   source/destination.bytes, sentpkt/rcvdpkt -> .packets, url -> url.original
 * A line with an action and an address is a firewall record: logsource
 * category "firewall", plus the SigmaHQ firewall names src_ip, dst_ip,
 * src_port, dst_port, action when the line does not carry them itself.
 * A Fortigate line (devid FG.../FW...) is product "fortigate", service =
 * its `type` (event, traffic, utm), as SigmaHQ's fortigate rules ask.
 *
 * Time: eventtime (epoch s/ms/us/ns), else date= + time= (zone from tz=,
 * else ctx->time.tz_offset_s), else timestamp/ts/rt (ISO 8601 or epoch).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "../../runtime/timeutil.h"
#include "logbuild.h"
#include "logparse.h"

#define MAX_PAIRS 256
#define MAX_KEY 64

/* ---------------------------------------------------------- helpers -- */

static bool key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
}

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

typedef struct pair {
    span key, val;
    char quote;   /* 0, '"' or '\'' */
} pair;

/* Add a value; a quoted one is unescaped where it lies in the arena (the
 * event is ours and the field was just appended, so that is safe). */
static void add_val(bld *b, cs_fid id, const pair *p)
{
    cs_field *fs, *f;
    char *s;
    size_t w = 0;
    add_str(b, id, p->val.p, p->val.n);
    if (b->rc != CS_OK || id == CS_F_NONE || p->quote == 0 || memchr(p->val.p, '\\', p->val.n) == NULL) {
        return;
    }
    fs = (cs_field *)(void *)(b->ev + 1);
    f = &fs[b->ev->nfields - 1];
    s = (char *)(void *)(fs + b->ev->cap_fields) + f->v.off;   /* the arena, as cs_event_strval() */
    for (size_t r = 0; r < f->len; r++) {
        if (s[r] == '\\' && r + 1 < f->len && (s[r + 1] == p->quote || s[r + 1] == '\\')) {
            r++;
        }
        s[w++] = s[r];
    }
    f->len = (uint32_t)w;
    s[w] = '\0';
}

/* Field id of a key, through a per-thread cache: interning takes the
 * registry lock and a device repeats the same keys on every line. */
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

static int64_t received(const cs_log_ctx *ctx)
{
    return ctx != NULL && ctx->received_us != 0 ? ctx->received_us : cs_now_us();
}

/* ------------------------------------------------------------- scan -- */

static size_t scan_pairs(const char *s, size_t n, pair *pairs, size_t max)
{
    size_t np = 0, i = 0;
    while (i < n && np < max) {
        size_t k;
        while (i < n && blank(s[i])) {
            i++;
        }
        k = i;
        while (i < n && key_char(s[i]) && i - k <= MAX_KEY) {
            i++;
        }
        if (i >= n || s[i] != '=' || i == k || i - k > MAX_KEY) {
            while (i < n && !blank(s[i])) {   /* not a pair: skip the token */
                i++;
            }
            continue;
        }
        pairs[np].key = (span){s + k, i - k};
        pairs[np].quote = 0;
        i++;
        if (i < n && (s[i] == '"' || s[i] == '\'')) {
            char q = s[i];
            size_t j = ++i;
            while (j < n && s[j] != q) {
                j += s[j] == '\\' ? 2 : 1;
            }
            if (j > n) {
                j = n;
            }
            pairs[np].val = (span){s + i, j - i};
            pairs[np].quote = q;
            i = j < n ? j + 1 : n;
        } else {
            size_t j = i;
            while (j < n && !blank(s[j])) {
                j++;
            }
            pairs[np].val = (span){s + i, j - i};
            i = j;
        }
        np++;
    }
    return np;
}

/* ------------------------------------------------------------ names -- */

/* What a key means, looked up once per pair (lowercased): an ECS alias, a
 * key the time or the product comes from, a SigmaHQ firewall name. */
enum { A_NONE, A_SRC_IP, A_DST_IP, A_SRC_PORT, A_DST_PORT, A_ACTION, A_PROTO, A_STR, A_INT };
enum { K_EVENTTIME, K_DATE, K_TIME, K_TZ, K_TIMESTAMP, K_TS, K_RT, K_DEVID, K_TYPE, K__COUNT };
enum { S_SRC_IP, S_DST_IP, S_SRC_PORT, S_DST_PORT, S_ACTION, S__COUNT };

#define KEY(s) s, sizeof s - 1
#define LONGEST_KEY 16

typedef struct key_info {
    const char *key;
    size_t len;
    int kind;      /* A_* */
    int special;   /* K_* or -1 */
    int sigma;     /* S_* or -1 */
    cs_fid id;
} key_info;

static const key_info keys[] = {
    {KEY("srcip"), A_SRC_IP, -1, -1, CS_F_SOURCE_IP},
    {KEY("src"), A_SRC_IP, -1, -1, CS_F_SOURCE_IP},
    {KEY("src_ip"), A_SRC_IP, -1, S_SRC_IP, CS_F_SOURCE_IP},
    {KEY("source"), A_SRC_IP, -1, -1, CS_F_SOURCE_IP},
    {KEY("source_ip"), A_SRC_IP, -1, -1, CS_F_SOURCE_IP},
    {KEY("dstip"), A_DST_IP, -1, -1, CS_F_DESTINATION_IP},
    {KEY("dst"), A_DST_IP, -1, -1, CS_F_DESTINATION_IP},
    {KEY("dst_ip"), A_DST_IP, -1, S_DST_IP, CS_F_DESTINATION_IP},
    {KEY("destination"), A_DST_IP, -1, -1, CS_F_DESTINATION_IP},
    {KEY("dest_ip"), A_DST_IP, -1, -1, CS_F_DESTINATION_IP},
    {KEY("srcport"), A_SRC_PORT, -1, -1, CS_F_SOURCE_PORT},
    {KEY("spt"), A_SRC_PORT, -1, -1, CS_F_SOURCE_PORT},
    {KEY("src_port"), A_SRC_PORT, -1, S_SRC_PORT, CS_F_SOURCE_PORT},
    {KEY("sport"), A_SRC_PORT, -1, -1, CS_F_SOURCE_PORT},
    {KEY("dstport"), A_DST_PORT, -1, -1, CS_F_DESTINATION_PORT},
    {KEY("dpt"), A_DST_PORT, -1, -1, CS_F_DESTINATION_PORT},
    {KEY("dst_port"), A_DST_PORT, -1, S_DST_PORT, CS_F_DESTINATION_PORT},
    {KEY("dport"), A_DST_PORT, -1, -1, CS_F_DESTINATION_PORT},
    {KEY("dest_port"), A_DST_PORT, -1, -1, CS_F_DESTINATION_PORT},
    {KEY("user"), A_STR, -1, -1, CS_F_USER_NAME},
    {KEY("usrname"), A_STR, -1, -1, CS_F_USER_NAME},
    {KEY("username"), A_STR, -1, -1, CS_F_USER_NAME},
    {KEY("srcuser"), A_STR, -1, -1, CS_F_USER_NAME},
    {KEY("suser"), A_STR, -1, -1, CS_F_USER_NAME},
    {KEY("action"), A_ACTION, -1, S_ACTION, CS_F_EVENT_ACTION},
    {KEY("act"), A_ACTION, -1, -1, CS_F_EVENT_ACTION},
    {KEY("proto"), A_PROTO, -1, -1, CS_F_NETWORK_TRANSPORT},
    {KEY("protocol"), A_PROTO, -1, -1, CS_F_NETWORK_TRANSPORT},
    {KEY("msg"), A_STR, -1, -1, CS_F_MESSAGE},
    {KEY("devname"), A_STR, -1, -1, CS_F_OBSERVER_NAME},
    {KEY("policyid"), A_STR, -1, -1, CS_F_RULE_ID},
    {KEY("policyname"), A_STR, -1, -1, CS_F_RULE_NAME},
    {KEY("rule"), A_STR, -1, -1, CS_F_RULE_NAME},
    {KEY("level"), A_STR, -1, -1, CS_F_LOG_LEVEL},
    {KEY("srcintf"), A_STR, -1, -1, CS_F_OBSERVER_INGRESS_INTERFACE},
    {KEY("dstintf"), A_STR, -1, -1, CS_F_OBSERVER_EGRESS_INTERFACE},
    {KEY("url"), A_STR, -1, -1, CS_F_URL_ORIGINAL},
    {KEY("sentbyte"), A_INT, -1, -1, CS_F_SOURCE_BYTES},
    {KEY("rcvdbyte"), A_INT, -1, -1, CS_F_DESTINATION_BYTES},
    {KEY("sentpkt"), A_INT, -1, -1, CS_F_SOURCE_PACKETS},
    {KEY("rcvdpkt"), A_INT, -1, -1, CS_F_DESTINATION_PACKETS},
    {KEY("eventtime"), A_NONE, K_EVENTTIME, -1, CS_F_NONE},
    {KEY("date"), A_NONE, K_DATE, -1, CS_F_NONE},
    {KEY("time"), A_NONE, K_TIME, -1, CS_F_NONE},
    {KEY("tz"), A_NONE, K_TZ, -1, CS_F_NONE},
    {KEY("timestamp"), A_NONE, K_TIMESTAMP, -1, CS_F_NONE},
    {KEY("ts"), A_NONE, K_TS, -1, CS_F_NONE},
    {KEY("rt"), A_NONE, K_RT, -1, CS_F_NONE},
    {KEY("devid"), A_NONE, K_DEVID, -1, CS_F_NONE},
    {KEY("type"), A_NONE, K_TYPE, -1, CS_F_NONE},
};

static const key_info *classify(span k)
{
    char low[LONGEST_KEY];
    if (k.n > LONGEST_KEY) {
        return NULL;
    }
    for (size_t i = 0; i < k.n; i++) {
        low[i] = (char)(k.p[i] >= 'A' && k.p[i] <= 'Z' ? k.p[i] - 'A' + 'a' : k.p[i]);
    }
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (keys[i].len == k.n && memcmp(keys[i].key, low, k.n) == 0) {
            return &keys[i];
        }
    }
    return NULL;
}

/* SigmaHQ firewall names, added when the line is a firewall record. */
static const char *const sigma_names[S__COUNT] = {"src_ip", "dst_ip", "src_port", "dst_port", "action"};
static cs_fid sigma_fid[S__COUNT];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void intern_names(void)
{
    for (int i = 0; i < S__COUNT; i++) {
        sigma_fid[i] = cs_field_intern(sigma_names[i], strlen(sigma_names[i]));
    }
}

/* ------------------------------------------------------------- time -- */

static bool epoch_us(span v, int64_t *us)
{
    int64_t x;
    if (!span_uint(v, &x)) {
        return false;
    }
    *us = x >= 100000000000000000LL ? x / 1000 : x >= 100000000000000LL ? x : x >= 100000000000LL ? x * 1000
                                                                                                   : x * 1000000;
    return true;
}

static bool digits(span v, size_t at, size_t nd, int *out)
{
    int x = 0;
    if (at + nd > v.n) {
        return false;
    }
    for (size_t i = at; i < at + nd; i++) {
        if (v.p[i] < '0' || v.p[i] > '9') {
            return false;
        }
        x = x * 10 + (v.p[i] - '0');
    }
    *out = x;
    return true;
}

/* "+0000", "-07:00", "UTC"; anything else: the configured local zone. */
static int zone_offset(const pair *tz, const cs_log_ctx *ctx)
{
    int h, m;
    int local = ctx != NULL ? ctx->time.tz_offset_s : 0;
    if (tz == NULL) {
        return local;
    }
    if (span_icase(tz->val, "UTC") || span_icase(tz->val, "GMT") || span_is(tz->val, "Z")) {
        return 0;
    }
    if (tz->val.n >= 5 && (tz->val.p[0] == '+' || tz->val.p[0] == '-') && digits(tz->val, 1, 2, &h) &&
        (digits(tz->val, 3, 2, &m) || (tz->val.p[3] == ':' && digits(tz->val, 4, 2, &m)))) {
        return (tz->val.p[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
    }
    return local;
}

/* date=2026-03-12 time=08:00:00 */
static bool date_time(const pair *d, const pair *t, const pair *tz, const cs_log_ctx *ctx, int64_t *us)
{
    int y, mo, dd, h, mi, se;
    if (d == NULL || t == NULL || d->val.n != 10 || t->val.n < 8 || !digits(d->val, 0, 4, &y) ||
        d->val.p[4] != '-' || !digits(d->val, 5, 2, &mo) || d->val.p[7] != '-' || !digits(d->val, 8, 2, &dd) ||
        !digits(t->val, 0, 2, &h) || t->val.p[2] != ':' || !digits(t->val, 3, 2, &mi) || t->val.p[5] != ':' ||
        !digits(t->val, 6, 2, &se)) {
        return false;
    }
    if (mo < 1 || mo > 12 || dd < 1 || dd > 31 || h > 23 || mi > 59 || se > 60) {
        return false;
    }
    *us = (cs_time_from_civil(y, mo, dd, h, mi, se) - zone_offset(tz, ctx)) * 1000000;
    return true;
}

/* eventtime, else date + time (+ tz), else timestamp / ts / rt / time. */
static bool line_time(const pair *const *spec, const cs_log_ctx *ctx, int64_t *us)
{
    static const int order[] = {K_TIMESTAMP, K_TS, K_RT, K_TIME};
    const pair *p = spec[K_EVENTTIME];
    if (p != NULL && epoch_us(p->val, us)) {
        return true;
    }
    if (date_time(spec[K_DATE], spec[K_TIME], spec[K_TZ], ctx, us)) {
        return true;
    }
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        p = spec[order[k]];
        if (p != NULL && (cs_time_parse(p->val.p, p->val.n, us) || epoch_us(p->val, us))) {
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------ entry -- */

typedef struct seen {
    bool action, addr;
    bool own[S__COUNT];   /* the line has the SigmaHQ name itself */
    const pair *src, *dst, *spt, *dpt, *act;
    const pair *spec[K__COUNT];   /* first pair of each special key */
} seen;

static void map_pair(bld *b, const pair *p, const key_info *k, seen *st)
{
    int64_t v;
    cs_ip ip;
    switch (k->kind) {
    case A_SRC_IP:
    case A_DST_IP:
        if (cs_ip_parse(p->val.p, p->val.n, &ip)) {
            const pair **first = k->kind == A_SRC_IP ? &st->src : &st->dst;
            add_ip(b, k->id, &ip);
            st->addr = true;
            *first = *first != NULL ? *first : p;
        }
        break;
    case A_SRC_PORT:
    case A_DST_PORT:
        if (span_uint(p->val, &v) && v <= 65535) {
            const pair **first = k->kind == A_SRC_PORT ? &st->spt : &st->dpt;
            add_int(b, k->id, v);
            *first = *first != NULL ? *first : p;
        }
        break;
    case A_PROTO:
        map_transport_span(b, p->val);
        break;
    case A_INT:
        if (span_uint(p->val, &v)) {
            add_int(b, k->id, v);
        }
        break;
    case A_ACTION:
        if (p->val.n > 0) {
            st->action = true;
            st->act = st->act != NULL ? st->act : p;
            add_val(b, k->id, p);
        }
        break;
    case A_STR:
        if (p->val.n > 0) {
            add_val(b, k->id, p);
        }
        break;
    default:
        break;
    }
}

static void add_own(bld *b, const pair *p)
{
    cs_fid id = key_id(p->key.p, p->key.n);
    cs_type t = cs_field_type(id);
    int64_t x;
    cs_ip ip;
    if (t == CS_T_IP && cs_ip_parse(p->val.p, p->val.n, &ip)) {
        add_ip(b, id, &ip);
    } else if (t == CS_T_INT && span_uint(p->val, &x)) {
        add_int(b, id, x);
    } else {
        add_val(b, id, p);
    }
}

/* Sigma firewall names the line does not have already. */
static void add_sigma_names(bld *b, const seen *st)
{
    const pair *from[S__COUNT] = {st->src, st->dst, st->spt, st->dpt, st->act};
    for (int k = 0; k < S__COUNT; k++) {
        int64_t v;
        cs_ip ip;
        if (st->own[k] || from[k] == NULL) {
            continue;
        }
        if ((k == S_SRC_IP || k == S_DST_IP) && cs_ip_parse(from[k]->val.p, from[k]->val.n, &ip)) {
            add_ip(b, sigma_fid[k], &ip);
        } else if ((k == S_SRC_PORT || k == S_DST_PORT) && span_uint(from[k]->val, &v)) {
            add_int(b, sigma_fid[k], v);
        } else if (k == S_ACTION) {
            add_val(b, sigma_fid[k], from[k]);
        }
    }
}

cs_rc cs_parse_kv(const char *line, size_t len, const cs_log_ctx *ctx, cs_event **out)
{
    bld b = {NULL, CS_OK, NULL, NULL};
    pair pairs[MAX_PAIRS];
    size_t np;
    seen st;
    const char *product = NULL, *category = NULL, *service = NULL;
    char svc[17];

    pthread_once(&names_once, intern_names);
    *out = NULL;
    if (line == NULL) {
        return cs_err_set(CS_ERR_INVAL, "NULL log line");
    }
    b.ev = cs_event_new_sized(CS_KIND_LOG, received(ctx), 64,
                              len <= (CS_EVENT_MAX_BYTES - 512) / 3 ? 3 * len + 512 : CS_EVENT_MAX_BYTES);
    if (b.ev == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory parsing a log line");
    }
    memset(&st, 0, sizeof st);
    np = scan_pairs(line, len, pairs, MAX_PAIRS);
    if (np == 0) {
        add_str(&b, CS_F_MESSAGE, line, len);
        add_cstr(&b, CS_F_TAGS, "citysoc.unparsed");
    } else {
        int64_t us;
        const pair *devid, *type;
        for (size_t i = 0; i < np; i++) {
            const key_info *k = classify(pairs[i].key);
            if (!reserved_key(pairs[i].key)) {
                add_own(&b, &pairs[i]);
            }
            if (k == NULL) {
                continue;
            }
            if (k->sigma >= 0 && span_is(pairs[i].key, sigma_names[k->sigma])) {
                st.own[k->sigma] = true;
            }
            if (k->special >= 0 && st.spec[k->special] == NULL) {
                st.spec[k->special] = &pairs[i];
            }
            map_pair(&b, &pairs[i], k, &st);
        }
        if (line_time(st.spec, ctx, &us)) {
            b.ev->ts_us = us;
        }
        if (st.action && st.addr) {
            category = "firewall";
            add_sigma_names(&b, &st);
            add_cstr(&b, CS_F_EVENT_CATEGORY, "network");
        }
        devid = st.spec[K_DEVID];
        type = st.spec[K_TYPE];
        if (devid != NULL && devid->val.n >= 2 &&
            (memcmp(devid->val.p, "FG", 2) == 0 || memcmp(devid->val.p, "FW", 2) == 0)) {
            product = "fortigate";
            if (type != NULL && type->val.n > 0 && type->val.n < sizeof svc) {
                memcpy(svc, type->val.p, type->val.n);
                svc[type->val.n] = '\0';
                service = svc;
            }
        }
    }
    if (b.rc == CS_OK) {
        b.rc = cs_log_common(&b.ev, line, len, ctx, CS_LOGFMT_KV, product, category, service);
    }
    if (b.rc != CS_OK) {
        cs_event_free(b.ev);
        return b.rc;
    }
    *out = b.ev;
    return CS_OK;
}
