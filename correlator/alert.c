/* alert.c - alert building, risk and aggregation (see alert.h for the
 * formula and the policy).
 *
 * Alert ids are a hash of (rule, key, first-seen time), so replaying the same
 * input makes the same ids: golden files stay stable and a later
 * Elasticsearch output can use them as document ids for idempotent writes.
 */
#include "alert.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct open_alert {
    char *agg;            /* rule_id "\x1f" key */
    cs_event *ev;
    int64_t last_seen;
    bool open;
} open_alert;

struct cs_alerter {
    const cs_inventory *inv;
    int64_t window_us;
    cs_alert_out_fn fn;
    void *ud;
    open_alert *all;      /* creation order */
    size_t n, cap;
    size_t nopen;
    /* open-addressing index over `all` for open alerts, by agg key */
    size_t *index;
    size_t index_cap;
};

int cs_level_priority(const char *level)
{
    static const char *const names[] = {"informational", "low", "medium", "high", "critical"};
    if (level != NULL) {
        for (int i = 0; i < 5; i++) {
            if (strcasecmp(level, names[i]) == 0) {
                return i + 1;
            }
        }
    }
    return 3;
}

double cs_risk_score(int priority, int asset_value, int reliability)
{
    double r;
    if (priority < 0) {
        priority = 0;
    }
    if (priority > 5) {
        priority = 5;
    }
    if (asset_value < 0) {
        asset_value = 0;
    }
    if (asset_value > 5) {
        asset_value = 5;
    }
    if (reliability < 0) {
        reliability = 0;
    }
    if (reliability > 10) {
        reliability = 10;
    }
    r = (double)priority * asset_value * reliability / 25.0;
    return (double)(int64_t)(r * 100.0 + 0.5) / 100.0;   /* two decimals, stable in JSON */
}

