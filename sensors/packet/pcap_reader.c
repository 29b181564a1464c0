/* pcap_reader.c - offline replay of a pcap/pcapng file into flow events.
 *
 * Design: the calling thread reads with pcap_next_ex() and deals packets, in
 * batches, to worker threads (one by default; see "workers" below); each
 * worker is an engine (engine.h). Per packet: clamp packet time to be
 * non-decreasing, expire what that time ends (heads of the idle, closing and
 * age lists: O(1) per expired flow, a few compares otherwise), decode, find or
 * create the flow, account, feed nDPI while it still wants packets, track TCP
 * close. Events are built only when a flow ends, in one pre-sized
 * allocation. The FILE under libpcap gets a 256 KiB buffer so reads are few
 * and large. See packet.h for the semantics and the field list.
 *
 * Later fragments carry no ports; a 1024-entry direct-mapped cache remembers
 * (src, dst, proto, ip id) -> flow for first fragments so they can be
 * accounted, checked against the record's generation so a reused record is
 * never charged by mistake.
 */
#include "packet.h"
#include "../../runtime/queue.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "community_id.h"
#include "decode.h"
#include "engine.h"
#include "flow.h"
#include "ndpi_wrap.h"
#include "pcap_fast.h"
#include "yara_scan.h"

#define DEFAULT_IDLE_US (60ll * 1000000)
#define DEFAULT_ACTIVE_US (1800ll * 1000000)
#define DEFAULT_LINGER_US (5ll * 1000000)
#define DEFAULT_MAX_FLOWS 262144u
#define MAX_FLOWS_LIMIT (1u << 26)
#define READ_BUFFER (256u * 1024u)
#define FRAG_SLOTS 1024u
#define FRAG_MAX_AGE_US (30ll * 1000000)
#define MAX_TS_SEC 4000000000000ll   /* 4e18 us: fits int64 with room for differences */
#define YARA_MAX_BYTES_LIMIT (64u * 1024u * 1024u)

typedef struct frag_ent {
    uint8_t src[16], dst[16];
    uint32_t id;
    uint32_t flow;
    uint32_t gen;
    uint8_t proto;
    uint8_t ipver;
    int64_t ts;
} frag_ent;

typedef struct cs_pkt_engine {
    const char *path;
    int64_t idle_us, active_us, linger_us;
    const char *sensor;
    int risk_events;         /* cs_packet_opts.risk_events */
    int64_t stats_every, stats_next;   /* periodic stats events (packet time) */
    size_t sensor_len;
    uint16_t seed;
    cs_event_sink sink;
    void *ud;
    cs_packet_stats st;
    cs_flow_table ft;
    cs_dpi *dpi;
    int64_t now_us;
    int64_t next_id;
    int64_t id_stride, id_base;    /* workers: flow ids base + k * stride never collide */
    int started;
    const cs_yara_rules *yrules;   /* NULL: no YARA */
    cs_yara_rules *yowned;         /* compiled by this replay */
    cs_yara_scanner *yscan;        /* created at the first scan */
    size_t ymax;
    int ytimeout;
    uint64_t ylive;                /* buffer bytes held now */
    int cap_set;                   /* a live capture gave its counters */
    uint64_t cap_recv, cap_drop, cap_ifdrop;
    frag_ent frag[FRAG_SLOTS];
} replay;

static const char *const end_names[] = {
    [CS_END_NONE] = "unknown", [CS_END_FIN] = "fin",   [CS_END_RST] = "rst",
    [CS_END_IDLE] = "idle",    [CS_END_ACTIVE] = "active", [CS_END_EOF] = "eof",
    [CS_END_EVICTED] = "evicted",
};

static const char *transport_name(uint8_t proto)
{
    switch (proto) {
    case 1: return "icmp";
    case 2: return "igmp";
    case 6: return "tcp";
    case 17: return "udp";
    case 41: return "ipv6";
    case 47: return "gre";
    case 50: return "esp";
    case 51: return "ah";
    case 58: return "ipv6-icmp";
    case 89: return "ospf";
    case 103: return "pim";
    case 112: return "vrrp";
    case 132: return "sctp";
    default: return NULL;
    }
}

static int has_ports(uint8_t proto)
{
    return proto == 6 || proto == 17 || proto == 132;
}

/* ECS event.duration is in nanoseconds; saturate rather than overflow. */
static int64_t duration_ns(int64_t first_us, int64_t last_us)
{
    int64_t d = last_us - first_us;
    if (d <= 0) {
        return 0;
    }
    return d > INT64_MAX / 1000 ? INT64_MAX : d * 1000;
}

static void side_ip(const cs_flow *f, int side, cs_ip *ip)
{
    memset(ip, 0, sizeof *ip);
    ip->family = f->key.ipver;
    memcpy(ip->addr, side == 0 ? f->key.a : f->key.b, f->key.ipver == 4 ? 4 : 16);
}

/* Community ID of the flow (initiator first); 0 when it has none. */
static size_t flow_community_id(const replay *r, const cs_flow *f, char *cid, size_t cap)
{
    int s = f->init_side;
    int d = 1 - s;
    cs_ip a, b;
    if (f->key.proto == 1 || f->key.proto == 58) {
        /* ICMP hashes the first packet as it was sent (type/code are directional). */
        side_ip(f, f->icmp_side, &a);
        side_ip(f, 1 - f->icmp_side, &b);
        return cs_community_id_v1(r->seed, &a, &b, f->key.proto, f->icmp_type, f->icmp_code, cid, cap);
    }
    side_ip(f, s, &a);
    side_ip(f, d, &b);
    return cs_community_id_v1(r->seed, &a, &b, f->key.proto, s == 0 ? f->key.pa : f->key.pb,
                              d == 0 ? f->key.pa : f->key.pb, cid, cap);
}

/* The Community ID and VLAN of flow f, on any event about it. */
static cs_rc add_flow_ids(const replay *r, const cs_flow *f, cs_event **ev)
{
    char cid[CS_COMMUNITY_ID_SIZE];
    size_t cid_len = flow_community_id(r, f, cid, sizeof cid);
    cs_rc rc = CS_OK;
    if (cid_len > 0) {
        rc = cs_event_add_str(ev, CS_F_NETWORK_COMMUNITY_ID, cid, cid_len);
    }
    if (rc == CS_OK && f->key.vlan != 0xffff) {
        rc = cs_event_add_int(ev, CS_F_NETWORK_VLAN_ID, f->key.vlan);
    }
    return rc;
}

/* The fields of a flow event that an event derived from it carries too. */
static bool flow_key_field(cs_fid id)
{
    switch (id) {
    case CS_F_SOURCE_IP:
    case CS_F_SOURCE_PORT:
    case CS_F_DESTINATION_IP:
    case CS_F_DESTINATION_PORT:
    case CS_F_NETWORK_TRANSPORT:
    case CS_F_NETWORK_TYPE:
    case CS_F_NETWORK_IANA_NUMBER:
    case CS_F_NETWORK_COMMUNITY_ID:
    case CS_F_NETWORK_VLAN_ID:
    case CS_F_CS_NDPI_PROTOCOL:
    case CS_F_CS_NDPI_CATEGORY:
    case CS_F_CS_NDPI_RISK_SCORE:
    case CS_F_CS_NDPI_RISK_SEVERITY:
    case CS_F_CS_FLOW_ID:
    case CS_F_OBSERVER_NAME:
        return true;
    default:
        return false;
    }
}

