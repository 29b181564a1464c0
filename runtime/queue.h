/* queue.h - bounded queues between threads, with counters.
 *
 * A fixed ring of pointers under one mutex. Producers that must not lose
 * anything (file and pcap inputs) call cs_queue_push(), which blocks while the
 * queue is full; live inputs call cs_queue_try_push(), which fails at once and
 * counts a drop, so loss is visible in the stats and never silent.
 * Closing wakes everyone: pops drain what is left, then return CS_ERR_CLOSED.
 *
 * Ownership: the queue stores pointers and owns nothing. Whoever pops an item
 * owns it; cs_queue_free() does not free items left inside (drain first).
 */
#ifndef CS_QUEUE_H
#define CS_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct cs_queue cs_queue;

typedef struct cs_queue_stats {
    uint64_t pushed;       /* items accepted */
    uint64_t popped;
    uint64_t dropped;      /* try_push refused because full */
    uint64_t waits;        /* blocking pushes that had to wait */
    size_t depth;          /* items inside now */
    size_t high_water;     /* most items ever inside */
    size_t capacity;
} cs_queue_stats;

cs_rc cs_queue_new(size_t capacity, cs_queue **out);
void cs_queue_free(cs_queue *q);
/* Blocks while full. CS_ERR_CLOSED if the queue is closed. */
cs_rc cs_queue_push(cs_queue *q, void *item);
/* Never blocks: CS_ERR_FULL (counted as a drop) or CS_ERR_CLOSED. */
cs_rc cs_queue_try_push(cs_queue *q, void *item);
/* Blocks while empty and open. CS_ERR_CLOSED once closed and drained. */
cs_rc cs_queue_pop(cs_queue *q, void **item);
/* Waits at most timeout_ms; CS_ERR_NOTFOUND on timeout. */
cs_rc cs_queue_pop_timed(cs_queue *q, void **item, int timeout_ms);
/* Pops up to max items without blocking once at least one is there. */
size_t cs_queue_pop_batch(cs_queue *q, void **items, size_t max, int timeout_ms, cs_rc *rc);
void cs_queue_close(cs_queue *q);
void cs_queue_get_stats(cs_queue *q, cs_queue_stats *st);

#endif
