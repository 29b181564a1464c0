/* flow.c - open-addressing flow table with intrusive recency/age lists.
 *
 * Design: linear probing over (hash, index) slots, so a probe touches 8 bytes
 * per slot and compares keys only on a full 32-bit hash match; deletion uses
 * backward shifting, so there are no tombstones and probe lengths stay short
 * under churn. Load factor is kept at or under 1/2 by doubling (amortised,
 * never per packet in the steady state). The hash mixes the 40-byte key as
 * five 64-bit words with a multiply-xorshift finaliser (SplitMix/Murmur3
 * style), good enough that adversarial-looking scans (one host, all ports)
 * spread evenly.
 */
#include "flow.h"

#include <stdlib.h>
#include <string.h>

#define INITIAL_POOL 256u
#define INITIAL_SLOTS 1024u

_Static_assert(sizeof(cs_flow_key) == 40, "flow key must be 40 packed bytes");

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

uint32_t cs_flow_hash(const cs_flow_key *k)
{
    uint64_t w[5];
    uint64_t h = 0x9e3779b97f4a7c15ull;
    memcpy(w, k, sizeof w);
    /* One multiply per word, then a full avalanche at the end. */
    for (int i = 0; i < 5; i++) {
        h = (h ^ w[i]) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 29;
    }
    h = mix64(h);
    return (uint32_t)(h ^ (h >> 32));
}

cs_rc cs_flow_table_init(cs_flow_table *t, uint32_t max_flows)
{
    memset(t, 0, sizeof *t);
    t->max_flows = max_flows;
    t->pool_cap = INITIAL_POOL;
    t->pool_used = 1;   /* index 0 is nil */
    t->pool = calloc(t->pool_cap, sizeof *t->pool);
    t->slots = calloc(INITIAL_SLOTS, sizeof *t->slots);
    t->mask = INITIAL_SLOTS - 1;
    if (t->pool == NULL || t->slots == NULL) {
        cs_flow_table_free(t);
        return cs_err_set(CS_ERR_NOMEM, "out of memory creating the flow table");
    }
    return CS_OK;
}

