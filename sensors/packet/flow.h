/* flow.h - the bidirectional flow table of the packet sensor.
 *
 * Records live in one growing pool and are named by a 32-bit index (0 = nil),
 * so links stay valid when the pool grows. Because it may grow, a cs_flow *
 * is valid only until the next cs_flow_insert(); keep indices across it.
 *
 * A key is canonical: endpoint a is the lower (address, port) pair, so both
 * directions of a conversation find the same record; pkts/bytes are kept per
 * key side. Every record sits on two intrusive lists:
 *   - a recency list: CS_FLOW_LIST_ACTIVE (ordered by last packet, touched on
 *     every packet) or CS_FLOW_LIST_CLOSING (ordered by close time);
 *   - the age list, ordered by the first packet of the current record, which
 *     gives the end-of-file order and the active-timeout order.
 * Since packet time never decreases, each list's head is its oldest entry and
 * expiry is a few comparisons per packet.
 */
#ifndef CS_PACKET_FLOW_H
#define CS_PACKET_FLOW_H

#include <stdint.h>

#include "ndpi_wrap.h"

struct cs_yara_buf;

typedef struct cs_flow_key {
    uint8_t a[16];       /* lower endpoint address (IPv4: first 4 bytes) */
    uint8_t b[16];
    uint16_t pa, pb;     /* ports (0 for protocols keyed without ports) */
    uint16_t vlan;
    uint8_t proto;
    uint8_t ipver;
} cs_flow_key;

#define CS_FLOW_DONE_RISKS 1u   /* its nDPI risks became risk events */
#define CS_FLOW_DONE_APP 2u     /* its protocol metadata became a dns/http/tls/ssh event */

enum { CS_FLOW_LIST_NONE = 0, CS_FLOW_LIST_ACTIVE, CS_FLOW_LIST_CLOSING, CS_FLOW_LIST__COUNT };

typedef enum cs_flow_end {
    CS_END_NONE = 0,
    CS_END_FIN,
    CS_END_RST,
    CS_END_IDLE,
    CS_END_ACTIVE,
    CS_END_EOF,
    CS_END_EVICTED
} cs_flow_end;

typedef struct cs_flow {
    cs_flow_key key;
    uint32_t hash;
    uint32_t gen;            /* changes when the slot is reused (fragment cache check) */
    uint32_t lru_prev, lru_next;
    uint32_t age_prev, age_next;
    uint64_t pkts[2];        /* sent by key side a [0] / b [1] in the current record */
    uint64_t bytes[2];
    int64_t first_us;        /* first packet of the current record (valid when in_age) */
    int64_t last_us;
    int64_t close_us;        /* when the TCP close was seen */
    int64_t id;              /* citysoc.flow.id */
    uint8_t init_side;       /* key side of the initiator */
    uint8_t init_by_syn;     /* initiator fixed by a bare SYN */
    uint8_t tcp_flags[2];    /* flags seen per side */
    uint8_t fin_sides;       /* bit per side that sent a FIN */
    uint8_t list;            /* CS_FLOW_LIST_* */
    uint8_t in_age;          /* on the age list = the current record has packets */
    uint8_t end_reason;      /* cs_flow_end once closing */
    uint8_t icmp_type, icmp_code, icmp_side;   /* first ICMP packet, for the Community ID */
    uint8_t yara_done;       /* bit per key side whose payload was scanned (or needs no scan) */
    uint8_t events_done;     /* CS_FLOW_DONE_* bits: events emitted once per flow */
    struct cs_yara_buf *yara_buf[2];   /* first payload bytes per key side, until scanned (yara_scan.h) */
    cs_dpi_flow dpi;
} cs_flow;

typedef struct cs_flow_slot {
    uint32_t hash;
    uint32_t idx;            /* 0 = empty */
} cs_flow_slot;

typedef struct cs_flow_table {
    cs_flow *pool;           /* pool[0] unused (nil) */
    uint32_t pool_cap;       /* records allocated, including pool[0] */
    uint32_t pool_used;      /* high-water mark of handed-out indices */
    uint32_t free_head;      /* recycled records, chained through lru_next */
    cs_flow_slot *slots;
    uint32_t mask;           /* slots - 1 (power of two) */
    uint32_t count;          /* live records */
    uint32_t max_flows;
    uint32_t gen_counter;
    uint32_t head[CS_FLOW_LIST__COUNT], tail[CS_FLOW_LIST__COUNT];
    uint32_t age_head, age_tail;
} cs_flow_table;

cs_rc cs_flow_table_init(cs_flow_table *t, uint32_t max_flows);
/* Frees the table's memory only; callers release per-flow nDPI state and
 * YARA buffers first. */
void cs_flow_table_free(cs_flow_table *t);

uint32_t cs_flow_hash(const cs_flow_key *k);

/* Index of the record with this key, or 0. */
uint32_t cs_flow_lookup(const cs_flow_table *t, const cs_flow_key *k, uint32_t hash);
/* New zeroed record (key, hash, gen set) on the ACTIVE list, not on the age
 * list. Caller keeps count < max_flows. 0 on allocation failure. */
uint32_t cs_flow_insert(cs_flow_table *t, const cs_flow_key *k, uint32_t hash);
/* Unlink everywhere and recycle the record. */
void cs_flow_remove(cs_flow_table *t, uint32_t idx);

/* Move to the tail of a recency list (also a touch on the same list). */
void cs_flow_set_list(cs_flow_table *t, uint32_t idx, uint8_t list);
void cs_flow_age_append(cs_flow_table *t, uint32_t idx);
void cs_flow_age_unlink(cs_flow_table *t, uint32_t idx);

static inline cs_flow *cs_flow_at(const cs_flow_table *t, uint32_t idx)
{
    return &t->pool[idx];
}

#endif
