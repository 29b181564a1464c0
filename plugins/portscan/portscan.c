/* portscan.c - example detection plugin: one source touching many distinct
 * destination ports of one host in a short time (TCP/UDP port scan, T1046).
 *
 * Why a plugin and not a rule: a Sigma rule sees one event; a scan is only
 * visible across hundreds of flow events. The plugin keeps, per (source,
 * destination) pair, the set of ports seen in a window of event time that
 * starts at the first flow of the pair (a tumbling window: cheap, and a scan
 * that straddles two windows is still caught once the second one fills).
 *
 * Memory is bounded: at most max_pairs tracked pairs (the stalest is reused
 * when full, counted as an eviction) and at most `threshold` ports per pair.
 * It includes only citysoc/plugin.h and links nothing from citysoc.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "citysoc/plugin.h"

#define MAX_THRESHOLD 4096

typedef struct pair {
    cs_ip src, dst;
    int64_t window_start;
    int64_t last_seen;
    uint32_t nports;
    uint16_t *ports;     /* threshold entries */
    int alerted;
    int used;
} pair;

typedef struct state {
    const cs_host_api *host;
    cs_plugin_ctx *ctx;
    int64_t threshold, window_us, max_pairs;
    pair *pairs;
    uint16_t *port_pool;
    cs_fid f_sip, f_dip, f_dport, f_transport;
    uint64_t evictions;
    char level[16];
} state;

static const cs_plugin_cfg_key keys[] = {
    {"threshold", CS_PCFG_INT, "25", 2, MAX_THRESHOLD, "distinct destination ports that make a scan"},
    {"window", CS_PCFG_INT, "60", 1, 86400, "seconds of event time in which they must be seen"},
    {"max_pairs", CS_PCFG_INT, "65536", 16, 4194304, "source/destination pairs tracked at once"},
    {"level", CS_PCFG_STR, "high", 0, 0, "alert level: low, medium, high or critical"},
};

static int ps_init(const cs_host_api *host, cs_plugin_ctx *ctx, void **out)
{
    state *s = host->alloc(sizeof *s);
    if (s == NULL) {
        return CS_PLUGIN_ERROR;
    }
    memset(s, 0, sizeof *s);
    s->host = host;
    s->ctx = ctx;
    s->f_sip = host->field_id("source.ip");
    s->f_dip = host->field_id("destination.ip");
    s->f_dport = host->field_id("destination.port");
    s->f_transport = host->field_id("network.transport");
    *out = s;
    return CS_PLUGIN_OK;
}

static int ps_configure(void *st, const cs_plugin_config *cfg)
{
    state *s = st;
    const char *level = s->host->cfg_str(cfg, "level");
    size_t n;
    s->threshold = s->host->cfg_int(cfg, "threshold");
    s->window_us = s->host->cfg_int(cfg, "window") * 1000000;
    s->max_pairs = s->host->cfg_int(cfg, "max_pairs");
    if (strcmp(level, "low") != 0 && strcmp(level, "medium") != 0 && strcmp(level, "high") != 0 &&
        strcmp(level, "critical") != 0) {
        s->host->log(s->ctx, CS_PLOG_ERROR, "level must be low, medium, high or critical, not '%s'", level);
        return CS_PLUGIN_ERROR;
    }
    snprintf(s->level, sizeof s->level, "%s", level);
    n = (size_t)s->max_pairs;
    s->pairs = s->host->alloc(n * sizeof *s->pairs);
    s->port_pool = s->host->alloc(n * (size_t)s->threshold * sizeof *s->port_pool);
    if (s->pairs == NULL || s->port_pool == NULL) {
        s->host->log(s->ctx, CS_PLOG_ERROR, "cannot allocate state for %zu pairs", n);
        return CS_PLUGIN_ERROR;
    }
    memset(s->pairs, 0, n * sizeof *s->pairs);
    for (size_t i = 0; i < n; i++) {
        s->pairs[i].ports = s->port_pool + i * (size_t)s->threshold;
    }
    return CS_PLUGIN_OK;
}

static uint32_t hash_pair(const cs_ip *a, const cs_ip *b)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++) {
        h = (h ^ a->addr[i]) * 16777619u;
        h = (h ^ b->addr[i]) * 16777619u;
    }
    return h;
}

static int same_ip(const cs_ip *a, const cs_ip *b)
{
    return a->family == b->family && memcmp(a->addr, b->addr, 16) == 0;
}