/* Who talked to whom: the fields every event about flow f starts with. */
static cs_rc add_endpoints(const replay *r, const cs_flow *f, cs_event **ev)
{
    int s = f->init_side;
    int d = 1 - s;
    cs_ip sip, dip;
    const char *tn = transport_name(f->key.proto);
    int ports = has_ports(f->key.proto);
    cs_rc rc;
    side_ip(f, s, &sip);
    side_ip(f, d, &dip);
    if ((rc = cs_event_add_ip(ev, CS_F_SOURCE_IP, &sip)) ||
        (ports && (rc = cs_event_add_int(ev, CS_F_SOURCE_PORT, s == 0 ? f->key.pa : f->key.pb))) ||
        (rc = cs_event_add_ip(ev, CS_F_DESTINATION_IP, &dip)) ||
        (ports && (rc = cs_event_add_int(ev, CS_F_DESTINATION_PORT, d == 0 ? f->key.pa : f->key.pb))) ||
        (tn != NULL && (rc = cs_event_add_cstr(ev, CS_F_NETWORK_TRANSPORT, tn))) ||
        (rc = cs_event_add_cstr(ev, CS_F_NETWORK_TYPE, f->key.ipver == 4 ? "ipv4" : "ipv6")) ||
        (rc = cs_event_add_int(ev, CS_F_NETWORK_IANA_NUMBER, f->key.proto))) {
        return rc;
    }
    return add_flow_ids(r, f, ev);
}

/* The protocol metadata nDPI found (DNS question and answer code, HTTP
 * request and status, TLS handshake and certificate, SSH banners and HASSH)
 * becomes an event of its own kind as soon as detection ends, while the
 * flow may go on for a long time: rules on query names or SNI fire then,
 * not at the flow's end. The flow event does not repeat these fields (one
 * rule, one match); both carry network.community_id and citysoc.flow.id to
 * pivot. ts = the flow's first packet. The copied strings are freed after. */
static cs_rc emit_app(replay *r, cs_flow *f)
{
    cs_kind kind;
    cs_event *ev;
    cs_rc rc;
    if (f->events_done & CS_FLOW_DONE_APP) {
        return CS_OK;
    }
    f->events_done |= CS_FLOW_DONE_APP;
    if ((kind = cs_dpi_meta_kind(&f->dpi)) == CS_KIND_NONE) {
        return CS_OK;
    }
    if ((ev = cs_event_new_sized(kind, f->first_us, 24, 384)) == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory building a %s event", cs_kind_name(kind));
    }
    if ((rc = add_endpoints(r, f, &ev)) != CS_OK || (rc = cs_dpi_add_protocol(r->dpi, &f->dpi, &ev)) != CS_OK ||
        (rc = cs_dpi_add_meta(&f->dpi, &ev)) != CS_OK || (rc = cs_event_add_int(&ev, CS_F_CS_FLOW_ID, f->id)) != CS_OK ||
        (r->sensor != NULL && (rc = cs_event_add_str(&ev, CS_F_OBSERVER_NAME, r->sensor, r->sensor_len)) != CS_OK)) {
        cs_event_free(ev);
        return rc;
    }
    cs_dpi_meta_release(&f->dpi);
    r->st.app_events++;
    return r->sink(ev, r->ud);   /* the sink owns ev */
}

/* nDPI risks become events of their own (CS_KIND_RISK), one per risk, so a
 * rule or an analyst can take them one at a time: event.module ndpi,
 * citysoc.ndpi.risk, the flow's endpoints, protocol and ids. Emitted once
 * per flow, when detection is final, before the flow event. */
static cs_rc emit_risks(replay *r, cs_flow *f, const cs_event *flow_ev)
{
    const cs_field *fs = cs_event_fields(flow_ev);
    size_t nf = cs_event_nfields(flow_ev);
    cs_rc rc = CS_OK;
    if (f->events_done & CS_FLOW_DONE_RISKS) {
        return CS_OK;
    }
    f->events_done |= CS_FLOW_DONE_RISKS;
    for (size_t i = 0; i < nf && rc == CS_OK; i++) {
        const char *name;
        char msg[256];
        int ml;
        cs_event *ev;
        if (fs[i].id != CS_F_CS_NDPI_RISKS || fs[i].type != CS_T_STR) {
            continue;
        }
        name = cs_event_strval(flow_ev, &fs[i]);
        if ((ev = cs_event_new_sized(CS_KIND_RISK, f->first_us, 24, 256)) == NULL) {
            return cs_err_set(CS_ERR_NOMEM, "out of memory building a risk event");
        }
        ml = snprintf(msg, sizeof msg, "nDPI risk \"%s\" on flow %" PRId64, name, f->id);
        rc = cs_event_add_cstr(&ev, CS_F_EVENT_MODULE, "ndpi");
        rc = rc ? rc : cs_event_add_str(&ev, CS_F_CS_NDPI_RISK, name, fs[i].len);
        rc = rc ? rc : cs_event_add_str(&ev, CS_F_MESSAGE, msg, ml < 0 ? 0 : (size_t)ml >= sizeof msg ? sizeof msg - 1 : (size_t)ml);
        for (size_t k = 0; k < nf && rc == CS_OK; k++) {
            if (flow_key_field(fs[k].id)) {
                rc = cs_event_add_field(&ev, flow_ev, &fs[k]);
            }
        }
        if (rc != CS_OK) {
            cs_event_free(ev);
            return rc;
        }
        r->st.risk_events++;
        rc = r->sink(ev, r->ud);   /* the sink owns ev */
    }
    return rc;
}

/* Build the event for the current record of f and hand it to the sink. */
static cs_rc emit(replay *r, cs_flow *f, cs_flow_end reason)
{
    int s = f->init_side;
    int d = 1 - s;
    cs_event *ev;
    cs_dpi_flow snap;
    const cs_dpi_flow *dv = &f->dpi;
    cs_rc rc = CS_OK;

    if (reason == CS_END_ACTIVE && !f->dpi.done) {
        /* The flow goes on: label this record provisionally, keep detecting. */
        cs_dpi_snapshot(r->dpi, &f->dpi, &snap);
        dv = &snap;
    } else {
        cs_dpi_finish(r->dpi, &f->dpi);
        if ((rc = emit_app(r, f)) != CS_OK) {
            return rc;
        }
    }
    ev = cs_event_new_sized(CS_KIND_FLOW, f->first_us, 48, 512);
    if (ev == NULL) {
        rc = cs_err_set(CS_ERR_NOMEM, "out of memory building a flow event");
        goto fail;
    }
    if ((rc = cs_event_add_time(&ev, CS_F_EVENT_START, f->first_us)) ||
        (rc = cs_event_add_time(&ev, CS_F_EVENT_END, f->last_us)) ||
        (rc = cs_event_add_int(&ev, CS_F_EVENT_DURATION, duration_ns(f->first_us, f->last_us))) ||
        (rc = add_endpoints(r, f, &ev)) ||
        (rc = cs_event_add_int(&ev, CS_F_SOURCE_BYTES, (int64_t)f->bytes[s])) ||
        (rc = cs_event_add_int(&ev, CS_F_SOURCE_PACKETS, (int64_t)f->pkts[s])) ||
        (rc = cs_event_add_int(&ev, CS_F_DESTINATION_BYTES, (int64_t)f->bytes[d])) ||
        (rc = cs_event_add_int(&ev, CS_F_DESTINATION_PACKETS, (int64_t)f->pkts[d])) ||
        (rc = cs_event_add_int(&ev, CS_F_NETWORK_BYTES, (int64_t)(f->bytes[0] + f->bytes[1]))) ||
        (rc = cs_event_add_int(&ev, CS_F_NETWORK_PACKETS, (int64_t)(f->pkts[0] + f->pkts[1])))) {
        goto fail;
    }
    if ((rc = cs_dpi_add_fields(r->dpi, dv, &ev)) ||
        (rc = cs_event_add_int(&ev, CS_F_CS_FLOW_ID, f->id)) ||
        (rc = cs_event_add_cstr(&ev, CS_F_CS_FLOW_END_REASON, end_names[reason]))) {
        goto fail;
    }
    if (r->sensor != NULL && (rc = cs_event_add_str(&ev, CS_F_OBSERVER_NAME, r->sensor, r->sensor_len))) {
        goto fail;
    }
    if (r->risk_events && dv == &f->dpi && (rc = emit_risks(r, f, ev)) != CS_OK) {
        goto fail;
    }
    r->st.flows_emitted++;
    if (reason == CS_END_EVICTED) {
        r->st.flows_evicted++;
    }
    rc = r->sink(ev, r->ud);   /* the sink owns ev from here, whatever it returns */
    ev = NULL;
fail:
    cs_event_free(ev);
    if (dv == &snap) {
        cs_dpi_flow_clear(r->dpi, &snap);
    }
    return rc;
}

