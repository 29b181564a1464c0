/* queue.c - bounded ring of pointers (see queue.h). A mutex and two condition
 * variables; stages batch their pops so the lock is taken once per batch.
 *
 * Wake-ups cost a system call each, so a consumer that finds the queue empty
 * first spins (watching an atomic count, without the lock, so producers never
 * contend with it), then naps in 1 ms timed waits that only a backlog of
 * WAKE_BATCH items cuts short; producers pay no wake-up per item under load.
 * After IDLE_NAPS empty naps (an idle input) it sleeps until any push, so an
 * idle process does not tick. Latency added: at most 1 ms. */
#include "queue.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#define SPIN_ROUNDS 64
#define WAKE_BATCH 64
#define NAP_MS 1
#define IDLE_NAPS 50

struct cs_queue {
    pthread_mutex_t lock;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    void **ring;
    size_t cap;
    size_t head;   /* next pop */
    size_t count;
    bool closed;
    int pop_waiters;    /* threads sleeping in pop until any push          */
    int nap_waiters;    /* threads napping in pop (woken by a backlog only) */
    int push_waiters;   /* wake only when someone sleeps (a futex wake is a syscall) */
    atomic_size_t avail;   /* count, readable without the lock (spinning) */
    cs_queue_stats st;
};

cs_rc cs_queue_new(size_t capacity, cs_queue **out)
{
    cs_queue *q;
    *out = NULL;
    if (capacity == 0) {
        return cs_err_set(CS_ERR_INVAL, "a queue needs a capacity of at least 1");
    }
    q = calloc(1, sizeof *q);
    if (q == NULL || (q->ring = calloc(capacity, sizeof *q->ring)) == NULL) {
        free(q);
        return cs_err_set(CS_ERR_NOMEM, "out of memory creating a queue of %zu", capacity);
    }
    pthread_mutex_init(&q->lock, NULL);
    atomic_init(&q->avail, 0);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    q->cap = capacity;
    q->st.capacity = capacity;
    *out = q;
    return CS_OK;
}

void cs_queue_free(cs_queue *q)
{
    if (q == NULL) {
        return;
    }
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    free(q->ring);
    free(q);
}

/* Caller holds the lock and has checked there is room. */
static void put(cs_queue *q, void *item)
{
    q->ring[(q->head + q->count) % q->cap] = item;
    q->count++;
    atomic_store_explicit(&q->avail, q->count, memory_order_relaxed);
    q->st.pushed++;
    if (q->count > q->st.high_water) {
        q->st.high_water = q->count;
    }
    if (q->pop_waiters > 0 || (q->nap_waiters > 0 && q->count >= WAKE_BATCH)) {
        pthread_cond_signal(&q->not_empty);
    }
}

cs_rc cs_queue_push(cs_queue *q, void *item)
{
    bool waited = false;
    pthread_mutex_lock(&q->lock);
    while (q->count == q->cap && !q->closed) {
        if (!waited) {
            q->st.waits++;
            waited = true;
        }
        q->push_waiters++;
        pthread_cond_wait(&q->not_full, &q->lock);
        q->push_waiters--;
    }
    if (q->closed) {
        pthread_mutex_unlock(&q->lock);
        return CS_ERR_CLOSED;
    }
    put(q, item);
    pthread_mutex_unlock(&q->lock);
    return CS_OK;
}

cs_rc cs_queue_try_push(cs_queue *q, void *item)
{
    cs_rc rc = CS_OK;
    pthread_mutex_lock(&q->lock);
    if (q->closed) {
        rc = CS_ERR_CLOSED;
    } else if (q->count == q->cap) {
        q->st.dropped++;
        rc = CS_ERR_FULL;
    } else {
        put(q, item);
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

static void deadline_after(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static bool before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

size_t cs_queue_pop_batch(cs_queue *q, void **items, size_t max, int timeout_ms, cs_rc *rc)
{
    struct timespec dl;
    size_t n = 0;
    int naps = 0;
    if (timeout_ms >= 0) {
        deadline_after(&dl, timeout_ms);
    }
    /* Spin a little before sleeping: under load the producer refills within
     * microseconds. */
    for (int spin = 0; timeout_ms != 0 && spin < SPIN_ROUNDS && atomic_load_explicit(&q->avail, memory_order_relaxed) == 0;
         spin++) {
        sched_yield();
    }
    pthread_mutex_lock(&q->lock);
    while (q->count == 0 && !q->closed) {
        int r = 0;
        if (naps < IDLE_NAPS && timeout_ms != 0) {
            struct timespec nap;
            deadline_after(&nap, NAP_MS);
            if (timeout_ms > 0 && before(&dl, &nap)) {
                nap = dl;
            }
            q->nap_waiters++;
            r = pthread_cond_timedwait(&q->not_empty, &q->lock, &nap);
            q->nap_waiters--;
            naps++;
            if (r == ETIMEDOUT && timeout_ms > 0 && !before(&nap, &dl)) {
                break;   /* the caller's deadline, not just a nap */
            }
            continue;
        }
        q->pop_waiters++;
        if (timeout_ms < 0) {
            pthread_cond_wait(&q->not_empty, &q->lock);
        } else {
            r = pthread_cond_timedwait(&q->not_empty, &q->lock, &dl);
        }
        q->pop_waiters--;
        if (r == ETIMEDOUT) {
            break;
        }
    }
    while (q->count > 0 && n < max) {
        items[n++] = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
    }
    atomic_store_explicit(&q->avail, q->count, memory_order_relaxed);
    q->st.popped += n;
    if (n > 0) {
        if (q->push_waiters > 0) {
            pthread_cond_broadcast(&q->not_full);
        }
        *rc = CS_OK;
    } else {
        *rc = q->closed ? CS_ERR_CLOSED : CS_ERR_NOTFOUND;
    }
    pthread_mutex_unlock(&q->lock);
    return n;
}

cs_rc cs_queue_pop(cs_queue *q, void **item)
{
    cs_rc rc;
    cs_queue_pop_batch(q, item, 1, -1, &rc);
    return rc;
}

cs_rc cs_queue_pop_timed(cs_queue *q, void **item, int timeout_ms)
{
    cs_rc rc;
    cs_queue_pop_batch(q, item, 1, timeout_ms, &rc);
    return rc;
}

void cs_queue_close(cs_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->lock);
}

void cs_queue_get_stats(cs_queue *q, cs_queue_stats *st)
{
    pthread_mutex_lock(&q->lock);
    *st = q->st;
    st->depth = q->count;
    pthread_mutex_unlock(&q->lock);
}