void cs_flow_table_free(cs_flow_table *t)
{
    free(t->pool);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* 40-byte key equality as five word compares (no libc call in the hot path). */
static int key_equal(const cs_flow_key *a, const cs_flow_key *b)
{
    uint64_t x[5], y[5];
    memcpy(x, a, sizeof x);
    memcpy(y, b, sizeof y);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
}

uint32_t cs_flow_lookup(const cs_flow_table *t, const cs_flow_key *k, uint32_t hash)
{
    uint32_t i = hash & t->mask;
    for (;;) {
        const cs_flow_slot *s = &t->slots[i];
        if (s->idx == 0) {
            return 0;
        }
        if (s->hash == hash && key_equal(&t->pool[s->idx].key, k)) {
            return s->idx;
        }
        i = (i + 1) & t->mask;
    }
}

static void slot_put(cs_flow_slot *slots, uint32_t mask, uint32_t hash, uint32_t idx)
{
    uint32_t i = hash & mask;
    while (slots[i].idx != 0) {
        i = (i + 1) & mask;
    }
    slots[i].hash = hash;
    slots[i].idx = idx;
}

static int grow_slots(cs_flow_table *t)
{
    uint32_t ncap = (t->mask + 1) * 2;
    cs_flow_slot *ns = calloc(ncap, sizeof *ns);
    if (ns == NULL) {
        return -1;
    }
    for (uint32_t i = 0; i <= t->mask; i++) {
        if (t->slots[i].idx != 0) {
            slot_put(ns, ncap - 1, t->slots[i].hash, t->slots[i].idx);
        }
    }
    free(t->slots);
    t->slots = ns;
    t->mask = ncap - 1;
    return 0;
}

/* ---- intrusive lists --------------------------------------------------- */

static void lru_unlink(cs_flow_table *t, uint32_t idx)
{
    cs_flow *f = &t->pool[idx];
    uint8_t l = f->list;
    if (l == CS_FLOW_LIST_NONE) {
        return;
    }
    if (f->lru_prev != 0) {
        t->pool[f->lru_prev].lru_next = f->lru_next;
    } else {
        t->head[l] = f->lru_next;
    }
    if (f->lru_next != 0) {
        t->pool[f->lru_next].lru_prev = f->lru_prev;
    } else {
        t->tail[l] = f->lru_prev;
    }
    f->lru_prev = f->lru_next = 0;
    f->list = CS_FLOW_LIST_NONE;
}

void cs_flow_set_list(cs_flow_table *t, uint32_t idx, uint8_t list)
{
    cs_flow *f = &t->pool[idx];
    if (f->list == list && t->tail[list] == idx) {
        return;   /* already the most recent: the common case for bursts */
    }
    lru_unlink(t, idx);
    f->list = list;
    f->lru_prev = t->tail[list];
    f->lru_next = 0;
    if (t->tail[list] != 0) {
        t->pool[t->tail[list]].lru_next = idx;
    } else {
        t->head[list] = idx;
    }
    t->tail[list] = idx;
}

void cs_flow_age_unlink(cs_flow_table *t, uint32_t idx)
{
    cs_flow *f = &t->pool[idx];
    if (!f->in_age) {
        return;
    }
    if (f->age_prev != 0) {
        t->pool[f->age_prev].age_next = f->age_next;
    } else {
        t->age_head = f->age_next;
    }
    if (f->age_next != 0) {
        t->pool[f->age_next].age_prev = f->age_prev;
    } else {
        t->age_tail = f->age_prev;
    }
    f->age_prev = f->age_next = 0;
    f->in_age = 0;
}

void cs_flow_age_append(cs_flow_table *t, uint32_t idx)
{
    cs_flow *f = &t->pool[idx];
    cs_flow_age_unlink(t, idx);
    f->in_age = 1;
    f->age_prev = t->age_tail;
    f->age_next = 0;
    if (t->age_tail != 0) {
        t->pool[t->age_tail].age_next = idx;
    } else {
        t->age_head = idx;
    }
    t->age_tail = idx;
}

/* ---- insert / remove --------------------------------------------------- */

uint32_t cs_flow_insert(cs_flow_table *t, const cs_flow_key *k, uint32_t hash)
{
    uint32_t idx;
    cs_flow *f;

    if ((uint64_t)(t->count + 1) * 2 > (uint64_t)t->mask + 1 && grow_slots(t) != 0) {
        return 0;
    }
    if (t->free_head != 0) {
        idx = t->free_head;
        t->free_head = t->pool[idx].lru_next;
    } else {
        if (t->pool_used == t->pool_cap) {
            uint32_t ncap = t->pool_cap * 2;
            cs_flow *np;
            if (ncap > t->max_flows + 1) {
                ncap = t->max_flows + 1;
            }
            if (ncap <= t->pool_cap) {
                return 0;
            }
            np = realloc(t->pool, (size_t)ncap * sizeof *np);
            if (np == NULL) {
                return 0;
            }
            t->pool = np;
            t->pool_cap = ncap;
        }
        idx = t->pool_used++;
    }
    f = &t->pool[idx];
    memset(f, 0, sizeof *f);
    f->key = *k;
    f->hash = hash;
    f->gen = ++t->gen_counter;
    slot_put(t->slots, t->mask, hash, idx);
    t->count++;
    cs_flow_set_list(t, idx, CS_FLOW_LIST_ACTIVE);
    return idx;
}

void cs_flow_remove(cs_flow_table *t, uint32_t idx)
{
    cs_flow *f = &t->pool[idx];
    uint32_t i = f->hash & t->mask;
    uint32_t j;

    while (t->slots[i].idx != idx) {
        i = (i + 1) & t->mask;
    }
    /* Backward-shift deletion: pull later members of the cluster into the hole
     * unless their home slot lies cyclically in (hole, j]. */
    t->slots[i].idx = 0;
    j = i;
    for (;;) {
        uint32_t home;
        int stays;
        j = (j + 1) & t->mask;
        if (t->slots[j].idx == 0) {
            break;
        }
        home = t->slots[j].hash & t->mask;
        stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays) {
            continue;
        }
        t->slots[i] = t->slots[j];
        t->slots[j].idx = 0;
        i = j;
    }
    lru_unlink(t, idx);
    cs_flow_age_unlink(t, idx);
    f->gen = 0;
    f->lru_next = t->free_head;
    t->free_head = idx;
    t->count--;
}