/* ----------------------------------------------------------------- YARA -- */

typedef struct yara_hit_ctx {
    replay *r;
    const cs_flow *f;
    int side;            /* key side whose payload was scanned */
    int64_t ts_us;
} yara_hit_ctx;

/* One matching rule -> one event for the flow, through the flow sink. */
static cs_rc yara_emit(const cs_yara_match *m, void *ud)
{
    yara_hit_ctx *c = ud;
    replay *r = c->r;
    const cs_flow *f = c->f;
    int s = f->init_side;
    int d = 1 - s;
    const char *dir = c->side == s ? "client" : "server";
    const char *tn = transport_name(f->key.proto);
    cs_event *ev;
    cs_ip sip, dip;
    char msg[512];
    size_t msg_len;
    int mlen;
    cs_rc rc = CS_OK;

    ev = cs_event_new_sized(CS_KIND_YARA, c->ts_us, 20 + m->ntags, 512);
    if (ev == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory building a YARA event");
    }
    side_ip(f, s, &sip);
    side_ip(f, d, &dip);
    mlen = snprintf(msg, sizeof msg, "YARA rule %s:%s matched the %s payload of flow %" PRId64, m->ns, m->rule, dir,
                    f->id);
    msg_len = mlen < 0 ? 0 : (size_t)mlen >= sizeof msg ? sizeof msg - 1 : (size_t)mlen;
    if ((rc = cs_event_add_cstr(&ev, CS_F_EVENT_MODULE, "yara")) ||
        (rc = cs_event_add_str(&ev, CS_F_MESSAGE, msg, msg_len)) ||
        (rc = cs_event_add_cstr(&ev, CS_F_CS_YARA_RULE, m->rule)) ||
        (rc = cs_event_add_cstr(&ev, CS_F_CS_YARA_NAMESPACE, m->ns))) {
        goto fail;
    }
    for (size_t i = 0; i < m->ntags; i++) {
        if ((rc = cs_event_add_cstr(&ev, CS_F_CS_YARA_TAGS, m->tags[i])) != CS_OK) {
            goto fail;
        }
    }
    if ((rc = cs_event_add_cstr(&ev, CS_F_CS_YARA_DIRECTION, dir)) ||
        (rc = cs_event_add_ip(&ev, CS_F_SOURCE_IP, &sip)) ||
        (rc = cs_event_add_int(&ev, CS_F_SOURCE_PORT, s == 0 ? f->key.pa : f->key.pb)) ||
        (rc = cs_event_add_ip(&ev, CS_F_DESTINATION_IP, &dip)) ||
        (rc = cs_event_add_int(&ev, CS_F_DESTINATION_PORT, d == 0 ? f->key.pa : f->key.pb)) ||
        (rc = cs_event_add_cstr(&ev, CS_F_NETWORK_TYPE, f->key.ipver == 4 ? "ipv4" : "ipv6")) ||
        (rc = cs_event_add_int(&ev, CS_F_NETWORK_IANA_NUMBER, f->key.proto))) {
        goto fail;
    }
    if (tn != NULL && (rc = cs_event_add_cstr(&ev, CS_F_NETWORK_TRANSPORT, tn))) {
        goto fail;
    }
    if ((rc = add_flow_ids(r, f, &ev)) != CS_OK) {
        goto fail;
    }
    if ((rc = cs_event_add_int(&ev, CS_F_CS_FLOW_ID, f->id))) {
        goto fail;
    }
    if (r->sensor != NULL && (rc = cs_event_add_str(&ev, CS_F_OBSERVER_NAME, r->sensor, r->sensor_len))) {
        goto fail;
    }
    r->st.yara_matches++;
    rc = r->sink(ev, r->ud);   /* the sink owns ev from here */
    ev = NULL;
fail:
    cs_event_free(ev);
    return rc;
}

static void yara_release(replay *r, cs_flow *f, int side)
{
    if (f->yara_buf[side] != NULL) {
        r->ylive -= f->yara_buf[side]->cap;
        cs_yara_buf_free(&f->yara_buf[side]);
    }
    f->yara_done |= (uint8_t)(1u << side);
}