static uint64_t fnv64(const char *s, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

cs_rc cs_alerter_new(const cs_inventory *inv, int64_t window_us, cs_alert_out_fn fn, void *ud, cs_alerter **out)
{
    cs_alerter *a = calloc(1, sizeof *a);
    *out = NULL;
    if (a == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory");
    }
    a->inv = inv;
    a->window_us = window_us;
    a->fn = fn;
    a->ud = ud;
    a->index_cap = 1024;
    a->index = malloc(a->index_cap * sizeof *a->index);
    if (a->index == NULL) {
        free(a);
        return cs_err_set(CS_ERR_NOMEM, "out of memory");
    }
    memset(a->index, 0xFF, a->index_cap * sizeof *a->index);
    *out = a;
    return CS_OK;
}

void cs_alerter_free(cs_alerter *a)
{
    if (a == NULL) {
        return;
    }
    for (size_t i = 0; i < a->n; i++) {
        free(a->all[i].agg);
        cs_event_free(a->all[i].ev);
    }
    free(a->all);
    free(a->index);
    free(a);
}

static size_t slot_of(const cs_alerter *a, const char *agg)
{
    size_t i = fnv64(agg, strlen(agg), 1469598103934665603ull) % a->index_cap;
    for (;;) {
        size_t v = a->index[i];
        if (v == SIZE_MAX || strcmp(a->all[v].agg, agg) == 0) {
            return i;
        }
        i = (i + 1) % a->index_cap;
    }
}

/* Rebuild the index from the open alerts (after growth or closing). */
static cs_rc reindex(cs_alerter *a, size_t cap)
{
    size_t *idx = malloc(cap * sizeof *idx);
    if (idx == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory");
    }
    memset(idx, 0xFF, cap * sizeof *idx);
    free(a->index);
    a->index = idx;
    a->index_cap = cap;
    for (size_t i = 0; i < a->n; i++) {
        if (a->all[i].open) {
            a->index[slot_of(a, a->all[i].agg)] = i;
        }
    }
    return CS_OK;
}

/* Close every alert whose window has passed, and the stalest if still full. */
static cs_rc close_stale(cs_alerter *a, int64_t now)
{
    size_t stalest = SIZE_MAX;
    for (size_t i = 0; i < a->n; i++) {
        open_alert *o = &a->all[i];
        if (!o->open) {
            continue;
        }
        if (now - o->last_seen > a->window_us) {
            o->open = false;
            a->nopen--;
        } else if (stalest == SIZE_MAX || o->last_seen < a->all[stalest].last_seen) {
            stalest = i;
        }
    }
    if (a->nopen >= CS_ALERT_MAX_OPEN && stalest != SIZE_MAX) {
        a->all[stalest].open = false;
        a->nopen--;
    }
    return reindex(a, a->index_cap);
}

/* The key says who did it to what: source>target. The target is the
 * destination address, else the reporting host (a log line's host is the
 * machine under attack), so one attacker against two servers is two alerts. */
static void derive_key(const cs_event *ev, char *buf, size_t sz)
{
    cs_ip s, d;
    char sb[64], tb[256];
    const char *t;
    size_t tl;
    bool hs = cs_event_get_ip(ev, CS_F_SOURCE_IP, &s);
    bool hd = cs_event_get_ip(ev, CS_F_DESTINATION_IP, &d);
    sb[0] = tb[0] = '\0';
    if (hs) {
        cs_ip_format(&s, sb, sizeof sb);
    }
    if (hd) {
        cs_ip_format(&d, tb, sizeof tb);
    } else if (cs_event_get_str(ev, CS_F_HOST_NAME, &t, &tl)) {
        snprintf(tb, sizeof tb, "host:%.*s", (int)(tl > 200 ? 200 : tl), t);
    }
    if (!hs && tb[0] == '\0' && cs_event_get_str(ev, CS_F_USER_NAME, &t, &tl)) {
        snprintf(sb, sizeof sb, "user:%.*s", (int)(tl > 50 ? 50 : tl), t);
    }
    if (sb[0] == '\0' && tb[0] == '\0') {
        snprintf(buf, sz, "-");
    } else if (sb[0] == '\0') {
        snprintf(buf, sz, "%s", tb);
    } else {
        snprintf(buf, sz, "%s>%s", sb, tb);
    }
}

static void set_int(cs_event *ev, cs_fid id, int64_t v)
{
    cs_field *f = (cs_field *)cs_event_find(ev, id);
    if (f != NULL) {
        f->v.i = v;
    }
}

/* Fields copied from the evidence so an analyst can pivot from the alert. */
static const cs_fid copied[] = {
    CS_F_SOURCE_IP, CS_F_SOURCE_PORT, CS_F_DESTINATION_IP, CS_F_DESTINATION_PORT, CS_F_NETWORK_TRANSPORT,
    CS_F_NETWORK_PROTOCOL, CS_F_NETWORK_COMMUNITY_ID, CS_F_HOST_NAME, CS_F_USER_NAME, CS_F_PROCESS_NAME,
    CS_F_URL_ORIGINAL, CS_F_DNS_QUESTION_NAME, CS_F_TLS_CLIENT_SERVER_NAME, CS_F_CS_SYSTEM_ID,
    CS_F_CS_SYSTEM_NAME, CS_F_CS_FLOW_ID, CS_F_MESSAGE,
};

static cs_rc build(cs_alerter *a, const cs_alert_src *src, const cs_event *evd, const char *key, cs_event **out)
{
    cs_event *ev = cs_event_new_sized(CS_KIND_ALERT, evd ? evd->ts_us : 0, 48, 1024);
    const cs_system *sys = NULL;
    const char *sid;
    size_t sidl;
    int prio = cs_level_priority(src->level);
    int asset = 2;
    double risk;
    char id[40];
    uint64_t h;
    cs_rc rc = CS_OK;

    if (ev == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory building an alert");
    }
    if (evd != NULL && cs_event_get_str(evd, CS_F_CS_SYSTEM_ID, &sid, &sidl) && a->inv != NULL) {
        char tmp[256];
        snprintf(tmp, sizeof tmp, "%.*s", (int)(sidl > 255 ? 255 : sidl), sid);
        sys = cs_inventory_find(a->inv, tmp);
    }
    if (sys != NULL) {
        asset = sys->asset_value;
    }
    risk = cs_risk_score(prio, asset, src->reliability);
    h = fnv64(src->rule_id, strlen(src->rule_id), 1469598103934665603ull);
    h = fnv64("\x1f", 1, h);
    h = fnv64(key, strlen(key), h);
    h = fnv64((const char *)&ev->ts_us, sizeof ev->ts_us, h);
    snprintf(id, sizeof id, "%016" PRIx64, h);

    rc = cs_event_add_cstr(&ev, CS_F_CS_ALERT_ID, id);
    rc = rc ? rc : cs_event_add_cstr(&ev, CS_F_RULE_ID, src->rule_id);
    rc = rc ? rc : cs_event_add_cstr(&ev, CS_F_RULE_NAME, src->title);
    rc = rc ? rc : cs_event_add_cstr(&ev, CS_F_RULE_RULESET, src->detector ? src->detector : "citysoc");
    if (rc == CS_OK && src->description != NULL && src->description[0] != '\0') {
        rc = cs_event_add_cstr(&ev, CS_F_RULE_DESCRIPTION, src->description);
    }
    rc = rc ? rc : cs_event_add_cstr(&ev, CS_F_CS_ALERT_LEVEL, src->level ? src->level : "medium");
    rc = rc ? rc : cs_event_add_int(&ev, CS_F_EVENT_SEVERITY, prio);
    rc = rc ? rc : cs_event_add_float(&ev, CS_F_CS_RISK, risk);
    rc = rc ? rc : cs_event_add_float(&ev, CS_F_EVENT_RISK_SCORE, risk * 10.0);
    rc = rc ? rc : cs_event_add_cstr(&ev, CS_F_CS_ALERT_KEY, key);
    rc = rc ? rc : cs_event_add_int(&ev, CS_F_CS_ALERT_COUNT, 1);
    rc = rc ? rc : cs_event_add_time(&ev, CS_F_CS_ALERT_FIRST_SEEN, ev->ts_us);
    rc = rc ? rc : cs_event_add_time(&ev, CS_F_CS_ALERT_LAST_SEEN, ev->ts_us);
    for (size_t i = 0; rc == CS_OK && i < src->ntags; i++) {
        const char *t = src->tags[i];
        rc = cs_event_add_cstr(&ev, CS_F_TAGS, t);
        /* attack.t1110.001 -> threat.technique.id T1110.001 */
        if (rc == CS_OK && strncasecmp(t, "attack.t", 8) == 0 && t[8] >= '0' && t[8] <= '9') {
            char tech[32];
            size_t k;
            snprintf(tech, sizeof tech, "T%s", t + 8);
            for (k = 1; tech[k]; k++) {
                if (tech[k] >= 'a' && tech[k] <= 'z') {
                    tech[k] = (char)(tech[k] - 32);
                }
            }
            rc = cs_event_add_cstr(&ev, CS_F_THREAT_TECHNIQUE_ID, tech);
        }
    }
    for (size_t i = 0; rc == CS_OK && evd != NULL && i < sizeof copied / sizeof copied[0]; i++) {
        const cs_field *fs = cs_event_fields(evd);
        for (size_t k = 0; rc == CS_OK && k < cs_event_nfields(evd); k++) {
            if (fs[k].id == copied[i]) {
                rc = cs_event_add_field(&ev, evd, &fs[k]);
            }
        }
    }
    if (rc != CS_OK) {
        cs_event_free(ev);
        return rc;
    }
    *out = ev;
    return CS_OK;
}

cs_rc cs_alerter_raise(cs_alerter *a, const cs_alert_src *src, const cs_event *evidence)
{
    char key[512];
    char *agg;
    size_t slot, al;
    int64_t now = evidence ? evidence->ts_us : 0;
    open_alert *o;
    cs_rc rc;

    if (src->key != NULL) {
        snprintf(key, sizeof key, "%s", src->key);
    } else if (evidence != NULL) {
        derive_key(evidence, key, sizeof key);
    } else {
        snprintf(key, sizeof key, "-");
    }
    al = strlen(src->rule_id) + 1 + strlen(key) + 1;
    agg = malloc(al);
    if (agg == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory");
    }
    snprintf(agg, al, "%s\x1f%s", src->rule_id, key);
    slot = slot_of(a, agg);
    if (a->index[slot] != SIZE_MAX) {
        o = &a->all[a->index[slot]];
        if (now >= o->last_seen - a->window_us && now - o->last_seen <= a->window_us) {
            int64_t count = 0;
            cs_event_get_int(o->ev, CS_F_CS_ALERT_COUNT, &count);
            set_int(o->ev, CS_F_CS_ALERT_COUNT, count + 1);
            if (now > o->last_seen) {
                o->last_seen = now;
                set_int(o->ev, CS_F_CS_ALERT_LAST_SEEN, now);
            }
            free(agg);
            if (a->fn != NULL) {
                a->fn(o->ev, evidence, false, a->ud);
            }
            return CS_OK;
        }
        o->open = false;   /* window passed: the next one is a new alert */
        a->nopen--;
        a->index[slot] = SIZE_MAX;
        if ((rc = reindex(a, a->index_cap)) != CS_OK) {
            free(agg);
            return rc;
        }
    }
    if (a->nopen + 1 > a->index_cap / 2) {
        rc = a->nopen + 1 >= CS_ALERT_MAX_OPEN ? close_stale(a, now) : reindex(a, a->index_cap * 2);
        if (rc != CS_OK) {
            free(agg);
            return rc;
        }
    }
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 64;
        open_alert *p = realloc(a->all, nc * sizeof *p);
        if (p == NULL) {
            free(agg);
            return cs_err_set(CS_ERR_NOMEM, "out of memory");
        }
        a->all = p;
        a->cap = nc;
    }
    o = &a->all[a->n];
    memset(o, 0, sizeof *o);
    rc = build(a, src, evidence, key, &o->ev);
    if (rc != CS_OK) {
        free(agg);
        return rc;
    }
    o->agg = agg;
    o->last_seen = now;
    o->open = true;
    a->index[slot_of(a, agg)] = a->n;
    a->n++;
    a->nopen++;
    if (a->fn != NULL) {
        a->fn(o->ev, evidence, true, a->ud);
    }
    return CS_OK;
}

void cs_alerter_foreach(const cs_alerter *a, void (*fn)(const cs_event *alert, void *ud), void *ud)
{
    for (size_t i = 0; i < a->n; i++) {
        fn(a->all[i].ev, ud);
    }
}

size_t cs_alerter_count(const cs_alerter *a)
{
    return a->n;
}