/* Linear probing over a window of slots; when all are taken, reuse the
 * stalest one (bounded work per event, bounded memory). */
static pair *find_pair(state *s, const cs_ip *src, const cs_ip *dst)
{
    size_t n = (size_t)s->max_pairs;
    size_t i = hash_pair(src, dst) % n;
    pair *stalest = NULL;
    for (size_t probe = 0; probe < 32; probe++, i = (i + 1) % n) {
        pair *p = &s->pairs[i];
        if (!p->used) {
            p->used = 1;
            p->src = *src;
            p->dst = *dst;
            p->nports = 0;
            p->alerted = 0;
            p->window_start = 0;
            return p;
        }
        if (same_ip(&p->src, src) && same_ip(&p->dst, dst)) {
            return p;
        }
        if (stalest == NULL || p->last_seen < stalest->last_seen) {
            stalest = p;
        }
    }
    s->evictions++;
    stalest->src = *src;
    stalest->dst = *dst;
    stalest->nports = 0;
    stalest->alerted = 0;
    stalest->window_start = 0;
    return stalest;
}

static void raise_alert(state *s, const pair *p, const cs_event *ev)
{
    static const char *const tags[] = {"attack.discovery", "attack.t1046"};
    char src[64], dst[64], key[160], desc[256];
    cs_plugin_alert a;
    s->host->ip_format(&p->src, src, sizeof src);
    s->host->ip_format(&p->dst, dst, sizeof dst);
    snprintf(key, sizeof key, "%s>%s", src, dst);
    snprintf(desc, sizeof desc, "%s probed %u distinct ports of %s within %lld s", src, p->nports, dst,
             (long long)(s->window_us / 1000000));
    memset(&a, 0, sizeof a);
    a.rule_id = "cs-plugin-portscan";
    a.title = "Port scan against a city host";
    a.level = s->level;
    a.description = desc;
    a.tags = tags;
    a.ntags = 2;
    a.key = key;
    a.reliability = 8;
    a.evidence = ev;
    s->host->emit_alert(s->ctx, &a);
}

static int ps_on_event(void *st, const cs_event *ev)
{
    state *s = st;
    cs_ip src, dst;
    int64_t port;
    int64_t t = s->host->event_time_us(ev);
    pair *p;

    if (s->host->event_kind(ev) != CS_KIND_FLOW || !s->host->event_get_ip(ev, s->f_sip, &src) ||
        !s->host->event_get_ip(ev, s->f_dip, &dst) || !s->host->event_get_int(ev, s->f_dport, &port) ||
        port <= 0 || port > 65535) {
        return CS_PLUGIN_OK;
    }
    p = find_pair(s, &src, &dst);
    if (p->window_start == 0 || t - p->window_start > s->window_us || t < p->window_start) {
        p->window_start = t;
        p->nports = 0;
        p->alerted = 0;
    }
    p->last_seen = t;
    if (p->alerted) {
        return CS_PLUGIN_OK;
    }
    for (uint32_t i = 0; i < p->nports; i++) {
        if (p->ports[i] == (uint16_t)port) {
            return CS_PLUGIN_OK;
        }
    }
    p->ports[p->nports++] = (uint16_t)port;
    if (p->nports >= (uint32_t)s->threshold) {
        p->alerted = 1;
        raise_alert(s, p, ev);
    }
    return CS_PLUGIN_OK;
}

static void ps_destroy(void *st)
{
    state *s = st;
    if (s == NULL) {
        return;
    }
    if (s->evictions > 0) {
        s->host->log(s->ctx, CS_PLOG_INFO, "%llu tracked pairs were evicted", (unsigned long long)s->evictions);
    }
    s->host->free(s->pairs);
    s->host->free(s->port_pool);
    s->host->free(s);
}

static const cs_plugin descriptor = {
    CS_PLUGIN_HEADER,
    .name = "portscan",
    .version = "1.0.0",
    .description = "Raises an alert when one source probes many ports of one host in a short time.",
    .config_keys = keys,
    .nconfig_keys = sizeof keys / sizeof keys[0],
    .init = ps_init,
    .configure = ps_configure,
    .on_event = ps_on_event,
    .destroy = ps_destroy,
};

CS_PLUGIN_EXPORT const cs_plugin *cs_plugin_entry(void)
{
    return &descriptor;
}