/* Scan what one direction buffered (once), then free it. */
static cs_rc yara_scan_side(replay *r, cs_flow *f, int side, int64_t ts_us)
{
    cs_yara_buf *b = f->yara_buf[side];
    yara_hit_ctx c;
    cs_yara_outcome out;
    struct timespec t0, t1;
    cs_rc rc = CS_OK;

    if (b == NULL || b->len == 0) {
        goto done;
    }
    if (r->yscan == NULL && (rc = cs_yara_scanner_new(r->yrules, r->ytimeout, &r->yscan)) != CS_OK) {
        goto done;
    }
    c.r = r;
    c.f = f;
    c.side = side;
    c.ts_us = ts_us;
    r->st.yara_scans++;
    r->st.yara_bytes += b->len;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = cs_yara_scan(r->yscan, b->data, b->len, yara_emit, &c, &out);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r->st.yara_ns += (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
    if (rc == CS_OK && out == CS_YARA_TIMEOUT) {
        r->st.yara_timeouts++;
    }
done:
    yara_release(r, f, side);
    return rc;
}

/* Buffer the payload of one packet sent by key side `side`; scan when full. */
static cs_rc yara_packet(replay *r, cs_flow *f, int side, const uint8_t *data, uint32_t len)
{
    size_t grown;
    int full = cs_yara_buf_append(&f->yara_buf[side], data, len, r->ymax, &grown);

    if (grown > 0) {
        if (grown == f->yara_buf[side]->cap) {
            r->st.yara_buffers++;   /* a new buffer, not a larger one */
        }
        r->ylive += grown;
        if (r->ylive > r->st.yara_peak_bytes) {
            r->st.yara_peak_bytes = r->ylive;
        }
    }
    if (full < 0) {
        return cs_err_set(CS_ERR_NOMEM, "%s: out of memory buffering payload for YARA", r->path);
    }
    return full ? yara_scan_side(r, f, side, r->now_us) : CS_OK;
}

/* The flow ends: scan what is left, client side first, at its last packet. */
static cs_rc yara_flow_end(replay *r, cs_flow *f)
{
    cs_rc rc = CS_OK;
    for (int i = 0; i < 2; i++) {
        int side = i == 0 ? f->init_side : 1 - f->init_side;
        cs_rc e = yara_scan_side(r, f, side, f->last_us);
        if (rc == CS_OK) {
            rc = e;   /* keep the first error, but free both buffers */
        }
    }
    return rc;
}

/* End a flow for good: emit its current record (if it has packets) and free it. */
static cs_rc end_flow(replay *r, uint32_t idx, cs_flow_end reason)
{
    cs_flow *f = cs_flow_at(&r->ft, idx);
    cs_rc rc = CS_OK;
    if (r->yrules != NULL) {
        rc = yara_flow_end(r, f);   /* its YARA events come before the flow's own */
    }
    if (rc == CS_OK && f->in_age) {   /* the current record has packets */
        rc = emit(r, f, reason);
    }
    cs_dpi_flow_clear(r->dpi, &f->dpi);
    cs_flow_remove(&r->ft, idx);
    return rc;
}

/* Active timeout: emit the record, keep the flow (id, nDPI verdict) with fresh counters. */
static cs_rc restart_flow(replay *r, uint32_t idx)
{
    cs_flow *f = cs_flow_at(&r->ft, idx);
    cs_rc rc = emit(r, f, CS_END_ACTIVE);
    f->pkts[0] = f->pkts[1] = 0;
    f->bytes[0] = f->bytes[1] = 0;
    f->tcp_flags[0] = f->tcp_flags[1] = 0;
    cs_flow_age_unlink(&r->ft, idx);   /* the next packet starts the next record */
    return rc;
}

/* Expire whatever packet time `now` ends. */
static cs_rc expire(replay *r)
{
    cs_flow_table *t = &r->ft;
    uint32_t idx;
    cs_rc rc;

    while ((idx = t->head[CS_FLOW_LIST_ACTIVE]) != 0 &&
           r->now_us - cs_flow_at(t, idx)->last_us > r->idle_us) {
        if ((rc = end_flow(r, idx, CS_END_IDLE)) != CS_OK) {
            return rc;
        }
    }
    while ((idx = t->head[CS_FLOW_LIST_CLOSING]) != 0 &&
           r->now_us - cs_flow_at(t, idx)->close_us >= r->linger_us) {
        if ((rc = end_flow(r, idx, (cs_flow_end)cs_flow_at(t, idx)->end_reason)) != CS_OK) {
            return rc;
        }
    }
    while ((idx = t->age_head) != 0 && r->now_us - cs_flow_at(t, idx)->first_us >= r->active_us) {
        cs_flow *f = cs_flow_at(t, idx);
        /* A closed flow at the head is done anyway: let it go now. */
        rc = f->list == CS_FLOW_LIST_CLOSING ? end_flow(r, idx, (cs_flow_end)f->end_reason)
                                             : restart_flow(r, idx);
        if (rc != CS_OK) {
            return rc;
        }
    }
    return CS_OK;
}

/* Make room for one more flow: the least recently seen active one goes first. */
static cs_rc evict_one(replay *r)
{
    uint32_t idx = r->ft.head[CS_FLOW_LIST_ACTIVE];
    if (idx == 0) {
        idx = r->ft.head[CS_FLOW_LIST_CLOSING];
    }
    if (idx == 0) {
        return cs_err_set(CS_ERR_INTERNAL, "flow table full with no flow to evict");
    }
    return end_flow(r, idx, CS_END_EVICTED);
}

/* Count one packet (wire length len) sent by key side `side`. */
static void account(replay *r, uint32_t idx, int side, uint32_t len)
{
    cs_flow *f = cs_flow_at(&r->ft, idx);
    if (!f->in_age) {
        f->first_us = r->now_us;
        cs_flow_age_append(&r->ft, idx);
    }
    f->pkts[side]++;
    f->bytes[side] += len;
    f->last_us = r->now_us;
    if (f->list == CS_FLOW_LIST_ACTIVE) {
        cs_flow_set_list(&r->ft, idx, CS_FLOW_LIST_ACTIVE);
    }
}

static uint32_t frag_slot(const uint8_t *src, const uint8_t *dst, uint32_t id, uint8_t proto)
{
    uint32_t h = id * 0x9e3779b1u ^ proto;
    for (int i = 0; i < 16; i += 4) {
        uint32_t a, b;
        memcpy(&a, src + i, 4);
        memcpy(&b, dst + i, 4);
        h = (h ^ a ^ (b * 0x85ebca6bu)) * 0xc2b2ae35u;
        h ^= h >> 15;
    }
    return h & (FRAG_SLOTS - 1);
}

static void frag_remember(replay *r, const cs_pkt *p, uint32_t idx)
{
    frag_ent *e = &r->frag[frag_slot(p->src, p->dst, p->frag_id, p->proto)];
    memcpy(e->src, p->src, 16);
    memcpy(e->dst, p->dst, 16);
    e->id = p->frag_id;
    e->proto = p->proto;
    e->ipver = p->ipver;
    e->flow = idx;
    e->gen = cs_flow_at(&r->ft, idx)->gen;
    e->ts = r->now_us;
}

static void on_fragment(replay *r, const cs_pkt *p, uint32_t wire_len)
{
    frag_ent *e = &r->frag[frag_slot(p->src, p->dst, p->frag_id, p->proto)];
    cs_flow *f;
    int side;

    r->st.fragments++;
    if (e->flow == 0 || e->id != p->frag_id || e->proto != p->proto || e->ipver != p->ipver ||
        memcmp(e->src, p->src, 16) != 0 || memcmp(e->dst, p->dst, 16) != 0 ||
        r->now_us - e->ts > FRAG_MAX_AGE_US || e->flow >= r->ft.pool_used) {
        r->st.frag_orphans++;
        return;
    }
    f = cs_flow_at(&r->ft, e->flow);
    if (f->gen != e->gen || f->list == CS_FLOW_LIST_NONE) {
        r->st.frag_orphans++;
        return;
    }
    side = memcmp(p->src, f->key.a, 16) == 0 ? 0 : 1;
    account(r, e->flow, side, wire_len);
}

static void close_tcp(replay *r, uint32_t idx, cs_flow_end reason)
{
    cs_flow *f = cs_flow_at(&r->ft, idx);
    if (f->list == CS_FLOW_LIST_CLOSING) {
        return;
    }
    f->end_reason = (uint8_t)reason;
    f->close_us = r->now_us;
    cs_flow_set_list(&r->ft, idx, CS_FLOW_LIST_CLOSING);
}

/* The canonical key of p's flow; returns the key side p was sent by. */
static int flow_key_of(const cs_pkt *p, cs_flow_key *k)
{
    uint16_t sport = p->sport;
    uint16_t dport = p->dport;
    int cmp, side;
    if (p->proto == 1 || p->proto == 58) {
        sport = dport = 0;   /* ICMP keyed by addresses, like ndpiReader */
    }
    cmp = memcmp(p->src, p->dst, 16);
    side = cmp > 0 || (cmp == 0 && sport > dport);
    memset(k, 0, sizeof *k);
    memcpy(k->a, side == 0 ? p->src : p->dst, 16);
    memcpy(k->b, side == 0 ? p->dst : p->src, 16);
    k->pa = side == 0 ? sport : dport;
    k->pb = side == 0 ? dport : sport;
    k->vlan = p->has_vlan ? p->vlan_id : 0xffff;
    k->proto = p->proto;
    k->ipver = p->ipver;
    return side;
}

/* hash: cs_flow_hash() of the packet's key when the reading thread worked
 * it out already, else 0. */
static cs_rc on_ip(replay *r, const cs_pkt *p, uint32_t wire_len, uint32_t hash)
{
    cs_flow_key k;
    int side;
    uint32_t idx;
    cs_flow *f;
    cs_rc rc;

    side = flow_key_of(p, &k);
    if (hash == 0) {
        hash = cs_flow_hash(&k);
    }

    idx = cs_flow_lookup(&r->ft, &k, hash);
    if (idx != 0 && p->proto == 6 && cs_flow_at(&r->ft, idx)->list == CS_FLOW_LIST_CLOSING &&
        (p->tcp_flags & (CS_TCP_SYN | CS_TCP_ACK)) == CS_TCP_SYN) {
        /* A new connection reusing the tuple of a closed one. */
        if ((rc = end_flow(r, idx, (cs_flow_end)cs_flow_at(&r->ft, idx)->end_reason)) != CS_OK) {
            return rc;
        }
        idx = 0;
    }
    if (idx == 0) {
        if (r->ft.count >= r->ft.max_flows && (rc = evict_one(r)) != CS_OK) {
            return rc;
        }
        idx = cs_flow_insert(&r->ft, &k, hash);
        if (idx == 0) {
            return cs_err_set(CS_ERR_NOMEM, "%s: out of memory growing the flow table", r->path);
        }
        f = cs_flow_at(&r->ft, idx);
        f->id = r->next_id++ * r->id_stride + r->id_base + 1;
        f->init_side = (uint8_t)side;
        if (p->proto == 6 && (p->tcp_flags & (CS_TCP_SYN | CS_TCP_ACK)) == (CS_TCP_SYN | CS_TCP_ACK)) {
            f->init_side = (uint8_t)(1 - side);   /* we missed the SYN: the peer opened it */
        }
        f->icmp_type = p->icmp_type;
        f->icmp_code = p->icmp_code;
        f->icmp_side = (uint8_t)side;
        r->st.flows_created++;
    }
    account(r, idx, side, wire_len);
    f = cs_flow_at(&r->ft, idx);
    if (p->truncated) {
        r->st.truncated++;
    }
    if (p->first_frag) {
        frag_remember(r, p, idx);
    }
    if (!f->dpi.done && !p->truncated) {
        r->st.dpi_packets++;
        cs_dpi_packet(r->dpi, &f->dpi, p->l3, p->l3_caplen, r->now_us > 0 ? (uint64_t)(r->now_us / 1000) : 0,
                      p->proto);
        if (f->dpi.done && (rc = emit_app(r, f)) != CS_OK) {
            return rc;
        }
    }
    if (r->yrules != NULL && p->payload_len > 0 && (p->proto == 6 || p->proto == 17) &&
        !(f->yara_done & (1u << side)) && (rc = yara_packet(r, f, side, p->payload, p->payload_len)) != CS_OK) {
        return rc;
    }
    if (p->proto == 6) {
        f->tcp_flags[side] |= p->tcp_flags;
        if ((p->tcp_flags & (CS_TCP_SYN | CS_TCP_ACK)) == CS_TCP_SYN && !f->init_by_syn) {
            f->init_side = (uint8_t)side;
            f->init_by_syn = 1;
        }
        if (p->tcp_flags & CS_TCP_RST) {
            close_tcp(r, idx, CS_END_RST);
        } else if (p->tcp_flags & CS_TCP_FIN) {
            f->fin_sides |= (uint8_t)(1u << side);
            if (f->fin_sides == 3) {
                close_tcp(r, idx, CS_END_FIN);
            }
        }
        if (f->list == CS_FLOW_LIST_CLOSING && r->linger_us < 0) {
            return end_flow(r, idx, (cs_flow_end)f->end_reason);
        }
    }
    return CS_OK;
}

static cs_rc emit_stats(replay *r);

/* A stats event every stats_every of packet time. */
static cs_rc stats_due(replay *r)
{
    if (r->stats_every <= 0) {
        return CS_OK;
    }
    if (r->stats_next == 0) {
        r->stats_next = r->now_us + r->stats_every;
    } else if (r->now_us >= r->stats_next) {
        r->stats_next = r->now_us + r->stats_every;
        return emit_stats(r);
    }
    return CS_OK;
}

/* One frame, decoded already (d, p) by the reading thread or by
 * on_packet(); hash as for on_ip(). */
static cs_rc on_decoded(replay *r, const struct pcap_pkthdr *h, cs_dec_rc d, const cs_pkt *p, uint32_t hash)
{
    int64_t sec = (int64_t)h->ts.tv_sec;
    int64_t ts;
    cs_rc rc;

    /* pcapng can carry any 64-bit time: keep it in [1970, ~128000 years] so
     * microsecond arithmetic (and differences) can never overflow. */
    if (sec < 0) {
        sec = 0;
    } else if (sec > MAX_TS_SEC) {
        sec = MAX_TS_SEC;
    }
    ts = sec * 1000000 + ((int64_t)h->ts.tv_usec % 1000000);
    r->st.packets++;
    r->st.bytes += h->len;
    if (!r->started || ts > r->now_us) {
        r->now_us = ts;   /* packet time never goes backwards */
        r->started = 1;
    }
    if ((rc = expire(r)) != CS_OK || (rc = stats_due(r)) != CS_OK) {
        return rc;
    }
    switch (d) {
    case CS_DEC_OK:
        return on_ip(r, p, h->len, hash);
    case CS_DEC_FRAG:
        on_fragment(r, p, h->len);
        return CS_OK;
    case CS_DEC_NON_IP:
        r->st.non_ip++;
        return CS_OK;
    default:
        r->st.decode_errors++;
        return CS_OK;
    }
}

static cs_rc on_packet(replay *r, int linktype, const struct pcap_pkthdr *h, const uint8_t *data)
{
    cs_pkt p;
    cs_dec_rc d = cs_decode(linktype, data, h->caplen, &p);
    return on_decoded(r, h, d, &p, 0);
}

/* The worker's counters so far, as an event an analyst (or a rule on
 * citysoc.stats.malformed) can watch: where the sensor was blind shows. */
static cs_rc emit_stats(replay *r)
{
    cs_event *ev = cs_event_new_sized(CS_KIND_STATS, r->now_us, 16, 128);
    cs_rc rc;
    if (ev == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory building a stats event");
    }
    rc = cs_event_add_cstr(&ev, CS_F_EVENT_MODULE, "packet");
    rc = rc ? rc : cs_event_add_int(&ev, CS_F_CS_STATS_WORKER, r->id_base);
    rc = rc ? rc : cs_event_add_int(&ev, CS_F_CS_STATS_PACKETS, (int64_t)r->st.packets);
    rc = rc ? rc : cs_event_add_int(&ev, CS_F_CS_STATS_BYTES, (int64_t)r->st.bytes);
    rc = rc ? rc : cs_event_add_int(&ev, CS_F_CS_STATS_MALFORMED, (int64_t)r->st.decode_errors);
    rc = rc ? rc : cs_event_add_int(&ev, CS_F_CS_STATS_NON_IP, (int64_t)r->st.non_ip);
    rc = rc ? rc : cs_event_add_int(&ev, CS_F_CS_STATS_TRUNCATED, (int64_t)r->st.truncated);
    rc = rc ? rc : cs_event_add_int(&ev, CS_F_CS_STATS_FLOWS_ACTIVE, (int64_t)r->ft.count);
    rc = rc ? rc : cs_event_add_int(&ev, CS_F_CS_STATS_FLOWS_CREATED, (int64_t)r->st.flows_created);
    rc = rc ? rc : cs_event_add_int(&ev, CS_F_CS_STATS_FLOWS_EVICTED, (int64_t)r->st.flows_evicted);
    rc = rc ? rc : cs_event_add_int(&ev, CS_F_CS_STATS_FRAG_ORPHANS, (int64_t)r->st.frag_orphans);
    if (r->cap_set) {
        rc = rc ? rc : cs_event_add_int(&ev, CS_F_CS_STATS_KERNEL_RECEIVED, (int64_t)r->cap_recv);
        rc = rc ? rc : cs_event_add_int(&ev, CS_F_CS_STATS_KERNEL_DROPS, (int64_t)r->cap_drop);
        rc = rc ? rc : cs_event_add_int(&ev, CS_F_CS_STATS_IF_DROPS, (int64_t)r->cap_ifdrop);
    }
    if (rc == CS_OK && r->sensor != NULL) {
        rc = cs_event_add_str(&ev, CS_F_OBSERVER_NAME, r->sensor, r->sensor_len);
    }
    if (rc != CS_OK) {
        cs_event_free(ev);
        return rc;
    }
    r->st.stats_events++;
    return r->sink(ev, r->ud);
}

/* Emit every flow with packets, in order of first packet (empty records are dropped later). */
static cs_rc flush_all(replay *r)
{
    uint32_t idx;
    cs_rc rc;
    while ((idx = r->ft.age_head) != 0) {
        const cs_flow *f = cs_flow_at(&r->ft, idx);
        /* A flow already closed by FIN/RST keeps that reason. */
        cs_flow_end why = f->list == CS_FLOW_LIST_CLOSING ? (cs_flow_end)f->end_reason : CS_END_EOF;
        if ((rc = end_flow(r, idx, why)) != CS_OK) {
            return rc;
        }
    }
    /* the last counters of this capture (and worker) */
    return r->stats_every > 0 && r->started ? emit_stats(r) : CS_OK;
}

/* Release every flow without emitting (after a sink stop or an error). */
static void drop_all(replay *r)
{
    for (uint32_t i = 1; i < r->ft.pool_used; i++) {
        cs_flow *f = cs_flow_at(&r->ft, i);
        if (f->list != CS_FLOW_LIST_NONE) {
            cs_dpi_flow_clear(r->dpi, &f->dpi);
            yara_release(r, f, 0);
            yara_release(r, f, 1);
        }
    }
}

static cs_rc open_capture(const char *path, pcap_t **out)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    FILE *fp;
    pcap_t *pc;

    *out = NULL;
    fp = fopen(path, "rb");
    if (fp == NULL) {
        return cs_err_set(CS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    /* Bigger stdio buffer: fewer read(2) calls under pcap_next_ex. */
    setvbuf(fp, NULL, _IOFBF, READ_BUFFER);
    errbuf[0] = '\0';
    pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    if (pc == NULL) {
        fclose(fp);   /* libpcap leaves the FILE to us when it fails */
        if (strstr(errbuf, "error reading dump file") != NULL) {
            return cs_err_set(CS_ERR_IO, "%s: cannot read: %s", path, errbuf);
        }
        return cs_err_set(CS_ERR_PARSE, "%s: not a pcap or pcapng capture (%s)", path, errbuf);
    }
    *out = pc;
    return CS_OK;
}

static void replay_free(replay *r)
{
    if (r == NULL) {
        return;
    }
    if (r->ft.pool != NULL) {
        drop_all(r);
        cs_flow_table_free(&r->ft);
    }
    cs_dpi_close(r->dpi);
    cs_yara_scanner_free(r->yscan);
    cs_yara_rules_free(r->yowned);
    free(r);
}

/* A replay context: one flow table, one nDPI module, one YARA scanner. */
static cs_rc replay_new(const char *path, const cs_packet_opts *opts, cs_event_sink sink, void *ud,
                        int64_t id_base, int64_t id_stride, replay **out)
{
    replay *r = calloc(1, sizeof *r);
    cs_dpi_files files;
    cs_rc rc;
    size_t mf = opts->max_flows == 0 ? DEFAULT_MAX_FLOWS : opts->max_flows;
    *out = NULL;
    if (r == NULL) {
        return cs_err_set(CS_ERR_NOMEM, "out of memory starting a replay");
    }
    r->path = path;
    r->sink = sink;
    r->ud = ud;
    r->id_base = id_base;
    r->id_stride = id_stride;
    r->idle_us = opts->idle_timeout_us > 0 ? opts->idle_timeout_us : DEFAULT_IDLE_US;
    r->active_us = opts->active_timeout_us > 0 ? opts->active_timeout_us : DEFAULT_ACTIVE_US;
    r->linger_us = opts->tcp_close_linger_us == 0 ? DEFAULT_LINGER_US : opts->tcp_close_linger_us;
    r->seed = opts->community_id_seed;
    r->sensor = opts->sensor_name;
    r->risk_events = opts->risk_events;
    r->stats_every = opts->stats_interval_us > 0 ? opts->stats_interval_us : 0;
    r->sensor_len = r->sensor != NULL ? strnlen(r->sensor, 256) : 0;
    if ((rc = cs_flow_table_init(&r->ft, (uint32_t)(mf > MAX_FLOWS_LIMIT ? MAX_FLOWS_LIMIT : mf))) != CS_OK) {
        free(r);
        return rc;
    }
    files.protos = opts->ndpi_protos_file;
    files.categories = opts->ndpi_categories_file;
    files.risky_domains = opts->ndpi_risky_domains_file;
    files.ja3 = opts->ndpi_ja3_file;
    files.sha1 = opts->ndpi_sha1_file;
    if ((rc = cs_dpi_open(&r->dpi, &files)) != CS_OK) {
        replay_free(r);
        return rc;
    }
    r->ymax = opts->yara_max_bytes == 0 ? CS_YARA_DEFAULT_MAX_BYTES : opts->yara_max_bytes;
    if (r->ymax > YARA_MAX_BYTES_LIMIT) {
        r->ymax = YARA_MAX_BYTES_LIMIT;
    }
    r->ytimeout = opts->yara_timeout_s;
    r->yrules = opts->yara_compiled;
    *out = r;
    return CS_OK;
}

/* ----------------------------------------------------------- engine.h -- */

cs_rc cs_pkt_engine_new(const char *label, const cs_packet_opts *opts, cs_event_sink sink, void *ud,
                        unsigned index, unsigned n, cs_pkt_engine **out)
{
    return replay_new(label, opts, sink, ud, index, n == 0 ? 1 : n, out);
}

cs_rc cs_pkt_engine_packet(cs_pkt_engine *e, int linktype, const struct pcap_pkthdr *h, const uint8_t *data)
{
    return on_packet(e, linktype, h, data);
}

cs_rc cs_pkt_engine_advance(cs_pkt_engine *e, int64_t now_us)
{
    cs_rc rc;
    if (!e->started || now_us <= e->now_us) {
        return CS_OK;
    }
    e->now_us = now_us;
    if ((rc = expire(e)) != CS_OK) {
        return rc;
    }
    return stats_due(e);
}

void cs_pkt_engine_set_capture_counters(cs_pkt_engine *e, uint64_t received, uint64_t kernel_drops,
                                        uint64_t if_drops)
{
    e->cap_set = 1;
    e->cap_recv = received;
    e->cap_drop = kernel_drops;
    e->cap_ifdrop = if_drops;
}

cs_rc cs_pkt_engine_finish(cs_pkt_engine *e)
{
    return flush_all(e);
}

const cs_packet_stats *cs_pkt_engine_stats(const cs_pkt_engine *e)
{
    return &e->st;
}

int64_t cs_pkt_engine_now(const cs_pkt_engine *e)
{
    return e->started ? e->now_us : 0;
}

void cs_pkt_engine_free(cs_pkt_engine *e)
{
    replay_free(e);
}

_Static_assert(sizeof(cs_packet_stats) % sizeof(uint64_t) == 0, "cs_packet_stats holds uint64_t counters only");

void cs_pkt_stats_add(cs_packet_stats *to, const cs_packet_stats *from)
{
    const uint64_t *f = (const uint64_t *)(const void *)from;
    uint64_t *t = (uint64_t *)(void *)to;
    /* every member is a uint64_t counter (packet.h); the peak is a max, not a sum */
    uint64_t peak = to->yara_peak_bytes > from->yara_peak_bytes ? to->yara_peak_bytes : from->yara_peak_bytes;
    for (size_t i = 0; i < sizeof *to / sizeof(uint64_t); i++) {
        t[i] += f[i];
    }
    to->yara_peak_bytes = peak;
}

/* ---------------------------------------------------------------- workers --
 * The calling thread only reads the file and deals
 * the packets to the workers by a symmetric hash of the two addresses and
 * the protocol (ports left out so that an IP fragment goes where its flow
 * is); each worker is a replay context of its own, fed through a bounded
 * queue of packet batches, so a flow is seen, in order, by exactly one
 * worker. Events reach the sink from the worker threads. */

#define BATCH_PKTS 256
#define BATCH_BYTES (512u * 1024u)

typedef struct pbatch {
    size_t n, used;
    int64_t clock;             /* the dispatcher's packet time when it sent this batch */
    struct pcap_pkthdr h[BATCH_PKTS];
    size_t off[BATCH_PKTS];
    /* decoded by the reading thread (pointers into data), with the flow
     * hash: the worker does not decode or hash again */
    cs_pkt pk[BATCH_PKTS];
    uint32_t fh[BATCH_PKTS];
    uint8_t dec[BATCH_PKTS];
    uint8_t data[BATCH_BYTES];
} pbatch;

typedef struct worker {
    replay *r;
    cs_queue *q;
    cs_queue *spare;           /* emptied batches back to the dispatcher (shared) */
    int linktype;
    pthread_t th;
    cs_rc rc;
    atomic_int *stop;
    /* for replay_new, run on the worker's own thread: the nDPI modules of
     * all workers are built at the same time, not one after the other */
    const char *path;
    const cs_packet_opts *opts;
    cs_event_sink sink;
    void *ud;
    unsigned index, n;
    char err[512];
} worker;

/* Batches are recycled: a fresh 512 KiB malloc per batch is an mmap, page
 * faults on every fill and an munmap on every free. */
static void batch_put(cs_queue *spare, pbatch *b)
{
    if (cs_queue_try_push(spare, b) != CS_OK) {
        free(b);
    }
}

static pbatch *batch_get(cs_queue *spare)
{
    void *item;
    pbatch *b = cs_queue_pop_timed(spare, &item, 0) == CS_OK ? item : malloc(sizeof *b);
    if (b != NULL) {
        b->n = b->used = 0;
    }
    return b;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    void *item;
    pthread_setname_np(pthread_self(), "cs-packet");
    w->rc = replay_new(w->path, w->opts, w->sink, w->ud, w->index, w->n, &w->r);
    if (w->rc != CS_OK) {
        snprintf(w->err, sizeof w->err, "%s", cs_err_msg());   /* the message is thread-local */
        atomic_store(w->stop, 1);
    }
    while (cs_queue_pop(w->q, &item) == CS_OK) {
        pbatch *b = item;
        if (w->rc != CS_OK) {
            batch_put(w->spare, b);   /* drain: the dispatcher may still be pushing */
            continue;
        }
        for (size_t i = 0; i < b->n && w->rc == CS_OK; i++) {
            w->rc = on_decoded(w->r, &b->h[i], (cs_dec_rc)b->dec[i], &b->pk[i], b->fh[i]);
        }
        /* time moved on with the other workers' packets too: a flow that
         * went idle meanwhile ends as it would with one worker */
        if (w->rc == CS_OK) {
            w->rc = cs_pkt_engine_advance(w->r, b->clock);
        }
        batch_put(w->spare, b);
        if (w->rc != CS_OK) {
            snprintf(w->err, sizeof w->err, "%s", cs_err_msg());
            atomic_store(w->stop, 1);
        }
    }
    if (w->rc == CS_OK && (w->rc = flush_all(w->r)) != CS_OK) {
        snprintf(w->err, sizeof w->err, "%s", cs_err_msg());
    }
    return NULL;
}

/* Dealing: a symmetric hash of addresses, protocol and ports, so flows
 * between two hosts spread over the workers too; a datagram's non-first
 * fragments (no ports) follow its first fragment through a small cache,
 * else go by the addresses alone (then counted as orphans by their worker,
 * as when the first fragment was never seen). */
#define DEAL_FRAGS 4096

typedef struct dealer {
    unsigned n;
    struct {
        uint32_t key;
        uint16_t worker;
        uint8_t used;
    } frag[DEAL_FRAGS];
} dealer;

static unsigned deal(dealer *dl, cs_dec_rc d, const cs_pkt *pk)
{
    uint32_t ha = 2166136261u, hb = 2166136261u, addr, fkey;
    unsigned w;
    if (dl->n == 1 || (d != CS_DEC_OK && d != CS_DEC_FRAG)) {
        return 0;
    }
    for (int i = 0; i < 16; i++) {
        ha = (ha ^ pk->src[i]) * 16777619u;
        hb = (hb ^ pk->dst[i]) * 16777619u;
    }
    addr = (ha ^ hb) + pk->proto;
    fkey = (addr ^ (pk->frag_id * 2654435761u)) | 1u;
    if (d == CS_DEC_FRAG) {
        uint32_t slot = fkey % DEAL_FRAGS;
        if (dl->frag[slot].used && dl->frag[slot].key == fkey) {
            return dl->frag[slot].worker;
        }
        return (unsigned)((addr * 2654435761u) >> 7) % dl->n;
    }
    w = (unsigned)(((addr + (uint32_t)(pk->sport ^ pk->dport) * 40503u) * 2654435761u) >> 7) % dl->n;
    if (pk->first_frag) {
        uint32_t slot = fkey % DEAL_FRAGS;
        dl->frag[slot].key = fkey;
        dl->frag[slot].worker = (uint16_t)w;
        dl->frag[slot].used = 1;
    }
    return w;
}

static cs_rc replay_parallel(const char *path, pcap_t *pc, const cs_packet_opts *opts, unsigned n,
                             cs_event_sink sink, void *ud, cs_packet_stats *stats)
{
    worker *w = calloc(n, sizeof *w);
    pbatch **cur = calloc(n, sizeof *cur);
    dealer *dl = calloc(1, sizeof *dl);
    cs_queue *spare = NULL;
    atomic_int stop;
    struct pcap_pkthdr *h, fh;
    const u_char *data;
    cs_pcap_fast *fast = cs_pcap_fast_open(path, pc);   /* NULL: libpcap reads */
    int linktype = pcap_datalink(pc), prc = 1;
    unsigned started = 0;
    uint64_t read = 0;
    int64_t gnow = 0;
    char perr[PCAP_ERRBUF_SIZE + 1] = "";
    cs_rc rc = CS_OK;

    atomic_init(&stop, 0);
    if (w == NULL || cur == NULL || dl == NULL) {
        rc = cs_err_set(CS_ERR_NOMEM, "out of memory starting the workers");
        goto out;
    }
    dl->n = n;
    if ((rc = cs_queue_new(33 * (size_t)n, &spare)) != CS_OK) {
        goto out;
    }
    for (unsigned i = 0; i < n && rc == CS_OK; i++) {
        w[i].spare = spare;
        w[i].linktype = linktype;
        w[i].stop = &stop;
        w[i].path = path;
        w[i].opts = opts;
        w[i].sink = sink;
        w[i].ud = ud;
        w[i].index = i;
        w[i].n = n;
        if ((rc = cs_queue_new(32, &w[i].q)) != CS_OK) {
            break;
        }
        if (pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0) {
            rc = cs_err_set(CS_ERR_INTERNAL, "cannot start packet worker %u", i);
            break;
        }
        started++;
    }
    while (rc == CS_OK && !atomic_load(&stop) &&
           (prc = fast != NULL ? cs_pcap_fast_next(fast, h = &fh, &data, perr, sizeof perr)
                               : pcap_next_ex(pc, &h, &data)) == 1) {
        cs_pkt pk;
        cs_dec_rc d = cs_decode(linktype, data, h->caplen, &pk);
        unsigned k = deal(dl, d, &pk);
        pbatch *b = cur[k];
        int64_t sec = h->ts.tv_sec < 0 ? 0 : (int64_t)h->ts.tv_sec > MAX_TS_SEC ? MAX_TS_SEC : (int64_t)h->ts.tv_sec;
        int64_t ts = sec * 1000000 + ((int64_t)h->ts.tv_usec % 1000000);
        read++;
        /* one clock for all workers, as one worker would keep it: each
         * packet carries the latest time seen in the whole file */
        gnow = ts > gnow ? ts : gnow;
        if (b != NULL && (b->n == BATCH_PKTS || b->used + h->caplen > BATCH_BYTES)) {
            b->clock = gnow;
            if ((rc = cs_queue_push(w[k].q, b)) != CS_OK) {
                free(b);
            }
            cur[k] = b = NULL;
        }
        if (rc == CS_OK && b == NULL && (b = cur[k] = batch_get(spare)) == NULL) {
            rc = cs_err_set(CS_ERR_NOMEM, "out of memory batching packets");
        }
        if (rc == CS_OK && h->caplen <= BATCH_BYTES) {
            b->h[b->n] = *h;
            b->h[b->n].ts.tv_sec = (time_t)(gnow / 1000000);
            b->h[b->n].ts.tv_usec = (suseconds_t)(gnow % 1000000);
            uint8_t *copy = b->data + b->used;
            b->off[b->n] = b->used;
            memcpy(copy, data, h->caplen);
            b->used += h->caplen;
            /* the decoded view, pointing into the batch's copy */
            if (pk.l3 != NULL) {
                pk.l3 = copy + (pk.l3 - data);
            }
            if (pk.payload != NULL) {
                pk.payload = copy + (pk.payload - data);
            }
            b->pk[b->n] = pk;
            b->dec[b->n] = (uint8_t)d;
            b->fh[b->n] = 0;
            if (d == CS_DEC_OK) {
                cs_flow_key fk;
                flow_key_of(&pk, &fk);
                b->fh[b->n] = cs_flow_hash(&fk);
            }
            b->n++;
        }
    }
    if (prc == PCAP_ERROR && fast == NULL) {
        snprintf(perr, sizeof perr, "%s", pcap_geterr(pc));
    }
    cs_pcap_fast_close(fast);
    for (unsigned k = 0; k < n && cur != NULL; k++) {
        /* the last batch of each worker carries the file's last time */
        if (cur[k] == NULL && k < started) {
            cur[k] = batch_get(spare);
        }
        if (cur[k] != NULL) {
            cur[k]->clock = gnow;
            if (k < started && cs_queue_push(w[k].q, cur[k]) == CS_OK) {
                cur[k] = NULL;
            } else {
                free(cur[k]);
            }
        }
    }
out:
    for (unsigned i = 0; i < started; i++) {
        cs_queue_close(w[i].q);
        pthread_join(w[i].th, NULL);
        if (rc == CS_OK && w[i].rc != CS_OK) {
            rc = cs_err_set(w[i].rc, "%s", w[i].err);   /* the worker's sentence, on this thread */
        }
    }
    for (unsigned i = 0; w != NULL && i < n; i++) {
        if (w[i].r != NULL) {
            if (stats != NULL) {
                cs_pkt_stats_add(stats, &w[i].r->st);
            }
            replay_free(w[i].r);
        }
        if (w[i].q != NULL) {
            void *item;
            while (cs_queue_pop_timed(w[i].q, &item, 0) == CS_OK) {
                free(item);   /* left over after a stop */
            }
            cs_queue_free(w[i].q);
        }
    }
    if (spare != NULL) {
        void *item;
        while (cs_queue_pop_timed(spare, &item, 0) == CS_OK) {
            free(item);
        }
        cs_queue_free(spare);
    }
    free(w);
    free(cur);
    free(dl);
    if (rc == CS_OK && perr[0] != '\0') {
        rc = cs_err_set(CS_ERR_PARSE, "%s: packet %" PRIu64 ": %s", path, read + 1, perr);
    }
    return rc;
}

cs_rc cs_packet_replay_file(const char *path, const cs_packet_opts *opts, cs_event_sink sink, void *ud,
                            cs_packet_stats *stats)
{
    static const cs_packet_opts defaults;
    pcap_t *pc = NULL;
    cs_yara_rules *yowned = NULL;
    cs_packet_opts o;
    cs_rc rc = CS_OK;

    if (stats != NULL) {
        memset(stats, 0, sizeof *stats);
    }
    if (path == NULL || sink == NULL) {
        return cs_err_set(CS_ERR_INVAL, "cs_packet_replay_file: path and sink are required");
    }
    o = opts != NULL ? *opts : defaults;
    if ((rc = open_capture(path, &pc)) != CS_OK) {
        return rc;
    }
    /* YARA rules are compiled once, whatever the number of workers */
    if (o.yara_compiled == NULL && o.nyara_rules > 0) {
        if ((rc = cs_yara_compile(o.yara_rules, o.nyara_rules, &yowned)) != CS_OK) {
            goto fail;
        }
        o.yara_compiled = yowned;
    }
    /* The calling thread reads and deals; even one worker runs on a thread
     * of its own, so reading the file overlaps the flow and nDPI work. */
    rc = replay_parallel(path, pc, &o,
                         o.workers == 0 ? 1 : o.workers > CS_PACKET_MAX_WORKERS ? CS_PACKET_MAX_WORKERS : o.workers,
                         sink, ud, stats);
fail:
    cs_yara_rules_free(yowned);
    if (pc != NULL) {
        pcap_close(pc);
    }
    return rc;
}
